"""Vocabulary of the ACD engine: states, queue configuration, events in and decisions out.

Events and decisions are frozen dataclasses; every event carries ``ts``, the time it happened (seconds,
any epoch: wall-clock time in production, simulated time in the simulator).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from bus.messages import AgentId, AgentStateName, CallId

from .errors import ScenarioError

__all__ = ["AgentId", "CallId"]

EMPTY: Mapping[str, Any] = MappingProxyType({})


class AgentStatus(Enum):
    LOGGED_OFF = "logged_off"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"  # a call is offered (ringing) to this agent and to no one else
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"

    @property
    def bus_name(self) -> AgentStateName:
        """The ``agent.state`` name of the bus contract."""
        return _BUS_NAMES[self]


_BUS_NAMES = {
    AgentStatus.LOGGED_OFF: AgentStateName.LOGGED_OFF,
    AgentStatus.READY: AgentStateName.READY,
    AgentStatus.NOT_READY: AgentStateName.NOT_READY,
    AgentStatus.RESERVED: AgentStateName.RESERVED,
    AgentStatus.ON_CALL: AgentStateName.BUSY,
    AgentStatus.WRAP_UP: AgentStateName.WRAP_UP,
}


class CallStatus(Enum):
    QUEUED = "queued"
    OFFERED = "offered"  # reserved for one agent, ringing there
    CONNECTED = "connected"
    ENDED = "ended"
    ABANDONED = "abandoned"
    FALLBACK = "fallback"  # left the queue to voicemail or a callback offer


class AgentSelection(Enum):
    """How a queue chooses among the eligible ready agents."""

    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    LEAST_OCCUPIED = "least_occupied"


class FallbackAction(Enum):
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    OVERFLOW_QUEUE = "overflow_queue"


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue and its routing rules.

    A call of this queue needs ``skill`` at ``min_proficiency`` or better (plus the call's own extra
    skills). After ``relax_after_s`` waiting, the call's extra skills are dropped and the minimum
    proficiency falls to ``relaxed_min_proficiency``. After ``overflow_after_s``, agents of the
    ``overflow_to`` queues' skills may take it too. After ``max_wait_s`` the ``fallback`` applies.
    A call's effective priority is ``priority + aging_per_minute * minutes waited``, where ``priority`` is
    the call's own plus the queue's ``priority``.
    """

    name: str
    skill: str = ""
    min_proficiency: int = 1
    sl_seconds: float = 20.0
    sl_target: float = 0.8
    wrap_up_s: float = 0.0
    ring_timeout_s: float | None = 20.0
    short_abandon_s: float = 0.0
    agent_selection: AgentSelection = AgentSelection.LONGEST_IDLE
    aging_per_minute: float = 0.0
    relax_after_s: float | None = None
    relaxed_min_proficiency: int = 1
    overflow_after_s: float | None = None
    overflow_to: tuple[str, ...] = ()
    max_wait_s: float | None = None
    fallback: FallbackAction | None = None
    fallback_queue: str | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        key = f"queues.{self.name}"
        if not self.name:
            raise ScenarioError("queues.name", "a queue needs a name")
        if not self.skill:
            object.__setattr__(self, "skill", self.name)
        for attr in ("min_proficiency", "relaxed_min_proficiency"):
            value = getattr(self, attr)
            if not (1 <= value <= 10):
                raise ScenarioError(f"{key}.{attr}", f"proficiency must be 1..10, got {value}")
        for attr in ("sl_seconds", "wrap_up_s", "short_abandon_s", "aging_per_minute"):
            value = getattr(self, attr)
            if not (value >= 0 and math.isfinite(value)):
                raise ScenarioError(f"{key}.{attr}", f"must be 0 or more, got {value}")
        for attr in ("ring_timeout_s", "relax_after_s", "overflow_after_s", "max_wait_s"):
            value = getattr(self, attr)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ScenarioError(f"{key}.{attr}", f"must be a positive number of seconds, got {value}")
        if not (0 < self.sl_target <= 1):
            raise ScenarioError(f"{key}.sl_target", f"must be in (0, 1], got {self.sl_target}")
        if self.overflow_after_s is not None and not self.overflow_to:
            raise ScenarioError(f"{key}.overflow_to", "overflow_after_s is set but no overflow queue is named")
        if self.max_wait_s is not None and self.fallback is None:
            raise ScenarioError(f"{key}.fallback", "max_wait_s is set but no fallback is given")
        if self.fallback is FallbackAction.OVERFLOW_QUEUE and not self.fallback_queue:
            raise ScenarioError(f"{key}.fallback_queue", "fallback overflow_queue needs fallback_queue")


# ---------------------------------------------------------------- events in


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueued:
    """A call (inbound, callback or outbound work item) asks for an agent of ``queue``."""

    ts: float
    call_id: CallId
    queue: str
    priority: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)  # extra skills: name -> min proficiency
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLoggedOn:
    ts: float
    agent_id: AgentId
    skills: Mapping[str, int]  # skill -> proficiency 1..10
    ready: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateRequested:
    """The agent (desktop) asks for READY, NOT_READY (with reason) or LOGGED_OFF."""

    ts: float
    agent_id: AgentId
    state: AgentStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered:
    ts: float
    call_id: CallId


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    ts: float
    call_id: CallId


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAbandoned:
    ts: float
    call_id: CallId


@dataclass(frozen=True, slots=True, kw_only=True)
class RingTimedOut:
    ts: float
    call_id: CallId


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    ts: float


Event = (
    CallQueued | AgentLoggedOn | AgentStateRequested | CallAnswered | CallEnded | CallAbandoned | RingTimedOut | Tick
)


# ---------------------------------------------------------------- decisions out


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Deliver ``call_id`` to ``agent_id`` (ring its extension); the agent is reserved for it."""

    ts: float
    call_id: CallId
    agent_id: AgentId
    queue: str


@dataclass(frozen=True, slots=True)
class OfferWithdrawn:
    """Stop ringing ``agent_id`` for ``call_id``: the call is back in line (it may be offered again)."""

    ts: float
    call_id: CallId
    agent_id: AgentId
    reason: str


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    """The call may now also be served by agents of ``to_queue`` (``moved``: it left its queue)."""

    ts: float
    call_id: CallId
    from_queue: str
    to_queue: str
    reason: str
    moved: bool = False


@dataclass(frozen=True, slots=True)
class CallFallback:
    """The call leaves the queue for voicemail or a callback offer."""

    ts: float
    call_id: CallId
    queue: str
    action: FallbackAction
    reason: str


@dataclass(frozen=True, slots=True)
class CallUnroutable:
    """No logged-on agent can ever take this call; it overflows or falls back per configuration."""

    ts: float
    call_id: CallId
    queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentStateSet:
    """The engine changed an agent's state (ring-no-answer, end of wrap-up, repair)."""

    ts: float
    agent_id: AgentId
    state: AgentStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StateRepaired:
    """Reconciliation repaired a stuck reservation; also kept in the engine's audit log."""

    ts: float
    call_id: CallId | None
    agent_id: AgentId | None
    problem: str
    action: str


Decision = OfferCall | OfferWithdrawn | CallOverflowed | CallFallback | CallUnroutable | AgentStateSet | StateRepaired
