"""Sans-I/O CSTA XML codec: length-framed ECMA-323 messages in, :class:`CstaMessage` out.

Frame (Unify OpenScape and others): 4-byte big-endian length counting the whole frame including the
8-byte header, 4 ASCII digits of invoke id (``9999`` for unsolicited events), then one XML document.
``CstaDecoder.receive_data(data)`` then ``next_event()`` (h11 style); ``receive_data(b"")`` ends the
stream. Bad headers make the decoder skip to the next plausible frame, oversized frames are skipped
without being buffered, XML that does not parse or that carries a DOCTYPE (entity expansion) is
refused: each is a :class:`~cti.codec.ProtocolIssue` with its stream offset. Nothing raises.

A message's XML is flattened to ``(path, text)`` pairs of local names (``connection/callID``),
so the codec's output is plain, comparable data and the XML tree is never kept.
"""

from __future__ import annotations

import logging
import re
import struct
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Union
from xml.parsers import expat

from ..codec import NEED_DATA, NeedData, ProtocolIssue
from ..errors import LocalProtocolError

logger = logging.getLogger(__name__)

HEADER: Final = 8
#: Frames longer than this are skipped (counted, never buffered).
MAX_FRAME: Final = 256 * 1024
EVENT_INVOKE_ID: Final = "9999"
NS_ED3: Final = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
NS_ED4: Final = "http://www.ecma-international.org/standards/ecma-323/csta/ed4"
KNOWN_NAMESPACES: Final = frozenset(
    f"http://www.ecma-international.org/standards/ecma-323/csta/ed{n}" for n in range(2, 7)
)
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_MAX_FIELDS = 2000


@dataclass(frozen=True, slots=True)
class CstaMessage:
    """One CSTA message: invoke id, root element's local name and namespace, flattened content."""

    invoke_id: str
    name: str
    namespace: str
    fields: tuple[tuple[str, str], ...] = ()
    offset: int = 0

    @property
    def is_event(self) -> bool:
        return self.name.endswith("Event")

    @property
    def is_error(self) -> bool:
        return self.name in ("CSTAErrorCode", "UniversalFailure") or self.name.endswith("NegativeResponse")

    def get(self, path: str, default: str | None = None) -> str | None:
        """The first text at ``path``; ``*/x`` matches ``x`` at any depth below the root."""
        if path.startswith("*/"):
            tail = path[1:]
            for key, value in self.fields:
                if key == path[2:] or key.endswith(tail):
                    return value
            return default
        for key, value in self.fields:
            if key == path:
                return value
        return default

    def get_all(self, path: str) -> list[str]:
        return [value for key, value in self.fields if key == path or key.endswith("/" + path)]


DecoderEvent = CstaMessage | ProtocolIssue


#: How deep a message's elements may nest (real CSTA messages stay under ten levels).
MAX_DEPTH: Final = 64


class _Refused(Exception):
    """Why a message's XML is not used (raised from expat's handlers, caught in :func:`parse_xml`)."""


class _Flattener:
    """Expat handlers that flatten a document to ``(path, text)`` pairs, with no tree and no recursion.

    A document type declaration, an entity declaration or a reference to an external entity is
    refused (whatever the document's encoding: expat decodes UTF-16 before it sees them), and so is
    nesting deeper than :data:`MAX_DEPTH`.
    """

    def __init__(self) -> None:
        self.root: str | None = None
        self.fields: list[tuple[str, str]] = []
        # One entry per open element below the root: its path, its text, whether it has children.
        self._open: list[tuple[str, list[str], list[bool]]] = []
        self._depth = 0

    def start(self, tag: str, _attributes: object) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"XML nested deeper than {MAX_DEPTH} elements refused")
        if self.root is None:
            self.root = tag
            return
        local = tag.rsplit("}", 1)[-1]
        if self._open:
            parent_path, _, parent_has_children = self._open[-1]
            parent_has_children[0] = True
            path = f"{parent_path}/{local}"
        else:
            path = local
        self._open.append((path, [], [False]))

    def end(self, _tag: str) -> None:
        self._depth -= 1
        if not self._open or self._depth == 0:
            return
        path, text, has_children = self._open.pop()
        if not has_children[0] and len(self.fields) < _MAX_FIELDS:
            self.fields.append((path, "".join(text).strip()))

    def text(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    @staticmethod
    def doctype(*_args: object) -> None:
        raise _Refused("XML with a DOCTYPE or ENTITY declaration refused")

    @staticmethod
    def external(*_args: object) -> int:
        raise _Refused("XML with a DOCTYPE or ENTITY declaration refused")


def parse_xml(invoke_id: str, body: bytes, offset: int = 0) -> CstaMessage | str:
    """The message in ``body``, or the reason it cannot be used.

    Parsed with expat directly: DTDs, entity declarations and external entities are refused, in any
    encoding; depth is bounded; nothing is expanded and no tree is built.
    """
    if _DTD.search(body):
        return "XML with a DOCTYPE or ENTITY declaration refused"
    flat = _Flattener()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = flat.start
    parser.EndElementHandler = flat.end
    parser.CharacterDataHandler = flat.text
    parser.StartDoctypeDeclHandler = flat.doctype
    parser.EntityDeclHandler = flat.doctype
    parser.UnparsedEntityDeclHandler = flat.doctype
    parser.ExternalEntityRefHandler = flat.external
    parser.buffer_text = True
    try:
        parser.Parse(body, True)
    except _Refused as exc:
        return str(exc)
    except expat.ExpatError as exc:
        return f"XML does not parse: {expat.ErrorString(exc.code)}: line {exc.lineno}, column {exc.offset}"
    except (ValueError, LookupError) as exc:  # an encoding expat does not know, and the like
        return f"XML does not parse: {exc}"
    tag = flat.root or ""
    namespace, _, name = tag.rpartition("}")
    if namespace and namespace not in KNOWN_NAMESPACES:
        logger.debug("CSTA message %s in unknown namespace %s", name, namespace)
    return CstaMessage(invoke_id, name, namespace, tuple(flat.fields), offset)


class CstaDecoder:
    def __init__(self, *, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._base = 0
        self._skip = 0  # bytes of an oversized frame still to skip
        self._skip_from: int | None = None  # resync: where the bytes being skipped began
        self._oversized: tuple[int, int] | None = None
        self._eof = False
        self._events: deque[DecoderEvent] = deque()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def receive_data(self, data: bytes) -> None:
        if data:
            if self._eof:
                return
            self._buf += data
        else:
            self._eof = True
        self._parse()

    def next_event(self) -> DecoderEvent | NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def feed(self, data: bytes) -> list[DecoderEvent]:
        self.receive_data(data)
        out = list(self._events)
        self._events.clear()
        return out

    def _issue(self, offset: int, length: int, reason: str) -> None:
        logger.warning("CSTA stream offset %d (%d bytes): %s", offset, length, reason)
        self._events.append(ProtocolIssue(offset, length, reason))

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self._base += n

    def _plausible(self, at: int) -> bool | None:
        """Does a frame header start at ``at``? None: not enough bytes to say."""
        buf = self._buf
        if len(buf) < at + HEADER + 1:
            return None
        length = struct.unpack_from(">I", buf, at)[0]
        return length > HEADER and buf[at + 4 : at + 8].isdigit() and buf[at + 8] in b"<\xef"

    def _end_resync(self) -> None:
        if self._skip_from is not None:
            self._issue(self._skip_from, self._base - self._skip_from, "bytes that are no CSTA frame skipped")
            self._skip_from = None

    def _parse(self) -> None:
        buf = self._buf
        while True:
            if self._skip:
                n = min(self._skip, len(buf))
                self._drop(n)
                self._skip -= n
                if self._skip:
                    if self._eof and self._oversized:
                        self._issue(*self._oversized, f"frame over {self.max_frame} bytes cut short by end of stream")
                        self._oversized = None
                    return
                if self._oversized:
                    self._issue(*self._oversized, f"frame over {self.max_frame} bytes skipped")
                    self._oversized = None
            if self._skip_from is not None:
                # Resynchronising: look for the next plausible header, one byte at a time.
                while True:
                    ok = self._plausible(0)
                    if ok is None:
                        if self._eof:
                            self._drop(len(buf))
                            self._end_resync()
                        return
                    if ok:
                        self._end_resync()
                        break
                    self._drop(1)
            if len(buf) < HEADER:
                if self._eof and buf:
                    self._issue(self._base, len(buf), "truncated frame header at end of stream")
                    self._drop(len(buf))
                return
            length = struct.unpack_from(">I", buf, 0)[0]
            invoke = bytes(buf[4:8])
            if length <= HEADER or not invoke.isdigit():
                self._skip_from = self._base
                self._drop(1)
                continue
            if length > self.max_frame:
                if self._plausible(0) is None and not self._eof:
                    return
                if not self._plausible(0):
                    self._skip_from = self._base
                    self._drop(1)
                    continue
                self._oversized = (self._base, length)
                self._skip = length
                continue
            if len(buf) < length:
                if self._eof:
                    self._issue(
                        self._base, len(buf), f"truncated frame ({len(buf)} of {length} bytes) at end of stream"
                    )
                    self._drop(len(buf))
                return
            body = bytes(buf[HEADER:length])
            result = parse_xml(invoke.decode(), body, self._base)
            if isinstance(result, str):
                self._issue(self._base, length, result)
            else:
                logger.debug("CSTA <- %s invoke %s", result.name, result.invoke_id)
                self._events.append(result)
            self._drop(length)


# -- encoding --------------------------------------------------------------------------------

Body = Mapping[str, Union[str, "Body", Iterable["Body"]]]


def _build(parent: ET.Element, body: Body) -> None:
    for key, value in body.items():
        if not _NAME.match(key):
            raise LocalProtocolError(f"refusing CSTA element name {key!r}")
        if isinstance(value, str):
            if _CONTROL.search(value):
                raise LocalProtocolError(f"refusing CSTA value {value[:40]!r} for {key}: control characters")
            ET.SubElement(parent, key).text = value
        elif isinstance(value, Mapping):
            _build(ET.SubElement(parent, key), value)
        else:
            for item in value:
                _build(ET.SubElement(parent, key), item)


def encode_frame(invoke_id: str, xml: bytes) -> bytes:
    if len(invoke_id) != 4 or not invoke_id.isdigit():
        raise LocalProtocolError(f"CSTA invoke id must be 4 digits, not {invoke_id!r}")
    return struct.pack(">I", len(xml) + HEADER) + invoke_id.encode("ascii") + xml


def encode_message(name: str, body: Body, *, invoke_id: str, namespace: str = NS_ED4) -> bytes:
    """One framed CSTA message; refuses names and values XML cannot carry (``LocalProtocolError``)."""
    if not _NAME.match(name):
        raise LocalProtocolError(f"refusing CSTA message name {name!r}")
    root = ET.Element(name, {"xmlns": namespace})
    _build(root, body)
    xml = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return encode_frame(invoke_id, xml)


# -- client side: invoke ids and correlation ------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestCompleted:
    invoke_id: str
    request: str
    response: CstaMessage

    @property
    def ok(self) -> bool:
        return not self.response.is_error

    @property
    def error(self) -> str:
        if self.ok:
            return ""
        for key, value in self.response.fields:
            return f"{key.rsplit('/', 1)[-1]} {value}".strip()
        return self.response.name


ProtocolEvent = CstaMessage | ProtocolIssue | RequestCompleted


class CstaProtocol:
    """Numbers requests (0001..9998) and pairs responses to them by invoke id."""

    def __init__(self, *, namespace: str = NS_ED4) -> None:
        self.decoder = CstaDecoder()
        self.namespace = namespace
        self._next = 0
        self._pending: dict[str, str] = {}
        self._events: deque[ProtocolEvent] = deque()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def forget_pending(self) -> list[str]:
        ids = list(self._pending)
        self._pending.clear()
        return ids

    def send(self, name: str, body: Body) -> tuple[str, bytes]:
        for _ in range(9998):
            self._next = self._next % 9998 + 1
            invoke_id = f"{self._next:04d}"
            if invoke_id not in self._pending:
                break
        else:
            raise LocalProtocolError("9998 CSTA requests are waiting for an answer: no invoke id left")
        data = encode_message(name, body, invoke_id=invoke_id, namespace=self.namespace)
        self._pending[invoke_id] = name
        logger.debug("CSTA -> %s invoke %s", name, invoke_id)
        return invoke_id, data

    def receive_data(self, data: bytes) -> None:
        for event in self.decoder.feed(data):
            if isinstance(event, CstaMessage) and not event.is_event and event.invoke_id in self._pending:
                request = self._pending.pop(event.invoke_id)
                self._events.append(RequestCompleted(event.invoke_id, request, event))
            else:
                self._events.append(event)

    def next_event(self) -> ProtocolEvent | NeedData:
        return self._events.popleft() if self._events else NEED_DATA
