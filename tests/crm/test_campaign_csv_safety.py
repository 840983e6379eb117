"""Campaign files: no cell of an export or a reject file is a formula (OWASP), a NUL byte rejects its row."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from crm import db, repository
from crm.campaign_files import export_results, import_plan, import_targets
from crm.campaigns.results import safe_cell
from crm.models import WorkItem

HEADER = "campaign_id,customer_id,phone,offer,name\n"
FORMULAS = ["=1+2", "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_starting_like_a_formula_gets_a_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert safe_cell("Fibre -50%") == "Fibre -50%" and safe_cell(None) == "" and safe_cell(42) == "42"


@pytest.fixture
def campaign(engine: Engine, tmp_path: Path) -> Engine:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"campaign_id": "T1", "name": "Test", "channels": ["outbound_call"],
                                "products": ["Fibre"], "targets": []}), encoding="utf-8")
    with db.transaction(db.session_factory(engine)) as session:
        for i in range(1, 4):
            repository.create_customer(session, name=f"Customer {i}", phone=f"+1 415 555 01{i:02d}")
        import_plan(session, plan, region="US")
    return engine


def _import(engine: Engine, path: Path):
    with db.transaction(db.session_factory(engine)) as session:
        return import_targets(session, path, region="US")


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_export_cells_from_files_and_agents_are_never_formulas(campaign: Engine, tmp_path: Path) -> None:
    targets = tmp_path / "list.csv"
    targets.write_text(HEADER + "T1,1,,-2+3+cmd|' /C calc'!A0,\n" + "T1,2,,@SUM(1+1),\n", encoding="utf-8")
    assert _import(campaign, targets).work_items_created == 2
    with db.transaction(db.session_factory(campaign)) as session:
        for item in session.scalars(select(WorkItem)):
            item.reason = "+HYPERLINK(\"http://x\")"
    out = io.StringIO()
    with db.session_factory(campaign)() as session:
        export_results(session, "T1", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert [r["offer"] for r in rows] == ["'-2+3+cmd|' /C calc'!A0", "'@SUM(1+1)"]
    assert {r["reason"] for r in rows} == {"'+HYPERLINK(\"http://x\")"}
    assert {r["phone"] for r in rows} == {"+14155550101", "+14155550102"}  # E.164, as BI reads it


def test_the_reject_file_writes_no_formula_either(campaign: Engine, tmp_path: Path) -> None:
    targets = tmp_path / "list.csv"
    targets.write_text("campaign_id,customer_id,phone,offer,=cmd\n" + "T1,=1+1,,Fibre,-x\n" + "T1,1,,Fibre,\n",
                       encoding="utf-8")
    report = _import(campaign, targets)
    assert [(r.line, r.reason) for r in report.rejects] == [(2, "customer_id '=1+1' is not a customer number")]
    written = _read(targets.with_name("list.rejects.csv"))
    assert written[0] == ["line", "reason", "campaign_id", "customer_id", "phone", "offer", "'=cmd"]
    assert written[1] == ["2", "customer_id '=1+1' is not a customer number", "T1", "'=1+1", "", "Fibre", "'-x"]


def test_a_nul_byte_rejects_its_row_with_the_line_and_the_rest_loads(campaign: Engine, tmp_path: Path) -> None:
    targets = tmp_path / "list.csv"
    targets.write_text(HEADER + "T1,1,,Fibre,Ada\n" + "T1,2,,Fib\x00re,Bob\n" + "T1,3,,Fibre,Cy\x00\n"
                       + "T1,,+1 415 555 0199,Fibre,Dee\n", encoding="utf-8")
    report = _import(campaign, targets)
    assert [(r.line, r.reason) for r in report.rejects] == [(3, "a cell holds a NUL byte"),
                                                            (4, "a cell holds a NUL byte")]
    assert report.work_items_created == 2 and report.prospects_created == 1
    written = _read(targets.with_name("list.rejects.csv"))
    assert [row[:2] for row in written[1:]] == [["3", "a cell holds a NUL byte"], ["4", "a cell holds a NUL byte"]]
    assert written[1][5] == "Fib\\0re" and "\x00" not in targets.with_name("list.rejects.csv").read_text("utf-8-sig")


def test_a_nul_byte_in_a_plan_is_refused_in_one_line_and_in_its_targets_rejects_the_row(
    engine: Engine, tmp_path: Path
) -> None:
    from crm.campaign_files import CampaignFileError

    plan = tmp_path / "plan.json"
    body = {"campaign_id": "T1", "name": "Te\u0000st", "channels": ["outbound_call"], "products": ["Fibre"],
            "targets": []}
    plan.write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(CampaignFileError, match=r"^plan.json: name holds a NUL byte$"), \
            db.transaction(db.session_factory(engine)) as session:
        import_plan(session, plan, region="US")
    body.update(name="Test", targets=[{"phone": "+14155550100", "name": "A\u0000"}, {"phone": "+14155550101"}])
    plan.write_text(json.dumps(body), encoding="utf-8")
    with db.transaction(db.session_factory(engine)) as session:
        report = import_plan(session, plan, region="US")
    assert [(r.line, r.reason) for r in report.rejects] == [(1, "a cell holds a NUL byte")]
    assert report.work_items_created == 1
