"""The BI campaign file interface: plans and target lists in, results out.

A **plan** (JSON) describes a campaign and its targets; a **target list** (CSV) adds targets to
campaigns that exist. :func:`import_plan`, :func:`import_targets` and :func:`import_file` (which
picks one by the file's content) write into the caller's session: run them inside
``crm.db.transaction`` so that one import is committed whole or not at all. A plan that breaks a rule
raises :class:`CampaignFileError` before anything is written; a target row that cannot be used is
reported (and written to ``<name>.rejects.csv`` beside the input) while the good rows load.

Files are read as UTF-8 (with or without BOM), GB18030/GBK or Big5, decided on the whole file.
:func:`export_results` writes one CSV row per work item (or per attempt) in UTF-8 with a BOM, times
in ISO 8601 UTC. The formats are documented for the BI team in ``docs/campaigns.md``.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import io
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import phones
from .errors import CrmError, InvalidPhoneNumber, NotFound
from .models import (
    Activity,
    Agent,
    Attempt,
    Campaign,
    CampaignStatus,
    Customer,
    DoNotCall,
    Order,
    PhoneNumber,
    ServiceRequest,
    Skill,
    Task,
    Tier,
    WorkItem,
    WorkItemStatus,
)

logger = logging.getLogger(__name__)

CHANNELS = ("outbound_call", "inbound_offer", "sms")
CALL_CHANNELS = frozenset({"outbound_call"})
DIAL_MODES = ("preview", "progressive", "predictive")
RETRY_OUTCOMES = ("busy", "no_answer", "answering_machine", "failed", "hung_up", "abandoned", "answered")
PLAN_KEYS = ("campaign_id", "name", "status", "channels", "products", "script", "schedule", "rules", "dial_mode",
             "targets")
RULE_KEYS = ("max_attempts", "retry", "frequency_cap", "abandon_target", "queue", "abandon_after_s", "priority",
             "default_retry_s")
TARGET_COLUMNS = ("campaign_id", "customer_id", "phone", "offer", "priority", "segment", "preferred_agent", "skill",
                  "name")
RESERVED_KEYS = frozenset({"CALLBACKS"})  # the standing campaign of agents' callbacks
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CHUNK = 500

#: Work item columns of the results file (the contract names the first ones; more may be added at the end).
RESULT_COLUMNS = ("work_item_id", "campaign_id", "customer_id", "phone", "channel", "status", "result", "reason",
                  "attempts", "last_attempt_at", "agent_id", "order_ids", "service_request_ids", "offer",
                  "priority", "task", "next_attempt_at", "created_at")
ATTEMPT_COLUMNS = ("attempt_id", "work_item_id", "campaign_id", "customer_id", "channel", "started_at", "ended_at",
                   "result", "agent_id", "cti_call_id", "contact_id")

Source = str | os.PathLike[str] | IO[bytes]


class CampaignFileError(CrmError):
    """A plan or target file that cannot be read or breaks a rule; nothing of it was written."""


# --- reading bytes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    name: str  # for messages
    path: Path | None  # where it is on disk (for the reject file and a plan's target CSV)
    text: str
    encoding: str


def _read_source(source: Source) -> tuple[str, Path | None, bytes]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            return path.name, path, path.read_bytes()
        except FileNotFoundError:
            raise CampaignFileError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise CampaignFileError(f"{path} is a folder, not a file") from None
        except OSError as exc:
            raise CampaignFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    name = getattr(source, "name", None)
    where = Path(name) if isinstance(name, str) and name and not name.startswith("<") else None
    return (where.name if where else "<input>"), where, source.read()


def _share_outside_gb2312(text: str) -> float:
    """Of the text's non-ASCII characters, the share outside GB2312 (the common simplified set)."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return 0.0
    outside = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            outside += 1
    return outside / len(wide)


def decode(data: bytes, name: str = "<input>") -> tuple[str, str]:
    """The text of a whole file and the encoding it was read in: ``utf-8``, ``utf-8-sig`` (with BOM),
    ``gb18030`` or ``big5``; raises :class:`CampaignFileError` when it is none of them.

    UTF-8 is tried first, then GB18030, then Big5. Almost every Big5 byte pair is also a valid GBK
    pair, so when both readings succeed, the GB18030 one wins only if it reads as common simplified
    Chinese (mostly inside GB2312); Big5 text read as GBK falls mostly outside it.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise CampaignFileError(f"{name}: starts with a UTF-8 BOM but byte {exc.start} is not UTF-8") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CampaignFileError(f"{name}: UTF-16 is not supported; save it as UTF-8, GB18030 or Big5")
    with contextlib.suppress(UnicodeDecodeError):
        return data.decode("utf-8"), "utf-8"
    readings: dict[str, str] = {}
    for encoding in ("gb18030", "big5"):
        with contextlib.suppress(UnicodeDecodeError):
            readings[encoding] = data.decode(encoding)
    if "gb18030" in readings and ("big5" not in readings or _share_outside_gb2312(readings["gb18030"]) < 0.2):
        return readings["gb18030"], "gb18030"
    if "big5" in readings:
        return readings["big5"], "big5"
    raise CampaignFileError(f"{name}: cannot tell its encoding (not UTF-8, GB18030 or Big5)")


def _load(source: Source) -> _Text:
    name, path, data = _read_source(source)
    text, encoding = decode(data, name)
    return _Text(name, path, text, encoding)


# --- plan validation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated campaign plan."""

    campaign_key: str
    name: str
    status: CampaignStatus | None
    channels: tuple[str, ...]
    products: tuple[str, ...]
    script: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    calling_hours: dict[str, Any]
    rules: dict[str, Any]
    dial_mode: str
    targets: list[Any] | str | None  # rows, or the path of a CSV beside the plan


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key}: {message}")


def _whole(value: Any, key: str, problems: _Problems, *, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.add(key, f"must be a whole number >= {minimum}")
        return None
    return value


def _seconds(value: Any, key: str, problems: _Problems) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str) and (match := _DURATION.match(value.lower())):
        return float(match.group(1)) * _UNITS[match.group(2)]
    problems.add(key, 'must be seconds (a number >= 0) or a duration such as "15m", "2h", "1d"')
    return None


def _moment(value: Any, key: str, problems: _Problems, *, end: bool) -> datetime | None:
    """An ISO 8601 date-time with an offset, or a date (a whole day in UTC; an end date is included)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                problems.add(key, f"{text!r} needs a time zone offset, such as {text}+08:00 or {text}Z")
                return None
            return moment.astimezone(UTC)
    problems.add(key, 'must be a date ("2025-03-31") or a date-time with offset ("2025-03-01T09:00:00+08:00")')
    return None


def _clock(value: Any, key: str, problems: _Problems) -> str | None:
    if isinstance(value, str) and (match := re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)):
        hours, minutes = int(match.group(1)), int(match.group(2))
        if (hours < 24 and minutes < 60) or (hours, minutes) == (24, 0):
            return f"{hours:02d}:{minutes:02d}"
    problems.add(key, 'must be a time of day "HH:MM" (00:00 to 24:00)')
    return None


def _hours(value: Any, problems: _Problems) -> dict[str, Any]:
    key = "schedule.hours"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(key, 'must be an object such as {"start": "09:00", "end": "20:00", "days": ["mon", "fri"]}')
        return {}
    for extra in sorted(set(value) - {"start", "end", "days"}):
        problems.add(f"{key}.{extra}", "unknown key; expected start, end, days")
    hours: dict[str, Any] = {}
    start = _clock(value.get("start", "00:00"), f"{key}.start", problems)
    end = _clock(value.get("end", "24:00"), f"{key}.end", problems)
    if start is not None and end is not None:
        if start >= end:
            problems.add(key, f"start {start} must be before end {end}")
        hours.update(start=start, end=end)
    if "days" in value:
        days = value["days"]
        parsed: set[int] = set()
        if not isinstance(days, list) or not days:
            problems.add(f"{key}.days", 'must be a non-empty list of days: 0 (Monday) to 6, or "mon" to "sun"')
        else:
            for day in days:
                if isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
                    parsed.add(day)
                elif isinstance(day, str) and day.strip().lower()[:3] in _DAY_NAMES:
                    parsed.add(_DAY_NAMES.index(day.strip().lower()[:3]))
                else:
                    problems.add(f"{key}.days", f'{day!r} is not a day: 0 (Monday) to 6, or "mon" to "sun"')
        hours["days"] = sorted(parsed)
    return hours


def _rules(value: Any, problems: _Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add("rules", "must be an object")
        return {}
    rules: dict[str, Any] = {}
    for extra in sorted(set(value) - set(RULE_KEYS)):
        problems.add(f"rules.{extra}", f"unknown key; expected one of {', '.join(RULE_KEYS)}")
    if "max_attempts" in value:
        rules["max_attempts"] = _whole(value["max_attempts"], "rules.max_attempts", problems, minimum=1)
    if "retry" in value:
        retry = value["retry"]
        if not isinstance(retry, Mapping):
            problems.add("rules.retry", 'must be an object of outcome to delay, such as {"busy": "15m"}')
        else:
            rules["retry"] = {}
            for outcome, delay in retry.items():
                if outcome not in RETRY_OUTCOMES:
                    problems.add(f"rules.retry.{outcome}",
                                 f"unknown outcome; expected one of {', '.join(RETRY_OUTCOMES)}")
                    continue
                rules["retry"][outcome] = _seconds(delay, f"rules.retry.{outcome}", problems)
    if "default_retry_s" in value:
        rules["default_retry_s"] = _seconds(value["default_retry_s"], "rules.default_retry_s", problems)
    if "frequency_cap" in value:
        cap = value["frequency_cap"]
        if not isinstance(cap, Mapping) or set(cap) != {"contacts", "days"}:
            problems.add("rules.frequency_cap", 'must be {"contacts": N, "days": D}')
        else:
            rules["frequency_cap"] = {
                "contacts": _whole(cap["contacts"], "rules.frequency_cap.contacts", problems, minimum=1),
                "days": _whole(cap["days"], "rules.frequency_cap.days", problems, minimum=1),
            }
    if "abandon_target" in value:
        target = value["abandon_target"]
        if isinstance(target, int | float) and not isinstance(target, bool) and 0 < target < 1:
            rules["abandon_target"] = float(target)
        else:
            problems.add("rules.abandon_target", "must be a fraction between 0 and 1, such as 0.03 for 3 %")
    if "abandon_after_s" in value:
        rules["abandon_after_s"] = _seconds(value["abandon_after_s"], "rules.abandon_after_s", problems)
    if "priority" in value:
        rules["priority"] = _whole(value["priority"], "rules.priority", problems, minimum=0)
    if "queue" in value:
        if isinstance(value["queue"], str) and value["queue"].strip():
            rules["queue"] = value["queue"].strip()
        else:
            problems.add("rules.queue", "must be a queue name")
    return rules


def _text(value: Any, key: str, problems: _Problems, *, limit: int, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        problems.add(key, "must be a non-empty text" if required else "must be a text")
        return None
    if len(value.strip()) > limit:
        problems.add(key, f"is longer than {limit} characters")
    return value.strip() or None


def validate_plan(document: Any) -> Plan:
    """Check a parsed plan; raises :class:`CampaignFileError` naming every key that is wrong."""
    problems = _Problems()
    if not isinstance(document, Mapping):
        raise CampaignFileError("a plan must be a JSON object with campaign_id, name, channels, ...")
    for extra in sorted(set(document) - set(PLAN_KEYS)):
        problems.add(extra, f"unknown key; expected one of {', '.join(PLAN_KEYS)}")
    key = document.get("campaign_id")
    if not isinstance(key, str) or not _KEY_PATTERN.match(key.strip()):
        problems.add("campaign_id", "must be 1 to 64 letters, digits, '.', '_' or '-' (such as Q1-FIBER)")
        key = ""
    elif key.strip() in RESERVED_KEYS:
        problems.add("campaign_id", f"{key.strip()} is reserved for agents' callbacks")
    name = _text(document.get("name"), "name", problems, limit=200, required=True)
    status: CampaignStatus | None = None
    if "status" in document:
        try:
            status = CampaignStatus(document["status"])
        except ValueError:
            problems.add("status", f"must be one of {', '.join(s.value for s in CampaignStatus)}")
    channels_value = document.get("channels")
    channels: list[str] = []
    if not isinstance(channels_value, list) or not channels_value:
        problems.add("channels", f"must be a non-empty list of {', '.join(CHANNELS)}")
    else:
        for channel in channels_value:
            if channel not in CHANNELS:
                problems.add("channels", f"unknown channel {channel!r}; expected {', '.join(CHANNELS)}")
            elif channel in channels:
                problems.add("channels", f"{channel} is listed twice")
            else:
                channels.append(channel)
    products_value = document.get("products", [])
    products: list[str] = []
    if not isinstance(products_value, list) or not all(isinstance(p, str) and p.strip() for p in products_value):
        problems.add("products", "must be a list of product names")
    else:
        products = [p.strip() for p in products_value]
    script = _text(document.get("script"), "script", problems, limit=20_000)
    schedule = document.get("schedule", {})
    starts_at = ends_at = None
    hours: dict[str, Any] = {}
    if not isinstance(schedule, Mapping):
        problems.add("schedule", 'must be an object {"start", "end", "hours"}')
    else:
        for extra in sorted(set(schedule) - {"start", "end", "hours"}):
            problems.add(f"schedule.{extra}", "unknown key; expected start, end, hours")
        starts_at = _moment(schedule.get("start"), "schedule.start", problems, end=False)
        ends_at = _moment(schedule.get("end"), "schedule.end", problems, end=True)
        if starts_at and ends_at and starts_at >= ends_at:
            problems.add("schedule", "start must be before end")
        hours = _hours(schedule.get("hours"), problems)
    rules = _rules(document.get("rules"), problems)
    dial_mode = document.get("dial_mode", "preview")
    if dial_mode not in DIAL_MODES:
        problems.add("dial_mode", f"must be one of {', '.join(DIAL_MODES)}")
    elif dial_mode != "preview" and channels and "outbound_call" not in channels:
        problems.add("dial_mode", f"{dial_mode} dialling needs the outbound_call channel")
    targets = document.get("targets")
    if targets is not None and not (
        isinstance(targets, list) or (isinstance(targets, str) and targets.strip().lower().endswith(".csv"))
    ):
        problems.add("targets", "must be a list of target rows or the name of a .csv file beside the plan")
    if problems.items:
        raise CampaignFileError("; ".join(problems.items))
    return Plan(
        campaign_key=str(key).strip(), name=name or "", status=status, channels=tuple(channels),
        products=tuple(products), script=script, starts_at=starts_at, ends_at=ends_at, calling_hours=hours,
        rules=rules, dial_mode=str(dial_mode), targets=targets.strip() if isinstance(targets, str) else targets,
    )


def _parse_json(loaded: _Text) -> Any:
    try:
        return json.loads(loaded.text)
    except json.JSONDecodeError as exc:
        raise CampaignFileError(f"{loaded.name}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


# --- target rows -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reject:
    """A target row that was not loaded (or not for every channel), with why."""

    line: int  # the CSV line (1 is the header), or the position in a plan's list (1 is the first)
    reason: str
    row: dict[str, str]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did."""

    source: str
    kind: str  # "plan" or "targets"
    encoding: str
    campaigns: tuple[str, ...]
    campaigns_created: tuple[str, ...]
    rows: int
    work_items_created: int
    work_items_updated: int
    work_items_unchanged: int
    prospects_created: int
    rejects: tuple[Reject, ...]
    rejects_path: Path | None
    notes: tuple[str, ...] = ()

    @property
    def rows_loaded(self) -> int:
        return self.rows - len({r.line for r in self.rejects if not r.reason.endswith(_PARTIAL)})


_PARTIAL = "(other channels loaded)"


@dataclass(slots=True)
class _Row:
    line: int
    values: dict[str, str]
    original: dict[str, str]


@dataclass(slots=True)
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    prospects: int = 0
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _rows_from_csv(loaded: _Text, *, need_campaign: bool) -> tuple[list[str], list[_Row], list[str]]:
    reader = csv.reader(io.StringIO(loaded.text, newline=""))
    header: list[str] | None = None
    rows: list[_Row] = []
    last_line = 0
    try:
        for record in reader:
            line = last_line + 1
            last_line = reader.line_num
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                header = [cell.strip().lower() for cell in record]
                continue
            if not any(cell.strip() for cell in record):
                continue
            original = {name: (record[i] if i < len(record) else "") for i, name in enumerate(header)}
            if len(record) > len(header):
                original["(extra)"] = ",".join(record[len(header):])
            rows.append(_Row(line, {k: v.strip() for k, v in original.items()}, original))
    except csv.Error as exc:
        raise CampaignFileError(f"{loaded.name}: line {reader.line_num}: {exc}") from None
    if header is None:
        raise CampaignFileError(f"{loaded.name}: the file is empty (a header line is expected)")
    missing = []
    if need_campaign and "campaign_id" not in header:
        missing.append("campaign_id")
    if "customer_id" not in header and "phone" not in header:
        missing.append("customer_id or phone")
    if missing:
        raise CampaignFileError(
            f"{loaded.name}: the header has no {' and no '.join(missing)} column "
            f"(columns: {', '.join(TARGET_COLUMNS)})"
        )
    duplicates = sorted({name for name in header if header.count(name) > 1 and name})
    if duplicates:
        raise CampaignFileError(f"{loaded.name}: column {', '.join(duplicates)} appears twice in the header")
    unknown = [name for name in header if name not in TARGET_COLUMNS]
    notes = [f"columns ignored: {', '.join(unknown)}"] if unknown else []
    return header, rows, notes


def _rows_from_list(targets: list[Any]) -> tuple[list[str], list[_Row], list[str]]:
    rows: list[_Row] = []
    names: list[str] = []
    for position, item in enumerate(targets, start=1):
        if not isinstance(item, Mapping):
            rows.append(_Row(position, {}, {"(row)": json.dumps(item, ensure_ascii=False)}))
            continue
        original = {str(k).strip().lower(): "" if v is None else str(v) for k, v in item.items()}
        for name in original:
            if name not in names:
                names.append(name)
        rows.append(_Row(position, {k: v.strip() for k, v in original.items()}, original))
    unknown = [n for n in names if n not in TARGET_COLUMNS]
    notes = [f"target keys ignored: {', '.join(unknown)}"] if unknown else []
    return names, rows, notes


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class _Loader:
    """Resolves target rows to customers and upserts their work items (per campaign channel)."""

    def __init__(self, session: Session, *, region: str, now: datetime) -> None:
        self.session = session
        self.region = region
        self.now = now
        self.counts = _Counts()
        self.agents = {login: agent_id for login, agent_id in session.execute(select(Agent.login, Agent.id))}
        self.skills = set(session.scalars(select(Skill.name)))
        self.tasks: dict[tuple[int, int | None, str | None], Task] = {}
        self.items: dict[tuple[int, int], WorkItem] = {}
        self.seen: dict[tuple[int, int], int] = {}  # (campaign id, customer id) -> first line

    def load(self, campaign: Campaign, rows: Sequence[_Row], plan_key: str | None,
             channels: Sequence[str] | None = None) -> None:
        """Load ``rows`` into the campaign's activities (those of ``channels`` only, when given)."""
        activities = sorted((a for a in campaign.activities if channels is None or a.channel in channels),
                            key=lambda a: a.id)
        for activity in activities:
            for task in activity.tasks:
                self.tasks.setdefault((activity.id, task.agent_id, task.skill), task)
        prepared = [(row, self._check(row, campaign, plan_key)) for row in rows]
        good = [(row, parsed) for row, parsed in prepared if parsed is not None]
        customer_ids = {p["customer_id"] for _, p in good if p["customer_id"] is not None}
        known: set[int] = set()
        for chunk in _chunks(customer_ids):
            known.update(self.session.scalars(select(Customer.id).where(Customer.id.in_(chunk))))
        numbers = {p["phone"] for _, p in good if p["phone"]}
        owners: dict[str, int] = {}
        blocked: set[str] = set()
        for chunk in _chunks(numbers):
            for e164, customer_id in self.session.execute(
                select(PhoneNumber.e164, PhoneNumber.customer_id).where(PhoneNumber.e164.in_(chunk))
                .order_by(PhoneNumber.is_primary.desc(), PhoneNumber.customer_id)
            ):
                owners.setdefault(e164, customer_id)
            blocked.update(self.session.scalars(
                select(DoNotCall.e164).where(
                    DoNotCall.e164.in_(chunk),
                    DoNotCall.expires_at.is_(None) | (DoNotCall.expires_at > self.now),
                )
            ))
        activity_ids = [a.id for a in activities]
        for item in self.session.scalars(select(WorkItem).where(WorkItem.activity_id.in_(activity_ids))):
            self.items[(item.activity_id, item.customer_id)] = item
        for row, parsed in good:
            self._load_row(campaign, activities, row, parsed, known, owners, blocked)

    def reject(self, row: _Row, reason: str) -> None:
        self.counts.rejects.append(Reject(row.line, reason, row.original))

    def _check(self, row: _Row, campaign: Campaign, plan_key: str | None) -> dict[str, Any] | None:
        """The row's values parsed, or None after rejecting it."""
        values = row.values
        if not values:
            self.reject(row, "not an object with target columns")
            return None
        if values.get("(extra)"):
            self.reject(row, "more fields than the header has columns")
            return None
        if plan_key is not None and values.get("campaign_id") and values["campaign_id"] != plan_key:
            self.reject(row, f"campaign_id {values['campaign_id']!r} is not this plan's ({plan_key})")
            return None
        raw_id, raw_phone = values.get("customer_id", ""), values.get("phone", "")
        if not raw_id and not raw_phone:
            self.reject(row, "neither customer_id nor phone given")
            return None
        customer_id = None
        if raw_id:
            if not raw_id.isdigit() or int(raw_id) == 0 or len(raw_id) > 18:
                self.reject(row, f"customer_id {raw_id!r} is not a customer number")
                return None
            customer_id = int(raw_id)
        phone = None
        if raw_phone:
            try:
                phone = phones.to_e164(raw_phone, self.region, valid_only=True)
            except InvalidPhoneNumber as exc:
                self.reject(row, f"phone: {exc}")
                return None
        priority = 0
        if values.get("priority"):
            try:
                priority = int(values["priority"])
            except ValueError:
                priority = -1
            if not 0 <= priority <= 1000:
                self.reject(row, f"priority {values['priority']!r} must be a whole number from 0 to 1000")
                return None
        offer = values.get("offer") or (campaign.products[0] if campaign.products else "")
        if not offer:
            self.reject(row, "offer is missing (and the campaign has no products)")
            return None
        for column, limit in (("offer", 200), ("name", 200), ("segment", 64)):
            if len(values.get(column, "")) > limit:
                self.reject(row, f"{column} is longer than {limit} characters")
                return None
        login = values.get("preferred_agent") or None
        if login is not None and login not in self.agents:
            self.reject(row, f"unknown preferred_agent {login!r} (no agent has that login)")
            return None
        skill = values.get("skill") or None
        if skill is not None and skill not in self.skills:
            self.reject(row, f"unknown skill {skill!r}")
            return None
        return {
            "customer_id": customer_id, "phone": phone, "priority": priority, "offer": str(offer),
            "agent_id": self.agents[login] if login else None, "skill": skill,
            "name": values.get("name") or None, "segment": values.get("segment") or None,
        }

    def _load_row(self, campaign: Campaign, activities: Sequence[Activity], row: _Row, parsed: dict[str, Any],
                  known: set[int], owners: dict[str, int], blocked: set[str]) -> None:
        phone: str | None = parsed["phone"]
        customer_id: int | None = parsed["customer_id"]
        if customer_id is not None and customer_id not in known:
            self.reject(row, f"unknown customer_id {customer_id}")
            return
        if customer_id is None and phone is not None and phone in owners:
            customer_id = owners[phone]
        if customer_id is not None:
            first = self.seen.get((campaign.id, customer_id))
            if first is not None:
                self.reject(row, f"duplicate of line {first} (same customer)")
                return
        channels = list(activities)
        if phone is None and customer_id is not None:
            phone = self.session.scalar(
                select(PhoneNumber.e164).where(PhoneNumber.customer_id == customer_id)
                .order_by(PhoneNumber.is_primary.desc(), PhoneNumber.id).limit(1)
            )
        skipped: list[str] = []
        reason = ""
        if phone is not None and phone in blocked:
            skipped = [a.channel for a in channels if a.channel in CALL_CHANNELS]
            reason = f"{phone} is on the do-not-call list"
        elif phone is None:
            skipped = [a.channel for a in channels if a.channel in CALL_CHANNELS | {"sms"}]
            reason = "the customer has no phone number"
        channels = [a for a in channels if a.channel not in skipped]
        if skipped:
            if not channels:
                self.reject(row, reason)
                return
            self.reject(row, f"{reason}: no {', '.join(skipped)} work item {_PARTIAL}")
        if customer_id is None:
            assert phone is not None
            customer_id = self._prospect(phone, parsed)
            owners[phone] = customer_id
        elif parsed["segment"]:
            customer = self.session.get(Customer, customer_id)
            if customer is not None and customer.segment != parsed["segment"]:
                customer.segment = parsed["segment"]
        self.seen[(campaign.id, customer_id)] = row.line
        for activity in channels:
            self._upsert(activity, customer_id, phone, parsed)

    def _prospect(self, phone: str, parsed: dict[str, Any]) -> int:
        zone = phones.time_zone_of(phone)
        customer = Customer(
            name=(parsed["name"] or phones.display(phone))[:200], tier=Tier.PROSPECT, segment=parsed["segment"],
            time_zone=str(zone) if zone else "UTC",
            phones=[PhoneNumber(e164=phone, is_primary=True)],
        )
        self.session.add(customer)
        self.session.flush()
        self.counts.prospects += 1
        return customer.id

    def _task(self, activity: Activity, agent_id: int | None, skill: str | None) -> Task:
        key = (activity.id, agent_id, skill)
        task = self.tasks.get(key)
        if task is None:
            label = activity.channel.replace("_", " ")
            if agent_id is not None:
                login = next(name for name, i in self.agents.items() if i == agent_id)
                name = f"{label}: agent {login}" + (f" ({skill})" if skill else "")
            else:
                name = f"{label}: {skill}" if skill else f"{label}"
            task = Task(activity_id=activity.id, name=name[:120], agent_id=agent_id, skill=skill)
            self.session.add(task)
            self.session.flush()
            self.tasks[key] = task
        return task

    def _upsert(self, activity: Activity, customer_id: int, phone: str | None, parsed: dict[str, Any]) -> None:
        task = self._task(activity, parsed["agent_id"], parsed["skill"])
        wanted = {"task_id": task.id, "phone_e164": phone, "offer": parsed["offer"], "priority": parsed["priority"],
                  "agent_id": parsed["agent_id"]}
        item = self.items.get((activity.id, customer_id))
        if item is None:
            item = WorkItem(activity_id=activity.id, customer_id=customer_id, status=WorkItemStatus.PENDING,
                            **wanted)
            self.session.add(item)
            self.items[(activity.id, customer_id)] = item
            self.counts.created += 1
            return
        changed = False
        for name, value in wanted.items():
            if getattr(item, name) != value:
                setattr(item, name, value)
                changed = True
        if changed:
            self.counts.updated += 1
        else:
            self.counts.unchanged += 1


# --- imports -----------------------------------------------------------------------------------


def _upsert_campaign(session: Session, plan: Plan) -> tuple[Campaign, bool, list[str]]:
    campaign = session.scalar(select(Campaign).where(Campaign.campaign_key == plan.campaign_key))
    created = campaign is None
    if campaign is None:
        campaign = Campaign(campaign_key=plan.campaign_key, status=plan.status or CampaignStatus.ACTIVE)
        session.add(campaign)
    elif plan.status is not None:
        campaign.status = plan.status
    campaign.name = plan.name
    campaign.products = list(plan.products)
    campaign.script = plan.script
    campaign.starts_at = plan.starts_at
    campaign.ends_at = plan.ends_at
    campaign.calling_hours = dict(plan.calling_hours)
    campaign.rules = dict(plan.rules)
    campaign.dial_mode = plan.dial_mode
    existing = {a.channel for a in campaign.activities}
    for channel in plan.channels:
        if channel not in existing:
            campaign.activities.append(Activity(channel=channel))
    session.flush()
    notes = [
        f"{campaign.campaign_key}: channel {channel} is no longer in the plan; its work items are kept"
        for channel in sorted(existing - set(plan.channels))
    ]
    return campaign, created, notes


def _rejects_path(loaded: _Text) -> Path | None:
    if loaded.path is None:
        return None
    return loaded.path.with_name(f"{loaded.path.stem}.rejects.csv")


def _write_rejects(path: Path | None, header: Sequence[str], rejects: Sequence[Reject]) -> Path | None:
    """Write the rejects beside the input (UTF-8 with BOM); remove a stale file when there are none."""
    if path is None:
        return None
    if not rejects:
        path.unlink(missing_ok=True)
        return None
    columns = ["line", "reason", *header]
    for reject in rejects:
        columns.extend(k for k in reject.row if k not in columns)
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=columns, restval="")
            writer.writeheader()
            for reject in sorted(rejects, key=lambda r: r.line):
                writer.writerow({**reject.row, "line": reject.line, "reason": reject.reason})
    except OSError as exc:
        raise CampaignFileError(f"cannot write the reject file {path}: {exc.strerror or exc}") from None
    return path


def _report(loaded: _Text, kind: str, campaigns: Sequence[str], created: Sequence[str], rows: int,
            loader: _Loader, header: Sequence[str], notes: Sequence[str]) -> ImportReport:
    counts = loader.counts
    path = _write_rejects(_rejects_path(loaded), header, counts.rejects)
    report = ImportReport(
        source=str(loaded.path or loaded.name), kind=kind, encoding=loaded.encoding, campaigns=tuple(campaigns),
        campaigns_created=tuple(created), rows=rows, work_items_created=counts.created,
        work_items_updated=counts.updated, work_items_unchanged=counts.unchanged,
        prospects_created=counts.prospects, rejects=tuple(sorted(counts.rejects, key=lambda r: r.line)),
        rejects_path=path, notes=tuple([*notes, *counts.notes]),
    )
    logger.info("campaign import of %s: %d rows, %d work items created, %d updated, %d prospects, %d rejects",
                report.source, rows, counts.created, counts.updated, counts.prospects, len(counts.rejects))
    return report


def import_plan(session: Session, path_or_file: Source, *, region: str = "US",
                now: datetime | None = None) -> ImportReport:
    """Create or update the plan's campaign, its channel activities, tasks and work items."""
    now = now or datetime.now(UTC)
    loaded = _load(path_or_file)
    plan = validate_plan(_parse_json(loaded))
    notes: list[str] = []
    source = loaded
    if isinstance(plan.targets, str):
        base = loaded.path.parent if loaded.path is not None else Path.cwd()
        source = _load(base / plan.targets)
        header, rows, notes = _rows_from_csv(source, need_campaign=False)
        notes = [f"targets read from {source.path} ({source.encoding})", *notes]
    else:
        header, rows, notes = _rows_from_list(plan.targets or [])
    campaign, created, campaign_notes = _upsert_campaign(session, plan)
    loader = _Loader(session, region=region, now=now)
    loader.load(campaign, rows, plan.campaign_key, plan.channels)
    report = _report(source, "plan", [plan.campaign_key], [plan.campaign_key] if created else [], len(rows),
                     loader, header, [*campaign_notes, *notes])
    if source is not loaded:  # the plan is the source; its targets' encoding is in the notes
        return dataclasses.replace(report, source=str(loaded.path or loaded.name), encoding=loaded.encoding)
    return report


def import_targets(session: Session, path_or_file: Source, *, region: str = "US",
                   now: datetime | None = None) -> ImportReport:
    """Add or update work items of existing campaigns from a target CSV whose rows carry ``campaign_id``."""
    now = now or datetime.now(UTC)
    loaded = _load(path_or_file)
    header, rows, notes = _rows_from_csv(loaded, need_campaign=True)
    loader = _Loader(session, region=region, now=now)
    by_campaign: dict[str, list[_Row]] = {}
    for row in rows:
        key = row.values.get("campaign_id", "")
        if not key:
            loader.reject(row, "campaign_id is missing")
        else:
            by_campaign.setdefault(key, []).append(row)
    campaigns = {c.campaign_key: c for chunk in _chunks(by_campaign) for c in
                 session.scalars(select(Campaign).where(Campaign.campaign_key.in_(chunk)))}
    for key, campaign_rows in by_campaign.items():
        campaign = campaigns.get(key)
        if campaign is None:
            for row in campaign_rows:
                loader.reject(row, f"unknown campaign_id {key!r}")
            continue
        loader.load(campaign, campaign_rows, None)
    return _report(loaded, "targets", sorted(campaigns), [], len(rows), loader, header, notes)


def import_file(session: Session, path_or_file: Source, *, region: str = "US",
                now: datetime | None = None) -> ImportReport:
    """A plan (``.json``, or content starting with ``{``) or a target list (``.csv``)."""
    if isinstance(path_or_file, str | os.PathLike):
        suffix = Path(path_or_file).suffix.lower()
        if suffix == ".json":
            return import_plan(session, path_or_file, region=region, now=now)
        if suffix == ".csv":
            return import_targets(session, path_or_file, region=region, now=now)
        if _load(path_or_file).text.lstrip().startswith("{"):
            return import_plan(session, path_or_file, region=region, now=now)
        return import_targets(session, path_or_file, region=region, now=now)
    return import_plan(session, path_or_file, region=region, now=now)


# --- results out -------------------------------------------------------------------------------


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _cell(text: str | None) -> str:
    """Free text as a CSV cell that a spreadsheet will not run as a formula."""
    if not text:
        return ""
    return "'" + text if text[0] in "=@\t\r" else text


def _campaign(session: Session, campaign_key: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.campaign_key == campaign_key))
    if campaign is None:
        raise NotFound(f"no campaign {campaign_key!r}")
    return campaign


def _open_out(file: str | os.PathLike[str] | IO[str]) -> tuple[IO[str], bool]:
    if isinstance(file, str | os.PathLike):
        try:
            return open(file, "w", encoding="utf-8-sig", newline=""), True
        except OSError as exc:
            raise CampaignFileError(f"cannot write {file}: {exc.strerror or exc}") from None
    file.write("\ufeff")
    return file, False


def export_results(session: Session, campaign_key: str, file: str | os.PathLike[str] | IO[str], *,
                   attempts: bool = False) -> int:
    """Write the campaign's results as CSV (UTF-8 with BOM): one row per work item, or with ``attempts``
    one row per attempt. Returns the number of rows written."""
    campaign = _campaign(session, campaign_key)
    logins = {agent_id: login for agent_id, login in session.execute(select(Agent.id, Agent.login))}
    out, owned = _open_out(file)
    try:
        if attempts:
            return _write_attempts(session, campaign, out, logins)
        return _write_items(session, campaign, out, logins)
    finally:
        if owned:
            out.close()


def _write_items(session: Session, campaign: Campaign, out: IO[str], logins: Mapping[int, str]) -> int:
    writer = csv.writer(out)
    writer.writerow(RESULT_COLUMNS)
    orders: dict[int, list[str]] = {}
    requests: dict[int, list[str]] = {}
    for item_id, order_id in session.execute(
        select(Order.work_item_id, Order.id).join(WorkItem, WorkItem.id == Order.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id).where(Activity.campaign_id == campaign.id)
        .order_by(Order.id)
    ):
        orders.setdefault(item_id or 0, []).append(str(order_id))
    for item_id, request_id in session.execute(
        select(ServiceRequest.work_item_id, ServiceRequest.id)
        .join(WorkItem, WorkItem.id == ServiceRequest.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id).where(Activity.campaign_id == campaign.id)
        .order_by(ServiceRequest.id)
    ):
        requests.setdefault(item_id or 0, []).append(str(request_id))
    count = 0
    for item, channel, task_name in session.execute(
        select(WorkItem, Activity.channel, Task.name)
        .join(Activity, Activity.id == WorkItem.activity_id)
        .join(Task, Task.id == WorkItem.task_id)
        .where(Activity.campaign_id == campaign.id)
        .order_by(WorkItem.id)
        .execution_options(yield_per=1000)
    ):
        writer.writerow([
            item.id, campaign.campaign_key, item.customer_id, item.phone_e164 or "", channel, item.status.value,
            item.result or "", _cell(item.reason), item.attempt_count, _utc(item.last_attempt_at),
            logins.get(item.agent_id, "") if item.agent_id else "", ";".join(orders.get(item.id, ())),
            ";".join(requests.get(item.id, ())), _cell(item.offer), item.priority, _cell(task_name),
            _utc(item.next_attempt_at), _utc(item.created_at),
        ])
        count += 1
    return count


def _write_attempts(session: Session, campaign: Campaign, out: IO[str], logins: Mapping[int, str]) -> int:
    writer = csv.writer(out)
    writer.writerow(ATTEMPT_COLUMNS)
    count = 0
    for attempt, customer_id, channel in session.execute(
        select(Attempt, WorkItem.customer_id, Activity.channel)
        .join(WorkItem, WorkItem.id == Attempt.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id)
        .where(Activity.campaign_id == campaign.id)
        .order_by(Attempt.started_at, Attempt.id)
        .execution_options(yield_per=1000)
    ):
        writer.writerow([
            attempt.id, attempt.work_item_id, campaign.campaign_key, customer_id, channel, _utc(attempt.started_at),
            _utc(attempt.ended_at), attempt.result, logins.get(attempt.agent_id, "") if attempt.agent_id else "",
            attempt.cti_call_id or "", attempt.contact_id or "",
        ])
        count += 1
    return count


# --- listing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    campaign_key: str
    name: str
    status: str
    dial_mode: str
    channels: tuple[str, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    work_items: dict[str, int]  # by status


def list_campaigns(session: Session) -> list[CampaignSummary]:
    """Every campaign with its channels and its work items counted by status."""
    counts: dict[int, dict[str, int]] = {}
    for campaign_id, status, n in session.execute(
        select(Activity.campaign_id, WorkItem.status, func.count())
        .join(WorkItem, WorkItem.activity_id == Activity.id)
        .group_by(Activity.campaign_id, WorkItem.status)
    ):
        counts.setdefault(campaign_id, {})[WorkItemStatus(status).value] = n
    channels: dict[int, list[str]] = {}
    for campaign_id, channel in session.execute(
        select(Activity.campaign_id, Activity.channel).order_by(Activity.id)
    ):
        channels.setdefault(campaign_id, []).append(channel)
    return [
        CampaignSummary(c.campaign_key, c.name, c.status.value, c.dial_mode, tuple(channels.get(c.id, ())),
                        c.starts_at, c.ends_at,
                        {s.value: counts.get(c.id, {}).get(s.value, 0) for s in WorkItemStatus})
        for c in session.scalars(select(Campaign).order_by(Campaign.campaign_key))
    ]
