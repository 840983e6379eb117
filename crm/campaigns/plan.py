"""The campaign plan (JSON) checked key by key: every problem named, nothing written when one is found."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..models import (
    CampaignStatus,
)
from .reading import CampaignFileError

CHANNELS = ("outbound_call", "inbound_offer", "sms")


CALL_CHANNELS = frozenset({"outbound_call"})


DIAL_MODES = ("preview", "progressive", "predictive")


RETRY_OUTCOMES = ("busy", "no_answer", "answering_machine", "failed", "hung_up", "abandoned", "answered")


PLAN_KEYS = ("campaign_id", "name", "status", "channels", "products", "script", "schedule", "rules", "dial_mode",
             "targets")


RULE_KEYS = ("max_attempts", "retry", "frequency_cap", "abandon_target", "queue", "abandon_after_s", "priority",
             "default_retry_s")


RESERVED_KEYS = frozenset({"CALLBACKS"})  # the standing campaign of agents' callbacks


_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
