"""Staffing mathematics: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M, Palm's queue).

Everything is computed in the log domain, without factorials or powers, so that thousands (or
hundreds of thousands) of agents neither overflow nor underflow:

* Erlang B uses the recurrence of its inverse, ``1/B(n) = 1 + (n/A) / B(n-1)``, kept as a logarithm.
* Erlang C follows from Erlang B: ``C = 1 / (rho + (1 - rho) / B)``.
* Erlang A uses the Mandelbaum–Zeltyn formulation. With ``x = n mu / theta`` and ``y = lambda /
  theta`` (``theta`` = 1 / mean patience) the stationary mass of the states where callers wait,
  relative to the state "all agents busy, nobody waiting", is the series
  ``S(x, y) = sum_j y^j / ((x+1)...(x+j))`` (which is ``x e^y y^-x gamma(x, y)`` with the lower
  incomplete gamma function). The offered-wait distribution is
  ``P(V > t) = pi_n x e^y y^-x gamma(x, y e^(-theta t))``; service level, abandonment and the
  mean wait of answered calls follow from it in closed form or as one more series. Series are
  summed in the log domain around their peak term.

Definitions used throughout (and by the simulator, so that the two can be compared):

* ``p_wait``: probability that an arriving call is not answered at once.
* ``asa_s``: mean wait of the calls that are answered (for Erlang C: of all calls).
* ``service_level``: fraction of *offered* calls answered within ``sl_seconds`` (an abandoned call
  counts against it).
* ``abandon_rate``: fraction of offered calls that abandon.
* ``occupancy``: fraction of agent time spent on calls: carried traffic / agents.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import StaffingError

logger = logging.getLogger(__name__)

#: A series term smaller than this, relative to the largest, no longer changes the sum.
_EPS = 1e-18
#: Bound on series length: beyond this a patience is so long that the model is Erlang C.
_MAX_TERMS = 20_000_000


@dataclass(frozen=True, slots=True)
class QueueKpis:
    """Steady-state key figures of one queue staffed with ``agents`` agents."""

    traffic_erlangs: float
    agents: int
    p_wait: float
    asa_s: float
    service_level: float
    occupancy: float
    abandon_rate: float | None = None
    mean_wait_s: float | None = None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "traffic_erlangs": self.traffic_erlangs,
            "agents": self.agents,
            "p_wait": self.p_wait,
            "asa_s": self.asa_s,
            "service_level": self.service_level,
            "occupancy": self.occupancy,
            "abandon_rate": self.abandon_rate,
            "mean_wait_s": self.mean_wait_s,
        }


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    if a < b:
        a, b = b, a
    return a + math.log1p(math.exp(b - a))


def _log_inverse_erlang_b_steps(traffic: float, start_n: int = 0, start_log: float = 0.0) -> Iterator[float]:
    """Yield ``log(1/B(n, A))`` for n = start_n + 1, start_n + 2, ... (``1/B(0) = 1``)."""
    log_inv = start_log
    n = start_n
    log_a = math.log(traffic)
    while True:
        n += 1
        log_inv = _logaddexp(0.0, math.log(n) - log_a + log_inv)
        yield log_inv


def log_inverse_erlang_b(agents: int, traffic: float) -> float:
    """``log(1 / B(agents, traffic))``: finite for any size, where B itself would underflow."""
    _check_positive_traffic(traffic)
    if agents < 0:
        raise StaffingError(f"agents must be at least 0, got {agents}")
    if agents == 0:
        return 0.0
    steps = _log_inverse_erlang_b_steps(traffic)
    value = 0.0
    for _ in range(agents):
        value = next(steps)
    return value


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of an M/M/n/n loss system with ``traffic`` erlangs offered."""
    return math.exp(-log_inverse_erlang_b(agents, traffic))


def _log_erlang_c_from_inverse_b(log_inv_b: float, agents: int, traffic: float) -> float:
    rho = traffic / agents
    return -_logaddexp(math.log(rho), math.log1p(-rho) + log_inv_b)


def erlang_c(agents: int, traffic: float) -> float:
    """Probability of waiting in an M/M/n queue; needs ``traffic < agents`` (a stable queue)."""
    _check_stable(agents, traffic)
    return math.exp(_log_erlang_c_from_inverse_b(log_inverse_erlang_b(agents, traffic), agents, traffic))


def _check_positive_traffic(traffic: float) -> None:
    if not (traffic > 0 and math.isfinite(traffic)):
        raise StaffingError(f"traffic must be a positive number of erlangs, got {traffic}")


def _check_rates(arrivals_per_hour: float, aht_s: float) -> None:
    if not (arrivals_per_hour > 0 and math.isfinite(arrivals_per_hour)):
        raise StaffingError(f"arrivals per hour must be positive, got {arrivals_per_hour}")
    if not (aht_s > 0 and math.isfinite(aht_s)):
        raise StaffingError(f"average handle time must be positive seconds, got {aht_s}")


def _check_stable(agents: int, traffic: float) -> None:
    _check_positive_traffic(traffic)
    if agents < 1:
        raise StaffingError(f"agents must be at least 1, got {agents}")
    if traffic >= agents:
        raise StaffingError(
            f"unstable queue: {traffic:.4g} erlangs offered to {agents} agents; without abandonment "
            f"(Erlang C) the queue grows without bound when traffic >= agents. At least "
            f"{math.floor(traffic) + 1} agents are needed, or give a caller patience (Erlang A)"
        )


def traffic_erlangs(arrivals_per_hour: float, aht_s: float) -> float:
    return arrivals_per_hour * aht_s / 3600.0


def erlang_c_kpis(agents: int, arrivals_per_hour: float, aht_s: float, sl_seconds: float = 20.0) -> QueueKpis:
    """Key figures of an M/M/n queue whose callers never hang up."""
    _check_rates(arrivals_per_hour, aht_s)
    traffic = traffic_erlangs(arrivals_per_hour, aht_s)
    _check_stable(agents, traffic)
    _check_sl_seconds(sl_seconds)
    p_wait = erlang_c(agents, traffic)
    return _c_kpis_from(p_wait, agents, traffic, aht_s, sl_seconds)


def _c_kpis_from(p_wait: float, agents: int, traffic: float, aht_s: float, sl_seconds: float) -> QueueKpis:
    spare = agents - traffic
    asa = p_wait * aht_s / spare
    sl = 1.0 - p_wait * math.exp(-spare * sl_seconds / aht_s)
    return QueueKpis(
        traffic_erlangs=traffic,
        agents=agents,
        p_wait=p_wait,
        asa_s=asa,
        service_level=sl,
        occupancy=traffic / agents,
        mean_wait_s=asa,
    )


def _check_sl_seconds(sl_seconds: float) -> None:
    if not (sl_seconds >= 0 and math.isfinite(sl_seconds)):
        raise StaffingError(f"service-level threshold must be 0 or more seconds, got {sl_seconds}")


@dataclass(frozen=True, slots=True)
class _Series:
    """``log S(x, z)`` with ``S(x, z) = sum_j z^j / ((x+1)...(x+j))`` and optional weighted sums."""

    log_sum: float
    log_weighted: float  # log of sum_j u_j * x/(x+j+1) * H_j, H_j = sum_{m=1}^{j+1} 1/(x+m)


def _series(x: float, z: float, *, weighted: bool = False) -> _Series:
    if z <= 0:
        return _Series(0.0, math.log(x / (x + 1) / (x + 1)) if weighted else -math.inf)
    log_z = math.log(z)
    # Terms grow while z / (x + j) > 1: the peak is at j* = max(0, ceil(z - x) - 1).
    j_star = max(0, math.ceil(z - x) - 1)
    log_peak = j_star * log_z - (math.lgamma(x + j_star + 1) - math.lgamma(x + 1))
    total = 0.0
    weighted_total = 0.0
    log_u = -log_peak  # log(u_0 / u_peak), u_0 = 1
    harmonic = 0.0
    j = 0
    while True:
        term = math.exp(log_u) if log_u > -745 else 0.0
        total += term
        if weighted:
            harmonic += 1.0 / (x + j + 1)
            weighted_total += term * x / (x + j + 1) * harmonic
        if j >= j_star and (term < _EPS * total or term == 0.0):
            break
        j += 1
        if j > _MAX_TERMS:
            raise StaffingError(
                "caller patience is too long compared with the overload for the Erlang A series; "
                "use the Erlang C figures (no --patience) or add agents"
            )
        log_u += log_z - math.log(x + j)
    log_weighted = log_peak + math.log(weighted_total) if weighted and weighted_total > 0 else -math.inf
    return _Series(log_peak + math.log(total), log_weighted)


def erlang_a_kpis(
    agents: int,
    arrivals_per_hour: float,
    aht_s: float,
    patience_s: float,
    sl_seconds: float = 20.0,
    *,
    log_inv_b: float | None = None,
) -> QueueKpis:
    """Key figures of an M/M/n+M queue: exponential handle time and exponential caller patience.

    Stable for any load (callers abandon), so ``traffic >= agents`` is allowed.
    """
    _check_rates(arrivals_per_hour, aht_s)
    _check_sl_seconds(sl_seconds)
    if not (patience_s > 0):
        raise StaffingError(f"mean patience must be positive seconds, got {patience_s}")
    if agents < 1:
        raise StaffingError(f"agents must be at least 1, got {agents}")
    traffic = traffic_erlangs(arrivals_per_hour, aht_s)
    if math.isinf(patience_s):
        return erlang_c_kpis(agents, arrivals_per_hour, aht_s, sl_seconds)
    lam = arrivals_per_hour / 3600.0
    mu = 1.0 / aht_s
    theta = 1.0 / patience_s
    x = agents * mu / theta
    y = lam / theta
    if log_inv_b is None:
        log_inv_b = log_inverse_erlang_b(agents, traffic)
    # 1/B - 1 >= n/A > 0 for n >= 1.
    log_inv_b_minus_1 = log_inv_b + math.log1p(-math.exp(-log_inv_b))
    s_xy = _series(x, y, weighted=True)
    log_den = _logaddexp(log_inv_b_minus_1, s_xy.log_sum)  # 1 / pi_n
    log_pi_n = -log_den
    p_wait = math.exp(s_xy.log_sum - log_den)
    rho = lam / (agents * mu)
    # P(abandon) = pi_n (S (1 - 1/rho) + 1/rho)
    p_ab = math.exp(log_pi_n) * (1.0 / rho) + math.exp(s_xy.log_sum + log_pi_n) * (1.0 - 1.0 / rho)
    p_ab = min(max(p_ab, 0.0), p_wait)
    # Answered within T: answered at once, plus pi_n x/(x+1) [S(x+1, y) - e^{-(n mu+theta)T + y - z} S(x+1, z)]
    z = y * math.exp(-theta * sl_seconds)
    s1_y = _series(x + 1, y)
    s1_z = _series(x + 1, z)
    log_factor = -(agents * mu + theta) * sl_seconds + (y - z)
    ratio = math.log(x / (x + 1)) + log_pi_n
    answered_late_excluded = math.exp(s1_y.log_sum + ratio) - math.exp(s1_z.log_sum + log_factor + ratio)
    service_level = min(max((1.0 - p_wait) + answered_late_excluded, 0.0), 1.0)
    # Mean wait of answered calls: E[V; answered] / P(answered)
    p_answered = 1.0 - p_ab
    wait_answered = math.exp(log_pi_n + s_xy.log_weighted) / theta if s_xy.log_weighted > -math.inf else 0.0
    asa = wait_answered / p_answered if p_answered > 0 else math.inf
    mean_wait = p_ab / theta
    return QueueKpis(
        traffic_erlangs=traffic,
        agents=agents,
        p_wait=p_wait,
        asa_s=asa,
        service_level=service_level,
        occupancy=min(traffic * p_answered / agents, 1.0),
        abandon_rate=p_ab,
        mean_wait_s=mean_wait,
    )


def kpis(
    agents: int,
    arrivals_per_hour: float,
    aht_s: float,
    sl_seconds: float = 20.0,
    patience_s: float | None = None,
) -> QueueKpis:
    """Erlang A figures when a patience is given, Erlang C figures otherwise."""
    if patience_s is None:
        return erlang_c_kpis(agents, arrivals_per_hour, aht_s, sl_seconds)
    return erlang_a_kpis(agents, arrivals_per_hour, aht_s, patience_s, sl_seconds)


def agents_required(
    arrivals_per_hour: float,
    aht_s: float,
    sl_seconds: float,
    target_sl: float,
    patience_s: float | None = None,
    *,
    max_agents: int = 1_000_000,
) -> int:
    """Fewest agents whose service level (answered within ``sl_seconds`` / offered) reaches ``target_sl``."""
    _check_rates(arrivals_per_hour, aht_s)
    _check_sl_seconds(sl_seconds)
    if not (0 < target_sl < 1):
        raise StaffingError(f"target service level must be between 0 and 1 (exclusive), got {target_sl}")
    traffic = traffic_erlangs(arrivals_per_hour, aht_s)
    if patience_s is None:
        # Walk n upward from the first stable size, updating 1/B incrementally: O(answer).
        n = math.floor(traffic) + 1
        log_inv = log_inverse_erlang_b(n, traffic)
        steps = _log_inverse_erlang_b_steps(traffic, n, log_inv)
        while n <= max_agents:
            p_wait = math.exp(_log_erlang_c_from_inverse_b(log_inv, n, traffic))
            if _c_kpis_from(p_wait, n, traffic, aht_s, sl_seconds).service_level >= target_sl:
                return n
            n += 1
            log_inv = next(steps)
        raise StaffingError(f"no staffing up to {max_agents} agents reaches service level {target_sl}")

    def sl_at(n: int) -> float:
        return erlang_a_kpis(n, arrivals_per_hour, aht_s, patience_s, sl_seconds).service_level

    low, high = 0, 1  # sl_at(low) < target (low = 0 means "no agents"), sl_at(high) unknown
    while sl_at(high) < target_sl:
        low = high
        high *= 2
        if high > max_agents:
            raise StaffingError(f"no staffing up to {max_agents} agents reaches service level {target_sl}")
    while high - low > 1:
        mid = (low + high) // 2
        if sl_at(mid) >= target_sl:
            high = mid
        else:
            low = mid
    return high
