"""The do-not-call list: add, remove, import with line-numbered rejects, look-up; SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from crm import db, dnc
from crm.errors import InvalidData, InvalidPhoneNumber
from crm.models import DoNotCall

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def _count(engine: Engine) -> int:
    with db.session_factory(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(DoNotCall)) or 0)


def test_add_normalizes_keeps_one_entry_per_number_and_applies_at_once(engine: Engine) -> None:
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        assert dnc.add(session, ["(415) 555-0100", "+1 415 555 0100", "+86 138 0013 8000"], reason="asked",
                       source="ops", now=NOW) == ["+14155550100", "+8613800138000"]
        assert dnc.add(session, ["4155550100"], reason="asked", source="ops", now=NOW) == []  # listed already
    with factory() as session:
        assert dnc.blocked(session, ["+14155550100", "+14155550101", None], now=NOW) == {"+14155550100"}
        entry = next(dnc.entries(session, prefix="+1", now=NOW))
        assert (entry.e164, entry.reason, entry.source, entry.added_at) == ("+14155550100", "asked", "ops", NOW)
        assert dnc.count(session, now=NOW) == 2 and dnc.count(session, source="ops", now=NOW) == 2


def test_a_bad_number_is_named_and_nothing_is_written(engine: Engine) -> None:
    with pytest.raises(InvalidPhoneNumber, match="'12345'"), db.transaction(db.session_factory(engine)) as session:
        dnc.add(session, ["+1 415 555 0100", "12345"], now=NOW)
    assert _count(engine) == 0


def test_an_expired_entry_no_longer_blocks_and_a_new_add_lists_it_again(engine: Engine) -> None:
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        dnc.add(session, ["+14155550100"], expires_at=NOW + timedelta(days=1), now=NOW)
    with factory() as session:
        assert dnc.is_blocked(session, "+14155550100", now=NOW)
        assert not dnc.is_blocked(session, "+14155550100", now=NOW + timedelta(days=2))
        assert list(dnc.entries(session, now=NOW + timedelta(days=2))) == []
    with db.transaction(factory) as session:
        assert dnc.add(session, ["+14155550100"], now=NOW + timedelta(days=2)) == ["+14155550100"]
    with factory() as session:
        assert dnc.is_blocked(session, "+14155550100", now=NOW + timedelta(days=400))
    with pytest.raises(InvalidData, match="time zone"), db.transaction(factory) as session:
        dnc.add(session, ["+14155550100"], expires_at=datetime(2030, 1, 1))


def test_remove_by_number_and_by_source(engine: Engine) -> None:
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        dnc.add(session, ["+14155550100", "+14155550101"], source="national", now=NOW)
        dnc.add(session, ["+14155550102"], source="wrap-up", now=NOW)
    with db.transaction(factory) as session:
        assert dnc.remove(session, ["415-555-0102"]) == 1
        assert dnc.remove(session, ["415-555-0199"]) == 0
        assert dnc.remove(session, source="national") == 2
    assert _count(engine) == 0


def test_import_streams_a_registry_file_and_writes_rejects_with_line_numbers(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "registry.csv"
    path.write_text("AreaCode,PhoneNumber\n201,2000001\n201,2000002\n\n# a comment\n201,12\n201,2000001\n"
                    "201\n", encoding="utf-8")
    with db.transaction(db.session_factory(engine)) as session:
        report = dnc.import_numbers(session, path, source="national-2025-03", region="US", now=NOW)
    assert (report.lines, report.added, report.already_listed, report.rejected) == (8, 2, 1, 2)
    assert [(r.line, r.text) for r in report.rejects] == [(6, "201,12"), (8, "201")]
    assert "not a valid phone number in US" in report.rejects[0].reason
    assert report.rejects[1].reason == "no number in this line"
    assert report.rejects_path == tmp_path / "registry.rejects.csv"
    with report.rejects_path.open(encoding="utf-8-sig", newline="") as f:
        assert [row["line"] for row in csv.DictReader(f)] == ["6", "8"]
    with db.session_factory(engine)() as session:
        assert [e.e164 for e in dnc.entries(session, source="national-2025-03", now=NOW)] == [
            "+12012000001", "+12012000002"]
    # a clean import removes the stale reject file
    path.write_text("+12012000003\n", encoding="utf-8")
    with db.transaction(db.session_factory(engine)) as session:
        report = dnc.import_numbers(session, path, source="national-2025-03", now=NOW)
    assert report.rejects_path is None and not (tmp_path / "registry.rejects.csv").exists()


def test_replace_swaps_a_registry_edition_and_keeps_what_people_asked_for(engine: Engine) -> None:
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        dnc.import_numbers(session, io.BytesIO(b"+14155550100\n+14155550101\n"), source="national", now=NOW)
        dnc.add(session, ["+14155550101", "+14155550109"], source="wrap-up", now=NOW)
    with db.transaction(factory) as session:
        report = dnc.import_numbers(session, io.BytesIO("\ufeff4155550101;\n4155550102\n".encode()),
                                    source="national", replace=True, now=NOW)
    assert (report.removed, report.added, report.already_listed, report.rejects_path) == (1, 1, 1, None)
    with factory() as session:
        assert {(e.e164, e.source) for e in dnc.entries(session, now=NOW)} == {
            ("+14155550101", "wrap-up"), ("+14155550102", "national"), ("+14155550109", "wrap-up")}


def test_a_header_without_a_number_column_is_refused_and_nothing_is_written(engine: Engine) -> None:
    with pytest.raises(dnc.DncFileError, match="names no number column"), \
            db.transaction(db.session_factory(engine)) as session:
        dnc.import_numbers(session, io.BytesIO(b"name,city\n"), source="x", now=NOW)
    with pytest.raises(dnc.DncFileError, match="no such file"), db.transaction(db.session_factory(engine)) as s:
        dnc.import_numbers(s, "/nonexistent/list.txt", source="x", now=NOW)
    assert _count(engine) == 0


def test_a_large_import_crosses_batches(engine: Engine) -> None:
    data = "".join(f"+1201{2000000 + i}\n" for i in range(dnc.BATCH * 2 + 7)).encode()
    with db.transaction(db.session_factory(engine)) as session:
        report = dnc.import_numbers(session, io.BytesIO(data), source="national", now=NOW)
    assert (report.added, report.rejected) == (dnc.BATCH * 2 + 7, 0)
    assert _count(engine) == dnc.BATCH * 2 + 7
