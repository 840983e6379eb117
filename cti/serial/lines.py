"""A bounded line splitter for serial feeds: CR, LF or CRLF ends a line, also across reads."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from ..codec import ProtocolIssue

logger = logging.getLogger(__name__)

MAX_LINE = 512
_EOL = re.compile(rb"\r\n|\r|\n")


class LineSplitter:
    """Bytes in, ``(offset, line)`` out; a line over ``max_line`` bytes is reported and dropped.

    ``feed(b"")`` ends the stream (a last line without terminator is returned). The lines and their
    offsets do not depend on how the stream was cut into reads; memory stays under ``max_line``.
    """

    def __init__(self, on_issue: Callable[[ProtocolIssue], None], *, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._on_issue = on_issue
        self._buf = b""
        self._base = 0  # stream offset of _buf[0]
        self._skipping: int | None = None  # stream offset where an over-long line began
        self._after_cr = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        if not data:
            end = self._base + len(self._buf)
            if self._skipping is not None:
                self._long(self._skipping, end)
            elif self._buf:
                out.append((self._base, self._buf))
            self._base, self._buf = end, b""
            return out
        if self._after_cr and data[:1] == b"\n":
            data = data[1:]
            self._base += 1
        self._after_cr = False
        work = self._buf + data
        pos = 0
        for m in _EOL.finditer(work):
            line = work[pos : m.start()]
            offset = self._base + pos
            if self._skipping is not None:
                self._long(self._skipping, offset + len(line))
            elif len(line) > self.max_line:
                self._long(offset, offset + len(line))
            else:
                out.append((offset, line))
            pos = m.end()
        if work.endswith(b"\r"):
            self._after_cr = True
        rest = work[pos:]
        if self._skipping is None and len(rest) > self.max_line:
            self._skipping = self._base + pos
        if self._skipping is not None:
            self._base += len(work)
            self._buf = b""
        else:
            self._base += pos
            self._buf = rest
        return out

    def _long(self, start: int, end: int) -> None:
        issue = ProtocolIssue(start, end - start, f"line over {self.max_line} bytes skipped")
        logger.warning("serial offset %d (%d bytes): %s", issue.offset, issue.length, issue.reason)
        self._on_issue(issue)
        self._skipping = None
