"""A database host that accepts connections and never answers must not freeze the agent's screen.

A refused connection fails at once; a host that takes the connection and then says nothing makes
every database call wait for its time-out. The whole call, from the screen pop to the saved
contact, runs against such a host here while a timer on the GUI thread measures how long the event
loop ever went without turning.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from crm import db
from crm.repository import AgentView
from cti.sim import SimLink, SimPbx

#: The longest the GUI thread may go without handling events.
MAX_STALL_S = 0.100


class SilentHost:
    """Accepts TCP connections on loopback and never sends a byte."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="silent-host", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._held.append(connection)
            self.accepted += 1

    def close(self) -> None:
        self._server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), which then fails
        self._thread.join(5)
        assert not self._thread.is_alive()
        self._server.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def silent_host() -> Iterator[SilentHost]:
    host = SilentHost()
    yield host
    host.close()


class StallMeter:
    """Ticks every 10 ms on the GUI thread and keeps the longest gap between two ticks."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.monotonic()
        self._timer = QTimer(interval=10)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = time.monotonic()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()


async def _run(fn) -> None:
    fn()


@pytest.mark.expect_log(logging.WARNING, "agent_desktop.outbox", match=r"^database unavailable, contact \w+ kept")
def test_a_silent_database_host_never_freezes_the_screen(
    qtbot, tmp_path, silent_host: SilentHost, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.connect(f"postgresql+psycopg://ccenter@127.0.0.1:{silent_host.port}/ccenter", check=False)
    factory = db.session_factory(engine)
    pbx = SimPbx(extensions=["1001"])
    thread = LinkThread(SimLink(pbx))
    thread.start()
    outbox = ContactOutbox(factory, tmp_path / "outbox.jsonl")
    window = AgentWindow(agent=AgentView(1, "alice", "Alice Morgan", "agent", "1001"), link=thread,
                         directory=CustomerDirectory(factory), outbox=outbox)
    qtbot.addWidget(window)
    meter = StallMeter()
    try:
        window.show()
        qtbot.waitExposed(window)
        window.log_on()
        meter.start()

        def ring() -> None:
            pbx.schedule_inbound(pbx.now, "+14155550100", "800", ring="1001")
            pbx.advance(pbx.now)

        thread.call_soon(_run(ring)).result(5)
        qtbot.waitUntil(lambda: "sim-1" in window.session.calls, timeout=5000)
        window.answer()
        qtbot.waitUntil(lambda: window.session.calls["sim-1"].answered_at is not None, timeout=5000)
        thread.call_soon(_run(lambda: pbx.far_hangup("sim-1"))).result(5)
        qtbot.waitUntil(lambda: window.wrap_up_work is not None, timeout=5000)
        window.disposition.setCurrentIndex(window.disposition.findData("resolved"))
        window.notes.setPlainText("Saved while the database host was silent")
        # The screen-pop look-ups are waiting on the silent host now; saving adds the contact's write.
        with qtbot.waitSignal(window.contact_saved, timeout=30_000) as saved:
            window.save_contact()
        assert saved.args == [None], "kept on this computer once the write timed out"
        qtbot.waitUntil(lambda: window.pending_label.text() == "1 contact(s) waiting for the database",
                        timeout=5000)
        meter.stop()
        assert silent_host.accepted >= 2, "the look-up and the save both went to the silent host"
        assert meter.longest < MAX_STALL_S, f"the GUI thread stalled {meter.longest * 1000:.0f} ms"
        assert outbox.pending == 1
        assert "database unavailable, contact" in caplog.text
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a silent database is no program error"
    finally:
        meter.stop()
        window.close()
        thread.stop()
        with contextlib.suppress(Exception):
            engine.dispose()
