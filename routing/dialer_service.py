"""``ccenter dialer``: progressive and predictive outbound dialing on the bus.

:class:`DialerCore` is sans-I/O (time passed in as a value, no bus, no database): it is given the
campaigns (:class:`CampaignPlan`), the queue statistics the ACD publishes (ready agents per queue),
candidate work items, command results and call events, and decides:

* how many calls to start per campaign (:meth:`DialerCore.wanted`): the campaign's
  :class:`~routing.dialer.Pacer` given the queue's ready agents not yet covered (agents the ACD gave a
  dialer call to after its last statistics are not counted as ready) and its busy agents, with how long
  each has been busy where the dialer knows it (:meth:`DialerCore.busy_for`: agents on its own calls);
  each campaign's pacer learns the handle times of its calls an agent took (talk from the call given to
  the agent to its end, plus the queue's ``wrap_up_s`` from the ACD's statistics);
* whether a work item may be dialled (:meth:`DialerCore.dial`, the rules of
  :func:`crm.campaigns.eligibility.decide`, shared with the agents' preview and inbound offers:
  do-not-call, calling hours in the customer's zone, attempts, retry delay per outcome, frequency cap)
  and with what attached data (:func:`attached_data`);
* what each dial came to (:meth:`DialerCore.on_call_event`, :meth:`DialerCore.tick`): an attempt to
  record on the work item (:class:`RecordAttempt`: ``answered``, ``busy``, ``no_answer``,
  ``answering_machine``, ``failed``, ``hung_up`` when the customer hung up before an agent took the
  call, ``abandoned``) with its retry time per the campaign's rules, and a :class:`HangUp` (the
  ``abandoned`` fallback: a recorded message, then the call ends) when the ACD did not give an answered
  call to an agent within the campaign's ``abandon_after_s`` (2 s by default). That is the abandonment
  rate the pacer keeps under ``abandon_target``.

A call counts as given to an agent when it rings at an agent's extension (``call.alerting`` with an
extension, after the ACD's ``deliver``) or is answered there; outbound queues should use auto-answer
on the agents' phones, so the customer hears the agent at once.

:class:`DialerService` is the thin asyncio adapter: it reads campaigns and work items from the
database (:func:`crm.repository.dialer_campaigns`, :func:`crm.repository.dial_candidates`), the
retained ``QueueStats`` (``ccenter/v1/<site>/queues/+/stats``), call events (``.../calls/+``) and
command results (``.../cti/results``) from the bus, sends ``dial_out`` and ``fallback`` commands to
the CTI gateway (``.../cti/commands``, QoS 1) and writes attempts
(:func:`crm.repository.record_outbound_attempt`). An answered call whose agent saved no contact
within ``no_disposition_after_s`` (2 h by default) closes its work item as ``no_disposition``
(:func:`crm.repository.close_undisposed`): counted, never redialled.

**Database outages and several dialers.** Before a dial, the work item is claimed in the database
(:func:`crm.repository.claim_for_dialing`: rows locked ``FOR UPDATE SKIP LOCKED`` and held for
:attr:`DialerCore.claim_s`), so two dialers never dial one item, and a dialer that cannot reach the
database dials nobody. Attempts go through a durable outbox (:class:`crm.outbox.Outbox`, a local
JSON-lines file): an attempt the database cannot take now is kept on disk and written, once (keyed on
the dial's own id, ``attempt.client_ref``), when it answers again, before any new dial; a work item
whose attempt is still pending is never offered for dialling, even after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bus import topics
from bus.errors import BusError
from bus.messages import CallEvent, CallEventType, Command, CommandResult, QueueStats
from bus.transport import QOS_COMMAND, Bus, Subscription
from crm import db, phones, repository
from crm.campaigns.eligibility import Decision as Verdict
from crm.campaigns.eligibility import Rule, decide
from crm.campaigns.rules import CampaignRules, InvalidRules, read_rules
from crm.errors import CrmError, DatabaseUnavailable, InvalidPhoneNumber
from crm.outbox import Outbox
from crm.repository import DialCandidate, DialDecisionRecord, DialerCampaign

from .dialer import DialMode, Pacer
from .messaging import MessageSender

logger = logging.getLogger(__name__)

ATTACHED_SCHEMA = "ccenter.attached/1"
#: Results of a dial the dialer records on the work item.
RESULTS = ("answered", "busy", "no_answer", "answering_machine", "failed", "hung_up", "abandoned")
#: How long an answered dialer call may stay without a saved contact (a disposition) before its work item
#: is closed as ``no_disposition`` instead of being redialled (``ccenter dialer --no-disposition-after``).
NO_DISPOSITION_AFTER_S = 2 * 3600.0
#: How often the dialer purges dial decisions past their retention.
PURGE_EVERY_S = 3600.0
_CAUSES = {"busy": "busy", "no_answer": "no_answer", "answering_machine": "answering_machine"}


# ---------------------------------------------------------------- campaigns


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """What the dialer needs of one progressive or predictive campaign."""

    campaign_id: int
    key: str
    mode: DialMode
    queue: str
    rules: CampaignRules
    abandon_after_s: float = 2.0
    priority: int = 0


def campaign_plan(campaign: DialerCampaign) -> CampaignPlan | None:
    """The plan of a campaign from the database; None (logged) when it cannot be dialled."""
    try:
        mode = DialMode(campaign.dial_mode)
    except ValueError:
        logger.info("campaign %s: unknown dial mode %r, not dialled", campaign.campaign_key, campaign.dial_mode)
        return None
    if mode is DialMode.PREVIEW:
        return None
    if not campaign.queue:
        logger.info("campaign %s has no queue (rules.queue or the outbound task's skill): not dialled",
                    campaign.campaign_key)
        return None
    try:
        rules = read_rules(campaign.rules, campaign.calling_hours)
    except InvalidRules as exc:
        logger.info("campaign %s has unusable rules (%s): not dialled", campaign.campaign_key, exc)
        return None
    return CampaignPlan(campaign.campaign_id, campaign.campaign_key, mode, campaign.queue, rules,
                        rules.abandon_after_s, rules.priority)


def attached_data(plan: CampaignPlan, item: DialCandidate, now: float) -> dict[str, Any]:
    """The call's attached data (``ccenter.attached/1``, set by the system ``dialer``) and its routing."""
    values: dict[str, tuple[Any, str]] = {
        "work_item_id": (item.work_item_id, "int"),
        "campaign_key": (plan.key, "str"),
        "offer": (item.offer or "", "str"),
        "customer_id": (item.customer_id, "int"),
        "dial_mode": (plan.mode.value, "str"),
    }
    fields = {
        name: {"value": value, "type": kind, "editable": False, "set_by": {"kind": "system", "name": "dialer"},
               "at": now}
        for name, (value, kind) in values.items()
    }
    earlier = item.data.get("fields") if isinstance(item.data, Mapping) else None
    if isinstance(earlier, Mapping):  # a callback: what the IVR collected on the call it was promised on
        fields = {**{str(k): dict(v) for k, v in earlier.items() if isinstance(v, Mapping)}, **fields}
    return {"schema": ATTACHED_SCHEMA, "fields": fields, "routing": {"queue": plan.queue, "priority": plan.priority}}


# ---------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class DialOut:
    """Send ``dial_out`` to the CTI gateway."""

    command_id: str
    campaign: str
    work_item_id: int
    number: str
    queue: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordAttempt:
    """Write one attempt on the work item."""

    work_item_id: int
    result: str
    call_id: str | None
    started_at: datetime
    ended_at: datetime
    next_attempt_at: datetime | None
    final: bool = False
    ref: str | None = None  # the dial's own id: the attempt is written once however often it is retried

    def to_json(self) -> dict[str, Any]:
        return {"work_item_id": self.work_item_id, "result": self.result, "call_id": self.call_id,
                "started_at": self.started_at.isoformat(), "ended_at": self.ended_at.isoformat(),
                "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
                "final": self.final, "ref": self.ref}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RecordAttempt:
        when = body.get("next_attempt_at")
        return cls(int(body["work_item_id"]), str(body["result"]), body.get("call_id"),
                   datetime.fromisoformat(body["started_at"]), datetime.fromisoformat(body["ended_at"]),
                   datetime.fromisoformat(when) if when else None, bool(body.get("final")), body.get("ref"))


@dataclass(frozen=True, slots=True)
class HangUp:
    """An answered call no agent took in time: the ``abandoned`` fallback (recorded message, then hang up)."""

    call_id: str
    campaign: str


@dataclass(frozen=True, slots=True)
class RecordCallback:
    """A callback promised to a caller: the IVR's "press 8" (``source`` ``ivr``) or a queue's ``callback``
    fallback (``queue``). It becomes a work item of the standing callbacks campaign
    (:func:`crm.repository.request_callback`), tied to ``call_id``, with the call's attached data."""

    call_id: str
    number: str
    source: str
    queue: str | None
    requested_at: datetime
    customer_id: int | None
    data: dict[str, Any]


Decision = DialOut | RecordAttempt | HangUp | RecordCallback


@dataclass(slots=True)
class _Seen:
    """What the dialer knows of a call it did not place, for a callback promised on it."""

    first_at: float
    calling: str | None = None
    queue: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ended_at: float | None = None
    promised: bool = False


#: How long a call is remembered after it ended (a fallback's result may come after the hang-up).
SEEN_AFTER_END_S = 300.0
#: How long a call with no end seen is remembered at most (its end was lost).
SEEN_AT_MOST_S = 12 * 3600.0


def _field(data: Mapping[str, Any], name: str) -> Any:
    fields = data.get("fields")
    entry = fields.get(name) if isinstance(fields, Mapping) else None
    return entry.get("value") if isinstance(entry, Mapping) else None


def customer_of(data: Mapping[str, Any]) -> int | None:
    """The customer id the call's attached data names (the IVR's), or None."""
    value = _field(data, "customer_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


@dataclass(slots=True)
class _Dial:
    command_id: str
    campaign: str
    work_item_id: int
    attempts: int
    started: float
    ref: str = ""
    call_id: str | None = None
    joined_at: float | None = None
    delivered: bool = False
    done: bool = False
    number: str | None = None  # the number dialled


@dataclass(slots=True)
class _Handling:
    """An agent busy with a call the dialer placed: from when the call was given to the agent until its
    end plus the queue's wrap-up."""

    campaign: str
    queue: str
    since: float  # given to the agent (alerting or answered at the extension)
    ended_at: float | None = None
    free_at: float | None = None  # ended_at + the queue's wrap-up


@dataclass(slots=True)
class CampaignCounts:
    attempts: int = 0
    connects: int = 0
    abandoned: int = 0
    by_result: dict[str, int] = field(default_factory=dict)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


#: A number on a call now is not dialled; it is looked at again after this.
IN_CALL_RETRY_S = 300.0


def promised_in_handoff(event: CallEvent, now: float) -> RecordCallback | None:
    """The callback an IVR hand-off promises (its ``call.data`` carries a ``callback_number``), or None.
    The IVR writes it itself (:func:`keep_promise`) before publishing the hand-off; the dialer, when it
    sees the hand-off too, finds it written (one promise per call)."""
    if event.type != CallEventType.DATA or not event.data:
        return None
    number = _field(event.data, "callback_number")
    if not isinstance(number, str) or not number:
        return None
    routing = event.data.get("routing")
    queue = routing.get("queue") if isinstance(routing, Mapping) and isinstance(routing.get("queue"), str) else None
    return RecordCallback(event.call_id, number, "ivr", queue, _utc(now), customer_of(event.data), dict(event.data))


def keep_promise(session: db.Session, promise: RecordCallback, *, region: str, site: str) -> int:
    """Write a promised callback (:func:`crm.repository.request_callback`); returns its work item. Raises
    the data layer's errors (:class:`crm.errors.CrmError` for a number nobody can call)."""
    r = promise
    return repository.request_callback(
        session, call_id=r.call_id, number=r.number, source=r.source, requested_at=r.requested_at, queue=r.queue,
        customer_id=r.customer_id, data=r.data, region=region, site=site)


class DialerCore:
    """The dialer's decisions, sans-I/O; ``now`` is seconds since the epoch (the service's clock)."""

    def __init__(self, *, max_batch: int = 20, stats_stale_s: float = 10.0, result_timeout_s: float = 30.0,
                 dial_timeout_s: float = 180.0, max_decisions: int = 100_000) -> None:
        self.region = "US"  # of caller numbers written without a country code (the service's)
        self.max_batch = max_batch
        self.stats_stale_s = stats_stale_s
        self.result_timeout_s = result_timeout_s
        self.dial_timeout_s = dial_timeout_s
        self.plans: dict[str, CampaignPlan] = {}
        self.pacers: dict[str, Pacer] = {}
        self.counts: dict[str, CampaignCounts] = {}
        self._stats: dict[str, QueueStats] = {}
        self._delivered: dict[str, deque[float]] = {}  # queue -> when dialer calls were given to agents
        self._handling: dict[str, _Handling] = {}  # call id -> the agent busy with a dialer call
        self._by_command: dict[str, _Dial] = {}
        self._by_call: dict[str, _Dial] = {}
        self._orphans: dict[str, list[tuple[CallEvent, float]]] = {}  # events before the call id was known
        self._not_before: dict[int, float] = {}  # work item -> when it may be looked at again
        self._seen: dict[str, _Seen] = {}  # calls the dialer did not place, for callbacks promised on them
        self.decided: deque[DialDecisionRecord] = deque(maxlen=max_decisions)  # not written yet
        self.decisions_dropped = 0
        self.callbacks_promised = 0

    # -- campaigns and statistics ------------------------------------------------------------
    def set_campaigns(self, plans: Iterable[CampaignPlan]) -> None:
        """The campaigns to dial now; a pacer's history survives a refresh of the same campaign (a new dial
        mode or cap starts a new pacer, with the handle times the old one learned)."""
        new = {p.key: p for p in plans}
        for key, plan in new.items():
            pacer = self.pacers.get(key)
            if pacer is None or pacer.mode is not plan.mode or pacer.abandon_target != plan.rules.abandon_target:
                fresh = Pacer(plan.mode, plan.rules.abandon_target)
                if pacer is not None:  # the calls in progress and the agents' handle times carry over
                    fresh.in_progress = pacer.in_progress
                    for seconds in pacer.handle_times():
                        fresh.handled(seconds)
                self.pacers[key] = fresh
            self.counts.setdefault(key, CampaignCounts())
        self.plans = new

    def on_stats(self, stats: QueueStats) -> None:
        self._stats[stats.queue] = stats
        seen = self._delivered.get(stats.queue)
        while seen and seen[0] <= stats.ts:
            seen.popleft()

    def ready_agents(self, queue: str, now: float) -> int:
        """Ready agents of ``queue`` per the ACD, less those given a dialer call since its statistics."""
        stats = self._stats.get(queue)
        if stats is None or now - stats.ts > self.stats_stale_s:
            return 0
        return max(0, stats.agents_ready - len(self._delivered.get(queue, ())))

    def busy_agents(self, queue: str, now: float) -> int:
        """Agents of ``queue`` on a call per the ACD (those the predictive pacer expects to free up)."""
        stats = self._stats.get(queue)
        if stats is None or now - stats.ts > self.stats_stale_s:
            return 0
        return stats.agents_busy + len(self._delivered.get(queue, ()))

    def wrap_up_s(self, queue: str) -> float:
        """The queue's wrap-up after each call, per the ACD's statistics (0 when it does not say)."""
        wrap = self._stats[queue].wrap_up_s if queue in self._stats else None
        ok = isinstance(wrap, int | float) and not isinstance(wrap, bool) and math.isfinite(wrap) and wrap >= 0
        return float(wrap) if ok and wrap is not None else 0.0

    def busy_for(self, queue: str, now: float) -> list[float | None]:
        """How long each busy agent of ``queue`` has been busy (talk and wrap-up): known for the agents on
        a call the dialer placed, None (not known) for the others the ACD counts busy. When the ACD counts
        fewer busy agents than the dialer knows of (an agent ended wrap-up early, say), those whose call
        ended are left out first."""
        busy = self.busy_agents(queue, now)
        mine = sorted((h.ended_at is not None, now - h.since) for h in self._handling.values()
                      if h.queue == queue and (h.free_at is None or now < h.free_at))
        known: list[float | None] = [max(0.0, age) for _, age in mine[:busy]]
        return known + [None] * (busy - len(known))

    def wanted(self, now: float) -> dict[str, int]:
        """How many calls each campaign should start now."""
        out: dict[str, int] = {}
        for key, plan in self.plans.items():
            pacer = self.pacers[key]
            others = sum(
                self.pacers[k].in_progress for k, p in self.plans.items() if k != key and p.queue == plan.queue
            )
            ready = max(0, self.ready_agents(plan.queue, now) - others)
            n = min(self.max_batch, pacer.calls_to_dial(ready, busy_for=self.busy_for(plan.queue, now)))
            if n > 0:
                out[key] = n
        return out

    def skip(self, now: float) -> tuple[int, ...]:
        """Work items not to offer as candidates: being dialled, or known not eligible yet."""
        for item, until in list(self._not_before.items()):
            if until <= now:
                del self._not_before[item]
        busy = {d.work_item_id for d in self._by_command.values() if not d.done}
        return tuple(sorted(busy | set(self._not_before)))

    # -- dialling ----------------------------------------------------------------------------
    def allowed(self, campaign: str, item: DialCandidate, now: float) -> bool:
        """Whether the rules allow dialling ``item`` now (if not, it is not offered again until they may)."""
        plan = self.plans.get(campaign)
        if plan is None:
            return False
        verdict = decide(item.state(), item.time_zone, plan.rules, _utc(now), do_not_call=item.do_not_call)
        if verdict.eligible and item.phone and item.phone in self._e164_in_call():
            # the customer is on a call with us now (called in, say, after a callback was promised)
            verdict = Verdict(False, Rule.RETRY, "a call with the customer is in progress", _utc(now + IN_CALL_RETRY_S))
        self._decided(DialDecisionRecord(_utc(now), campaign, item.work_item_id, item.phone or None,
                                         verdict.eligible, verdict.rule.value, verdict.reason, verdict.retry_at))
        if not verdict.eligible:
            logger.debug("work item %d not dialled (%s): %s", item.work_item_id, verdict.rule, verdict.reason)
            later = verdict.retry_at.timestamp() if verdict.retry_at is not None else now + 3600.0
            self._not_before[item.work_item_id] = max(later, now + 1.0)
            return False
        return True

    @property
    def claim_s(self) -> float:
        """How long a dial holds its work item in the database (no other dialer takes it meanwhile)."""
        return self.result_timeout_s + self.dial_timeout_s + 300.0

    def dial(self, campaign: str, item: DialCandidate, now: float, *, checked: bool = False) -> DialOut | None:
        """Dial ``item`` now if the rules allow it (then the pacer counts it in progress); ``checked``:
        :meth:`allowed` said yes a moment ago (its decision is recorded once, not again here)."""
        plan = self.plans.get(campaign)
        if plan is None or not (checked or self.allowed(campaign, item, now)):
            return None
        ref = uuid.uuid4().hex
        command_id = f"dial:{campaign}:{item.work_item_id}:{ref[:12]}"
        self._by_command[command_id] = _Dial(command_id, campaign, item.work_item_id, item.attempts, now, ref,
                                             number=item.phone)
        self.pacers[campaign].dialled()
        self.counts[campaign].attempts += 1
        return DialOut(command_id, campaign, item.work_item_id, item.phone, plan.queue,
                       attached_data(plan, item, now))

    def _decided(self, record: DialDecisionRecord) -> None:
        if len(self.decided) == self.decided.maxlen:
            self.decisions_dropped += 1  # the database has been away long: the oldest goes unwritten
        self.decided.append(record)

    def take_decisions(self) -> list[DialDecisionRecord]:
        """The decisions made since the last call, to keep (``ccenter campaign why``)."""
        out = list(self.decided)
        self.decided.clear()
        return out

    def on_result(self, result: CommandResult, now: float) -> list[Decision]:
        """The gateway's answer to a ``dial_out``: the call's id, or why it could not be dialled; or to
        the ACD's ``fallback`` of a waiting call: a ``callback`` fallback is a promise to keep."""
        if result.name == "fallback":
            return self._fallback_done(result, now)
        dial = self._by_command.get(result.command_id)
        if dial is None or dial.done or dial.call_id is not None:
            return []
        call_id = result.result.get("call_id") if result.ok else None
        if not isinstance(call_id, str) or not call_id:
            logger.info("dial of work item %d failed: %s", dial.work_item_id, result.error or "no call id")
            return self._finish(dial, "failed", now, pacer="no_connect")
        dial.call_id = call_id
        self._by_call[call_id] = dial
        out: list[Decision] = []
        for event, at in self._orphans.pop(call_id, []):
            out += self.on_call_event(event, at)
        return out

    def on_call_event(self, event: CallEvent, now: float) -> list[Decision]:
        promised = self._watch(event, now)
        if event.type == CallEventType.ENDED:
            self._handled(event.call_id, now)
        dial = self._by_call.get(event.call_id)
        if dial is None:
            if any(d.call_id is None and not d.done for d in self._by_command.values()):
                self._orphans.setdefault(event.call_id, []).append((event, now))
            return promised
        if promised:
            return promised + self._dial_event(dial, event, now)
        return self._dial_event(dial, event, now)

    # -- callbacks promised to callers -------------------------------------------------------
    def _watch(self, event: CallEvent, now: float) -> list[Decision]:
        """Remember who called and what the IVR attached; the IVR's callback hand-off is a promise."""
        seen = self._seen.get(event.call_id)
        kind = event.type
        if seen is None:
            if kind not in (CallEventType.OFFERED, CallEventType.DATA, CallEventType.QUEUE_JOINED):
                return []
            seen = self._seen[event.call_id] = _Seen(now)
        if event.calling and not seen.calling:
            seen.calling = event.calling
        if kind == CallEventType.QUEUE_JOINED and event.queue:
            seen.queue = event.queue
        elif kind == CallEventType.ENDED:
            seen.ended_at = now
        elif kind == CallEventType.DATA and event.data:
            seen.data = dict(event.data)
            routing = event.data.get("routing")
            if isinstance(routing, Mapping) and isinstance(routing.get("queue"), str):
                seen.queue = routing["queue"]
            number = _field(event.data, "callback_number")
            if isinstance(number, str) and number and not seen.promised:
                seen.promised = True
                return [self._callback(event.call_id, seen, number, "ivr", now)]
        return []

    def _fallback_done(self, result: CommandResult, now: float) -> list[Decision]:
        if not result.ok or result.result.get("action") != "callback":
            return []
        call_id = result.command_id.rpartition(":")[0]
        seen = self._seen.get(call_id)
        if seen is not None and seen.promised:
            return []  # promised once already (the IVR's)
        if seen is None or not seen.calling:
            logger.warning("call %s: a callback was promised but the caller's number is unknown to the dialer",
                           call_id)
            return []
        seen.promised = True
        return [self._callback(call_id, seen, seen.calling, "queue", now)]

    def _callback(self, call_id: str, seen: _Seen, number: str, source: str, now: float) -> RecordCallback:
        self.callbacks_promised += 1
        logger.info("call %s: callback promised (%s) to %s", call_id, source, number)
        return RecordCallback(call_id, number, source, seen.queue, _utc(now), customer_of(seen.data),
                              dict(seen.data))

    def _dial_event(self, dial: _Dial, event: CallEvent, now: float) -> list[Decision]:
        if dial.done:
            if event.type == CallEventType.ENDED:
                self._forget(dial)
            return []
        kind = event.type
        routing = event.data.get("routing") if isinstance(event.data.get("routing"), Mapping) else None
        if kind == CallEventType.QUEUE_JOINED or (kind == CallEventType.DATA and routing and routing.get("queue")):
            if dial.joined_at is None:
                dial.joined_at = now
            return []
        if kind in (CallEventType.ALERTING, CallEventType.ANSWERED) and (event.extension or event.agent_id):
            if dial.joined_at is not None and not dial.delivered:
                dial.delivered = True
                plan = self.plans.get(dial.campaign)
                if plan is not None:
                    self._delivered.setdefault(plan.queue, deque()).append(now)
                    if dial.call_id is not None:
                        self._handling[dial.call_id] = _Handling(dial.campaign, plan.queue, now)
                self.counts[dial.campaign].connects += 1
                return self._finish(dial, "answered", now, pacer="connected", keep=True)
            return []
        if kind == CallEventType.ENDED:
            if dial.joined_at is not None:
                out = self._finish(dial, "hung_up", now, pacer="connected")
            else:
                out = self._finish(dial, _CAUSES.get(event.cause or "", "failed"), now, pacer="no_connect")
            self._forget(dial)
            return out
        return []

    def _handled(self, call_id: str, now: float) -> None:
        """A dialer call an agent took ended: the agent is free again after the queue's wrap-up, and the
        campaign's pacer learns the handle time (talk and wrap-up)."""
        handling = self._handling.get(call_id)
        if handling is None or handling.ended_at is not None:
            return
        wrap = self.wrap_up_s(handling.queue)
        handling.ended_at, handling.free_at = now, now + wrap
        pacer = self.pacers.get(handling.campaign)
        if pacer is not None:
            pacer.handled(now - handling.since + wrap)

    def tick(self, now: float) -> list[Decision]:
        """Abandon answered calls no agent took in time; give up on dials that went silent."""
        out: list[Decision] = []
        for call_id, handling in list(self._handling.items()):
            if (handling.free_at is not None and now >= handling.free_at) or now - handling.since > SEEN_AT_MOST_S:
                del self._handling[call_id]
        for dial in list(self._by_command.values()):
            if dial.done:
                if now - dial.started > self.dial_timeout_s + 3600.0:
                    self._forget(dial)
                continue
            plan = self.plans.get(dial.campaign)
            limit = plan.abandon_after_s if plan is not None else 2.0
            if dial.joined_at is not None and not dial.delivered and now - dial.joined_at >= limit:
                assert dial.call_id is not None
                logger.info("call %s (work item %d) answered but no agent within %.1f s: abandoned",
                            dial.call_id, dial.work_item_id, limit)
                self.counts[dial.campaign].abandoned += 1
                out += self._finish(dial, "abandoned", now, pacer="abandoned", keep=True)
                out.append(HangUp(dial.call_id, dial.campaign))
            elif dial.call_id is None and now - dial.started > self.result_timeout_s:
                logger.info("dial of work item %d got no result from the CTI gateway", dial.work_item_id)
                self._finish(dial, "failed", now, pacer="no_connect", record=False)
                self._forget(dial)
            elif dial.joined_at is None and now - dial.started > self.dial_timeout_s:
                self._finish(dial, "failed", now, pacer="no_connect", record=False)
                self._forget(dial)
        for call_id, seen in list(self._seen.items()):
            if (seen.ended_at is not None and now - seen.ended_at > SEEN_AFTER_END_S) \
                    or now - seen.first_at > SEEN_AT_MOST_S:
                del self._seen[call_id]
        horizon = now - self.result_timeout_s
        for call_id, events in list(self._orphans.items()):
            if events[-1][1] < horizon:
                del self._orphans[call_id]
        return out

    def next_timer(self) -> float | None:
        due = [
            d.joined_at + (self.plans[d.campaign].abandon_after_s if d.campaign in self.plans else 2.0)
            for d in self._by_command.values()
            if d.joined_at is not None and not d.delivered and not d.done
        ]
        return min(due) if due else None

    @property
    def in_progress(self) -> int:
        return sum(1 for d in self._by_command.values() if not d.done)

    def _e164_in_call(self) -> set[str]:
        out = set()
        for number in self.numbers_in_call():
            try:
                out.add(phones.to_e164(number, self.region))
            except InvalidPhoneNumber:
                continue
        return out

    def numbers_in_call(self) -> set[str]:
        """The numbers on a call now: those the dialer dialled and that have not ended, and callers of
        calls it watches (inbound, through the IVR and the queues). No message goes to them meanwhile."""
        dialled = {d.number for d in self._by_command.values() if d.number}
        return dialled | {s.calling for s in self._seen.values() if s.ended_at is None and s.calling}

    # -- internals -------------------------------------------------------------------------
    def _finish(self, dial: _Dial, result: str, now: float, *, pacer: str, keep: bool = False,
                record: bool = True) -> list[Decision]:
        dial.done = True
        p = self.pacers.get(dial.campaign)
        if p is not None:
            if pacer == "no_connect":
                p.no_connect()
            else:  # how long the customer took to answer teaches the predictive pacer its ring time
                answered_after = (dial.joined_at if dial.joined_at is not None else now) - dial.started
                p.connected(abandoned=pacer == "abandoned", after_s=answered_after)
            p.in_progress = max(0, p.in_progress)
        counts = self.counts.setdefault(dial.campaign, CampaignCounts())
        counts.by_result[result] = counts.by_result.get(result, 0) + 1
        if not keep:
            self._by_command.pop(dial.command_id, None)
        plan = self.plans.get(dial.campaign)
        if not record or plan is None:
            return []
        rules = plan.rules
        attempts = dial.attempts + 1
        final = result != "answered" and attempts >= rules.max_attempts
        delay = rules.retry_delay(result)
        next_at = None if final else _utc(now) + timedelta(seconds=delay)
        return [RecordAttempt(dial.work_item_id, result, dial.call_id, _utc(dial.started), _utc(now), next_at, final,
                              dial.ref or None)]

    def _forget(self, dial: _Dial) -> None:
        self._by_command.pop(dial.command_id, None)
        if dial.call_id is not None:
            self._by_call.pop(dial.call_id, None)


# ---------------------------------------------------------------- the service on the bus


class DialerService:
    """The dialer on the bus. ``await service.start()``, then ``await service.stop()``.

    ``sessions`` makes database sessions (a ``sessionmaker``); database work runs in a worker thread,
    one unit at a time. ``outbox`` is the file where attempts wait while the database is away (one per
    dialer; ``ccenter dialer --outbox``); without it, a file in a new temporary folder, which outlives a
    database outage but not the process.
    """

    def __init__(
        self,
        bus: Bus,
        sessions: Callable[[], db.Session],
        site: str = "main",
        clock: Callable[[], float] = time.time,
        *,
        interval_s: float = 0.25,
        refresh_s: float = 10.0,
        core: DialerCore | None = None,
        no_disposition_after_s: float = NO_DISPOSITION_AFTER_S,
        region: str = "US",
        keep_decisions_for: timedelta = repository.DECISION_RETENTION,
        messages: MessageSender | None = None,
        messages_every_s: float = 5.0,
        outbox: Path | None = None,
    ) -> None:
        if no_disposition_after_s <= 0:
            raise ValueError("no_disposition_after_s must be a positive number of seconds")
        self.bus = bus
        self.sessions = sessions
        self.site = site
        self.clock = clock
        self.interval_s = interval_s
        self.refresh_s = refresh_s
        self.core = core or DialerCore()
        self.no_disposition_after = timedelta(seconds=no_disposition_after_s)
        self.region = region  # of caller numbers written without a country code
        self.core.region = region
        self.keep_decisions_for = keep_decisions_for
        self.messages = messages  # the sms and e-mail channels' connector, when one is configured
        if messages is not None:
            messages.in_call = self.core.numbers_in_call  # no message to a customer while on a call with them
            messages.region = region
        self.messages_every_s = messages_every_s
        self._last_messages = -math.inf
        self._last_purge = -math.inf
        self.undisposed_closed = 0
        self.commands_sent = 0
        self.attempts_recorded = 0
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._db = asyncio.Lock()
        self._last_refresh = -math.inf
        self._stopped = False
        self._callbacks: list[RecordCallback] = []  # promised callbacks not written yet
        self._promises = asyncio.Lock()
        self._writes: set[asyncio.Future[Any]] = set()  # writes a stop interrupted the wait for
        self._database_down = False
        if outbox is None:
            outbox = Path(tempfile.mkdtemp(prefix="ccenter-dialer-")) / "attempts.jsonl"
        self.outbox: Outbox[RecordAttempt] = Outbox(
            outbox, self._write_attempt, encode=RecordAttempt.to_json, decode=RecordAttempt.from_json,
            key=lambda r: r.ref or f"{r.work_item_id}@{r.started_at.isoformat()}", what="attempt", log=logger)
        if self.outbox.pending:
            logger.info("%d attempt(s) wait in %s for the database", self.outbox.pending, outbox)

    async def start(self) -> None:
        """Subscribe (calls, command results, queue statistics), load the campaigns, start pacing."""
        readers = [
            (topics.calls(self.site), self._on_call),
            (topics.cti_results(self.site), self._on_result),
            (topics.all_queue_stats(self.site), self._on_stats),
        ]
        for pattern, handler in readers:
            subscription = await self.bus.subscribe(pattern, qos=QOS_COMMAND)
            self._subscriptions.append(subscription)
            self._tasks.append(asyncio.create_task(self._read(subscription, handler), name=f"dialer-{pattern}"))
        await self.refresh()
        self._tasks.append(asyncio.create_task(self._run(), name="dialer-run"))
        logger.info("dialer started for site %s: %s", self.site,
                    ", ".join(f"{p.key} ({p.mode.value} into {p.queue})" for p in self.core.plans.values())
                    or "no progressive or predictive campaign yet")

    async def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for subscription in self._subscriptions:
            with contextlib.suppress(BusError):
                await subscription.close()
        self._subscriptions.clear()
        for write in list(self._writes):
            with contextlib.suppress(Exception):
                await write
        self._writes.clear()
        with contextlib.suppress(Exception):  # what is left to write: promised callbacks, decisions
            await self.keep_promises()
            await self.keep_decisions()
        if self._callbacks:
            logger.error("dialer stopped with %d promised callbacks not written: %s", len(self._callbacks),
                         ", ".join(f"{c.number} (call {c.call_id})" for c in self._callbacks))
        logger.info("dialer stopped (%d calls in progress left to the PBX)", self.core.in_progress)

    async def refresh(self) -> None:
        """Read the active progressive and predictive campaigns again; close the answered calls never
        wrapped up within the bound (``no_disposition``)."""
        now = _utc(self.clock())
        campaigns = await self._in_db(lambda s: repository.dialer_campaigns(s, now=now, site=self.site))
        plans = [p for p in (campaign_plan(c) for c in campaigns) if p is not None]
        self.core.set_campaigns(plans)
        await self.close_undisposed()
        if time.monotonic() - self._last_purge >= PURGE_EVERY_S:
            await self.purge_decisions()

    async def purge_decisions(self) -> int:
        """Delete the dial decisions older than the retention period; returns how many."""
        before = _utc(self.clock()) - self.keep_decisions_for
        purged: int = await self._in_db(lambda s: repository.purge_decisions(s, before=before))
        self._last_purge = time.monotonic()
        if purged:
            logger.info("purged %d dial decisions made before %s", purged, before.isoformat())
        return purged
        self._last_refresh = time.monotonic()

    async def close_undisposed(self) -> int:
        """Answered dialer calls with no contact saved within ``no_disposition_after_s``: closed as
        ``no_disposition`` (counted per campaign, never redialled). Returns how many were closed."""
        now, after = _utc(self.clock()), self.no_disposition_after
        closed = await self._in_db(lambda s: repository.close_undisposed(s, now=now, after=after))
        for campaign, work_item_id in closed:
            logger.info("work item %d of %s: answered, no disposition within %s; not redialled",
                        work_item_id, campaign, after)
            counts = self.core.counts.setdefault(campaign, CampaignCounts())
            counts.by_result[repository.NO_DISPOSITION] = counts.by_result.get(repository.NO_DISPOSITION, 0) + 1
        self.undisposed_closed += len(closed)
        return len(closed)

    # -- input -----------------------------------------------------------------------------
    async def _read(self, subscription: Subscription, handler: Callable[[Any], list[Decision]]) -> None:
        async for envelope in subscription:
            try:
                decisions = handler(envelope.message)
                if decisions:
                    await self._carry_out(decisions)
            except BusError as exc:
                logger.warning("dialer: bus error on %s: %s", envelope.topic, exc)
            except Exception:  # a bug must not stop the dialer
                logger.exception("dialer: failed on a message on %s", envelope.topic)

    def _on_call(self, message: Any) -> list[Decision]:
        if not isinstance(message, CallEvent):
            return []
        decisions = self.core.on_call_event(message, self.clock())
        self._wake.set()
        return decisions

    def _on_result(self, message: Any) -> list[Decision]:
        if not isinstance(message, CommandResult) or not (
                message.command_id.startswith("dial:") or message.name == "fallback"):
            return []
        return self.core.on_result(message, self.clock())

    def _on_stats(self, message: Any) -> list[Decision]:
        if isinstance(message, QueueStats):
            self.core.on_stats(message)
            self._wake.set()
        return []

    # -- the loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopped:
            delay = self.interval_s
            due = self.core.next_timer()
            if due is not None:
                delay = min(delay, max(0.0, due - self.clock()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            try:
                await self.step()
                if self._database_down:
                    self._database_down = False
                    logger.info("dialer: the database answers again; dialling resumes")
            except DatabaseUnavailable as exc:
                if not self._database_down:
                    self._database_down = True
                    logger.warning("dialer: %s; no new dials until it answers (attempts are kept in %s)",
                                   str(exc).splitlines()[0], self.outbox.path)
            except BusError as exc:
                logger.warning("dialer: the bus failed: %s", exc)
            except Exception:
                logger.exception("dialer: a pacing step failed")

    async def step(self) -> None:
        """One pacing step: abandonment timers, attempts kept while the database was away, then the calls
        the pacers want (each work item claimed in the database first)."""
        await self._carry_out(self.core.tick(self.clock()))
        if self.outbox.pending:
            async with self._db:
                await asyncio.to_thread(self.outbox.flush)
            if self.outbox.pending:
                raise DatabaseUnavailable(f"{self.outbox.pending} attempt(s) still wait for the database")
        if time.monotonic() - self._last_refresh >= self.refresh_s:
            await self.refresh()
        for campaign, n in self.core.wanted(self.clock()).items():
            plan = self.core.plans[campaign]
            pending = {r.work_item_id for r in self.outbox.records()}
            skip = tuple(sorted(set(self.core.skip(self.clock())) | pending))
            now = _utc(self.clock())
            candidates = await self._in_db(self._candidates(plan.campaign_id, now, n * 3 + 10, skip))
            chosen = [item for item in candidates if self.core.allowed(campaign, item, self.clock())][:n]
            if not chosen:
                continue
            until = now + timedelta(seconds=self.core.claim_s)
            ids = [item.work_item_id for item in chosen]
            claimed = set(await self._in_db(self._claim(ids, now, until)))
            if len(claimed) < len(ids):
                logger.debug("work items %s were claimed by another dialer", sorted(set(ids) - claimed))
            started: list[Decision] = []
            for item in chosen:
                if item.work_item_id in claimed:
                    dial = self.core.dial(campaign, item, self.clock(), checked=True)
                    if dial is not None:
                        started.append(dial)
            await self._carry_out(started)
        await self.keep_decisions()
        if self.messages is not None and time.monotonic() - self._last_messages >= self.messages_every_s:
            self._last_messages = time.monotonic()
            try:
                await self.messages.step()
            except Exception as exc:  # the database or the gateway away: the next round tries again
                logger.warning("dialer: campaign messages not sent this round: %s", exc)

    async def keep_decisions(self) -> None:
        """Write the dial decisions made since the last step (kept in memory while the database is away)."""
        records = self.core.take_decisions()
        if not records:
            return
        write = asyncio.ensure_future(self._in_db(lambda s: repository.record_dial_decisions(s, records)))
        try:
            await asyncio.shield(write)  # a stop while writing lets the write finish (stop() waits for it)
        except asyncio.CancelledError:
            self._writes.add(write)
            raise
        except Exception as exc:
            logger.info("%d dial decisions not written yet (%s); trying again", len(records), type(exc).__name__)
            self.core.decided.extendleft(reversed(records))

    async def _carry_out(self, decisions: list[Decision]) -> None:
        self._callbacks += [d for d in decisions if isinstance(d, RecordCallback)]
        records = [d for d in decisions if isinstance(d, RecordAttempt)]
        for d in decisions:
            if isinstance(d, DialOut):
                logger.info("dial work item %d of %s: %s into %s", d.work_item_id, d.campaign, d.number, d.queue)
                await self._command(d.command_id, "dial_out", None,
                                    {"number": d.number, "queue": d.queue, "data": d.data})
            elif isinstance(d, HangUp):
                await self._command(f"{d.call_id}:dialer-abandoned", "fallback", d.call_id,
                                    {"call_id": d.call_id, "action": "abandoned", "campaign": d.campaign})
        if records:
            async with self._db:
                for record in records:
                    await asyncio.to_thread(self.outbox.save, record)
            self.attempts_recorded += len(records)
        await self.keep_promises()

    async def keep_promises(self) -> None:
        """Write the callbacks promised to callers, each in its own transaction; one that cannot be
        written now (the database busy or away) is kept and tried again at the next step."""
        async with self._promises:
            while self._callbacks:
                promise = self._callbacks[0]
                try:
                    await self._in_db(functools.partial(self._write_callback, promise=promise))
                except Exception as exc:  # kept, never lost: the next step tries again
                    logger.info("call %s: the callback to %s is not written yet (%s); trying again",
                                promise.call_id, promise.number, type(exc).__name__)
                    return
                self._callbacks.pop(0)

    @staticmethod
    def _candidates(
        campaign_id: int, now: datetime, limit: int, skip: tuple[int, ...]
    ) -> Callable[[db.Session], list[DialCandidate]]:
        return lambda s: repository.dial_candidates(s, campaign_id, now=now, limit=limit, skip=skip)

    def _write_callback(self, session: db.Session, *, promise: RecordCallback) -> None:
        r = promise
        try:
            with session.begin_nested():
                item = keep_promise(session, r, region=self.region, site=self.site)
        except CrmError as exc:  # a number that is no number: nobody can call it back
            logger.error("call %s: the callback promised to %s cannot be recorded: %s", r.call_id, r.number, exc)
        else:
            logger.info("call %s: the callback to %s is work item %d", r.call_id, r.number, item)

    @staticmethod
    def _claim(ids: list[int], now: datetime, until: datetime) -> Callable[[db.Session], list[int]]:
        return lambda s: repository.claim_for_dialing(s, ids, now=now, until=until)

    def _write_attempt(self, r: RecordAttempt) -> bool:
        """One attempt in its own transaction (the outbox's write: idempotent on the dial's ref)."""
        with db.answering(), self.sessions() as session, session.begin():
            return repository.record_outbound_attempt(
                session, r.work_item_id, result=r.result, cti_call_id=r.call_id, started_at=r.started_at,
                ended_at=r.ended_at, next_attempt_at=r.next_attempt_at, final=r.final, client_ref=r.ref,
            )

    async def _command(self, command_id: str, name: str, call_id: str | None, args: dict[str, Any]) -> None:
        command = Command(command_id=command_id, name=name, ts=self.clock(), call_id=call_id, args=args)
        await self.bus.publish(topics.cti_commands(self.site), command, qos=QOS_COMMAND)
        self.commands_sent += 1

    async def _in_db(self, work: Callable[[db.Session], Any]) -> Any:
        def run() -> Any:
            with db.answering(), self.sessions() as session, session.begin():
                return work(session)

        async with self._db:
            return await asyncio.to_thread(run)
