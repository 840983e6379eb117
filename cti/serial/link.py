"""The serial link driver (pyserial): caller-ID modems with AT soft-dialing, or an SMDR feed.

The port is opened with ``serial.serial_for_url``, so device paths, ``loop://``, ``socket://`` and
``rfc2217://`` all work. Reads run in a worker thread with a short timeout; the bytes go to the
sans-I/O parsers. When the device disappears (unplugged USB adapter, closed pty) the link logs it,
closes the port and reopens it with backoff until the device is back; calls in progress end with
cause ``link_lost``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import serial

from bus.reconnect import BackoffPolicy, Reconnector

from ..codec import NeedData, ProtocolIssue
from ..errors import BadLinkUrl, LinkUnavailable
from ..link import CtiLink
from ..model import Capability
from .lines import LineSplitter
from .modem import INIT_COMMANDS, ModemMapper, ModemParser, at_command, dial_command
from .smdr import SmdrParser, looks_like_smdr

logger = logging.getLogger(__name__)

_PARITY = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}


@dataclass(frozen=True, slots=True)
class SerialSettings:
    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False
    xonxoff: bool = False
    mode: str = "modem"  # modem | smdr
    device: str = "modem"  # the extension name events carry
    init: tuple[str, ...] = INIT_COMMANDS
    quiet_s: float = 1.5  # a caller-ID record is complete after this long without data
    ring_gap_s: float = 8.0
    reopen_min_s: float = 0.5
    reopen_max_s: float = 10.0
    read_timeout_s: float = 0.1

    @classmethod
    def from_url(cls, url: str) -> SerialSettings:
        """``serial:///dev/ttyUSB0?baud=9600&parity=N&bytesize=8&stopbits=1&rtscts=0&mode=modem``.

        ``serial+loop://`` and ``serial+socket://host:port`` give pyserial's URL handlers.
        """
        parts = urlsplit(url)
        if parts.scheme == "serial":
            port = parts.path
        elif parts.scheme.startswith("serial+"):
            port = f"{parts.scheme[7:]}://{parts.netloc}{parts.path}"
        else:
            raise BadLinkUrl(f"not a serial link URL: {url!r}")
        if not port:
            raise BadLinkUrl(f"serial link URL {url!r} names no port, e.g. serial:///dev/ttyUSB0?baud=9600")
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            settings = cls(
                port=port,
                baudrate=int(q.pop("baud", q.pop("baudrate", "9600"))),
                bytesize=int(q.pop("bytesize", "8")),
                parity=q.pop("parity", "N").upper()[:1],
                stopbits=float(q.pop("stopbits", "1")),
                rtscts=q.pop("rtscts", "0") in ("1", "true", "yes"),
                xonxoff=q.pop("xonxoff", "0") in ("1", "true", "yes"),
                mode=q.pop("mode", "modem"),
                device=q.pop("device", "modem"),
            )
        except ValueError as exc:
            raise BadLinkUrl(f"serial link URL {url!r}: {exc}") from None
        if q:
            raise BadLinkUrl(f"serial link URL {url!r}: unknown option(s) {', '.join(sorted(q))}")
        if settings.parity not in _PARITY or settings.mode not in ("modem", "smdr"):
            raise BadLinkUrl(f"serial link URL {url!r}: parity is N/E/O/M/S and mode is modem or smdr")
        return settings


Opener = Callable[[SerialSettings], Any]


def open_port(s: SerialSettings) -> Any:
    return serial.serial_for_url(
        s.port,
        baudrate=s.baudrate,
        bytesize=s.bytesize,
        parity=_PARITY[s.parity],
        stopbits=s.stopbits,
        rtscts=s.rtscts,
        xonxoff=s.xonxoff,
        timeout=s.read_timeout_s,
        write_timeout=2.0,
    )


@dataclass(slots=True)
class _Stats:
    opens: int = 0
    losses: int = 0
    issues: list[ProtocolIssue] = field(default_factory=list)


class SerialLink(CtiLink):
    def __init__(
        self,
        settings: SerialSettings,
        *,
        opener: Opener = open_port,
        clock: Callable[[], float] = time.time,
        reconnector: Reconnector | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.reconnector = reconnector or Reconnector(
            BackoffPolicy(initial=settings.reopen_min_s, cap=settings.reopen_max_s)
        )
        self.capabilities = (
            frozenset({Capability.MAKE_CALL, Capability.ANSWER, Capability.HANGUP})
            if settings.mode == "modem"
            else frozenset()
        )
        self._opener = opener
        self._clock = clock
        self.port: Any = None
        self.opened = asyncio.Event()
        self.stats = _Stats()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lines = LineSplitter(self._on_issue)
        self._parser = ModemParser()
        self._mapper = ModemMapper(clock=clock, device=settings.device, ring_gap=settings.ring_gap_s)
        self._smdr = SmdrParser()
        self._write_lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str) -> SerialLink:
        return cls(SerialSettings.from_url(url))

    def _on_issue(self, issue: ProtocolIssue) -> None:
        self.stats.issues.append(issue)
        del self.stats.issues[:-100]

    async def connect(self) -> None:
        """Start the driver; the port opens now, or later when the device appears."""
        if self._task is None:
            self._stopping = False
            self.reconnector.restart()
            self._task = asyncio.create_task(self._run(), name=f"serial {self.settings.port}")

    async def wait_open(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.opened.wait(), timeout)
        except TimeoutError:
            raise LinkUnavailable(f"serial port {self.settings.port} did not open within {timeout} s") from None

    async def close(self) -> None:
        self._stopping = True
        self.reconnector.stop()
        if self._task is not None:
            await self._task
            self._task = None
        self._end_events()

    # -- driver ----------------------------------------------------------------------------
    async def _run(self) -> None:
        await self.reconnector.run(self._attempt, retry_on=())

    async def _attempt(self) -> None:
        """Open the port and read until it is lost; the reconnector pauses (with backoff) and calls again."""
        try:
            self.port = await asyncio.to_thread(self._opener, self.settings)
        except (serial.SerialException, OSError, ValueError) as exc:
            logger.debug("serial port %s not available: %s", self.settings.port, exc)
            return
        self.stats.opens += 1
        logger.info("serial port %s open", self.settings.port)
        self.reconnector.established()
        self.opened.set()
        try:
            if self.settings.mode == "modem":
                for command in self.settings.init:
                    await self._write(at_command(command))
            await self._read_loop()
        except (serial.SerialException, OSError) as exc:
            self.stats.losses += 1
            logger.warning("serial port %s lost (%s): reopening", self.settings.port, exc)
            for event in self._mapper.end("link_lost"):
                self._emit(event)
        finally:
            self.opened.clear()
            port, self.port = self.port, None
            with contextlib.suppress(Exception):
                port.close()

    async def _read_loop(self) -> None:
        last_data = self._clock()
        port = self.port
        while not self._stopping:
            data: bytes = await asyncio.to_thread(port.read, 4096)
            now = self._clock()
            if data:
                last_data = now
                logger.debug("serial <- %r", data[:200])
                self._feed(data)
            elif now - last_data >= self.settings.quiet_s:
                self._parser.flush()
                self._drain()
            for event in self._mapper.tick(now):
                self._emit(event)

    def _feed(self, data: bytes) -> None:
        for offset, raw in self._lines.feed(data):
            text = raw.decode("utf-8", "replace").strip()
            if self.settings.mode == "smdr" or looks_like_smdr(text):
                if not text:
                    continue
                record = self._smdr.parse(offset, text)
                if isinstance(record, ProtocolIssue):
                    logger.warning("SMDR offset %d: %s", record.offset, record.reason)
                    self._on_issue(record)
                else:
                    for event in self._smdr.to_events(record):
                        self._emit(event)
            else:
                self._parser.line(offset, raw)
        self._drain()

    def _drain(self) -> None:
        while not isinstance(event := self._parser.next_event(), NeedData):
            if isinstance(event, ProtocolIssue):
                self._on_issue(event)
            else:
                for normalized in self._mapper.map(event):
                    self._emit(normalized)

    async def _write(self, data: bytes) -> None:
        port = self.port
        if port is None:
            raise LinkUnavailable(f"serial port {self.settings.port} is not open")
        async with self._write_lock:
            logger.debug("serial -> %r", data)
            await asyncio.to_thread(port.write, data)

    # -- commands (modem mode) ---------------------------------------------------------------
    async def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        if Capability.MAKE_CALL not in self.capabilities:
            raise self._unsupported(Capability.MAKE_CALL)
        command = dial_command(to_number)  # refuses bad numbers before anything else
        call_id, events = self._mapper.dialing(to_number)
        await self._write(command)
        for event in events:
            self._emit(event)
        return call_id

    async def answer(self, call_id: str, device: str) -> None:
        if Capability.ANSWER not in self.capabilities:
            raise self._unsupported(Capability.ANSWER)
        await self._write(at_command("ATA"))
        for event in self._mapper.answered_here():
            self._emit(event)

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        if Capability.HANGUP not in self.capabilities:
            raise self._unsupported(Capability.HANGUP)
        await self._write(at_command("ATH0"))
        for event in self._mapper.end("normal"):
            self._emit(event)
