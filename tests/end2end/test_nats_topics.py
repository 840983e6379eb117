"""A call whose id has a dot (Asterisk's ``1700000000.12``) goes over NATS' MQTT interface.

NATS disconnects a client that publishes to a topic with a ``.``; ``bus.topics`` writes a call id's
dots escaped. A private three-node nats-server cluster (JetStream and MQTT) carries a call event under such an id from
one bus to another, which reads the id back unchanged, and the publisher stays connected: its next
event arrives too.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bus import topics
from bus.messages import CallEvent, CallEventType
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND
from tests.helpers.private_services import nats_cluster

pytestmark = [pytest.mark.timeout(120)]


def test_a_call_id_with_a_dot_is_carried_by_nats_and_read_back_unchanged(tmp_path: Path) -> None:
    site = "natsdot"
    with nats_cluster(tmp_path) as running:
        url = running.mqtt_url()

        async def scenario() -> list[str]:
            gateway = MqttBus(url, client_id="gw-natsdot", site=site, role="cti-gateway")
            desk = MqttBus(url, client_id="desk-natsdot", site=site, role="desktop")
            await gateway.start()
            await desk.start()
            try:
                calls = await desk.subscribe(topics.calls(site), qos=QOS_COMMAND)
                seen: list[str] = []
                for call_id in ("1700000000.12", "1700000000.13"):
                    await gateway.publish(topics.call(site, call_id), CallEvent(
                        type=CallEventType.OFFERED, call_id=call_id, ts=time.time()), qos=QOS_COMMAND)
                async with asyncio.timeout(20):
                    async for envelope in calls:
                        assert topics.parse(envelope.topic) == topics.CallTopic(site, envelope.message.call_id)
                        seen.append(envelope.message.call_id)
                        if len(seen) == 2:
                            break
                return seen
            finally:
                await desk.close()
                await gateway.close()

        assert asyncio.run(scenario()) == ["1700000000.12", "1700000000.13"]
