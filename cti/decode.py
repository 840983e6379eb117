"""Raw capture → normalized events, for ``ccenter cti decode`` and the benchmarks.

:func:`stream_decoder` returns a :class:`StreamDecoder` for ``ami``, ``csta`` or ``modem``: feed it
bytes as they come (``b""`` at the end); it returns normalized events and :class:`ProtocolIssue`\\ s
in stream order.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from .codec import ProtocolIssue
from .errors import CtiError
from .model import LinkEvent

PROTOCOLS = ("ami", "csta", "modem")

DecodedItem = LinkEvent | ProtocolIssue


class StreamDecoder(ABC):
    @abstractmethod
    def feed(self, data: bytes) -> list[DecodedItem]:
        """Bytes of the capture in order; ``b""`` ends the stream and flushes what is pending."""


class AmiStreamDecoder(StreamDecoder):
    def __init__(self, clock: Callable[[], float]) -> None:
        from .ami.codec import AmiDecoder, AmiMessage
        from .ami.mapper import AmiMapper

        self._decoder = AmiDecoder()
        self._mapper = AmiMapper(clock=clock)
        self._message_type = AmiMessage

    def feed(self, data: bytes) -> list[DecodedItem]:
        out: list[DecodedItem] = []
        for event in self._decoder.feed(data):
            if isinstance(event, self._message_type):
                out.extend(self._mapper.map(event))
            elif isinstance(event, ProtocolIssue):
                out.append(event)
        return out


class CstaStreamDecoder(StreamDecoder):
    def __init__(self, clock: Callable[[], float]) -> None:
        from .csta.codec import CstaDecoder, CstaMessage
        from .csta.mapper import CstaMapper

        self._decoder = CstaDecoder()
        self._mapper = CstaMapper(clock=clock)
        self._message_type = CstaMessage

    def feed(self, data: bytes) -> list[DecodedItem]:
        out: list[DecodedItem] = []
        for event in self._decoder.feed(data):
            if isinstance(event, self._message_type):
                out.extend(self._mapper.map(event))
            elif isinstance(event, ProtocolIssue):
                out.append(event)
        return out


class ModemStreamDecoder(StreamDecoder):
    """Caller-ID modem output and SMDR lines, told apart line by line."""

    def __init__(self, clock: Callable[[], float]) -> None:
        from .serial.lines import LineSplitter
        from .serial.modem import ModemMapper, ModemParser
        from .serial.smdr import SmdrParser, looks_like_smdr

        self._issues: list[ProtocolIssue] = []
        self._lines = LineSplitter(self._issues.append)
        self._modem = ModemParser()
        self._mapper = ModemMapper(clock=clock)
        self._smdr = SmdrParser()
        self._looks_like_smdr = looks_like_smdr

    def feed(self, data: bytes) -> list[DecodedItem]:
        out: list[DecodedItem] = []
        for offset, raw in self._lines.feed(data):
            out.extend(self._issues)
            self._issues.clear()
            text = raw.decode("utf-8", "replace").strip()
            if self._looks_like_smdr(text):
                record = self._smdr.parse(offset, text)
                if isinstance(record, ProtocolIssue):
                    out.append(record)
                else:
                    out.extend(self._smdr.to_events(record))
                continue
            self._modem.line(offset, raw)
            self._drain(out)
        out.extend(self._issues)
        self._issues.clear()
        if not data:
            self._modem.flush()
            self._drain(out)
            out.extend(self._mapper.end("end_of_capture"))
        return out

    def _drain(self, out: list[DecodedItem]) -> None:
        from .codec import NeedData

        while not isinstance(event := self._modem.next_event(), NeedData):
            if isinstance(event, ProtocolIssue):
                out.append(event)
            else:
                out.extend(self._mapper.map(event))


def stream_decoder(protocol: str, *, clock: Callable[[], float] = time.time) -> StreamDecoder:
    if protocol == "ami":
        return AmiStreamDecoder(clock)
    if protocol == "csta":
        return CstaStreamDecoder(clock)
    if protocol == "modem":
        return ModemStreamDecoder(clock)
    raise CtiError(f"unknown protocol {protocol!r}: use one of {', '.join(PROTOCOLS)}")


def decode_chunks(
    protocol: str, chunks: Iterable[bytes], *, clock: Callable[[], float] = time.time
) -> Iterator[DecodedItem]:
    decoder = stream_decoder(protocol, clock=clock)
    for chunk in chunks:
        if chunk:
            yield from decoder.feed(chunk)
    yield from decoder.feed(b"")


def read_chunks(stream: BinaryIO, size: int = 64 * 1024) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk
