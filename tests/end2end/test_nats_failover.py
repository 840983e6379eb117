"""QoS 1 commands published while their node of a NATS cluster is lost reach the resumed session, all.

What nats-server 2.9.10 does when a node is killed (docs/admin.md, "NATS server"): for some seconds
to some tens of seconds, while JetStream elects new leaders for the streams that hold MQTT sessions
and QoS 1 messages, the surviving nodes answer no CONNECT and acknowledge no QoS 1 PUBLISH (each
fails after the server's own 4 s JetStream timeout). Then persistent sessions resume on any node
with their subscriptions, and every QoS 1 message the cluster acknowledged, before or after, is
delivered to them. What loses a command is a publisher that gives up during the failover: the bus
waits up to ``CLUSTER_PUBLISH_TIMEOUT`` (60 s) for its link when its URL names several nodes.

The node killed is the one that leads ``$MQTT_msgs`` (where QoS 1 messages are stored), with both
the sender and the receiver connected to it: the worst case for a failover.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

import pytest

from bus import topics
from bus.messages import Command
from bus.mqtt import CLUSTER_PUBLISH_TIMEOUT, PUBLISH_TIMEOUT, MqttBus
from bus.transport import QOS_COMMAND
from tests.helpers import until
from tests.helpers.private_services import nats_cluster

pytestmark = [pytest.mark.timeout(240)]

#: Commands published while the node is lost, and again once the sender is back (receiver maybe not).
BATCH = 10


def test_a_publish_waits_longer_for_a_clustered_broker_than_for_one_node() -> None:
    assert MqttBus("mqtt://mq1:1883", client_id="gw").publish_timeout == PUBLISH_TIMEOUT
    assert MqttBus("mqtt://mq1:1883,mq2:1883,mq3:1883", client_id="gw").publish_timeout == CLUSTER_PUBLISH_TIMEOUT
    assert MqttBus("mqtt://mq1,mq2", client_id="gw", publish_timeout=5).publish_timeout == 5


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=r"^MQTT link to .* lost")
@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=r"^publish on .* failed", required=False)
@pytest.mark.expect_log(logging.ERROR, "mqtt", match=r"^failed to receive on socket", required=False)
# aiomqtt leaves the future of a publish caught by the lost link unretrieved (a known defect, see
# test_nats_cluster.py); the bus sends that publish again on its new link.
@pytest.mark.expect_log(logging.ERROR, "asyncio", match=r"^Future exception was never retrieved", required=False)
def test_qos1_commands_published_while_their_node_is_lost_all_reach_the_resumed_session(tmp_path: Path) -> None:
    site = f"natsfo-{uuid.uuid4().hex[:8]}"
    with nats_cluster(tmp_path) as cluster:

        async def scenario() -> None:
            # The MQTT streams exist once a first client has connected; then find who leads them.
            probe = MqttBus(cluster.mqtt_url(), client_id="probe", site=site)
            await probe.start()
            await probe.close()
            victim = cluster.stream_leader("$MQTT_msgs")
            nodes = [cluster.nodes[victim]] + [n for i, n in enumerate(cluster.nodes) if i != victim]
            url = "mqtt://" + ",".join(f"127.0.0.1:{n.mqtt_port}" for n in nodes)
            desk = MqttBus(url, client_id=f"desk-{site}", site=site)
            acd = MqttBus(url, client_id=f"acd-{site}", site=site)
            assert acd.publish_timeout == CLUSTER_PUBLISH_TIMEOUT
            topic = topics.agent_commands(site, "alice")
            await desk.start()
            await acd.start()
            try:
                killed = ("127.0.0.1", nodes[0].mqtt_port)
                assert desk.node == acd.node == killed
                inbox = await desk.subscribe(topic, qos=QOS_COMMAND)
                received: set[str] = set()

                async def offer(command_id: str) -> None:
                    await acd.publish(topic, Command(command_id=command_id, name="offer", ts=time.time(),
                                                     agent_id="alice"), qos=QOS_COMMAND)

                async def receive(wanted: set[str], timeout: float) -> None:
                    async with asyncio.timeout(timeout):
                        while not wanted <= received:
                            envelope = await inbox.get()
                            assert isinstance(envelope.message, Command)
                            received.add(envelope.message.command_id)

                await offer("before")
                await receive({"before"}, 20)

                cluster.kill(victim)
                await until(lambda: not desk.connected and not acd.connected, timeout=30)
                during = {f"during-{i}" for i in range(BATCH)}
                await asyncio.gather(*(offer(command_id) for command_id in sorted(during)))
                # The sender is back; the receiver may still be reconnecting.
                after = {f"after-{i}" for i in range(BATCH)}
                await asyncio.gather(*(offer(command_id) for command_id in sorted(after)))
                await receive(during | after, 90)
                assert received == {"before"} | during | after
                assert desk.connected and desk.node != killed
                assert acd.connected and acd.node != killed
            finally:
                await desk.close()
                await acd.close()

        try:
            asyncio.run(scenario())
        except BaseException:
            print(cluster.logs())
            raise
