"""Reconnecting with backoff: the one driver every link that reconnects uses.

A link (the MQTT bus, the AMI, CSTA and serial links) hands :meth:`Reconnector.run` a coroutine
function that runs one session: connect, serve until the connection is lost, return or raise. The
driver runs it again and again, pausing in between, until :meth:`Reconnector.stop` or cancellation:

- the pauses grow exponentially with *decorrelated jitter* (each pause is drawn uniformly between
  ``initial`` and three times the previous one, capped at ``cap``), so a hundred desktops that lost
  the broker at the same moment do not all come back at the same moment;
- a session that reported itself up (:meth:`Reconnector.established`) and then stayed up for
  ``stable_after`` seconds starts the pauses over from ``initial``; a peer that accepts and drops at
  once keeps backing off;
- :meth:`Reconnector.stop` ends a pause at once (and no new session starts); cancelling the task
  that runs :meth:`run` works too;
- the clock, the sleep and the random numbers are parameters, so tests run without sleeping.

The arithmetic is in :class:`Backoff` (no I/O, no clock); the driver adds the waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

#: How a pause is drawn: ``uniform(low, high)`` (``random.Random.uniform`` by default).
Uniform = Callable[[float, float], float]
Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait between attempts (seconds)."""

    initial: float = 0.5
    cap: float = 30.0
    #: a session up at least this long resets the pauses to ``initial``
    stable_after: float = 10.0
    #: each pause is at most this many times the previous one
    growth: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.cap:
            raise ValueError(f"backoff needs 0 < initial <= cap, not initial={self.initial}, cap={self.cap}")
        if self.growth <= 1:
            raise ValueError(f"backoff growth must be more than 1, not {self.growth}")
        if self.stable_after < 0:
            raise ValueError(f"stable_after cannot be negative ({self.stable_after})")


class Backoff:
    """The sequence of pauses of one link: :meth:`next_delay` after each failure, :meth:`reset` after a good session."""

    def __init__(self, policy: BackoffPolicy, *, uniform: Uniform | None = None) -> None:
        self.policy = policy
        self._uniform = uniform or random.Random().uniform
        self._previous = policy.initial
        self.attempts = 0

    def next_delay(self) -> float:
        p = self.policy
        high = min(p.cap, self._previous * p.growth)
        delay = min(p.cap, max(p.initial, self._uniform(p.initial, high)))
        self._previous = delay
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self._previous = self.policy.initial
        self.attempts = 0


class Reconnector:
    """Runs sessions until stopped, pausing with :class:`Backoff` in between (see the module docstring)."""

    def __init__(
        self,
        policy: BackoffPolicy | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        uniform: Uniform | None = None,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self.backoff = Backoff(self.policy, uniform=uniform)
        self._clock = clock
        self._sleep = sleep
        self._stop: asyncio.Event | None = None
        self._stopped = False
        self._up_since: float | None = None
        #: sessions that reported themselves up
        self.sessions = 0

    @property
    def stopped(self) -> bool:
        return self._stopped

    def established(self) -> None:
        """Called by the session once the link is really up (connected, logged in, subscribed)."""
        self._up_since = self._clock()
        self.sessions += 1

    def stop(self) -> None:
        """No new session; a pause in progress ends now. The session running, if any, is the caller's to end."""
        self._stopped = True
        if self._stop is not None:
            self._stop.set()

    def restart(self) -> None:
        """Allow :meth:`run` again after :meth:`stop` (a link closed and connected again)."""
        self._stopped = False
        self._stop = None
        self.backoff.reset()

    async def run(
        self,
        session: Callable[[], Awaitable[object]],
        *,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
        on_retry: Callable[[BaseException | None, float], None] | None = None,
    ) -> None:
        """Run ``session()`` until :meth:`stop`; after each end, ``on_retry(error or None, pause)`` then the pause.

        An exception that is not in ``retry_on`` ends ``run`` with that exception.
        """
        if self._stop is None:
            self._stop = asyncio.Event()
            if self._stopped:
                self._stop.set()
        while not self._stopped:
            self._up_since = None
            error: BaseException | None = None
            try:
                await session()
            except retry_on as exc:
                error = exc
            if self._stopped:
                return
            if self._up_since is not None and self._clock() - self._up_since >= self.policy.stable_after:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            if on_retry is not None:
                on_retry(error, delay)
            await self._pause(delay)

    async def _pause(self, delay: float) -> None:
        assert self._stop is not None
        if self._stop.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task


def describe(error: BaseException | None) -> str:
    """Why a session ended, for the log: the error's text, or its kind when it has none."""
    if error is None:
        return "the connection ended"
    return str(error) or type(error).__name__
