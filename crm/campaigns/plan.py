"""The campaign plan (JSON) checked key by key: every problem named, nothing written when one is found."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..models import (
    CampaignStatus,
)
from .reading import CampaignFileError
from .rules import CAMPAIGN_CHANNELS, CampaignRules, Problems, build, check_hours, check_rules

CHANNELS = CAMPAIGN_CHANNELS
CALL_CHANNELS = frozenset({"outbound_call"})
DIAL_MODES = ("preview", "progressive", "predictive")
PLAN_KEYS = ("campaign_id", "name", "status", "channels", "products", "script", "schedule", "rules", "dial_mode",
             "targets")
RESERVED_KEYS = frozenset({"CALLBACKS"})  # the standing campaign of agents' callbacks
#: A campaign id: letters and digits of any script (Chinese included), with '.', '_' and '-' inside.
_KEY_PATTERN = re.compile(r"^[^\W_][\w.-]{0,63}$")


def normalize_key(text: str) -> str:
    """A campaign id as stored and compared: trimmed, in Unicode NFC (one spelling per id)."""
    return unicodedata.normalize("NFC", text.strip())


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
    rules: dict[str, Any]  # checked and normalized, as stored on the campaign
    dial_mode: str
    targets: list[Any] | str | None  # rows, or the path of a CSV beside the plan
    campaign_rules: CampaignRules = field(default_factory=CampaignRules)  # ``rules`` and ``calling_hours``, typed








def _moment(value: Any, key: str, problems: Problems, *, end: bool) -> datetime | None:
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








def _text(value: Any, key: str, problems: Problems, *, limit: int, required: bool = False) -> str | None:
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
    problems = Problems()
    if not isinstance(document, Mapping):
        raise CampaignFileError("a plan must be a JSON object with campaign_id, name, channels, ...")
    for extra in sorted(set(document) - set(PLAN_KEYS)):
        problems.add(extra, f"unknown key; expected one of {', '.join(PLAN_KEYS)}")
    key = document.get("campaign_id")
    if isinstance(key, int) and not isinstance(key, bool) and key >= 0:
        key = str(key)  # BI tools write numeric ids as numbers
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(normalize_key(key)):
        problems.add("campaign_id", "must be 1 to 64 letters (of any script), digits, '.', '_' or '-' "
                                    "(such as Q1-FIBER or 春季宽带-2025)")
        key = ""
    elif normalize_key(key) in RESERVED_KEYS:
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
        hours = check_hours(schedule.get("hours"), problems)
    rules = check_rules(document.get("rules"), problems)
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
        campaign_key=normalize_key(str(key)), name=name or "", status=status, channels=tuple(channels),
        products=tuple(products), script=script, starts_at=starts_at, ends_at=ends_at, calling_hours=hours,
        rules=rules, dial_mode=str(dial_mode), targets=targets.strip() if isinstance(targets, str) else targets,
        campaign_rules=build(rules, hours),
    )
