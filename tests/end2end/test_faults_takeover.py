"""ACD takeover at scale: 10,000 waiting calls cross to the standby in a snapshot sent in parts, and the
day's queue statistics go on where the leader left them. Two ACD servers on a private Mosquitto."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND
from routing.model import QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile
from tests.end2end.private import private_mosquitto
from tests.helpers import until

pytestmark = pytest.mark.faults
WAITING = 10_000
CONFIG = AcdConfig(queues=(QueueConfig("sales", wrap_up_s=0.0, ring_timeout_s=30.0),),
                   agents={"alice": AgentProfile({"sales": 5}, "1001")})


def test_ten_thousand_waiting_calls_and_the_days_statistics_survive_a_takeover() -> None:
    site = f"faults-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        with private_mosquitto(persistence=False) as broker:
            buses = [MqttBus(broker.url, client_id=f"{role}-{site}", site=site) for role in ("a", "b", "pbx")]
            for bus in buses:
                await bus.start()
            a_bus, b_bus, pbx = buses
            first = AcdServer(a_bus, CONFIG, site, client_id=f"acd-a-{site}", snapshot_every_s=0.5)
            second = AcdServer(b_bus, CONFIG, site, client_id=f"acd-b-{site}", snapshot_every_s=0.5)
            try:
                await first.start()
                await until(lambda: first.is_leader, 10)
                await second.start()
                leader = first.client_id
                seen = second.leadership
                # The standby knows the leader is alive before the leader gets busy.
                await until(lambda: seen.leader is not None and seen.leader.client_id == leader
                            and seen.presence.get(leader) is True, 10)

                async def call(n: int, kind: str) -> None:
                    event = CallEvent(type=kind, call_id=f"c{n}", ts=time.time(), queue="sales")  # type: ignore[arg-type]
                    await pbx.publish(topics.call(site, f"c{n}"), event, qos=QOS_COMMAND)

                # The PBX's 10,000 queue.joined events, handed to the leader as its bus reader does (the
                # broker carries those of the calls below; here it is the snapshot that must cross it).
                async with first._lock:
                    await first._apply([CallEvent(type="queue.joined", call_id=f"c{n}", ts=time.time(),  # type: ignore[arg-type]
                                                  queue="sales") for n in range(WAITING)])
                # One call is answered by alice, two callers hang up while waiting.
                await pbx.publish(topics.agent_events(site, "alice"),
                                  AgentState(agent_id="alice", state="ready", ts=time.time()), qos=QOS_COMMAND)
                await until(lambda: len(first.waiting_calls()) == WAITING - 1, 60)
                offered = next(c for c in first.adapter.calls if c not in set(first.waiting_calls()))
                await call(int(offered[1:]), "call.answered")
                await call(1, "call.ended")
                await call(2, "call.ended")
                await until(lambda: len(first.waiting_calls()) == WAITING - 3, 60)
                before = first.engine.queue_statistics("sales", time.time())
                assert (before.offered, before.answered, before.abandoned) == (WAITING, 1, 2)

                # The standby holds the whole state, in parts (one message would exceed the bus's limit).
                def standby_current() -> bool:
                    s = second.snapshot_received
                    return s is not None and len(s.calls) == WAITING - 2 and bool(s.stats)

                await until(standby_current, 60)
                assert second._assembler.complete is not None
                assert first._parts_sent > 1, "a 10,000-call snapshot travels in several parts"

                await first.stop()  # the leader goes away (its presence says offline)
                await until(lambda: second.is_leader, 30)
                assert len(second.waiting_calls()) == WAITING - 3
                after = second.engine.queue_statistics("sales", time.time())
                assert (after.offered, after.answered, after.abandoned) == (WAITING, 1, 2)
                assert after.waiting == WAITING - 3
            finally:
                await first.stop()
                await second.stop()
                for bus in buses:
                    await bus.close()

    asyncio.run(scenario())
