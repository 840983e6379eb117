"""IVR session records in the database and the containment report (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from ccenter.cli import main
from crm import db, repository
from crm.models import Customer, IvrSession
from ivr.record import ExitPoint, SessionRecord
from ivr.reporting import SessionStore, to_crm

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()


def _record(call: str, exit_: ExitPoint, *, customer: str | None = None, intent: str | None = "billing",
            at: float = T0) -> SessionRecord:
    return SessionRecord(call_id=call, flow="telecom", caller="+14155550100", started_at=at, ended_at=at + 40,
                         exit=exit_, exit_node="goodbye", path=("welcome", "language", "main_menu"),
                         menu_path=("language:en", "main:billing"), language="en", customer_id=customer,
                         verified=True, intent=intent, self_service=("balance",))


def test_records_are_stored_and_reported(engine: Engine, capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Ada")
        s.add(customer)
        s.flush()
        cid = str(customer.id)
    store = SessionStore(db.session_factory(engine))
    store.store(_record("sim-1", ExitPoint.SELF_SERVED, customer=cid))
    store.store(_record("sim-2", ExitPoint.TRANSFERRED, intent="cancel"))
    store.store(_record("sim-3", ExitPoint.SELF_SERVED, customer="crm-ext-77"))  # outside id: no link
    store.store(_record("sim-4", ExitPoint.ABANDONED, at=T0 - 3 * 86400))  # outside the window
    with db.session_factory(engine)() as s:
        rows = {r.cti_call_id: r for r in s.scalars(select(IvrSession))}
        assert rows["sim-1"].customer_id == int(cid) and rows["sim-3"].customer_id is None
        assert rows["sim-1"].menu_path == ["language:en", "main:billing"]
        report = repository.ivr_report(s, since=datetime.fromtimestamp(T0, UTC) - timedelta(hours=1),
                                       until=datetime.fromtimestamp(T0, UTC) + timedelta(hours=1))
    assert report.sessions == 3 and report.by_exit == {"self_served": 2, "transferred": 1}
    assert report.containment_rate == pytest.approx(2 / 3) and report.mean_duration_s == pytest.approx(40)
    assert report.by_intent == {"billing": 2, "cancel": 1}
    assert main(["ivr", "report", "--db", db_url, "--since", "2026-11-23T08:00Z", "--until", "2026-11-23T10:00Z"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["sessions"] == 3 and body["containment_rate"] == pytest.approx(2 / 3)
    assert main(["ivr", "report", "--db", db_url, "--since", "yesterday"]) == 1
    assert "not a time: 'yesterday'" in capsys.readouterr().err


def test_to_crm_converts_times_and_ids() -> None:
    record = to_crm(_record("sim-9", ExitPoint.CALLBACK, customer="12"))
    assert record.started_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert (record.exit, record.customer_id, record.path) == ("callback", 12, ("welcome", "language", "main_menu"))


@pytest.mark.expect_log(logging.WARNING, "ivr.reporting", match=r"^database unavailable, IVR session sim-5 ")
def test_a_database_that_fails_keeps_the_record_for_later_and_the_call_goes_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = db.connect(url)  # no schema yet: every write fails
    outbox = tmp_path / "ivr.jsonl"
    try:
        SessionStore(db.session_factory(engine), outbox).store(_record("sim-5", ExitPoint.TRANSFERRED))
        store = SessionStore(db.session_factory(engine), outbox)  # the IVR restarted: read again
        assert store.outbox.pending == 1 and store.flush() == 0
        db.upgrade(engine)  # the database answers
        assert store.flush() == 1 and store.outbox.pending == 0 and store.flush() == 0
        with db.session_factory(engine)() as s:
            rows = s.scalars(select(IvrSession)).all()
        assert [(r.cti_call_id, r.exit) for r in rows] == [("sim-5", "transferred")]
        assert rows[0].client_ref is not None and rows[0].client_ref.startswith("ivr-")
    finally:
        engine.dispose()


def test_a_record_written_again_under_its_id_is_not_written_twice(engine: Engine) -> None:
    """The outbox's retry after a lost answer: the same record (same ``client_ref``) is one row."""
    from crm.ivr_data import record_session

    record = to_crm(_record("sim-6", ExitPoint.SELF_SERVED), client_ref="ivr-0123456789abcdef")
    first = record_session(db.session_factory(engine), record)
    assert record_session(db.session_factory(engine), record) == first
    with db.session_factory(engine)() as s:
        assert [r.id for r in s.scalars(select(IvrSession).where(IvrSession.cti_call_id == "sim-6"))] == [first]


def test_sessions_carry_their_site_and_the_report_reads_one_site(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = db.session_factory(engine)
    SessionStore(factory, site="north").store(_record("n-1", ExitPoint.SELF_SERVED))
    SessionStore(factory, site="north").store(_record("n-2", ExitPoint.TRANSFERRED))
    SessionStore(factory, site="south").store(_record("s-1", ExitPoint.ABANDONED))
    SessionStore(factory).store(_record("m-1", ExitPoint.CALLBACK))  # a single-site installation: main
    with factory() as s:
        assert {r.cti_call_id: r.site for r in s.scalars(select(IvrSession))} == {
            "n-1": "north", "n-2": "north", "s-1": "south", "m-1": "main"}
    window = ["--since", "2026-11-23T08:00Z", "--until", "2026-11-23T10:00Z"]

    def report(*extra: str) -> dict[str, object]:
        assert main(["ivr", "report", "--db", db_url, *window, *extra]) == 0
        return json.loads(capsys.readouterr().out)

    north = report("--site", "north")
    assert (north["site"], north["sessions"], north["by_exit"]) == ("north", 2, {"self_served": 1, "transferred": 1})
    assert report()["by_exit"] == {"callback": 1}, "the configured site by default (main)"
    monkeypatch.setenv("CCENTER_SITE", "south")
    assert report()["by_exit"] == {"abandoned": 1}
    assert main(["ivr", "report", "--db", db_url, "--site", "no such/site"]) == 1
    assert "--site: site 'no such/site' must be" in capsys.readouterr().err


def test_a_record_kept_before_records_named_their_site_is_the_ivrs_site(engine: Engine, tmp_path: Path) -> None:
    record = to_crm(_record("s-9", ExitPoint.SELF_SERVED), client_ref="ivr-old").to_json()
    del record["site"]  # as an outbox written by the previous version keeps it
    outbox = tmp_path / "ivr-south.jsonl"
    outbox.write_text(json.dumps(record) + "\n", encoding="utf-8")
    store = SessionStore(db.session_factory(engine), outbox, site="south")
    assert store.outbox.records()[0].site == "south"
    assert store.flush() == 1
    with db.session_factory(engine)() as s:
        assert s.scalars(select(IvrSession.site)).one() == "south"


def test_the_migration_puts_existing_sessions_in_the_default_site(engine: Engine) -> None:
    from alembic import command

    config = db._alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014_workflow_escalation")
    assert "site" not in {c["name"] for c in inspect(engine).get_columns("ivr_session")}
    with engine.begin() as c:
        c.execute(text("INSERT INTO ivr_session (cti_call_id, flow, started_at, ended_at, exit, path, menu_path, "
                       "verified, self_service) VALUES ('old-1', 'telecom', :at, :at, 'transferred', '[]', '[]', "
                       ":no, '[]')"), {"at": datetime.fromtimestamp(T0, UTC), "no": False})
    db.upgrade(engine)
    assert db.is_current(engine)
    with db.session_factory(engine)() as s:
        assert s.scalars(select(IvrSession.site)).one() == "main"
        report = repository.ivr_report(s, since=datetime.fromtimestamp(T0 - 60, UTC),
                                       until=datetime.fromtimestamp(T0 + 60, UTC))
    assert report.sessions == 1
