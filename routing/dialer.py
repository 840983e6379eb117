"""Outbound dialer pacing, sans-I/O (time passed in as a value).

Which work items may be dialled is decided by :func:`crm.campaigns.eligibility.decide`, the one
eligibility function the dialer, the agents' preview and inbound offers share (do-not-call, local
calling hours, frequency cap, maximum attempts, retry delay per outcome), over the typed
:class:`crm.campaigns.rules.CampaignRules`.

Pacing (:class:`Pacer`) says how many calls to dial now:

* ``preview``: none by itself; the agent asks for the next work item (:meth:`Pacer.preview`).
* ``progressive``: one call per ready agent not already covered by a call in progress.
* ``predictive``: a model of agents coming free. A call dialled now is answered ``ring_s`` from now and
  then waits ``grace_s`` (the abandonment threshold) for an agent. The agents free by then are the ready
  ones plus each busy agent who finishes within that window, with the probability the handle-time
  distribution gives from how long the agent has been busy (:meth:`Pacer.free_within`: the empirical
  remaining-time law of the handle times seen, talk and wrap-up, once enough are known, or its
  equilibrium law when how long is not known; exponential with mean ``handle_s`` before, which is
  memoryless; ``handle_s`` moves from the one given to the mean of the handle times seen, the one
  given counting as ``prior_samples`` of them).
  So the agents free are a sum of Bernoulli trials (their law computed, not a normal approximation;
  chances rounded to 0.01 so that agents alike are counted together, the tail past 1e-15 left out),
  and the calls in progress each connect with the observed connect rate ``c``. The *k*-th call is
  abandoned if it connects and finds no agent: with probability ``P(ready + freed − connects of the
  k−1 before it ≤ 0)``. The pacer dials every call whose chance of being abandoned, once it
  connects, is at most ``threshold``; never fewer than progressive would.

  ``threshold`` is what uses the cap. It starts at ``2 × aim × abandon_target`` (the marginal call is
  abandoned about twice as often as the average one) and learns slowly: each connect moves its logarithm
  by ``learn × (aimed − abandoned) / aimed``, so abandonment settles at ``aim`` (95 %) of the cap. Slow
  on purpose: a fast feedback wanders with the chance runs of abandoned calls, and wandering costs
  occupancy (on the shipped scenario a fixed threshold keeps agents a point busier than the margin that
  moved at every connect did, at the same abandonment). A chance run is answered by the guard instead
  (:meth:`Pacer.guard`): while the rolling window holds more abandoned calls than the aim allows, each
  one beyond tightens the threshold by ``guard_gain`` (in its logarithm) until the count is back; this
  keeps the rate close to the aim without moving the learned threshold.

  The backstop: once the abandoned calls in the rolling window of ``abandon_window`` connects reach the
  cap's share of that window, pacing is progressive (one call per ready agent not covered, which
  cannot abandon) until they fall below it. A window not yet full counts as full: the cap is a rate
  over a period (30 days for the FCC's rule), and a dozen early calls are not a period.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum


class DialMode(Enum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


# ---------------------------------------------------------------- pacing


@dataclass(slots=True)
class Pacer:
    """How many calls to dial now; feed it outcomes (:meth:`dialled`, :meth:`connected`, ...) and, for a
    better model of agents coming free, the handle times of calls done (:meth:`handled`)."""

    mode: DialMode
    abandon_target: float = 0.03
    window: int = 2000  # rolling window of dial outcomes for the connect rate (a short one is noisy)
    abandon_window: int = 10000  # rolling window of connects for the backstop at the cap
    max_ratio: float = 10.0  # at most this many calls in progress per agent expected free
    initial_connect_rate: float = 0.3
    ring_s: float = 15.0  # mean time from dial to answer (learned from the outcomes when given)
    grace_s: float = 2.0  # how long an answered call waits for an agent before it is abandoned
    handle_s: float = 180.0  # mean time an agent is busy with a call, before handle times are known
    aim: float = 0.95  # the share of the cap the feedback aims at (the rest is the margin for chance)
    threshold: float = 0.0  # the chance of abandonment a dialled call may have (0: 2 × aim × the cap)
    learn: float = 0.00012  # how far one connect moves log(threshold), per unit of relative error
    guard_gain: float = 0.1  # how much each abandoned call beyond the aimed count tightens log(threshold)
    handle_samples: int = 2000  # handle times kept for the remaining-time law
    min_handle_samples: int = 200  # handle times needed before the empirical law replaces the exponential
    prior_samples: int = 10  # how many handle times the ``handle_s`` given is worth beside those seen
    _outcomes: deque[str] = field(default_factory=deque)  # "connect", "no_connect"
    _connects: deque[bool] = field(default_factory=deque)  # per connect: abandoned?
    _abandoned: int = 0
    _handled: deque[float] = field(default_factory=deque)
    _sorted: list[float] = field(default_factory=list)  # _handled, sorted
    _handled_total: float = 0.0
    _connected: int = 0  # connects among _outcomes
    _freed_for: tuple[tuple[float, int], ...] = ()  # the chances the last law of agents freed was made for
    _freed: list[float] = field(default_factory=lambda: [1.0])
    _prior_s: float = 0.0  # the ``handle_s`` given
    in_progress: int = 0

    def __post_init__(self) -> None:
        if self.threshold <= 0:
            self.threshold = 2.0 * self.aim * self.abandon_target
        self._prior_s = self.handle_s

    def connect_rate(self) -> float:
        if len(self._outcomes) < 20:
            return self.initial_connect_rate
        return max(0.01, self._connected / len(self._outcomes))

    def abandon_rate(self) -> float:
        return self._abandoned / len(self._connects) if self._connects else 0.0

    def at_cap(self) -> bool:
        """The abandoned calls of the rolling window have used the cap's share of it (a window not yet
        full counts as full)."""
        return self._abandoned >= self.abandon_target * max(len(self._connects), self.abandon_window)

    def guard(self) -> float:
        """How much to tighten the threshold now (its logarithm): ``guard_gain`` for each abandoned call of
        the rolling window beyond the count the aim allows there. The learned threshold is right on
        average; this answers a chance run of abandoned calls at once, before it shows in the rate."""
        excess = self._abandoned - self.aim * self.abandon_target * len(self._connects)
        return self.guard_gain * max(0.0, excess)

    def free_within(self, busy_for: float | None, window_s: float) -> float:
        """The chance that an agent busy for ``busy_for`` seconds is free within ``window_s``: from the
        handle times seen (``(S(a) − S(a + w)) / S(a)`` with ``S`` their survival function), else from an
        exponential handle time of mean ``handle_s`` (memoryless: the time busy does not matter). When
        how long it has been busy is not known (``None``), an agent met at a random moment of its call:
        ``E[min(H, w)] / E[H]`` over the handle times seen (the remaining time's equilibrium law)."""
        if len(self._handled) < self.min_handle_samples:
            return 1.0 - math.exp(-window_s / max(1.0, self.handle_s))
        times = self._sorted
        if busy_for is None:
            if self._handled_total <= 0:
                return 1.0
            shorter = bisect.bisect_right(times, window_s)
            return (sum(times[:shorter]) + window_s * (len(times) - shorter)) / self._handled_total
        alive = len(times) - bisect.bisect_right(times, busy_for)
        if alive == 0:
            return 1.0 - math.exp(-window_s / max(1.0, self.handle_s))  # longer than any seen: no law
        return (alive - (len(times) - bisect.bisect_right(times, busy_for + window_s))) / alive

    def calls_to_dial(
        self, ready_agents: int, busy_agents: int = 0, busy_for: Sequence[float | None] | None = None
    ) -> int:
        """Calls to start now, given the agents ready and not yet covered by a call, and (predictive) the
        agents busy with a call who may be free when the calls dialled now are answered: ``busy_agents``
        of them (for how long each has been busy not known), or one per entry of ``busy_for`` (how long
        each has been busy, talk and wrap-up)."""
        busy: list[float | None] = list(busy_for) if busy_for is not None else [None] * busy_agents
        if self.mode is DialMode.PREVIEW or ready_agents + len(busy) <= 0:
            return 0
        progressive = max(0, ready_agents - self.in_progress)
        if self.mode is DialMode.PROGRESSIVE or self.at_cap():
            return progressive
        c = self.connect_rate()
        window = self.ring_s + self.grace_s
        chances = tuple(sorted(Counter(round(self.free_within(age, window), 2) for age in busy).items()))
        if chances != self._freed_for:  # the law of how many busy agents are free within the window
            freed = [1.0]
            for p, n in chances:
                freed = _convolve(freed, _binomial(n, p))
            self._freed_for, self._freed = chances, freed
        freed = self._freed
        expected_free = ready_agents + sum(i * p for i, p in enumerate(freed))
        limit = math.floor(expected_free * self.max_ratio)
        k = self.in_progress
        connects = _binomial(k, c)  # the law of how many of the calls in progress connect
        threshold = self.threshold * math.exp(-self.guard())
        while k < limit and _no_agent(ready_agents, freed, connects) <= threshold:
            k += 1
            connects = _add_trial(connects, c)
        return max(progressive, k - self.in_progress)

    def preview(self, queue: Sequence[int]) -> int | None:
        """Preview mode: the next work item for an agent who asks (the first eligible in ``queue``)."""
        return queue[0] if queue else None

    def dialled(self, n: int = 1) -> None:
        self.in_progress += n

    def no_connect(self) -> None:
        self.in_progress -= 1
        self._push_outcome("no_connect")

    def connected(self, *, abandoned: bool, after_s: float | None = None) -> None:
        """A call reached a person ``after_s`` after it was dialled; ``abandoned`` when no agent was free."""
        self.in_progress -= 1
        self._push_outcome("connect")
        if after_s is not None and after_s >= 0:
            self.ring_s += (after_s - self.ring_s) * 0.05
        self._connects.append(abandoned)
        self._abandoned += abandoned
        while len(self._connects) > self.abandon_window:
            self._abandoned -= self._connects.popleft()
        self._learn(abandoned)

    def handled(self, seconds: float) -> None:
        """An agent is free again after ``seconds`` busy with a call (talk and wrap-up)."""
        if seconds < 0 or not math.isfinite(seconds):
            return
        self._handled.append(seconds)
        bisect.insort(self._sorted, seconds)
        self._handled_total += seconds
        while len(self._handled) > self.handle_samples:
            old = self._handled.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
            self._handled_total -= old
        # the exponential's mean until the law is known: the handle times seen, beside the one given
        self.handle_s = (self._prior_s * self.prior_samples + self._handled_total) / (
            self.prior_samples + len(self._handled)
        )

    def handle_times(self) -> tuple[float, ...]:
        """The handle times kept, oldest first (those :meth:`handled` was given, up to ``handle_samples``)."""
        return tuple(self._handled)

    def _learn(self, abandoned: bool) -> None:
        """Use the cap: each connect moves the threshold toward an abandonment of ``aim`` × the target
        (down a lot per abandoned call, up a little per call an agent took). Not while pacing is held
        progressive at the cap: the threshold would climb with nothing to show."""
        if self.mode is not DialMode.PREDICTIVE or self.at_cap():
            return
        aimed = self.aim * self.abandon_target
        error = (1.0 if abandoned else 0.0) - aimed
        self.threshold = min(0.9, max(1e-4, self.threshold * math.exp(-self.learn * error / aimed)))

    def _push_outcome(self, outcome: str) -> None:
        self._outcomes.append(outcome)
        self._connected += outcome == "connect"
        while len(self._outcomes) > self.window:
            self._connected -= self._outcomes.popleft() == "connect"


_TAIL = 1e-15


def _binomial(n: int, p: float) -> list[float]:
    if n > 400:  # beyond the floats' range for comb(n, i)
        law = [1.0]
        for _ in range(n):
            law = _add_trial(law, p)
        return law
    return _trimmed([math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in range(n + 1)])


def _convolve(a: list[float], b: list[float]) -> list[float]:
    """The law of the sum of two independent counts."""
    if len(a) < len(b):
        a, b = b, a
    out = [0.0] * (len(a) + len(b) - 1)
    n = len(a)
    for j, y in enumerate(b):  # the shorter one outside, the longer one as a whole row
        out[j : j + n] = [o + y * x for o, x in zip(out[j : j + n], a, strict=True)]
    return _trimmed(out)


def _add_trial(law: list[float], p: float) -> list[float]:
    """The law of a count (``law[i] = P(count = i)``) after one more Bernoulli trial of chance ``p``."""
    out = [0.0] * (len(law) + 1)
    for i, x in enumerate(law):
        out[i] += x * (1.0 - p)
        out[i + 1] += x * p
    return _trimmed(out)


def _trimmed(law: list[float]) -> list[float]:
    """Without its far tail (each count beyond has a chance under 1e-15): a count past the end of the
    list is then taken as never reached, which keeps the work per decision about the counts that matter
    rather than the number of agents."""
    while len(law) > 1 and law[-1] < _TAIL:
        law.pop()
    return law


def _no_agent(ready: int, freed: list[float], connects: list[float]) -> float:
    """``P(ready + freed − connects ≤ 0)``: the next call to connect finds no agent free."""
    below = [0.0] * len(freed)  # P(freed <= j)
    total = 0.0
    for j, x in enumerate(freed):
        total += x
        below[j] = total
    chance = 0.0
    for n, x in enumerate(connects):
        j = n - ready
        if j >= 0:
            chance += x * (below[j] if j < len(below) else 1.0)
    return chance
