"""The IVR engine, sans-I/O: call events and look-up answers in, actions and requests out.

A driver (``ccenter ivr try`` and the demo through :mod:`ivr.inprocess`, the FastAGI server in
:mod:`ivr.fastagi`) creates an :class:`IvrSession` per call and feeds it inputs, each with the time
as a value: :meth:`~IvrSession.started`, :meth:`~IvrSession.digits`, :meth:`~IvrSession.timeout`,
:meth:`~IvrSession.hangup`. Each returns the actions to perform in order: :class:`Play`,
:class:`Collect` (then wait for digits or a timeout), :class:`Transfer` (queue, priority and attached
data for the ACD), :class:`RequestCallback`, :class:`Hangup`.

The engine does no I/O. When a flow needs customer data or a REST answer, the actions end with a
*request* (:class:`FindCustomersByPhone`, :class:`FindCustomerByAccount`, :class:`VerifyPin`,
:class:`GetBalance`, :class:`GetLatestOrder`, :class:`GetOpenServiceRequest`, :class:`GetJson`)
and the session waits in :attr:`SessionState.LOOKING_UP` (:attr:`IvrSession.pending` is the
request). The driver performs it, in whatever way suits it, and feeds the outcome back:
:meth:`~IvrSession.answer` with the result, :meth:`~IvrSession.lookup_failed` when the look-up
failed, or :meth:`~IvrSession.timeout` when it took longer than the request's ``timeout_s``.

Bad input, timeouts and failed look-ups follow the flow's retry and fallback exits; a flow that
would loop without waiting for the caller is sent to its fallback node, which is always a transfer,
callback or hang-up: there is no dead end.

Privacy: values of sensitive collects are wrapped in :class:`~ivr.sensitive.Secret` at once, handed
only to the PIN check (inside :class:`VerifyPin`) and dropped after it; actions, logs, attached data
and the session record only see masked forms or the ``verified`` flag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, ClassVar
from urllib.parse import quote

from bus.messages import CallEvent
from crm.masking import mask, mask_text

from .attached import AttachedData, AttachedDataError, SourceKind
from .errors import SessionStateError
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
    json_path,
)
from .lookup import BalanceInfo, CustomerInfo, OrderInfo, PinCheck, ServiceRequestInfo
from .record import ExitPoint, SessionRecord
from .sensitive import Secret, public

logger = logging.getLogger(__name__)

#: Nodes run for one caller input (look-ups included) before the engine decides the flow loops.
MAX_STEPS = 200
#: How long a self-service node waits for its data (look-up nodes have their own ``timeout_s``).
SELF_SERVICE_TIMEOUT_S = 3.0
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


# ---------------------------------------------------------------------------------------------
# Requests: what the engine needs looked up. The driver answers with IvrSession.answer (a value of
# the type named in each docstring), IvrSession.lookup_failed, or IvrSession.timeout.


class _Request:
    """Shared by the requests: the node that asks, and how long the driver may take to answer."""

    __slots__ = ()
    QUERY: ClassVar[str]
    node: str
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        """Whether ``answer`` is of the type this request expects."""
        raise NotImplementedError  # pragma: no cover

    def _params(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": "lookup",
            "node": self.node,
            "query": self.QUERY,
            **self._params(),
            "timeout_s": self.timeout_s,
        }


@dataclass(frozen=True, slots=True)
class FindCustomersByPhone(_Request):
    """Customers reachable at ``number``: answer a list of :class:`~ivr.lookup.CustomerInfo`."""

    QUERY: ClassVar[str] = "customers_by_phone"
    node: str
    number: str
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        return isinstance(answer, list | tuple) and all(isinstance(item, CustomerInfo) for item in answer)

    def _params(self) -> dict[str, Any]:
        return {"number": self.number}


@dataclass(frozen=True, slots=True)
class FindCustomerByAccount(_Request):
    """The owner of ``account``: answer a :class:`~ivr.lookup.CustomerInfo`, or None."""

    QUERY: ClassVar[str] = "customer_by_account"
    node: str
    account: str
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        return answer is None or isinstance(answer, CustomerInfo)

    def _params(self) -> dict[str, Any]:
        return {"account": self.account}


@dataclass(frozen=True, slots=True)
class VerifyPin(_Request):
    """Whether ``pin`` (a :class:`~ivr.sensitive.Secret`) is the PIN of ``account``: answer a
    :class:`~ivr.lookup.PinCheck` (or a bool: verified or not)."""

    QUERY: ClassVar[str] = "verify_pin"
    node: str
    account: str
    pin: Secret
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        return isinstance(answer, bool | PinCheck)

    def _params(self) -> dict[str, Any]:
        return {"account": self.account}


@dataclass(frozen=True, slots=True)
class GetBalance(_Request):
    """Balance and last bill of ``account``: answer a :class:`~ivr.lookup.BalanceInfo`, or None."""

    QUERY: ClassVar[str] = "balance"
    node: str
    account: str
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        return answer is None or isinstance(answer, BalanceInfo)

    def _params(self) -> dict[str, Any]:
        return {"account": self.account}


@dataclass(frozen=True, slots=True)
class GetLatestOrder(_Request):
    """The customer's most recent order: answer an :class:`~ivr.lookup.OrderInfo`, or None."""

    QUERY: ClassVar[str] = "latest_order"
    node: str
    customer_id: str
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        return answer is None or isinstance(answer, OrderInfo)

    def _params(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id}


@dataclass(frozen=True, slots=True)
class GetOpenServiceRequest(_Request):
    """The customer's most recent open service request: answer a ServiceRequestInfo, or None."""

    QUERY: ClassVar[str] = "open_service_request"
    node: str
    customer_id: str
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        return answer is None or isinstance(answer, ServiceRequestInfo)

    def _params(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id}


@dataclass(frozen=True, slots=True)
class GetJson(_Request):
    """The JSON object at ``url``: answer a mapping, or None when the server says there is none."""

    QUERY: ClassVar[str] = "rest"
    node: str
    url: str
    timeout_s: float

    def fits(self, answer: Any) -> bool:
        return answer is None or isinstance(answer, Mapping)

    def _params(self) -> dict[str, Any]:
        return {"url": self.url}


Request = (
    FindCustomersByPhone
    | FindCustomerByAccount
    | VerifyPin
    | GetBalance
    | GetLatestOrder
    | GetOpenServiceRequest
    | GetJson
)
#: What a session returns: actions to carry out in order; a request, when there is one, comes last.
Action = Play | Collect | Transfer | RequestCallback | Hangup | Request


class SessionState(Enum):
    IDLE = "idle"
    #: Waiting for the caller (digits or a timeout): :attr:`IvrSession.waiting_for`.
    WAITING = "waiting"
    #: Waiting for the answer to :attr:`IvrSession.pending`.
    LOOKING_UP = "looking_up"
    DONE = "done"


class Input(StrEnum):
    STARTED = "started"
    DIGITS = "digits"
    TIMEOUT = "timeout"
    HANGUP = "hangup"
    ANSWER = "answer"
    FAILED = "failed"


#: Which inputs each state takes; anything else is the driver's mistake (SessionStateError).
_ACCEPTS: Mapping[SessionState, frozenset[Input]] = {
    SessionState.IDLE: frozenset({Input.STARTED, Input.HANGUP}),
    SessionState.WAITING: frozenset({Input.DIGITS, Input.TIMEOUT, Input.HANGUP}),
    SessionState.LOOKING_UP: frozenset({Input.ANSWER, Input.FAILED, Input.TIMEOUT, Input.HANGUP}),
    SessionState.DONE: frozenset({Input.HANGUP}),
}
#: Inputs from the caller: each starts a new count of MAX_STEPS.
_CALLER_INPUTS = frozenset({Input.STARTED, Input.DIGITS})


# ---------------------------------------------------------------------------------------------
# Session


class IvrSession:
    """One caller going through one flow; does no I/O (look-ups are requests, see the module)."""

    def __init__(self, flow: Flow, call_info: CallInfo) -> None:
        self.flow = flow
        self.call = call_info
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
        self._pending: Request | None = None
        self._pending_node: LookupNode | SelfServiceNode | None = None
        self._attempts = 0
        self._steps = 0
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

    @property
    def pending(self) -> Request | None:
        """The request the session waits an answer to (in state LOOKING_UP), if any."""
        return self._pending

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
        """No input from the caller in time; or, while looking up, no answer in time."""
        self._accept(Input.TIMEOUT, now)
        if self.state is SessionState.LOOKING_UP:
            request = self._pending
            assert request is not None
            self._looked_up_failed(f"no answer within {request.timeout_s:g} s")
            return self._flush()
        self._steps = 0
        node = self._waiting
        assert node is not None
        logger.debug("call %s: no input at %s", self.call.call_id, node.id)
        self._retry(node, node.no_input or node.invalid)
        return self._flush()

    def answer(self, result: Any, now: float) -> list[Action]:
        """The answer to :attr:`pending` (of the type its docstring names)."""
        self._accept(Input.ANSWER, now)
        request, node = self._take_pending()
        if not request.fits(result):
            logger.error(
                "call %s: look-up %s got a %s, not an answer to %s",
                self.call.call_id,
                node.id,
                type(result).__name__,
                request.QUERY,
            )
            self._run(self._failed_exit(node))
            return self._flush()
        if isinstance(node, LookupNode) and result is PinCheck.LOCKED:
            self._run(self._pin_locked(node))
        elif isinstance(node, LookupNode):
            self._run(self._lookup_outcome(node, self._apply_lookup(node, request, result)))
        else:
            self._run(self._served(node, result))
        return self._flush()

    def lookup_failed(self, reason: str, now: float) -> list[Action]:
        """The look-up of :attr:`pending` failed (data unreachable, error status, ...): ``reason`` says why."""
        self._accept(Input.FAILED, now)
        self._looked_up_failed(reason)
        return self._flush()

    def hangup(self, now: float) -> list[Action]:
        if self.state is SessionState.DONE:
            return []
        self._accept(Input.HANGUP, now)
        if self._waiting is not None:
            node: str | None = self._waiting.id
        elif self._pending is not None:
            node = self._pending.node
        else:
            node = self.path[-1] if self.path else None
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
        if kind in _CALLER_INPUTS:
            self._steps = 0

    def _flush(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    def _set(self, name: str, value: Any, by: str, kind: SourceKind = SourceKind.IVR) -> None:
        style = self.flow.sensitive_vars.get(name)
        if style is not None and not isinstance(value, Secret):
            value = Secret(str(value), style)
        elif not isinstance(value, Secret):
            value = mask(value)  # a card number keyed or looked up is never kept in clear
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
        while self._steps < MAX_STEPS:
            self._steps += 1
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
        shown = Secret(value, node.mask).masked() if node.sensitive else mask_text(value)
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

    # -- look-ups and self-service: requests out, answers in -----------------------------------

    def _ask(self, node: LookupNode | SelfServiceNode, request: Request) -> None:
        self._pending = request
        self._pending_node = node
        self._actions.append(request)
        self.state = SessionState.LOOKING_UP

    def _take_pending(self) -> tuple[Request, LookupNode | SelfServiceNode]:
        request, node = self._pending, self._pending_node
        assert request is not None and node is not None
        self._pending = self._pending_node = None
        return request, node

    def _looked_up_failed(self, reason: str) -> None:
        _, node = self._take_pending()
        kind = "look-up" if isinstance(node, LookupNode) else "self-service"
        logger.warning("call %s: %s %s failed: %s", self.call.call_id, kind, node.id, reason)
        self._run(self._failed_exit(node))

    def _failed_exit(self, node: LookupNode | SelfServiceNode) -> str:
        if isinstance(node, LookupNode):
            return node.error or node.not_found
        return node.unavailable or self.flow.fallback

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

    def _lookup(self, node: LookupNode) -> str | None:
        """Ask for the look-up (None: wait for the answer), or go on at once when there is nothing to ask."""
        value = self.vars.get(node.input)
        if node.by is LookupKind.PHONE:
            if not value:
                return self._lookup_outcome(node, False)
            self._ask(node, FindCustomersByPhone(node.id, str(value), node.timeout_s))
            return None
        if node.by is LookupKind.ACCOUNT:
            if not value:
                return self._lookup_outcome(node, False)
            self._ask(node, FindCustomerByAccount(node.id, str(value), node.timeout_s))
            return None
        if node.by is LookupKind.PIN:
            secret = self.vars.pop(node.input, None)
            account = self.vars.get(node.account_var)
            if not isinstance(secret, Secret) or not account:
                self._set("verified", False, node.id)
                return self._lookup_outcome(node, False)
            self._ask(node, VerifyPin(node.id, str(account), secret, node.timeout_s))
            return None
        assert node.url is not None
        self._ask(node, GetJson(node.id, self._render(node.url, quote_values=True), node.timeout_s))
        return None

    def _apply_lookup(self, node: LookupNode, request: Request, result: Any) -> bool:
        """Take the answer of a look-up node into the session; whether the look-up found something."""
        if isinstance(request, FindCustomersByPhone):
            if len(result) != 1:
                logger.debug("call %s: %d customers at the caller's number", self.call.call_id, len(result))
                return False
            self._identify(result[0], "phone", node.id)
            return True
        if isinstance(request, FindCustomerByAccount):
            if result is None:
                return False
            self._identify(result, "account", node.id, account=request.account)
            return True
        if isinstance(request, VerifyPin):
            verified = result is True or result is PinCheck.VERIFIED
            self._set("verified", verified, node.id)
            logger.info("call %s: PIN verification %s", self.call.call_id, "passed" if verified else "failed")
            return verified
        if result is None:
            return False
        for name, path in node.map.items():
            found = json_path(result, path)
            if found is not None:
                self._set(name, found, node.id)
        if "customer_id" in node.map and self.vars.get("customer_id") is not None:
            self._set("identified_by", "rest", node.id)
        return True

    def _pin_locked(self, node: LookupNode) -> str:
        """The account's PIN is locked (too many wrong tries, on this call or others): no retry."""
        self._set("verified", False, node.id)
        self._set("pin_locked", True, node.id)
        logger.info("call %s: PIN of account %s is locked", self.call.call_id, self.vars.get(node.account_var))
        self._play(node, node.locked)
        self._lookup_failures.pop(node.id, None)
        return node.not_found

    def _lookup_outcome(self, node: LookupNode, found: bool) -> str:
        if found:
            self._lookup_failures.pop(node.id, None)
            return node.found
        failures = self._lookup_failures.get(node.id, 0) + 1
        self._lookup_failures[node.id] = failures
        if node.retry is not None and failures <= node.retries:
            self._play(node, node.invalid)
            return node.retry
        return node.not_found

    def _self_service(self, node: SelfServiceNode) -> str | None:
        unavailable = node.unavailable or self.flow.fallback
        if node.requires_verified and self.vars.get("verified") is not True:
            logger.info("call %s: %s needs a verified caller", self.call.call_id, node.id)
            return unavailable
        account = self.vars.get("account")
        customer_id = self.vars.get("customer_id")
        request: Request
        if node.service in (SelfService.BALANCE, SelfService.LAST_BILL):
            if not account:
                return unavailable
            request = GetBalance(node.id, str(account), SELF_SERVICE_TIMEOUT_S)
        elif not customer_id:
            return unavailable
        elif node.service is SelfService.ORDER_STATUS:
            request = GetLatestOrder(node.id, str(customer_id), SELF_SERVICE_TIMEOUT_S)
        else:
            request = GetOpenServiceRequest(node.id, str(customer_id), SELF_SERVICE_TIMEOUT_S)
        self._ask(node, request)
        return None

    @staticmethod
    def _service_result(service: SelfService, info: Any) -> dict[str, Any] | None:
        if info is None:
            return None
        if service is SelfService.BALANCE:
            return {
                "balance": str(info.balance),
                "currency": info.currency,
                "due_date": info.due_date.isoformat() if info.due_date else None,
            }
        if service is SelfService.LAST_BILL:
            if info.last_bill_amount is None:
                return None
            return {
                "bill_amount": str(info.last_bill_amount),
                "currency": info.currency,
                "bill_date": info.last_bill_date.isoformat() if info.last_bill_date else None,
            }
        if service is SelfService.ORDER_STATUS:
            return {"order_id": info.order_id, "order_status": info.status, "order_description": info.description}
        return {"sr_id": info.sr_id, "sr_status": info.status, "sr_summary": info.summary}

    def _served(self, node: SelfServiceNode, info: Any) -> str:
        result = self._service_result(node.service, info)
        if result is None:
            return node.unavailable or self.flow.fallback
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
        self._pending = self._pending_node = None
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
