"""Outbound dialer pacing, sans-I/O (time passed in as a value).

Which work items may be dialled is decided by :func:`crm.campaigns.eligibility.decide`, the one
eligibility function the dialer, the agents' preview and inbound offers share (do-not-call, local
calling hours, frequency cap, maximum attempts, retry delay per outcome), over the typed
:class:`crm.campaigns.rules.CampaignRules`.

Pacing (:class:`Pacer`) says how many calls to dial now:

* ``preview``: none by itself; the agent asks for the next work item (:meth:`Pacer.preview`).
* ``progressive``: one call per ready agent not already covered by a call in progress.
* ``predictive``: ``ready agents × ratio`` minus calls in progress, where the ratio is
  ``1 / connect rate`` (observed), lowered while the abandonment rate over the rolling window
  exceeds the campaign's ``abandon_target`` and never above ``max_ratio``. When the rolling
  abandonment rate is at or above the target, pacing falls back to progressive (ratio 1), which
  cannot abandon: a connected call always has an agent reserved for it.
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
    window: int = 200  # rolling window of dial outcomes for the connect and abandonment rates
    max_ratio: float = 3.0
    initial_connect_rate: float = 0.3
    _outcomes: deque[str] = field(default_factory=deque)  # "connect", "no_connect"
    _connects: deque[bool] = field(default_factory=deque)  # per connect: abandoned?
    in_progress: int = 0

    def connect_rate(self) -> float:
        if len(self._outcomes) < 20:
            return self.initial_connect_rate
        return max(0.01, self._outcomes.count("connect") / len(self._outcomes))

    def abandon_rate(self) -> float:
        return sum(self._connects) / len(self._connects) if self._connects else 0.0

    def ratio(self) -> float:
        if self.mode is not DialMode.PREDICTIVE:
            return 1.0
        if self.abandon_rate() >= self.abandon_target * 0.8:
            return 1.0  # too close to the cap: progressive until the window recovers
        headroom = 1.0 - self.abandon_rate() / self.abandon_target
        return max(1.0, min(self.max_ratio, 1.0 + (1.0 / self.connect_rate() - 1.0) * headroom))

    def calls_to_dial(self, ready_agents: int) -> int:
        """Calls to start now, given the agents ready and not yet covered by a call."""
        if self.mode is DialMode.PREVIEW or ready_agents <= 0:
            return 0
        wanted = math.floor(ready_agents * self.ratio() + 1e-9)
        return max(0, wanted - self.in_progress)

    def preview(self, queue: Sequence[int]) -> int | None:
        """Preview mode: the next work item for an agent who asks (the first eligible in ``queue``)."""
        return queue[0] if queue else None

    def dialled(self, n: int = 1) -> None:
        self.in_progress += n

    def no_connect(self) -> None:
        self.in_progress -= 1
        self._push_outcome("no_connect")

    def connected(self, *, abandoned: bool) -> None:
        """A call reached a person; ``abandoned`` when no agent was free for it."""
        self.in_progress -= 1
        self._push_outcome("connect")
        self._connects.append(abandoned)
        while len(self._connects) > self.window:
            self._connects.popleft()

    def _push_outcome(self, outcome: str) -> None:
        self._outcomes.append(outcome)
        while len(self._outcomes) > self.window:
            self._outcomes.popleft()
