"""Background operations and hand-overs to the GUI thread: no crash when what asked is gone, and
everything the GUI owns is freed on the GUI thread."""

from __future__ import annotations

import threading
from typing import ClassVar

import shiboken6
from PySide6.QtCore import QObject

from agent_desktop.workers import io_pool, mailbox, post, run_in_background


class _Tracked:
    """Notes on which thread it was freed."""

    freed_on: ClassVar[list[str]] = []

    def __del__(self) -> None:
        _Tracked.freed_on.append(threading.current_thread().name)


def test_the_outcome_reaches_the_gui_thread(qtbot) -> None:
    parent = QObject()
    results: list[tuple[str, object]] = []
    run_in_background(parent, lambda a, b: (threading.current_thread().name, a + b), 2, 3,
                      done=lambda r: results.append(("done", r)), failed=lambda e: results.append(("x", e)))
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert len(results) == 1
    kind, (worker, total) = results[0]  # type: ignore[misc]
    assert (kind, total) == ("done", 5) and worker != threading.main_thread().name


def test_a_failure_comes_back_as_the_exception(qtbot) -> None:
    parent = QObject()

    def boom() -> None:
        raise ValueError("no such customer")

    errors: list[Exception] = []
    run_in_background(parent, boom, done=lambda _r: None, failed=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ValueError) and str(errors[0]) == "no such customer"


def test_nothing_is_reported_to_a_parent_deleted_while_the_work_runs(qtbot) -> None:
    release = threading.Event()
    parent = QObject()
    reported: list[object] = []
    run_in_background(parent, release.wait, 10, done=reported.append, failed=reported.append)
    shiboken6.delete(parent)  # the window closed while its look-up was still running
    release.set()
    assert io_pool().waitForDone(5000)
    # The outcome travelled back through the mailbox: one more round of events delivers it (or not).
    delivered = threading.Event()
    mailbox().post(None, delivered.set)
    qtbot.waitUntil(delivered.is_set, timeout=5000)
    assert reported == []


def test_what_the_gui_owns_is_freed_on_the_gui_thread(qtbot) -> None:
    _Tracked.freed_on.clear()
    parent = QObject()
    done: list[bool] = []

    class Job(_Tracked):
        def __call__(self, argument: _Tracked) -> _Tracked:
            return _Tracked()

    run_in_background(parent, Job(), _Tracked(), done=lambda _r: done.append(True), failed=lambda _e: None)
    qtbot.waitUntil(lambda: bool(done) and len(_Tracked.freed_on) == 3, timeout=5000)
    # the function, its argument and its result: all three freed by the GUI thread, and no object
    # is left behind per call
    assert _Tracked.freed_on == [threading.main_thread().name] * 3
    assert parent.children() == []


def test_many_operations_whose_windows_close_at_every_moment_never_crash(qtbot) -> None:
    parents = [QObject() for _ in range(300)]
    reported: list[int] = []
    for number, parent in enumerate(parents):
        run_in_background(parent, lambda n: n, number, done=reported.append, failed=lambda _e: None)
        if number % 3 == 0:
            shiboken6.delete(parent)  # deleted while queued, while running, or after it reported
    qtbot.waitUntil(lambda: len(reported) == 200, timeout=10_000)
    assert sorted(reported) == [n for n in range(300) if n % 3 != 0]


def test_posts_from_another_thread_arrive_in_order_and_skip_a_deleted_context(qtbot) -> None:
    box = mailbox()
    alive, gone = QObject(), QObject()
    seen: list[tuple[str, int]] = []

    def sender() -> None:
        for n in range(100):
            box.post(alive, lambda n=n: seen.append((threading.current_thread().name, n)))
            box.post(gone, lambda n=n: seen.append(("gone", n)))

    shiboken6.delete(gone)
    thread = threading.Thread(target=sender, name="sender")
    thread.start()
    thread.join(5)
    qtbot.waitUntil(lambda: len(seen) == 100, timeout=5000)
    assert seen == [(threading.main_thread().name, n) for n in range(100)]


def test_post_on_the_gui_thread_calls_at_once(qtbot) -> None:
    calls: list[int] = []
    post(None, calls.append, 1)
    assert calls == [1]


def test_cycles_are_collected_on_the_gui_thread_only(qtbot) -> None:
    import gc

    mailbox()
    assert not gc.isenabled(), "automatic collection (in whatever thread allocates) is off"
    collections: list[str] = []

    def note(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(threading.current_thread().name)

    def churn() -> int:
        made = []
        for _ in range(50_000):  # far past the collector's first threshold
            cycle: list[object] = []
            cycle.append(cycle)
            made.append(len(cycle))
        return len(made)

    _Tracked.freed_on.clear()
    cycle: list[object] = [_Tracked()]
    cycle.append(cycle)
    del cycle
    gc.callbacks.append(note)
    try:
        done: list[int] = []
        parent = QObject()
        run_in_background(parent, churn, done=done.append, failed=lambda _e: None)
        qtbot.waitUntil(lambda: bool(done) and bool(_Tracked.freed_on), timeout=10_000)
    finally:
        gc.callbacks.remove(note)
    assert collections and set(collections) == {threading.main_thread().name}
    assert _Tracked.freed_on == [threading.main_thread().name]
