"""A circuit breaker, sans-I/O: successes, failures and the time in; whether to try out.

Closed: calls go through; ``threshold`` failures in a row open it. Open: calls are refused at once
(a dead back end never makes anything wait) until ``cool_down_s`` have passed; then one trial call
goes through (half-open): its success closes the breaker, its failure opens it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    threshold: int = 5
    cool_down_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    _trial: bool = False

    def state(self, now: float) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now - self.opened_at >= self.cool_down_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self, now: float) -> bool:
        """Whether a call may go out now (in half-open, only one trial at a time)."""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial = False

    def failed(self, now: float) -> None:
        self.failures += 1
        if self._trial or self.failures >= self.threshold:
            self.opened_at = now
        self._trial = False

    def retry_in(self, now: float) -> float:
        """Seconds until a trial call may go out (0 when calls go through)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.cool_down_s - now)
