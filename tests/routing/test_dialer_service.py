"""The dialer service: sans-I/O decisions, and end to end on Mosquitto with the gateway, the ACD and SQLite."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bus import topics
from bus.messages import AgentState, CallEvent, Command, CommandResult, QueueStats
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND
from crm import db
from crm.campaigns.rules import CampaignRules
from crm.models import (
    Activity,
    Attempt,
    Campaign,
    Customer,
    DoNotCall,
    PhoneNumber,
    Queue,
    Skill,
    Task,
    WorkItem,
    WorkItemStatus,
)
from crm.repository import DialCandidate
from routing.dialer import DialMode
from routing.dialer_service import CampaignPlan, DialerCore, DialerService, DialOut, HangUp, RecordAttempt
from routing.model import QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile
from tests.helpers import until

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC).timestamp()  # a Tuesday afternoon


def plan(mode: DialMode = DialMode.PROGRESSIVE, **rules: object) -> CampaignPlan:
    r = CampaignRules(retry_s={"busy": 900.0, "abandoned": 86400.0, "answered": 86400.0}, **rules)  # type: ignore[arg-type]
    return CampaignPlan(1, "C1", mode, "sales", r, abandon_after_s=2.0)


def item(n: int, *, tz: str = "UTC", dnc: bool = False, attempts: int = 0) -> DialCandidate:
    return DialCandidate(n, 100 + n, f"+1555000{n:04d}", "5G upgrade", 0, tz, attempts, None, None, (), dnc)


def core_with(stats_ready: int, *p: CampaignPlan) -> DialerCore:
    core = DialerCore()
    core.set_campaigns(p or (plan(),))
    core.on_stats(QueueStats(queue="sales", ts=T0, agents_ready=stats_ready))
    return core


def ev(kind: str, call_id: str, **kw: object) -> CallEvent:
    return CallEvent(type=kind, call_id=call_id, ts=T0, **kw)  # type: ignore[arg-type]


def started(core: DialerCore, n: int, now: float = T0) -> DialOut:
    dial = core.dial("C1", item(n), now)
    assert dial is not None
    core.on_result(CommandResult(command_id=dial.command_id, ok=True, ts=now, result={"call_id": f"k{n}"}), now)
    return dial


def test_progressive_dials_one_call_per_ready_agent_not_covered() -> None:
    core = core_with(3)
    assert core.wanted(T0) == {"C1": 3}
    started(core, 1)
    assert core.wanted(T0) == {"C1": 2}
    assert core.wanted(T0 + 60) == {}  # statistics a minute old: the ACD is gone, dial nothing


def test_predictive_dials_more_than_the_ready_agents() -> None:
    core = core_with(10, plan(DialMode.PREDICTIVE))
    assert core.wanted(T0)["C1"] > 10


def test_predictive_dials_ahead_for_busy_agents_about_to_be_free() -> None:
    idle = core_with(2, plan(DialMode.PREDICTIVE))
    busy = DialerCore()
    busy.set_campaigns((plan(DialMode.PREDICTIVE),))
    busy.on_stats(QueueStats(queue="sales", ts=T0, agents_ready=2, agents_busy=18))
    assert busy.wanted(T0)["C1"] > idle.wanted(T0)["C1"] >= 2
    assert core_with(2).wanted(T0)["C1"] == 2, "progressive: one call per ready agent, whatever the busy ones"


def test_rules_refuse_do_not_call_and_night_hours_and_remember_until_when() -> None:
    core = core_with(5, plan(calling_hours=(datetime.min.time().replace(hour=9), datetime.min.time().replace(hour=20))))
    assert core.dial("C1", item(1, dnc=True), T0) is None
    assert core.dial("C1", item(2, tz="Asia/Tokyo"), T0) is None  # midnight in Tokyo
    assert core.dial("C1", item(3, attempts=3), T0) is None  # max_attempts 3
    assert set(core.skip(T0)) == {1, 2, 3}
    dial = core.dial("C1", item(4, tz="America/New_York"), T0)  # 10:00 in New York
    assert dial is not None and dial.queue == "sales" and dial.number == "+15550000004"
    fields = dial.data["fields"]
    assert {k: fields[k]["value"] for k in ("work_item_id", "campaign_key", "offer", "customer_id")} == {
        "work_item_id": 4, "campaign_key": "C1", "offer": "5G upgrade", "customer_id": 104}
    assert fields["work_item_id"]["set_by"] == {"kind": "system", "name": "dialer"}
    assert dial.data["schema"] == "ccenter.attached/1" and dial.data["routing"]["queue"] == "sales"
    assert 4 in core.skip(T0)  # being dialled


def test_busy_is_recorded_with_its_retry_and_events_before_the_result_are_kept() -> None:
    core = core_with(2)
    dial = core.dial("C1", item(1), T0)
    assert dial is not None
    assert core.on_call_event(ev("call.ended", "k1", cause="busy"), T0 + 1) == []  # id not known yet
    out = core.on_result(CommandResult(command_id=dial.command_id, ok=True, ts=T0, result={"call_id": "k1"}), T0 + 1)
    assert len(out) == 1 and isinstance(out[0], RecordAttempt)
    record = out[0]
    assert (record.work_item_id, record.result, record.call_id, record.final) == (1, "busy", "k1", False)
    assert record.next_attempt_at == datetime.fromtimestamp(T0 + 1, UTC) + timedelta(seconds=900)
    assert core.pacers["C1"].in_progress == 0 and core.in_progress == 0


def test_last_attempt_is_final_and_a_refused_dial_is_failed() -> None:
    core = core_with(2, plan(max_attempts=1))
    dial = core.dial("C1", item(1), T0)
    assert dial is not None
    out = core.on_result(CommandResult(command_id=dial.command_id, ok=False, ts=T0, error="no trunk"), T0)
    assert [(r.result, r.final, r.next_attempt_at) for r in out if isinstance(r, RecordAttempt)] == [
        ("failed", True, None)]


def test_answered_call_given_to_an_agent_is_a_connect() -> None:
    core = core_with(1)
    started(core, 1)
    assert core.on_call_event(ev("queue.joined", "k1", queue="sales"), T0 + 5) == []
    assert core.next_timer() == T0 + 7
    out = core.on_call_event(ev("call.alerting", "k1", extension="1001"), T0 + 5.5)
    assert [(r.result, r.call_id) for r in out if isinstance(r, RecordAttempt)] == [("answered", "k1")]
    assert core.tick(T0 + 10) == [] and core.counts["C1"].connects == 1
    assert core.pacers["C1"].abandon_rate() == 0.0
    assert core.pacers["C1"].ring_s == pytest.approx(15 + (5 - 15) * 0.05), "answered after 5 s: learned"
    assert core.ready_agents("sales", T0 + 6) == 0  # the agent the ACD just reserved is not ready any more
    assert core.on_call_event(ev("call.ended", "k1", cause="normal"), T0 + 60) == []


def test_answered_call_without_an_agent_in_time_is_abandoned_and_hung_up() -> None:
    core = core_with(1)
    started(core, 1)
    core.on_call_event(ev("call.data", "k1", data={"routing": {"queue": "sales"}}), T0 + 5)
    assert core.tick(T0 + 6.9) == []
    out = core.tick(T0 + 7)
    assert HangUp("k1", "C1") in out
    assert [r.result for r in out if isinstance(r, RecordAttempt)] == ["abandoned"]
    assert core.pacers["C1"].abandon_rate() == 1.0 and core.counts["C1"].abandoned == 1
    assert core.on_call_event(ev("call.alerting", "k1", extension="1001"), T0 + 8) == []  # too late: no record


def test_customer_hanging_up_before_the_agent_is_recorded_as_hung_up() -> None:
    core = core_with(1)
    started(core, 1)
    core.on_call_event(ev("queue.joined", "k1", queue="sales"), T0 + 5)
    out = core.on_call_event(ev("call.ended", "k1", cause="abandoned"), T0 + 5.5)
    assert [r.result for r in out if isinstance(r, RecordAttempt)] == ["hung_up"]


# ---------------------------------------------------------------- end to end


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "dialer.db"
    shutil.copy(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


def seed(factory: Callable[[], object], numbers: list[str], site: str = "main") -> list[int]:
    with db.transaction(factory) as s:  # type: ignore[arg-type]
        skill = Skill(name="sales")
        s.add(Queue(site=site, name="sales", skill=skill, wrap_up_seconds=0))
        campaign = Campaign(site=site, campaign_key="SPRING", name="Spring offer", dial_mode="progressive",
                            rules={"max_attempts": 2, "retry": {"busy": 1}, "abandon_target": 0.03})
        activity = Activity(channel="outbound_call")
        task = Task(name="Outbound: sales", skill="sales")
        activity.tasks = [task]
        campaign.activities = [activity]
        s.add(campaign)
        s.add(DoNotCall(e164="+15550000099", reason="asked"))
        ids = []
        for n, number in enumerate(numbers):
            customer = Customer(name=f"Customer {n}", time_zone="UTC", phones=[PhoneNumber(e164=number)])
            s.add(customer)
            s.flush()
            work = WorkItem(task=task, activity=activity, customer_id=customer.id, phone_e164=number, offer="Spring",
                            priority=10 - n)
            s.add(work)
            s.flush()
            ids.append(work.id)
        return ids


def test_progressive_campaign_end_to_end(mqtt_url: str, sqlite_url: str) -> None:
    from cti.gateway import Gateway
    from cti.model import DialOutcome
    from cti.sim import NumberScript, SimLink, SimPbx

    site = f"dial-{uuid.uuid4().hex[:8]}"
    engine = db.connect(sqlite_url)
    factory = db.session_factory(engine)
    busy, first, second, blocked = "+15550000001", "+15550000002", "+15550000003", "+15550000099"
    busy_id, first_id, second_id, blocked_id = seed(factory, [busy, first, second, blocked], site)
    pbx = SimPbx(extensions=["1001", "1002"], trunks=8)
    pbx.script_number(busy, NumberScript(DialOutcome.BUSY, after=0.05))
    for number in (first, second):
        pbx.script_number(number, NumberScript(DialOutcome.ANSWERED, after=0.1))
    config = AcdConfig(
        queues=(QueueConfig("sales", wrap_up_s=0.0),),
        agents={"alice": AgentProfile({"sales": 5}, "1001"), "bob": AgentProfile({"sales": 5}, "1002")},
    )
    delivered: list[Command] = []
    attached: dict[str, dict[str, object]] = {}
    answered: set[str | None] = set()

    async def scenario() -> None:
        buses = [MqttBus(mqtt_url, client_id=f"{role}-{site}", site=site) for role in ("gw", "acd", "dialer", "desk")]
        for bus in buses:
            await bus.start()
        gw_bus, acd_bus, dialer_bus, desk = buses
        link = SimLink(pbx, realtime=True, tick=0.02)
        gateway = Gateway(link, gw_bus, site=site)
        acd = AcdServer(acd_bus, config, site, election=False)
        dialer = DialerService(dialer_bus, factory, site, interval_s=0.1)
        watch = await desk.subscribe(topics.cti_commands(site), qos=QOS_COMMAND)
        calls = await desk.subscribe(topics.calls(site), qos=QOS_COMMAND)

        async def desktops() -> None:  # auto-answer at the agents' phones, as outbound desktops do
            async for envelope in calls:
                m = envelope.message
                if isinstance(m, CallEvent) and m.type == "call.alerting" and m.extension:
                    pbx.answer(m.call_id, m.extension)
                elif isinstance(m, CallEvent) and m.type == "call.answered" and m.extension:
                    answered.add(m.call_id)
                elif isinstance(m, CallEvent) and m.type == "call.data":
                    attached[m.call_id] = m.data

        async def cti_watch() -> None:
            async for envelope in watch:
                if isinstance(envelope.message, Command) and envelope.message.name == "deliver":
                    delivered.append(envelope.message)

        tasks = [asyncio.create_task(desktops()), asyncio.create_task(cti_watch())]
        try:
            await gateway.start()
            await link.connect()
            tasks.append(asyncio.create_task(gateway.run()))
            await acd.start()
            for agent_id in ("alice", "bob"):
                await desk.publish(topics.agent_events(site, agent_id),
                                   AgentState(agent_id=agent_id, state="ready", ts=time.time()), qos=QOS_COMMAND)
            await dialer.start()
            assert [p.key for p in dialer.core.plans.values()] == ["SPRING"]

            # Both customers who answer reach an agent; the busy one is tried again after its 1 s retry.
            # (the deliver commands are seen before the gateway carries them out: wait for the answers)
            await until(lambda: len(delivered) == 2 and {c.call_id for c in delivered} <= answered, 15)
            for command in delivered:
                pbx.hangup(command.call_id or "")  # the agents finish: they are ready for the retry
            await until(lambda: dialer.core.counts["SPRING"].by_result.get("busy", 0) == 2, 15)
            await until(lambda: dialer.attempts_recorded >= 4, 15)
        finally:
            await dialer.stop()
            await acd.stop()
            await link.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for bus in buses:
                await bus.close()

    asyncio.run(scenario())
    with factory() as s:
        attempts = {w: [(a.result, a.cti_call_id) for a in s.scalars(
            select(Attempt).where(Attempt.work_item_id == w).order_by(Attempt.id))] for w in
            (busy_id, first_id, second_id, blocked_id)}
        items = {w.id: w for w in s.scalars(select(WorkItem))}
    delivered_calls = {c.call_id for c in delivered}
    assert [r for r, _ in attempts[busy_id]] == ["busy", "busy"]
    assert items[busy_id].status.value == "failed"  # max_attempts 2
    for work_id in (first_id, second_id):
        assert [r for r, _ in attempts[work_id]] == ["answered"]
        assert attempts[work_id][0][1] in delivered_calls
        assert items[work_id].status.value == "in_progress" and items[work_id].result == "answered"
    assert attempts[blocked_id] == [] and items[blocked_id].attempt_count == 0  # do-not-call
    assert {c.args["extension"] for c in delivered} == {"1001", "1002"}
    for work_id in (first_id, second_id):  # what the desktop reads to know the call's work item
        data = attached[str(attempts[work_id][0][1])]
        fields = data["fields"]
        assert isinstance(fields, dict) and data["schema"] == "ccenter.attached/1"
        assert fields["work_item_id"]["value"] == work_id and fields["campaign_key"]["value"] == "SPRING"
        assert fields["offer"]["value"] == "Spring" and data["routing"] == {"queue": "sales", "priority": 0}
    engine.dispose()


# ---------------------------------------------------------------- one set of rules, three channels

NOON_NY = datetime(2025, 3, 4, 17, 0, tzinfo=UTC)  # a Tuesday, 12:00 in New York


def _one_item(engine: Engine, *, rules: dict[str, object], attempts: int, hours: dict[str, object],
              dnc: bool = False, status: WorkItemStatus = WorkItemStatus.PENDING) -> tuple[int, int]:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Ada", time_zone="America/New_York",
                            phones=[PhoneNumber(e164="+12125550100", is_primary=True)])
        campaign = Campaign(campaign_key="C1", name="Fibre", dial_mode="progressive", script="Pitch",
                            rules={"queue": "sales", **rules}, calling_hours=hours)
        activity = Activity(channel="outbound_call")
        activity.tasks = [Task(name="outbound")]
        campaign.activities = [activity]
        s.add_all([customer, campaign])
        if dnc:
            s.add(DoNotCall(e164="+12125550100", reason="asked"))
        s.flush()
        item = WorkItem(task_id=activity.tasks[0].id, activity_id=activity.id, customer_id=customer.id,
                        phone_e164="+12125550100", offer="Fibre", attempt_count=attempts, status=status)
        s.add(item)
        s.flush()
        return customer.id, item.id


def _answers(engine: Engine, customer_id: int, item_id: int) -> tuple[bool, bool, bool]:
    """Would the dialer dial it, would the preview show it, would an inbound call offer it (at NOON_NY)?"""
    from crm import repository
    from routing.dialer_service import campaign_plan

    with db.session_factory(engine)() as s:
        plans = [p for c in repository.dialer_campaigns(s, now=NOON_NY) if (p := campaign_plan(c)) is not None]
        core = DialerCore()
        core.set_campaigns(plans)
        candidates = [c for p in plans for c in repository.dial_candidates(s, p.campaign_id, now=NOON_NY)]
        dialer = any(core.dial("C1", c, NOON_NY.timestamp()) is not None for c in candidates)
        preview = repository.next_preview_item(s, agent_id=None, now=NOON_NY)
        offers = repository.customer_360(s, customer_id, now=NOON_NY).offers
    shown = preview is not None and preview.work_item_id == item_id
    return dialer, shown, [o.work_item_id for o in offers] == [item_id]


DAY = {"start": "09:00", "end": "20:00"}


@pytest.mark.parametrize(
    ("rules", "attempts", "hours", "dnc", "status", "expected"),
    [
        ({}, 2, DAY, False, WorkItemStatus.PENDING, (True, True, True)),
        ({}, 3, DAY, False, WorkItemStatus.PENDING, (False, False, False)),  # the one default: 3 attempts
        ({"max_attempts": 5}, 4, DAY, False, WorkItemStatus.IN_PROGRESS, (True, True, True)),
        ({"max_attempts": 5}, 5, DAY, False, WorkItemStatus.IN_PROGRESS, (False, False, False)),
        ({"max_attempts": 1, "dispositions": ["sale"]}, 0, {}, False, WorkItemStatus.PENDING, (True, True, True)),
        ({}, 0, DAY, False, WorkItemStatus.COMPLETED, (False, False, False)),
        # Rules about calling the customer hold for the calls we start, not on the customer's own call.
        ({}, 0, DAY, True, WorkItemStatus.PENDING, (False, False, True)),
        ({}, 0, {"start": "13:00", "end": "20:00"}, False, WorkItemStatus.PENDING, (False, False, True)),
        ({}, 0, {"start": "09:00", "end": "20:00", "days": ["sat", "sun"]}, False, WorkItemStatus.PENDING,
         (False, False, True)),
    ],
)
def test_the_same_rules_give_the_same_answer_to_the_dialer_the_preview_and_inbound_offers(
    engine: Engine, rules: dict[str, object], attempts: int, hours: dict[str, object], dnc: bool,
    status: WorkItemStatus, expected: tuple[bool, bool, bool],
) -> None:
    customer_id, item_id = _one_item(engine, rules=rules, attempts=attempts, hours=hours, dnc=dnc, status=status)
    assert _answers(engine, customer_id, item_id) == expected


def test_rules_that_break_the_format_stop_every_channel_and_say_why(engine: Engine,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    customer_id, item_id = _one_item(engine, rules={"max_attempts": "many"}, attempts=0, hours=DAY)
    with caplog.at_level("INFO"):
        assert _answers(engine, customer_id, item_id) == (False, False, False)
    assert "campaign C1 has unusable rules (rules.max_attempts: must be a whole number >= 1)" in caplog.text


def test_a_frequency_cap_longer_than_a_month_counts_its_whole_window(engine: Engine) -> None:
    customer_id, item_id = _one_item(engine, rules={"frequency_cap": {"contacts": 1, "days": 60}}, attempts=0,
                                     hours=DAY)
    with db.transaction(db.session_factory(engine)) as s:
        reached = NOON_NY - timedelta(days=45)
        s.add(Attempt(work_item_id=item_id, started_at=reached, ended_at=reached, result="answered"))
    assert _answers(engine, customer_id, item_id) == (False, False, True)


def test_numbers_on_a_call_are_those_dialled_until_the_call_ends_and_callers_watched() -> None:
    core = core_with(2)
    dial = core.dial("C1", item(1), T0)
    assert dial is not None and core.numbers_in_call() == {dial.number}
    core.on_call_event(CallEvent(type="call.offered", call_id="in-7", ts=T0, calling="+15550000999"), T0)
    assert core.numbers_in_call() == {dial.number, "+15550000999"}
    core.on_call_event(CallEvent(type="call.ended", call_id="in-7", ts=T0 + 5), T0 + 5)
    assert core.numbers_in_call() == {dial.number}


def test_a_number_on_a_call_now_is_not_dialled_until_the_call_is_over() -> None:
    """A callback (or any dial) waits while the customer is on a call with us: the caller came back in."""
    core = core_with(2)
    number = item(5).phone
    national = f"({number[2:5]}) {number[5:8]}-{number[8:]}"  # as the PBX gives a caller's number
    core.on_call_event(CallEvent(type="call.offered", call_id="in-8", ts=T0, calling=national), T0)
    assert core.dial("C1", item(5), T0) is None
    assert 5 in core.skip(T0 + 60) and 5 not in core.skip(T0 + 301)
    core.on_call_event(CallEvent(type="call.ended", call_id="in-8", ts=T0 + 30), T0 + 30)
    assert core.dial("C1", item(5), T0 + 301) is not None
