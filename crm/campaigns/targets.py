"""Target rows (a CSV list or a plan's inline list) resolved to customers and loaded as work items."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam, insert, select, table, text, update
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from .. import dnc, phones
from ..consent import consent_states
from ..models import (
    DEFAULT_SITE,
    Activity,
    Agent,
    Campaign,
    Customer,
    DoNotCall,
    PhoneNumber,
    Skill,
    Task,
    Tier,
    WorkItem,
    WorkItemStatus,
    masked_values,
)
from .eligibility import ConsentState
from .phonecheck import CheckedPhone, check_many, check_phone
from .plan import CALL_CHANNELS, normalize_key
from .reading import CampaignFileError, _Text
from .rules import InvalidRules, read_rules

TARGET_COLUMNS = ("campaign_id", "customer_id", "phone", "offer", "priority", "segment", "preferred_agent", "skill",
                  "name", "email")
#: What an ``email`` cell must look like: one address, no spaces, a dot in the domain.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f.]+")


_CHUNK = 500
#: Target rows resolved and written together (memory holds about one batch).
BATCH = 20_000


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


#: A batch with at least this many phone cells to check is checked by worker processes (phonenumbers
#: is pure Python: about 0.1 ms a number on one core), while this process writes the batch before it.
#: ``CCENTER_IMPORT_WORKERS`` sets how many (default: every core; 1 checks them in this process).
PARALLEL_FROM = 4_000
#: Phone cells checked already, (cell, region) -> result: a number listed again (in another batch, in
#: another form of the same list, in the next import) is not checked again. Emptied when full.
CACHE_SIZE = 20_000
_checked: dict[tuple[str, str], CheckedPhone] = {}
_pool: Any = None


def _workers() -> int:
    try:
        return max(1, int(os.environ.get("CCENTER_IMPORT_WORKERS", "") or (os.cpu_count() or 1)))
    except ValueError:
        return os.cpu_count() or 1


def _worker_pool(workers: int) -> Any:
    global _pool
    if _pool is None:
        import atexit
        import concurrent.futures
        import multiprocessing

        # spawn, not fork: the importing process holds database connections and threads. The workers
        # import the pure phonecheck module only (no database layer).
        _pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        atexit.register(_pool.shutdown)
    return _pool


class PhoneCheck:
    """Phone cells being checked (by worker processes for a large batch); :meth:`result` waits for them."""

    def __init__(self, region: str, known: dict[str, CheckedPhone], todo: list[str], parts: list[Any]) -> None:
        self.region = region
        self.known = known
        self.todo = todo  # checked in this process by result() when there are no parts
        self.parts = parts  # (cells, future) from the worker processes

    def result(self) -> dict[str, CheckedPhone]:
        found = self.known
        if self.parts:
            for cells, future in self.parts:
                found.update(zip(cells, future.result(), strict=True))
        else:
            found.update(zip(self.todo, check_many(self.todo, self.region), strict=True))
        if len(_checked) + len(found) > CACHE_SIZE:
            _checked.clear()
        if len(found) <= CACHE_SIZE:
            _checked.update(((raw, self.region), checked) for raw, checked in found.items())
        self.parts = []
        self.todo = []
        return found


def start_checking(raws: Iterable[str], region: str) -> PhoneCheck:
    """Start checking each phone cell (:func:`check_phone`): by worker processes for a large batch,
    else when the result is asked for."""
    known: dict[str, CheckedPhone] = {}
    todo: list[str] = []
    for raw in set(raws):
        hit = _checked.get((raw, region))
        if hit is None:
            todo.append(raw)
        else:
            known[raw] = hit
    todo.sort()
    workers = _workers()
    if workers == 1 or len(todo) < PARALLEL_FROM:
        return PhoneCheck(region, known, todo, [])
    pool = _worker_pool(workers)
    size = -(-len(todo) // (workers * 4))
    parts = [(todo[i:i + size], pool.submit(check_many, todo[i:i + size], region)) for i in range(0, len(todo), size)]
    return PhoneCheck(region, known, [], parts)


def check_phones(raws: Iterable[str], region: str) -> dict[str, CheckedPhone]:
    """Each phone cell checked (:func:`check_phone`); by worker processes for a large batch."""
    return start_checking(raws, region).result()


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their endings, one at a time (a ``StringIO`` would copy the whole
    text, at four bytes a character)."""
    if "\n" not in text and "\r" in text:  # old Mac line ends: few files, read as StringIO would
        yield from io.StringIO(text, newline="")
        return
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


class _SeenLines:
    """The first line of each customer this import loaded, per campaign: a temporary table of the
    session's connection (set queries per batch), so that memory does not grow with the file."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.created = False

    def _create(self) -> None:
        if not self.created:
            self.session.execute(text(
                "CREATE TEMPORARY TABLE ccenter_import_seen (campaign_id INTEGER NOT NULL, customer_id INTEGER NOT "
                "NULL, line INTEGER NOT NULL, PRIMARY KEY (campaign_id, customer_id))"
            ))
            self.created = True

    def first_lines(self, campaign_id: int, customer_ids: Iterable[int]) -> dict[int, int]:
        if not self.created:
            return {}
        found: dict[int, int] = {}
        seen = table("ccenter_import_seen", sql_column("campaign_id"), sql_column("customer_id", Integer()),
                     sql_column("line"))
        for among in _among(self.session, seen.c.customer_id, set(customer_ids)):
            found.update((customer_id, line) for customer_id, line in self.session.execute(
                select(seen.c.customer_id, seen.c.line).where(seen.c.campaign_id == campaign_id, among)))
        return found

    def add(self, campaign_id: int, lines: Mapping[int, int]) -> None:
        if not lines:
            return
        self._create()
        _bulk_insert_table(self.session, "ccenter_import_seen", [
            {"campaign_id": campaign_id, "customer_id": customer_id, "line": line}
            for customer_id, line in lines.items()
        ])

    def drop(self) -> None:
        if self.created:
            self.session.execute(text("DROP TABLE ccenter_import_seen"))
            self.created = False


class _CsvRows:
    """The data rows of a target CSV, read as they are iterated (once); ``count`` rows so far."""

    def __init__(self, loaded: _Text, reader: Any, header: list[str], last_line: int) -> None:
        self.loaded = loaded
        self.reader = reader
        self.header = header
        self.last_line = last_line
        self.count = 0

    def __iter__(self) -> Iterator[_Row]:
        reader, header = self.reader, self.header
        width = len(header)
        try:
            for record in reader:
                line = self.last_line + 1
                self.last_line = reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                original = {name: (record[i] if i < len(record) else "") for i, name in enumerate(header)}
                if len(record) > width:
                    original["(extra)"] = ",".join(record[width:])
                self.count += 1
                yield _Row(line, {k: v.strip() for k, v in original.items()}, original)
        except csv.Error as exc:
            raise CampaignFileError(f"{self.loaded.name}: line {reader.line_num}: {exc}") from None


def _rows_from_csv(loaded: _Text, *, need_campaign: bool) -> tuple[list[str], _CsvRows, list[str]]:
    """The header (checked now) and the data rows (read as they are iterated)."""
    reader = csv.reader(_lines(loaded.text))
    header: list[str] | None = None
    last_line = 0
    try:
        for record in reader:
            last_line = reader.line_num
            if any(cell.strip() for cell in record):
                header = [cell.strip().lower() for cell in record]
                break
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
    return header, _CsvRows(loaded, reader, header, last_line), notes


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


def _bulk_insert(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts of the same columns, with every value given): on PostgreSQL with COPY
    (in the session's transaction), elsewhere with one multi-row INSERT per chunk."""
    rows = [masked_values(model, row) for row in rows]  # no card number in clear, as the ORM's writes
    if rows and session.get_bind().dialect.name == "postgresql":
        _bulk_insert_table(session, model.__table__.name, rows)
    elif rows:
        session.execute(insert(model.__table__), rows)


def _bulk_insert_table(session: Session, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """``rows`` into ``table`` (one of ours: its name is not user input): COPY on PostgreSQL."""
    columns = list(rows[0])
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
        return
    session.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                         f"({', '.join(':' + name for name in columns)})"), list(rows))


def _batched(rows: Iterable[_Row], size: int) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _among(session: Session, column: Any, values: Iterable[Any]) -> Iterator[ColumnElement[bool]]:
    """``column IN values`` as few conditions as the database takes: on PostgreSQL one, with the values
    as a single array parameter (a batch's 20,000 values are one bound value, not 20,000 to render
    and send); elsewhere one per chunk of :data:`_CHUNK` (SQLite limits bound parameters)."""
    items = list(values)
    if not items:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, items, type_=postgresql.ARRAY(column.type)))
        return
    for start in range(0, len(items), _CHUNK):
        yield column.in_(items[start:start + _CHUNK])


class _Loader:
    """Resolves target rows to customers and upserts their work items (per campaign channel)."""

    def __init__(self, session: Session, *, region: str, now: datetime, site: str = DEFAULT_SITE) -> None:
        self.session = session
        self.region = region
        self.now = now
        self.counts = _Counts()
        self.agents = {login: agent_id for login, agent_id in session.execute(select(Agent.login, Agent.id)
                                                                                .where(Agent.site == site))}
        self.skills = set(session.scalars(select(Skill.name)))
        self.tasks: dict[tuple[int, int | None, str | None], Task] = {}
        self.seen = _SeenLines(session)  # campaign id, customer id -> the first line that loaded it
        self.phones: dict[str, CheckedPhone] = {}  # the batch's phone cells, checked
        #: Called with the line reached after each batch (a progress bar).
        self.progress: Callable[[int], None] | None = None
        self.consents: dict[str, dict[int, ConsentState]] = {}  # channel -> customer -> consent
        self.emails: dict[int, str] = {}  # customer -> the e-mail address on record (email channel)
        self.consent_required: frozenset[str] = frozenset()

    def load(self, campaign: Campaign, rows: Iterable[_Row], plan_key: str | None,
             channels: Sequence[str] | None = None) -> None:
        """Load ``rows`` into the campaign's activities (those of ``channels`` only, when given).

        Rows go in batches of :data:`BATCH`: each batch's customers, phone owners, do-not-call entries,
        consents and existing work items are read with a few set queries, and its prospects and work
        items written with bulk statements, so that memory holds one batch (and the first line of
        each customer seen, for the duplicate check) whatever the file's size.
        """
        activities = sorted((a for a in campaign.activities if channels is None or a.channel in channels),
                            key=lambda a: a.id)
        for activity in activities:
            for task in activity.tasks:
                self.tasks.setdefault((activity.id, task.agent_id, task.skill), task)
        try:
            self.consent_required = read_rules(campaign.rules, campaign.calling_hours).consent_required
        except InvalidRules:
            self.consent_required = frozenset()
        # The next batch's phone numbers are checked (by worker processes) while this one is written.
        pending: tuple[list[_Row], PhoneCheck] | None = None
        batches: Iterable[list[_Row] | None] = itertools.chain(_batched(rows, BATCH), [None])
        for batch in batches:
            check = None if batch is None else start_checking(
                {row.values.get("phone", "") for row in batch} - {""}, self.region)
            if pending is not None:
                self._load_batch(campaign, activities, pending[0], pending[1], plan_key)
                if self.progress is not None:
                    self.progress(pending[0][-1].line)
            pending = None if batch is None or check is None else (batch, check)

    def _load_batch(self, campaign: Campaign, activities: Sequence[Activity], rows: Sequence[_Row],
                    check: PhoneCheck, plan_key: str | None) -> None:
        session = self.session
        self.phones = check.result()
        good = [(row, parsed) for row in rows if (parsed := self._check(row, campaign, plan_key)) is not None]
        customer_ids = {p["customer_id"] for _, p in good if p["customer_id"] is not None}
        known: set[int] = set()
        for among in _among(session, Customer.id, customer_ids):
            known.update(session.scalars(select(Customer.id).where(among)))
        numbers = {p["phone"] for _, p in good if p["phone"]}
        owners: dict[str, int] = {}
        for among in _among(session, PhoneNumber.e164, numbers):
            for e164, owner in session.execute(
                select(PhoneNumber.e164, PhoneNumber.customer_id).where(among)
                .order_by(PhoneNumber.is_primary.desc(), PhoneNumber.customer_id)
            ):
                owners.setdefault(e164, owner)
        # Rows naming a customer but no phone dial the customer's own (primary) number.
        primary: dict[int, str] = {}
        wanting = {p["customer_id"] for _, p in good if p["phone"] is None and p["customer_id"] in known}
        for among in _among(session, PhoneNumber.customer_id, wanting):
            for owner, e164 in session.execute(
                select(PhoneNumber.customer_id, PhoneNumber.e164).where(among)
                .order_by(PhoneNumber.customer_id, PhoneNumber.is_primary.desc(), PhoneNumber.id)
            ):
                primary.setdefault(owner, e164)
        blocked: set[str] = set()  # as dnc.blocked, with one condition per batch
        for among in _among(session, DoNotCall.e164, numbers | set(primary.values())):
            blocked.update(session.scalars(select(DoNotCall.e164).where(among, dnc.active(self.now))))
        owned = known | set(owners.values())
        self.consents = {a.channel: consent_states(session, owned, a.channel) for a in activities}
        self.emails.clear()
        if any(a.channel == "email" for a in activities):
            for among in _among(session, Customer.id, owned):
                for holder, address in session.execute(
                        select(Customer.id, Customer.email).where(among, Customer.email.is_not(None))):
                    if address:
                        self.emails[holder] = address
        existing: dict[tuple[int, int], dict[str, Any]] = {}
        activity_ids = [a.id for a in activities]
        for among in _among(session, WorkItem.customer_id, owned):
            for found in session.execute(
                select(WorkItem.id, WorkItem.activity_id, WorkItem.customer_id, WorkItem.task_id,
                       WorkItem.phone_e164, WorkItem.offer, WorkItem.priority, WorkItem.agent_id)
                .where(WorkItem.activity_id.in_(activity_ids), among)
            ).mappings():
                existing[(found["activity_id"], found["customer_id"])] = dict(found)

        earlier = self.seen.first_lines(campaign.id, owned)
        seen: dict[int, int] = {}  # customer id -> first line, of this batch
        # Decide each row in file order; new prospects are keyed by their phone until they have an id.
        decided: list[tuple[_Row, dict[str, Any], int | str, str | None, list[Activity]]] = []
        prospects: dict[str, dict[str, Any]] = {}  # phone -> the prospect's values (first row wins)
        pending_seen: dict[str, int] = {}  # new prospect's phone -> first line
        segments: dict[int, str] = {}
        addresses: dict[int, str] = {}  # customer -> an e-mail address the file gives and the CRM lacked
        for row, parsed in good:
            phone: str | None = parsed["phone"]
            customer_id: int | None = parsed["customer_id"]
            if customer_id is not None and customer_id not in known:
                self.reject(row, f"unknown customer_id {customer_id}")
                continue
            if customer_id is None and phone is not None and phone in owners:
                customer_id = owners[phone]
            if customer_id is not None:
                first = earlier.get(customer_id) or seen.get(customer_id)
            else:
                first = pending_seen.get(phone or "")
            if first is not None:
                self.reject(row, f"duplicate of line {first} (same customer)")
                continue
            if phone is None and customer_id is not None:
                phone = primary.get(customer_id)
            email = (self.emails.get(customer_id) if customer_id is not None else None) or parsed["email"]
            skips: dict[str, list[str]] = {}  # why -> the channels left out for it
            for activity in activities:
                why = self._refusal(activity.channel, phone, customer_id, blocked, email)
                if why:
                    skips.setdefault(why, []).append(activity.channel)
            skipped = {channel for left_out in skips.values() for channel in left_out}
            channels = [a for a in activities if a.channel not in skipped]
            if skips:
                if not channels:
                    self.reject(row, "; ".join(skips))
                    continue
                for why, left_out in skips.items():
                    self.reject(row, f"{why}: no {', '.join(left_out)} work item {_PARTIAL}")
            key: int | str
            if customer_id is None:
                assert phone is not None
                prospects.setdefault(phone, parsed)
                pending_seen[phone] = row.line
                key = phone
            else:
                key = customer_id
                seen[customer_id] = row.line
                if parsed["segment"]:
                    segments[customer_id] = parsed["segment"]
                if parsed["email"] and customer_id not in self.emails:  # an address the CRM lacked
                    addresses[customer_id] = parsed["email"]
                    self.emails[customer_id] = parsed["email"]
            decided.append((row, parsed, key, phone, channels))

        new_ids = self._insert_prospects(prospects)
        for phone, line in pending_seen.items():
            seen[new_ids[phone]] = line
        self.seen.add(campaign.id, seen)
        if segments:
            current: dict[int, str | None] = {}
            for among in _among(session, Customer.id, segments):
                query = select(Customer.id, Customer.segment).where(among)
                current.update((cid, segment) for cid, segment in session.execute(query))
            changed = [{"id": cid, "segment": seg} for cid, seg in segments.items() if current.get(cid) != seg]
            if changed:
                session.execute(update(Customer), [masked_values(Customer, row) for row in changed])
        if addresses:
            session.execute(update(Customer), [{"id": cid, "email": address} for cid, address in addresses.items()])
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        created_at = datetime.now(UTC)
        for _row, parsed, key, phone, channels in decided:
            target = new_ids[key] if isinstance(key, str) else key
            for activity in channels:
                task = self._task(activity, parsed["agent_id"], parsed["skill"])
                wanted = {"task_id": task.id, "phone_e164": phone, "offer": parsed["offer"],
                          "priority": parsed["priority"], "agent_id": parsed["agent_id"]}
                item = existing.get((activity.id, target))
                if item is None:
                    inserts.append({"activity_id": activity.id, "customer_id": target,
                                    "status": WorkItemStatus.PENDING.value, "attempt_count": 0,
                                    "created_at": created_at, **wanted})
                    self.counts.created += 1
                elif any(item[name] != value for name, value in wanted.items()):
                    updates.append({"id": item["id"], **wanted})
                    self.counts.updated += 1
                else:
                    self.counts.unchanged += 1
        if inserts:
            _bulk_insert(session, WorkItem, inserts)
        if updates:
            session.execute(update(WorkItem), [masked_values(WorkItem, row) for row in updates])

    def _insert_prospects(self, prospects: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
        """Create a prospect customer for each phone (with that number, primary); phone -> new id."""
        if not prospects:
            return {}
        numbers = list(prospects)
        now = datetime.now(UTC)
        rows = []
        for phone in numbers:
            parsed = prospects[phone]
            zone = parsed["zone"]
            rows.append({  # masked as they are written (by _bulk_insert, or here for SQLite's INSERT)
                "name": (parsed["name"] or phones.display(phone))[:200], "tier": Tier.PROSPECT.value,
                "segment": parsed["segment"], "language": "en", "email": parsed["email"],
                "time_zone": zone or "UTC", "created_at": now})
        if self.session.get_bind().dialect.name == "postgresql":
            ids = list(self.session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('customer', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            ))
            for row, customer_id in zip(rows, ids, strict=True):
                row["id"] = customer_id
            _bulk_insert(self.session, Customer, rows)
        else:
            ids = list(self.session.scalars(
                insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
                [masked_values(Customer, row) for row in rows]))
        _bulk_insert(self.session, PhoneNumber, [
            {"customer_id": customer_id, "e164": phone, "kind": "mobile", "is_primary": True}
            for phone, customer_id in zip(numbers, ids, strict=True)
        ])
        self.counts.prospects += len(ids)
        return dict(zip(numbers, ids, strict=True))

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
        if "\x00" in "".join(values) or "\x00" in "".join(values.values()):  # every key and value is a str
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
        phone = zone = None
        if raw_phone:
            checked = self.phones.get(raw_phone) or check_phone(raw_phone, self.region)
            if checked.error is not None:
                self.reject(row, f"phone: {checked.error}")
                return None
            phone, zone = checked.e164, checked.zone
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
            "customer_id": customer_id, "phone": phone, "zone": zone, "priority": priority, "offer": str(offer),
            "agent_id": self.agents[login] if login else None, "skill": skill,
            "name": values.get("name") or None, "segment": values.get("segment") or None,
        }

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
