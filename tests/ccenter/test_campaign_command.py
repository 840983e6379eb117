"""``ccenter campaign import|export|list`` as the BI team runs them."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

import resources
from ccenter.cli import main
from crm import db, repository
from crm.models import Agent, Skill


@pytest.fixture
def ready(db_url: str) -> str:
    engine = db.connect(db_url)
    with db.transaction(db.session_factory(engine)) as session:
        session.add_all([Skill(name="mandarin"), Agent(login="li.wei", name="李伟")])
        repository.create_customer(session, name="Ada", phone="+1 415 555 0100")
    engine.dispose()
    return db_url


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    for name in ("fiber-cn-plan.json", "fiber-cn-targets.csv"):
        shutil.copy(resources.path("campaigns", name), tmp_path / name)
    return tmp_path / "fiber-cn-plan.json"


def test_import_list_and_export(ready: str, plan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "import", str(plan), "--db", ready]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"imported {plan} (plan, utf-8)"
    assert out[1] == "campaign FIBER-CN-2025: created"
    assert out[2] == "rows: 10; work items: 10 created, 0 updated, 0 unchanged; prospects created: 5"
    assert f"rejected: 5, written to {tmp_path / 'fiber-cn-targets.rejects.csv'}" in out
    assert "  line 7: unknown customer_id 999999" in out
    assert main(["campaign", "import", str(plan), "--db", ready]) == 0
    assert "rows: 10; work items: 0 created, 0 updated, 10 unchanged; prospects created: 0" in capsys.readouterr().out
    assert main(["campaign", "list", "--db", ready]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:3] == ["CAMPAIGN", "STATUS", "DIAL"]
    assert listing[1].split()[:5] == ["FIBER-CN-2025", "active", "progressive", "outbound_call,inbound_offer",
                                      "pending"]
    results = tmp_path / "results.csv"
    assert main(["campaign", "export", "FIBER-CN-2025", str(results), "--db", ready]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 10 work items of FIBER-CN-2025 to {results}"
    with results.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["channel"] for r in rows} == {"outbound_call", "inbound_offer"} and rows[0]["status"] == "pending"
    assert main(["campaign", "export", "FIBER-CN-2025", str(tmp_path / "a.csv"), "--attempts", "--db", ready]) == 0
    assert "wrote 0 attempts" in capsys.readouterr().out


def test_a_target_list_where_no_row_is_usable_exits_1(ready: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.csv"
    path.write_text("campaign_id,phone,offer\nNOPE,+86 138 0013 8000,x\n", encoding="utf-8")
    assert main(["campaign", "import", str(path), "--db", ready]) == 1
    captured = capsys.readouterr()
    assert "  line 2: unknown campaign_id 'NOPE'" in captured.out
    assert "no target row could be used" in captured.err
    assert (tmp_path / "targets.rejects.csv").exists()


def test_national_numbers_are_read_in_the_region(ready: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"campaign_id": "R", "name": "r", "channels": ["sms"], '
                    '"targets": [{"phone": "138 0013 8000", "offer": "x"}]}', encoding="utf-8")
    assert main(["campaign", "import", str(path), "--region", "cn", "--db", ready]) == 0
    assert "prospects created: 1" in capsys.readouterr().out
    assert main(["customer", "find", "+8613800138000", "--db", ready]) == 0


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["import", "{dir}/missing.json"], None, "ccenter: error: no such file: {dir}/missing.json"),
        (["import", "{dir}/bad.json"], '{"campaign_id": "X",\n  oops}',
         "ccenter: error: bad.json: line 2, column 3: Expecting property name enclosed in double quotes"),
        (["import", "{dir}/bad.json"], '{"campaign_id": "X", "name": "x", "channels": ["outbound_call"], '
         '"rules": {"max_attempts": "three"}}', "ccenter: error: rules.max_attempts: must be a whole number >= 1"),
        (["import", "{dir}/bad.csv"], "name,offer\nAda,x\n",
         "ccenter: error: bad.csv: the header has no campaign_id and no customer_id or phone column "
         "(columns: campaign_id, customer_id, phone, offer, priority, segment, preferred_agent, skill, name, email)"),
        (["export", "NOPE", "{dir}/out.csv"], None, "ccenter: error: no campaign 'NOPE' at site 'main'"),
    ],
)
def test_errors_are_one_clear_line(ready: str, tmp_path: Path, capsys, args: list[str], content: str | None,
                                   message: str) -> None:
    args = [a.format(dir=tmp_path) for a in args]
    if content is not None:
        Path(args[1]).write_text(content, encoding="utf-8")
    assert main(["campaign", *args, "--db", ready]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [message.format(dir=tmp_path)]


def test_list_without_campaigns(ready: str, capsys) -> None:
    assert main(["campaign", "list", "--db", ready]) == 0
    assert capsys.readouterr().out == "no campaigns\n"
