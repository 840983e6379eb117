"""The production dialer teaches its predictive pacer the handle times of the calls it placed (talk seen on
the bus plus the queue's wrap-up from the ACD's statistics) and how long each agent on one of them has
been busy."""

from __future__ import annotations

import asyncio
import math
import shutil
import time
import uuid
from pathlib import Path

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent, CommandResult, QueueStats
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND
from crm import db
from routing.dialer import DialMode, Pacer
from routing.dialer_service import DialerCore, DialerService
from routing.model import AgentStatus, QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile
from tests.helpers import until
from tests.routing.test_dialer_service import T0, item, plan, seed


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "dialer.db"
    shutil.copy(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


def stats(now: float, *, ready: int = 0, busy: int = 0, wrap_up_s: float | None = 10.0) -> QueueStats:
    return QueueStats(queue="sales", ts=now, agents_ready=ready, agents_busy=busy, wrap_up_s=wrap_up_s)


def call(core: DialerCore, n: int, at: float, *, talk_s: float | None = 60.0) -> None:
    """Dial work item ``n`` at ``at``: answered 15 s later, given to an agent 1 s after, ``talk_s`` of talk
    (None: not over yet)."""
    dial = core.dial("C1", item(n), at)
    assert dial is not None
    core.on_result(CommandResult(command_id=dial.command_id, ok=True, ts=at, result={"call_id": f"k{n}"}), at)
    core.on_call_event(CallEvent(type="queue.joined", call_id=f"k{n}", ts=at, queue="sales"), at + 15)
    core.on_call_event(CallEvent(type="call.alerting", call_id=f"k{n}", ts=at, extension="1001"), at + 16)
    if talk_s is not None:
        core.on_call_event(CallEvent(type="call.ended", call_id=f"k{n}", ts=at), at + 16 + talk_s)


def test_the_handle_times_of_its_calls_change_the_dialers_decision_for_busy_agents() -> None:
    core = DialerCore()
    core.set_campaigns([plan(DialMode.PREDICTIVE)])
    core.on_stats(stats(T0, busy=20))
    # 20 agents busy for how long nobody knows, 180 s per call assumed: few will be free within the 17 s a
    # call takes to be answered and to wait for an agent, so nothing is dialled.
    assert core.wanted(T0) == {}
    at = T0
    for n in range(40):  # calls of 60 s talk and 10 s wrap-up (the queue's, per the ACD)
        call(core, n, at)
        at += 100.0
    pacer = core.pacers["C1"]
    assert pacer.handle_times() == (70.0,) * 40
    assert math.isclose(pacer.handle_s, (180.0 * 10 + 70.0 * 40) / 50)  # the 180 s assumed weighs 10 calls
    core.on_stats(stats(at, busy=20))
    assert core.wanted(at)["C1"] > 0  # agents handling 70 s calls come free sooner: it dials ahead of them


def test_how_long_agents_on_its_calls_have_been_busy_until_their_wrap_up_ends() -> None:
    core = DialerCore()
    core.set_campaigns([plan(DialMode.PREDICTIVE)])
    core.on_stats(stats(T0, busy=1))
    call(core, 1, T0, talk_s=None)
    core.on_stats(stats(T0 + 40, busy=3))
    assert core.busy_for("sales", T0 + 46) == [30.0, None, None]  # given to the agent at T0 + 16
    core.on_call_event(CallEvent(type="call.ended", call_id="k1", ts=T0), T0 + 76)
    assert core.pacers["C1"].handle_times() == (70.0,)  # 60 s talk, 10 s wrap-up
    core.on_stats(stats(T0 + 80, busy=2))
    assert core.busy_for("sales", T0 + 80) == [64.0, None]  # in wrap-up: still busy
    core.tick(T0 + 86)  # the wrap-up is over
    assert core.busy_for("sales", T0 + 86) == [None, None]
    # The ACD counts fewer busy than the dialer knows of: those still talking are kept first.
    call(core, 2, T0 + 100, talk_s=None)  # with an agent since T0 + 116
    call(core, 3, T0 + 105, talk_s=3.0)  # with an agent since T0 + 121, in wrap-up from T0 + 124
    core.on_stats(stats(T0 + 122, busy=1))
    assert core.busy_for("sales", T0 + 125) == [9.0]


def test_a_campaign_switched_to_predictive_keeps_the_handle_times_learned() -> None:
    core = DialerCore()
    core.set_campaigns([plan(DialMode.PROGRESSIVE)])
    core.on_stats(stats(T0))
    for n in range(3):
        call(core, n, T0 + 100 * n)
    core.set_campaigns([plan(DialMode.PREDICTIVE)])
    pacer = core.pacers["C1"]
    assert pacer.mode is DialMode.PREDICTIVE and pacer.handle_times() == (70.0, 70.0, 70.0)


def test_a_wrap_up_that_is_no_number_counts_as_none() -> None:
    core = DialerCore()
    core.set_campaigns([plan(DialMode.PREDICTIVE)])
    core.on_stats(QueueStats.from_dict({"queue": "sales", "ts": T0, "agents_busy": 1, "wrap_up_s": "ten"}))
    call(core, 1, T0)
    assert core.pacers["C1"].handle_times() == (60.0,)


def test_the_production_dialer_learns_talk_and_wrap_up_from_the_acd_and_the_gateway(
    mqtt_url: str, sqlite_url: str, tmp_path: Path
) -> None:
    """The real gateway (simulated PBX), ACD and dialer on Mosquitto; the agents talk 60 s with each customer
    (on a shared clock moved forward) and the queue's wrap-up is 10 s: the dialer's pacer learns 70 s."""
    from cti.gateway import Gateway
    from cti.model import DialOutcome
    from cti.sim import NumberScript, SimLink, SimPbx

    site = f"pace-{uuid.uuid4().hex[:8]}"
    engine = db.connect(sqlite_url)
    factory = db.session_factory(engine)
    numbers = [f"+1555000{n:04d}" for n in range(1, 11)]
    seed(factory, numbers, site)
    pbx = SimPbx(extensions=["1001", "1002"], trunks=8)
    for number in numbers:
        pbx.script_number(number, NumberScript(DialOutcome.ANSWERED, after=0.05))
    config = AcdConfig(
        queues=(QueueConfig("sales", wrap_up_s=10.0),),
        agents={"alice": AgentProfile({"sales": 5}, "1001"), "bob": AgentProfile({"sales": 5}, "1002")},
    )
    offset = [0.0]

    def clock() -> float:  # the ACD's and the dialer's: the test moves it on instead of waiting
        return time.time() + offset[0]

    talking: set[str] = set()
    seen_stats: list[QueueStats] = []

    async def scenario() -> None:
        buses = [MqttBus(mqtt_url, client_id=f"{role}-{site}", site=site) for role in ("gw", "acd", "dialer", "desk")]
        for bus in buses:
            await bus.start()
        gw_bus, acd_bus, dialer_bus, desk = buses
        link = SimLink(pbx, realtime=True, tick=0.02)
        gateway = Gateway(link, gw_bus, site=site)
        acd = AcdServer(acd_bus, config, site, election=False, clock=clock)
        dialer = DialerService(dialer_bus, factory, site, clock=clock, interval_s=0.1, outbox=tmp_path / "a.jsonl")
        calls = await desk.subscribe(topics.calls(site), qos=QOS_COMMAND)
        queue_stats = await desk.subscribe(topics.all_queue_stats(site), qos=QOS_COMMAND)

        async def desktops() -> None:  # auto-answer at the agents' phones, as outbound desktops do
            async for envelope in calls:
                m = envelope.message
                if isinstance(m, CallEvent) and m.type == "call.alerting" and m.extension:
                    pbx.answer(m.call_id, m.extension)
                elif isinstance(m, CallEvent) and m.type == "call.answered" and m.extension:
                    talking.add(m.call_id)

        async def supervisor() -> None:
            async for envelope in queue_stats:
                if isinstance(envelope.message, QueueStats):
                    seen_stats.append(envelope.message)

        tasks = [asyncio.create_task(desktops()), asyncio.create_task(supervisor())]
        try:
            await gateway.start()
            await link.connect()
            tasks.append(asyncio.create_task(gateway.run()))
            await acd.start()
            for agent_id in ("alice", "bob"):
                await desk.publish(
                    topics.agent_events(site, agent_id),
                    AgentState(agent_id=agent_id, state="ready", ts=time.time()),
                    qos=QOS_COMMAND,
                )
            await dialer.start()
            await until(lambda: "SPRING" in dialer.core.pacers, 15)
            pacer = dialer.core.pacers["SPRING"]
            status = acd.adapter.engine.agent_status
            handled = 0
            while handled < len(numbers):
                await until(lambda: len(talking) == 2, 15)  # both agents on a call the dialer placed
                # the dialer knows how long each has been busy (once it has seen the calls given to them and
                # the ACD's statistics since, which count them busy)
                await until(lambda: len(known := dialer.core.busy_for("sales", clock())) == 2 and None not in known, 15)
                assert all(age is not None and 0 <= age < 30 for age in dialer.core.busy_for("sales", clock()))
                offset[0] += 60.0  # a minute of talk
                ended = sorted(talking)
                talking.clear()
                for call_id in ended:
                    pbx.hangup(call_id)
                handled += len(ended)
                # the dialer has seen the ends and the ACD put both agents in wrap-up, on the same clock
                await until(lambda: len(pacer.handle_times()) == handled, 15)  # noqa: B023
                await until(lambda: all(status(a) is AgentStatus.WRAP_UP for a in ("alice", "bob")), 15)  # type: ignore[arg-type]
                offset[0] += 10.0  # the wrap-up
        finally:
            await dialer.stop()
            await acd.stop()
            await link.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for bus in buses:
                await bus.close()
        assert any(s.wrap_up_s == 10.0 for s in seen_stats)  # the ACD says the queue's wrap-up
        times = pacer.handle_times()
        assert len(times) == len(numbers) and all(70.0 <= t < 100.0 for t in times), times
        # the exponential's mean moves from the 180 s assumed (worth 10 calls) to the handle times seen
        assert math.isclose(pacer.handle_s, (180.0 * 10 + sum(times)) / 20) and pacer.handle_s < 130.0
        fresh = Pacer(DialMode.PREDICTIVE, pacer.abandon_target)
        assert pacer.free_within(None, 17.0) > 1.3 * fresh.free_within(None, 17.0)

    asyncio.run(scenario())
    engine.dispose()
