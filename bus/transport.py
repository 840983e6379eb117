"""The bus interface and the in-process transport.

A :class:`Bus` publishes messages to topics and hands out :class:`Subscription`\\ s, each an async
iterator of :class:`Envelope` (topic and message) for one MQTT-style topic filter. Both transports,
in-process (embedded default) and MQTT (production, :mod:`bus.mqtt`), behave the same: retained
messages reach later subscribers, a payload that is not a valid message is logged and skipped, and
``open_bus(url)`` picks the transport from the URL.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from . import topics
from .errors import BusError
from .messages import Message, decode, encode

logger = logging.getLogger(__name__)

#: QoS for commands and dispositions (DESIGN.md): at least once.
QOS_COMMAND = 1
#: QoS for events and statistics.
QOS_EVENT = 0


@dataclass(frozen=True, slots=True)
class Envelope:
    topic: str
    message: Message


@dataclass(frozen=True, slots=True)
class LastWill:
    """What the broker says, retained on ``topic``, when this connection dies without a goodbye.

    ``gone`` and ``alive`` make a fresh message each time (with the time of the connection); ``alive``
    is published on every connection (None: the process publishes its own state there).
    """

    topic: str
    gone: Callable[[], Message]
    alive: Callable[[], Message] | None = None


class Subscription:
    """Messages for one topic filter, in arrival order; ``async for envelope in subscription``."""

    def __init__(self, bus: Bus, pattern: str, max_pending: int = 10_000) -> None:
        self.bus = bus
        self.pattern = pattern
        self._queue: asyncio.Queue[Envelope | None] = asyncio.Queue(maxsize=max_pending)
        self.dropped = 0

    def deliver(self, envelope: Envelope) -> None:
        try:
            self._queue.put_nowait(envelope)
        except asyncio.QueueFull:
            # A consumer that stopped reading must not grow memory without bound.
            self.dropped += 1
            logger.warning("subscription %s is full: dropped a message on %s", self.pattern, envelope.topic)

    def end(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def get(self, timeout: float | None = None) -> Envelope:
        """The next message; raises TimeoutError after ``timeout`` seconds, StopAsyncIteration when closed."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is None:
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> AsyncIterator[Envelope]:
        return self

    async def __anext__(self) -> Envelope:
        return await self.get()

    async def close(self) -> None:
        await self.bus.unsubscribe(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class Bus(abc.ABC):
    """Publish and subscribe; ``async with bus:`` starts and closes it."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, topic: str, message: Message, *, qos: int = QOS_EVENT, retain: bool = False) -> None: ...

    @abc.abstractmethod
    async def clear_retained(self, topic: str) -> None:
        """Forget the retained message of ``topic`` (a queue or agent that no longer exists)."""

    async def subscribe(self, pattern: str, *, qos: int = QOS_COMMAND) -> Subscription:
        subscription = Subscription(self, pattern)
        self._subscriptions.append(subscription)
        await self._subscribed(subscription, qos)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            subscription.end()
            if not any(s.pattern == subscription.pattern for s in self._subscriptions):
                await self._unsubscribed(subscription.pattern)

    @abc.abstractmethod
    async def _subscribed(self, subscription: Subscription, qos: int) -> None:
        """Hook for transports: a new filter is active."""

    @abc.abstractmethod
    async def _unsubscribed(self, pattern: str) -> None:
        """Hook for transports: no subscription uses ``pattern`` any more."""

    def _dispatch(self, topic: str, payload: bytes) -> None:
        """Decode once and hand the message to every matching subscription; bad payloads are skipped."""
        targets = [s for s in self._subscriptions if topics.matches(s.pattern, topic)]
        if not targets:
            return
        try:
            message = decode(payload)
        except BusError as exc:
            logger.warning("skipped an invalid message on %s: %s", topic, exc)
            return
        envelope = Envelope(topic, message)
        for subscription in targets:
            subscription.deliver(envelope)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class InProcessBus(Bus):
    """The embedded default: every process part in one Python process, messages passed in memory.

    Messages still go through ``encode``/``decode``, so what works here works on MQTT.
    """

    def __init__(self) -> None:
        super().__init__()
        self._retained: dict[str, bytes] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await self.unsubscribe(subscription)

    async def publish(self, topic: str, message: Message, *, qos: int = QOS_EVENT, retain: bool = False) -> None:
        payload = encode(message)
        if retain:
            self._retained[topic] = payload
        self._dispatch(topic, payload)

    async def clear_retained(self, topic: str) -> None:
        self._retained.pop(topic, None)

    async def _subscribed(self, subscription: Subscription, qos: int) -> None:
        for topic, payload in self._retained.items():
            if topics.matches(subscription.pattern, topic):
                subscription.deliver(Envelope(topic, decode(payload)))

    async def _unsubscribed(self, pattern: str) -> None:
        return None


def open_bus(url: str, *, client_id: str, site: str = "main", role: str = "", will: LastWill | None = None) -> Bus:
    """The transport for ``url``: ``inproc://`` or ``mqtt://user:pass@host:port`` (``mqtts://`` for TLS).

    ``will``: the connection's last will (:class:`LastWill`; an in-process bus never dies alone)."""
    if url.startswith("inproc:"):
        return InProcessBus()
    if url.startswith(("mqtt://", "mqtts://")):
        from .mqtt import MqttBus

        return MqttBus(url, client_id=client_id, site=site, role=role, will=will)
    raise BusError(f"unsupported bus URL {url!r}: use inproc:// or mqtt://host:port")
