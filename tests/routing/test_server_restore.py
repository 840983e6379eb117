"""An ACD that stands down and leads again restores the newest state it knows, its own included.

On a broker cluster, the node that held the ACD's session can be lost after the ACD published its
latest snapshot and before the snapshot came back to it. Leading again, the ACD must not restore the
older snapshot it last received: a call that ended since would be offered again and its agent kept
busy, while the next caller waits.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent, Command, Message
from bus.transport import QOS_COMMAND, QOS_EVENT, InProcessBus, Subscription
from routing.model import QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile
from tests.helpers import until

SITE = "main"
CONFIG = AcdConfig(
    queues=(QueueConfig("sales", wrap_up_s=0.0, ring_timeout_s=30.0),),
    agents={"alice": AgentProfile({"sales": 5}, "1001")},
)


class NodeLossBus(InProcessBus):
    """An in-process broker whose node keeping the ACD's state can be lost: what is published to the
    state topics meanwhile is neither kept nor passed on."""

    def __init__(self) -> None:
        super().__init__()
        self.state_lost = False

    async def publish(self, topic: str, message: Message, *, qos: int = QOS_EVENT, retain: bool = False) -> None:
        state = topics.matches(topics.acd_state(SITE), topic) or topics.matches(topics.acd_state_parts(SITE), topic)
        if state and self.state_lost:
            return
        await super().publish(topic, message, qos=qos, retain=retain)


async def _call(bus: InProcessBus, kind: str, call_id: str, **kw: object) -> None:
    await bus.publish(topics.call(SITE, call_id), CallEvent(type=kind, call_id=call_id, ts=time.time(), **kw))


async def _deliver(sub: Subscription, timeout: float = 5.0) -> Command:
    async with asyncio.timeout(timeout):
        while True:
            message = (await sub.get()).message
            if isinstance(message, Command) and message.name == "deliver":
                return message


@pytest.mark.expect_log(logging.WARNING, "routing.leadership", match=r"^ACD acd-a stands down \(epoch 1\)")
def test_leading_again_restores_its_own_snapshot_when_the_broker_lost_its_echo() -> None:
    async def scenario() -> None:
        bus = NodeLossBus()
        server = AcdServer(bus, CONFIG, SITE, client_id="acd-a", settle_s=0.05, claim_s=0.05, snapshot_every_s=0.0)
        cti = await bus.subscribe(topics.cti_commands(SITE), qos=QOS_COMMAND)
        await server.start()
        try:
            await until(lambda: server.is_leader, timeout=5)
            await bus.publish(topics.agent_events(SITE, "alice"),
                              AgentState(agent_id="alice", state="ready", ts=time.time()), qos=QOS_COMMAND)
            await _call(bus, "queue.joined", "c1", queue="sales")
            first = await _deliver(cti)
            assert (first.call_id, first.agent_id) == ("c1", "alice")
            await until(lambda: server.snapshot_received is not None
                        and any(c["call_id"] == "c1" for c in server.snapshot_received.calls), timeout=5)

            bus.state_lost = True  # the node goes: the call's end is in no snapshot the ACD receives back
            await _call(bus, "call.answered", "c1", agent_id="alice", queue="sales")
            await _call(bus, "call.ended", "c1", agent_id="alice", queue="sales", cause="normal")
            await until(lambda: server.snapshot_published is not None
                        and "c1" in server.snapshot_published.ended, timeout=5)
            received = server.snapshot_received
            assert received is not None and "c1" not in received.ended, "the echo of the end never came back"

            await server._step_down("lost the broker link", hold_off=False)  # what a broken link does
            bus.state_lost = False
            await until(lambda: server.is_leader and server.takeovers == 2, timeout=5)

            await _call(bus, "queue.joined", "c2", queue="sales")
            offer = await _deliver(cti)
            assert (offer.call_id, offer.agent_id) == ("c2", "alice"), "the ended call is not offered again"
            assert server.engine.agent_status("alice").value == "reserved"
        finally:
            await server.stop()
            await bus.close()

    asyncio.run(scenario())
