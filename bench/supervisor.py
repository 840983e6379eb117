"""The supervisor window under load: 2,000 agents and 100 queues changing at 200 events a second.

A producer thread publishes ``agent.state`` messages (200 a second, random agents, states and reasons)
and every queue's ``queue.stats`` once a second (100 a second, as the ACD does) through the window's
feeds, as the bus thread does in production; the window (offscreen, shown, 1400×900) coalesces them.
Printed:

- **screen updates/s**: flushes of the agents table that changed rows (the target is at least 5);
- **update time** mean and p95: the GUI-thread time of one flush of the tables and tiles, with the
  repaint it causes (``QWidget.repaint`` of the window, forced, so the cost of drawing is included);
- **longest event-loop stall**: the worst lateness of a 20 ms timer on the GUI thread;
- **tile re-sorts** and the longest one: the tiles moved into their order (trouble first), with the
  repaint that follows (forced);
- **GUI-thread CPU**: ``time.thread_time()`` of the GUI thread over the wall time (the target is under 30%).

The target figures are the issue's; the benchmark prints and does not judge. ``--quick`` runs 5 s,
the full run 30 s.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time

Row = tuple[str, float | int | str, str]

AGENTS = 2_000
QUEUES = 100
EVENTS_PER_S = 200
STATES = ("ready", "busy", "wrap_up", "not_ready")
REASONS = ("Break", "Lunch", "Training", "Meeting")


def run(quick: bool = False) -> list[Row]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from agent_desktop.app import application, route_qt_messages_to_logging
    from agent_desktop.queues import QueueStatsFeed
    from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow
    from bus.messages import AgentState, QueueStats

    duration = 5.0 if quick else 30.0
    route_qt_messages_to_logging()  # the offscreen platform's notes are no figures of the benchmark
    app = QApplication.instance() or application(style="light", language="en")
    queues, agents = QueueStatsFeed(), AgentStateFeed()
    teams = {f"agent{n:04d}": f"team{n % 20:02d}" for n in range(AGENTS)}
    window = SupervisorWindow(queue_stats=queues, agent_states=agents, teams=teams)
    window.resize(1400, 900)
    window.show()
    rng = random.Random(7)
    now = time.time()
    for n in range(AGENTS):
        agents.publish(AgentState(agent_id=f"agent{n:04d}", state="ready", ts=now))
    for q in range(QUEUES):
        queues.publish(QueueStats(queue=f"queue{q:03d}", ts=now, sl_target=0.8, sl_seconds=20))
    window.flush()
    app.processEvents()

    update_times: list[float] = []
    changed_flushes = 0
    original_flush = window.agents.flush

    def timed_flush() -> None:
        nonlocal changed_flushes
        pending = bool(window.agents._pending)
        clock = QElapsedTimer()
        clock.start()
        original_flush()
        window.tiles.flush()
        if pending:
            window.repaint()  # draw now, so the cost of painting counts in this update
            changed_flushes += 1
            update_times.append(clock.nsecsElapsed() / 1e6)

    resorts: list[float] = []
    original_lay_out = window.tiles._lay_out

    def timed_lay_out(*, force: bool = False) -> None:
        clock = QElapsedTimer()
        clock.start()
        before = list(window.tiles._shown)
        original_lay_out(force=force)
        if window.tiles._shown != before:
            inner = window.tiles.widget()
            layout = inner.layout() if inner is not None else None
            if layout is not None:
                layout.activate()  # the geometry work, which Qt would otherwise do at its next event
            window.repaint()
            resorts.append(clock.nsecsElapsed() / 1e6)

    window.tiles._lay_out = timed_lay_out  # type: ignore[method-assign]
    window.tiles._relayout.timeout.disconnect()
    window.tiles._relayout.timeout.connect(timed_lay_out)
    window.agents.flush = timed_flush  # type: ignore[method-assign]
    window.agents._timer.timeout.disconnect()
    window.agents._timer.timeout.connect(timed_flush)

    stop = threading.Event()

    def produce() -> None:
        sent = 0
        start = time.monotonic()
        next_stats = start
        while not stop.is_set():
            elapsed = time.monotonic() - start
            due = int(elapsed * EVENTS_PER_S)
            while sent < due:
                n = rng.randrange(AGENTS)
                state = rng.choice(STATES)
                agents.publish(AgentState(agent_id=f"agent{n:04d}", state=state, ts=time.time(),
                                          reason=rng.choice(REASONS) if state == "not_ready" else None,
                                          call_id=f"c{sent}" if state == "busy" else None))
                sent += 1
            if time.monotonic() >= next_stats:
                t = time.time()
                for q in range(QUEUES):
                    queues.publish(QueueStats(queue=f"queue{q:03d}", ts=t, waiting=rng.randrange(12),
                                              longest_wait_s=rng.uniform(0, 90), offered=sent, answered=sent,
                                              service_level=rng.uniform(0.6, 1.0),
                                              service_level_15m=rng.uniform(0.5, 1.0), sl_target=0.8, sl_seconds=20,
                                              agents_ready=rng.randrange(20), agents_busy=rng.randrange(20)))
                next_stats += 1.0
            time.sleep(0.005)

    stalls: list[float] = []
    last = [time.monotonic()]

    def beat() -> None:
        t = time.monotonic()
        stalls.append(max(0.0, (t - last[0]) * 1000 - 20))
        last[0] = t

    heart = QTimer(interval=20)
    heart.timeout.connect(beat)
    producer = threading.Thread(target=produce, name="bench-supervisor-producer", daemon=True)
    loop = QEventLoop()
    QTimer.singleShot(int(duration * 1000), loop.quit)
    cpu0, wall0 = time.thread_time(), time.monotonic()
    heart.start()
    producer.start()
    loop.exec()
    cpu, wall = time.thread_time() - cpu0, time.monotonic() - wall0
    stop.set()
    producer.join()
    heart.stop()
    window.close()
    app.processEvents()
    p95 = statistics.quantiles(update_times, n=20)[-1] if len(update_times) >= 20 else max(update_times, default=0)
    return [
        ("agents / queues", f"{AGENTS:,} / {QUEUES}", ""),
        ("agent events", EVENTS_PER_S, "per s"),
        ("queue statistics", QUEUES, "per s"),
        ("screen updates", round(changed_flushes / wall, 1), "per s (target >= 5)"),
        ("update time, mean", round(statistics.fmean(update_times), 2) if update_times else 0.0, "ms"),
        ("update time, p95", round(p95, 2), "ms"),
        ("longest event-loop stall", round(max(stalls, default=0.0), 1), "ms"),
        ("tile re-sorts", len(resorts), ""),
        ("tile re-sort, mean", round(statistics.fmean(resorts), 1) if resorts else 0.0, "ms (with the repaint)"),
        ("tile re-sort, longest", round(max(resorts, default=0.0), 1), "ms (with the repaint)"),
        ("GUI-thread CPU", round(100 * cpu / wall, 1), "% (target < 30)"),
    ]
