"""Dialer pacing, proven in a seeded simulation (eligibility is tested in tests/crm/test_eligibility.py)."""

from __future__ import annotations

import heapq
import math
import random

import pytest

from routing.dialer import DialMode, Pacer


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


def test_agents_near_the_end_of_a_known_handle_time_are_expected_free() -> None:
    """Once handle times are known, how long an agent has been busy says whether it will be free when the
    calls dialled now are answered: every call took 100 s, so an agent busy for 90 s is free within the
    17 s window and one busy for 10 s is not; before that, the exponential law says the same for both."""
    pacer = Pacer(DialMode.PREDICTIVE, ring_s=15.0, grace_s=2.0, handle_s=100.0)
    assert pacer.free_within(90.0, 17.0) == pacer.free_within(10.0, 17.0) == pytest.approx(1 - math.exp(-0.17))
    for _ in range(pacer.min_handle_samples):
        pacer.handled(100.0)
    assert pacer.free_within(90.0, 17.0) == 1.0 and pacer.free_within(10.0, 17.0) == 0.0
    # So ten agents about to finish are worth dialling for, ten who just began are not (beyond a few).
    ending = pacer.calls_to_dial(0, busy_for=[90.0] * 10)
    starting = pacer.calls_to_dial(0, busy_for=[10.0] * 10)
    assert starting == 0 and ending >= 10


def test_the_threshold_learns_toward_the_aimed_share_of_the_cap() -> None:
    """Each abandoned call lowers the chance of abandonment the pacer accepts, each call an agent took
    raises it a little: at the aimed rate (95 % of the cap) it stays where it is."""
    pacer = Pacer(DialMode.PREDICTIVE, abandon_target=0.03)
    start = pacer.threshold
    assert start == pytest.approx(2 * 0.95 * 0.03)
    pacer.dialled(2)
    pacer.connected(abandoned=True)
    assert pacer.threshold < start
    lowered = pacer.threshold
    pacer.connected(abandoned=False)
    assert lowered < pacer.threshold < start


def test_agents_busy_for_an_unknown_time_are_met_at_a_random_moment_of_their_call() -> None:
    """Given only how many agents are busy, each is met at a random moment of its call: with every call
    100 s long, one in a 17 s window is free within it with chance 17/100 (not 0, as a fresh call would)."""
    pacer = Pacer(DialMode.PREDICTIVE, handle_s=100.0)
    for _ in range(pacer.min_handle_samples):
        pacer.handled(100.0)
    assert pacer.free_within(None, 17.0) == pytest.approx(0.17)
    assert pacer.calls_to_dial(0, busy_agents=10) == pacer.calls_to_dial(0, busy_for=[None] * 10)


def test_a_run_of_abandoned_calls_tightens_the_threshold_at_once() -> None:
    """Beyond the abandoned calls the aim allows in the window, each one more tightens the pacer at once
    (the guard), without waiting for the slow learning."""
    pacer = Pacer(DialMode.PREDICTIVE, abandon_target=0.03)
    pacer.dialled(340)
    for _ in range(233):
        pacer.no_connect()
    for _ in range(97):
        pacer.connected(abandoned=False)
    assert pacer.guard() == 0.0, "within the aim (2.85 of 97 connects)"
    for _ in range(10):
        pacer.connected(abandoned=True)
    assert pacer.guard() == pytest.approx(0.1 * (10 - 0.95 * 0.03 * 107))
    busy = [30.0] * 20
    tight = pacer.calls_to_dial(5, busy_for=busy)
    pacer.guard_gain = 0.0
    assert 5 <= tight < pacer.calls_to_dial(5, busy_for=busy)
