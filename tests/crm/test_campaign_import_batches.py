"""Target lists longer than one batch: the import reads, checks and writes a batch at a time, and what
it decides does not depend on where a batch ends (duplicates, prospects, do-not-call, re-imports)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ccenter.commands.campaign import ProgressBar
from crm import db, phones, repository
from crm.campaign_files import import_plan, import_targets
from crm.campaigns import targets
from crm.errors import InvalidPhoneNumber
from crm.models import Customer, DoNotCall, PhoneNumber, WorkItem

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "BATCH", 3)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(params=["here", "workers"])
def phone_checks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Phone numbers checked in this process, or by two worker processes while the batch before is written."""
    if request.param == "workers":
        monkeypatch.setattr(targets, "PARALLEL_FROM", 1)
        monkeypatch.setenv("CCENTER_IMPORT_WORKERS", "2")
    else:
        monkeypatch.setenv("CCENTER_IMPORT_WORKERS", "1")
    monkeypatch.setattr(targets, "_checked", {})
    return str(request.param)


def test_decisions_hold_across_batch_boundaries(engine: Engine, tmp_path: Path, phone_checks: str) -> None:
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


def _samples() -> list[str]:
    """Phone cells of many forms: every region's example numbers of each type, written in E.164,
    nationally and internationally, with digits changed, added or dropped, with a 0 after the
    country code, and numbers a BI list holds that the parser reads in its own ways."""
    import random

    kinds = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP,
             PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.UAN)
    pick = random.Random(12)
    cells = ["+1 415 555 0102", "(415) 555-0103", "1 (415) 555-0104", "011 44 20 7946 0958", "0044 20 7946 0958",
             "+114155550100", "+390612345678", "+79161234567", "89161234567", "1-800-FLOWERS", "415.555.0105",
             "415 555 0106 x12", "+44 (0) 20 7946 0958", "12345", "+", "+0", "0", "(", "+1 ٤١٥ ٥٥٥ ٠١٠٧"]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            national = str(example.national_number)
            cells += [e164, phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL),
                      phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL), national,
                      f"+{example.country_code}0{national}", e164 + "7", e164[:-1]]
            cells += [national[:-2] + f"{pick.randrange(100):02d}", e164[:-3] + f"{pick.randrange(1000):03d}"]
    return cells


def test_phone_cells_are_read_as_the_parser_reads_them() -> None:
    """The import's quick reading of E.164 and plain national numbers gives what ``crm.phones.parse`` (the
    parser, with ``is_valid_number`` and the number's time zone) gives, or the same error, for every cell."""
    cells = _samples()
    valid = 0
    for region in ("US", "GB", "IT", "RU", "CN", "DE", "AR"):
        for cell in cells:
            try:
                number = phones.parse(cell, region, valid_only=True)
            except InvalidPhoneNumber as exc:
                expected = targets.CheckedPhone(None, error=str(exc))
            else:
                zone = phones.zone_of_number(number)
                expected = targets.CheckedPhone(phonenumbers.format_number(number, PhoneNumberFormat.E164),
                                                str(zone) if zone else None)
                valid += 1
            assert targets.check_phone(cell, region) == expected, (cell, region)
    assert valid > 2000  # the sample holds valid numbers of many plans, not only errors


def test_a_number_checked_again_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "_checked", {})
    monkeypatch.setattr(targets, "CACHE_SIZE", 3)
    first = targets.check_phones(["+1 415 555 0102", "(415) 555-0103", "12345"], "US")
    again = targets.check_phones(["+1 415 555 0102", "(415) 555-0103", "12345", "+44 20 7946 0958"], "US")
    assert {k: again[k] for k in first} == first and again["+44 20 7946 0958"].zone == "Europe/London"
    assert len(targets._checked) <= 3  # bounded: emptied when full
    assert targets.check_phones(["(415) 555-0103"], "GB")["(415) 555-0103"].error  # the region is part of the key
