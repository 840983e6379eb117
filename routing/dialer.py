"""Outbound dialer pacing, sans-I/O (time passed in as a value).

Which work items may be dialled is decided by :func:`crm.campaigns.eligibility.decide`, the one
eligibility function the dialer, the agents' preview and inbound offers share (do-not-call, local
calling hours, frequency cap, maximum attempts, retry delay per outcome), over the typed
:class:`crm.campaigns.rules.CampaignRules`.

Pacing (:class:`Pacer`) says how many calls to dial now:

* ``preview``: none by itself; the agent asks for the next work item (:meth:`Pacer.preview`).
* ``progressive``: one call per ready agent not already covered by a call in progress.
* ``predictive``: keeps calls in flight for the agents ready now and those expected to finish their
  call before a call dialled now is answered (busy agents × ``1 − e^(−ring/handle)``), divided by the
  connect rate (observed), times a *gain*, less the calls in progress; never fewer than progressive
  would dial. The gain is the feedback that uses the abandonment cap: each connect moves it a little
  (up per call an agent took, down much more per abandoned one) so that abandonment settles at
  ``aim`` (85 %) of ``abandon_target``. Should the rate over the rolling window of connects still reach
  the target, pacing falls back to progressive (one call per ready agent not covered), which cannot
  abandon: a connected call always has an agent reserved for it.
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
    window: int = 200  # rolling window of dial outcomes for the connect rate
    abandon_window: int = 2000  # rolling window of connects for the abandonment rate
    max_ratio: float = 3.0
    initial_connect_rate: float = 0.3
    ring_s: float = 15.0  # mean time from dial to answer (learned from the outcomes when given)
    handle_s: float = 180.0  # mean time an agent is busy with a call
    gain: float = 0.5  # the feedback on the calls kept in flight, within [min_gain, max_gain]
    min_gain: float = 0.0
    max_gain: float = 3.0
    aim: float = 0.85  # the share of the cap the feedback aims at (the rest is the margin for chance)
    step: float = 0.02  # how far one connect moves the gain
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

    def ratio(self) -> float:
        """Calls per agent expected free (1 in progressive, or while abandonment is at the cap)."""
        if self.mode is not DialMode.PREDICTIVE or self.at_cap():
            return 1.0
        return max(1.0, min(self.max_ratio, 1.0 / self.connect_rate()))

    def at_cap(self) -> bool:
        return self.abandon_rate() >= self.abandon_target

    def calls_to_dial(self, ready_agents: int, busy_agents: int = 0) -> int:
        """Calls to start now, given the agents ready and not yet covered by a call, and (predictive) the
        agents busy with a call who may be free when the calls dialled now are answered."""
        if self.mode is DialMode.PREVIEW or ready_agents + busy_agents <= 0:
            return 0
        if self.mode is DialMode.PROGRESSIVE or self.at_cap():
            return max(0, ready_agents - self.in_progress)
        soon_free = busy_agents * (1.0 - math.exp(-self.ring_s / max(1.0, self.handle_s)))
        wanted = math.floor((ready_agents + soon_free) * self.ratio() * self.gain + 1e-9)
        return max(ready_agents - self.in_progress, wanted - self.in_progress, 0)

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
        """Use the cap: each connect moves the gain toward an abandonment of ``aim`` × the target (a
        stochastic approximation: up a little per call an agent took, down a lot per abandoned one)."""
        if self.mode is not DialMode.PREDICTIVE:
            return
        error = self.aim * self.abandon_target - (1.0 if abandoned else 0.0)
        self.gain = min(self.max_gain, max(self.min_gain, self.gain + self.step * error))

    def _push_outcome(self, outcome: str) -> None:
        self._outcomes.append(outcome)
        while len(self._outcomes) > self.window:
            self._outcomes.popleft()
