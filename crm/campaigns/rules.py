"""The campaign rules: one typed model, checked when a plan is imported and read back the same way.

A plan's ``rules`` and ``schedule.hours`` are checked key by key (:func:`check_rules`,
:func:`check_hours`, every problem named by its key) and stored on the campaign in that checked,
normalized form (durations in seconds, days as numbers). :func:`read_rules` turns what is stored into
a :class:`CampaignRules`, checking it again, so that the dialer, the agents' preview and the offers
shown on inbound calls all read one model (see :mod:`crm.campaigns.eligibility`).

Pure: no database, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any, NamedTuple

from ..errors import CrmError

#: Attempts on a work item when the plan does not say (``rules.max_attempts``).
DEFAULT_MAX_ATTEMPTS = 3
#: Outcomes of an attempt that ``rules.retry`` may give a delay for.
RETRY_OUTCOMES = ("busy", "no_answer", "answering_machine", "failed", "hung_up", "abandoned", "answered")
#: Retry delays (seconds) for the outcomes a plan's ``retry`` does not name.
DEFAULT_RETRY_S: Mapping[str, float] = {
    "busy": 900.0, "no_answer": 3600.0, "answering_machine": 7200.0, "failed": 600.0, "hung_up": 3600.0,
    "abandoned": 86400.0, "answered": 86400.0,
}  # fmt: skip
RULE_KEYS = ("max_attempts", "retry", "frequency_cap", "abandon_target", "queue", "abandon_after_s", "priority",
             "default_retry_s", "dispositions", "consent_required")
#: The channels a campaign works on (a plan's ``channels``).
CAMPAIGN_CHANNELS = ("outbound_call", "inbound_offer", "sms", "email")
ALL_DAYS = frozenset(range(7))
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_TEXT = re.compile(r"^\s*(\d{1,2}:\d{2})\s*(?:-|~|to|至)\s*(\d{1,2}:\d{2})\s*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DISPOSITION_LIMIT = 64  # the length of a contact's disposition


class InvalidRules(CrmError):
    """Campaign rules that break the plan format (the message names every key that is wrong)."""


class FrequencyCap(NamedTuple):
    """At most ``contacts`` reached contacts per customer in ``days`` days, across campaigns."""

    contacts: int
    days: int


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """A campaign's rules (the plan's ``rules``) and calling hours (``schedule.hours``)."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_s: Mapping[str, float] = field(default_factory=dict)  # the plan's delays per outcome
    default_retry_s: float = 3600.0  # after an outcome no table names (a skip, an offer's callback)
    frequency_cap: FrequencyCap | None = None
    abandon_target: float = 0.03
    abandon_after_s: float = 2.0
    queue: str | None = None
    priority: int = 0
    dispositions: tuple[str, ...] = ()  # the campaign's own wrap-up codes; empty: the queue's
    consent_required: frozenset[str] = frozenset()  # channels offered only to customers who agreed (opt-in)
    calling_hours: tuple[time, time] = (time(0), time.max)  # in the customer's own time: [start, end)
    calling_days: frozenset[int] = ALL_DAYS  # weekday(): Monday 0 .. Sunday 6

    def retry_delay(self, outcome: str | None) -> float:
        """Seconds to wait after an attempt that ended in ``outcome``: the plan's, else the default."""
        key = outcome or ""
        if key in self.retry_s:
            return self.retry_s[key]
        return DEFAULT_RETRY_S.get(key, self.default_retry_s)


class Problems:
    """Problems found while checking, each named by its key."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key}: {message}")


def whole(value: Any, key: str, problems: Problems, *, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.add(key, f"must be a whole number >= {minimum}")
        return None
    return value


def seconds(value: Any, key: str, problems: Problems) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str) and (match := _DURATION.match(value.lower())):
        return float(match.group(1)) * _UNITS[match.group(2)]
    problems.add(key, 'must be seconds (a number >= 0) or a duration such as "15m", "2h", "1d"')
    return None


def _clock(value: Any, key: str, problems: Problems) -> str | None:
    if isinstance(value, str) and (match := re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)):
        hours, minutes = int(match.group(1)), int(match.group(2))
        if (hours < 24 and minutes < 60) or (hours, minutes) == (24, 0):
            return f"{hours:02d}:{minutes:02d}"
    problems.add(key, 'must be a time of day "HH:MM" (00:00 to 24:00)')
    return None


def check_hours(value: Any, problems: Problems) -> dict[str, Any]:
    """``schedule.hours`` checked and normalized: ``{"start": "HH:MM", "end": "HH:MM", "days": [0..6]}``.

    Written as an object (``{"start": "09:00", "end": "20:00", "days": ["mon", "fri"]}``) or as a text
    ``"09:00-20:00"`` (every day; full-width digits and colons, ``~``, dashes and ``至`` are read too).
    """
    key = "schedule.hours"
    if value is None:
        return {}
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).replace("\u2013", "-").replace("\u2014", "-")
        match = _HOURS_TEXT.match(text.lower())
        if match is None:
            problems.add(key, f'{value!r} is not calling hours such as "09:00-20:00"')
            return {}
        value = {"start": match.group(1), "end": match.group(2)}
    if not isinstance(value, Mapping):
        problems.add(key, 'must be "09:00-20:00" or an object such as '
                          '{"start": "09:00", "end": "20:00", "days": ["mon", "fri"]}')
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


def check_rules(value: Any, problems: Problems) -> dict[str, Any]:
    """A plan's ``rules`` checked and normalized (durations in seconds), as stored on the campaign."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add("rules", "must be an object")
        return {}
    rules: dict[str, Any] = {}
    for extra in sorted(set(value) - set(RULE_KEYS)):
        problems.add(f"rules.{extra}", f"unknown key; expected one of {', '.join(RULE_KEYS)}")
    if "max_attempts" in value:
        rules["max_attempts"] = whole(value["max_attempts"], "rules.max_attempts", problems, minimum=1)
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
                rules["retry"][outcome] = seconds(delay, f"rules.retry.{outcome}", problems)
    if "default_retry_s" in value:
        rules["default_retry_s"] = seconds(value["default_retry_s"], "rules.default_retry_s", problems)
    if "frequency_cap" in value:
        cap = value["frequency_cap"]
        if isinstance(cap, Mapping):
            for extra in sorted(set(cap) - {"contacts", "days"}, key=str):
                problems.add(f"rules.frequency_cap.{extra}", "unknown key; expected contacts, days")
        if not isinstance(cap, Mapping) or not {"contacts", "days"} <= set(cap):
            problems.add("rules.frequency_cap", 'must be {"contacts": N, "days": D}')
        elif set(cap) == {"contacts", "days"}:
            rules["frequency_cap"] = {
                "contacts": whole(cap["contacts"], "rules.frequency_cap.contacts", problems, minimum=1),
                "days": whole(cap["days"], "rules.frequency_cap.days", problems, minimum=1),
            }
    if "abandon_target" in value:
        target = value["abandon_target"]
        if isinstance(target, int | float) and not isinstance(target, bool) and 0 < target < 1:
            rules["abandon_target"] = float(target)
        else:
            problems.add("rules.abandon_target", "must be a fraction between 0 and 1, such as 0.03 for 3 %")
    if "abandon_after_s" in value:
        rules["abandon_after_s"] = seconds(value["abandon_after_s"], "rules.abandon_after_s", problems)
    if "priority" in value:
        rules["priority"] = whole(value["priority"], "rules.priority", problems, minimum=0)
    if "queue" in value:
        if isinstance(value["queue"], str) and value["queue"].strip():
            rules["queue"] = value["queue"].strip()
        else:
            problems.add("rules.queue", "must be a queue name")
    if "dispositions" in value:
        rules["dispositions"] = _dispositions(value["dispositions"], problems)
    if "consent_required" in value:
        required = value["consent_required"]
        if not isinstance(required, list) or any(c not in CAMPAIGN_CHANNELS for c in required):
            problems.add("rules.consent_required",
                         f"must be a list of channels ({', '.join(CAMPAIGN_CHANNELS)}) offered only with consent")
        else:
            rules["consent_required"] = sorted(set(required))
    return rules


def _dispositions(value: Any, problems: Problems) -> list[str]:
    key = "rules.dispositions"
    if not isinstance(value, list) or not value:
        problems.add(key, 'must be a non-empty list of disposition codes, such as ["sale", "no_sale"]')
        return []
    codes: list[str] = []
    for code in value:
        if not isinstance(code, str) or not code.strip():
            problems.add(key, f"{code!r} is not a disposition code (a non-empty text)")
        elif len(code.strip()) > _DISPOSITION_LIMIT:
            problems.add(key, f"{code.strip()[:20]!r}... is longer than {_DISPOSITION_LIMIT} characters")
        elif code.strip() in codes:
            problems.add(key, f"{code.strip()!r} is listed twice")
        else:
            codes.append(code.strip())
    return codes


def _time_of(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time.max if hours == 24 else time(hours, minutes)


def build(rules: Mapping[str, Any], hours: Mapping[str, Any]) -> CampaignRules:
    """The typed rules of checked, normalized ``rules`` and ``hours`` (see :func:`read_rules`)."""
    cap = rules.get("frequency_cap")
    days = hours.get("days")
    return CampaignRules(
        max_attempts=int(rules.get("max_attempts") or DEFAULT_MAX_ATTEMPTS),
        retry_s={str(k): float(v) for k, v in dict(rules.get("retry") or {}).items()},
        default_retry_s=float(rules.get("default_retry_s", 3600.0)),
        frequency_cap=FrequencyCap(int(cap["contacts"]), int(cap["days"])) if cap else None,
        abandon_target=float(rules.get("abandon_target", 0.03)),
        abandon_after_s=float(rules.get("abandon_after_s", 2.0)),
        queue=rules.get("queue") or None,
        priority=int(rules.get("priority", 0)),
        dispositions=tuple(rules.get("dispositions") or ()),
        consent_required=frozenset(rules.get("consent_required") or ()),
        calling_hours=(_time_of(hours.get("start", "00:00")), _time_of(hours.get("end", "24:00"))),
        calling_days=frozenset(int(d) for d in days) if days is not None else ALL_DAYS,
    )


def read_rules(rules: Mapping[str, Any] | None, hours: Mapping[str, Any] | None) -> CampaignRules:
    """A campaign's stored ``rules`` and ``calling_hours`` as :class:`CampaignRules`; raises
    :class:`InvalidRules` (naming every wrong key) when they break the plan format."""
    problems = Problems()
    checked_rules = check_rules(rules or {}, problems)
    checked_hours = check_hours(hours or None, problems)
    if problems.items:
        raise InvalidRules("; ".join(problems.items))
    return build(checked_rules, checked_hours)
