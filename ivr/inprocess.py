"""Running a flow in-process: the synchronous driver of ``ccenter ivr try`` and the demo.

:class:`InProcessSession` drives the sans-I/O :class:`~ivr.engine.IvrSession` in the calling
thread: it takes the same caller inputs and answers each look-up request at once from the ports
(:class:`~ivr.ports.Ports`), so the actions it returns never hold a request. A look-up blocks the
caller of the input; nothing here enforces a request's ``timeout_s`` (the REST client has its own).
Time stays the value the driver passes in, moved on by ``clock`` after each look-up when one is given.

:func:`parse_inputs` reads a caller script such as ``"1,12345678#,timeout,2,hangup"``;
:func:`run_scripted` feeds it to a session in simulated time (``step_s`` seconds per input) and
yields :class:`Step`\\ s to show or check. Input the session declared sensitive is shown masked.
When the script ends while the session still waits, the caller hangs up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bus.messages import CallEvent
from crm.masking import mask_text

from .attached import AttachedData
from .engine import (
    Action,
    CallInfo,
    Collect,
    Input,
    IvrSession,
    Request,
    RequestCallback,
    SessionState,
    Transfer,
)
from .flow import Flow
from .lookup import CustomerLookup
from .ports import Ports, feed
from .record import SessionRecord
from .rest import RestClient
from .sensitive import Secret


class InProcessSession:
    """One call through ``flow``, its look-ups answered in the calling thread from ``lookup`` and ``rest``."""

    def __init__(
        self,
        flow: Flow,
        call_info: CallInfo,
        lookup: CustomerLookup,
        clock: Callable[[], float] | None = None,
        *,
        rest: RestClient | None = None,
    ) -> None:
        self.session = IvrSession(flow, call_info)
        self.ports = Ports(lookup, rest)
        self.clock = clock

    # -- the caller's inputs, as IvrSession takes them ------------------------------------------

    def started(self, now: float) -> list[Action]:
        return self._settle(self.session.started(now), now)

    def digits(self, digits: str, now: float) -> list[Action]:
        return self._settle(self.session.digits(digits, now), now)

    def timeout(self, now: float) -> list[Action]:
        return self._settle(self.session.timeout(now), now)

    def hangup(self, now: float) -> list[Action]:
        return self.session.hangup(now)

    def _settle(self, actions: list[Action], now: float) -> list[Action]:
        """Answer the session's requests until it waits for the caller or is done."""
        done: list[Action] = []
        while True:
            done += [action for action in actions if not isinstance(action, Request)]
            request = self.session.pending
            if request is None:
                return done
            outcome = self.ports.perform(request, self.session.call.call_id)
            if self.clock is not None:
                now = max(now, self.clock())
            actions = feed(self.session, outcome, now)

    # -- what the session shows ------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self.session.state

    @property
    def waiting_for(self) -> Collect | None:
        return self.session.waiting_for

    @property
    def record(self) -> SessionRecord | None:
        return self.session.record

    @property
    def queue(self) -> str | None:
        return self.session.queue

    @property
    def priority(self) -> int | None:
        return self.session.priority

    @property
    def vars(self) -> dict[str, Any]:
        return self.session.vars

    @property
    def attached(self) -> AttachedData:
        return self.session.attached

    def handoff_event(self, ts: float) -> CallEvent:
        return self.session.handoff_event(ts)


TIMEOUT_WORDS = frozenset({"", "t", "timeout"})
HANGUP_WORDS = frozenset({"h", "hangup"})


@dataclass(frozen=True, slots=True)
class CallerInput:
    kind: Input
    digits: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a scripted run: the start, an input (masked when sensitive), an action or a note."""

    index: int
    event: str | None = None
    shown_input: str | None = None
    action: Action | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"step": self.index}
        if self.event is not None:
            body["event"] = self.event
        if self.shown_input is not None:
            body["input"] = self.shown_input
        if self.action is not None:
            body.update(self.action.to_dict())
            if isinstance(self.action, Transfer | RequestCallback):
                body.pop("data", None)  # the hand-off carries it once
        if self.note is not None:
            body["note"] = self.note
        return body


def parse_inputs(text: str) -> list[CallerInput]:
    """``"1,12345678#,timeout,hangup"``: digits, ``timeout`` (``t`` or empty), ``hangup`` (``h``)."""
    if not text:
        return []
    inputs = []
    for item in (part.strip() for part in text.split(",")):
        if item.lower() in TIMEOUT_WORDS:
            inputs.append(CallerInput(Input.TIMEOUT))
        elif item.lower() in HANGUP_WORDS:
            inputs.append(CallerInput(Input.HANGUP))
        else:
            inputs.append(CallerInput(Input.DIGITS, item))
    return inputs


def run_scripted(
    session: InProcessSession, inputs: list[CallerInput], *, start: float, step_s: float = 3.0
) -> Iterator[Step]:
    now = start
    yield Step(0, event="started")
    for action in session.started(now):
        yield Step(0, action=action)
    index = 0
    for item in inputs:
        if session.state is not SessionState.WAITING:
            yield Step(index, event="ignored input", shown_input="(not waiting)")
            return
        index += 1
        now += step_s
        if item.kind is Input.TIMEOUT:
            yield Step(index, shown_input="timeout")
            actions = session.timeout(now)
        elif item.kind is Input.HANGUP:
            yield Step(index, shown_input="hangup")
            actions = session.hangup(now)
        else:
            waiting = session.waiting_for
            sensitive = waiting is not None and waiting.sensitive
            yield Step(index, shown_input=Secret(item.digits).masked() if sensitive else mask_text(item.digits))
            actions = session.digits(item.digits, now)
        for action in actions:
            yield Step(index, action=action)
    if session.state is SessionState.WAITING:
        index += 1
        yield Step(index, shown_input="hangup", note="no more input: the caller hangs up")
        session.hangup(now + step_s)
