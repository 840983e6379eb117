"""Sans-I/O codec of baresip's ``ctrl_tcp`` module: netstring-framed JSON in, messages out.

Every message either way is a netstring, ``<length>:<JSON object>,``. baresip sends events
(``{"event": true, "type": "CALL_INCOMING", "class": "call", "id": ..., "peeruri": ..., ...}``)
and one response per command (``{"response": true, "ok": ..., "data": "<the command's text>",
"token": ...}``); we send commands (``{"command": "accept", "params": "...", "token": "..."}``).

``BaresipDecoder.receive_data(data)`` then ``next_event()`` until :data:`~cti.codec.NEED_DATA`
(h11 style). Bytes that are not UTF-8 (a caller's name in Latin-1, passed on by baresip) are read
as Latin-1. A length that is not a number, a frame without its closing comma, a frame longer than
:data:`MAX_FRAME` (skipped without being buffered), JSON that does not parse, or an object that is
neither event nor response comes out as a :class:`~cti.codec.ProtocolIssue` with its stream offset;
the decoder then looks for the next frame. Nothing raises.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from ..codec import NEED_DATA, NeedData, ProtocolIssue
from ..errors import LocalProtocolError

#: Frames longer than this are skipped (baresip's own are under 2 KiB).
MAX_FRAME: Final = 64 * 1024
_MAX_DIGITS: Final = 9
#: Where a frame may start when the decoder looks for one after garbage: digits, a colon, a brace.
_FRAME_START = re.compile(rb"\d{1,9}:\{")
_PARTIAL_START = re.compile(rb"\d{1,9}:?\Z")
#: ctrl_tcp copies command and parameters into a 1024-byte buffer: longer ones would be cut short.
MAX_COMMAND: Final = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LATIN1_FALLBACK: Final = "ccenter-latin1-fallback"


def _latin1(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(_LATIN1_FALLBACK, _latin1)


@dataclass(frozen=True, slots=True)
class BaresipEvent:
    """An event of the softphone: ``type`` (``CALL_INCOMING`` ...), ``klass`` and every field as sent."""

    type: str
    klass: str
    fields: dict[str, Any] = field(default_factory=dict)
    offset: int = 0

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class BaresipResponse:
    """The answer to one command: ``ok``, the command's text output and the token it was sent with."""

    ok: bool
    data: str
    token: str | None
    offset: int = 0


BaresipMessage = BaresipEvent | BaresipResponse


class BaresipDecoder:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0  # stream offset of _buffer[0]
        self._skip = 0  # bytes of an oversized frame still to drop
        self._out: deque[BaresipMessage | ProtocolIssue] = deque()
        self.frames = 0

    def receive_data(self, data: bytes) -> None:
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            self._offset += dropped
            data = data[dropped:]
        self._buffer += data
        self._parse()

    def next_event(self) -> BaresipMessage | ProtocolIssue | NeedData:
        return self._out.popleft() if self._out else NEED_DATA

    def _issue(self, length: int, reason: str) -> None:
        self._out.append(ProtocolIssue(self._offset, length, reason))

    def _drop(self, count: int) -> None:
        del self._buffer[:count]
        self._offset += count

    def _resync(self, reason: str) -> None:
        """Skip garbage up to the next place a frame may start (or keep a tail that may begin one)."""
        match = _FRAME_START.search(self._buffer, 1)
        if match is not None:
            count = match.start()
        else:
            tail = _PARTIAL_START.search(self._buffer, 1)  # the buffer may end in the start of a frame
            count = tail.start() if tail is not None else len(self._buffer)
        self._issue(count, reason)
        self._drop(count)

    def _parse(self) -> None:
        while self._buffer and not self._skip:
            colon = self._buffer.find(b":", 0, _MAX_DIGITS + 1)
            head = bytes(self._buffer[: colon if colon >= 0 else _MAX_DIGITS + 1])
            if colon < 0:
                if len(self._buffer) > _MAX_DIGITS or not head.isdigit():
                    self._resync("not a netstring length")
                    continue
                return
            if not head.isdigit():
                self._resync("not a netstring length")
                continue
            size = int(head)
            start = colon + 1
            if size > MAX_FRAME:
                total = start + size + 1
                self._issue(total, f"frame of {size} bytes is over the {MAX_FRAME}-byte limit")
                have = min(total, len(self._buffer))
                self._drop(have)
                self._skip = total - have
                continue
            if len(self._buffer) < start + size + 1:
                return
            if self._buffer[start + size] != ord(","):
                self._resync("netstring without its closing comma")
                continue
            payload = bytes(self._buffer[start : start + size])
            offset = self._offset
            self._drop(start + size + 1)
            self.frames += 1
            self._decode(payload, offset, start + size + 1)

    def _decode(self, payload: bytes, offset: int, length: int) -> None:
        try:
            # baresip copies what the network sent into its JSON: a caller's name in Latin-1 is not
            # UTF-8. Such bytes are read as Latin-1 (José stays José) rather than losing the call.
            value = json.loads(payload.decode("utf-8", _LATIN1_FALLBACK))
        except ValueError as exc:
            self._out.append(ProtocolIssue(offset, length, f"frame is not JSON ({exc})"))
            return
        if not isinstance(value, dict):
            self._out.append(ProtocolIssue(offset, length, "frame is not a JSON object"))
            return
        if value.get("response") is True:
            data, token = value.get("data"), value.get("token")
            self._out.append(
                BaresipResponse(
                    ok=value.get("ok") is True,
                    data=data if isinstance(data, str) else "",
                    token=token if isinstance(token, str) else None,
                    offset=offset,
                )
            )
            return
        if value.get("event") in (True, "true"):
            kind, klass = value.get("type"), value.get("class")
            if not isinstance(kind, str):
                self._out.append(ProtocolIssue(offset, length, "event without a type"))
                return
            self._out.append(BaresipEvent(kind, klass if isinstance(klass, str) else "", value, offset))
            return
        if value.get("message") is True:
            # A SIP MESSAGE the phone received: not telephony, but not the peer's fault either.
            self._out.append(BaresipEvent("MESSAGE", "message", value, offset))
            return
        self._out.append(ProtocolIssue(offset, length, "frame is neither an event nor a response"))


def encode_command(command: str, params: str | None = None, token: str | None = None) -> bytes:
    """One command as a netstring; refuses control characters (CR, LF...) and over-long commands."""
    for what, value in (("command", command), ("parameter", params), ("token", token)):
        if value is not None and _CONTROL.search(value):
            raise LocalProtocolError(f"baresip {what} {value!r} contains a control character")
    if not re.fullmatch(r"[a-z_]+", command):
        raise LocalProtocolError(f"not a baresip command name: {command!r}")
    if len(command) + len(params or "") + 1 > MAX_COMMAND:
        raise LocalProtocolError(f"baresip command {command} is over {MAX_COMMAND} characters")
    message: dict[str, str] = {"command": command}
    if params is not None:
        message["params"] = params
    if token is not None:
        message["token"] = token
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return b"%d:%s," % (len(body), body)
