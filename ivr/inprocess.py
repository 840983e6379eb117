"""Running a flow in-process with a scripted caller: ``ccenter ivr try`` and the simulated PBX.

:func:`parse_inputs` reads a caller script such as ``"1,12345678#,timeout,2,hangup"``;
:func:`run_scripted` feeds it to an :class:`~ivr.engine.IvrSession` in simulated time (``step_s``
seconds per input) and yields :class:`Step`\\ s to show or check. Input the session declared
sensitive is shown masked. When the script ends while the session still waits, the caller hangs up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .engine import Action, Input, IvrSession, RequestCallback, SessionState, Transfer
from .sensitive import Secret

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
    session: IvrSession, inputs: list[CallerInput], *, start: float, step_s: float = 3.0
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
            yield Step(index, shown_input=Secret(item.digits).masked() if sensitive else item.digits)
            actions = session.digits(item.digits, now)
        for action in actions:
            yield Step(index, action=action)
    if session.state is SessionState.WAITING:
        index += 1
        yield Step(index, shown_input="hangup", note="no more input: the caller hangs up")
        session.hangup(now + step_s)
