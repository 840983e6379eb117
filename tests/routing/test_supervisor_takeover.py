"""Two ACDs and a takeover: the standby leads with the queue rules and skills supervisors changed while it
stood by, and the agents' figures of the day (published retained by the leader) carry on from where the
old leader left them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bus import topics
from bus.messages import AgentDay, AgentState, CallEvent
from bus.transport import InProcessBus, Subscription
from crm import db
from routing.acd_config import acd_config_from_db
from routing.model import AgentSelection
from routing.server import AcdServer, Role, public_name
from routing.supervision import SupervisorDesk
from tests.helpers import until

from .test_supervisor_actions import SITE, act, next_command, seed


async def two_acds(bus: InProcessBus, factory: Any) -> tuple[AcdServer, AcdServer]:
    with factory() as s:
        config = acd_config_from_db(s)
    first = AcdServer(bus, config, SITE, client_id="acd-1", supervision=SupervisorDesk(factory), settle_s=0.2,
                      claim_s=0.1)
    await first.start()
    await until(lambda: first.is_leader, timeout=10)
    second = AcdServer(bus, config, SITE, client_id="acd-2", supervision=SupervisorDesk(factory), settle_s=0.2,
                       claim_s=0.1)
    await second.start()
    await until(lambda: second.role is Role.STANDBY, timeout=10)
    return first, second


async def handle_call(bus: InProcessBus, cti: Subscription, call_id: str, agent: str) -> None:
    """A call queued for sales, delivered to ``agent``, answered and ended: one call handled."""
    await bus.publish(topics.call(SITE, call_id), CallEvent(type="queue.joined", call_id=call_id, ts=time.time(),
                                                            queue="sales"))
    deliver = await next_command(cti, "deliver")
    assert (deliver.call_id, deliver.agent_id) == (call_id, agent)
    for kind in ("call.answered", "call.ended"):
        await bus.publish(topics.call(SITE, call_id), CallEvent(type=kind, call_id=call_id, ts=time.time()))


async def day_of(inbox: Subscription, agent: str, *, handled: int, by: str) -> AgentDay:
    async with asyncio.timeout(10):
        while True:
            message = (await inbox.get()).message
            if (isinstance(message, AgentDay) and message.agent_id == agent and message.handled == handled
                    and message.client_id == public_name(by)):  # never the ACD's secret MQTT client id
                return message


def test_the_standby_takes_over_with_the_rules_supervisors_changed(tmp_path: Any) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    seed(factory)

    async def go() -> None:
        bus = InProcessBus()
        await bus.start()
        first, second = await two_acds(bus, factory)
        try:
            changes = {"agent_selection": "least_occupied", "priority": 4, "overflow_after_seconds": 20.0,
                       "overflow_to": ["sales"]}
            assert (await act(bus, "sam", "set_queue", "vip", changes=changes)).result == "ok"
            assert (await act(bus, "sam", "set_skills", "bob", skills={"sales": 3, "billing": 6})).result == "ok"
            assert second.engine.queues["vip"].agent_selection is AgentSelection.MOST_SKILLED  # it stands by
            await first.stop()
            await until(lambda: second.is_leader, timeout=10)
            live = second.engine.queues["vip"]
            assert (live.agent_selection, live.priority, live.overflow_after_s, live.overflow_to) == (
                AgentSelection.LEAST_OCCUPIED, 4, 20.0, ("sales",))
            assert second.config.agents["bob"].skills == {"sales": 3, "billing": 6}
            # The new leader routes with them: bob, who logs on after the takeover, gets a billing call.
            cti = await bus.subscribe(topics.cti_commands(SITE))
            await bus.publish(topics.agent_events(SITE, "bob"), AgentState(agent_id="bob", state="ready",
                                                                             ts=time.time()))
            await bus.publish(topics.call(SITE, "b1"), CallEvent(type="queue.joined", call_id="b1", ts=time.time(),
                                                                 queue="billing"))
            deliver = await next_command(cti, "deliver")
            assert (deliver.call_id, deliver.agent_id) == ("b1", "bob")
        finally:
            await second.stop()
            await first.stop()
            await bus.close()

    try:
        asyncio.run(go())
    finally:
        engine.dispose()


@pytest.mark.expect_log("WARNING", "routing.server", match="takes over with the queue rules it started with")
def test_a_standby_whose_database_is_down_takes_over_with_the_rules_it_has(tmp_path: Any) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    seed(factory)

    def broken() -> Any:
        raise OSError("the database is unreachable")

    async def go() -> None:
        bus = InProcessBus()
        await bus.start()
        first, second = await two_acds(bus, factory)
        second.supervision = SupervisorDesk(broken)
        try:
            await first.stop()
            await until(lambda: second.is_leader, timeout=10)
            assert second.engine.queues["vip"].agent_selection is AgentSelection.MOST_SKILLED  # as configured
        finally:
            await second.stop()
            await bus.close()

    try:
        asyncio.run(go())
    finally:
        engine.dispose()


def test_the_agents_figures_of_the_day_survive_a_takeover(tmp_path: Any) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    seed(factory)

    async def go() -> None:
        bus = InProcessBus()
        await bus.start()
        first, second = await two_acds(bus, factory)
        days = await bus.subscribe(topics.agent_day(SITE, "alice"))
        cti = await bus.subscribe(topics.cti_commands(SITE))
        try:
            await bus.publish(topics.agent_events(SITE, "alice"), AgentState(agent_id="alice", state="ready",
                                                                               ts=time.time()))
            await handle_call(bus, cti, "c1", "alice")
            before = await day_of(days, "alice", handled=1, by="acd-1")
            assert before.state in ("wrap_up", "ready")  # the ACD's word on her state, for windows opened later
            assert before.available_s >= before.busy_s >= 0
            await first.stop()
            await until(lambda: second.is_leader, timeout=10)
            # The new leader counts on from the old one's figures: one more call makes two, not one.
            carried = await day_of(days, "alice", handled=1, by="acd-2")
            assert carried.available_s >= before.available_s and carried.day == before.day
            await handle_call(bus, cti, "c2", "alice")
            after = await day_of(days, "alice", handled=2, by="acd-2")
            assert after.busy_s >= before.busy_s
            # A supervisor window opened now reads them at once: they are retained.
            late = await bus.subscribe(topics.agent_day(SITE, "alice"))
            retained = (await late.get(timeout=5)).message
            assert isinstance(retained, AgentDay) and retained.handled == 2
        finally:
            await second.stop()
            await first.stop()
            await bus.close()

    try:
        asyncio.run(go())
    finally:
        engine.dispose()


def test_the_day_starts_again_at_midnight() -> None:
    """The ledger alone: yesterday's counts are not today's, and another ACD's figures are carried once."""
    from datetime import datetime

    from routing.agent_day import DayLedger
    from routing.engine import AcdEngine
    from routing.model import AgentId, AgentLoggedOn, CallAnswered, CallEnded, CallId, CallQueued, QueueConfig

    evening = datetime(2026, 11, 30, 23, 59, 0).timestamp()
    engine = AcdEngine([QueueConfig("sales", wrap_up_s=0.0)])
    engine.handle(AgentLoggedOn(ts=evening, agent_id=AgentId("a1"), skills={"sales": 5}))
    ledger = DayLedger("acd-1")
    ledger.hear(AgentDay(agent_id="a1", day="2026-11-30", ts=evening, handled=7, busy_s=60.0, available_s=100.0,
                         client_id="acd-0"), leading=False)
    ledger.take_over(engine, evening)  # carries acd-0's seven calls
    engine.handle(CallQueued(ts=evening, call_id=CallId("c1"), queue="sales"))
    engine.handle(CallAnswered(ts=evening + 1, call_id=CallId("c1")))
    engine.handle(CallEnded(ts=evening + 30, call_id=CallId("c1")))
    [tonight] = ledger.due(engine, evening + 40)  # 1 s ringing and 29 s on the call, after acd-0's minute
    assert (tonight.state, tonight.reason, tonight.since) == ("ready", None, evening + 30)
    assert (tonight.day, tonight.handled, tonight.busy_s, tonight.available_s) == ("2026-11-30", 8, 90.0, 140.0)
    assert ledger.due(engine, evening + 45) == []  # nothing new handled: not again before the refresh
    [midnight] = ledger.due(engine, evening + 60)  # the first round after midnight starts the day
    assert (midnight.day, midnight.handled, midnight.busy_s, midnight.available_s) == ("2026-12-01", 0, 0.0, 0.0)
    [later] = ledger.due(engine, evening + 60 + 45)  # refreshed: 45 s ready this morning
    assert (later.handled, later.busy_s, later.available_s) == (0, 0.0, 45.0)
    # Another ACD's figures of yesterday are not carried into today.
    ledger.hear(AgentDay(agent_id="a1", day="2026-11-30", ts=evening, handled=9, client_id="acd-0"), leading=True)
    assert ledger.figures(engine, AgentId("a1"), evening + 130).handled == 0
    ledger.hear(AgentDay(agent_id="a2", day="2026-12-01", ts=evening + 61, handled=4, client_id="acd-0"),
                leading=True)  # left retained today by an ACD that ran before this one: carried
    engine.handle(AgentLoggedOn(ts=evening + 130, agent_id=AgentId("a2"), skills={"other": 5}, ready=False))
    assert ledger.figures(engine, AgentId("a2"), evening + 130).handled == 4
