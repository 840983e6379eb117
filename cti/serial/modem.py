"""Caller-ID modems and AT soft-dialing: a tolerant sans-I/O parser, an AT command builder, and the
mapping of what a modem says to normalized call events.

Between the first two ``RING`` s a caller-ID modem prints ``DATE = MMDD``, ``TIME = HHMM``,
``NMBR = ...``, ``NAME = ...`` (sometimes ``MESG = ...``). Real devices are untidy, so the parser
accepts spaces around ``=`` or none, lower case, missing values, ``P``/``O`` (private, out of area)
or words instead of a number, 5-digit times and names in UTF-8 or Latin-1. A record ends at the next
``RING``, a blank line, a result code, a repeated field, a timeout (:meth:`ModemParser.flush`) or
the end of the stream.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bus.messages import CallEvent, CallEventType

from ..codec import NEED_DATA, NeedData, ProtocolIssue
from ..errors import LocalProtocolError
from ..model import DialOutcome, LinkEvent
from .lines import LineSplitter

logger = logging.getLogger(__name__)

_FIELD = re.compile(r"^\s*(DATE|TIME|NMBR|NAME|MESG|DDN_NMBR|DDN)\s*[=:]\s*(.*?)\s*$", re.IGNORECASE)
_RESULTS = {
    "OK": "OK",
    "0": "OK",
    "CONNECT": "CONNECT",
    "1": "CONNECT",
    "RING": "RING",
    "2": "RING",
    "NO CARRIER": "NO CARRIER",
    "3": "NO CARRIER",
    "ERROR": "ERROR",
    "4": "ERROR",
    "NO DIALTONE": "NO DIALTONE",
    "6": "NO DIALTONE",
    "BUSY": "BUSY",
    "7": "BUSY",
    "NO ANSWER": "NO ANSWER",
    "8": "NO ANSWER",
    "VCON": "VCON",
}
_PRIVATE = frozenset({"P", "PRIVATE", "RESTRICTED", "ANONYMOUS", "BLOCKED", "WITHHELD"})
_OUT_OF_AREA = frozenset({"O", "OUT OF AREA", "OUT-OF-AREA", "UNAVAILABLE", "UNKNOWN", "NOT AVAILABLE"})
_DIALABLE = re.compile(r"^[0-9*#+,WwPpTt]{1,40}$")
_AT_SAFE = re.compile(r"^[\x20-\x7e]*$")


@dataclass(frozen=True, slots=True)
class Ring:
    offset: int


@dataclass(frozen=True, slots=True)
class CallerId:
    """One caller-ID record. ``number`` is None when withheld; ``presentation`` says why."""

    offset: int
    number: str | None = None
    name: str | None = None
    date: str | None = None  # MMDD
    time: str | None = None  # HHMM
    message: str | None = None
    presentation: str = "allowed"  # allowed | private | out_of_area | missing
    raw: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ModemResult:
    offset: int
    result: str  # OK, ERROR, BUSY, NO CARRIER, NO DIALTONE, NO ANSWER, CONNECT


ModemEvent = Ring | CallerId | ModemResult | ProtocolIssue


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


@dataclass(slots=True)
class _Record:
    offset: int
    fields: list[tuple[str, str]] = field(default_factory=list)


class ModemParser:
    """Sans-I/O: ``receive_data(bytes)`` then ``next_event()``; ``flush()`` on a read timeout."""

    def __init__(self) -> None:
        self._events: deque[ModemEvent] = deque()
        self._lines = LineSplitter(self._events.append)
        self._record: _Record | None = None

    def receive_data(self, data: bytes) -> None:
        for offset, raw in self._lines.feed(data):
            self.line(offset, raw)
        if not data:
            self.flush()

    def next_event(self) -> ModemEvent | NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def feed(self, data: bytes) -> list[ModemEvent]:
        self.receive_data(data)
        out = list(self._events)
        self._events.clear()
        return out

    def flush(self) -> None:
        """End the caller-ID record being collected (quiet line, timeout)."""
        record, self._record = self._record, None
        if record is None or not record.fields:
            return
        values = {k: v for k, v in record.fields}
        number_raw = values.get("NMBR", values.get("DDN_NMBR", values.get("DDN")))
        number: str | None = None
        if number_raw is None or not number_raw:
            presentation = "missing"
        elif number_raw.upper() in _PRIVATE:
            presentation = "private"
        elif number_raw.upper() in _OUT_OF_AREA:
            presentation = "out_of_area"
        else:
            digits = re.sub(r"[\s().-]", "", number_raw)
            number, presentation = digits or None, "allowed" if digits else "missing"
        name = values.get("NAME") or None
        if name and name.upper() in _PRIVATE | _OUT_OF_AREA:
            name = None
        clock = values.get("TIME")
        if clock:
            clock = re.sub(r"\D", "", clock)[:4] or None
        date = values.get("DATE")
        if date:
            date = re.sub(r"\D", "", date)[:4] or None
        self._events.append(
            CallerId(
                record.offset,
                number,
                name,
                date,
                clock,
                values.get("MESG") or None,
                presentation,
                tuple(record.fields),
            )
        )

    def line(self, offset: int, raw: bytes) -> None:
        """One line of modem output (for drivers that split lines themselves)."""
        text = _decode(raw).strip().strip("\x00")
        if not text:
            self.flush()
            return
        upper = text.upper()
        result = _RESULTS.get(upper)
        if result is not None:
            self.flush()
            self._events.append(Ring(offset) if result == "RING" else ModemResult(offset, result))
            return
        m = _FIELD.match(text)
        if m:
            key = m.group(1).upper()
            if self._record is not None and any(k == key for k, _ in self._record.fields):
                self.flush()
            if self._record is None:
                self._record = _Record(offset)
            self._record.fields.append((key, m.group(2)))
            return
        if upper.startswith("AT"):
            return  # our own command echoed back (ATE1)
        logger.debug("modem line ignored at offset %d: %r", offset, text[:60])


# -- AT commands -----------------------------------------------------------------------------


def at_command(command: str) -> bytes:
    """``AT...`` + CR, refusing control characters and non-ASCII (``LocalProtocolError``)."""
    if not _AT_SAFE.match(command):
        raise LocalProtocolError(f"refusing AT command {command[:40]!r}: control or non-ASCII characters")
    if not command.upper().startswith("AT"):
        raise LocalProtocolError(f"refusing AT command {command[:40]!r}: it must start with AT")
    return command.encode("ascii") + b"\r"


def dial_command(number: str) -> bytes:
    """``ATDT<number>;`` (voice: stay in command mode). Only digits, ``* # + ,`` and ``W P T``."""
    if not _DIALABLE.match(number):
        raise LocalProtocolError(f"refusing to dial {number[:40]!r}: only digits, * # + , W P T are dialable")
    return at_command(f"ATDT{number};")


INIT_COMMANDS = ("ATZ", "ATE0", "ATX3", "AT+VCID=1")


# -- modem events -> normalized ------------------------------------------------------------

_RESULT_OUTCOME = {
    "BUSY": DialOutcome.BUSY,
    "NO ANSWER": DialOutcome.NO_ANSWER,
    "NO DIALTONE": DialOutcome.FAILED,
    "NO CARRIER": DialOutcome.FAILED,
    "ERROR": DialOutcome.FAILED,
}


class ModemMapper:
    """Rings and caller-ID records → ``call.offered``/``call.alerting``/``call.ended``.

    An inbound call starts at the first ``RING`` and is offered when its caller ID arrives (or at
    the second ``RING`` without one); it ends (cause ``ring_stopped``) when rings stop for
    ``ring_gap`` seconds (:meth:`tick`), when another call starts, or at the end of the stream.
    Outbound calls (:meth:`dialing`) end with the modem's result (busy, no answer...).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, device: str = "modem", ring_gap: float = 8.0) -> None:
        self._clock = clock
        self.device = device
        self.ring_gap = ring_gap
        self._count = 0
        self._call: str | None = None
        self._offered = False
        self._rings = 0
        self._last_ring = 0.0
        self._outbound: str | None = None

    @property
    def current_call(self) -> str | None:
        return self._outbound or self._call

    def _new_id(self) -> str:
        self._count += 1
        return f"{self.device}-{self._count}"

    def dialing(self, number: str) -> tuple[str, list[LinkEvent]]:
        out = self.end("superseded")
        self._outbound = self._new_id()
        ts = self._clock()
        out.append(
            CallEvent(
                type=CallEventType.OFFERED,
                call_id=self._outbound,
                ts=ts,
                calling=self.device,
                called=number,
                extension=self.device,
            )
        )
        out.append(CallEvent(type=CallEventType.ALERTING, call_id=self._outbound, ts=ts, called=number))
        return self._outbound, out

    def answered_here(self) -> list[LinkEvent]:
        call_id = self._call
        if call_id is None:
            return []
        out = self._offer(None) if not self._offered else []
        self._outbound, self._call = call_id, None
        out.append(CallEvent(type=CallEventType.ANSWERED, call_id=call_id, ts=self._clock(), extension=self.device))
        return out

    def end(self, cause: str) -> list[LinkEvent]:
        out: list[LinkEvent] = []
        for attr in ("_call", "_outbound"):
            call_id = getattr(self, attr)
            if call_id is not None:
                if attr == "_call" and not self._offered:
                    out.extend(self._offer(None))
                out.append(CallEvent(type=CallEventType.ENDED, call_id=call_id, ts=self._clock(), cause=cause))
                setattr(self, attr, None)
        self._offered, self._rings = False, 0
        return out

    def tick(self, now: float) -> list[LinkEvent]:
        if self._call is not None and now - self._last_ring > self.ring_gap:
            return self.end("ring_stopped")
        return []

    def _offer(self, cid: CallerId | None) -> list[LinkEvent]:
        assert self._call is not None
        self._offered = True
        ts = self._clock()
        data: dict[str, str] = {}
        if cid is not None:
            data = {
                k: v
                for k, v in (
                    ("name", cid.name),
                    ("presentation", cid.presentation),
                    ("date", cid.date),
                    ("time", cid.time),
                    ("message", cid.message),
                )
                if v
            }
        return [
            CallEvent(
                type=CallEventType.OFFERED,
                call_id=self._call,
                ts=ts,
                calling=cid.number if cid else None,
                extension=self.device,
                data=data,
            ),
            CallEvent(type=CallEventType.ALERTING, call_id=self._call, ts=ts, extension=self.device),
        ]

    def map(self, event: ModemEvent) -> list[LinkEvent]:
        out: list[LinkEvent] = []
        if isinstance(event, Ring):
            self._last_ring = self._clock()
            if self._call is None:
                out.extend(self.end("superseded") if self._outbound else [])
                self._call, self._offered, self._rings = self._new_id(), False, 0
            self._rings += 1
            if self._rings >= 2 and not self._offered:
                out.extend(self._offer(None))
        elif isinstance(event, CallerId):
            if self._call is not None and self._offered:
                out.extend(self.end("ring_stopped"))
            if self._call is None:
                self._call, self._rings = self._new_id(), 0
                self._last_ring = self._clock()
            out.extend(self._offer(event))
        elif isinstance(event, ModemResult) and self._outbound is not None:
            outcome = _RESULT_OUTCOME.get(event.result)
            if outcome is not None:
                call_id, self._outbound = self._outbound, None
                out.append(CallEvent(type=CallEventType.ENDED, call_id=call_id, ts=self._clock(), cause=outcome.value))
        return out
