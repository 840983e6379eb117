"""Target rows (a CSV list or a plan's inline list) resolved to customers and loaded as work items."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import dnc, phones
from ..consent import consent_states
from ..errors import InvalidPhoneNumber
from ..models import (
    Activity,
    Agent,
    Campaign,
    Customer,
    PhoneNumber,
    Skill,
    Task,
    Tier,
    WorkItem,
    WorkItemStatus,
)
from .eligibility import ConsentState
from .plan import CALL_CHANNELS, normalize_key
from .reading import CampaignFileError, _Text
from .rules import InvalidRules, read_rules

TARGET_COLUMNS = ("campaign_id", "customer_id", "phone", "offer", "priority", "segment", "preferred_agent", "skill",
                  "name", "email")
#: What an ``email`` cell must look like: one address, no spaces, a dot in the domain.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f.]+")


_CHUNK = 500


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
        self.consents: dict[str, dict[int, ConsentState]] = {}  # channel -> customer -> consent
        self.emails: dict[int, str] = {}  # customer -> the e-mail address on record (email channel)
        self.consent_required: frozenset[str] = frozenset()

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
            blocked.update(dnc.blocked(self.session, chunk, now=self.now))
        try:
            self.consent_required = read_rules(campaign.rules, campaign.calling_hours).consent_required
        except InvalidRules:
            self.consent_required = frozenset()
        owned = known | set(owners.values())
        self.consents = {a.channel: consent_states(self.session, owned, a.channel) for a in activities}
        self.emails.clear()
        if any(a.channel == "email" for a in activities):
            for chunk in _chunks(owned):
                for customer_id, address in self.session.execute(
                        select(Customer.id, Customer.email).where(Customer.id.in_(chunk), Customer.email.is_not(None))):
                    if address:
                        self.emails[customer_id] = address
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
        if any("\x00" in value for value in (*values, *values.values()) if isinstance(value, str)):
            self.reject(row, "a cell holds a NUL byte")
            return None
        if plan_key is not None and values.get("campaign_id") and normalize_key(values["campaign_id"]) != plan_key:
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
        email = values.get("email") or None
        if email is not None and (len(email) > 254 or not _EMAIL.fullmatch(email)):
            self.reject(row, f"email {email[:60]!r} is not an e-mail address")
            return None
        return {
            "email": email,
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
            if phone is not None and dnc.is_blocked(self.session, phone, now=self.now):
                blocked.add(phone)  # the customer's own number, not in the file: looked up here
        email = self.emails.get(customer_id) if customer_id is not None else None
        email = email or parsed["email"]
        skips: dict[str, list[str]] = {}  # why -> the channels left out for it
        for activity in channels:
            why = self._refusal(activity.channel, phone, customer_id, blocked, email)
            if why:
                skips.setdefault(why, []).append(activity.channel)
        skipped = {channel for left_out in skips.values() for channel in left_out}
        channels = [a for a in channels if a.channel not in skipped]
        if skips:
            if not channels:
                self.reject(row, "; ".join(skips))
                return
            for why, left_out in skips.items():
                self.reject(row, f"{why}: no {', '.join(left_out)} work item {_PARTIAL}")
        if customer_id is None:
            assert phone is not None
            customer_id = self._prospect(phone, parsed)
            owners[phone] = customer_id
        elif parsed["segment"] or (parsed["email"] and customer_id not in self.emails):
            customer = self.session.get(Customer, customer_id)
            if customer is not None and parsed["segment"] and customer.segment != parsed["segment"]:
                customer.segment = parsed["segment"]
            if customer is not None and parsed["email"] and not customer.email:  # an address the CRM lacked
                customer.email = parsed["email"]
                self.emails[customer_id] = parsed["email"]
        self.seen[(campaign.id, customer_id)] = row.line
        for activity in channels:
            self._upsert(activity, customer_id, phone, parsed)

    def _refusal(self, channel: str, phone: str | None, customer_id: int | None, blocked: set[str],
                 email: str | None = None) -> str | None:
        """Why the row gets no work item on ``channel`` (None: it gets one)."""
        if phone is None and channel in CALL_CHANNELS | {"sms"}:
            return "the customer has no phone number"
        if channel == "sms" and phone is not None and not phones.takes_sms(phone):
            return f"{phone} is not a mobile number"
        if channel == "email" and email is None:
            return "the customer has no e-mail address (give one in the email column)"
        if phone is not None and phone in blocked and channel in CALL_CHANNELS:
            return f"{phone} is on the do-not-call list"
        state = self.consents.get(channel, {}).get(customer_id or 0, ConsentState.UNKNOWN)
        if state is ConsentState.REFUSED:
            return f"the customer refused marketing by {channel.replace('_', ' ')}"
        if state is ConsentState.UNKNOWN and channel in self.consent_required:
            return f"no consent on record for {channel.replace('_', ' ')} (the campaign requires it)"
        return None

    def _prospect(self, phone: str, parsed: dict[str, Any]) -> int:
        zone = phones.time_zone_of(phone)
        customer = Customer(
            name=(parsed["name"] or phones.display(phone))[:200], tier=Tier.PROSPECT, segment=parsed["segment"],
            time_zone=str(zone) if zone else "UTC", email=parsed["email"],
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
