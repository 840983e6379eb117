"""Staffing mathematics against published values and against independent brute-force solutions."""

from __future__ import annotations

import math

import pytest

from routing.erlang import (
    agents_required,
    erlang_a_kpis,
    erlang_b,
    erlang_c,
    erlang_c_kpis,
    log_inverse_erlang_b,
)
from routing.errors import RoutingError, StaffingError


def birth_death(agents: int, lam: float, mu: float, theta: float, max_states: int = 4000) -> list[float]:
    """Stationary distribution of M/M/n+M (theta=0: M/M/n) by plain products, normalized."""
    weights = [1.0]
    for k in range(1, max_states):
        death = min(k, agents) * mu + max(k - agents, 0) * theta
        weights.append(weights[-1] * lam / death)
        if k > agents and weights[-1] < 1e-300:
            break
    total = sum(weights)
    return [w / total for w in weights]


def tagged_answered_within(agents: int, mu: float, theta: float, ahead: int, t: float) -> float:
    """P(a caller with ``ahead`` callers before it is answered within t), by uniformization of its chain.

    States m = callers ahead; from m it moves to m-1 (m=0: answered) at rate n mu + m theta and
    abandons at rate theta.
    """
    rates = [agents * mu + m * theta for m in range(ahead + 1)]
    big = max(rates) + theta
    probs = [0.0] * (ahead + 1)
    probs[ahead] = 1.0
    answered = 0.0
    poisson = math.exp(-big * t)
    # Sum over the number of uniformized jumps k; after each jump accumulate the answered mass.
    cumulative = poisson
    k = 0
    while cumulative < 1 - 1e-13 and k < 100_000:
        new = [0.0] * (ahead + 1)
        step_answered = probs[0] * rates[0] / big
        for m in range(ahead + 1):
            stay = 1 - (rates[m] + theta) / big
            new[m] += probs[m] * stay
            if m > 0:
                new[m - 1] += probs[m] * rates[m] / big
        probs = new
        answered_after_k1 = step_answered
        # The answered mass accumulated after k+1 jumps counts if at least k+1 jumps happen by t.
        k += 1
        answered += answered_after_k1 * (1 - cumulative)
        poisson *= big * t / k
        cumulative += poisson
    return answered


def test_erlang_b_textbook_values() -> None:
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)
    assert erlang_b(0, 3.0) == 1.0


def test_erlang_c_textbook_values() -> None:
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho


def test_classic_call_centre_example() -> None:
    """100 calls per 30 minutes, 180 s AHT, 20 s threshold (the Erlang C worked example).

    Published: 10 erlangs; with 14 agents P(wait) = 17.41 %, service level 88.84 %, ASA 7.8 s,
    occupancy 71.4 %; 14 agents are needed for 80 % in 20 s (13 give 79.6 %).
    """
    kpis = erlang_c_kpis(14, 200, 180, 20)
    assert kpis.traffic_erlangs == pytest.approx(10.0)
    assert kpis.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert kpis.service_level == pytest.approx(0.8884, abs=5e-5)
    assert kpis.asa_s == pytest.approx(7.84, abs=0.01)
    assert kpis.occupancy == pytest.approx(0.7143, abs=5e-5)
    assert erlang_c_kpis(13, 200, 180, 20).service_level == pytest.approx(0.7956, abs=5e-5)
    assert agents_required(200, 180, 20, 0.80) == 14


@pytest.mark.parametrize(("agents", "traffic"), [(1, 0.3), (5, 3.7), (20, 17.5), (60, 55.0)])
def test_erlang_c_equals_brute_force_birth_death(agents: int, traffic: float) -> None:
    dist = birth_death(agents, traffic, 1.0, 0.0)
    assert erlang_c(agents, traffic) == pytest.approx(sum(dist[agents:]), rel=1e-9)


def test_erlang_b_and_c_stable_for_thousands_of_agents() -> None:
    # 10,000 agents: factorials would overflow; 1/B would overflow; logs do not.
    assert math.isfinite(log_inverse_erlang_b(10_000, 50.0))
    assert erlang_b(10_000, 50.0) == 0.0  # underflows to 0 honestly
    c = erlang_c(10_000, 9_900.0)
    assert 0.0 < c < 1.0
    kpis = erlang_c_kpis(5_000, 3600 * 25, 180, 20)
    assert 0 < kpis.p_wait < 1e-10
    assert agents_required(3600 * 25, 180, 20, 0.8) == 4513
    # Monotone around the answer.
    assert (
        erlang_c_kpis(4513, 3600 * 25, 180, 20).service_level
        >= 0.8
        > erlang_c_kpis(4512, 3600 * 25, 180, 20).service_level
    )


def test_unstable_erlang_c_is_refused_clearly() -> None:
    with pytest.raises(StaffingError, match=r"unstable queue.*At least 11 agents"):
        erlang_c_kpis(10, 200, 180, 20)
    assert issubclass(StaffingError, RoutingError)


@pytest.mark.parametrize(
    ("agents", "per_hour", "aht", "patience"),
    [(3, 60, 180, 60), (14, 200, 180, 120), (8, 200, 180, 90), (30, 700, 150, 300)],
)
def test_erlang_a_against_birth_death_and_tagged_caller_chain(
    agents: int, per_hour: float, aht: float, patience: float
) -> None:
    lam, mu, theta = per_hour / 3600, 1 / aht, 1 / patience
    dist = birth_death(agents, lam, mu, theta)
    p_wait = sum(dist[agents:])
    queue_mean = sum((k - agents) * p for k, p in enumerate(dist) if k > agents)
    kpis = erlang_a_kpis(agents, per_hour, aht, patience, 20)
    assert kpis.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert kpis.abandon_rate == pytest.approx(theta * queue_mean / lam, rel=1e-7)
    assert kpis.mean_wait_s == pytest.approx(queue_mean / lam, rel=1e-7)
    # Service level: answered at once plus, for each queue length met on arrival, the tagged chain.
    sl = 1 - p_wait
    for ahead in range(0, 200):
        weight = dist[agents + ahead] if agents + ahead < len(dist) else 0.0
        if weight < 1e-15:
            break
        sl += weight * tagged_answered_within(agents, mu, theta, ahead, 20)
    assert kpis.service_level == pytest.approx(sl, abs=1e-7)
    # ASA of answered calls: E[V; answered | j] = n mu/(n mu+(j+1) theta) * sum_m 1/(n mu+m theta)
    waited = sum(
        dist[agents + j]
        * (agents * mu / (agents * mu + (j + 1) * theta))
        * sum(1 / (agents * mu + m * theta) for m in range(1, j + 2))
        for j in range(len(dist) - agents)
    )
    assert kpis.asa_s == pytest.approx(waited / (1 - theta * queue_mean / lam), rel=1e-7)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c = erlang_c_kpis(14, 200, 180, 20)
    previous_gap = math.inf
    for patience in (1e3, 1e5, 1e7, 1e9):
        a = erlang_a_kpis(14, 200, 180, patience, 20)
        gap = abs(a.p_wait - c.p_wait) + abs(a.service_level - c.service_level) + abs(a.asa_s - c.asa_s)
        assert gap < previous_gap
        previous_gap = gap
        assert a.abandon_rate is not None and a.abandon_rate < 10 / patience
    assert previous_gap < 1e-5


def test_erlang_a_is_stable_in_overload_and_for_large_centres() -> None:
    overloaded = erlang_a_kpis(5, 200, 180, 120, 20)  # 10 erlangs on 5 agents: callers abandon
    assert overloaded.abandon_rate is not None
    # Carried traffic cannot exceed the agents: at least half the calls must abandon.
    assert overloaded.abandon_rate >= 0.5
    assert overloaded.occupancy <= 1.0
    big = erlang_a_kpis(3_915, 3600 * 25, 180, 120, 20)
    assert big.abandon_rate is not None
    # Fluid limit: lambda - n mu = 3.25 calls/s must abandon, i.e. 13 % of 25 calls/s.
    assert big.abandon_rate == pytest.approx(0.13, abs=0.01)
    assert 0 < big.service_level < 0.87


def test_agents_required_with_patience_is_minimal() -> None:
    n = agents_required(200, 180, 20, 0.8, patience_s=120)
    assert erlang_a_kpis(n, 200, 180, 120, 20).service_level >= 0.8
    assert erlang_a_kpis(n - 1, 200, 180, 120, 20).service_level < 0.8


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang_c_kpis(5, -1, 180), "arrivals per hour"),
        (lambda: erlang_c_kpis(5, 10, 0), "handle time"),
        (lambda: erlang_a_kpis(5, 10, 180, 0), "patience"),
        (lambda: agents_required(10, 180, 20, 1.5), "target service level"),
        (lambda: erlang_c_kpis(5, 10, 180, -3), "service-level threshold"),
    ],
)
def test_bad_inputs_are_named(call: object, message: str) -> None:
    with pytest.raises(StaffingError, match=message):
        call()  # type: ignore[operator]
