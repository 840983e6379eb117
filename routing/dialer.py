"""Outbound dialer pacing, sans-I/O (time passed in as a value).

Which work items may be dialled is decided by :func:`crm.campaigns.eligibility.decide`, the one
eligibility function the dialer, the agents' preview and inbound offers share (do-not-call, local
calling hours, frequency cap, maximum attempts, retry delay per outcome), over the typed
:class:`crm.campaigns.rules.CampaignRules`.

Pacing (:class:`Pacer`) says how many calls to dial now:

* ``preview``: none by itself; the agent asks for the next work item (:meth:`Pacer.preview`).
* ``progressive``: one call per ready agent not already covered by a call in progress.
* ``predictive``: dials so that, when the calls dialled now are answered (``ring_s`` from now), the
  agents expected free then are more than the calls expected to connect by a *safety margin*. Agents
  expected free: the ready ones plus the busy ones who finish within the ring time (each busy agent
  with probability ``p = 1 − e^(−ring/handle)``); calls expected to connect: the calls in progress and
  the new ones, each with the connect rate ``c`` (observed). The margin is counted in standard
  deviations of that surplus (busy agents finishing are binomial, ``B·p·(1−p)``; connects are
  ``c·(1−c)`` per call): dial the most calls ``k`` (in progress included) such that
  ``ready + B·p − c·k ≥ margin · √(B·p·(1−p) + c·(1−c)·k)``; never fewer than progressive would dial.
  A margin in standard deviations rather than a share of the agents keeps the idle agents few where
  the prediction is sure (many agents) and more where it is not. The margin is the feedback that uses
  the abandonment cap: each connect moves it a little (down per call an agent took, up much more per
  abandoned one) so that abandonment settles at ``aim`` (90 %) of ``abandon_target``. Should the rate
  over the rolling window of connects still reach the target, pacing falls back to progressive (one
  call per ready agent not covered), which cannot abandon: a connected call always has an agent
  reserved for it; the margin does not move meanwhile.
"""

from __future__ import annotations

import math
from collections import deque
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
    """How many calls to dial now; feed it outcomes (:meth:`dialled`, :meth:`connected`, ...)."""

    mode: DialMode
    abandon_target: float = 0.03
    window: int = 2000  # rolling window of dial outcomes for the connect rate (a short one is noisy)
    abandon_window: int = 2000  # rolling window of connects for the abandonment rate
    max_ratio: float = 10.0  # at most this many calls in progress per agent expected free
    initial_connect_rate: float = 0.3
    ring_s: float = 15.0  # mean time from dial to answer (learned from the outcomes when given)
    handle_s: float = 180.0  # mean time an agent is busy with a call
    margin: float = 1.5  # the safety margin, in standard deviations, within [min_margin, max_margin]
    min_margin: float = -1.0
    max_margin: float = 4.0
    aim: float = 0.9  # the share of the cap the feedback aims at (the rest is the margin for chance)
    step: float = 0.05  # how far one connect moves the margin
    guard_gain: float = 1.0  # extra margin at the cap (see :meth:`guard`)
    guard_after: int = 200  # connects seen before the guard trusts the rolling rate
    _outcomes: deque[str] = field(default_factory=deque)  # "connect", "no_connect"
    _connects: deque[bool] = field(default_factory=deque)  # per connect: abandoned?
    _abandoned: int = 0
    in_progress: int = 0

    def connect_rate(self) -> float:
        if len(self._outcomes) < 20:
            return self.initial_connect_rate
        return max(0.01, self._outcomes.count("connect") / len(self._outcomes))

    def abandon_rate(self) -> float:
        return self._abandoned / len(self._connects) if self._connects else 0.0

    def at_cap(self) -> bool:
        return self.abandon_rate() >= self.abandon_target

    def guard(self) -> float:
        """Extra margin (standard deviations) while the rolling abandonment is above the aim: none at the
        aim, ``guard_gain`` at the cap, so that chance runs of abandoned calls are answered before the
        cap is reached (the hard fallback to progressive then seldom has to act)."""
        aimed = self.aim * self.abandon_target
        if len(self._connects) < self.guard_after:
            return 0.0
        return self.guard_gain * max(0.0, self.abandon_rate() - aimed) / max(1e-9, self.abandon_target - aimed)

    def calls_to_dial(self, ready_agents: int, busy_agents: int = 0) -> int:
        """Calls to start now, given the agents ready and not yet covered by a call, and (predictive) the
        agents busy with a call who may be free when the calls dialled now are answered."""
        if self.mode is DialMode.PREVIEW or ready_agents + busy_agents <= 0:
            return 0
        progressive = max(0, ready_agents - self.in_progress)
        if self.mode is DialMode.PROGRESSIVE or self.at_cap():
            return progressive
        c = self.connect_rate()
        p = 1.0 - math.exp(-self.ring_s / max(1.0, self.handle_s))
        free = ready_agents + busy_agents * p
        spread = busy_agents * p * (1.0 - p)
        limit = math.floor(free * self.max_ratio)
        margin = self.margin + self.guard()
        k = self.in_progress
        while k < limit and free - c * (k + 1) >= margin * math.sqrt(spread + c * (1.0 - c) * (k + 1)):
            k += 1
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
        self._steer(abandoned)

    def _steer(self, abandoned: bool) -> None:
        """Use the cap: each connect moves the margin toward an abandonment of ``aim`` × the target (a
        stochastic approximation: down a little per call an agent took, up a lot per abandoned one). Not
        while pacing is held progressive at the cap: the margin would wind down with nothing to show."""
        if self.mode is not DialMode.PREDICTIVE or self.at_cap():
            return
        error = (1.0 if abandoned else 0.0) - self.aim * self.abandon_target
        self.margin = min(self.max_margin, max(self.min_margin, self.margin + self.step * error))

    def _push_outcome(self, outcome: str) -> None:
        self._outcomes.append(outcome)
        while len(self._outcomes) > self.window:
            self._outcomes.popleft()
