"""Supervisor actions on a real Mosquitto with the ACL `ccenter broker provision` writes: only a supervisor
writes its own actions topic, the ACD carries them out and answers, an agent's forgery never arrives."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import topics
from bus.messages import AgentDay, AgentState, SupervisorAction, SupervisorResult
from ccenter.commands.broker import DEFAULT_SERVICES, provision
from crm import db, supervision
from crm.broker_accounts import BrokerAgent
from crm.models import Agent, Role
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx
from routing.acd_config import AcdConfig, AgentProfile
from routing.model import QueueConfig
from routing.server import AcdServer
from routing.supervision import SupervisorClient, SupervisorDesk

from .test_broker_trust import (
    MOSQUITTO,
    TIMEOUT,
    Broker,
    bus_as,
    start_shipped_broker,
)

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="Mosquitto is not installed")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    passwd, acl = tmp_path / "ccenter.passwd", tmp_path / "ccenter.acl"
    people = [BrokerAgent("sup1", "supervisor", "north"), BrokerAgent("sup2", "supervisor", "south"),
              BrokerAgent("a7", "agent", "north"), BrokerAgent("b9", "agent", "south")]
    passwords, _ = provision(passwd, acl, people, DEFAULT_SERVICES)
    assert "topic write ccenter/v1/+/supervisors/sup1/actions" in acl.read_text()
    b = start_shipped_broker(tmp_path, passwd, acl, passwords)
    try:
        yield b
    finally:
        b.stop()


def test_only_a_supervisor_writes_its_actions_and_the_acd_answers_it_alone(broker: Broker, tmp_path: Path) -> None:
    site = f"s{uuid.uuid4().hex[:8]}"
    engine = db.connect(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with factory() as s:
        s.add_all([Agent(login="sup1", name="Sup", role=Role.SUPERVISOR, team="north"),
                   Agent(login="sup2", name="Sup 2", role=Role.SUPERVISOR, team="south"),
                   Agent(login="a7", name="A7", team="north")])
        s.commit()

    async def go() -> None:
        config = AcdConfig((QueueConfig("sales"),), {"a7": AgentProfile({"sales": 5})})
        async with (bus_as(broker, "svc-acd-1", site) as acd_bus, bus_as(broker, "sup1", site) as sup_bus,
                    bus_as(broker, "a7", site) as agent_bus, bus_as(broker, "sup2", site) as sup2_bus,
                    bus_as(broker, "svc-cti-gateway", site) as gateway_bus):
            # The CTI gateway on a simulated PBX carries the action out and answers the ACD.
            link = SimLink(SimPbx(extensions=["1007"]))
            gateway = Gateway(link, gateway_bus, site=site, client_id="svc-cti-gateway")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            server = AcdServer(acd_bus, config, site, election=False, supervision=SupervisorDesk(factory))
            await server.start()
            client = SupervisorClient(sup_bus, site, "sup1", timeout_s=TIMEOUT)
            await client.start()
            peek = await sup2_bus.subscribe(topics.supervisor_results(site, "sup1"))  # not sup2's to read
            try:
                # a7 forges an action on its own and on sup1's topic: the broker drops both.
                for login in ("a7", "sup1"):
                    forged = SupervisorAction(action_id=f"forged-{login}", action="log_out", target="a7", ts=0.0)
                    await agent_bus.publish(topics.supervisor_actions(site, login), forged, qos=1)
                # sup2 writes on sup1's topic to borrow its rights: dropped too.
                borrowed = SupervisorAction(action_id="borrowed", action="log_out", target="a7", ts=0.0)
                await sup2_bus.publish(topics.supervisor_actions(site, "sup1"), borrowed, qos=1)
                result = await client.act("force_not_ready", "a7")  # a round trip after the forgeries
                assert isinstance(result, SupervisorResult) and result.result == "ok"
                with factory() as s:  # audited before it was answered; the forgeries never reached the ACD
                    assert [(e.actor, e.action, e.result) for e in supervision.audit_entries(s)] == [
                        ("sup1", "force_not_ready", "ok")]
                with contextlib.suppress(TimeoutError):
                    leaked = await peek.get(timeout=0.3)
                    raise AssertionError(f"sup2 read sup1's result: {leaked}")
            finally:
                await client.close()
                await server.stop()
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
                await link.close()

    try:
        asyncio.run(go())
    finally:
        engine.dispose()


def test_a_supervisor_cannot_read_another_teams_agents(broker: Broker) -> None:
    """The broker itself keeps sup1 (team north) from b9 (team south): neither b9's own topics nor a
    wildcard bring b9's states or figures of the day, while a7 (north) comes through."""
    site = f"s{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        async with (bus_as(broker, "svc-cti-gateway", site) as gateway, bus_as(broker, "svc-acd-1", site) as acd,
                    bus_as(broker, "sup1", site) as sup1):
            theirs = [await sup1.subscribe(topics.agent_events(site, "b9")),
                      await sup1.subscribe(topics.agent_day(site, "b9"))]
            wildcard = [await sup1.subscribe(topics.all_agent_events(site)),
                        await sup1.subscribe(topics.all_agent_days(site))]
            ours = [await sup1.subscribe(topics.agent_events(site, "a7")),
                    await sup1.subscribe(topics.agent_day(site, "a7"))]
            for agent in ("b9", "a7"):  # b9 first: once a7's arrive, b9's would have been delivered before
                await gateway.publish(topics.agent_events(site, agent),
                                      AgentState(agent_id=agent, state="ready", ts=1.0), qos=1)
                await acd.publish(topics.agent_day(site, agent),
                                  AgentDay(agent_id=agent, day="2026-12-01", ts=1.0, handled=3), qos=1)
            got = [(await s.get(timeout=TIMEOUT)).message for s in ours]
            assert [type(m).__name__ for m in got] == ["AgentState", "AgentDay"]
            assert {getattr(m, "agent_id", None) for m in got} == {"a7"}
            for subscription in theirs:
                with contextlib.suppress(TimeoutError):
                    leaked = await subscription.get(timeout=0.3)
                    raise AssertionError(f"sup1 read team south's agent: {leaked}")
            for subscription in wildcard:  # a wildcard brings nothing of b9 (nor, Mosquitto refusing it, of a7)
                with contextlib.suppress(TimeoutError):
                    while True:
                        envelope = await subscription.get(timeout=0.3)
                        assert getattr(envelope.message, "agent_id", None) != "b9", envelope

    asyncio.run(go())


def test_a_supervisor_has_the_acd_explain_their_own_team_only(broker: Broker, tmp_path: Path) -> None:
    """A supervisor's questions go on their own actions topic and come back on their own results: the ACD
    explains their team's agent (and any queue) and refuses another team's; another supervisor reads none of
    it, and the site-wide question topic is closed to them."""
    from bus.messages import ExplainAnswer, ExplainRequest
    from routing.server import ExplainClient

    site = f"s{uuid.uuid4().hex[:8]}"
    engine = db.connect(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with factory() as s:
        s.add_all([Agent(login="sup1", name="Sup", role=Role.SUPERVISOR, team="north"),
                   Agent(login="sup2", name="Sup 2", role=Role.SUPERVISOR, team="south"),
                   Agent(login="a7", name="A7", team="north"), Agent(login="b9", name="B9", team="south")])
        s.commit()

    async def go() -> None:
        config = AcdConfig((QueueConfig("sales"),), {a: AgentProfile({"sales": 5}) for a in ("a7", "b9")})
        async with (bus_as(broker, "svc-acd-1", site) as acd_bus, bus_as(broker, "sup1", site) as sup_bus,
                    bus_as(broker, "sup2", site) as sup2_bus, bus_as(broker, "svc-cti-gateway", site) as gateway,
                    bus_as(broker, "svc-supervisor", site) as watcher):
            server = AcdServer(acd_bus, config, site, election=False, supervision=SupervisorDesk(factory))
            await server.start()
            for agent in ("a7", "b9"):
                await gateway.publish(topics.agent_events(site, agent),
                                      AgentState(agent_id=agent, state="ready", ts=1.0), qos=1)
            explainer = ExplainClient(sup_bus, site, login="sup1", timeout_s=TIMEOUT)
            await explainer.start()
            wide = await watcher.subscribe(topics.acd_explanations(site))  # svc-supervisor reads everything
            try:
                ours = await explainer.ask("agent", "a7")
                assert ours.text == "Agent a7 is idle because no call is waiting.", ours.text
                queue = await explainer.ask("queue", "sales")
                assert queue.text.startswith("No call is waiting in sales"), queue.text
                theirs = await explainer.ask("agent", "b9")
                assert theirs.text == "Refused: sup1 supervises team north, not this agent's", theirs.text
                # The site-wide topic is closed to supervisors: sup2's question there never reaches the ACD
                # (nor did any of sup1's answers go there), while the service user's is answered.
                await sup2_bus.publish(topics.acd_explain(site), ExplainRequest(request_id="sup2", kind="agent",
                                                                                 name="a7", ts=0.0), qos=1)
                await watcher.publish(topics.acd_explain(site), ExplainRequest(request_id="svc", kind="queue",
                                                                                name="sales", ts=0.0), qos=1)
                answered = [(await wide.get(timeout=TIMEOUT)).message]
                with contextlib.suppress(TimeoutError):
                    while True:
                        answered.append((await wide.get(timeout=0.3)).message)
                assert [a.request_id for a in answered if isinstance(a, ExplainAnswer)] == ["svc"]
            finally:
                await explainer.close()
                await server.stop()

    try:
        asyncio.run(go())
    finally:
        engine.dispose()
