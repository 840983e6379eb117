"""Dialer pacing, proven in a seeded simulation (eligibility is tested in tests/crm/test_eligibility.py)."""

from __future__ import annotations

import heapq
import random

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
