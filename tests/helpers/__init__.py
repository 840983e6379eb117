"""Helpers shared by the tests: waiting on a condition, fake time, and the log-failure plugin (:mod:`.logfail`).

``await until(lambda: link.sessions == 2)`` lets the event loop run until the condition holds, and
raises :class:`TimeoutError` naming the condition if it does not within ``timeout`` seconds. It polls
because the conditions are plain attributes of the code under test; where a test can wait on an
event, a future or a signal instead, it should.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from .logfail import Expectation, ExpectLog

__all__ = ["DEFAULT_TIMEOUT", "ExpectLog", "Expectation", "FakeTime", "until"]

#: How long ``until`` waits by default: long enough for a loaded machine, short enough to fail fast.
DEFAULT_TIMEOUT = 10.0


def _describe(condition: Callable[[], object]) -> str:
    code = getattr(condition, "__code__", None)
    if code is None:
        return repr(condition)
    return f"{getattr(condition, '__qualname__', 'condition')} ({code.co_filename}:{code.co_firstlineno})"


async def until(condition: Callable[[], object], timeout: float = DEFAULT_TIMEOUT, *, interval: float = 0.01) -> None:
    """Return once ``condition()`` is true; raise TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not true within {timeout:g} s: {_describe(condition)}")
        await asyncio.sleep(interval)


class FakeTime:
    """A clock that moves only when slept on (or when a test moves ``now``); records every pause.

    Give ``clock`` and ``sleep`` to the code under test (``bus.reconnect.Reconnector`` takes both):
    its pauses then cost no real time and are there to assert on.
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
