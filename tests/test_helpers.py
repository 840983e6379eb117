"""The shared test helpers (tests/helpers)."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import FakeTime, until


def test_until_returns_once_the_condition_holds_and_lets_the_loop_run() -> None:
    async def main() -> int:
        done: list[int] = []
        asyncio.get_running_loop().call_later(0.05, done.append, 1)
        await until(lambda: done, timeout=5)
        return len(done)

    assert asyncio.run(main()) == 1


def test_until_names_the_condition_it_gave_up_on() -> None:
    def never_ready() -> bool:
        return False

    with pytest.raises(TimeoutError, match=r"not true within 0.05 s: .*never_ready \(.*test_helpers.py:\d+\)"):
        asyncio.run(until(never_ready, timeout=0.05))


def test_fake_time_moves_only_when_slept_on() -> None:
    time = FakeTime(now=10.0)
    asyncio.run(time.sleep(2.5))
    assert time.clock() == 12.5 and time.pauses == [2.5]
