"""The MQTT transport on aiomqtt (Mosquitto in production).

One connection per process. It reconnects with backoff (:mod:`bus.reconnect`) when the broker goes away and
subscribes again to every active filter; publishers wait (up to ``publish_timeout``) for the link
to come back rather than losing a command. The process's presence is published retained on
``ccenter/v1/<site>/presence/<client_id>``, and the broker publishes the last will (offline) for
it if the process dies. Payloads that are not valid messages are logged and skipped.

**Last will.** A process whose death others must learn of on a topic of its own gives a :class:`LastWill`
(``open_bus(..., will=...)``): the broker publishes its ``gone`` message, retained, when the connection
dies without a goodbye (the process killed, its machine gone: after 1.5 keepalives), and :meth:`MqttBus.close`
publishes it too; ``alive`` (if any) is published, retained, on every connection. Such a bus publishes no
``presence/<client id>`` (MQTT has one will per connection). The CTI gateway's will is its
``cti.capabilities`` offline; a desktop's its ``agents/<agent_id>/presence`` offline.

**Identity.** The broker user and password come from the URL (``mqtt://user:pass@host``; percent-
escape special characters); the shipped broker configuration refuses anonymous clients (see
docs/security.md). The client id is the given one with a random 64-bit suffix (:mod:`secrets`), so two
instances of one process never take each other's session, and nobody can guess it: MQTT hands a client
id's session to whoever connects with it, whatever its user, so a client id is kept secret. It is
published only on ``presence/<client id>``, which no agent may read. With a user name it starts with
``<user>:``, and a broker with ccenter's plugin (``packaging/mosquitto/ccenter_clientid.c``) refuses a
client id that does not start with its own user's name: nobody can take another user's session.

**TLS.** ``mqtts://host[:8883]`` speaks TLS, verifying the broker's certificate against the system's
CAs, or against ``?cafile=/path/ca.crt``; ``&certfile=...&keyfile=...`` present a client
certificate. Any other query parameter is an error.

**Clustered brokers.** ``mqtt://user:pass@node1:1883,node2:1883,node3:1883`` names the nodes of one
clustered broker (NATS, EMQX, VerneMQ): the bus connects to the first that answers and, when its
link is lost, tries the next one, round the list (docs/admin.md, "Beyond one site"). A publish
then waits up to ``CLUSTER_PUBLISH_TIMEOUT`` (60 s, not 10 s) for the link: the cluster's failover
after a node is lost takes tens of seconds, and a publish given up would be a command lost.

**Reconnecting.** After a reconnection the bus subscribes again, re-publishes its presence, then
runs the callbacks given to :meth:`MqttBus.on_reconnect` (a process re-publishes its retained state
there: a broker that restarted without persistence has forgotten it).

**Persistent sessions.** By default the bus connects with ``clean_session`` false (MQTT 3.1.1, which
clustered brokers such as NATS speak too) under its one client id for the life of the process: QoS 1
messages published while this process was reconnecting are kept by the broker and delivered when it
is back (also over a broker restart, if the broker persists its sessions). Client ids are unique per
process instance, so the sessions of processes that stopped are never taken up again: the broker drops
them after its ``persistent_client_expiration`` (set in ``packaging/mosquitto/ccenter.conf``; NATS
and EMQX have their own session expiry). ``persistent=False`` connects with clean sessions.
A broker restarted without persistence forgets sessions: commands that wait for a ``command.result``
are sent again until it comes (:class:`cti.buslink.BusLink`; the gateway does each command id once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

import aiomqtt

from . import topics
from .errors import BrokerUnavailable, BusError
from .messages import Message, Presence, encode
from .reconnect import BackoffPolicy, Reconnector, describe
from .transport import QOS_COMMAND, QOS_EVENT, Bus, LastWill, Subscription

logger = logging.getLogger(__name__)
#: Publishes awaiting the broker's acknowledgement before aiomqtt warns of them.
_PENDING_PUBLISHES_WARNED = 4096

#: How long a publish waits for the link, by default, when the URL names one node.
PUBLISH_TIMEOUT = 10.0
#: ... and when it names the nodes of a clustered broker: a node's loss is a failover, not an outage.
#: NATS 2.9 takes up to about 30 s to take connections again after a node is killed (JetStream elects
#: new leaders for its MQTT streams meanwhile), and a publish given up is a command or event lost.
CLUSTER_PUBLISH_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where and as whom to connect, from an ``mqtt://`` or ``mqtts://`` URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    #: every node of a clustered broker, in the order given (``host``/``port`` are the first)
    nodes: tuple[tuple[str, int], ...] = ()

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.cafile)
            if self.certfile:
                context.load_cert_chain(self.certfile, self.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise BusError(f"cannot set up TLS for the MQTT broker: {exc}") from None
        return context


_TLS_OPTIONS = ("cafile", "certfile", "keyfile")


def _split_nodes(url: str, netloc: str, default_port: int) -> tuple[tuple[str, int], ...]:
    """The ``host[:port]`` entries of a comma-separated host list (user and password taken off)."""
    nodes: list[tuple[str, int]] = []
    for entry in netloc.rpartition("@")[2].split(","):
        parts = urlsplit(f"//{entry}")
        try:
            port = parts.port or default_port
        except ValueError:
            raise BusError(f"bad port in MQTT URL {safe_url(url)!r}") from None
        if not parts.hostname:
            raise BusError(f"empty host in MQTT URL {safe_url(url)!r}")
        nodes.append((parts.hostname, port))
    return tuple(nodes)


def parse_address(url: str) -> BrokerAddress:
    """The broker address of ``url``; BusError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.netloc.rpartition("@")[2]:
        raise BusError(f"not an MQTT URL: {safe_url(url)!r} (expected mqtt://[user:pass@]host[:port][,host[:port]...])")
    tls = parts.scheme == "mqtts"
    nodes = _split_nodes(url, parts.netloc, 8883 if tls else 1883)
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _TLS_OPTIONS:
            raise BusError(f"unknown option {key!r} in MQTT URL {safe_url(url)!r} (known: {', '.join(_TLS_OPTIONS)})")
        if not tls:
            raise BusError(f"option {key!r} needs an mqtts:// URL (TLS), not {safe_url(url)!r}")
        options[key] = value
    if "keyfile" in options and "certfile" not in options:
        raise BusError(f"keyfile without certfile in MQTT URL {safe_url(url)!r}")
    return BrokerAddress(
        host=nodes[0][0],
        port=nodes[0][1],
        nodes=nodes,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
        **options,
    )


def _no_delay(client: aiomqtt.Client) -> None:
    """Send small packets at once (TCP_NODELAY): paho leaves Nagle's algorithm on, which holds a publish
    back until the broker acknowledges the previous one at TCP level (tens of milliseconds with delayed
    ACKs) and made every command round trip and event under load that much later."""
    sock = client._client.socket()
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def unique_client_id(client_id: str, user: str | None = None) -> str:
    """``client_id`` with a random 64-bit suffix: one per instance (the broker drops a session whose id is
    reused), and none that another user could guess to take the session over. With a broker ``user``,
    ``<user>:`` comes first: the broker may then refuse a client id that is not its user's
    (``packaging/mosquitto/ccenter_clientid.c``; a user name never holds a colon)."""
    own = f"{user}:{client_id}" if user else client_id
    return f"{own}-{secrets.token_hex(8)}"


def safe_url(url: str) -> str:
    """``url`` without its password, for logs and errors."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return url
    if password:
        return url.replace(f":{password}@", ":***@", 1)
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
        publish_timeout: float | None = None,
        max_backoff: float = 30.0,
        reconnector: Reconnector | None = None,
        persistent: bool = True,
        will: LastWill | None = None,
    ) -> None:
        super().__init__()
        self.will = will
        self.url = url
        self._address = parse_address(url)
        self.client_id = unique_client_id(client_id, self._address.username)
        self.site = site
        self.role = role
        self.keepalive = keepalive
        if publish_timeout is None:
            publish_timeout = CLUSTER_PUBLISH_TIMEOUT if len(self._address.nodes) > 1 else PUBLISH_TIMEOUT
        self.publish_timeout = publish_timeout
        self.max_backoff = max_backoff
        self.persistent = persistent
        self.reconnector = reconnector or Reconnector(BackoffPolicy(initial=min(0.5, max_backoff), cap=max_backoff))
        self._tls_context = self._address.tls_context()
        self._reconnect_hooks: list[Callable[[], Awaitable[object]]] = []
        self._hook_tasks: set[asyncio.Task[object]] = set()
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._down = asyncio.Event()  # set when the current link breaks (a new one per link)
        self._runner: asyncio.Task[None] | None = None
        self._qos: dict[str, int] = {}
        self.reconnects = 0
        #: the node of a clustered broker the next connection goes to (round the list)
        self._node = 0
        #: ``(host, port)`` of the node this bus is connected to (or last tried)
        self.node = (self._address.host, self._address.port)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _presence_topic(self) -> str:
        return topics.presence(self.site, self.client_id)

    def _goodbye(self) -> tuple[str, Message]:
        """The topic and message of this connection's last will (also said on a clean close)."""
        if self.will is not None:
            return self.will.topic, self.will.gone()
        return self._presence_topic(), Presence(client_id=self.client_id, online=False, ts=time.time(),
                                                role=self.role)

    def _hello(self) -> tuple[str, Message] | None:
        """The retained message published on every connection (None: none)."""
        if self.will is not None:
            return (self.will.topic, self.will.alive()) if self.will.alive is not None else None
        return self._presence_topic(), Presence(client_id=self.client_id, online=True, ts=time.time(),
                                                role=self.role)

    def _make_client(self, *, clean: bool | None = None) -> aiomqtt.Client:
        topic, gone = self._goodbye()
        will = aiomqtt.Will(topic, encode(gone), qos=QOS_COMMAND, retain=True)
        a = self._address
        self.node = (a.nodes or ((a.host, a.port),))[self._node % max(1, len(a.nodes))]
        self._node += 1
        client = aiomqtt.Client(
            self.node[0],
            self.node[1],
            username=a.username,
            password=a.password,
            identifier=self.client_id,
            will=will,
            keepalive=self.keepalive,
            timeout=10,
            tls_context=self._tls_context,
            clean_session=not self.persistent if clean is None else clean,
        )
        # aiomqtt warns (a log record per publish) when more than 10 publishes await the broker: a busy
        # gateway or ACD has hundreds in flight on purpose.
        client.pending_calls_threshold = _PENDING_PUBLISHES_WARNED
        return client

    async def start(self) -> None:
        """Connect now (to the first node of a cluster that answers); raises BrokerUnavailable if no node
        can be reached or the broker refuses us."""
        for attempt in range(max(1, len(self._address.nodes))):
            client = self._make_client()
            try:
                await client.__aenter__()
                await self._on_connected(client)
                break
            except aiomqtt.MqttError as exc:
                if attempt + 1 >= len(self._address.nodes):
                    raise BrokerUnavailable(
                        f"cannot connect to the MQTT broker {safe_url(self.url)}: {exc}"
                    ) from None
        self.reconnector.restart()
        self._runner = asyncio.create_task(self._run(client), name=f"mqtt-{self.client_id}")

    async def _on_connected(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._down = asyncio.Event()
        _no_delay(client)
        # Subscriptions may be added or dropped while these go out (each subscribe awaits the broker):
        # go round until every pattern wanted now is subscribed at its QoS.
        subscribed: dict[str, int] = {}
        while todo := [(p, q) for p, q in list(self._qos.items()) if subscribed.get(p) != q]:
            for pattern, qos in todo:
                await client.subscribe(pattern, qos=qos)
                subscribed[pattern] = qos
        hello = self._hello()
        if hello is not None:
            await client.publish(hello[0], encode(hello[1]), qos=QOS_COMMAND, retain=True)
        self._connected.set()
        logger.info("connected to MQTT broker %s (node %s:%d) as %s", safe_url(self.url), *self.node, self.client_id)

    def on_reconnect(self, callback: Callable[[], Awaitable[object]]) -> None:
        """Run ``await callback()`` after every reconnection (once the link is up and subscribed again)."""
        self._reconnect_hooks.append(callback)

    def _run_reconnect_hooks(self) -> None:
        for hook in self._reconnect_hooks:
            task: asyncio.Task[object] = asyncio.create_task(self._run_hook(hook))
            self._hook_tasks.add(task)
            task.add_done_callback(self._hook_tasks.discard)

    async def _run_hook(self, hook: Callable[[], Awaitable[object]]) -> object:
        try:
            return await hook()
        except BusError as exc:
            logger.warning("re-publishing after a reconnection failed: %s", exc)
        except Exception:
            logger.exception("a reconnection callback failed")
        return None

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
                self._run_reconnect_hooks()
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
                self._down.set()  # publishes waiting for an acknowledgement on this link are sent again
                with contextlib.suppress(Exception):
                    await client.__aexit__(None, None, None)

        def lost(exc: BaseException | None, delay: float) -> None:
            logger.warning("MQTT link to %s lost (%s); retrying in %.1f s", safe_url(self.url), describe(exc), delay)

        await self.reconnector.run(session, retry_on=(aiomqtt.MqttError,), on_retry=lost)

    async def close(self) -> None:
        self.reconnector.stop()
        for task in list(self._hook_tasks):
            task.cancel()
        client = self._client
        if client is not None and self._connected.is_set():
            topic, gone = self._goodbye()
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(topic, encode(gone), qos=QOS_COMMAND, retain=True)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        for subscription in list(self._subscriptions):
            subscription.end()
        self._subscriptions.clear()

    async def _wait_connected(self) -> aiomqtt.Client:
        deadline = time.monotonic() + self.publish_timeout
        while True:
            try:
                await asyncio.wait_for(self._connected.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise BrokerUnavailable(
                    f"the MQTT broker {safe_url(self.url)} has been unreachable for {self.publish_timeout:.0f} s"
                ) from None
            client = self._client
            if client is not None and self._connected.is_set():
                return client
            # The link came up and broke again before this task ran: wait for the next one.

    async def publish(self, topic: str, message: Message, *, qos: int = QOS_EVENT, retain: bool = False) -> None:
        payload = encode(message)
        while True:
            client = await self._wait_connected()
            down = self._down
            try:
                if qos == 0:
                    await client.publish(topic, payload, qos=qos, retain=retain)
                    return
                if await _unless_set(client.publish(topic, payload, qos=qos, retain=retain), down):
                    return
                # The link broke while the broker's acknowledgement was awaited: aiomqtt would wait out its
                # timeout; it is sent again (the same message) as soon as a new link is up.
                logger.warning("publish on %s failed (the link broke before it was acknowledged); waiting for "
                               "the link", topic)
            except aiomqtt.MqttError as exc:
                logger.warning("publish on %s failed (%s); waiting for the link", topic, exc)
                if self._client is client:
                    self._connected.clear()
                # else it failed on a link already replaced (a publish that waited for its
                # acknowledgement while the link broke): the new link is up, send it there.

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


async def _unless_set(work: Awaitable[None], down: asyncio.Event) -> bool:
    """Await ``work``; True when it finished, False (``work`` cancelled) when ``down`` was set first."""
    task = asyncio.ensure_future(work)
    lost = asyncio.ensure_future(down.wait())
    try:
        await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        lost.cancel()
        raise
    if task.done():
        lost.cancel()
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
        await task
    return False
