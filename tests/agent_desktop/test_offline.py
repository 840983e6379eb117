"""The agent saves a contact while the database is away: it is kept, shown as pending, and sent once
the database is back (real PostgreSQL, made unavailable and available again)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from crm import db
from crm.models import Agent, Contact, Customer, PhoneNumber
from crm.repository import AgentView
from cti.sim import SimLink, SimPbx
from tests.agent_desktop.test_outbox import _set_connections
from tests.helpers.desktop_db import dispose_after_desktop_jobs


async def _run(fn) -> None:
    fn()


@pytest.mark.expect_log(logging.WARNING, "agent_desktop.outbox", match=r"^database unavailable, contact \w+ kept")
def test_a_contact_saved_during_an_outage_is_pending_then_sent(
    qtbot, pg_db_url: str, pg_server_url: str, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.connect(pg_db_url)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Ada Lovelace")
        customer.phones = [PhoneNumber(e164="+14155550100", is_primary=True)]
        s.add_all([customer, Agent(id=1, login="alice", name="Alice Morgan", extension="1001")])
    pbx = SimPbx(extensions=["1001"])
    thread = LinkThread(SimLink(pbx))
    thread.start()
    window = AgentWindow(agent=AgentView(1, "alice", "Alice Morgan", "agent", "1001"), link=thread,
                         directory=CustomerDirectory(factory),
                         outbox=ContactOutbox(factory, tmp_path / "outbox.jsonl"))
    qtbot.addWidget(window)
    database = make_url(pg_db_url).database
    assert database
    try:
        window.show()
        window.log_on()

        def ring() -> None:
            pbx.schedule_inbound(pbx.now, "+14155550100", "800", ring="1001")
            pbx.advance(pbx.now)

        with qtbot.waitSignal(window.screen_popped, timeout=10_000):
            thread.call_soon(_run(ring)).result(5)
        window.answer()
        qtbot.waitUntil(lambda: window.session.calls["sim-1"].answered_at is not None, timeout=5000)
        thread.call_soon(_run(lambda: pbx.far_hangup("sim-1"))).result(5)
        qtbot.waitUntil(lambda: window.wrap_up_work is not None, timeout=5000)
        window.disposition.setCurrentIndex(window.disposition.findData("resolved"))
        window.notes.setPlainText("Saved while the database was down")

        _set_connections(pg_server_url, database, allowed=False)
        try:
            with qtbot.waitSignal(window.contact_saved, timeout=20_000) as saved:
                window.save_contact()
            assert saved.args == [None], "kept on this computer, not lost"
            assert window.status.text().startswith("Database unavailable: the contact is kept on this computer")
            qtbot.waitUntil(lambda: window.pending_label.text() == "1 contact(s) waiting for the database",
                            timeout=5000)
            assert window.wrap_up_work is None, "the agent is free for the next call"
        finally:
            _set_connections(pg_server_url, database, allowed=True)

        window._flush_outbox()  # what the desktop's timer does every 10 s
        qtbot.waitUntil(lambda: window.pending_label.text() == "", timeout=20_000)
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Contact)) == 1
            assert s.scalar(select(Contact.notes)) == "Saved while the database was down"
        assert "database unavailable, contact" in caplog.text
    finally:
        window.close()
        thread.stop()
        dispose_after_desktop_jobs(engine)
