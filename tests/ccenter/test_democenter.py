"""The demo's contact center: the production gateway, IVR (over FastAGI), ACD and dialer on the in-process
bus and the simulated PBX, with scripted callers and simulated agents around them, and desktops that
reach it as production's do: through a BusLink to the gateway."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

import resources
from bus import topics
from bus.messages import AgentState, AgentStateName, CallEvent
from bus.transport import InProcessBus, Subscription
from ccenter.config import Settings
from ccenter.democenter import AgentSeat, Components, DemoCenter, run_components
from crm import db, repository
from cti.buslink import BusLink
from cti.model import LinkEvent
from cti.sim import SimLink, SimPbx
from ivr.flow import load_flow
from ivr.lookup import CustomerInfo, InMemoryLookup
from routing.acd_config import AcdConfig, AgentProfile
from routing.model import AgentStatus, QueueConfig

VIP, STANDARD = "+14155550100", "+14155550101"
SITE = Settings(db_url="sqlite://").site


def _lookup() -> InMemoryLookup:
    lookup = InMemoryLookup()
    lookup.add_customer(CustomerInfo("7", "Ada Lovelace", tier="vip", accounts=("10000007",)),
                        phones=(VIP,), pins={"10000007": "1234"})
    lookup.add_customer(CustomerInfo("8", "Bob Stone", tier="standard", accounts=("10000008",)),
                        phones=(STANDARD,), pins={"10000008": "1234"})
    return lookup


def _config(agents: dict[str, AgentProfile]) -> AcdConfig:
    queues = tuple(QueueConfig(q, wrap_up_s=30.0) for q in ("vip", "billing", "technical", "sales", "retention"))
    return AcdConfig(queues, agents)


@pytest.fixture
def database(_sqlite_template: str, tmp_path) -> str:
    path = tmp_path / "demo.db"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


@dataclass
class Running:
    pbx: SimPbx
    center: DemoCenter
    parts: Components
    seen: list[LinkEvent]  # what the gateway (and the IVR) published, as a supervisor reads it

    def calls(self, kind: str) -> list[CallEvent]:
        return [e for e in self.seen if isinstance(e, CallEvent) and e.type == kind]

    def desktop(self, agent_id: str) -> BusLink:
        """A desktop's link to the gateway, as ``ccenter demo`` and ``ccenter desktop`` make it."""
        return BusLink(self.parts.bus, site=SITE, agent_id=agent_id)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def _read(subscription: Subscription, seen: list[LinkEvent], kind: type[CallEvent] | type[AgentState]) -> None:
    """Keep what a supervisor reads: call events from the call topics, agent states from the agents'
    topics (which also repeat each agent's own call events for its desktop)."""
    async for envelope in subscription:
        if isinstance(envelope.message, kind):
            seen.append(envelope.message)


@asynccontextmanager
async def running(database: str, seats: list[AgentSeat], config: AcdConfig) -> AsyncIterator[Running]:
    engine = db.connect(database)
    pbx = SimPbx(extensions=[s.extension for s in seats], now=time.time())  # as `ccenter demo`: the wall clock
    link = SimLink(pbx, realtime=True, tick=0.01)
    center = DemoCenter(pbx, seats=seats, caller_numbers=[], press_after_s=0.0, answer_after_s=(0.05, 0.1),
                        talk_s=(0.3, 0.4))
    bus = InProcessBus()
    seen: list[LinkEvent] = []
    started: list[Components] = []
    readers = [asyncio.create_task(_read(await bus.subscribe(pattern), seen, kind))
               for pattern, kind in ((topics.calls(SITE), CallEvent), (topics.all_agent_events(SITE), AgentState))]
    task = asyncio.create_task(run_components(
        bus=bus, link=link, center=center, settings=Settings(db_url=database), sessions=db.session_factory(engine),
        acd_config=config, flows=[load_flow(resources.path("ivr", "telecom.yaml"))], lookup=_lookup(),
        started=started.append,
    ))
    try:
        await until(lambda: bool(started) or task.done())
        if task.done():
            task.result()  # the components failed to start: say why
        yield Running(pbx, center, started[0], seen)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.close()
        await asyncio.gather(*readers, return_exceptions=True)
        engine.dispose()


def test_a_caller_goes_through_the_ivr_and_the_acd_to_a_simulated_agent(database: str) -> None:
    seats = [AgentSeat("erin", "1002", {"vip": 7, "billing": 5}, simulated=True)]
    config = _config({"erin": AgentProfile({"vip": 7, "billing": 5}, "1002")})

    async def scenario() -> None:
        async with running(database, seats, config) as r:
            await until(lambda: r.parts.acd.engine.agent_ids() == ["erin"])
            r.center.inbound(VIP, script=("1", "1234#"))
            await until(lambda: bool(r.calls("call.answered")))
            data = r.calls("call.data")[0]  # the IVR's hand-off
            fields = data.data["fields"]
            assert fields["verified"]["value"] is True and fields["customer_id"]["value"] == "7"
            assert data.data["routing"]["queue"] == "vip"
            assert r.pbx.call_data(data.call_id)["routing"] == data.data["routing"]  # attached at the PBX too
            assert [e.extension for e in r.calls("call.alerting")] == ["1002"]
            acd = r.parts.acd
            assert acd.engine.queue_statistics("vip", acd.clock()).answered == 1
            assert r.parts.gateway.commands_done >= 1  # the ACD's deliver, carried out by the gateway
            await until(lambda: bool(r.calls("call.ended")))  # the simulated agent hangs up

    asyncio.run(scenario())
    engine = db.connect(database)
    with db.session_factory(engine)() as session:
        now = datetime.now(UTC)
        report = repository.ivr_report(session, since=now - timedelta(hours=1), until=now + timedelta(hours=1))
    engine.dispose()
    assert report.sessions == 1 and report.by_exit == {"transferred": 1}


def test_a_desktop_agent_gets_calls_only_when_ready_and_not_during_wrap_up(database: str) -> None:
    seats = [AgentSeat("alice", "1001", {"sales": 8, "billing": 8, "vip": 8}, simulated=False)]
    config = _config({"alice": AgentProfile({"sales": 8, "billing": 8, "vip": 8}, "1001")})

    async def scenario() -> None:
        async with running(database, seats, config) as r:
            acd = r.parts.acd
            desk = r.desktop("alice")  # alice's desktop acts through the gateway, as in production
            await desk.connect()
            assert desk.gateway is not None and desk.gateway.online, "the gateway was up before the desktop"
            await desk.set_agent_state("alice", AgentStateName.NOT_READY, reason="logged on", extension="1001")
            r.center.inbound(STANDARD, script=("1", "1234#", "3"))
            await until(lambda: len(acd.waiting_calls()) == 1)
            assert not r.calls("call.alerting")
            await desk.set_agent_state("alice", AgentStateName.READY, extension="1001")
            await until(lambda: bool(r.calls("call.alerting")))
            [ring] = r.calls("call.alerting")
            await desk.answer(ring.call_id, "1001")
            await until(lambda: acd.engine.agent_status("alice") is AgentStatus.ON_CALL)
            r.center.inbound(VIP, script=("1", "1234#"))  # a second caller while alice talks
            await until(lambda: len(acd.waiting_calls()) == 1)
            await desk.hangup(ring.call_id, "1001")
            await until(lambda: acd.engine.agent_status("alice") is AgentStatus.WRAP_UP)
            assert len(acd.waiting_calls()) == 1 and len(r.calls("call.alerting")) == 1, "wrap-up"
            await desk.set_agent_state("alice", AgentStateName.READY, extension="1001")  # the desktop ends it
            await until(lambda: len(r.calls("call.alerting")) == 2)
            # Every one of alice's actions was a command the gateway carried out (besides the ACD's delivers).
            assert r.parts.gateway.commands_done >= 5 and r.parts.gateway.commands_failed == 0
            await desk.close()

    asyncio.run(scenario())


def test_the_agents_own_outbound_call_is_not_the_acds_business(database: str) -> None:
    seats = [AgentSeat("alice", "1001", {"sales": 8}, simulated=False)]
    config = _config({"alice": AgentProfile({"sales": 8}, "1001")})

    async def scenario() -> None:
        async with running(database, seats, config) as r:
            desk = r.desktop("alice")
            await desk.connect()
            # Logged on but not ready, as a desktop starts: the gateway acts only for the agent's extension.
            await desk.set_agent_state("alice", AgentStateName.NOT_READY, reason="logged on", extension="1001")
            call_id = await desk.make_call("1001", "+14155550199")
            await until(lambda: bool(r.calls("call.alerting")) or bool(r.calls("call.answered")))
            await desk.hangup(call_id, "1001")
            await until(lambda: bool(r.calls("call.ended")))
            # A call the PBX queues itself: once the ACD has it, it has read every call event before it.
            r.pbx.schedule_inbound(r.pbx.now, "+14155550198", "900", queue="sales")
            await until(lambda: bool(r.parts.acd.waiting_calls()))
            waiting = r.parts.acd.waiting_calls()
            assert len(waiting) == 1 and call_id not in waiting and r.parts.acd.commands_sent == 0
            assert r.center.ivr_calls == 0
            await desk.close()

    asyncio.run(scenario())
