"""The agent desktop driven for ``bench.desktop``, in-process or as a fresh process of its own.

``python -m bench._desktop_child start DB_URL`` imports the app, opens the database, builds and
shows the :class:`~agent_desktop.workstation.AgentWindow` on the simulated PBX, runs one event-loop
pass and prints one JSON line ``{"import_s", "ready_s"}`` (seconds since this module started).

``python -m bench._desktop_child memory DB_URL CALLS WARM_UP`` takes ``CALLS`` calls spread over one
simulated hour (ring, screen pop, answer, an order on every third call, far-end hang-up, wrap-up,
contact saved) and prints one JSON line with resident memory at start, after ``WARM_UP`` calls and
at the end.

Qt is imported inside functions only, so importing this module costs nothing.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import gc  # noqa: E402 - the start time is taken before anything else is imported
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from agent_desktop.telephony import LinkThread
    from agent_desktop.workstation import AgentWindow
    from cti.sim import SimPbx

EXTENSION = "1001"


def rss_mb() -> float:
    """This process's resident set size (VmRSS), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def caller_numbers(engine: Engine, count: int, random_seed: int = 5) -> list[str]:
    """Phone numbers of ``count`` random known customers."""
    from sqlalchemy import func, select

    from crm.models import PhoneNumber

    rng = random.Random(random_seed)
    with engine.connect() as c:
        top = int(c.scalar(select(func.max(PhoneNumber.id))) or 0)
        ids = [rng.randint(1, top) for _ in range(count * 2)]
        rows = c.execute(select(PhoneNumber.id, PhoneNumber.e164).where(PhoneNumber.id.in_(ids)))
        found = {int(r[0]): str(r[1]) for r in rows}
    numbers = [found[i] for i in ids if i in found]
    if len(numbers) < count:
        raise RuntimeError("not enough phone numbers in the database")
    return numbers[:count]


async def _call(fn: Callable[[], object]) -> None:
    fn()


@dataclass
class Desk:
    """An agent window on the simulated PBX, with the timestamps the benchmark needs."""

    window: AgentWindow
    pbx: SimPbx
    link: LinkThread
    engine: Engine
    alerted: dict[str, float] = field(default_factory=dict)  # call id -> alerting reached the GUI thread
    popped: dict[str, float] = field(default_factory=dict)  # call id -> screen_popped
    rung: list[float] = field(default_factory=list)  # the PBX emitted alerting (link thread), per ring
    order: list[str] = field(default_factory=list)  # call ids in the order they alerted
    marks: list[tuple[str, float]] = field(default_factory=list)  # ("found" | "loaded", time) from workers
    saved: int = 0

    def on_event(self, event: Any) -> None:
        if str(getattr(event, "type", "")) == "call.alerting" and getattr(event, "extension", None) == EXTENSION:
            self.alerted.setdefault(event.call_id, time.perf_counter())
            self.order.append(event.call_id)

    def on_popped(self, call_id: str) -> None:
        self.popped.setdefault(call_id, time.perf_counter())

    def on_saved(self, _saved: object) -> None:
        self.saved += 1

    def on_link(self, fn: Callable[[], object]) -> None:
        """Act on the PBX from the link's own thread, and wait until done."""
        self.link.call_soon(_call(fn)).result(10)

    def wait(self, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        """Run the Qt event loop until ``condition`` holds; raise TimeoutError after ``timeout_s``."""
        from PySide6.QtCore import QEventLoop, QTimer

        if condition():
            return
        loop = QEventLoop()
        deadline = time.monotonic() + timeout_s

        def check() -> None:
            if condition() or time.monotonic() > deadline:
                loop.quit()

        poll = QTimer(interval=1)
        poll.timeout.connect(check)
        poll.start()
        loop.exec()
        poll.stop()
        if not condition():
            raise TimeoutError(f"the desktop did not get there within {timeout_s:.0f} s")

    def ring(self, number: str) -> str:
        """A call from ``number`` rings the agent; returns its call id once the screen has popped."""
        before = len(self.order)
        self.marks.clear()

        def arrive() -> None:
            self.pbx.schedule_inbound(self.pbx.now, number, "800", ring=EXTENSION, queue="billing")
            self.rung.append(time.perf_counter())
            self.pbx.advance(self.pbx.now)

        self.link.call_soon(_call(arrive))  # not waited for: the GUI thread goes straight back to its loop
        self.wait(lambda: len(self.order) > before and self.order[before] in self.popped)
        return self.order[before]

    def far_hangup(self, call_id: str) -> None:
        self.on_link(lambda: self.pbx.far_hangup(call_id))
        self.wait(lambda: call_id not in self.window.session.calls)

    def advance(self, seconds: float) -> None:
        self.on_link(lambda: self.pbx.advance(self.pbx.now + seconds))

    def close(self) -> None:
        self.window.close()
        self.link.stop()
        self.window.deleteLater()


def _timed_directory(factory: Any, marks: list[tuple[str, float]]) -> Any:
    """A CustomerDirectory that notes when each look-up ends (on its worker thread)."""
    from agent_desktop.customer_window import CustomerDirectory

    class TimedDirectory(CustomerDirectory):
        def find_by_phone(self, number: str) -> Any:
            found = CustomerDirectory.find_by_phone(self, number)
            marks.append(("found", time.perf_counter()))
            return found

        def load(self, customer_id: int) -> Any:
            view = CustomerDirectory.load(self, customer_id)
            marks.append(("loaded", time.perf_counter()))
            return view

    return TimedDirectory(factory)


def build_desk(engine: Engine, workdir: Path) -> Desk:
    """An agent (the seeded one on extension 1001) logged on to a shown AgentWindow; SimLink started."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from agent_desktop.app import application, route_qt_messages_to_logging
    from agent_desktop.outbox import ContactOutbox
    from agent_desktop.telephony import LinkThread
    from agent_desktop.workstation import AgentWindow
    from crm import db, repository
    from cti.sim import SimLink, SimPbx

    route_qt_messages_to_logging()
    application()
    factory = db.session_factory(engine)
    with factory() as session:
        agent = next(a for a in repository.list_agents(session) if a.extension == EXTENSION)
    pbx = SimPbx(extensions=[EXTENSION, "1002"])
    link = LinkThread(SimLink(pbx))
    desk_hooks: list[Callable[[Any], None]] = []
    # Connected before the window's own slot, so the time is taken as the event reaches the GUI thread.
    link.event_received.connect(lambda event: desk_hooks[0](event) if desk_hooks else None)
    link.start()
    marks: list[tuple[str, float]] = []
    window = AgentWindow(agent=agent, link=link, directory=_timed_directory(factory, marks),
                         outbox=ContactOutbox(factory, workdir / "outbox.jsonl"), wrap_up_seconds=60)
    desk = Desk(window, pbx, link, engine, marks=marks)
    desk_hooks.append(desk.on_event)
    window.screen_popped.connect(desk.on_popped)
    window.contact_saved.connect(desk.on_saved)
    window.show()
    QApplication.processEvents()
    window.log_on()
    return desk


def take_call(desk: Desk, number: str, *, order: bool, talk_s: float) -> None:
    """One whole inbound call: pop, answer, talk (an order if asked), far-end hang-up, wrap-up, saved."""
    from agent_desktop.session import CallPhase
    from bus.messages import AgentStateName
    from crm.repository import OrderLine

    w = desk.window
    call_id = desk.ring(number)
    w.answer()
    desk.wait(lambda: (c := w.session.calls.get(call_id)) is not None and c.phase is CallPhase.CONNECTED)
    if order and w.work.get(call_id) is not None and w.work[call_id].customer is not None:
        w.add_order(OrderLine("5G upgrade", Decimal("30.00")))
    desk.advance(talk_s)
    saved = desk.saved
    desk.on_link(lambda: desk.pbx.far_hangup(call_id))
    desk.wait(lambda: w.wrap_up_work is not None and w.session.state is AgentStateName.WRAP_UP)
    w.disposition.setCurrentIndex(1)
    w.notes.setPlainText(f"Bench call {call_id}: customer asked about the bill.")
    w.save_contact()
    desk.wait(lambda: desk.saved > saved and w.session.state is AgentStateName.READY)


def _start(url: str) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import PySide6.QtWidgets  # noqa: F401 - imported here to be counted in the import time

    import agent_desktop.workstation  # noqa: F401
    from crm import db

    imported = time.perf_counter() - STARTED
    from PySide6.QtWidgets import QApplication

    engine = db.connect(url)
    with tempfile.TemporaryDirectory() as workdir:
        desk = build_desk(engine, Path(workdir))
        QApplication.processEvents()
        ready = time.perf_counter() - STARTED
        print(json.dumps({"import_s": imported, "ready_s": ready}), flush=True)
        desk.close()
    engine.dispose()
    return {"import_s": imported, "ready_s": ready}


def _memory(url: str, calls: int, warm_up: int) -> dict[str, float]:
    from bus.messages import AgentStateName
    from crm import db

    engine = db.connect(url)
    numbers = caller_numbers(engine, calls, random_seed=17)
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as workdir:
        desk = build_desk(engine, Path(workdir))
        w = desk.window
        w.go_ready()
        desk.wait(lambda: w.session.state is AgentStateName.READY)
        gc.collect()
        result: dict[str, float] = {"rss_start_mb": rss_mb(), "children_start": float(len(w.children()))}
        none_refs, bool_refs = sys.getrefcount(None), sys.getrefcount(True) + sys.getrefcount(False)
        per_call = 3600.0 / calls
        started = time.perf_counter()
        for n, number in enumerate(numbers, start=1):
            take_call(desk, number, order=n % 3 == 0, talk_s=per_call * rng.uniform(0.6, 0.9))
            desk.advance(max(0.0, per_call - 0.9 * per_call))
            if n == warm_up:
                gc.collect()
                result["rss_warm_mb"] = rss_mb()
                result["children_warm"] = float(len(w.children()))
        gc.collect()
        result |= {"rss_end_mb": rss_mb(), "children_end": float(len(w.children())), "calls": float(calls),
                   "warm_up": float(warm_up), "seconds": time.perf_counter() - started,
                   "simulated_s": desk.pbx.now, "saved": float(desk.saved),
                   "none_refs_dropped_per_call": (none_refs - sys.getrefcount(None)) / calls,
                   "bool_refs_dropped_per_call":
                       (bool_refs - sys.getrefcount(True) - sys.getrefcount(False)) / calls}
        desk.close()
    engine.dispose()
    print(json.dumps(result), flush=True)
    return result


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "start":
        _start(argv[1])
        return 0
    if len(argv) >= 4 and argv[0] == "memory":
        _memory(argv[1], int(argv[2]), int(argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
