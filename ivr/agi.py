"""The AGI protocol (Asterisk Gateway Interface, as used over FastAGI), sans-I/O.

:class:`AgiConnection` is fed the bytes Asterisk sends (``receive_data``; ``b""`` at end of stream)
and drained with ``next_event()`` until it returns :data:`NEED_DATA`. Events are
:class:`EnvironmentReceived` (the ``agi_*`` variables, once, first), :class:`ReplyReceived` (the
answer to a command: ``200 result=... [(data)] [endpos=...]``, ``510``, ``511``, ``520`` including
its multi-line form), :class:`HangupReceived` (the ``HANGUP`` line Asterisk sends when the caller
hangs up) and :class:`ConnectionClosed`. ``send_command(*words)`` gives the bytes of a command,
quoted as Asterisk's parser expects; values carrying CR, LF or NUL are refused with
:class:`~ivr.errors.AgiError`, so nothing a caller or a look-up supplies can inject a command.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from .errors import AgiError

logger = logging.getLogger(__name__)

#: Longest line accepted from Asterisk (its own buffers are 2048 bytes; margin for data).
MAX_LINE = 8192
#: Longest command line sent (Asterisk drops longer ones: AGI_BUF_LEN is 2048).
MAX_COMMAND = 2000

VARIABLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPLY_200_RE = re.compile(r"^200 result=(?P<result>\S*)(?:\s+\((?P<data>.*?)\))?(?:\s+endpos=(?P<endpos>-?\d+))?\s*$")
_FORBIDDEN = ("\r", "\n", "\0")


class NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The ``agi_*`` variables Asterisk sends first, keyed without the ``agi_`` prefix."""

    values: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def callerid(self) -> str:
        value = self.get("callerid")
        return "" if value in ("unknown", "") else value

    @property
    def extension(self) -> str:
        return self.get("extension")

    @property
    def arguments(self) -> list[str]:
        args = []
        index = 1
        while f"arg_{index}" in self.values:
            args.append(self.values[f"arg_{index}"])
            index += 1
        return args

    @property
    def script(self) -> str:
        """The script part of ``agi://host/script?query`` (``agi_network_script``), without query."""
        return self.get("network_script").split("?", 1)[0].strip("/")


@dataclass(frozen=True, slots=True)
class AgiReply:
    code: int
    result: str | None = None
    data: str | None = None
    endpos: int | None = None
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def number(self) -> int | None:
        """``result`` as a number (digit pressed as ASCII code, -1 for failure), None if not one."""
        try:
            return int(self.result) if self.result is not None else None
        except ValueError:
            return None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


@dataclass(frozen=True, slots=True)
class EnvironmentReceived:
    environment: AgiEnvironment


@dataclass(frozen=True, slots=True)
class ReplyReceived:
    reply: AgiReply


@dataclass(frozen=True, slots=True)
class HangupReceived:
    pass


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    pass


AgiEvent = EnvironmentReceived | ReplyReceived | HangupReceived | ConnectionClosed


class AgiState(Enum):
    ENVIRONMENT = "environment"  # reading agi_* lines
    COMMANDS = "commands"  # environment done: replies and HANGUP
    CLOSED = "closed"


def parse_reply(lines: list[str]) -> AgiReply:
    """One reply: a single line, or a ``520-`` multi-line usage text ending ``520 ...``."""
    first = lines[0]
    text = "\n".join(lines)
    if first.startswith("200"):
        match = _REPLY_200_RE.match(first)
        if match is None:
            raise AgiError(f"malformed AGI reply {first[:80]!r}")
        endpos = match["endpos"]
        return AgiReply(200, match["result"], match["data"], int(endpos) if endpos is not None else None, text)
    code_text = first[:3]
    if not code_text.isdigit() or (len(first) > 3 and first[3] not in " -"):
        raise AgiError(f"malformed AGI reply {first[:80]!r}")
    return AgiReply(int(code_text), text=text)


def quote_argument(value: str) -> str:
    """``value`` as one argument of an AGI command line (Asterisk's parser: quotes and backslashes)."""
    if any(bad in value for bad in _FORBIDDEN):
        raise AgiError("refusing to send a value containing CR, LF or NUL to Asterisk")
    if value and not any(c in value for c in ' \t"\\'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(*words: str) -> bytes:
    """A command line: the first words as given (the command), later ones quoted when needed."""
    parts: list[str] = []
    for index, word in enumerate(words):
        if index == 0:
            if any(bad in word for bad in _FORBIDDEN):
                raise AgiError("refusing to send a command containing CR, LF or NUL")
            parts.append(word)
        else:
            parts.append(quote_argument(word))
    line = " ".join(parts)
    data = (line + "\n").encode("utf-8")
    if len(data) > MAX_COMMAND:
        raise AgiError(f"AGI command of {len(data)} bytes is longer than Asterisk accepts")
    return data


def set_variable(name: str, value: str) -> bytes:
    """``SET VARIABLE name "value"``; the name must be a plain channel variable name."""
    if not VARIABLE_NAME_RE.match(name):
        raise AgiError(f"{name!r} is not a valid channel variable name")
    if any(bad in value for bad in _FORBIDDEN):
        raise AgiError(f"refusing to set {name}: the value contains CR, LF or NUL")
    line = f"SET VARIABLE {name} " + '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    data = (line + "\n").encode("utf-8")
    if len(data) > MAX_COMMAND:
        raise AgiError(f"value of {name} is too long for one AGI command ({len(data)} bytes)")
    return data


class AgiConnection:
    """The protocol state of one FastAGI connection, seen from our side (the AGI script)."""

    def __init__(self) -> None:
        self.state = AgiState.ENVIRONMENT
        self.environment: AgiEnvironment | None = None
        self.hung_up = False
        self._buffer = bytearray()
        self._eof = False
        self._env: dict[str, str] = {}
        self._usage: list[str] | None = None

    def receive_data(self, data: bytes) -> None:
        if data:
            self._buffer += data
        else:
            self._eof = True

    def _line(self) -> str | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > MAX_LINE:
                raise AgiError(f"line from Asterisk longer than {MAX_LINE} bytes")
            return None
        raw = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return raw.decode("utf-8", errors="replace").rstrip("\r")

    def next_event(self) -> AgiEvent | NeedData:
        while True:
            if self.state is AgiState.CLOSED:
                return ConnectionClosed()
            line = self._line()
            if line is None:
                if self._eof:
                    self.state = AgiState.CLOSED
                    if self._env or self._usage:
                        raise AgiError("connection closed in the middle of a message")
                    return ConnectionClosed()
                return NEED_DATA
            if self.state is AgiState.ENVIRONMENT:
                if line == "":
                    self.state = AgiState.COMMANDS
                    self.environment = AgiEnvironment(dict(self._env))
                    self._env.clear()
                    logger.debug("agi environment: %d variables", len(self.environment.values))
                    return EnvironmentReceived(self.environment)
                name, sep, value = line.partition(":")
                if not sep or not name.startswith("agi_"):
                    raise AgiError(f"malformed AGI environment line {line[:80]!r}")
                self._env[name[4:]] = value.strip()
                continue
            if self._usage is not None:
                self._usage.append(line)
                if line.startswith("520 "):
                    lines, self._usage = self._usage, None
                    return ReplyReceived(parse_reply(lines))
                continue
            if line.strip() == "HANGUP":
                self.hung_up = True
                return HangupReceived()
            if line == "":
                continue
            if line.startswith("520-"):
                self._usage = [line]
                continue
            return ReplyReceived(parse_reply([line]))

    def send_command(self, *words: str) -> bytes:
        if self.state is not AgiState.COMMANDS:
            raise AgiError(f"cannot send a command in state {self.state.value}")
        return format_command(*words)
