"""Message types of the bus: frozen dataclasses with ``type`` and ``v``, round-tripping through JSON.

Every payload on the bus is a JSON object with ``type`` (which message it is) and ``v`` (its schema
version). ``encode`` and ``decode`` are the only way messages cross a transport; ``decode`` refuses
what it cannot read with :class:`~bus.errors.MessageError` and never returns half a message.

The normalized call and agent event types of DESIGN.md are a contract: ``call.offered``,
``call.alerting``, ``call.answered``, ``call.held``, ``call.retrieved``, ``call.transferred``,
``call.conferenced``, ``call.ended``, ``call.data``, ``agent.state``, ``queue.joined``,
``queue.left``. All call and queue events share one class, :class:`CallEvent`, whose ``type`` says
which it is.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, NewType, Self, TypeVar

from .errors import MessageError

CallId = NewType("CallId", str)
AgentId = NewType("AgentId", str)

#: Largest payload accepted by ``decode`` (bytes); larger ones are refused, not parsed.
MAX_PAYLOAD = 256 * 1024


class CallEventType(StrEnum):
    OFFERED = "call.offered"
    ALERTING = "call.alerting"
    ANSWERED = "call.answered"
    HELD = "call.held"
    RETRIEVED = "call.retrieved"
    TRANSFERRED = "call.transferred"
    CONFERENCED = "call.conferenced"
    ENDED = "call.ended"
    DATA = "call.data"
    QUEUE_JOINED = "queue.joined"
    QUEUE_LEFT = "queue.left"


class AgentStateName(StrEnum):
    LOGGED_OFF = "logged_off"
    LOGGED_ON = "logged_on"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """Base of every bus message. Subclasses set ``TYPES`` (the ``type`` values they carry) and ``V``."""

    TYPES: ClassVar[tuple[str, ...]] = ()
    V: ClassVar[int] = 1

    @property
    def message_type(self) -> str:
        return self.TYPES[0]

    def to_dict(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        body.setdefault("type", self.message_type)
        return {"type": body.pop("type"), "v": self.V, **body}

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in body.items() if k in names}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise MessageError(f"{body.get('type')!r} message is incomplete: {exc}") from None


_REGISTRY: dict[str, type[Message]] = {}
M = TypeVar("M", bound=type[Message])


def register(cls: M) -> M:
    for name in cls.TYPES:
        if name in _REGISTRY:
            raise ValueError(f"message type {name!r} registered twice")
        _REGISTRY[name] = cls
    return cls


def message_types() -> dict[str, type[Message]]:
    return dict(_REGISTRY)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent(Message):
    """A normalized call or queue event, whatever the telephone system behind it."""

    TYPES: ClassVar[tuple[str, ...]] = tuple(CallEventType)

    type: str
    call_id: str
    ts: float
    calling: str | None = None
    called: str | None = None
    agent_id: str | None = None
    extension: str | None = None
    queue: str | None = None
    cause: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    calling_name: str | None = None  # the caller's name as the network gave it (any script), when known

    def __post_init__(self) -> None:
        if self.type not in self.TYPES:
            raise MessageError(f"unknown call event type {self.type!r}")

    @property
    def message_type(self) -> str:
        return self.type


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentState(Message):
    """An agent's state changed (``agent.state``)."""

    TYPES: ClassVar[tuple[str, ...]] = ("agent.state",)

    agent_id: str
    state: str
    ts: float
    reason: str | None = None
    extension: str | None = None
    call_id: str | None = None

    def __post_init__(self) -> None:
        if self.state not in set(AgentStateName):
            raise MessageError(f"unknown agent state {self.state!r}")


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStats(Message):
    """Live statistics of one queue, published retained on ``.../queues/<queue>/stats``."""

    TYPES: ClassVar[tuple[str, ...]] = ("queue.stats",)

    queue: str
    ts: float
    waiting: int = 0
    longest_wait_s: float = 0.0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    service_level: float | None = None
    asa_s: float | None = None
    agents_ready: int = 0
    agents_busy: int = 0  # reserved, on a call or in wrap-up
    # Since schema 1 too (readers that do not know them ignore them):
    service_level_15m: float | None = None  # over the last 15 minutes
    sl_target: float | None = None  # the queue's service-level target (fraction answered within sl_seconds)
    sl_seconds: float | None = None
    agents_on_call: int = 0  # reserved or on a call
    agents_wrap_up: int = 0
    agents_not_ready: int = 0
    answered_in_sl: int = 0  # answered within sl_seconds, since the day began (for interval reports)
    wrap_up_s: float | None = None  # the queue's wrap-up after each call (the dialer adds it to the talk it sees)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Command(Message):
    """A command to the CTI link or to an agent (``command``): ``name`` says what, ``args`` with what.

    Commands travel with QoS 1; ``command_id`` lets the sender match the outcome and the receiver
    drop a duplicate delivery.
    """

    TYPES: ClassVar[tuple[str, ...]] = ("command",)

    command_id: str
    name: str
    ts: float
    call_id: str | None = None
    agent_id: str | None = None
    args: dict[str, Any] = field(default_factory=dict)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Presence(Message):
    """A process's presence (``presence``): online, or offline as its MQTT last will."""

    TYPES: ClassVar[tuple[str, ...]] = ("presence",)

    client_id: str
    online: bool
    ts: float
    role: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentPresence(Message):
    """Whether an agent's desktop is connected (``agent.presence``), retained on
    ``ccenter/v1/<site>/agents/<agent_id>/presence``, a topic only that agent's identity may write.

    The desktop publishes ``online`` on every connection and leaves ``online: false`` as its MQTT last
    will, so the broker says so when the desktop dies or its machine goes. ``instance`` tells one
    desktop of the agent from the next (a random word, not the MQTT client id): a late will of a desktop
    already replaced is not taken for the new one's.
    """

    TYPES: ClassVar[tuple[str, ...]] = ("agent.presence",)

    agent_id: str
    online: bool
    ts: float
    instance: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.agent_id, str) or not isinstance(self.instance, str):
            raise MessageError("agent presence: agent_id and instance are text")
        if not isinstance(self.online, bool):
            raise MessageError("agent presence: online is true or false")


#: Fields whose values are identifiers, codes or phone numbers, never free text: the text guard
#: leaves them as they are (a caller's number must still find the customer).
IDENTITY_FIELDS = frozenset({
    "type", "call_id", "consult_call_id", "command_id", "agent_id", "client_id", "calling", "called",
    "extension", "device", "from_device", "to_number", "number", "queue", "state", "name", "link",
    "action_id", "request_id",  # a supervisor's action and question, matched to their answers by these
})

_text_guard: Callable[[str], str] | None = None


def install_text_guard(guard: Callable[[str], str] | None) -> None:
    """Run ``guard`` over every text value of every message :func:`encode` writes, except the
    :data:`IDENTITY_FIELDS`, at any depth (``None`` removes it).

    The bus imports nothing of ours: ``ccenter`` installs ``crm.masking.mask_text`` here at start, so
    that no card number reaches the bus in clear, whoever publishes it and wherever in the message it
    hides (attached data, a caller's name, a cause, a result's error)."""
    global _text_guard
    _text_guard = guard


def _guarded(value: Any, guard: Callable[[str], str], key: str | None = None) -> Any:
    if isinstance(value, str):
        return value if key in IDENTITY_FIELDS else guard(value)
    if isinstance(value, dict):
        return {k: _guarded(v, guard, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_guarded(v, guard, key) for v in value]
    return value


def encode(message: Message) -> bytes:
    body = message.to_dict()
    guard = _text_guard
    if guard is not None:
        body = _guarded(body, guard)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def decode(payload: bytes | str) -> Message:
    """Parse a JSON payload into its message class."""
    if len(payload) > MAX_PAYLOAD:
        raise MessageError(f"payload of {len(payload)} bytes exceeds the limit of {MAX_PAYLOAD}")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"payload is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MessageError("payload is not a JSON object")
    kind = body.get("type")
    cls = _REGISTRY.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MessageError(f"unknown message type {kind!r}")
    version = body.get("v")
    if not isinstance(version, int) or version > cls.V:
        raise MessageError(f"{kind!r} message has unsupported schema version {version!r}")
    return cls.from_dict(body)


# ---------------------------------------------------------------- ACD leadership (routing/server.py)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AcdLeader(Message):
    """Which ``ccenter acd`` leads a site (``acd.leader``), retained on ``ccenter/v1/<site>/acd/leader``.

    ``epoch`` grows with every takeover; the leader puts it in every command it sends (``args.epoch``)
    so that a receiver can ignore a deposed leader that comes back.
    """

    TYPES: ClassVar[tuple[str, ...]] = ("acd.leader",)

    client_id: str
    epoch: int
    ts: float


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AcdSnapshot(Message):
    """The leading ACD's routing state (``acd.snapshot``), retained on ``ccenter/v1/<site>/acd/state``.

    A standby rebuilds its engine from it when it takes over. ``calls`` are the live calls (queued,
    offered or connected), ``agents`` the logged-on agents, ``ended`` the ids of recently finished calls
    (so that a late duplicate event cannot bring one back), ``stats`` the queues' statistics counters
    of the day (a successor carries them on).

    A snapshot larger than one message travels in ``parts`` messages (``part`` 0 on ``.../acd/state``,
    part *k* on ``.../acd/state/<k>``, each retained), all with the same ``epoch`` and ``seq``; each
    holds a slice of the lists, part 0 also the statistics (:mod:`routing.leadership`).
    """

    TYPES: ClassVar[tuple[str, ...]] = ("acd.snapshot",)

    client_id: str
    epoch: int
    seq: int
    ts: float
    calls: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    part: int = 0
    parts: int = 1


# ---------------------------------------------------------------- ACD explanations (routing/server.py)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainRequest(Message):
    """A supervisor asks the leading ACD why an agent or a queue is as it is (``acd.explain``), on their own
    ``ccenter/v1/<site>/supervisors/<login>/actions`` (answered on their ``results``, about their own team's
    agents only), or a site-wide tool on ``ccenter/v1/<site>/acd/explain``. ``kind`` is ``agent`` or
    ``queue``; ``name`` the agent id or queue."""

    TYPES: ClassVar[tuple[str, ...]] = ("acd.explain",)

    request_id: str
    kind: str
    name: str
    ts: float

    def __post_init__(self) -> None:
        if self.kind not in ("agent", "queue"):
            raise MessageError(f"an explanation is of an agent or a queue, not {self.kind!r}")


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainAnswer(Message):
    """The leading ACD's answer to an :class:`ExplainRequest` (``acd.explanation``), on
    ``ccenter/v1/<site>/acd/explanations``: ``text`` for people (English), ``reasons`` the structured
    data of each explanation (one per waiting call of a queue, one for an agent), for translation."""

    TYPES: ClassVar[tuple[str, ...]] = ("acd.explanation",)

    request_id: str
    kind: str
    name: str
    ts: float
    text: str
    reasons: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- supervisor actions (routing/supervision.py)

#: What a supervisor may do, and the target each action names.
SUPERVISOR_ACTIONS: dict[str, str] = {
    "force_not_ready": "agent",
    "log_out": "agent",
    "set_skills": "agent",
    "message_agent": "agent",
    "message_team": "team",
    "set_queue": "queue",
    "pause_campaign": "campaign",
    "resume_campaign": "campaign",
    "set_campaign": "campaign",
    "listen": "agent",
}


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorAction(Message):
    """A supervisor's action (``supervisor.action``) on ``ccenter/v1/<site>/supervisors/<login>/actions``,
    a topic only that supervisor's broker identity may write: the topic says who acts."""

    TYPES: ClassVar[tuple[str, ...]] = ("supervisor.action",)

    action_id: str
    action: str
    target: str
    ts: float
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in SUPERVISOR_ACTIONS:
            raise MessageError(f"unknown supervisor action {self.action!r}")
        if not isinstance(self.target, str) or not self.target or len(self.target) > 200:
            raise MessageError("a supervisor action names its target (1 to 200 characters)")


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorResult(Message):
    """What became of a :class:`SupervisorAction` (``supervisor.result``), on
    ``ccenter/v1/<site>/supervisors/<login>/results``: ``result`` is ``ok``, ``refused`` or ``failed``."""

    TYPES: ClassVar[tuple[str, ...]] = ("supervisor.result",)

    action_id: str
    action: str
    target: str
    result: str
    ts: float
    detail: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDay(Message):
    """An agent's figures of the day (``acd.agent_day``), retained by the leading ACD on
    ``ccenter/v1/<site>/agents/<agent_id>/day``: calls handled, seconds busy (ringing, on calls, in
    wrap-up) and seconds available (ready or busy) since ``day`` (the ACD's local date) began.
    Occupancy is ``busy_s / available_s``. ``client_id`` is the ACD that counted them; a standby
    carries them on when it takes over. ``state`` (an ``agent.state`` name), ``reason`` and ``since``
    (when the agent entered that state) are the agent's state as the ACD knew it: a window opened
    later shows it until the agent's next ``agent.state``."""

    TYPES: ClassVar[tuple[str, ...]] = ("acd.agent_day",)

    agent_id: str
    day: str
    ts: float
    handled: int = 0
    busy_s: float = 0.0
    available_s: float = 0.0
    client_id: str = ""
    state: str | None = None
    reason: str | None = None
    since: float | None = None

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in {name.value for name in AgentStateName}:
            raise MessageError(f"agent day: unknown state {self.state!r}")
        if self.reason is not None and not isinstance(self.reason, str):
            raise MessageError("agent day: reason is text")
        if self.since is not None and (not isinstance(self.since, int | float) or isinstance(self.since, bool)):
            raise MessageError("agent day: since is a time")
        if not isinstance(self.handled, int) or isinstance(self.handled, bool) or self.handled < 0:
            raise MessageError(f"agent day: handled must be a count, not {self.handled!r}")
        for name in ("busy_s", "available_s", "ts"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
                raise MessageError(f"agent day: {name} must be a number of seconds, not {value!r}")
        if not isinstance(self.agent_id, str) or not isinstance(self.day, str):
            raise MessageError("agent day: agent_id and day are text")


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowChanged(Message):
    """An order's or a service request's workflow moved or was escalated (``workflow.changed``), on
    ``ccenter/v1/<site>/agents/<agent_id>/workflows`` of the agent who took it; written by ``ccenter api``.
    It says what changed; a desktop reads the item itself (through the API or the database) to show it.
    ``escalate_to`` is set when a time limit passed (who was told)."""

    TYPES: ClassVar[tuple[str, ...]] = ("workflow.changed",)

    subject: str
    item_id: int
    customer_id: int
    workflow: str
    state: str
    status: str
    ts: float
    actor: str = "system"
    actor_name: str = ""
    escalate_to: str | None = None

    def __post_init__(self) -> None:
        if self.subject not in ("order", "service_request"):
            raise MessageError(f"workflow changed: unknown subject {self.subject!r}")
        for name in ("item_id", "customer_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise MessageError(f"workflow changed: {name} must be an id, not {value!r}")
        for name in ("workflow", "state", "status", "actor", "actor_name"):
            if not isinstance(getattr(self, name), str):
                raise MessageError(f"workflow changed: {name} is text")
        if self.escalate_to is not None and not isinstance(self.escalate_to, str):
            raise MessageError("workflow changed: escalate_to is text")
        if not isinstance(self.ts, int | float) or isinstance(self.ts, bool):
            raise MessageError("workflow changed: ts is a time")


# ---------------------------------------------------------------- CTI gateway replies (cti/gateway.py, cti/buslink.py)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult(Message):
    """The outcome of one CTI :class:`Command` (``command.result``), published by ``ccenter cti-gateway``.

    Sent with QoS 1 on ``ccenter/v1/<site>/agents/<agent_id>/events`` when the command named an agent,
    otherwise on ``ccenter/v1/<site>/cti/results``. ``ok`` with ``result`` (such as the new ``call_id``
    of ``make_call`` and ``consult``), or not ``ok`` with ``error`` (the reason, for a person) and
    ``result["kind"]`` (the link's error class, e.g. ``CommandFailed``, ``UnsupportedCommand``).
    """

    TYPES: ClassVar[tuple[str, ...]] = ("command.result",)

    command_id: str
    ok: bool
    ts: float
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    agent_id: str | None = None
    name: str = ""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CtiCapabilities(Message):
    """What the site's CTI link can do (``cti.capabilities``), retained on ``ccenter/v1/<site>/cti/capabilities``.

    ``capabilities`` are command names (``make_call``, ``hold``...); ``online`` is false once the gateway
    has stopped, and while its link to the telephone system is down (``link_up`` false, since
    ``link_since``, for ``link_reason``): nothing can be carried out then; ``link`` names the kind of
    link (``SimLink``, ``AmiLink``...), never its address, nor the gateway's MQTT client id (an agent reads
    this topic, and a client id is what a session takeover needs). The gateway's MQTT last will is this
    message with ``online`` false (retained): a gateway that dies says so here.
    """

    TYPES: ClassVar[tuple[str, ...]] = ("cti.capabilities",)

    online: bool
    ts: float
    capabilities: list[str] = field(default_factory=list)
    link: str = ""
    link_up: bool = True
    link_since: float | None = None
    link_reason: str = ""
