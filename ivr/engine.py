"""The IVR engine, sans-I/O: call events in, actions out, time passed in as a value.

A driver (``ccenter ivr try``, the FastAGI server, the simulated PBX) creates an
:class:`IvrSession` per call and feeds it :meth:`~IvrSession.started`, :meth:`~IvrSession.digits`,
:meth:`~IvrSession.timeout` and :meth:`~IvrSession.hangup`; each returns the actions to perform in
order: :class:`Play`, :class:`Collect` (then wait for digits or a timeout), :class:`Transfer` (queue,
priority and attached data for the ACD), :class:`RequestCallback`, :class:`Hangup`.

Look-ups go through the :class:`~ivr.lookup.CustomerLookup` and :class:`~ivr.rest.RestClient`
ports given to the session. Bad input, timeouts and failed look-ups follow the flow's retry and
fallback exits; a flow that would loop without waiting for the caller is sent to its fallback node,
which is always a transfer, callback or hang-up: there is no dead end.

Privacy: values of sensitive collects are wrapped in :class:`~ivr.sensitive.Secret` at once, used
only by the PIN check and dropped after it; actions, logs, attached data and the session record
only see masked forms or the ``verified`` flag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any
from urllib.parse import quote

from bus.messages import CallEvent

from .attached import AttachedData, AttachedDataError, SourceKind
from .errors import LookupUnavailable, SessionStateError
from .flow import (
    TEMPLATE_RE,
    CallbackNode,
    CollectNode,
    ConditionNode,
    Flow,
    HangupNode,
    InputNode,
    LookupKind,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    Prompt,
    SelfService,
    SelfServiceNode,
    SetNode,
    TransferNode,
)
from .lookup import CustomerInfo, CustomerLookup
from .record import ExitPoint, SessionRecord
from .rest import HttpRestClient, RestClient, json_path
from .sensitive import Secret, public

logger = logging.getLogger(__name__)

#: Nodes run for one input before the engine decides the flow loops and goes to the fallback.
MAX_STEPS = 200
COLLECTABLE = frozenset("0123456789*")


# ---------------------------------------------------------------------------------------------
# Inputs and actions


@dataclass(frozen=True, slots=True)
class CallInfo:
    call_id: str
    caller: str
    called: str = ""


@dataclass(frozen=True, slots=True)
class Play:
    node: str
    text: str
    language: str
    audio: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": "play", "node": self.node, "language": self.language, "text": self.text, "audio": self.audio}


@dataclass(frozen=True, slots=True)
class Collect:
    """Wait for the caller: answer with ``digits`` (what was keyed) or ``timeout``."""

    node: str
    min_length: int
    max_length: int
    terminator: str | None
    timeout_s: float
    inter_digit_timeout_s: float
    sensitive: bool = False
    menu: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": "collect",
            "node": self.node,
            "menu": self.menu,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "terminator": self.terminator,
            "timeout_s": self.timeout_s,
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand the call to the ACD: ``queue`` at ``priority`` (higher is served first), with ``data``."""

    node: str
    queue: str
    priority: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": "transfer",
            "node": self.node,
            "queue": self.queue,
            "priority": self.priority,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class RequestCallback:
    node: str
    number: str
    queue: str
    priority: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": "callback",
            "node": self.node,
            "number": self.number,
            "queue": self.queue,
            "priority": self.priority,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Hangup:
    node: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": "hangup", "node": self.node, "reason": self.reason}


Action = Play | Collect | Transfer | RequestCallback | Hangup


class SessionState(Enum):
    IDLE = "idle"
    WAITING = "waiting"
    DONE = "done"


class Input(StrEnum):
    STARTED = "started"
    DIGITS = "digits"
    TIMEOUT = "timeout"
    HANGUP = "hangup"


#: Which inputs each state takes; anything else is the driver's mistake (SessionStateError).
_ACCEPTS: Mapping[SessionState, frozenset[Input]] = {
    SessionState.IDLE: frozenset({Input.STARTED, Input.HANGUP}),
    SessionState.WAITING: frozenset({Input.DIGITS, Input.TIMEOUT, Input.HANGUP}),
    SessionState.DONE: frozenset({Input.HANGUP}),
}


# ---------------------------------------------------------------------------------------------
# Session


class IvrSession:
    """One caller going through one flow."""

    def __init__(
        self,
        flow: Flow,
        call_info: CallInfo,
        lookup: CustomerLookup,
        clock: Callable[[], float] | None = None,
        *,
        rest: RestClient | None = None,
    ) -> None:
        self.flow = flow
        self.call = call_info
        self.lookup = lookup
        self.rest: RestClient = rest if rest is not None else HttpRestClient()
        self._clock = clock
        self.state = SessionState.IDLE
        self.vars: dict[str, Any] = {}
        self.attached = AttachedData(flow.schema)
        self.path: list[str] = []
        self.menu_path: list[str] = []
        self.self_service: list[dict[str, Any]] = []
        self.record: SessionRecord | None = None
        self.queue: str | None = None
        self.priority: int | None = None
        self._waiting: InputNode | None = None
        self._attempts = 0
        self._lookup_failures: dict[str, int] = {}
        self._actions: list[Action] = []
        self._now = 0.0
        self._started_at = 0.0

    # -- inputs ------------------------------------------------------------------------------

    @property
    def waiting_for(self) -> Collect | None:
        """The collect the session waits on, if any (drivers mask echoes of sensitive input)."""
        node = self._waiting
        return None if node is None else self._collect_action(node)

    def started(self, now: float) -> list[Action]:
        self._accept(Input.STARTED, now)
        self._started_at = now
        self._set("call_id", self.call.call_id, "system", SourceKind.SYSTEM)
        self._set("caller", self.call.caller, "system", SourceKind.SYSTEM)
        self._set("called", self.call.called, "system", SourceKind.SYSTEM)
        self._set("language", self.flow.default_language, "system", SourceKind.SYSTEM)
        logger.info("call %s: flow %s started for %s", self.call.call_id, self.flow.name, self.call.caller)
        self._run(self.flow.start)
        return self._flush()

    def digits(self, digits: str, now: float) -> list[Action]:
        self._accept(Input.DIGITS, now)
        node = self._waiting
        assert node is not None
        if isinstance(node, MenuNode):
            self._on_menu(node, digits)
        elif isinstance(node, CollectNode):
            self._on_collect(node, digits)
        return self._flush()

    def timeout(self, now: float) -> list[Action]:
        self._accept(Input.TIMEOUT, now)
        node = self._waiting
        assert node is not None
        logger.debug("call %s: no input at %s", self.call.call_id, node.id)
        self._retry(node, node.no_input or node.invalid)
        return self._flush()

    def hangup(self, now: float) -> list[Action]:
        if self.state is SessionState.DONE:
            return []
        self._accept(Input.HANGUP, now)
        node = self._waiting.id if self._waiting else (self.path[-1] if self.path else None)
        logger.info("call %s: caller hung up in the IVR at %s", self.call.call_id, node)
        self._finish(ExitPoint.ABANDONED, node)
        return []

    def handoff_event(self, ts: float) -> CallEvent:
        """The ``call.data`` event of the session's attached data (with routing after a transfer)."""
        return self.attached.to_call_event(
            self.call.call_id, ts, queue=self.queue, priority=self.priority, calling=self.call.caller
        )

    # -- machinery ---------------------------------------------------------------------------

    def _accept(self, kind: Input, now: float) -> None:
        if kind not in _ACCEPTS[self.state]:
            raise SessionStateError(f"a session in state {self.state.value} cannot take '{kind.value}'")
        self._now = max(self._now, now)

    def _tick(self) -> None:
        if self._clock is not None:
            self._now = max(self._now, self._clock())

    def _flush(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    def _set(self, name: str, value: Any, by: str, kind: SourceKind = SourceKind.IVR) -> None:
        style = self.flow.sensitive_vars.get(name)
        if style is not None and not isinstance(value, Secret):
            value = Secret(str(value), style)
        self.vars[name] = value
        if name in self.flow.schema:
            try:
                self.attached.set(name, value, kind=kind, by=by, at=self._now)
            except AttachedDataError as exc:
                logger.warning("call %s: %s: not attached: %s", self.call.call_id, by, exc)

    def _render(self, text: str, quote_values: bool = False) -> str:
        def value(match: Any) -> str:
            raw = public(self.vars.get(match[1]))
            shown = "" if raw is None else str(raw)
            return quote(shown, safe="") if quote_values else shown

        return TEMPLATE_RE.sub(value, text)

    def _play(self, node: Node, prompt: Prompt | None) -> None:
        if prompt is None:
            return
        language = str(self.vars.get("language") or self.flow.default_language)
        text = self._render(prompt.text_for(language, self.flow.default_language))
        audio = prompt.audio_for(language, self.flow.default_language)
        self._actions.append(Play(node.id, text, language, audio))

    def _run(self, node_id: str) -> None:
        for _ in range(MAX_STEPS):
            node = self.flow.nodes[node_id]
            self.path.append(node_id)
            logger.debug("call %s: node %s (%s)", self.call.call_id, node_id, node.TYPE.value)
            following = self._enter(node)
            if following is None:
                return
            node_id = following
        logger.warning(
            "call %s: flow %s ran %d nodes without input; going to fallback %s",
            self.call.call_id,
            self.flow.name,
            MAX_STEPS,
            self.flow.fallback,
        )
        self.path.append(self.flow.fallback)
        self._enter(self.flow.nodes[self.flow.fallback])

    def _enter(self, node: Node) -> str | None:
        """Do what ``node`` does; return the next node, or None when waiting or finished."""
        if isinstance(node, PlayNode):
            self._play(node, node.prompt)
            return node.next
        if isinstance(node, InputNode):
            self._waiting = node
            self._attempts = 0
            self._prompt_input(node)
            return None
        if isinstance(node, SetNode):
            for name, value in node.values.items():
                if isinstance(value, str):
                    value = self._render(value)
                self._set(name, list(value) if isinstance(value, list) else value, node.id)
            return node.next
        if isinstance(node, ConditionNode):
            for branch in node.branches:
                if branch.when.test(self.vars):
                    return branch.next
            return node.otherwise
        if isinstance(node, LookupNode):
            return self._lookup(node)
        if isinstance(node, SelfServiceNode):
            return self._self_service(node)
        if isinstance(node, TransferNode):
            self._transfer(node)
            return None
        if isinstance(node, CallbackNode):
            self._callback(node)
            return None
        if isinstance(node, HangupNode):
            self._play(node, node.prompt)
            self._actions.append(Hangup(node.id, ExitPoint.SELF_SERVED.value))
            self._finish(ExitPoint.SELF_SERVED, node.id)
            return None
        raise AssertionError(f"no handler for node type {node.TYPE}")  # pragma: no cover

    # -- menu and collect --------------------------------------------------------------------

    def _collect_action(self, node: InputNode) -> Collect:
        if isinstance(node, CollectNode):
            return Collect(
                node.id,
                node.min_length,
                node.max_length,
                node.terminator,
                node.timeout_s,
                node.inter_digit_timeout_s,
                sensitive=node.sensitive,
            )
        return Collect(node.id, 1, 1, None, node.timeout_s, node.timeout_s, menu=True)

    def _prompt_input(self, node: InputNode) -> None:
        self._play(node, node.prompt)
        self._actions.append(self._collect_action(node))
        self.state = SessionState.WAITING

    def _on_menu(self, node: MenuNode, digits: str) -> None:
        key = digits.strip()
        if len(key) > 1 and key.endswith("#"):
            key = key[:-1]
        option = node.options.get(key)
        logger.debug("call %s: menu %s got %r", self.call.call_id, node.id, key)
        if option is None:
            self._retry(node, node.invalid)
            return
        self._waiting = None
        self.menu_path.append(f"{node.id}:{option.label}")
        self._set("menu_path", list(self.menu_path), node.id)
        for name, value in option.set.items():
            self._set(name, list(value) if isinstance(value, list) else value, node.id)
        self._run(option.next)

    def _on_collect(self, node: CollectNode, digits: str) -> None:
        value = digits.strip()
        if node.terminator and value.endswith(node.terminator):
            value = value[: -len(node.terminator)]
        valid = bool(value) and set(value) <= COLLECTABLE and node.min_length <= len(value) <= node.max_length
        shown = Secret(value, node.mask).masked() if node.sensitive else value
        logger.debug("call %s: collect %s got %r (%s)", self.call.call_id, node.id, shown, "ok" if valid else "invalid")
        if not valid:
            self._retry(node, node.invalid)
            return
        self._waiting = None
        self._set(node.var, value, node.id)
        self._run(node.next)

    def _retry(self, node: InputNode, prompt: Prompt | None) -> None:
        self._attempts += 1
        if self._attempts > node.retries:
            target = node.on_failure or self.flow.fallback
            logger.info(
                "call %s: %s failed after %d attempts; going to %s", self.call.call_id, node.id, self._attempts, target
            )
            self._waiting = None
            self._run(target)
            return
        self._play(node, prompt)
        self._prompt_input(node)

    # -- look-ups and self-service -----------------------------------------------------------

    def _identify(self, customer: CustomerInfo, by: str, node: str, account: str | None = None) -> None:
        self._set("customer_id", customer.customer_id, node)
        self._set("customer_name", customer.name, node)
        if customer.tier:
            self._set("tier", customer.tier, node)
        if customer.segment:
            self._set("segment", customer.segment, node)
        if account is None and len(customer.accounts) == 1:
            account = customer.accounts[0]
        if account is not None:
            self._set("account", account, node)
        self._set("identified_by", by, node)

    def _do_lookup(self, node: LookupNode) -> bool:
        value = self.vars.get(node.input)
        if node.by is LookupKind.PHONE:
            if not value:
                return False
            customers = self.lookup.by_phone(str(value))
            if len(customers) != 1:
                logger.debug("call %s: %d customers at the caller's number", self.call.call_id, len(customers))
                return False
            self._identify(customers[0], "phone", node.id)
            return True
        if node.by is LookupKind.ACCOUNT:
            if not value:
                return False
            customer = self.lookup.by_account(str(value))
            if customer is None:
                return False
            self._identify(customer, "account", node.id, account=str(value))
            return True
        if node.by is LookupKind.PIN:
            secret = self.vars.pop(node.input, None)
            account = self.vars.get(node.account_var)
            if not isinstance(secret, Secret) or not account:
                self._set("verified", False, node.id)
                return False
            verified = self.lookup.verify_pin(str(account), secret.reveal())
            self._set("verified", verified, node.id)
            logger.info("call %s: PIN verification %s", self.call.call_id, "passed" if verified else "failed")
            return verified
        assert node.url is not None
        url = self._render(node.url, quote_values=True)
        body = self.rest.get_json(url, node.timeout_s)
        if body is None:
            return False
        for name, path in node.map.items():
            found = json_path(body, path)
            if found is not None:
                self._set(name, found, node.id)
        if "customer_id" in node.map and self.vars.get("customer_id") is not None:
            self._set("identified_by", "rest", node.id)
        return True

    def _lookup(self, node: LookupNode) -> str:
        try:
            found = self._do_lookup(node)
        except LookupUnavailable as exc:
            logger.warning("call %s: look-up %s failed: %s", self.call.call_id, node.id, exc)
            return node.error or node.not_found
        except Exception:
            logger.exception("call %s: look-up %s failed", self.call.call_id, node.id)
            return node.error or node.not_found
        finally:
            self._tick()
        if found:
            self._lookup_failures.pop(node.id, None)
            return node.found
        failures = self._lookup_failures.get(node.id, 0) + 1
        self._lookup_failures[node.id] = failures
        if node.retry is not None and failures <= node.retries:
            self._play(node, node.invalid)
            return node.retry
        return node.not_found

    def _service_result(self, service: SelfService) -> dict[str, Any] | None:
        account = self.vars.get("account")
        customer_id = self.vars.get("customer_id")
        if service in (SelfService.BALANCE, SelfService.LAST_BILL):
            info = self.lookup.balance(str(account)) if account else None
            if info is None:
                return None
            if service is SelfService.BALANCE:
                return {
                    "balance": str(info.balance),
                    "currency": info.currency,
                    "due_date": info.due_date.isoformat() if info.due_date else None,
                }
            if info.last_bill_amount is None:
                return None
            return {
                "bill_amount": str(info.last_bill_amount),
                "currency": info.currency,
                "bill_date": info.last_bill_date.isoformat() if info.last_bill_date else None,
            }
        if not customer_id:
            return None
        if service is SelfService.ORDER_STATUS:
            order = self.lookup.order_status(str(customer_id))
            if order is None:
                return None
            return {"order_id": order.order_id, "order_status": order.status, "order_description": order.description}
        sr = self.lookup.service_request_status(str(customer_id))
        if sr is None:
            return None
        return {"sr_id": sr.sr_id, "sr_status": sr.status, "sr_summary": sr.summary}

    def _self_service(self, node: SelfServiceNode) -> str:
        unavailable = node.unavailable or self.flow.fallback
        if node.requires_verified and self.vars.get("verified") is not True:
            logger.info("call %s: %s needs a verified caller", self.call.call_id, node.id)
            return unavailable
        try:
            result = self._service_result(node.service)
        except LookupUnavailable as exc:
            logger.warning("call %s: self-service %s failed: %s", self.call.call_id, node.id, exc)
            return unavailable
        except Exception:
            logger.exception("call %s: self-service %s failed", self.call.call_id, node.id)
            return unavailable
        finally:
            self._tick()
        if result is None:
            return unavailable
        for name, value in result.items():
            self._set(name, value, node.id)
        self.self_service.append({"service": node.service.value, "node": node.id, "result": result, "at": self._now})
        self._set("self_service", list(self.self_service), node.id)
        self._play(node, node.prompt)
        return node.next

    # -- endings -----------------------------------------------------------------------------

    def _stamp_time(self, node: str) -> None:
        self._set("time_in_ivr_s", round(self._now - self._started_at, 3), node, SourceKind.SYSTEM)

    def _transfer(self, node: TransferNode) -> None:
        self._play(node, node.prompt)
        self.queue = node.queue
        self.priority = node.priority_for(self.vars)
        self._stamp_time(node.id)
        self._actions.append(Transfer(node.id, node.queue, self.priority, self.attached.to_dict()))
        logger.info("call %s: transferred to queue %s at priority %d", self.call.call_id, node.queue, self.priority)
        self._finish(ExitPoint.TRANSFERRED, node.id)

    def _callback(self, node: CallbackNode) -> None:
        number = public(self.vars.get(node.number_var)) or self.call.caller
        self._set("callback_number", str(number), node.id)
        self._play(node, node.prompt)
        self.queue = node.queue
        self.priority = node.priority
        self._stamp_time(node.id)
        self._actions.append(RequestCallback(node.id, str(number), node.queue, node.priority, self.attached.to_dict()))
        self._actions.append(Hangup(node.id, ExitPoint.CALLBACK.value))
        logger.info("call %s: callback requested in queue %s", self.call.call_id, node.queue)
        self._finish(ExitPoint.CALLBACK, node.id)

    def _finish(self, exit_point: ExitPoint, node: str | None) -> None:
        self.state = SessionState.DONE
        self._waiting = None
        self.vars = {k: v for k, v in self.vars.items() if not isinstance(v, Secret)}
        intent = self.vars.get("intent")
        self.record = SessionRecord(
            call_id=self.call.call_id,
            flow=self.flow.name,
            caller=self.call.caller,
            started_at=self._started_at,
            ended_at=self._now,
            exit=exit_point,
            exit_node=node,
            path=tuple(self.path),
            menu_path=tuple(self.menu_path),
            language=self.vars.get("language"),
            customer_id=self.vars.get("customer_id"),
            verified=self.vars.get("verified") is True,
            intent=str(intent) if intent is not None else None,
            self_service=tuple(entry["service"] for entry in self.self_service),
            queue=self.queue,
            priority=self.priority,
        )
        logger.info(
            "call %s: IVR session ended %s at %s after %.1f s",
            self.call.call_id,
            exit_point.value,
            node,
            self.record.duration_s,
        )
