"""Dialer eligibility rules (pure functions) and pacing, proven in a seeded simulation."""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, time, timedelta

import pytest

from routing.dialer import CampaignRules, DialMode, Pacer, WorkItemView, eligibility, in_calling_hours
from routing.errors import RoutingError

RULES = CampaignRules(calling_hours=(time(9), time(20)), max_attempts=3, frequency_cap=(2, 7))


def item(**kw) -> WorkItemView:  # type: ignore[no-untyped-def]
    return WorkItemView(work_item_id=1, phone="+14155550100", **kw)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_do_not_call_is_refused_whatever_else() -> None:
    verdict = eligibility(item(), "America/New_York", RULES, utc(2025, 3, 4, 15), {"+14155550100"})
    assert not verdict.eligible and "do-not-call" in verdict.reason


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
    assert eligibility(item(), zone, RULES, now).eligible is eligible


def test_closed_hours_say_when_they_open_even_on_a_dst_day() -> None:
    # Saturday 8 March 2025, 21:00 in New York (EST); the next opening is Sunday 9 March 09:00 EDT = 13:00 UTC.
    ok, opens = in_calling_hours("America/New_York", RULES, utc(2025, 3, 9, 2))
    assert not ok and opens == utc(2025, 3, 9, 13)
    # Calling hours that start at 02:30 on the day that skips 02:00-03:00 open at 03:30 EDT (07:30 UTC).
    early = CampaignRules(calling_hours=(time(2, 30), time(4)))
    ok, opens = in_calling_hours("America/New_York", early, utc(2025, 3, 9, 6))
    assert not ok and opens == utc(2025, 3, 9, 7, 30)
    with pytest.raises(RoutingError, match="unknown time zone"):
        in_calling_hours("Mars/Olympus", RULES, utc(2025, 1, 1))


def test_attempts_retry_delay_and_frequency_cap() -> None:
    now = utc(2025, 3, 4, 15)
    assert "maximum attempts" in eligibility(item(attempts=3), "UTC", RULES, now).reason
    busy = eligibility(item(attempts=1, last_attempt_at=now - timedelta(minutes=10), last_result="busy"), "UTC",
                       RULES, now)  # fmt: skip
    assert not busy.eligible and busy.retry_at == now + timedelta(minutes=5)
    assert eligibility(item(attempts=1, last_attempt_at=now - timedelta(minutes=20), last_result="busy"), "UTC",
                       RULES, now).eligible  # fmt: skip
    capped = eligibility(item(contacts=(now - timedelta(days=1), now - timedelta(days=3))), "UTC", RULES, now)
    assert not capped.eligible and capped.retry_at == now + timedelta(days=4)
    assert eligibility(item(contacts=(now - timedelta(days=1), now - timedelta(days=8))), "UTC", RULES, now).eligible
    assert not eligibility(item(final=True), "UTC", RULES, now).eligible


def simulate_dialer(mode: DialMode, *, agents: int = 20, hours: float = 8.0, seed: int = 7) -> dict[str, float]:
    """Agents, a dialer and a callee population: 30 % answer after 5-25 s, talk ~2 min (exponential).

    A callee who answers when no agent is free is abandoned at once (the strictest definition).
    """
    rng = random.Random(seed)
    pacer = Pacer(mode, abandon_target=0.03)
    free = agents
    events: list[tuple[float, int, str]] = []
    seq = 0
    connects = abandons = 0
    now = 0.0
    while now < hours * 3600:
        for _ in range(pacer.calls_to_dial(free)):
            pacer.dialled()
            seq += 1
            heapq.heappush(events, (now + rng.uniform(5, 25), seq, "answer" if rng.random() < 0.3 else "none"))
        now, _, kind = heapq.heappop(events)
        if kind == "none":
            pacer.no_connect()
        elif kind == "answer":
            connects += 1
            if free > 0:
                free -= 1
                pacer.connected(abandoned=False)
                seq += 1
                heapq.heappush(events, (now + rng.expovariate(1 / 120), seq, "hangup"))
            else:
                abandons += 1
                pacer.connected(abandoned=True)
        else:
            free += 1
    return {
        "abandon_rate": abandons / connects,
        "talks_per_agent_hour": (connects - abandons) / agents / hours,
        "max_window_rate": pacer.abandon_rate(),
    }


def test_predictive_pacing_keeps_abandonment_under_the_target_and_beats_progressive() -> None:
    progressive = simulate_dialer(DialMode.PROGRESSIVE)
    predictive = simulate_dialer(DialMode.PREDICTIVE)
    assert progressive["abandon_rate"] == 0.0
    assert 0.0 < predictive["abandon_rate"] <= 0.03
    assert predictive["talks_per_agent_hour"] > 1.1 * progressive["talks_per_agent_hour"]


def test_preview_dials_nothing_by_itself() -> None:
    pacer = Pacer(DialMode.PREVIEW)
    assert pacer.calls_to_dial(10) == 0 and pacer.preview([42, 43]) == 42 and pacer.preview([]) is None
