"""The ACD explains agents and queues over the bus, as the supervisor window asks it to."""

from __future__ import annotations

import asyncio
import time

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent, ExplainAnswer, ExplainRequest
from bus.transport import QOS_COMMAND, InProcessBus
from routing.model import QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile, ExplainClient
from tests.helpers import until

SITE = "explain"
CONFIG = AcdConfig(
    queues=(QueueConfig("sales", wrap_up_s=0.0), QueueConfig("billing", wrap_up_s=0.0)),
    agents={"alice": AgentProfile({"sales": 5}, "1001"), "bob": AgentProfile({"billing": 4}, "1002")},
)


def test_the_leading_acd_answers_a_supervisors_questions_over_the_bus() -> None:
    async def scenario() -> None:
        bus = InProcessBus()
        server = AcdServer(bus, CONFIG, SITE, election=False)
        await server.start()
        client = ExplainClient(bus, SITE)
        await client.start()
        try:
            now = time.time()
            await bus.publish(topics.agent_events(SITE, "alice"),
                              AgentState(agent_id="alice", state="not_ready", ts=now, reason="break"))
            await bus.publish(topics.agent_events(SITE, "bob"), AgentState(agent_id="bob", state="ready", ts=now))
            joined = CallEvent(type="queue.joined", call_id="c1", ts=now, queue="sales")
            await bus.publish(topics.call(SITE, "c1"), joined)
            await until(lambda: len(server.waiting_calls()) == 1)

            queue = await client.ask("queue", "sales")
            assert queue.kind == "queue" and queue.name == "sales" and "c1" in queue.text
            assert queue.reasons[0]["data"]["queue"] == "sales"
            alice = await client.ask("agent", "alice")
            assert "not ready (break)" in alice.text and alice.reasons[0]["data"]["status"] == "not_ready"
            bob = await client.ask("agent", "bob")
            assert bob.reasons[0]["data"]["waiting_groups"][0]["eligible"] is False
            empty = await client.ask("queue", "billing")
            assert "No call is waiting in billing" in empty.text
            nobody = await client.ask("agent", "zed")
            assert "not logged on" in nobody.text
        finally:
            await client.close()
            await server.stop()
            await bus.close()

    asyncio.run(scenario())


def test_a_question_nobody_leads_for_times_out_and_answers_go_to_their_asker() -> None:
    async def scenario() -> None:
        bus = InProcessBus()
        client = ExplainClient(bus, SITE, timeout_s=0.2)
        await client.start()
        answers = await bus.subscribe(topics.acd_explanations(SITE))
        try:
            with pytest.raises(TimeoutError):
                await client.ask("queue", "sales")
            # An answer to someone else's question is not taken for ours.
            requests = await bus.subscribe(topics.acd_explain(SITE))
            asked = asyncio.create_task(client.ask("agent", "alice"))
            request = await requests.get()
            assert isinstance(request.message, ExplainRequest)
            other = ExplainAnswer(request_id="other", kind="agent", name="alice", ts=0.0, text="not yours")
            mine = ExplainAnswer(request_id=request.message.request_id, kind="agent", name="alice", ts=0.0,
                                 text="yours")
            await bus.publish(topics.acd_explanations(SITE), other, qos=QOS_COMMAND)
            await bus.publish(topics.acd_explanations(SITE), mine, qos=QOS_COMMAND)
            assert (await asked).text == "yours"
            assert (await answers.get()).message == other
        finally:
            await client.close()
            await bus.close()

    asyncio.run(scenario())


def test_an_explain_request_of_another_kind_is_refused_by_the_codec() -> None:
    from bus.errors import MessageError
    from bus.messages import decode, encode

    good = ExplainRequest(request_id="r", kind="agent", name="alice", ts=1.0)
    assert decode(encode(good)) == good
    with pytest.raises(MessageError):
        decode(b'{"type":"acd.explain","v":1,"request_id":"r","kind":"shutdown","name":"x","ts":1}')
