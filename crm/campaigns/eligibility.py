"""May this work item be worked now? One pure function for every channel that asks.

:func:`decide` answers for the dialer (progressive and predictive), the agents' outbound preview and
the campaign offers shown when a customer calls in, from the work item and its customer's history
(:class:`WorkItemState`), the customer's time zone, the campaign's :class:`~crm.campaigns.rules.CampaignRules`,
the do-not-call list (:mod:`crm.dnc`), the customer's consent (:mod:`crm.consent`) and ``now``.
It returns a :class:`Decision`: eligible or not, the :class:`Rule` that decided, a sentence saying
why, and when the item may become eligible again.

The rules, in the order they are checked:

========================  ==========================================================  ========  =======
rule                      refuses when                                                outbound  inbound
========================  ==========================================================  ========  =======
``finished``              the work item has a final result                            yes       yes
``no_phone``              there is no number to call                                  yes       no
``do_not_call``           the number is on the active do-not-call list                calls     no
``consent``               the customer refused marketing on the item's channel        yes       yes
                          (or on ``all``); or gave no consent on a channel the
                          campaign's ``rules.consent_required`` names
``max_attempts``          attempts reached ``rules.max_attempts`` (default 3);        yes       yes
                          a callback an agent promised is exempt
``retry``                 before the scheduled time (``next_attempt_at``), else       yes       no
                          before the last attempt + ``rules.retry`` for its outcome
``frequency_cap``         the customer was reached ``contacts`` times in ``days``;    yes       no
                          a promised callback is exempt
``calling_hours``         outside ``schedule.hours`` in the customer's own time zone  yes       no
                          (zoneinfo: daylight-saving changes honoured; an unknown
                          zone is outside, we never call at an hour we cannot know)
========================  ==========================================================  ========  =======

*Outbound* is a contact we start (the dialer, an agent's preview, a message); *inbound* is an offer
made while the customer is on a call they started, so the rules about reaching the customer do not
apply. The do-not-call list is a list of numbers not to *call*: it holds for the ``outbound_call``
channel (dialer and preview); what a customer may be sent (``sms``) is decided by their consent.

Pure: no database, no I/O, time passed in as a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import CrmError, InvalidData
from .rules import ALL_DAYS, CampaignRules


class UnknownTimeZone(CrmError):
    """A time zone that zoneinfo does not know."""


class Rule(StrEnum):
    """The rule that made a decision."""

    ELIGIBLE = "eligible"
    FINISHED = "finished"
    NO_PHONE = "no_phone"
    DO_NOT_CALL = "do_not_call"
    MAX_ATTEMPTS = "max_attempts"
    RETRY = "retry"
    FREQUENCY_CAP = "frequency_cap"
    CALLING_HOURS = "calling_hours"
    CONSENT = "consent"


class ConsentState(StrEnum):
    """What the customer said about marketing on a work item's channel (their newest record)."""

    GRANTED = "granted"
    REFUSED = "refused"
    UNKNOWN = "unknown"  # nothing on record


@dataclass(frozen=True, slots=True)
class WorkItemState:
    """What the rules need to know about a work item and its customer's history."""

    work_item_id: int
    phone: str | None
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_result: str | None = None  # the outcome of the last attempt (busy, no_answer, ...)
    contacts: Sequence[datetime] = ()  # when the customer was reached (any campaign)
    final: bool = False  # a result that ends the work item (sale, refusal, wrong number...)
    next_attempt_at: datetime | None = None  # when it was scheduled (a retry, a skip, a callback)
    promised_callback: bool = False  # an agent promised the customer this call
    channel: str = "outbound_call"  # the campaign channel of the work item
    consent: ConsentState = ConsentState.UNKNOWN  # the customer's consent on that channel


@dataclass(frozen=True, slots=True)
class Decision:
    eligible: bool
    rule: Rule
    reason: str
    retry_at: datetime | None = None  # when it may become eligible again (None: never, or unknown)


_ELIGIBLE = Decision(True, Rule.ELIGIBLE, "eligible")
_ALWAYS = (time(0), time.max)


def decide(
    item: WorkItemState,
    time_zone: str,
    rules: CampaignRules,
    now: datetime,
    *,
    do_not_call: bool = False,
    inbound: bool = False,
) -> Decision:
    """May ``item`` be worked at ``now`` (an aware datetime)? ``inbound``: offered on the customer's own
    call rather than called; ``do_not_call``: the item's number is on the active do-not-call list."""
    if now.tzinfo is None:
        raise InvalidData("eligibility needs an aware 'now' (with a time zone)")
    if item.final:
        return Decision(False, Rule.FINISHED, "the work item is finished")
    if not inbound:
        if not item.phone:
            return Decision(False, Rule.NO_PHONE, "no phone number")
        if do_not_call and item.channel == "outbound_call":
            return Decision(False, Rule.DO_NOT_CALL, "the number is on the do-not-call list")
    if item.consent is ConsentState.REFUSED:
        return Decision(False, Rule.CONSENT, f"the customer refused marketing by {item.channel.replace('_', ' ')}")
    if item.consent is not ConsentState.GRANTED and item.channel in rules.consent_required:
        return Decision(False, Rule.CONSENT, f"no consent on record for {item.channel.replace('_', ' ')} "
                                             "(the campaign requires it)")
    if item.attempts >= rules.max_attempts and not item.promised_callback:
        return Decision(False, Rule.MAX_ATTEMPTS, f"maximum attempts reached ({rules.max_attempts})")
    if inbound:
        return _ELIGIBLE
    if item.next_attempt_at is not None:
        if now < item.next_attempt_at:
            return Decision(False, Rule.RETRY, "scheduled for later", item.next_attempt_at)
    elif item.last_attempt_at is not None:
        retry_at = item.last_attempt_at + timedelta(seconds=rules.retry_delay(item.last_result))
        if now < retry_at:
            return Decision(False, Rule.RETRY, f"retry delay after {item.last_result or 'the last attempt'}",
                            retry_at)
    if rules.frequency_cap is not None and not item.promised_callback:
        contacts, days = rules.frequency_cap
        window = sorted(c for c in item.contacts if now - c < timedelta(days=days))
        if len(window) >= contacts:
            retry_at = window[len(window) - contacts] + timedelta(days=days)
            return Decision(False, Rule.FREQUENCY_CAP, f"frequency cap: {contacts} contacts in {days} days",
                            retry_at)
    try:
        ok, next_open = calling_hours_open(time_zone, rules, now)
    except UnknownTimeZone as exc:
        return Decision(False, Rule.CALLING_HOURS, f"{exc}: the customer's local time is unknown")
    if not ok:
        return Decision(False, Rule.CALLING_HOURS, "outside the customer's local calling hours", next_open)
    return _ELIGIBLE


def calling_hours_open(time_zone: str, rules: CampaignRules, now: datetime) -> tuple[bool, datetime | None]:
    """Whether ``now`` is inside the calling hours in ``time_zone``; if not, when they next open (UTC).
    Raises :class:`UnknownTimeZone`; hours without a limit (every day, 00:00 to 24:00) need no zone."""
    if rules.calling_hours == _ALWAYS and rules.calling_days == ALL_DAYS:
        return True, None
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"unknown time zone {time_zone!r}") from None
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
