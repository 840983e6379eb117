"""PBX call-record (SMDR) lines: one call segment per line, CSV or fixed-width, layout per PBX model.

The default layout is Avaya IP Office's CSV SMDR (``2026/03/21 14:05:11,00:03:12,7,2001,O,...``);
give a :class:`SmdrLayout` for other PBXs. A line that does not fit the layout is a
:class:`~cti.codec.ProtocolIssue`. Records become ``call.offered`` / ``call.answered`` /
``call.ended`` with the times the record gives, under ``call_id`` ``smdr-<CallID>``.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Final

from bus.messages import CallEvent, CallEventType

from ..codec import ProtocolIssue
from ..model import LinkEvent

logger = logging.getLogger(__name__)

IP_OFFICE_COLUMNS: Final = (
    "call_start",
    "connected_time",
    "ring_time",
    "caller",
    "direction",
    "called_number",
    "dialled_number",
    "account",
    "is_internal",
    "call_id",
    "continuation",
    "party1_device",
    "party1_name",
    "party2_device",
    "party2_name",
    "hold_time",
    "park_time",
)


@dataclass(frozen=True, slots=True)
class SmdrLayout:
    """CSV columns (``columns``) or fixed-width fields (``fixed``: name, start, end)."""

    columns: tuple[str, ...] = IP_OFFICE_COLUMNS
    fixed: tuple[tuple[str, int, int], ...] = ()
    time_format: str = "%Y/%m/%d %H:%M:%S"
    timezone: tzinfo = UTC  # the PBX clock's zone

    def split(self, text: str) -> dict[str, str] | None:
        if self.fixed:
            if len(text) < max(end for _, _, end in self.fixed):
                return None
            return {name: text[start:end].strip() for name, start, end in self.fixed}
        row = next(csv.reader([text]))
        if len(row) < len(self.columns):
            return None
        return {name: value.strip() for name, value in zip(self.columns, row, strict=False)}


@dataclass(frozen=True, slots=True)
class SmdrRecord:
    offset: int
    fields: dict[str, str]


def looks_like_smdr(text: str) -> bool:
    return text.count(",") >= 10 and text[:4].isdigit() and text[4:5] in "/-"


def _seconds(value: str) -> float:
    if ":" in value:
        total = 0.0
        for part in value.split(":"):
            total = total * 60 + float(part or 0)
        return total
    return float(value or 0)


class SmdrParser:
    def __init__(self, layout: SmdrLayout | None = None) -> None:
        self.layout = layout or SmdrLayout()

    def parse(self, offset: int, text: str) -> SmdrRecord | ProtocolIssue:
        fields = self.layout.split(text)
        if fields is None:
            return ProtocolIssue(offset, len(text), "SMDR line does not fit the layout: skipped")
        try:
            datetime.strptime(fields.get("call_start", ""), self.layout.time_format)
            _seconds(fields.get("connected_time", "0"))
            _seconds(fields.get("ring_time", "0"))
        except ValueError as exc:
            return ProtocolIssue(offset, len(text), f"SMDR line has a bad time ({exc}): skipped")
        return SmdrRecord(offset, fields)

    def to_events(self, record: SmdrRecord) -> list[LinkEvent]:
        f = record.fields
        start = datetime.strptime(f["call_start"], self.layout.time_format).replace(tzinfo=self.layout.timezone)
        start_ts = start.timestamp()
        ring = _seconds(f.get("ring_time", "0"))
        talk = _seconds(f.get("connected_time", "0"))
        hold = _seconds(f.get("hold_time", "0") or "0")
        call_id = f"smdr-{f.get('call_id') or record.offset}"
        inbound = f.get("direction", "").upper() == "I"
        calling = f.get("caller") or None
        called = f.get("called_number") or f.get("dialled_number") or None
        ext = f.get("party1_device") or None
        data = {k: v for k, v in f.items() if k in ("account", "party1_name", "party2_device", "party2_name") and v}
        data["direction"] = "inbound" if inbound else "outbound"
        out: list[LinkEvent] = [
            CallEvent(
                type=CallEventType.OFFERED,
                call_id=call_id,
                ts=start_ts,
                calling=calling,
                called=called,
                extension=ext,
                data=data,
            )
        ]
        if talk > 0:
            out.append(CallEvent(type=CallEventType.ANSWERED, call_id=call_id, ts=start_ts + ring, extension=ext))
        if f.get("continuation", "0") != "1":
            cause = "normal" if talk > 0 else "no_answer"
            out.append(
                CallEvent(
                    type=CallEventType.ENDED,
                    call_id=call_id,
                    ts=start_ts + ring + talk + hold,
                    cause=cause,
                    data={"talk_s": talk, "ring_s": ring, "hold_s": hold},
                )
            )
        return out
