"""The MQTT transport against the real broker (Mosquitto), through a proxy the test can cut."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bus import topics
from bus.errors import BrokerUnavailable
from bus.messages import Command, Presence, QueueStats
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND
from tests.helpers import ExpectLog, until


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of the broker; ``cut()`` drops every link without MQTT DISCONNECT."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.links: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.accepted = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.links += [writer, upstream_writer]
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    def cut(self) -> None:
        for writer in self.links:
            writer.transport.abort()
        self.links.clear()

    async def close(self) -> None:
        self.cut()
        if self.server:
            self.server.close()
            await self.server.wait_closed()


@contextlib.asynccontextmanager
async def started(bus: MqttBus) -> AsyncIterator[MqttBus]:
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


def _site() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


pytestmark = pytest.mark.mqtt


def test_commands_and_retained_stats_cross_the_broker(mqtt_url: str) -> None:
    site = _site()

    async def scenario() -> None:
        async with started(MqttBus(mqtt_url, client_id=f"acd-{site}", site=site)) as acd, \
                started(MqttBus(mqtt_url, client_id=f"desk-{site}", site=site)) as desk:
            inbox = await desk.subscribe(topics.agent_commands(site, "alice"), qos=QOS_COMMAND)
            command = Command(command_id="k1", name="set_state", ts=1.0, agent_id="alice", args={"state": "ready"})
            await acd.publish(topics.agent_commands(site, "alice"), command, qos=QOS_COMMAND)
            assert (await inbox.get(timeout=10)).message == command
            stats = QueueStats(queue="billing", ts=2.0, waiting=4, service_level=0.8)
            await acd.publish(topics.queue_stats(site, "billing"), stats, retain=True)
            # A supervisor that connects later still gets the last statistics at once.
            async with started(MqttBus(mqtt_url, client_id=f"sup-{site}", site=site)) as sup:
                late = await sup.subscribe(topics.all_queue_stats(site))
                assert (await late.get(timeout=10)).message == stats
            await acd.clear_retained(topics.queue_stats(site, "billing"))
        async with started(MqttBus(mqtt_url, client_id=f"sup2-{site}", site=site)) as sup:
            late = await sup.subscribe(topics.all_queue_stats(site))
            with pytest.raises(TimeoutError):
                await late.get(timeout=0.3)

    asyncio.run(scenario())


def test_link_loss_reconnects_resubscribes_and_publishes_the_last_will(mqtt_url: str, expect_log: ExpectLog) -> None:
    site = _site()
    parts = urlsplit(mqtt_url)

    async def scenario() -> None:
        proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 1883)
        port = await proxy.start()
        flaky = MqttBus(f"mqtt://127.0.0.1:{port}", client_id=f"desk-{site}", site=site, keepalive=5)
        try:
            async with started(MqttBus(mqtt_url, client_id=f"watch-{site}", site=site)) as watcher, started(flaky):
                presence = await watcher.subscribe(topics.presence(site, flaky.client_id))
                assert (await presence.get(timeout=10)).message.online is True  # type: ignore[attr-defined]
                inbox = await flaky.subscribe(topics.agent_commands(site, "bob"))
                proxy.cut()
                will = (await presence.get(timeout=15)).message
                assert isinstance(will, Presence) and will.online is False
                await until(lambda: flaky.connected and flaky.reconnects >= 1, 15)
                assert (await presence.get(timeout=10)).message.online is True  # type: ignore[attr-defined]
                command = Command(command_id="k2", name="answer", ts=3.0, agent_id="bob")
                await watcher.publish(topics.agent_commands(site, "bob"), command, qos=QOS_COMMAND)
                assert (await inbox.get(timeout=10)).message == command
                assert proxy.accepted >= 2
        finally:
            await proxy.close()

    with expect_log(logging.WARNING, "bus.mqtt", match=r"^MQTT link to mqtt://127\.0\.0\.1:\d+ lost .*; retrying in"):
        asyncio.run(scenario())


def test_refused_connection_is_one_clear_error() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(BrokerUnavailable, match=f"cannot connect to the MQTT broker mqtt://127.0.0.1:{port}"):
            await MqttBus(f"mqtt://127.0.0.1:{port}", client_id="nobody").start()

    asyncio.run(scenario())
