"""The one eligibility function (dialer, preview, inbound offers) and the campaign rules model, pure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from crm.campaigns.eligibility import Rule, UnknownTimeZone, WorkItemState, calling_hours_open, decide
from crm.campaigns.rules import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_S,
    CampaignRules,
    FrequencyCap,
    InvalidRules,
    Problems,
    build,
    check_hours,
    check_rules,
    read_rules,
)
from crm.errors import InvalidData

RULES = CampaignRules(calling_hours=(time(9), time(20)), max_attempts=3, frequency_cap=FrequencyCap(2, 7))


def item(**kw) -> WorkItemState:  # type: ignore[no-untyped-def]
    return WorkItemState(work_item_id=1, phone="+14155550100", **kw)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_do_not_call_is_refused_whatever_else() -> None:
    verdict = decide(item(), "America/New_York", RULES, utc(2025, 3, 4, 15), do_not_call=True)
    assert not verdict.eligible and verdict.rule is Rule.DO_NOT_CALL and "do-not-call" in verdict.reason


@pytest.mark.parametrize(
    ("zone", "now", "eligible"),
    [
        ("America/New_York", utc(2025, 3, 4, 14), True),  # 09:00 EST
        ("America/New_York", utc(2025, 3, 4, 13, 59), False),  # 08:59 EST
        ("America/Los_Angeles", utc(2025, 3, 4, 14), False),  # 06:00 PST, same instant
        ("Asia/Shanghai", utc(2025, 3, 4, 11, 59), True),  # 19:59 CST
        ("Asia/Shanghai", utc(2025, 3, 4, 12), False),  # 20:00: the end is excluded
        # DST in the US began on 9 March 2025: 09:00 local is 14:00 UTC before, 13:00 UTC after.
        ("America/New_York", utc(2025, 3, 10, 13), True),
        ("America/New_York", utc(2025, 3, 7, 13), False),
        # ... and ended on 2 November 2025.
        ("America/New_York", utc(2025, 11, 3, 13), False),
        ("America/New_York", utc(2025, 11, 3, 14), True),
    ],
)
def test_local_calling_hours_across_time_zones_and_dst(zone: str, now: datetime, eligible: bool) -> None:
    assert decide(item(), zone, RULES, now).eligible is eligible


def test_closed_hours_say_when_they_open_even_on_a_dst_day() -> None:
    # Saturday 8 March 2025, 21:00 in New York (EST); the next opening is Sunday 9 March 09:00 EDT = 13:00 UTC.
    ok, opens = calling_hours_open("America/New_York", RULES, utc(2025, 3, 9, 2))
    assert not ok and opens == utc(2025, 3, 9, 13)
    # Calling hours that start at 02:30 on the day that skips 02:00-03:00 open at 03:30 EDT (07:30 UTC).
    early = CampaignRules(calling_hours=(time(2, 30), time(4)))
    ok, opens = calling_hours_open("America/New_York", early, utc(2025, 3, 9, 6))
    assert not ok and opens == utc(2025, 3, 9, 7, 30)
    with pytest.raises(UnknownTimeZone, match="unknown time zone"):
        calling_hours_open("Mars/Olympus", RULES, utc(2025, 1, 1))


def test_attempts_retry_delay_and_frequency_cap() -> None:
    now = utc(2025, 3, 4, 15)
    assert "maximum attempts" in decide(item(attempts=3), "UTC", RULES, now).reason
    busy = decide(item(attempts=1, last_attempt_at=now - timedelta(minutes=10), last_result="busy"), "UTC",
                       RULES, now)  # fmt: skip
    assert not busy.eligible and busy.retry_at == now + timedelta(minutes=5)
    assert decide(item(attempts=1, last_attempt_at=now - timedelta(minutes=20), last_result="busy"), "UTC",
                       RULES, now).eligible  # fmt: skip
    capped = decide(item(contacts=(now - timedelta(days=1), now - timedelta(days=3))), "UTC", RULES, now)
    assert not capped.eligible and capped.retry_at == now + timedelta(days=4)
    assert decide(item(contacts=(now - timedelta(days=1), now - timedelta(days=8))), "UTC", RULES, now).eligible
    assert not decide(item(final=True), "UTC", RULES, now).eligible




def test_one_default_for_max_attempts() -> None:
    now = utc(2025, 3, 4, 15)
    assert DEFAULT_MAX_ATTEMPTS == 3 == CampaignRules().max_attempts == read_rules({}, {}).max_attempts
    assert decide(item(attempts=2), "UTC", CampaignRules(), now).eligible
    third = decide(item(attempts=3), "UTC", read_rules({"retry": {"busy": 60}}, None), now)
    assert (third.eligible, third.rule, third.reason) == (False, Rule.MAX_ATTEMPTS, "maximum attempts reached (3)")


def test_every_refusal_names_its_rule() -> None:
    now = utc(2025, 3, 4, 15)
    cases = [
        (item(final=True), {}, Rule.FINISHED),
        (WorkItemState(work_item_id=1, phone=None), {}, Rule.NO_PHONE),
        (item(), {"do_not_call": True}, Rule.DO_NOT_CALL),
        (item(attempts=3), {}, Rule.MAX_ATTEMPTS),
        (item(attempts=1, last_attempt_at=now, last_result="no_answer"), {}, Rule.RETRY),
        (item(next_attempt_at=now + timedelta(minutes=1)), {}, Rule.RETRY),
        (item(contacts=(now - timedelta(days=1), now - timedelta(days=2))), {}, Rule.FREQUENCY_CAP),
        (item(), {"zone": "Asia/Tokyo"}, Rule.CALLING_HOURS),  # midnight in Tokyo
        (item(), {}, Rule.ELIGIBLE),
    ]
    for state, options, rule in cases:
        zone = str(options.pop("zone", "UTC"))
        decision = decide(state, zone, RULES, now, **options)  # type: ignore[arg-type]
        assert (decision.rule, decision.eligible) == (rule, rule is Rule.ELIGIBLE), (state, rule)


def test_inbound_offers_obey_only_the_rules_about_the_work_item() -> None:
    now = utc(2025, 3, 4, 15)
    tokyo_midnight = decide(item(), "Asia/Tokyo", RULES, now)
    assert tokyo_midnight.rule is Rule.CALLING_HOURS
    # The customer called us: calling hours, do-not-call, retry delays and the frequency cap are about calling them.
    reached_twice = item(contacts=(now - timedelta(days=1), now - timedelta(days=2)),
                         next_attempt_at=now + timedelta(hours=1))
    assert decide(reached_twice, "Asia/Tokyo", RULES, now, do_not_call=True, inbound=True).eligible
    assert decide(WorkItemState(work_item_id=1, phone=None), "UTC", RULES, now, inbound=True).eligible
    # What the campaign allows of the work item holds on every channel.
    assert decide(item(attempts=3), "UTC", RULES, now, inbound=True).rule is Rule.MAX_ATTEMPTS
    assert decide(item(final=True), "UTC", RULES, now, inbound=True).rule is Rule.FINISHED


def test_a_promised_callback_is_not_held_by_attempts_or_the_cap_but_by_the_law_and_the_clock() -> None:
    now = utc(2025, 3, 4, 15)
    promised = item(attempts=5, contacts=(now - timedelta(days=1), now - timedelta(days=2)), promised_callback=True)
    assert decide(promised, "UTC", RULES, now).eligible
    assert decide(promised, "UTC", RULES, now, do_not_call=True).rule is Rule.DO_NOT_CALL
    assert decide(promised, "Asia/Tokyo", RULES, now).rule is Rule.CALLING_HOURS


def test_the_scheduled_time_wins_over_the_retry_delay() -> None:
    now = utc(2025, 3, 4, 15)
    busy_now = {"attempts": 1, "last_attempt_at": now - timedelta(minutes=1), "last_result": "busy"}
    assert decide(item(**busy_now), "UTC", RULES, now).retry_at == now + timedelta(minutes=14)
    # An agent promised a call in five minutes: the schedule decides, not the busy delay.
    early = decide(item(**busy_now, next_attempt_at=now + timedelta(minutes=5)), "UTC", RULES, now)
    assert (early.rule, early.retry_at) == (Rule.RETRY, now + timedelta(minutes=5))
    assert decide(item(**busy_now, next_attempt_at=now), "UTC", RULES, now).eligible


def test_hours_without_a_limit_need_no_time_zone_and_an_unknown_zone_is_outside_hours() -> None:
    now = utc(2025, 3, 4, 15)
    assert decide(item(), "Mars/Olympus", CampaignRules(), now).eligible
    unknown = decide(item(), "Mars/Olympus", RULES, now)
    assert (unknown.eligible, unknown.rule, unknown.retry_at) == (False, Rule.CALLING_HOURS, None)
    assert "unknown time zone 'Mars/Olympus'" in unknown.reason
    with pytest.raises(InvalidData, match="aware"):
        decide(item(), "UTC", RULES, datetime(2025, 3, 4, 15))


def test_stored_rules_read_back_into_the_typed_model() -> None:
    problems = Problems()
    stored_rules = check_rules({"max_attempts": 4, "retry": {"busy": "15m", "no_answer": "2h"},
                                "frequency_cap": {"contacts": 2, "days": 7}, "abandon_target": 0.05,
                                "queue": " sales ", "priority": 5, "abandon_after_s": "3s",
                                "dispositions": ["sale", "no_sale"]}, problems)
    stored_hours = check_hours({"start": "09:00", "end": "24:00", "days": ["mon", "fri"]}, problems)
    assert problems.items == []
    rules = read_rules(stored_rules, stored_hours)
    assert rules == CampaignRules(
        max_attempts=4, retry_s={"busy": 900.0, "no_answer": 7200.0}, frequency_cap=FrequencyCap(2, 7),
        abandon_target=0.05, abandon_after_s=3.0, queue="sales", priority=5, dispositions=("sale", "no_sale"),
        calling_hours=(time(9), time.max), calling_days=frozenset({0, 4}),
    )
    assert read_rules(stored_rules, stored_hours) == build(stored_rules, stored_hours)
    # Outcomes the plan does not name keep the product's defaults; unknown outcomes the plan's default.
    assert (rules.retry_delay("busy"), rules.retry_delay("failed"), rules.retry_delay("skipped")) == (
        900.0, DEFAULT_RETRY_S["failed"], 3600.0)


def test_stored_rules_that_break_the_format_are_refused_with_every_key_named() -> None:
    with pytest.raises(InvalidRules) as caught:
        read_rules({"max_attempts": "3", "dispositions": "sale", "speed": 1}, {"start": "25:00"})
    assert str(caught.value) == (
        "rules.speed: unknown key; expected one of max_attempts, retry, frequency_cap, abandon_target, queue, "
        "abandon_after_s, priority, default_retry_s, dispositions, consent_required; "
        "rules.max_attempts: must be a whole number >= 1; "
        'rules.dispositions: must be a non-empty list of disposition codes, such as ["sale", "no_sale"]; '
        'schedule.hours.start: must be a time of day "HH:MM" (00:00 to 24:00)'
    )


def test_consent_decides_the_channels_on_every_path() -> None:
    from crm.campaigns.eligibility import ConsentState

    now = utc(2025, 3, 4, 15)
    opt_in_sms = CampaignRules(consent_required=frozenset({"sms"}))
    refused = item(consent=ConsentState.REFUSED)
    verdict = decide(refused, "UTC", RULES, now)
    assert (verdict.eligible, verdict.rule, verdict.reason) == (False, Rule.CONSENT,
                                                                "the customer refused marketing by outbound call")
    # a refusal holds on the customer's own call too (for the inbound-offer channel it was read for)
    offered = item(channel="inbound_offer", consent=ConsentState.REFUSED)
    assert decide(offered, "UTC", RULES, now, inbound=True).rule is Rule.CONSENT
    assert decide(item(channel="inbound_offer"), "UTC", RULES, now, inbound=True).eligible
    # opt-in: nothing on record is no consent on the channels the campaign names, and only there
    sms = item(channel="sms")
    assert decide(sms, "UTC", opt_in_sms, now).reason == "no consent on record for sms (the campaign requires it)"
    assert decide(item(channel="sms", consent=ConsentState.GRANTED), "UTC", opt_in_sms, now).eligible
    assert decide(item(), "UTC", opt_in_sms, now).eligible
    # a promised callback does not override a refusal
    assert decide(item(promised_callback=True, consent=ConsentState.REFUSED), "UTC", RULES, now).rule is Rule.CONSENT


def test_the_do_not_call_list_holds_for_calls_not_for_messages() -> None:
    now = utc(2025, 3, 4, 15)
    assert decide(item(), "UTC", RULES, now, do_not_call=True).rule is Rule.DO_NOT_CALL
    assert decide(item(channel="sms"), "UTC", RULES, now, do_not_call=True).eligible


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("09:00-20:00", {"start": "09:00", "end": "20:00"}),
        (" 9:30 – 18:00 ", {"start": "09:30", "end": "18:00"}),
        ("０９：００～２０：００", {"start": "09:00", "end": "20:00"}),
        ("09:00至21:00", {"start": "09:00", "end": "21:00"}),
        ("08:00 to 24:00", {"start": "08:00", "end": "24:00"}),
        ({"start": "09:00", "end": "20:00", "days": ["mon", "fri"]},
         {"start": "09:00", "end": "20:00", "days": [0, 4]}),
    ],
)
def test_calling_hours_as_text_or_object(hours: object, expected: dict[str, object]) -> None:
    problems = Problems()
    assert check_hours(hours, problems) == expected and problems.items == []
    hours_, minutes = str(expected["start"]).split(":")
    assert read_rules({}, expected).calling_hours[0] == time(int(hours_), int(minutes))


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("9 to 5", "schedule.hours: '9 to 5' is not calling hours such as \"09:00-20:00\""),
        ("20:00-09:00", "schedule.hours: start 20:00 must be before end 09:00"),
        ("09:00-25:00", "schedule.hours.end: must be a time of day"),
        ({"start": "09:00", "until": "20:00"}, "schedule.hours.until: unknown key; expected start, end, days"),
        (9, 'schedule.hours: must be "09:00-20:00" or an object'),
    ],
)
def test_bad_calling_hours_are_named_with_their_path(hours: object, message: str) -> None:
    problems = Problems()
    check_hours(hours, problems)
    assert any(p.startswith(message) for p in problems.items), problems.items


def test_consent_required_names_channels() -> None:
    problems = Problems()
    assert check_rules({"consent_required": ["sms", "sms"]}, problems) == {"consent_required": ["sms"]}
    check_rules({"consent_required": ["fax"], "frequency_cap": {"contacts": 2, "days": 30, "per": "x"}}, problems)
    assert problems.items == [
        "rules.frequency_cap.per: unknown key; expected contacts, days",
        "rules.consent_required: must be a list of channels (outbound_call, inbound_offer, sms, email) offered "
        "only with consent",
    ]
