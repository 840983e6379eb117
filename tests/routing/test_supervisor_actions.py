"""Supervisor actions reach their targets through the leading ACD, each audited; other teams are refused."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from bus import topics
from bus.messages import AgentState, CallEvent, Command, SupervisorAction, SupervisorResult
from bus.transport import QOS_COMMAND, InProcessBus, Subscription
from crm import db, supervision
from crm.models import Agent, AgentSkill, Campaign, CampaignStatus, Queue, Role, Skill
from cti.gateway import Gateway
from cti.model import DialOutcome, ListenMode
from cti.sim import NumberScript, SimLink, SimPbx
from routing.acd_config import AcdConfig, AgentProfile, acd_config_from_db
from routing.model import AgentSelection, QueueConfig
from routing.server import AcdServer
from routing.supervision import SupervisorDesk
from tests.helpers import until

SITE = "sup"
#: The seeded people's extensions (10 + the login's length + its initial) and the supervisor's phone.
PHONES = ["105a", "103b", "105f", "103s", "103a", "1100"]


def seed(factory: Any) -> None:
    with factory() as s:
        sales, vip, billing = Skill(name="sales"), Skill(name="vip"), Skill(name="billing")
        s.add_all([sales, vip, billing])
        s.flush()
        s.add_all([Queue(name="sales", skill_id=sales.id), Queue(name="vip", skill_id=vip.id),
                   Queue(name="billing", skill_id=billing.id)])
        people = [("alice", Role.AGENT, "north", {sales.id: 5}), ("bob", Role.AGENT, "north", {sales.id: 3}),
                  ("frank", Role.AGENT, "south", {sales.id: 4}), ("sam", Role.SUPERVISOR, "north", {}),
                  ("ada", Role.ADMIN, None, {})]
        for login, role, team, skills in people:
            agent = Agent(login=login, name=login.title(), role=role, team=team, extension=f"10{len(login)}{login[0]}")
            s.add(agent)
            s.flush()
            s.add_all([AgentSkill(agent_id=agent.id, skill_id=k, proficiency=v) for k, v in skills.items()])
        s.add(Campaign(campaign_key="WINTER", name="Winter offer", status=CampaignStatus.ACTIVE,
                       dial_mode="progressive", rules={"abandon_target": 0.03}))
        s.commit()


@asynccontextmanager
async def center(engine: Any, pbx: SimPbx | None = None) -> AsyncIterator[tuple[InProcessBus, AcdServer, Any]]:
    """The ACD with supervisors' actions served, and the CTI gateway on a simulated PBX, which carries out
    (or refuses) the commands the actions send and answers them."""
    db.upgrade(engine)
    factory = db.session_factory(engine)
    seed(factory)
    with factory() as s:
        config = acd_config_from_db(s)
    bus = InProcessBus()
    server = AcdServer(bus, config, SITE, election=False, supervision=SupervisorDesk(factory))
    link = SimLink(pbx or SimPbx(extensions=PHONES))
    gateway = Gateway(link, bus, site=SITE, client_id="gw")
    await gateway.start()
    await link.connect()
    runner = asyncio.create_task(gateway.run())
    await server.start()
    try:
        yield bus, server, factory
    finally:
        await server.stop()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await link.close()
        await bus.close()


#: Action ids without long digit runs: the bus's card-number guard would mask one (a monotonic_ns() id
#: passing the Luhn check did), and the answer would no longer match its action.
_ACTION_NO = itertools.count(1)


async def act(bus: InProcessBus, login: str, action: str, target: str, **args: Any) -> SupervisorResult:
    results = await bus.subscribe(topics.supervisor_results(SITE, login))
    try:
        message = SupervisorAction(action_id=f"{action}-{target}-{next(_ACTION_NO)}", action=action,
                                   target=target, ts=time.time(), args=args)
        await bus.publish(topics.supervisor_actions(SITE, login), message, qos=QOS_COMMAND)
        async with asyncio.timeout(10):
            while True:
                answer = (await results.get()).message
                if isinstance(answer, SupervisorResult) and answer.action_id == message.action_id:
                    return answer
    finally:
        await results.close()


async def next_command(sub: Subscription, name: str) -> Command:
    async with asyncio.timeout(10):
        while True:
            message = (await sub.get()).message
            if isinstance(message, Command) and message.name == name:
                return message


def audit(factory: Any) -> list[tuple[str, str, str, str]]:
    with factory() as s:
        return [(e.actor, e.action, e.target, e.result) for e in reversed(supervision.audit_entries(s))]


# The billing call below is the bus's only (the simulated PBX has no such call): the gateway refuses to
# deliver it; what counts here is that the ACD offers it to bob at once.
@pytest.mark.expect_log("WARNING", "cti.gateway", match="no live call 'c1'")
def test_each_action_reaches_its_target_with_an_audit_record(engine) -> None:
    async def scenario() -> None:
        async with center(engine) as (bus, server, factory):
            cti = await bus.subscribe(topics.cti_commands(SITE))
            alice_inbox = await bus.subscribe(topics.agent_events(SITE, "alice"))
            bob_inbox = await bus.subscribe(topics.agent_events(SITE, "bob"))

            # Force not ready / log out: a command to the telephony, with the leader's epoch.
            result = await act(bus, "sam", "force_not_ready", "alice")
            assert result.result == "ok"
            command = await next_command(cti, "set_agent_state")
            assert command.args == {"agent_id": "alice", "state": "not_ready", "reason": "supervisor", "epoch": 1}
            assert (await act(bus, "sam", "log_out", "bob")).result == "ok"
            assert (await next_command(cti, "set_agent_state")).args["state"] == "logged_off"

            # Skills: in the database, and at once in the running engine: a waiting billing call goes to bob.
            ready = AgentState(agent_id="bob", state="ready", ts=time.time())
            await bus.publish(topics.agent_events(SITE, "bob"), ready)
            await bus.publish(topics.call(SITE, "c1"), CallEvent(type="queue.joined", call_id="c1", ts=time.time(),
                                                                 queue="billing"))
            await until(lambda: server.waiting_calls() == ["c1"])
            assert (await act(bus, "sam", "set_skills", "bob", skills={"sales": 3, "billing": 6})).result == "ok"
            deliver = await next_command(cti, "deliver")
            assert (deliver.call_id, deliver.agent_id) == ("c1", "bob")
            with factory() as s:
                assert acd_config_from_db(s).agents["bob"].skills == {"sales": 3, "billing": 6}

            # Queue rules: selection, priority and overflow, in the database and the engine at once.
            changes = {"agent_selection": "most_skilled", "priority": 7, "overflow_after_seconds": 30.0,
                       "overflow_to": ["sales"]}
            assert (await act(bus, "sam", "set_queue", "vip", changes=changes)).result == "ok"
            live = server.engine.queues["vip"]
            assert (live.agent_selection, live.priority, live.overflow_after_s, live.overflow_to) == (
                AgentSelection.MOST_SKILLED, 7, 30.0, ("sales",))
            with factory() as s:
                stored = next(q for q in acd_config_from_db(s).queues if q.name == "vip")
            assert stored == live
            bad = await act(bus, "sam", "set_queue", "vip", changes={"overflow_to": ["nowhere"]})
            assert bad.result == "failed" and "nowhere" in bad.detail

            # Campaigns: paused, resumed, paced, in the database the dialer reads.
            assert (await act(bus, "sam", "pause_campaign", "WINTER")).result == "ok"
            with factory() as s:
                assert s.scalar(select(Campaign.status)) is CampaignStatus.PAUSED
            assert (await act(bus, "sam", "resume_campaign", "WINTER")).result == "ok"
            result = await act(bus, "sam", "set_campaign", "WINTER", dial_mode="predictive", abandon_target=0.02)
            assert result.result == "ok"
            with factory() as s:
                campaign = s.scalars(select(Campaign)).one()
                assert (campaign.status, campaign.dial_mode, campaign.rules["abandon_target"]) == (
                    CampaignStatus.ACTIVE, "predictive", 0.02)

            # Messages: on each agent's events, for its desktop.
            assert (await act(bus, "sam", "message_team", "north", text="Storm in the south: expect calls")).result \
                == "ok"
            for inbox in (alice_inbox, bob_inbox):
                message = await next_command(inbox, "supervisor_message")
                assert message.args == {"text": "Storm in the south: expect calls", "from": "sam", "epoch": 1}
            assert (await act(bus, "sam", "message_agent", "bob", text="Call me\r\nafter this one")).result == "ok"
            message = await next_command(bob_inbox, "supervisor_message")
            assert (message.agent_id, message.args["text"]) == ("bob", "Call me \nafter this one")

            assert audit(factory) == [
                ("sam", "force_not_ready", "alice", "ok"), ("sam", "log_out", "bob", "ok"),
                ("sam", "set_skills", "bob", "ok"), ("sam", "set_queue", "vip", "ok"),
                ("sam", "set_queue", "vip", "failed"), ("sam", "pause_campaign", "WINTER", "ok"),
                ("sam", "resume_campaign", "WINTER", "ok"), ("sam", "set_campaign", "WINTER", "ok"),
                ("sam", "message_team", "north", "ok"), ("sam", "message_agent", "bob", "ok"),
            ]

    asyncio.run(scenario())


def test_a_supervisor_is_refused_another_teams_agents_and_an_agent_everything(engine) -> None:
    async def scenario() -> None:
        async with center(engine) as (bus, _server, factory):
            cti = await bus.subscribe(topics.cti_commands(SITE))
            refused = await act(bus, "sam", "force_not_ready", "frank")
            assert refused.result == "refused" and "team north" in refused.detail
            assert (await act(bus, "sam", "message_team", "south", text="hello")).result == "refused"
            assert (await act(bus, "alice", "log_out", "bob")).result == "refused"
            assert (await act(bus, "alice", "pause_campaign", "WINTER")).result == "refused"
            assert (await act(bus, "nobody", "log_out", "bob")).result == "refused"
            with pytest.raises(TimeoutError):  # nothing reached the telephony
                async with asyncio.timeout(0.3):
                    await cti.get()
            assert (await act(bus, "ada", "force_not_ready", "frank")).result == "ok"  # an administrator may
            assert (await next_command(cti, "set_agent_state")).args["agent_id"] == "frank"
            assert [row[3] for row in audit(factory)] == ["refused"] * 5 + ["ok"]
            with factory() as s:
                assert s.scalar(select(Campaign.status)) is CampaignStatus.ACTIVE

    asyncio.run(scenario())


@pytest.mark.expect_log("WARNING", "cti.gateway", match="is on no connected call")
def test_listen_in_joins_the_supervisors_phone_to_the_agents_call(engine) -> None:
    async def scenario() -> None:
        pbx = SimPbx(extensions=PHONES)
        async with center(engine, pbx) as (bus, server, factory):
            cti = await bus.subscribe(topics.cti_commands(SITE))
            pbx.set_agent_state("alice", "ready", extension="105a")  # the gateway tells the ACD where alice is
            await until(lambda: server.extension_of("alice") == "105a")
            # Alice is on no call: the PBX says so, and so do the result and the audit.
            idle = await act(bus, "sam", "listen", "alice", mode="monitor", extension="1100")
            assert idle.result == "failed" and "extension 105a is on no connected call" in idle.detail, idle.detail
            pbx.script_number("5550100", NumberScript(DialOutcome.ANSWERED, 2.0, hangup_after=600.0))
            call_id = pbx.make_call("105a", "5550100")
            pbx.advance(5)
            result = await act(bus, "sam", "listen", "alice", mode="whisper", extension="1100")
            assert result.result == "ok", result.detail
            assert pbx.listeners(call_id) == {"1100": ListenMode.WHISPER}
            command = await next_command(cti, "listen")
            assert command.args == {"extension": "105a", "supervisor": "1100", "mode": "monitor", "epoch": 1}
            bad = await act(bus, "sam", "listen", "alice", mode="shout", extension="1100")
            assert bad.result == "failed" and "monitor, whisper, barge" in bad.detail
            assert (await act(bus, "sam", "listen", "frank", mode="barge", extension="1100")).result == "refused"
            assert [row[3] for row in audit(factory)] == ["failed", "ok", "failed", "refused"]

    asyncio.run(scenario())


def test_an_action_the_telephony_does_not_answer_fails_and_says_so(engine) -> None:
    async def scenario() -> None:
        db.upgrade(engine)
        factory = db.session_factory(engine)
        seed(factory)
        with factory() as s:
            config = acd_config_from_db(s)
        bus = InProcessBus()  # no CTI gateway on this bus
        desk = SupervisorDesk(factory, telephony_timeout_s=0.2)
        server = AcdServer(bus, config, SITE, election=False, supervision=desk)
        await server.start()
        try:
            result = await act(bus, "sam", "force_not_ready", "alice")
            assert result.result == "failed" and "did not answer within 0.2 s" in result.detail
            assert audit(factory) == [("sam", "force_not_ready", "alice", "failed")]
        finally:
            await server.stop()
            await bus.close()

    asyncio.run(scenario())


@pytest.mark.expect_log("ERROR", "routing.supervision", match="failed|could not be audited")
def test_a_database_that_fails_makes_the_action_fail_and_the_acd_routes_on(tmp_path) -> None:
    async def scenario() -> None:
        engine = db.connect(f"sqlite:///{tmp_path / 'no-schema.db'}")  # never upgraded: every query fails
        bus = InProcessBus()
        config = AcdConfig((QueueConfig("sales"),), {"alice": AgentProfile({"sales": 5})})
        server = AcdServer(bus, config, SITE, election=False, supervision=SupervisorDesk(db.session_factory(engine)))
        await server.start()
        try:
            result = await act(bus, "sam", "log_out", "alice")
            assert result.result == "failed" and "could not carry it out" in result.detail
            cti = await bus.subscribe(topics.cti_commands(SITE))
            await bus.publish(topics.agent_events(SITE, "alice"), AgentState(agent_id="alice", state="ready",
                                                                             ts=time.time()))
            await bus.publish(topics.call(SITE, "c9"), CallEvent(type="queue.joined", call_id="c9", ts=time.time(),
                                                                 queue="sales"))
            assert (await next_command(cti, "deliver")).call_id == "c9"  # routing went on
        finally:
            await server.stop()
            await bus.close()
            engine.dispose()

    asyncio.run(scenario())


def test_action_and_request_ids_are_never_masked_as_card_numbers() -> None:
    """An id of digits that happen to pass the Luhn check must reach the ACD and come back as it was, or the
    answer never finds its question."""
    from bus import messages
    from bus.messages import ExplainRequest, decode, encode, install_text_guard
    from crm.masking import mask_text

    before = messages._text_guard
    install_text_guard(mask_text)
    try:
        lucky = "set_queue-vip-4111111111111111"
        action = SupervisorAction(action_id=lucky, action="log_out", target="bob", ts=1.0)
        result = SupervisorResult(action_id=lucky, action="log_out", target="bob", result="ok", ts=1.0)
        question = ExplainRequest(request_id=lucky, kind="queue", name="vip", ts=1.0)
        for message in (action, result, question):
            assert decode(encode(message)) == message
        assert "4111111111111111" not in encode(SupervisorResult(
            action_id="x", action="log_out", target="bob", result="ok", ts=1.0, detail="card 4111111111111111"
        )).decode()  # free text is still guarded
    finally:
        install_text_guard(before)


def test_the_dialer_follows_a_campaign_paused_resumed_and_paced_by_a_supervisor(engine) -> None:
    """What the dialer reads at its next refresh (repository.dialer_campaigns, campaign_plan, as
    DialerService.refresh does): a paused campaign is not dialled; resumed, it is, in the new dial mode and
    under the new abandon target."""
    from datetime import UTC, datetime

    from crm import repository
    from crm.models import Activity
    from routing.dialer import DialMode
    from routing.dialer_service import campaign_plan

    def plans(factory: Any) -> dict[str, Any]:
        with factory() as s:
            site = s.scalars(select(Campaign.site)).one()  # the desk's (and the dialer's) site
            found = [campaign_plan(c) for c in repository.dialer_campaigns(s, now=datetime.now(UTC), site=site)]
        return {p.key: p for p in found if p is not None}

    async def scenario() -> None:
        async with center(engine) as (bus, _server, factory):
            with factory() as s:
                campaign = s.scalars(select(Campaign)).one()
                campaign.rules = {**campaign.rules, "queue": "sales"}
                s.add(Activity(campaign_id=campaign.id, channel="outbound_call"))
                s.commit()
            assert plans(factory)["WINTER"].mode is DialMode.PROGRESSIVE
            assert (await act(bus, "sam", "pause_campaign", "WINTER")).result == "ok"
            assert "WINTER" not in plans(factory)
            assert (await act(bus, "sam", "resume_campaign", "WINTER")).result == "ok"
            assert (await act(bus, "sam", "set_campaign", "WINTER", dial_mode="predictive",
                              abandon_target=0.02)).result == "ok"
            plan = plans(factory)["WINTER"]
            assert (plan.mode, plan.rules.abandon_target) == (DialMode.PREDICTIVE, 0.02)

    asyncio.run(scenario())
