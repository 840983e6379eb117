"""A PostgreSQL primary fails and its streaming-replication standby is promoted: nothing is lost.

A private pair on loopback (``initdb``, ``pg_basebackup -R``), never the machine's own cluster. The
processes are given the libpq multi-host URL ``postgresql://h1:p1,h2:p2/db?target_session_attrs=
read-write``: while the primary is down and the standby not yet promoted there is no writable host
(a desktop keeps its contact in its outbox); once the standby is promoted the same engines, without a
restart, write to it (pooled connections to the dead primary are dropped by their pre-ping).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from agent_desktop.outbox import ContactOutbox
from crm import db, repository
from crm.errors import DatabaseUnavailable
from crm.models import Channel, Contact, Customer, Order, PhoneNumber
from crm.repository import ContactRecord, OrderLine
from tests.helpers.private_services import pg_streaming_pair, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _record(ref: str, customer_id: int) -> ContactRecord:
    return ContactRecord(client_ref=ref, channel=Channel.VOICE_IN, started_at=NOW, ended_at=NOW,
                         disposition="order_placed", customer_id=customer_id,
                         orders=(OrderLine("Fibre 1000", Decimal("59.00")),))


def test_multi_host_urls_are_passed_to_libpq_and_shown_without_the_password() -> None:
    url = "postgresql://ccenter:s3cret@db1:5432,db2:5433/ccenter?target_session_attrs=read-write"
    assert db.normalize_url(url) == (
        "postgresql+psycopg://ccenter:s3cret@/ccenter?host=db1:5432&host=db2:5433&target_session_attrs=read-write")
    shown = db.safe_url(url)
    assert "s3cret" not in shown and "host=db1:5432&host=db2:5433" in shown
    # A single host, SQLite and the ?host= form itself are left as they are.
    assert db.normalize_url("postgresql://u@db1/x") == "postgresql+psycopg://u@db1/x"
    assert db.normalize_url("sqlite:///a,b.db") == "sqlite:///a,b.db"
    same = "postgresql+psycopg://u@/x?host=a:1&host=b:2"
    assert db.normalize_url(same) == same


@pytest.mark.expect_log(logging.WARNING, "agent_desktop.outbox", match=r"^database unavailable, contact during kept")
def test_the_standby_is_promoted_and_the_desktop_and_servers_write_to_it_with_nothing_lost(tmp_path: Path) -> None:
    with pg_streaming_pair() as pair:
        admin = create_engine(pair.primary.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql('CREATE DATABASE "ccenter"')
        admin.dispose()
        url = pair.multi_host_url("ccenter")
        # Each process holds one engine for its life, as the desktop and the servers do.
        engine = db.connect(url)
        db.upgrade(engine)
        factory = db.session_factory(engine)
        with db.transaction(factory) as s:
            customer = Customer(name="Ada Lovelace")
            customer.phones = [PhoneNumber(e164="+14155550100", is_primary=True)]
            s.add(customer)
        outbox = ContactOutbox(factory, tmp_path / "outbox.jsonl")
        assert outbox.save(_record("before", customer.id)) is not None

        # Everything written so far has reached the standby before the primary goes.
        lsn = pair.primary.psql("SELECT pg_current_wal_lsn()")
        wait_until(lambda: pair.standby.psql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") == "t", timeout=30)
        pair.primary.stop()

        # No writable host now: the standby is read-only, so libpq refuses it for read-write sessions.
        assert outbox.save(_record("during", customer.id)) is None
        assert outbox.pending == 1
        with pytest.raises(DatabaseUnavailable), db.answering(), db.transaction(factory) as s:
            s.add(Customer(name="Server write during the switch"))

        pair.promote_standby()
        # The same engine, not restarted, now reaches the promoted standby: the desktop's outbox
        # drains, and a server's write goes through.
        wait_until(lambda: outbox.flush() >= 0 and outbox.pending == 0, timeout=30)
        assert outbox.save(_record("after", customer.id)) is not None
        with db.answering(), db.transaction(factory) as s:
            repository.save_contact(s, _record("server-after", customer.id))

        with factory() as s:
            refs = sorted(str(ref) for ref in s.scalars(select(Contact.client_ref)))
            assert refs == ["after", "before", "during", "server-after"]
            assert s.scalar(select(func.count()).select_from(Order)) == 4
            assert s.scalar(select(func.count()).select_from(Customer)) == 1
            port = s.connection().exec_driver_sql("SELECT inet_server_port()").scalar()
        assert port == pair.standby.port
        assert pair.standby.psql("SELECT pg_is_in_recovery()") == "f"
        engine.dispose()
