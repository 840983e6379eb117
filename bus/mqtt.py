"""The MQTT transport on aiomqtt (Mosquitto in production).

One connection per process. It reconnects with backoff (:mod:`bus.reconnect`) when the broker goes away and
subscribes again to every active filter; publishers wait (up to ``publish_timeout``) for the link
to come back rather than losing a command. The process's presence is published retained on
``ccenter/v1/<site>/presence/<client_id>``, and the broker publishes the last will (offline) for
it if the process dies. Payloads that are not valid messages are logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from urllib.parse import unquote, urlsplit

import aiomqtt

from . import topics
from .errors import BrokerUnavailable, BusError
from .messages import Message, Presence, encode
from .reconnect import BackoffPolicy, Reconnector, describe
from .transport import QOS_COMMAND, QOS_EVENT, Bus, Subscription

logger = logging.getLogger(__name__)


def parse_url(url: str) -> tuple[str, int, str | None, str | None, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise BusError(f"not an MQTT URL: {url!r} (expected mqtt://[user:pass@]host[:port])")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise BusError(f"bad port in MQTT URL {url!r}") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, username, password, tls


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


class MqttBus(Bus):
    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        site: str = "main",
        role: str = "",
        keepalive: int = 30,
        publish_timeout: float = 10.0,
        max_backoff: float = 30.0,
        reconnector: Reconnector | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.client_id = client_id
        self.site = site
        self.role = role
        self.keepalive = keepalive
        self.publish_timeout = publish_timeout
        self.max_backoff = max_backoff
        self.reconnector = reconnector or Reconnector(BackoffPolicy(initial=min(0.5, max_backoff), cap=max_backoff))
        self._host, self._port, self._username, self._password, self._tls = parse_url(url)
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._qos: dict[str, int] = {}
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _presence_topic(self) -> str:
        return topics.presence(self.site, self.client_id)

    def _make_client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(
            self._presence_topic(),
            encode(Presence(client_id=self.client_id, online=False, ts=time.time(), role=self.role)),
            qos=QOS_COMMAND,
            retain=True,
        )
        return aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            identifier=self.client_id,
            will=will,
            keepalive=self.keepalive,
            timeout=10,
            tls_context=ssl.create_default_context() if self._tls else None,
        )

    async def start(self) -> None:
        """Connect now; raises BrokerUnavailable if the broker cannot be reached or refuses us."""
        client = self._make_client()
        try:
            await client.__aenter__()
            await self._on_connected(client)
        except aiomqtt.MqttError as exc:
            raise BrokerUnavailable(f"cannot connect to the MQTT broker {safe_url(self.url)}: {exc}") from None
        self.reconnector.restart()
        self._runner = asyncio.create_task(self._run(client), name=f"mqtt-{self.client_id}")

    async def _on_connected(self, client: aiomqtt.Client) -> None:
        self._client = client
        for pattern, qos in self._qos.items():
            await client.subscribe(pattern, qos=qos)
        await client.publish(
            self._presence_topic(),
            encode(Presence(client_id=self.client_id, online=True, ts=time.time(), role=self.role)),
            qos=QOS_COMMAND,
            retain=True,
        )
        self._connected.set()
        logger.info("connected to MQTT broker %s as %s", safe_url(self.url), self.client_id)

    async def _run(self, first: aiomqtt.Client) -> None:
        connected: aiomqtt.Client | None = first

        async def session() -> None:
            nonlocal connected
            client, connected = connected, None
            if client is None:
                client = self._make_client()
                await client.__aenter__()
                self.reconnects += 1
                await self._on_connected(client)
            self.reconnector.established()
            try:
                async for message in client.messages:
                    payload = message.payload
                    if isinstance(payload, bytes | bytearray):
                        self._dispatch(str(message.topic), bytes(payload))
                    else:
                        logger.warning("skipped a non-binary payload on %s", message.topic)
            finally:
                self._connected.clear()
                self._client = None
                with contextlib.suppress(Exception):
                    await client.__aexit__(None, None, None)

        def lost(exc: BaseException | None, delay: float) -> None:
            logger.warning("MQTT link to %s lost (%s); retrying in %.1f s", safe_url(self.url), describe(exc), delay)

        await self.reconnector.run(session, retry_on=(aiomqtt.MqttError,), on_retry=lost)

    async def close(self) -> None:
        self.reconnector.stop()
        client = self._client
        if client is not None and self._connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(
                    self._presence_topic(),
                    encode(Presence(client_id=self.client_id, online=False, ts=time.time(), role=self.role)),
                    qos=QOS_COMMAND,
                    retain=True,
                )
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        for subscription in list(self._subscriptions):
            subscription.end()
        self._subscriptions.clear()

    async def _wait_connected(self) -> aiomqtt.Client:
        try:
            await asyncio.wait_for(self._connected.wait(), self.publish_timeout)
        except TimeoutError:
            raise BrokerUnavailable(
                f"the MQTT broker {safe_url(self.url)} has been unreachable for {self.publish_timeout:.0f} s"
            ) from None
        assert self._client is not None
        return self._client

    async def publish(self, topic: str, message: Message, *, qos: int = QOS_EVENT, retain: bool = False) -> None:
        payload = encode(message)
        while True:
            client = await self._wait_connected()
            try:
                await client.publish(topic, payload, qos=qos, retain=retain)
                return
            except aiomqtt.MqttError as exc:
                logger.warning("publish on %s failed (%s); waiting for the link", topic, exc)
                self._connected.clear()

    async def clear_retained(self, topic: str) -> None:
        client = await self._wait_connected()
        await client.publish(topic, b"", qos=QOS_COMMAND, retain=True)

    async def _subscribed(self, subscription: Subscription, qos: int) -> None:
        self._qos[subscription.pattern] = max(qos, self._qos.get(subscription.pattern, 0))
        if self._client is not None and self._connected.is_set():
            await self._client.subscribe(subscription.pattern, qos=self._qos[subscription.pattern])

    async def _unsubscribed(self, pattern: str) -> None:
        self._qos.pop(pattern, None)
        if self._client is not None and self._connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.unsubscribe(pattern)
