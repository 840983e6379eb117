"""The BI campaign files: plans and target lists in, results out, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

import resources
from crm import db, repository
from crm.campaign_files import CampaignFileError, decode, export_results, import_plan, import_targets, list_campaigns
from crm.errors import NotFound
from crm.models import Agent, Campaign, Customer, DoNotCall, Skill, Task, Tier, WorkItem, WorkItemStatus

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
HEADER = "campaign_id,customer_id,phone,offer,priority,segment,preferred_agent,skill,name\n"


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """Four customers (ids 1 to 4, each with a US number), agents alice and li.wei, skill mandarin."""
    with db.transaction(db.session_factory(engine)) as session:
        session.add_all([Skill(name="mandarin"), Agent(login="alice", name="Alice"),
                         Agent(login="li.wei", name="李伟")])
        for i in range(1, 5):
            repository.create_customer(session, name=f"Customer {i}", phone=f"+1 415 555 01{i:02d}")
    return engine


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """The shipped sample plan and its GB18030 target list, copied where rejects may be written."""
    for name in ("fiber-cn-plan.json", "fiber-cn-targets.csv"):
        shutil.copy(resources.path("campaigns", name), tmp_path / name)
    return tmp_path / "fiber-cn-plan.json"


def _import(engine: Engine, path: Path, *, plan: bool = True, region: str = "CN") -> Any:
    with db.transaction(db.session_factory(engine)) as session:
        if plan:
            return import_plan(session, path, region=region, now=NOW)
        return import_targets(session, path, region=region, now=NOW)


def _items(engine: Engine) -> list[WorkItem]:
    with db.session_factory(engine)() as session:
        return list(session.scalars(select(WorkItem).order_by(WorkItem.id)))


def _plan(tmp_path: Path, targets: Any, **changes: Any) -> Path:
    plan = {"campaign_id": "T1", "name": "Test", "channels": ["outbound_call"], "products": ["Fibre"],
            "targets": targets, **changes}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    return path


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_sample_plan_loads_end_to_end(seeded: Engine, sample: Path) -> None:
    report = _import(seeded, sample, region="US")
    assert (report.kind, report.campaigns, report.campaigns_created) == ("plan", ("FIBER-CN-2025",), ("FIBER-CN-2025",))
    assert "targets read from" in report.notes[0] and "(gb18030)" in report.notes[0]
    assert (report.rows, report.work_items_created, report.prospects_created) == (10, 10, 5)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (7, "unknown customer_id 999999"),
        (8, "phone: not a valid phone number in US: '12345'"),
        (9, "neither customer_id nor phone given"),
        (10, "priority '高' must be a whole number from 0 to 1000"),
        (11, "duplicate of line 2 (same customer)"),
    ]
    assert report.rejects_path == sample.with_name("fiber-cn-targets.rejects.csv")
    rows = _rejects(report.rejects_path)
    assert [(r["line"], r["name"], r["priority"]) for r in rows][3] == ("10", "吴芳", "高")
    with db.session_factory(seeded)() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.campaign_key == "FIBER-CN-2025")).one()
        assert campaign.dial_mode == "progressive" and campaign.products == ["Fibre 1000", "Wi-Fi 7 router"]
        assert campaign.calling_hours == {"start": "09:00", "end": "20:30", "days": [0, 1, 2, 3, 4, 5]}
        assert campaign.rules["retry"] == {"busy": 900.0, "no_answer": 7200.0, "answering_machine": 14400.0}
        assert campaign.rules["frequency_cap"] == {"contacts": 2, "days": 7} and campaign.rules["queue"] == "chinese"
        assert campaign.starts_at == datetime(2025, 1, 6, tzinfo=UTC)
        assert campaign.ends_at == datetime(2031, 1, 1, tzinfo=UTC)  # the end date is included
        wang = session.scalars(select(Customer).where(Customer.name == "王小明")).one()
        assert (wang.tier, wang.time_zone, wang.segment) == (Tier.PROSPECT, "Asia/Shanghai", "家庭宽带")
        items = session.scalars(select(WorkItem).where(WorkItem.customer_id == wang.id)).all()
        assert {(i.phone_e164, i.priority, i.status) for i in items} == {("+8613800138000", 5, WorkItemStatus.PENDING)}
        assert len(items) == 2  # one per channel
        li = session.scalars(select(Agent).where(Agent.login == "li.wei")).one()
        personal = session.scalars(select(WorkItem).where(WorkItem.agent_id == li.id)).all()
        assert len(personal) == 2 and all(i.task.agent_id == li.id for i in personal)
        tasks = {(t.activity.channel, t.name, t.skill) for t in session.scalars(select(Task).join(Task.activity)
                                                                               .where(Task.activity.has(campaign_id=campaign.id)))}
        assert ("outbound_call", "outbound call: mandarin", "mandarin") in tasks
        assert ("outbound_call", "outbound call", None) in tasks  # 刘洋 has no skill
        liu = session.scalars(select(WorkItem).join(Customer, Customer.id == WorkItem.customer_id)
                              .where(Customer.name == "刘洋")).first()
        assert liu is not None and liu.offer == "Fibre 1000"  # no offer: the campaign's first product
    with db.session_factory(seeded)() as session:
        due = repository.dial_candidates(session, campaign.id, now=NOW)
    assert len(due) == 4  # the outbound items without a preferred agent


def test_reimport_updates_and_never_duplicates(seeded: Engine, sample: Path) -> None:
    _import(seeded, sample, region="US")
    before = [(i.id, i.activity_id, i.customer_id) for i in _items(seeded)]
    plan = json.loads(sample.read_text(encoding="utf-8"))
    plan["name"] = "Fibre 1000, second wave"
    plan["rules"]["max_attempts"] = 2
    sample.write_text(json.dumps(plan), encoding="utf-8")
    targets = sample.with_name("fiber-cn-targets.csv")
    text = targets.read_bytes().decode("gb18030").replace("Fibre 1000,5,", "Fibre 1000 Plus,9,", 1)
    targets.write_bytes(text.encode("gb18030"))
    report = _import(seeded, sample, region="US")
    assert report.campaigns_created == () and report.prospects_created == 0
    assert (report.work_items_created, report.work_items_updated, report.work_items_unchanged) == (0, 2, 8)
    after = _items(seeded)
    assert [(i.id, i.activity_id, i.customer_id) for i in after] == before
    assert {(i.offer, i.priority) for i in after if i.phone_e164 == "+8613800138000"} == {("Fibre 1000 Plus", 9)}
    with db.session_factory(seeded)() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.campaign_key == "FIBER-CN-2025")).one()
        assert (campaign.name, campaign.rules["max_attempts"]) == ("Fibre 1000, second wave", 2)
        assert session.scalar(select(func.count()).select_from(Customer).where(Customer.tier == Tier.PROSPECT)) == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rules": {"max_attempts": 0}}, "rules.max_attempts: must be a whole number >= 1"),
        ({"rules": {"max_atempts": 3}}, "rules.max_atempts: unknown key"),
        ({"rules": {"retry": {"busy": "soon"}}}, "rules.retry.busy: must be seconds"),
        ({"rules": {"frequency_cap": {"contacts": 2}}}, 'rules.frequency_cap: must be {"contacts": N, "days": D}'),
        ({"rules": {"abandon_target": 3}}, "rules.abandon_target: must be a fraction between 0 and 1"),
        ({"dial_mode": "turbo"}, "dial_mode: must be one of preview, progressive, predictive"),
        ({"channels": ["fax"]}, "channels: unknown channel 'fax'"),
        ({"schedule": {"start": "2025-03-01T09:00"}}, "schedule.start: '2025-03-01T09:00' needs a time zone offset"),
        ({"schedule": {"hours": {"start": "21:00", "end": "09:00"}}}, "schedule.hours: start 21:00 must be before"),
        ({"campaign_id": "no spaces please"}, "campaign_id: must be 1 to 64 letters"),
        ({"dial_mode": "predictive", "channels": ["sms"]}, "dial_mode: predictive dialling needs the outbound_call"),
        ({"rules": {"dispositions": []}}, "rules.dispositions: must be a non-empty list of disposition codes"),
        ({"rules": {"dispositions": "sale"}}, "rules.dispositions: must be a non-empty list of disposition codes"),
        ({"rules": {"dispositions": ["sale", " sale "]}}, "rules.dispositions: 'sale' is listed twice"),
        ({"rules": {"dispositions": ["sale", 7]}}, "rules.dispositions: 7 is not a disposition code"),
        ({"rules": {"dispositions": ["x" * 65]}}, "rules.dispositions: 'xxxxxxxxxxxxxxxxxxxx'... is longer than 64"),
    ],
)
def test_a_bad_plan_names_the_key_and_writes_nothing(engine: Engine, tmp_path: Path, change: dict[str, Any],
                                                    message: str) -> None:
    path = _plan(tmp_path, [{"phone": "+86 138 0013 8000", "offer": "x"}], **change)
    with pytest.raises(CampaignFileError) as caught:
        _import(engine, path)
    assert message in str(caught.value)
    with db.session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_a_plan_with_its_own_dispositions_imports_and_the_desktop_reads_them(engine: Engine, tmp_path: Path) -> None:
    path = _plan(tmp_path, [{"phone": "+86 138 0013 8000", "offer": "x"}],
                 rules={"max_attempts": 4, "retry": {"busy": "15m"}, "dispositions": ["sale", " no_sale", "call_back"]})
    report = _import(engine, path)
    assert report.work_items_created == 1
    with db.session_factory(engine)() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.rules == {"max_attempts": 4, "retry": {"busy": 900.0},
                                  "dispositions": ["sale", "no_sale", "call_back"]}
        assert repository.campaign_dispositions(session) == {"T1": ("sale", "no_sale", "call_back")}


def test_every_problem_of_the_rules_is_named_at_once(engine: Engine, tmp_path: Path) -> None:
    path = _plan(tmp_path, [], rules={"max_attempts": 0, "frequency_cap": {"contacts": 0, "days": 7},
                                      "dispositions": [""], "retry": {"engaged": "1h"}})
    with pytest.raises(CampaignFileError) as caught:
        _import(engine, path)
    assert str(caught.value) == (
        "rules.max_attempts: must be a whole number >= 1; "
        "rules.retry.engaged: unknown outcome; expected one of busy, no_answer, answering_machine, failed, hung_up, "
        "abandoned, answered; "
        "rules.frequency_cap.contacts: must be a whole number >= 1; "
        "rules.dispositions: '' is not a disposition code (a non-empty text)"
    )


def test_bad_json_says_where(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{\n  "campaign_id": "X",\n  "name": "x"\n  "channels": []\n}', encoding="utf-8")
    with pytest.raises(CampaignFileError, match=r"plan.json: line 4, column 3: Expecting ',' delimiter"):
        _import(engine, path)
    with pytest.raises(CampaignFileError, match="no such file"):
        _import(engine, tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("encoding", "names"),
    [
        ("utf-8", ["王小明", "Zoë Ångström"]),
        ("utf-8-sig", ["王小明", "李娜"]),
        ("gb18030", ["王小明", "欧阳娜娜"]),
        ("big5", ["陳大文", "黃美玲"]),
    ],
)
def test_the_three_encodings_are_detected(engine: Engine, tmp_path: Path, encoding: str, names: list[str]) -> None:
    _import(engine, _plan(tmp_path, [], channels=["inbound_offer"], campaign_id="ENC"))
    text = HEADER + "".join(f"ENC,,+86 139 0000 000{i},Fibre,1,,,,{n}\n" for i, n in enumerate(names))
    path = tmp_path / "targets.csv"
    path.write_bytes(text.encode(encoding))
    report = _import(engine, path, plan=False)
    assert report.encoding == encoding and report.prospects_created == 2 and not report.rejects
    with db.session_factory(engine)() as session:
        assert sorted(session.scalars(select(Customer.name))) == sorted(names)


def test_undecodable_file_is_refused() -> None:
    with pytest.raises(CampaignFileError, match="cannot tell its encoding"):
        decode(b"name\n\x80\xff", "x.csv")
    assert decode("陳大文,黃美玲,香港".encode("big5"))[1] == "big5"
    assert decode("王小明,欧阳娜娜,上海".encode("gb18030"))[1] == "gb18030"


def test_target_list_rejects_every_reason_with_its_line(seeded: Engine, tmp_path: Path) -> None:
    _import(seeded, _plan(tmp_path, [], channels=["outbound_call"], campaign_id="T1"))
    rows = [
        "T1,1,,Fibre,1,,,,",                     # 2: loads (customer 1)
        "NOPE,2,,Fibre,1,,,,",                   # 3: unknown campaign
        "T1,4242,,Fibre,1,,,,",                  # 4: unknown customer
        "T1,,not a number,Fibre,1,,,,",          # 5: bad phone
        "T1,,,Fibre,1,,,,",                      # 6: neither
        "T1,2,,Fibre,urgent,,,,",                # 7: bad priority
        "T1,1,,Fibre,2,,,,",                     # 8: duplicate of 2
        "T1,,+86 138 0013 8000,Fibre,1,,,,",     # 9: do-not-call
        "T1,3,,Fibre,1,,ghost,,",                # 10: unknown agent
        "T1,3,,Fibre,1,,,astrology,",            # 11: unknown skill
        ",3,,Fibre,1,,,,",                       # 12: no campaign_id
        '"T1","4","+86 138 0013 8001","Fibre, ""Plus""",1,,,,"Multi\nline"',  # 13-14: loads
    ]
    path = tmp_path / "list.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    with db.transaction(db.session_factory(seeded)) as session:
        session.add(DoNotCall(e164="+8613800138000", reason="asked"))
    report = _import(seeded, path, plan=False)
    reasons = {r.line: r.reason for r in report.rejects}
    assert reasons == {
        3: "unknown campaign_id 'NOPE'",
        4: "unknown customer_id 4242",
        5: "phone: not a phone number: 'not a number'",
        6: "neither customer_id nor phone given",
        7: "priority 'urgent' must be a whole number from 0 to 1000",
        8: "duplicate of line 2 (same customer)",
        9: "+8613800138000 is on the do-not-call list",
        10: "unknown preferred_agent 'ghost' (no agent has that login)",
        11: "unknown skill 'astrology'",
        12: "campaign_id is missing",
    }
    assert report.work_items_created == 2 and report.rows == 12 and report.prospects_created == 0
    assert {i.offer for i in _items(seeded) if i.customer_id == 4} == {'Fibre, "Plus"'}
    written = _rejects(path.with_name("list.rejects.csv"))
    assert [(r["line"], r["campaign_id"], r["customer_id"]) for r in written][:2] == [("3", "NOPE", "2"),
                                                                                     ("4", "T1", "4242")]
    # a clean import removes the stale reject file
    path.write_text(HEADER + rows[0] + "\n", encoding="utf-8")
    assert _import(seeded, path, plan=False).rejects_path is None
    assert not path.with_name("list.rejects.csv").exists()


def test_do_not_call_blocks_the_call_channel_only(engine: Engine, tmp_path: Path) -> None:
    with db.transaction(db.session_factory(engine)) as session:
        session.add(DoNotCall(e164="+8613800138000"))
        session.add(DoNotCall(e164="+8613900000000", expires_at=NOW - timedelta(days=1)))  # expired: callable
    path = _plan(tmp_path, [{"phone": "13800138000", "offer": "Fibre", "name": "王小明"},
                            {"phone": "13900000000", "offer": "Fibre"}],
                 channels=["outbound_call", "inbound_offer"])
    report = _import(engine, path)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (1, "+8613800138000 is on the do-not-call list: no outbound_call work item (other channels loaded)")
    ]
    assert report.rejects_path == tmp_path / "plan.rejects.csv" and report.rows_loaded == 2
    channels = {(i.phone_e164, i.activity.channel) for i in _items_with_activity(engine)}
    assert channels == {("+8613800138000", "inbound_offer"), ("+8613900000000", "inbound_offer"),
                        ("+8613900000000", "outbound_call")}


def _items_with_activity(engine: Engine) -> list[WorkItem]:
    from sqlalchemy.orm import selectinload

    with db.session_factory(engine)() as session:
        return list(session.scalars(select(WorkItem).options(selectinload(WorkItem.activity))))


def test_targets_match_existing_customers_by_id_and_phone(seeded: Engine, tmp_path: Path) -> None:
    with db.session_factory(seeded)() as session:
        customer = session.get(Customer, 2)
        assert customer is not None
        number = customer.phones[0].e164
    path = _plan(tmp_path, [{"customer_id": 1, "offer": "A", "segment": "family"}, {"phone": number, "offer": "B"}])
    report = _import(seeded, path, region="US")
    assert report.prospects_created == 0 and report.work_items_created == 2
    with db.session_factory(seeded)() as session:
        assert session.get_one(Customer, 1).segment == "family"
        first = session.scalars(select(WorkItem).where(WorkItem.customer_id == 1)).one()
        assert first.phone_e164 is not None and first.phone_e164.startswith("+")  # the customer's own number
        assert session.scalars(select(WorkItem.offer).where(WorkItem.customer_id == 2)).one() == "B"


def test_export_results_after_the_campaign_ran(seeded: Engine, tmp_path: Path) -> None:
    _import(seeded, _plan(tmp_path, [{"customer_id": 1, "offer": "Fibre"}, {"customer_id": 2, "offer": "Fibre"},
                                     {"phone": "+86 138 0013 8000", "offer": "Fibre", "name": "王小明"}]))
    items = _items(seeded)
    first, second = items[0].id, items[1].id
    started = datetime(2025, 3, 3, 1, 0, 5, tzinfo=UTC)
    with db.transaction(db.session_factory(seeded)) as session:
        alice = session.scalars(select(Agent).where(Agent.login == "alice")).one()
        repository.record_outbound_attempt(session, first, result="busy", cti_call_id="c-1", started_at=started,
                                           ended_at=started, next_attempt_at=started + timedelta(minutes=15))
        repository.record_outbound_attempt(session, first, result="answered", cti_call_id="c-2",
                                           started_at=started + timedelta(hours=1),
                                           ended_at=started + timedelta(hours=1, minutes=3), next_attempt_at=None)
        contact = repository.record_contact(session, channel=repository.Channel.VOICE_OUT, customer_id=1,
                                            agent_id=alice.id, work_item_id=first)
        order = repository.create_order(session, customer_id=1, product="Fibre", amount=Decimal("49.00"),
                                        contact_id=contact, work_item_id=first)
        request = repository.create_service_request(session, customer_id=1, category="installation",
                                                    summary="Install fibre", contact_id=contact, work_item_id=first)
        repository.record_offer_result(session, repository.OfferResult(first, "accepted"), contact_id=contact,
                                       agent_id=alice.id, cti_call_id="c-2", at=started + timedelta(hours=1))
        repository.record_offer_result(session, repository.OfferResult(second, "not_interested", "=has fibre"),
                                       agent_id=alice.id, at=started - timedelta(minutes=1))
    out = tmp_path / "results.csv"
    with db.session_factory(seeded)() as session:
        assert export_results(session, "T1", out) == 3
        assert export_results(session, "T1", tmp_path / "attempts.csv", attempts=True) == 4
        with pytest.raises(NotFound, match="no campaign 'NOPE'"):
            export_results(session, "NOPE", io.StringIO())
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _rejects(out)
    assert list(rows[0])[:13] == ["work_item_id", "campaign_id", "customer_id", "phone", "channel", "status",
                                  "result", "reason", "attempts", "last_attempt_at", "agent_id", "order_ids",
                                  "service_request_ids"]
    row = rows[0]
    assert (row["work_item_id"], row["campaign_id"], row["customer_id"], row["channel"]) == (str(first), "T1", "1",
                                                                                         "outbound_call")
    assert (row["status"], row["result"], row["attempts"], row["agent_id"]) == ("completed", "accepted", "3", "alice")
    assert row["last_attempt_at"] == "2025-03-03T02:00:05Z"
    assert (row["order_ids"], row["service_request_ids"]) == (str(order.id), str(request.id))
    assert (rows[1]["result"], rows[1]["reason"]) == ("not_interested", "'=has fibre")  # never a formula
    assert (rows[2]["phone"], rows[2]["status"], rows[2]["attempts"]) == ("+8613800138000", "pending", "0")
    attempts = _rejects(tmp_path / "attempts.csv")
    assert [(a["work_item_id"], a["result"], a["cti_call_id"], a["agent_id"]) for a in attempts] == [
        (str(second), "offer_not_interested", "", "alice"),
        (str(first), "busy", "c-1", ""),
        (str(first), "answered", "c-2", ""),
        (str(first), "offer_accepted", "c-2", "alice"),
    ]
    assert attempts[1]["started_at"] == "2025-03-03T01:00:05Z" and attempts[3]["contact_id"] == str(contact)
    with db.session_factory(seeded)() as session:
        summary = {c.campaign_key: c for c in list_campaigns(session)}["T1"]
    assert summary.work_items["completed"] == 2 and summary.work_items["pending"] == 1


def test_a_plan_as_bi_tools_write_it_chinese_id_and_hours_as_text(seeded: Engine, tmp_path: Path) -> None:
    import unicodedata

    path = _plan(tmp_path, [{"customer_id": 1, "offer": "Fibre"}], campaign_id=" 春季宽带-2025 ",
                 schedule={"hours": "09:00-20:00"}, rules={"dispositions": ["成交", "拒绝"], "max_attempts": 2})
    report = _import(seeded, path)
    assert report.campaigns == ("春季宽带-2025",) and report.work_items_created == 1
    with db.session_factory(seeded)() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert (campaign.campaign_key, campaign.calling_hours) == ("春季宽带-2025", {"start": "09:00", "end": "20:00"})
        assert repository.campaign_dispositions(session) == {"春季宽带-2025": ("成交", "拒绝")}
    # a target list names the campaign in another Unicode spelling of the same id (decomposed): one campaign
    accented = tmp_path / "accent.json"
    accented.write_text(json.dumps({"campaign_id": "Café-秋", "name": "x", "channels": ["inbound_offer"],
                                    "products": ["Fibre"], "targets": []}, ensure_ascii=False), encoding="utf-8")
    _import(seeded, accented)
    targets = tmp_path / "more.csv"
    targets.write_text(HEADER + f"{unicodedata.normalize('NFD', 'Café-秋')},2,,Fibre,,,,,\n"
                       "春季宽带-2025,3,,Fibre,,,,,\n", encoding="gb18030")
    report = _import(seeded, targets, plan=False)
    assert (report.rejects, report.work_items_created) == ((), 2)
    with db.session_factory(seeded)() as session:
        assert set(session.scalars(select(Campaign.campaign_key))) == {"春季宽带-2025", "Café-秋"}
    out = io.StringIO()
    with db.session_factory(seeded)() as session:
        assert export_results(session, "春季宽带-2025", out) == 2


def test_a_numeric_campaign_id_is_taken_as_text(engine: Engine, tmp_path: Path) -> None:
    report = _import(engine, _plan(tmp_path, [{"phone": "+86 138 0013 8000", "offer": "x"}], campaign_id=2025))
    assert report.campaigns == ("2025",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"campaign_id": "春季 宽带"}, "campaign_id: must be 1 to 64 letters (of any script)"),
        ({"campaign_id": "_hidden"}, "campaign_id: must be 1 to 64 letters"),
        ({"campaign_id": "宽" * 65}, "campaign_id: must be 1 to 64 letters"),
        ({"schedule": {"hours": "9-5"}}, "schedule.hours: '9-5' is not calling hours such as \"09:00-20:00\""),
        ({"schedule": {"hours": {"start": "09:00", "finish": "20:00"}}},
         "schedule.hours.finish: unknown key; expected start, end, days"),
        ({"schedule": {"hours": "09:00-20:00", "timezone": "Asia/Shanghai"}}, "schedule.timezone: unknown key"),
        ({"rules": {"frequency_cap": {"contacts": 2, "days": 30, "channel": "sms"}}},
         "rules.frequency_cap.channel: unknown key; expected contacts, days"),
        ({"rules": {"consent_required": ["fax"]}}, "rules.consent_required: must be a list of channels"),
        ({"target": []}, "target: unknown key; expected one of campaign_id"),
    ],
)
def test_an_unknown_or_bad_key_is_refused_with_its_path(engine: Engine, tmp_path: Path, change: dict[str, Any],
                                                        message: str) -> None:
    path = _plan(tmp_path, [{"phone": "+86 138 0013 8000", "offer": "x"}], **change)
    with pytest.raises(CampaignFileError) as caught:
        _import(engine, path)
    assert message in str(caught.value)
    with db.session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_sms_needs_a_mobile_and_email_an_address_bad_rows_named_by_line_good_rows_load(
        engine: Engine, tmp_path: Path) -> None:
    path = _plan(tmp_path, [
        {"phone": "13800138000", "offer": "Fibre", "email": "wang@example.cn"},
        {"phone": "010 1234 5678", "offer": "Fibre"},  # a Beijing fixed line, and no address
        {"phone": "13900000001", "offer": "Fibre", "email": "not-an-address"},
        {"phone": "13700000002", "offer": "Fibre"},  # a mobile, no address: the sms only
    ], channels=["sms", "email"])
    report = _import(engine, path)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (2, "+861012345678 is not a mobile number; the customer has no e-mail address (give one in the email "
            "column)"),
        (3, "email 'not-an-address' is not an e-mail address"),
        (4, "the customer has no e-mail address (give one in the email column): no email work item (other "
            "channels loaded)"),
    ]
    assert report.rows_loaded == 2
    assert [r["line"] for r in _rejects(tmp_path / "plan.rejects.csv")] == ["2", "3", "4"]
    channels = {(i.phone_e164, i.activity.channel) for i in _items_with_activity(engine)}
    assert channels == {("+8613800138000", "sms"), ("+8613800138000", "email"), ("+8613700000002", "sms")}
    with db.session_factory(engine)() as session:
        wang = session.scalars(select(Customer).where(Customer.email == "wang@example.cn")).one()
        assert wang.tier is Tier.PROSPECT

    # An address given for a customer the CRM has without one fills it in; the email item loads.
    again = _plan(tmp_path, [{"phone": "13700000002", "offer": "Fibre", "email": "li@example.cn"}],
                  channels=["sms", "email"])
    assert _import(engine, again).rejects == ()
    channels = {(i.phone_e164, i.activity.channel) for i in _items_with_activity(engine)}
    assert ("+8613700000002", "email") in channels
