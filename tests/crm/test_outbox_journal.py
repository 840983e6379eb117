"""The outbox's journal: records appended, tombstones for those written, compaction, crash safety.

The write function here is the database's stand-in the outbox is given (a list, or "the database is
away"): what is tested is the file. The outboxes on the real database are tested with their owners
(tests/agent_desktop/test_outbox.py, tests/ivr/test_reporting.py, tests/end2end/test_faults_*.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from crm.errors import DatabaseUnavailable
from crm.outbox import Outbox, read_journal


class Database:
    """Written records by key; away while ``away``; refuses nothing else. Idempotent on the key."""

    def __init__(self) -> None:
        self.away = False
        self.written: list[str] = []
        self.calls = 0

    def write(self, record: dict[str, Any]) -> str:
        self.calls += 1
        if self.away:
            raise DatabaseUnavailable("the database is away")
        if record["ref"] not in self.written:
            self.written.append(record["ref"])
        return record["ref"]


def _outbox(path: Path, database: Database) -> Outbox[dict[str, Any]]:
    return Outbox(path, database.write, encode=dict, decode=dict, key=lambda r: str(r["ref"]), what="attempt")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


AWAY = r"^database unavailable, attempt r0 kept locally"


@pytest.mark.expect_log(logging.WARNING, "crm.outbox", match=AWAY)
def test_records_are_appended_not_rewritten_and_written_in_order(tmp_path: Path) -> None:
    database = Database()
    path = tmp_path / "dialer.jsonl"
    outbox = _outbox(path, database)
    database.away = True
    assert outbox.save({"ref": "r0", "n": 0}) is None
    inode = path.stat().st_ino
    for n in range(1, 50):
        assert outbox.save({"ref": f"r{n}", "n": n}) is None
    assert path.stat().st_ino == inode, "the journal is appended to, not replaced"
    assert len(_lines(path)) == 50 and outbox.pending == 50

    again = _outbox(path, database)  # the process restarted during the outage
    assert [r["ref"] for r in again.records()] == [f"r{n}" for n in range(50)]
    assert again.flush() == 0
    database.away = False
    assert again.flush() == 50
    assert database.written == [f"r{n}" for n in range(50)]
    assert again.pending == 0 and path.read_text() == "", "emptied once nothing is pending"


@pytest.mark.expect_log(logging.WARNING, "crm.outbox", match=AWAY)
@pytest.mark.expect_log(logging.WARNING, "crm.outbox",
                        match=r"dialer\.jsonl: its last line was cut short .* the attempts before it are kept$")
def test_a_torn_last_line_is_skipped_and_the_records_before_it_kept(tmp_path: Path) -> None:
    database = Database()
    path = tmp_path / "dialer.jsonl"
    outbox = _outbox(path, database)
    database.away = True
    for n in range(3):
        outbox.save({"ref": f"r{n}"})
    with path.open("a", encoding="utf-8") as fh:  # a crash in the middle of the fourth append
        fh.write('{"+":3,"r":{"ref":"r')

    again = _outbox(path, database)
    assert [r["ref"] for r in again.records()] == ["r0", "r1", "r2"]
    assert path.read_text().endswith("\n"), "the torn line is gone before anything is appended"
    again.save({"ref": "r3"})
    third = _outbox(path, database)
    assert [r["ref"] for r in third.records()] == ["r0", "r1", "r2", "r3"]
    database.away = False
    assert third.flush() == 4 and database.written == ["r0", "r1", "r2", "r3"]


@pytest.mark.expect_log(logging.WARNING, "crm.outbox", match=AWAY)
@pytest.mark.expect_log(logging.ERROR, "crm.outbox", match=r"dialer\.jsonl line 2: unreadable pending attempt skipped")
def test_an_unreadable_line_inside_loses_only_itself(tmp_path: Path) -> None:
    database = Database()
    path = tmp_path / "dialer.jsonl"
    outbox = _outbox(path, database)
    database.away = True
    for n in range(3):
        outbox.save({"ref": f"r{n}"})
    lines = _lines(path)
    lines[1] = "this is not JSON"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert [r["ref"] for r in _outbox(path, database).records()] == ["r0", "r2"]


@pytest.mark.expect_log(logging.WARNING, "crm.outbox", match=AWAY)
def test_the_journal_is_compacted_while_it_drains_and_order_is_kept(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crm.outbox.COMPACT_AFTER_LINES", 16)
    database = Database()
    path = tmp_path / "dialer.jsonl"
    outbox = _outbox(path, database)
    database.away = True
    total = 3 * 16 * 4
    for n in range(total):
        outbox.save({"ref": f"r{n}"})
    assert outbox.compactions == 0

    # The database answers for two thirds of them, then is away again.
    budget = 2 * 16 * 4
    real_write = database.write

    def write_some(record: dict[str, Any]) -> str:
        database.away = len(database.written) >= budget
        return real_write(record)

    outbox._write_one = write_some
    database.away = False
    assert outbox.flush() == budget
    assert outbox.compactions >= 1
    assert len(_lines(path)) <= 2 * outbox.pending + 16, "tombstones do not pile up"

    rest = _outbox(path, database)
    assert [r["ref"] for r in rest.records()] == [f"r{n}" for n in range(budget, total)]
    database.away = False
    assert rest.flush() == total - budget
    assert database.written == [f"r{n}" for n in range(total)]
    assert path.read_text() == ""


@pytest.mark.expect_log(logging.WARNING, "crm.outbox", match=AWAY)
def test_a_lost_tombstone_writes_its_record_again_once_on_its_key(tmp_path: Path) -> None:
    """A tombstone is fsynced once per flush: a power cut may lose it. Its record is then written again,
    which its key absorbs (the writes are idempotent)."""
    database = Database()
    path = tmp_path / "dialer.jsonl"
    outbox = _outbox(path, database)
    database.away = True
    outbox.save({"ref": "r0"})
    outbox.save({"ref": "r1"})
    journal = path.read_text()
    database.away = False
    assert outbox.flush() == 2
    path.write_text(journal, encoding="utf-8")  # as if the tombstones never reached the disk
    again = _outbox(path, database)
    assert again.flush() == 2
    assert database.written == ["r0", "r1"]


@pytest.mark.expect_log(logging.ERROR, "crm.outbox", match=r"^pending attempt r1 refused: no such work item")
def test_a_file_of_the_format_before_the_journal_is_read_and_rewritten(tmp_path: Path) -> None:
    from crm.errors import CrmError

    path = tmp_path / "dialer.jsonl"
    path.write_text("".join(json.dumps({"ref": f"r{n}"}) + "\n" for n in range(3)), encoding="utf-8")
    written: list[str] = []

    def write(record: dict[str, Any]) -> None:
        if record["ref"] == "r1":
            raise CrmError("no such work item")
        written.append(record["ref"])

    outbox = Outbox(path, write, encode=dict, decode=dict, key=lambda r: str(r["ref"]), what="attempt")
    assert [r["ref"] for r in outbox.records()] == ["r0", "r1", "r2"]
    entries, _, rewrite = read_journal(path)
    assert [e["ref"] for _, e in entries] == ["r0", "r1", "r2"] and not rewrite
    assert outbox.flush() == 2 and written == ["r0", "r2"]
    assert json.loads(outbox.rejected.read_text()) == {"ref": "r1"}
