"""``AcdServer`` on the in-process bus: queue requests in, deliver commands and statistics out."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent, Command, QueueStats
from bus.transport import QOS_COMMAND, InProcessBus, Subscription
from routing.errors import ScenarioError
from routing.model import QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile, load_acd_config, parse_acd_config
from tests.helpers import until

SITE = "test"

CONFIG = AcdConfig(
    queues=(QueueConfig("sales", wrap_up_s=0.0, ring_timeout_s=0.3), QueueConfig("billing", wrap_up_s=0.0)),
    agents={
        "alice": AgentProfile({"sales": 5, "spanish": 6}, "1001"),
        "bob": AgentProfile({"sales": 3}, "1002"),
        "carol": AgentProfile({"billing": 4}, "1003"),
    },
)


@asynccontextmanager
async def running(config: AcdConfig = CONFIG, **kw: Any) -> AsyncIterator[tuple[InProcessBus, AcdServer]]:
    bus = InProcessBus()
    server = AcdServer(bus, config, SITE, election=False, **kw)
    await server.start()
    try:
        yield bus, server
    finally:
        await server.stop()
        await bus.close()


async def agent(bus: InProcessBus, agent_id: str, state: str, reason: str | None = None) -> None:
    message = AgentState(agent_id=agent_id, state=state, ts=time.time(), reason=reason)
    await bus.publish(topics.agent_events(SITE, agent_id), message, qos=QOS_COMMAND)


async def call(bus: InProcessBus, kind: str, call_id: str, **kw: Any) -> None:
    await bus.publish(topics.call(SITE, call_id), CallEvent(type=kind, call_id=call_id, ts=time.time(), **kw))


async def next_command(sub: Subscription, name: str | None = None, timeout: float = 5.0) -> Command:
    async with asyncio.timeout(timeout):
        while True:
            message = (await sub.get()).message
            assert isinstance(message, Command)
            if name is None or message.name == name:
                return message


def test_queue_joined_call_is_delivered_to_the_ready_agent_and_stats_are_retained() -> None:
    async def scenario() -> None:
        async with running() as (bus, server):
            cti = await bus.subscribe(topics.cti_commands(SITE))
            desk = await bus.subscribe(topics.agent_commands(SITE, "alice"))
            await agent(bus, "alice", "ready")
            await call(bus, "queue.joined", "c1", queue="sales", data={"routing": {"priority": 5}})
            deliver = await next_command(cti)
            assert deliver.name == "deliver" and deliver.call_id == "c1" and deliver.agent_id == "alice"
            assert deliver.args == {"call_id": "c1", "extension": "1001", "queue": "sales", "epoch": 1}
            offer = await next_command(desk)
            assert offer.name == "offer" and offer.call_id == "c1" and offer.args["queue"] == "sales"
            await call(bus, "call.alerting", "c1", extension="1001")
            await call(bus, "call.answered", "c1", extension="1001")
            await call(bus, "call.ended", "c1", cause="normal")
            await until(lambda: server.engine.queue_statistics("sales", time.time()).answered == 1)
            # A supervisor that subscribes later gets the retained statistics at once.
            stats_sub = await bus.subscribe(topics.queue_stats(SITE, "sales"))
            async with asyncio.timeout(5):
                while True:
                    stats = (await stats_sub.get()).message
                    assert isinstance(stats, QueueStats)
                    if stats.answered == 1:
                        break
            assert stats.offered == 1 and stats.waiting == 0 and stats.agents_ready == 1
            # Duplicates change nothing: the call is over and stays over.
            await call(bus, "queue.joined", "c1", queue="sales")
            await agent(bus, "alice", "ready")
            with pytest.raises(TimeoutError):
                await next_command(cti, timeout=0.3)

    asyncio.run(scenario())


def test_ivr_handoff_with_priority_and_skills_picks_the_right_call_and_agent() -> None:
    async def scenario() -> None:
        async with running() as (bus, server):
            cti = await bus.subscribe(topics.cti_commands(SITE))
            # The IVR hands off through call.data with data.routing (ivr.attached.to_call_event).
            await call(bus, "call.data", "low", queue="sales", data={"routing": {"queue": "sales", "priority": 0}})
            await call(
                bus,
                "call.data",
                "es",
                queue="sales",
                data={"routing": {"queue": "sales", "priority": 0, "skills": {"spanish": 5}}},
            )
            await call(bus, "call.data", "vip", queue="sales", data={"routing": {"queue": "sales", "priority": 9}})
            await until(lambda: len(server.waiting_calls()) == 3)
            await agent(bus, "bob", "ready")  # no spanish: takes the VIP call first
            first = await next_command(cti, "deliver")
            assert (first.call_id, first.agent_id) == ("vip", "bob")
            await agent(bus, "alice", "ready")  # the oldest call alice can take is "low"
            second = await next_command(cti, "deliver")
            assert (second.call_id, second.agent_id) == ("low", "alice")
            assert server.waiting_calls() == ["es"]

    asyncio.run(scenario())


def test_ring_no_answer_withdraws_sets_not_ready_and_offers_the_next_agent() -> None:
    async def scenario() -> None:
        async with running() as (bus, _server):
            cti = await bus.subscribe(topics.cti_commands(SITE))
            alice = await bus.subscribe(topics.agent_commands(SITE, "alice"))
            await agent(bus, "alice", "ready")
            await call(bus, "queue.joined", "c1", queue="sales")
            assert (await next_command(cti)).agent_id == "alice"
            await agent(bus, "bob", "ready")
            withdraw = await next_command(cti)  # after ring_timeout_s (0.3 s), fired by the server's timer
            assert withdraw.name == "withdraw" and withdraw.args["extension"] == "1001"
            again = await next_command(cti)
            assert (again.name, again.call_id, again.agent_id) == ("deliver", "c1", "bob")
            assert again.command_id != (await next_command(alice, "offer")).command_id
            state = await next_command(alice, "set_state")
            assert state.args["state"] == "not_ready" and state.args["reason"] == "ring_no_answer"

    asyncio.run(scenario())


@pytest.mark.expect_log(logging.WARNING, "routing.adapter", match=r"^call c2 asks for unknown queue 'nowhere'")
@pytest.mark.expect_log(logging.WARNING, "routing.adapter", match=r"^agent mallory has no skills in the ACD")
def test_abandon_and_unknown_input_are_handled(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with running() as (bus, server):
            cti = await bus.subscribe(topics.cti_commands(SITE))
            await call(bus, "queue.joined", "c1", queue="sales")
            await call(bus, "queue.joined", "c2", queue="nowhere")
            await agent(bus, "mallory", "ready")
            await until(lambda: server.waiting_calls() == ["c1"])
            await call(bus, "queue.left", "c1", queue="sales", cause="abandoned")
            await until(lambda: server.engine.queue_statistics("sales", time.time()).abandoned == 1)
            await agent(bus, "alice", "ready")
            with pytest.raises(TimeoutError):
                await next_command(cti, timeout=0.3)

    asyncio.run(scenario())
    assert "unknown queue 'nowhere'" in caplog.text
    assert "agent mallory has no skills in the ACD configuration" in caplog.text


def test_record_writes_every_input_message_as_a_json_line() -> None:
    out = io.StringIO()

    async def scenario() -> None:
        async with running(record=out) as (bus, _server):
            await agent(bus, "alice", "not_ready", "lunch")
            await call(bus, "queue.joined", "c1", queue="sales")
            await until(lambda: out.getvalue().count("\n") == 3)  # the configuration, then the two

    asyncio.run(scenario())
    first, *rest = out.getvalue().splitlines()
    assert json.loads(first)["config"]["queues"][0]["name"] == "sales"  # what the recording ran under
    lines = [json.loads(line) for line in rest]
    by_type = {line["message"]["type"]: line for line in lines}
    assert set(by_type) == {"agent.state", "queue.joined"}
    assert by_type["agent.state"]["topic"] == topics.agent_events(SITE, "alice")
    assert by_type["queue.joined"]["message"]["queue"] == "sales" and isinstance(by_type["queue.joined"]["t"], float)


def test_configuration_file_yaml_and_toml(tmp_path) -> None:
    yaml_file = tmp_path / "acd.yaml"
    yaml_file.write_text(
        "queues:\n  - {name: sales, service_level_s: 15, wrap_up_s: 5}\n"
        "agents:\n  - {id: alice, skills: {sales: 5}, extension: '1001'}\n  - {count: 2, skills: {sales: 3}, name: s}\n"
    )
    config = load_acd_config(yaml_file)
    assert config.queues[0].sl_seconds == 15 and config.queues[0].wrap_up_s == 5
    assert set(config.agents) == {"alice", "s-1", "s-2"} and config.agents["alice"].extension == "1001"
    toml_file = tmp_path / "ccenter.toml"
    toml_file.write_text('site = "hq"\n[acd]\nqueues_file = "acd.yaml"\n')
    assert load_acd_config(toml_file) == config
    assert parse_acd_config(config.to_dict()) == config
    with pytest.raises(ScenarioError, match=r"queues\.sales\.agent_selection"):
        parse_acd_config({"queues": [{"name": "sales", "agent_selection": "random"}]})
    with pytest.raises(ScenarioError, match=r"agents\[0\]\.skills\.sales: proficiency"):
        parse_acd_config({"queues": [{"name": "sales"}], "agents": [{"id": "a", "skills": {"sales": 11}}]})


def test_agent_states_of_the_same_instant_apply_in_order_and_older_ones_are_skipped() -> None:
    from routing.model import AgentStatus

    async def scenario() -> None:
        async with running() as (bus, server):
            topic = topics.agent_events(SITE, "alice")

            async def state(name: str, ts: float, reason: str | None = None) -> None:
                message = AgentState(agent_id="alice", state=name, ts=ts, reason=reason, extension="1001")
                await bus.publish(topic, message, qos=QOS_COMMAND)

            await state("not_ready", 100.0, "logged on")
            await state("ready", 100.0)  # the PBX's clock did not tick between the two
            await until(lambda: "alice" in server.engine.agent_ids()
                        and server.engine.agent_status("alice") is AgentStatus.READY)
            await state("not_ready", 99.0, "lunch")  # arrives late: older than what is applied
            await state("ready", 100.0)  # the same delivery again
            await agent(bus, "bob", "ready")  # read after alice's, on the same subscription
            await until(lambda: "bob" in server.engine.agent_ids())
            assert server.engine.agent_status("alice") is AgentStatus.READY
            await state("not_ready", 101.0, "break")
            await until(lambda: server.engine.agent_status("alice") is AgentStatus.NOT_READY)

    asyncio.run(scenario())
