"""The CSTA XML link: asyncio TCP around the sans-I/O codec and mapper.

``CstaLink(CstaSettings.from_url("csta://pbx:1040?devices=2001,2002"))`` connects, starts a
monitor (``MonitorStart``) on each device, maps events to the normalized model and carries the
commands as ECMA-269 requests. When the connection drops it reconnects with backoff and starts the
monitors again; calls keep their ``call_id`` (the first CSTA callID seen, see :mod:`.mapper`).
After every (re)connect and its monitors, ``SnapshotDevice`` on each device resyncs the calls: those
still up go on with their ``call_id``, those that ended while the link was down end with cause
``ended while the link was down``. Optionally (``?session=1``) an ECMA-354 application session is
started first and kept alive with ``ResetApplicationSessionTimer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bus.messages import AgentStateName
from bus.reconnect import BackoffPolicy, Reconnector, describe

from ..codec import NeedData
from ..errors import BadLinkUrl, CommandFailed, CtiError, LinkUnavailable, LocalProtocolError, RemoteProtocolError
from ..link import CtiLink
from ..model import Capability
from .codec import NS_ED3, NS_ED4, Body, CstaMessage, CstaProtocol, RequestCompleted
from .mapper import CstaMapper

logger = logging.getLogger(__name__)

_AGENT_STATES = {
    AgentStateName.LOGGED_ON: "loggedOn",
    AgentStateName.LOGGED_OFF: "loggedOff",
    AgentStateName.READY: "ready",
    AgentStateName.NOT_READY: "notReady",
    AgentStateName.WRAP_UP: "workingAfterCall",
}


@dataclass(frozen=True, slots=True)
class CstaSettings:
    host: str
    port: int = 1040
    devices: tuple[str, ...] = ()
    namespace: str = NS_ED4
    session: bool = False
    application: str = "ccenter"
    keepalive: float = 30.0
    request_timeout: float = 10.0
    connect_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> CstaSettings:
        """``csta://host:port?devices=2001,2002&ed=4&session=0``."""
        parts = urlsplit(url)
        if parts.scheme != "csta" or not parts.hostname:
            raise BadLinkUrl(f"not a CSTA link URL: {url!r} (csta://host:port?devices=2001,2002)")
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        devices = tuple(d for d in q.pop("devices", "").split(",") if d)
        edition = q.pop("ed", "4")
        session = q.pop("session", "0") in ("1", "true", "yes")
        if q or edition not in ("3", "4"):
            raise BadLinkUrl(f"CSTA link URL {url!r}: options are devices, ed (3 or 4) and session")
        try:
            port = parts.port or 1040
        except ValueError as exc:
            raise BadLinkUrl(f"CSTA link URL {url!r}: {exc}") from None
        return cls(parts.hostname, port, devices, NS_ED3 if edition == "3" else NS_ED4, session)


class CstaLink(CtiLink):
    capabilities = frozenset(Capability) - {Capability.ATTACH_DATA, Capability.MUTE, Capability.LISTEN}

    def __init__(
        self,
        settings: CstaSettings,
        *,
        clock: Callable[[], float] = time.time,
        reconnector: Reconnector | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.reconnector = reconnector or Reconnector(
            BackoffPolicy(initial=settings.reconnect_min, cap=settings.reconnect_max)
        )
        self.mapper = CstaMapper(clock=clock)
        self.ready = asyncio.Event()
        self.sessions = 0
        self.monitors: dict[str, str] = {}  # device -> monitorCrossRefID
        self._proto = CstaProtocol(namespace=settings.namespace)
        self._writer: asyncio.StreamWriter | None = None
        self._waiters: dict[str, asyncio.Future[RequestCompleted]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._first: asyncio.Future[None] | None = None
        self._caller_told = False  # the last session's failure went to connect()'s caller
        self._dropped_because: str | None = None  # set when we drop the connection ourselves

    @classmethod
    def from_url(cls, url: str) -> CstaLink:
        return cls(CstaSettings.from_url(url))

    async def connect(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self.reconnector.restart()
        self._first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._supervise(), name=f"csta {self.settings.host}")
        try:
            await asyncio.wait_for(asyncio.shield(self._first), self.settings.connect_timeout)
        except (TimeoutError, CtiError) as exc:
            await self.close()
            if isinstance(exc, CtiError):
                raise
            raise LinkUnavailable(f"no CSTA session with {self.settings.host}:{self.settings.port}") from None

    async def close(self) -> None:
        self._stopping = True
        self.reconnector.stop()
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._end_events()

    async def _supervise(self) -> None:
        await self.reconnector.run(
            self._attempt, retry_on=(OSError, EOFError, CtiError, TimeoutError), on_retry=self._on_retry
        )

    async def _attempt(self) -> None:
        """One session; the reconnector pauses (with backoff, reset after a session that lasted) and calls again."""
        self._caller_told = False
        try:
            await self._session()
        except (OSError, EOFError, CtiError, TimeoutError) as exc:
            if self._first is not None and not self._first.done():
                where = f"{self.settings.host}:{self.settings.port}"
                self._first.set_exception(LinkUnavailable(f"cannot reach CSTA at {where}: {describe(exc)}"))
                self._first.exception()
                self._caller_told = True  # connect() raises it: no warning of a reconnect that will not come
            raise
        finally:
            self.ready.clear()
            self._proto.forget_pending()
            for future in self._waiters.values():
                if not future.done():
                    future.set_exception(LinkUnavailable("the CSTA connection dropped before the answer came"))
                    future.exception()
            self._waiters.clear()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _on_retry(self, exc: BaseException | None, delay: float) -> None:
        if self._caller_told:
            return
        where = f"{self.settings.host}:{self.settings.port}"
        logger.warning("CSTA link to %s lost: %s; reconnecting in %.1f s", where, describe(exc), delay)

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.settings.host, self.settings.port), self.settings.connect_timeout
        )
        self._writer = writer
        self._dropped_because = None
        self._proto = CstaProtocol(namespace=self.settings.namespace)
        reader_task = asyncio.create_task(self._read(reader))
        try:
            if self.settings.session:
                await self.request(
                    "StartApplicationSession",
                    {
                        "applicationInfo": {"applicationID": self.settings.application},
                        "requestedProtocolVersions": {"protocolVersion": self.settings.namespace},
                    },
                )
            self.monitors.clear()
            for dev in self.settings.devices:
                result = await self.request("MonitorStart", {"monitorObject": {"deviceObject": dev}})
                self.monitors[dev] = result.response.get("monitorCrossRefID") or ""
            await self._resync()
            self.sessions += 1
            self.reconnector.established()
            self.ready.set()
            if self._first is not None and not self._first.done():
                self._first.set_result(None)
            logger.info(
                "CSTA session %d with %s:%d, monitoring %s",
                self.sessions,
                self.settings.host,
                self.settings.port,
                ", ".join(self.settings.devices) or "nothing",
            )
            keeper = asyncio.create_task(self._keepalive()) if self.settings.session else None
            try:
                await reader_task
            finally:
                if keeper is not None:
                    keeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await keeper
        finally:
            if not reader_task.done():
                reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task

    async def _resync(self) -> None:
        """``SnapshotDevice`` on every monitored device: calls still up go on, calls that ended meanwhile end."""
        snapshots: dict[str, list[tuple[str, str | None]]] = {}
        failed: list[str] = []
        for dev in self.settings.devices:
            try:
                result = await self.request("SnapshotDevice", {"snapshotObject": dev})
            except CommandFailed as exc:
                logger.warning("CSTA resync: no snapshot of device %s (%s); its calls are kept", dev, exc)
                failed.append(dev)
                continue
            snapshots[dev] = _snapshot_connections(result.response)
        for normalized in self.mapper.resync(snapshots, failed):
            self._emit(normalized)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.keepalive)
            try:
                await self.request("ResetApplicationSessionTimer", {"requestedSessionDuration": "180"})
            except CtiError as exc:
                # The PBX ends a session whose timer is not reset: start a new one rather than go on without.
                logger.warning("CSTA keep-alive failed (%s): dropping the connection", exc)
                self._dropped_because = f"keep-alive failed ({exc})"
                if self._writer is not None:
                    self._writer.close()
                return

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            data = await reader.read(65536)
            try:
                self._proto.receive_data(data)
            except Exception as exc:
                # The codec reports bad frames as issues and goes on; should it ever fail, the stream
                # position is lost: start a new session (the reconnector logs it) rather than stop.
                logger.error("CSTA input could not be decoded (%s): reconnecting", describe(exc))
                raise RemoteProtocolError(f"undecodable CSTA input ({describe(exc)})") from None
            while not isinstance(event := self._proto.next_event(), NeedData):
                if isinstance(event, RequestCompleted):
                    future = self._waiters.pop(event.invoke_id, None)
                    if future is not None and not future.done():
                        future.set_result(event)
                elif isinstance(event, CstaMessage):
                    self._map(event)
            if not data:
                raise EOFError(self._dropped_because or "the CSTA server closed the connection")

    def _map(self, event: CstaMessage) -> None:
        """Normalize one message; one the mapper cannot take is logged and skipped, the link goes on."""
        try:
            normalized = self.mapper.map(event)
        except Exception as exc:
            logger.warning("CSTA %s at stream offset %d skipped: %s", event.name, event.offset, describe(exc))
            return
        for item in normalized:
            self._emit(item)

    async def request(self, name: str, body: Body) -> RequestCompleted:
        if self._writer is None:
            raise LinkUnavailable("the CSTA link is not connected")
        invoke_id, data = self._proto.send(name, body)
        future: asyncio.Future[RequestCompleted] = asyncio.get_running_loop().create_future()
        self._waiters[invoke_id] = future
        try:
            self._writer.write(data)
            result = await asyncio.wait_for(future, self.settings.request_timeout)
        except TimeoutError:
            raise LinkUnavailable(f"CSTA {name} got no answer within {self.settings.request_timeout} s") from None
        finally:
            self._waiters.pop(invoke_id, None)
        if not result.ok:
            raise CommandFailed(f"the PBX refused {name}: {result.error}")
        return result

    # -- commands --------------------------------------------------------------------------
    def _conn(self, call_id: str, device: str) -> dict[str, str]:
        csta_id = self.mapper.csta_call_id(call_id, device)
        if csta_id is None:
            raise CommandFailed(f"device {device} has no connection to call {call_id}")
        return {"callID": csta_id, "deviceID": device}

    def _call_id(self, result: RequestCompleted, path: str) -> str:
        csta_id = result.response.get(path) or result.response.get("*/callID")
        if not csta_id:
            raise CommandFailed(f"the PBX answered {result.request} without a call id")
        call_id = self.mapper.call_id_of(csta_id)
        return call_id or f"csta-{csta_id}"

    async def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        result = await self.request("MakeCall", {"callingDevice": from_device, "calledDirectoryNumber": to_number})
        return self._call_id(result, "callingDevice/callID")

    async def answer(self, call_id: str, device: str) -> None:
        await self.request("AnswerCall", {"callToBeAnswered": self._conn(call_id, device)})

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        if device is None:
            devices = self.mapper.devices_of(call_id)
            if not devices:
                raise CommandFailed(f"no live call {call_id!r} on the CSTA link")
            await self.request("ClearCall", {"callToBeCleared": self._conn(call_id, devices[0])})
            return
        await self.request("ClearConnection", {"connectionToBeCleared": self._conn(call_id, device)})

    async def hold(self, call_id: str, device: str) -> None:
        await self.request("HoldCall", {"callToBeHeld": self._conn(call_id, device)})

    async def retrieve(self, call_id: str, device: str) -> None:
        await self.request("RetrieveCall", {"callToBeRetrieved": self._conn(call_id, device)})

    async def consult(self, call_id: str, device: str, to_number: str) -> str:
        result = await self.request(
            "ConsultationCall", {"existingCall": self._conn(call_id, device), "consultedDevice": to_number}
        )
        return self._call_id(result, "initiatedCall/callID")

    async def blind_transfer(self, call_id: str, device: str, to_number: str) -> None:
        await self.request(
            "SingleStepTransferCall", {"activeCall": self._conn(call_id, device), "transferredTo": to_number}
        )

    async def attended_transfer(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        await self.request(
            "TransferCall",
            {"heldCall": self._conn(held_call_id, device), "activeCall": self._conn(consult_call_id, device)},
        )

    async def conference(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        await self.request(
            "ConferenceCall",
            {"heldCall": self._conn(held_call_id, device), "activeCall": self._conn(consult_call_id, device)},
        )

    async def send_dtmf(self, call_id: str, device: str, digits: str) -> None:
        if not digits or set(digits) - set("0123456789*#ABCD"):
            raise LocalProtocolError(f"DTMF digits are 0-9 * # A-D, not {digits!r}")
        await self.request(
            "GenerateDigits", {"connectionToSendDigits": self._conn(call_id, device), "charactersToSend": digits}
        )

    async def set_agent_state(
        self,
        agent_id: str,
        state: AgentStateName,
        *,
        reason: str | None = None,
        extension: str | None = None,
        queue: str | None = None,
    ) -> None:
        requested = _AGENT_STATES.get(state)
        if requested is None:
            raise LocalProtocolError(f"CSTA has no agent state {state.value!r} to request")
        body: dict[str, str] = {"device": extension or agent_id, "requestedAgentState": requested, "agentID": agent_id}
        if queue:
            body["acdGroup"] = queue
        await self.request("SetAgentState", body)


def _snapshot_connections(response: CstaMessage) -> list[tuple[str, str | None]]:
    """``(callID, localConnectionState)`` of each ``snapshotDeviceResponseInfo`` in a SnapshotDeviceResponse."""
    out: list[tuple[str, str | None]] = []
    call_id: str | None = None
    state: str | None = None
    for key, value in response.fields:
        leaf = key.rsplit("/", 1)[-1]
        if leaf == "callID":
            if call_id is not None:
                out.append((call_id, state))
            call_id, state = value, None
        elif leaf in ("localConnectionState", "localConnectionInfo", "simpleCallState") and call_id is not None:
            state = state or value
    if call_id is not None:
        out.append((call_id, state))
    return out
