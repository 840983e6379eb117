"""Contacts survive a database outage: kept on disk, written once when it is back (real PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from agent_desktop.outbox import ContactOutbox
from crm import db
from crm.models import Channel, Contact, Customer, Order
from crm.repository import ContactRecord, OrderLine

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _record(ref: str, customer_id: int) -> ContactRecord:
    return ContactRecord(client_ref=ref, channel=Channel.VOICE_IN, started_at=NOW, ended_at=NOW,
                         disposition="order_placed", customer_id=customer_id,
                         orders=(OrderLine("Fibre 1000", Decimal("59.00")),))


def _set_connections(server_url: str, database: str, allowed: bool) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            c.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              f"WHERE datname = '{database}' AND pid <> pg_backend_pid()")
    admin.dispose()


@pytest.mark.expect_log(logging.WARNING, "agent_desktop.outbox", match=r"^database unavailable, contact c2 kept")
def test_contacts_wait_out_a_database_outage_and_are_written_once(
    pg_db_url: str, pg_server_url: str, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    db_url = pg_db_url
    database = make_url(db_url).database
    assert database
    engine = db.connect(db_url)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Ada")
        s.add(customer)
        s.flush()
        cid = customer.id
    outbox = ContactOutbox(factory, tmp_path / "alice.jsonl")
    assert outbox.save(_record("c1", cid)) is not None

    _set_connections(pg_server_url, database, allowed=False)
    try:
        assert outbox.save(_record("c2", cid)) is None
        assert outbox.save(_record("c3", cid)) is None
        assert outbox.pending == 2
        assert "database unavailable, contact c2 kept locally" in caplog.text
        # The desktop restarts meanwhile: the pending contacts are read back from disk.
        outbox = ContactOutbox(factory, tmp_path / "alice.jsonl")
        assert outbox.pending == 2 and outbox.flush() == 0
    finally:
        _set_connections(pg_server_url, database, allowed=True)

    assert outbox.flush() == 2 and outbox.pending == 0
    assert outbox.flush() == 0
    with factory() as s:
        assert sorted(s.scalars(select(Contact.client_ref))) == ["c1", "c2", "c3"]
        assert s.scalar(select(func.count()).select_from(Order)) == 3
    engine.dispose()


@pytest.mark.expect_log(logging.ERROR, "agent_desktop.outbox", match=r"^pending contact gone refused: no customer")
def test_a_refused_pending_contact_is_set_aside_not_blocking(db_url: str, tmp_path, caplog) -> None:
    engine = db.connect(db_url)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Ada")
        s.add(customer)
        s.flush()
        cid = customer.id
    path = tmp_path / "bob.jsonl"
    import json

    from agent_desktop.outbox import record_to_json

    path.write_text("\n".join(json.dumps(record_to_json(r)) for r in [_record("gone", 999_999), _record("ok", cid)]))
    outbox = ContactOutbox(factory, path)
    assert outbox.flush() == 1 and outbox.pending == 0
    assert "pending contact gone refused" in caplog.text
    assert "gone" in outbox.rejected.read_text()
    engine.dispose()
