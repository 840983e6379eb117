"""What every sans-I/O codec of ``cti`` shares: the ``NEED_DATA`` marker and :class:`ProtocolIssue`.

A codec is fed bytes with ``receive_data(data)`` (``b""`` for end of stream) and drained with
``next_event()`` until it returns :data:`NEED_DATA`. What the peer sent wrong comes out as a
:class:`ProtocolIssue` event, is logged with its stream offset, and is skipped: codecs never raise
out of ``receive_data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by ``next_event()`` when the codec needs more bytes.
NEED_DATA: Final = NeedData()


@dataclass(frozen=True, slots=True)
class ProtocolIssue:
    """Bytes the peer sent that could not be used: where, how many, and why. They were skipped."""

    offset: int
    length: int
    reason: str
