"""The reconnect driver, on a fake clock and a fake sleep: no test here waits for real."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from bus.reconnect import Backoff, BackoffPolicy, Reconnector, describe
from tests.helpers import FakeTime


def highest(low: float, high: float) -> float:
    return high


def lowest(low: float, high: float) -> float:
    return low


class Flaky(Exception):
    pass


def script(time: FakeTime, reconnector: Reconnector, plan: list[float | None]) -> Callable[[], object]:
    """A session per plan entry: None fails before it is up, a number is up that long then drops.

    After the plan, the reconnector is stopped (the link closes).
    """
    steps = iter(plan)

    async def session() -> None:
        step = next(steps, "stop")
        if step == "stop":
            reconnector.stop()
            return
        if step is None:
            raise Flaky("connection refused")
        reconnector.established()
        time.now += step
        raise Flaky("connection lost")

    return session


def run(reconnector: Reconnector, session: Callable[[], object], **kw: object) -> None:
    asyncio.run(asyncio.wait_for(reconnector.run(session, **kw), 5))  # type: ignore[arg-type]


def test_pauses_grow_by_the_growth_factor_up_to_the_cap() -> None:
    time = FakeTime()
    reconnector = Reconnector(BackoffPolicy(initial=0.5, cap=30.0), clock=time.clock, sleep=time.sleep,
                              uniform=highest)
    run(reconnector, script(time, reconnector, [None] * 7))
    assert time.pauses == [1.5, 4.5, 13.5, 30.0, 30.0, 30.0, 30.0]


def test_pauses_are_jittered_between_the_initial_pause_and_three_times_the_last() -> None:
    policy = BackoffPolicy(initial=0.5, cap=30.0)
    sequences = []
    for seed in range(20):
        backoff = Backoff(policy, uniform=random.Random(seed).uniform)
        delays = [backoff.next_delay() for _ in range(12)]
        previous = policy.initial
        for delay in delays:
            assert policy.initial <= delay <= min(policy.cap, 3 * previous)
            previous = delay
        sequences.append(tuple(delays))
    assert len(set(sequences)) == 20  # each link draws its own pauses: no thundering herd
    assert len({s[0] for s in sequences}) == 20  # not even the first pauses line up
    # growth on average: the later pauses are, taken together, much longer than the first ones
    assert sum(s[-1] for s in sequences) > 5 * sum(s[0] for s in sequences)


def test_the_lowest_draw_never_goes_below_the_initial_pause() -> None:
    backoff = Backoff(BackoffPolicy(initial=2.0, cap=5.0), uniform=lowest)
    assert [backoff.next_delay() for _ in range(3)] == [2.0, 2.0, 2.0]
    wild = Backoff(BackoffPolicy(initial=2.0, cap=5.0), uniform=lambda low, high: 1e9)
    assert [wild.next_delay() for _ in range(2)] == [5.0, 5.0]  # a bad draw is still capped


def test_a_session_that_stayed_up_long_enough_starts_the_pauses_over() -> None:
    time = FakeTime()
    reconnector = Reconnector(BackoffPolicy(initial=1.0, cap=60.0, stable_after=10.0), clock=time.clock,
                              sleep=time.sleep, uniform=highest)
    # three refusals, a good session of 10 s, two refusals, one session up for only 2 s, a refusal
    run(reconnector, script(time, reconnector, [None, None, None, 10.0, None, None, 2.0, None]))
    assert time.pauses == [3.0, 9.0, 27.0, 3.0, 9.0, 27.0, 60.0, 60.0]
    assert reconnector.sessions == 2


def test_a_session_that_never_came_up_does_not_reset_however_long_it_took() -> None:
    time = FakeTime()
    reconnector = Reconnector(BackoffPolicy(initial=1.0, cap=60.0, stable_after=5.0), clock=time.clock,
                              sleep=time.sleep, uniform=highest)

    async def slow_refusal() -> None:
        if len(time.pauses) == 3:
            reconnector.stop()
            return
        time.now += 30  # a connect that hangs until its timeout
        raise Flaky("timed out")

    run(reconnector, slow_refusal)
    assert time.pauses == [3.0, 9.0, 27.0]


def test_on_retry_hears_each_error_and_pause_and_other_errors_end_the_run() -> None:
    time = FakeTime()
    reconnector = Reconnector(BackoffPolicy(initial=1.0, cap=8.0), clock=time.clock, sleep=time.sleep,
                              uniform=highest)
    heard: list[tuple[str, float]] = []
    attempts = iter([Flaky("refused"), None, KeyError("a bug")])

    async def session() -> None:
        outcome = next(attempts)
        if outcome is not None:
            raise outcome

    with pytest.raises(KeyError, match="a bug"):
        run(reconnector, session, retry_on=(Flaky,), on_retry=lambda exc, delay: heard.append((describe(exc), delay)))
    assert heard == [("refused", 3.0), ("the connection ended", 8.0)]


def test_stop_ends_a_pause_at_once_and_no_session_follows() -> None:
    sessions = 0

    async def never(seconds: float) -> None:
        await asyncio.Future()  # a pause that would never end by itself

    reconnector = Reconnector(BackoffPolicy(initial=1.0, cap=1.0), sleep=never)

    async def session() -> None:
        nonlocal sessions
        sessions += 1
        raise Flaky("refused")

    async def main() -> None:
        runner = asyncio.create_task(reconnector.run(session))
        while sessions == 0:
            await asyncio.sleep(0)
        reconnector.stop()
        await asyncio.wait_for(runner, 1)

    asyncio.run(main())
    assert sessions == 1 and reconnector.stopped


def test_cancelling_the_run_ends_it_in_a_pause_and_leaves_no_task_behind() -> None:
    async def never(seconds: float) -> None:
        await asyncio.Future()

    reconnector = Reconnector(sleep=never)

    async def session() -> None:
        raise Flaky("refused")

    async def main() -> set[asyncio.Task[object]]:
        runner = asyncio.create_task(reconnector.run(session))
        for _ in range(5):
            await asyncio.sleep(0)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    assert asyncio.run(main()) == set()


def test_a_stopped_reconnector_runs_no_session_until_restarted() -> None:
    time = FakeTime()
    reconnector = Reconnector(BackoffPolicy(initial=1.0, cap=4.0), clock=time.clock, sleep=time.sleep,
                              uniform=highest)
    reconnector.stop()
    ran: list[int] = []

    async def session() -> None:
        ran.append(1)
        reconnector.stop()

    run(reconnector, session)
    assert ran == []
    reconnector.restart()
    run(reconnector, session)
    assert ran == [1] and time.pauses == []


@pytest.mark.parametrize(
    "policy",
    [dict(initial=0, cap=1), dict(initial=2, cap=1), dict(initial=1, cap=2, growth=1), dict(stable_after=-1)],
)
def test_nonsense_policies_are_refused(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(**policy)
