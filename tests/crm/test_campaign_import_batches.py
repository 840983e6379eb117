"""Target lists longer than one batch: the import reads, checks and writes a batch at a time, and what
it decides does not depend on where a batch ends (duplicates, prospects, do-not-call, re-imports)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ccenter.commands.campaign import ProgressBar
from crm import db, repository
from crm.campaign_files import import_plan, import_targets
from crm.campaigns import targets
from crm.models import Customer, DoNotCall, PhoneNumber, WorkItem

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "BATCH", 3)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_decisions_hold_across_batch_boundaries(engine: Engine, tmp_path: Path) -> None:
    with db.transaction(db.session_factory(engine)) as session:
        known = repository.create_customer(session, name="Known", phone="+1 415 555 0101")
        session.add(DoNotCall(e164="+14155550109", source="test", added_at=NOW))
    _write(tmp_path / "targets.csv", [
        "phone,customer_id,name",
        "+1 415 555 0102,,New One",      # line 2: a prospect (batch 1)
        "+1 415 555 0103,,New Two",      # line 3
        "not a number,,Bad",             # line 4: rejected
        "(415) 555-0102,,Again",         # line 5: the prospect of line 2, in the next batch: duplicate
        f",{known},Known By Id",         # line 6: an existing customer
        "+1 415 555 0101,,Known By Phone",  # line 7: the same customer by phone: duplicate
        "+1 415 555 0109,,Listed",       # line 8: on the do-not-call list
        "+1 415 555 0104,,New Three",    # line 9
        "+1 415 555 0103,,Three Again",  # line 10: duplicate of line 3, two batches later
    ])
    plan = tmp_path / "plan.json"
    plan.write_text('{"campaign_id": "B1", "name": "Batches", "channels": ["outbound_call"], '
                    '"products": ["Fibre"], "targets": "targets.csv"}', encoding="utf-8")
    seen: list[tuple[int, int]] = []
    with db.transaction(db.session_factory(engine)) as session:
        report = import_plan(session, plan, region="US", now=NOW,
                             progress=lambda line, lines: seen.append((line, lines)))
    reasons = {r.line: r.reason for r in report.rejects}
    assert reasons == {
        4: reasons[4], 5: "duplicate of line 2 (same customer)", 7: "duplicate of line 6 (same customer)",
        8: "+14155550109 is on the do-not-call list", 10: "duplicate of line 3 (same customer)",
    }
    assert reasons[4].startswith("phone: ")
    assert (report.rows, report.work_items_created, report.prospects_created) == (9, 4, 3)
    assert [line for line, _ in seen] == [4, 7, 10] and {lines for _, lines in seen} == {11}
    with db.session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(WorkItem)) == 4
        names = set(session.scalars(select(Customer.name).where(Customer.tier == "prospect")))
        assert names == {"New One", "New Two", "New Three"}
        prospect = session.scalar(select(Customer).where(Customer.name == "New One"))
        assert prospect is not None and prospect.time_zone == "America/Los_Angeles"
        assert session.scalar(select(PhoneNumber.e164).where(PhoneNumber.customer_id == prospect.id)) == "+14155550102"
    # Again, as a target list: nothing new, nothing duplicated, the same rejects.
    _write(tmp_path / "again.csv", ["campaign_id,phone,name"] + [
        f"B1,+1 415 555 010{n},Name {n}" for n in (2, 3, 4, 1, 2)
    ])
    with db.transaction(db.session_factory(engine)) as session:
        again = import_targets(session, tmp_path / "again.csv", region="US", now=NOW)
    assert (again.work_items_created, again.work_items_unchanged, again.prospects_created) == (0, 4, 0)
    assert [(r.line, r.reason) for r in again.rejects] == [(6, "duplicate of line 2 (same customer)")]


def test_the_progress_bar_draws_one_line_and_ends_it() -> None:
    out = io.StringIO()
    bar = ProgressBar(out)
    bar.update(500, 1000)
    bar.update(1000, 1000)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and "100%  line 1,000 of 1,000" in text
    assert "[###############...............]  50%" in text


def test_worker_processes_check_phones_as_this_process_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "PARALLEL_FROM", 1)
    monkeypatch.setenv("CCENTER_IMPORT_WORKERS", "2")
    raws = ["+1 415 555 0102", "(415) 555-0103", "12345", "+86 138 0013 8000", "not a number", "+44 20 7946 0958"]
    parallel = targets.check_phones(raws, "US")
    monkeypatch.setenv("CCENTER_IMPORT_WORKERS", "1")
    assert parallel == targets.check_phones(raws, "US")
    assert parallel["(415) 555-0103"] == targets.CheckedPhone("+14155550103", "America/Los_Angeles")
    assert parallel["+86 138 0013 8000"].e164 == "+8613800138000" and parallel["12345"].error
