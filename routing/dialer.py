"""Outbound dialer: eligibility rules and pacing, sans-I/O (time passed in as a value).

Eligibility (:func:`eligibility`) is a pure function of the work item, the customer's time zone, the
campaign rules and ``now``: do-not-call, local calling hours in the customer's time zone (zoneinfo,
so daylight-saving changes are honoured), frequency cap ``{contacts, days}``, maximum attempts and the
retry delay per outcome of the last attempt.

Pacing (:class:`Pacer`) says how many calls to dial now:

* ``preview``: none by itself; the agent asks for the next work item (:meth:`Pacer.preview`).
* ``progressive``: one call per ready agent not already covered by a call in progress.
* ``predictive``: ``ready agents × ratio`` minus calls in progress, where the ratio is
  ``1 / connect rate`` (observed), lowered while the abandonment rate over the rolling window
  exceeds the campaign's ``abandon_target`` and never above ``max_ratio``. When the rolling
  abandonment rate is at or above the target, pacing falls back to progressive (ratio 1), which
  cannot abandon: a connected call always has an agent reserved for it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import RoutingError


class DialMode(Enum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """Campaign rules of the BI plan (``rules`` and ``schedule.hours``)."""

    calling_hours: tuple[time, time] = (time(9), time(20))  # local time of the customer: [start, end)
    calling_days: frozenset[int] = frozenset(range(7))  # weekday(): Monday 0 .. Sunday 6
    max_attempts: int = 3
    retry_s: Mapping[str, float] = field(default_factory=lambda: {"no_answer": 3600.0, "busy": 900.0})
    default_retry_s: float = 3600.0
    frequency_cap: tuple[int, int] | None = None  # at most N contacts in D days
    abandon_target: float = 0.03


@dataclass(frozen=True, slots=True)
class WorkItemView:
    """What the rules need to know about a work item and its customer's history."""

    work_item_id: int
    phone: str | None
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_result: str | None = None
    contacts: Sequence[datetime] = ()  # when the customer was contacted (any campaign)
    final: bool = False  # a result that ends the work item (sale, refusal, wrong number...)


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    reason: str
    retry_at: datetime | None = None  # when it may become eligible again (None: never, or now)


def eligibility(
    item: WorkItemView,
    time_zone: str,
    rules: CampaignRules,
    now: datetime,
    do_not_call: frozenset[str] | set[str] = frozenset(),
) -> Eligibility:
    """May this work item be dialled at ``now`` (an aware datetime)? Says why not, and until when."""
    if now.tzinfo is None:
        raise RoutingError("eligibility needs an aware 'now' (with a time zone)")
    if item.final:
        return Eligibility(False, "the work item is finished")
    if not item.phone:
        return Eligibility(False, "no phone number")
    if item.phone in do_not_call:
        return Eligibility(False, "the number is on the do-not-call list")
    if item.attempts >= rules.max_attempts:
        return Eligibility(False, f"maximum attempts reached ({rules.max_attempts})")
    if item.last_attempt_at is not None:
        delay = rules.retry_s.get(item.last_result or "", rules.default_retry_s)
        retry_at = item.last_attempt_at + timedelta(seconds=delay)
        if now < retry_at:
            return Eligibility(False, f"retry delay after {item.last_result or 'the last attempt'}", retry_at)
    if rules.frequency_cap is not None:
        contacts, days = rules.frequency_cap
        window = [c for c in item.contacts if now - c < timedelta(days=days)]
        if len(window) >= contacts:
            retry_at = sorted(window)[len(window) - contacts] + timedelta(days=days)
            return Eligibility(False, f"frequency cap: {contacts} contacts in {days} days", retry_at)
    ok, next_open = in_calling_hours(time_zone, rules, now)
    if not ok:
        return Eligibility(False, "outside the customer's local calling hours", next_open)
    return Eligibility(True, "eligible")


def in_calling_hours(time_zone: str, rules: CampaignRules, now: datetime) -> tuple[bool, datetime | None]:
    """Whether ``now`` is inside the calling hours in ``time_zone``; if not, when they next open (UTC)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RoutingError(f"unknown time zone {time_zone!r}") from None
    local = now.astimezone(zone)
    start, end = rules.calling_hours
    if local.weekday() in rules.calling_days and start <= local.time() < end:
        return True, None
    day = local.date()
    for offset in range(8):
        candidate_day = day + timedelta(days=offset)
        if candidate_day.weekday() not in rules.calling_days:
            continue
        opening = datetime.combine(candidate_day, start, tzinfo=zone)
        # A wall time that does not exist (skipped by DST) normalizes forward through UTC.
        opening = opening.astimezone(UTC).astimezone(zone)
        if opening > local:
            return False, opening.astimezone(UTC)
    return False, None


# ---------------------------------------------------------------- pacing


@dataclass(slots=True)
class Pacer:
    """How many calls to dial now; feed it outcomes (:meth:`dialled`, :meth:`connected`, ...)."""

    mode: DialMode
    abandon_target: float = 0.03
    window: int = 200  # rolling window of dial outcomes for the connect and abandonment rates
    max_ratio: float = 3.0
    initial_connect_rate: float = 0.3
    _outcomes: deque[str] = field(default_factory=deque)  # "connect", "no_connect"
    _connects: deque[bool] = field(default_factory=deque)  # per connect: abandoned?
    in_progress: int = 0

    def connect_rate(self) -> float:
        if len(self._outcomes) < 20:
            return self.initial_connect_rate
        return max(0.01, self._outcomes.count("connect") / len(self._outcomes))

    def abandon_rate(self) -> float:
        return sum(self._connects) / len(self._connects) if self._connects else 0.0

    def ratio(self) -> float:
        if self.mode is not DialMode.PREDICTIVE:
            return 1.0
        if self.abandon_rate() >= self.abandon_target * 0.8:
            return 1.0  # too close to the cap: progressive until the window recovers
        headroom = 1.0 - self.abandon_rate() / self.abandon_target
        return max(1.0, min(self.max_ratio, 1.0 + (1.0 / self.connect_rate() - 1.0) * headroom))

    def calls_to_dial(self, ready_agents: int) -> int:
        """Calls to start now, given the agents ready and not yet covered by a call."""
        if self.mode is DialMode.PREVIEW or ready_agents <= 0:
            return 0
        wanted = math.floor(ready_agents * self.ratio() + 1e-9)
        return max(0, wanted - self.in_progress)

    def preview(self, queue: Sequence[int]) -> int | None:
        """Preview mode: the next work item for an agent who asks (the first eligible in ``queue``)."""
        return queue[0] if queue else None

    def dialled(self, n: int = 1) -> None:
        self.in_progress += n

    def no_connect(self) -> None:
        self.in_progress -= 1
        self._push_outcome("no_connect")

    def connected(self, *, abandoned: bool) -> None:
        """A call reached a person; ``abandoned`` when no agent was free for it."""
        self.in_progress -= 1
        self._push_outcome("connect")
        self._connects.append(abandoned)
        while len(self._connects) > self.window:
            self._connects.popleft()

    def _push_outcome(self, outcome: str) -> None:
        self._outcomes.append(outcome)
        while len(self._outcomes) > self.window:
            self._outcomes.popleft()
