"""Two sites in one database: campaign lists, results files and ``ccenter campaign why`` see only their own
site's campaigns, work items, attempts and dial decisions, even under the same campaign key; ``ccenter db
seed --site`` seeds a named site once. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from ccenter.cli import main
from crm import db, repository
from crm.campaigns.results import export_results, list_campaigns
from crm.errors import NotFound
from crm.models import Activity, Agent, Attempt, Campaign, Customer, PhoneNumber, Queue, Task, WorkItem, WorkItemStatus
from crm.repository import DialDecisionRecord
from crm.supervision import campaign_overview

NOW = datetime.now(UTC).replace(microsecond=0)
PHONES = {"a": "+14155550121", "b": "+14155550122"}


def two_sites(engine: Engine) -> dict[str, int]:
    """A campaign ``SPRING`` at site ``a`` and another under the same key at site ``b``: one work item each
    (its own number), one attempt, one callback promised, and the dialer's decisions about each."""
    items = {}
    with db.transaction(db.session_factory(engine)) as s:
        for site, phone in PHONES.items():
            activity = Activity(channel="outbound_call", tasks=[Task(name="outbound")])
            s.add(
                Campaign(
                    site=site,
                    campaign_key="SPRING",
                    name=f"Spring at {site}",
                    dial_mode="progressive",
                    activities=[activity],
                )
            )
            customer = Customer(name=f"Customer {site}", time_zone="UTC", phones=[PhoneNumber(e164=phone)])
            s.add(customer)
            s.flush()
            item = WorkItem(
                task=activity.tasks[0],
                activity=activity,
                customer_id=customer.id,
                phone_e164=phone,
                offer="Fibre",
                status=WorkItemStatus.IN_PROGRESS,
                attached={},
            )
            s.add(item)
            s.flush()
            s.add(Attempt(work_item_id=item.id, started_at=NOW - timedelta(minutes=30), result="callback_requested"))
            items[site] = item.id
        repository.record_dial_decisions(
            s,
            [
                DialDecisionRecord(
                    NOW - timedelta(minutes=5), "SPRING", items[site], phone, True, "eligible", "dialled"
                )
                for site, phone in PHONES.items()
            ],
        )
    return items


def test_each_site_lists_exports_and_explains_only_its_own_campaigns(engine: Engine) -> None:
    items = two_sites(engine)
    with db.session_factory(engine)() as s:
        for site, other in (("a", "b"), ("b", "a")):
            (listed,) = list_campaigns(s, site=site)
            assert listed.name == f"Spring at {site}" and listed.work_items["in_progress"] == 1
            out = io.StringIO()
            assert export_results(s, "SPRING", out, site=site) == 1
            (row,) = csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff")))
            assert (int(row["work_item_id"]), row["phone"]) == (items[site], PHONES[site])
            out = io.StringIO()
            assert export_results(s, "SPRING", out, site=site, attempts=True) == 1
            (row,) = csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff")))
            assert int(row["work_item_id"]) == items[site]

            by_key = repository.decisions(s, site=site, campaign_key="SPRING")
            assert [d.work_item_id for d in by_key] == [items[site]]
            assert repository.decisions(s, site=site, phone=PHONES[other]) == []
            assert repository.decisions(s, site=site, work_item_id=items[other]) == []
            assert repository.campaign_now(s, "SPRING", site=site, now=NOW).recent == {"eligible": 1}
            assert repository.why_target(s, str(items[site]), site=site, region="US") == ("work_item", items[site])
            with pytest.raises(NotFound):  # the other site's work item is no work item here
                repository.why_target(s, str(items[other]), site=site, region="US")
            level = repository.callback_service_level(s, since=NOW - timedelta(hours=1), until=NOW, now=NOW, site=site)
            assert level.requested == 1
            (overview,) = campaign_overview(s, now=NOW, site=site)  # the supervisor's campaign panel
            assert overview.last_decision is not None and f"work item {items[site]} " in overview.last_decision
        assert list_campaigns(s, site="c") == []
        with pytest.raises(NotFound, match="no campaign 'SPRING' at site 'c'"):
            export_results(s, "SPRING", io.StringIO(), site="c")
        with pytest.raises(NotFound):
            repository.campaign_now(s, "SPRING", site="c", now=NOW)


def test_the_campaign_commands_read_their_own_site(engine: Engine, db_url: str, monkeypatch, capsys, tmp_path) -> None:
    items = two_sites(engine)
    monkeypatch.setenv("CCENTER_SITE", "b")
    assert main(["campaign", "list", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "Spring at b" in out and "Spring at a" not in out
    assert "callbacks promised to callers in the last 24 h: 1;" in out
    assert main(["campaign", "why", "SPRING", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert f"work item {items['b']} " in out and f"work item {items['a']} " not in out
    assert main(["campaign", "why", PHONES["a"], "--db", db_url]) == 0
    assert f"no dial decision kept about {PHONES['a']}" in capsys.readouterr().out
    assert main(["campaign", "why", str(items["a"]), "--db", db_url]) != 0  # site a's work item: unknown here
    capsys.readouterr()
    results = tmp_path / "b.csv"
    assert main(["campaign", "export", "SPRING", str(results), "--db", db_url]) == 0
    (row,) = csv.DictReader(io.StringIO(results.read_text(encoding="utf-8-sig")))
    assert int(row["work_item_id"]) == items["b"]
    monkeypatch.setenv("CCENTER_SITE", "c")
    assert main(["campaign", "export", "SPRING", str(tmp_path / "c.csv"), "--db", db_url]) != 0
    assert "no campaign 'SPRING' at site 'c'" in capsys.readouterr().err


def _counts(url: str, site: str) -> tuple[int, int, int, int, int]:
    engine = db.connect(url)
    try:
        with db.session_factory(engine)() as s:

            def count(model, *where) -> int:  # type: ignore[no-untyped-def]
                return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

            items = (
                select(func.count()).select_from(WorkItem).join(Activity).join(Campaign).where(Campaign.site == site)
            )
            return (
                count(Customer),
                count(Agent, Agent.site == site),
                count(Queue, Queue.site == site),
                count(Campaign, Campaign.site == site),
                int(s.scalar(items) or 0),
            )
    finally:
        engine.dispose()


def test_db_seed_seeds_a_named_site_once(db_url: str, capsys) -> None:
    assert main(["db", "seed", "--customers", "60", "--db", db_url]) == 0
    main_site = _counts(db_url, "main")
    assert main_site[:4] == (60, 9, 9, 1) and main_site[4] > 0
    capsys.readouterr()
    assert main(["db", "seed", "--site", "north", "--db", db_url]) == 0
    assert "added 9 agents, the queues and the campaign of site north" in capsys.readouterr().out
    north = _counts(db_url, "north")
    assert north[:4] == (60, 9, 9, 1) and north[4] > 0, "the shared customers, with north's own campaign"
    assert _counts(db_url, "main") == main_site, "the default site untouched"
    assert main(["db", "seed", "--site", "north", "--db", db_url]) == 0  # again: nothing
    assert "site north is seeded already" in capsys.readouterr().out
    assert _counts(db_url, "north") == north
    engine = db.connect(db_url)
    try:
        with db.session_factory(engine)() as s:
            assert repository.authenticate_agent(s, "alice", "demo", site="north") is not None
            (listed,) = list_campaigns(s, site="north")
            assert listed.campaign_key == "Q4-5G-UPGRADE"
    finally:
        engine.dispose()
    assert main(["db", "seed", "--site", "bad site", "--db", db_url]) != 0
    assert "--site: site 'bad site' must be" in capsys.readouterr().err
