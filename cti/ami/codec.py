"""Sans-I/O AMI codec: bytes in, :class:`AmiMessage` out; actions in, bytes out.

``AmiDecoder.receive_data(data)`` then ``next_event()`` until it returns :data:`NEED_DATA` (h11
style); ``receive_data(b"")`` says the stream ended. Nothing the peer sends makes it raise: garbage,
truncated and oversized messages come out as :class:`ProtocolIssue` events (with their stream
offset) and are skipped, and the buffer never holds more than ``max_message`` bytes plus one read.
The events do not depend on how the stream was cut into reads.

``AmiProtocol`` adds the client side: it numbers actions (``ActionID``), refuses header values that
would break the framing, and folds responses, ``Response: Follows`` command output and event lists
into one :class:`ActionCompleted` per action.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ..codec import NEED_DATA, ProtocolIssue
from ..codec import NeedData as _NeedData
from ..errors import LocalProtocolError

__all__ = [
    "NEED_DATA",
    "ActionCompleted",
    "AmiDecoder",
    "AmiMessage",
    "AmiProtocol",
    "Banner",
    "ProtocolIssue",
    "encode_action",
]

logger = logging.getLogger(__name__)

#: A message longer than this (bytes, headers and terminator included) is reported and skipped.
MAX_MESSAGE: Final = 64 * 1024
#: More header lines than this in one message: reported and skipped (Asterisk itself stops at 128).
MAX_HEADERS: Final = 1024
#: Asterisk drops input lines longer than this; we refuse to send them.
MAX_ACTION_LINE: Final = 1024
#: Events collected for one list action before it is abandoned as runaway.
MAX_LIST_ITEMS: Final = 500_000

BANNER_PREFIX: Final = b"Asterisk Call Manager/"
_TERMINATOR = re.compile(rb"\n\r?\n")
_TERMINATOR_STR = re.compile("\n\r?\n")
_KINDS = frozenset({"event", "response", "action"})
_KIND_PREFIXES = ("Event:", "Response:", "Action:")


def _plain(nl: str) -> re.Pattern[str]:
    """Lines ``Key: value`` (or ``Key:``) whose value has no ": " and no CR/LF, or blank lines; possessive."""
    return re.compile(rf"(?:[A-Za-z0-9_.-]++:(?: [^\r\n:]*+(?::[^\r\n: ][^\r\n:]*+)*+)?+{nl}|{nl})*+")


def _is_follows(block: str, nl: str) -> bool:
    """Whether a response block is ``Response: Follows`` (command output, for the slow path)."""
    return block.partition(nl)[0].partition(":")[2].strip(" \t").lower() == "follows"


_EMPTY_VALUE = {"\n": ":\n", "\r\n": ":\r\n"}
_EMPTY_VALUE_FIXED = {"\n": ": \n", "\r\n": ": \r\n"}
_PLAIN_LF = _plain("\n")
_PLAIN_CRLF = _plain("\r\n")
_HEADER_LINE = re.compile(r"^([A-Za-z0-9_.-]+):(?: ?)(.*)$", re.MULTILINE)
_END_COMMAND = b"--END COMMAND--"
_FOLLOWS_LINE = re.compile(rb"^response:[ \t]*follows[ \t]*\r?$", re.IGNORECASE)
_FOLLOWS_HEADERS = frozenset({"actionid", "privilege", "message", "response"})
_TOKEN = re.compile(r"^[A-Za-z0-9_.-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Banner:
    """``Asterisk Call Manager/<version>``, the first line the server sends."""

    version: str
    offset: int = 0


class AmiMessage:
    """One AMI message: its headers in order (repeats kept), and the raw output of ``Response: Follows``.

    Treat it as immutable. The decoder frames and validates a message; its headers are split the
    first time they are read, all at once in C (one ``replace`` and one ``split`` of the block into
    :attr:`fields`), and the case-insensitive index for :meth:`get` is built on the first look-up.
    ``name`` and ``kind`` need neither, so events nobody maps cost little. Messages are equal when
    their headers, offset and output are.
    """

    __slots__ = ("_fields", "_headers", "_index", "_nl", "_raw", "offset", "output")

    def __init__(self, raw: str = "", offset: int = 0, output: tuple[str, ...] = (), nl: str = "\n") -> None:
        # ``raw``: header lines separated by ``nl``, each ``Key: value`` (or ``Key:``) with exactly
        # one ": ", as the decoder's fast path made sure.
        self._raw = raw
        self._nl = nl
        self._fields: list[str] | None = None
        self._headers: tuple[tuple[str, str], ...] | None = None
        self._index: dict[str, str] | None = None
        self.offset = offset
        self.output = output

    @classmethod
    def build(cls, headers: Iterable[tuple[str, str]], *, offset: int = 0, output: tuple[str, ...] = ()) -> AmiMessage:
        message = cls("", offset, output)
        pairs = tuple(headers)
        message._headers = pairs
        message._fields = [part for pair in pairs for part in pair]
        return message

    @property
    def fields(self) -> list[str]:
        """Every header split out: names at even, values at odd positions, in order (do not modify)."""
        fields = self._fields
        if fields is None:
            nl, raw = self._nl, self._raw
            if not raw:
                fields = self._fields = []
                return fields
            empty = _EMPTY_VALUE[nl]
            if empty in raw:
                raw = raw.replace(empty, _EMPTY_VALUE_FIXED[nl])
            if raw[-1] == ":":
                raw += " "
            fields = self._fields = raw.replace(": ", nl).split(nl)
        return fields

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        headers = self._headers
        if headers is None:
            it = iter(self.fields)
            headers = self._headers = tuple(zip(it, it, strict=True))
        return headers

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiMessage):
            return NotImplemented
        return (self.headers, self.offset, self.output) == (other.headers, other.offset, other.output)

    def __hash__(self) -> int:
        return hash((self.headers, self.offset, self.output))

    def __repr__(self) -> str:
        return f"AmiMessage(headers={self.headers!r}, offset={self.offset!r}, output={self.output!r})"

    @property
    def kind(self) -> str:
        """``event``, ``response`` or ``action`` (the first header's name, lower case)."""
        raw = self._raw
        if raw:
            return raw[: raw.find(":")].lower()
        fields = self.fields
        return fields[0].lower() if fields else ""

    @property
    def name(self) -> str:
        """The event name, response status or action name (the first header's value)."""
        raw = self._raw
        if raw:
            value = raw.partition(self._nl)[0].partition(":")[2]
            return value[1:] if value[:1] == " " else value
        fields = self.fields
        return fields[1] if fields else ""

    def _lookup(self) -> dict[str, str]:
        index = self._index
        if index is None:
            fields = self.fields
            # All names lower-cased in one go; reversed, so that the first of repeated headers wins.
            names = "\n".join(fields[-2::-2]).lower().split("\n") if fields else []
            index = self._index = dict(zip(names, fields[-1::-2], strict=True))
        return index

    @property
    def action_id(self) -> str | None:
        return self._lookup().get("actionid")

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        return self._lookup().get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self.headers if k.lower() == key]

    @property
    def lines(self) -> tuple[str, ...]:
        """Command output: ``Response: Follows`` body lines, or the ``Output:`` headers (Asterisk 14+)."""
        return self.output or tuple(self.get_all("Output"))

    def as_dict(self) -> dict[str, str | list[str]]:
        """Headers as a dict; a repeated header becomes a list of its values."""
        out: dict[str, str | list[str]] = {}
        for key, value in self.headers:
            prev = out.get(key)
            if prev is None:
                out[key] = value
            elif isinstance(prev, list):
                prev.append(value)
            else:
                out[key] = [prev, value]
        return out


DecoderEvent = Banner | AmiMessage | ProtocolIssue


class AmiDecoder:
    """Splits an AMI byte stream (either direction) into messages."""

    def __init__(self, *, max_message: int = MAX_MESSAGE, max_headers: int = MAX_HEADERS) -> None:
        self.max_message = max_message
        self.max_headers = max_headers
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._scan = 0  # where to resume looking for a terminator in _buf
        self._skipping: int | None = None  # stream offset of an oversized message being skipped
        self._eof = False
        self._events: deque[DecoderEvent] = deque()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the peer; ``b""`` means the stream ended. Never raises."""
        if data:
            if self._eof:
                self._issue(self._base + len(self._buf), len(data), "data after end of stream ignored")
                return
            self._buf += data
        else:
            self._eof = True
        self._parse()

    def next_event(self) -> DecoderEvent | _NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def feed(self, data: bytes) -> list[DecoderEvent]:
        """``receive_data`` and return every event that is complete."""
        self.receive_data(data)
        events = list(self._events)
        self._events.clear()
        return events

    # -- internals -------------------------------------------------------------------------
    def _issue(self, offset: int, length: int, reason: str) -> None:
        logger.warning("AMI stream offset %d (%d bytes): %s", offset, length, reason)
        self._events.append(ProtocolIssue(offset, length, reason))

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self._base += n
        self._scan = 0

    def _parse(self) -> None:
        buf = self._buf
        limit = self.max_message
        while True:
            if self._skipping is not None:
                m = _TERMINATOR.search(buf, self._scan)
                if m is None:
                    if self._eof:
                        self._issue(
                            self._skipping,
                            self._base + len(buf) - self._skipping,
                            f"message over {limit} bytes, cut short by end of stream, skipped",
                        )
                        self._skipping = None
                        self._drop(len(buf))
                        return
                    if len(buf) > 2:
                        self._drop(len(buf) - 2)
                    self._scan = 0
                    return
                end = self._base + m.end()
                self._issue(self._skipping, end - self._skipping, f"message over {limit} bytes skipped")
                self._skipping = None
                self._drop(m.end())
                continue
            if buf and buf[0] in (13, 10):
                stripped = len(buf) - len(buf.lstrip(b"\r\n"))
                self._drop(stripped)
            if not buf:
                return
            if len(buf) > 256 and self._fast():
                continue
            first_nl = buf.find(b"\n")
            if first_nl < 0:
                if self._wait_or_give_up():
                    return
                continue
            if buf.startswith(BANNER_PREFIX):
                line = bytes(buf[:first_nl]).rstrip(b"\r")
                version = line[len(BANNER_PREFIX) :].decode("ascii", "replace").strip()
                self._events.append(Banner(version, self._base))
                logger.debug("AMI banner %r", version)
                self._drop(first_nl + 1)
                continue
            if _FOLLOWS_LINE.match(buf, 0, first_nl):
                pos = buf.find(_END_COMMAND, max(self._scan, first_nl))
                if pos < 0:
                    self._scan = max(first_nl, len(buf) - len(_END_COMMAND))
                    if self._wait_or_give_up():
                        return
                    continue
                end = pos + len(_END_COMMAND)
                if end > limit:
                    self._issue(self._base, end, f"command output over {limit} bytes skipped")
                else:
                    self._follows(bytes(buf[:pos]))
                self._drop(end)
                continue
            m = _TERMINATOR.search(buf, self._scan)
            if m is None:
                self._scan = max(0, len(buf) - 2)
                if self._wait_or_give_up():
                    return
                continue
            end = m.end()
            if end > limit + 3:
                self._issue(self._base, end, f"message over {limit} bytes skipped")
            else:
                self._message(bytes(buf[: m.start() + 1]))
            self._drop(end)

    def _wait_or_give_up(self) -> bool:
        """No complete message in the buffer: True to wait for more, False if the buffer was dealt with."""
        if len(self._buf) > self.max_message + 3:
            self._skipping = self._base
            return False
        if self._eof:
            self._issue(self._base, len(self._buf), "truncated message at end of stream skipped")
            self._drop(len(self._buf))
            return True
        return True

    def _text(self, block: bytes) -> str:
        try:
            return block.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._issue(self._base + exc.start, exc.end - exc.start, "invalid UTF-8 replaced by U+FFFD")
            return block.decode("utf-8", "replace")

    def _message(self, block: bytes) -> None:
        self._message_text(self._text(block), self._base, len(block))

    def _message_text(self, text: str, offset: int, size: int) -> None:
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        if len(lines) > self.max_headers + 1:
            self._issue(offset, size, f"message with over {self.max_headers} header lines skipped")
            return
        headers: list[tuple[str, str]] = []
        append = headers.append
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            key, sep, value = line.partition(":")
            if not sep or not _TOKEN.match(key):
                self._issue(offset, size, f"line {number} is not 'Key: Value' ({line[:40]!r}): line skipped")
                continue
            append((key, value[1:] if value[:1] == " " else value))
        if not headers:
            return
        if headers[0][0].lower() not in _KINDS:
            self._issue(offset, size, f"message starts with {headers[0][0]!r}, not Event/Response/Action: skipped")
            return
        self._events.append(AmiMessage.build(headers, offset=offset))

    def _batch(self, text: str, crlf: bool) -> bool:
        """All messages of a region at once; False (nothing done) if any line is odd.

        The region must be plain ``Key: value`` lines with uniform line ends and exactly one ": "
        per line (one possessive regex checks it in C; the banner and ``--END COMMAND--`` fail it).
        A message is then a block between blank lines, split only when read, by one ``replace`` and
        one ``split`` (:attr:`AmiMessage.fields`). ``Response: Follows`` goes to the slow path.
        """
        nl = "\r\n" if crlf else "\n"
        if (_PLAIN_CRLF if crlf else _PLAIN_LF).fullmatch(text) is None:
            return False
        sep = nl + nl
        step = len(sep)
        blocks = text.split(sep)
        if max(map(len, blocks), default=0) > min(self.max_message // 2, 3 * self.max_headers):
            return False
        kinds = _KINDS
        prefixes = _KIND_PREFIXES
        out: list[DecoderEvent] = []
        append = out.append
        pos = self._base
        for block in blocks:
            size = len(block)
            if size:
                if block.startswith(prefixes):
                    if block[0] == "R" and _is_follows(block, nl):
                        return False
                    append(AmiMessage(block, pos, (), nl))
                else:
                    offset = pos
                    if block[0] in "\r\n":  # more than one blank line between messages
                        stripped = block.lstrip("\r\n")
                        offset += len(block) - len(stripped)
                        block = stripped
                    if block:
                        kind = block[: block.find(":")].lower()
                        if kind not in kinds or (kind == "response" and _is_follows(block, nl)):
                            return False
                        append(AmiMessage(block, offset, (), nl))
            pos += size + step
        self._events.extend(out)
        return True

    def _fast(self) -> bool:
        """Parse every complete plain message in the buffer in one pass (ASCII, no banner, no Follows).

        Gives exactly what one-by-one parsing gives; returns False when the slow path must run.
        """
        buf = self._buf
        end = max(buf.rfind(b"\n\n") + 2, buf.rfind(b"\n\r\n") + 3)
        if end < 3:
            return False
        region = bytes(buf[:end])
        if not region.isascii():
            return False
        text = region.decode("ascii")
        if self._batch(text, "\r" in text):
            self._drop(end)
            return True
        if b"ollows" in region or b"OLLOWS" in region or BANNER_PREFIX in region:
            return False
        limit = self.max_message + 3
        base = self._base
        pos = 0
        findall = _HEADER_LINE.findall
        kinds = _KINDS
        events = self._events
        for m in _TERMINATOR_STR.finditer(text):
            stop = m.end()
            while pos < stop and text[pos] in "\r\n":
                pos += 1
            if pos < stop:
                size = m.start() + 1 - pos
                if stop - pos > limit:
                    self._issue(base + pos, stop - pos, f"message over {self.max_message} bytes skipped")
                else:
                    block = text[pos : m.start() + 1]
                    if "\r" in block:
                        block = block.replace("\r\n", "\n")
                    headers = findall(block)
                    lines = block.count("\n")
                    if len(headers) == lines and lines <= self.max_headers and headers[0][0].lower() in kinds:
                        events.append(AmiMessage.build(headers, offset=base + pos))
                    else:
                        self._message_text(block, base + pos, size)
            pos = stop
        self._drop(end)
        return True

    def _follows(self, block: bytes) -> None:
        offset = self._base
        lines = self._text(block).split("\n")
        headers: list[tuple[str, str]] = []
        output: list[str] = []
        for line in lines:
            line = line.rstrip("\r")
            if not output:
                key, sep, value = line.partition(":")
                if sep and key.lower() in _FOLLOWS_HEADERS:
                    headers.append((key, value[1:] if value[:1] == " " else value))
                    continue
            output.append(line)
        while output and not output[-1]:
            output.pop()
        if len(output) > self.max_headers * 64:
            output = output[: self.max_headers * 64]
        self._events.append(AmiMessage.build(headers, offset=offset, output=tuple(output)))


def _check(text: str, what: str) -> None:
    if _CONTROL.search(text):
        raise LocalProtocolError(
            f"refusing to send AMI {what} {text[:60]!r}: it contains CR, LF or another control character"
        )


def encode_action(
    action: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    *,
    action_id: str | None = None,
    variables: Mapping[str, str] | None = None,
) -> bytes:
    """Serialize one action. Refuses (``LocalProtocolError``) names or values that could break framing."""
    pairs: list[tuple[str, str]] = [("Action", action)]
    if action_id is not None:
        pairs.append(("ActionID", action_id))
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs.extend((str(k), str(v)) for k, v in items)
    for name, value in (variables or {}).items():
        if not _TOKEN.match(name):
            raise LocalProtocolError(f"refusing AMI variable name {name!r}: letters, digits, _ . - only")
        if "," in str(value):
            # Asterisk splits a Variable: header at commas: "a=5G,SHELL(id)=x" would set a second
            # variable, and a name ending in ")" calls a dialplan function.
            raise LocalProtocolError(
                f"refusing AMI variable {name}: its value {str(value)[:60]!r} contains a comma, "
                "which Asterisk reads as the start of another variable"
            )
        pairs.append(("Variable", f"{name}={value}"))
    out: list[str] = []
    for key, value in pairs:
        if not _TOKEN.match(key):
            raise LocalProtocolError(f"refusing AMI header name {key!r}: letters, digits, _ . - only")
        _check(value, f"header {key}: value")
        line = f"{key}: {value}\r\n"
        if len(line.encode()) > MAX_ACTION_LINE:
            raise LocalProtocolError(f"refusing AMI header {key}: the line exceeds {MAX_ACTION_LINE} bytes")
        out.append(line)
    out.append("\r\n")
    return "".join(out).encode()


# -- client side: correlation ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionCompleted:
    """The answer to one action: its response and, for list actions, the events of the list."""

    action_id: str
    response: AmiMessage
    events: tuple[AmiMessage, ...] = ()

    @property
    def ok(self) -> bool:
        return self.response.name.lower() in ("success", "follows", "goodbye", "pong")

    @property
    def message(self) -> str:
        return self.response.get("Message") or ""


@dataclass(slots=True)
class _Pending:
    action: str
    is_list: bool
    response: AmiMessage | None = None
    items: list[AmiMessage] = field(default_factory=list)


ProtocolEvent = Banner | AmiMessage | ProtocolIssue | ActionCompleted


class AmiProtocol:
    """Client side of AMI: numbered actions out, correlated answers and unsolicited events in."""

    def __init__(self, *, prefix: str = "cc", max_message: int = MAX_MESSAGE) -> None:
        self.decoder = AmiDecoder(max_message=max_message)
        self._prefix = prefix
        self._counter = 0
        self._pending: dict[str, _Pending] = {}
        self._events: deque[ProtocolEvent] = deque()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def send(
        self,
        action: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        variables: Mapping[str, str] | None = None,
        is_list: bool = False,
    ) -> tuple[str, bytes]:
        """Serialize an action with a fresh ActionID; returns ``(action_id, bytes)``."""
        self._counter += 1
        action_id = f"{self._prefix}-{self._counter}"
        data = encode_action(action, headers, action_id=action_id, variables=variables)
        self._pending[action_id] = _Pending(action, is_list)
        logger.debug("AMI -> %s %s", action, action_id)
        return action_id, data

    def forget_pending(self) -> list[str]:
        """The connection dropped: pending actions will never be answered. Returns their ids."""
        ids = list(self._pending)
        self._pending.clear()
        return ids

    def receive_data(self, data: bytes) -> None:
        self.decoder.receive_data(data)
        while True:
            event = self.decoder.next_event()
            if isinstance(event, _NeedData):
                return
            self._route(event)

    def next_event(self) -> ProtocolEvent | _NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def _route(self, event: DecoderEvent) -> None:
        if not isinstance(event, AmiMessage):
            self._events.append(event)
            return
        action_id = event.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is None or action_id is None:
            if event.kind == "response":
                logger.debug("AMI response to unknown ActionID %r ignored", action_id)
            else:
                self._events.append(event)
            return
        kind = event.kind
        if kind == "response" and pending.response is None:
            pending.response = event
            status = event.name.lower()
            listing = (event.get("EventList") or "").lower() == "start" or "follow" in (
                event.get("Message") or ""
            ).lower()
            if status == "success" and (listing or pending.is_list):
                return
            self._complete(action_id, pending)
        elif kind == "event" and pending.response is not None:
            if (event.get("EventList") or "").lower() == "complete" or event.name.endswith("Complete"):
                self._complete(action_id, pending)
            elif len(pending.items) < MAX_LIST_ITEMS:
                pending.items.append(event)
        else:
            self._events.append(event)

    def _complete(self, action_id: str, pending: _Pending) -> None:
        del self._pending[action_id]
        assert pending.response is not None
        logger.debug("AMI <- %s %s: %s", pending.action, action_id, pending.response.name)
        self._events.append(ActionCompleted(action_id, pending.response, tuple(pending.items)))
