"""The do-not-call list: numbers that no outbound campaign may call, from any source.

Entries come from national registries (``ccenter dnc import``: millions of numbers), from people
(``ccenter dnc add``) and from customers themselves: "do not call me" at an agent's wrap-up
(:func:`add` in the contact's own transaction, so it applies to every campaign at once). Numbers are
stored in E.164 only (``crm.phones``), one row each (the ``e164`` column is unique, so a look-up is
one index probe); an entry may expire (``expires_at``).

:func:`blocked` and :func:`listed` are the one definition of "on the list now" that the dialer, the
agents' preview and the campaign import read. Writes happen in the caller's session: run them inside
``crm.db.transaction``. :func:`import_numbers` streams a file (one number a line, or a CSV with a
phone column) in batches and writes unusable lines with their line number to ``<name>.rejects.csv``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from . import phones
from .errors import CrmError, InvalidData, InvalidPhoneNumber
from .models import DoNotCall, utcnow

logger = logging.getLogger(__name__)

#: Numbers written per statement while importing (and looked up per statement).
BATCH = 5_000
#: Rejects kept in an import's report (all of them go to the reject file).
REPORTED_REJECTS = 100
#: Header names (letters only, lower case) of the columns that hold the number; several are joined
#: in order, for registries that split the area code from the number.
NUMBER_COLUMNS = ("e164", "phone", "phonenumber", "number", "msisdn", "telephone", "tel", "mobile", "areacode")
#: Where a "do not call me" said to an agent comes from.
AGENT_SOURCE = "wrap-up"

_SEPARATORS = re.compile(r"[,;\t|]")
_LIMIT_REASON = 200
_LIMIT_SOURCE = 64


class DncFileError(CrmError):
    """A do-not-call file that cannot be read at all (nothing of it was written)."""


@dataclass(frozen=True, slots=True)
class DncEntry:
    e164: str
    reason: str | None
    source: str | None
    added_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class DncReject:
    line: int
    reason: str
    text: str


@dataclass(slots=True)
class DncImportReport:
    """What an import did: lines read, numbers added, those already listed, rejects by line."""

    source: str
    lines: int = 0
    added: int = 0
    already_listed: int = 0
    removed: int = 0  # entries of the same source removed first (``replace``)
    rejected: int = 0
    rejects: list[DncReject] = field(default_factory=list)  # the first REPORTED_REJECTS
    rejects_path: Path | None = None


def active(now: datetime) -> ColumnElement[bool]:
    """Entries in force at ``now`` (never expiring, or expiring later)."""
    return or_(DoNotCall.expires_at.is_(None), DoNotCall.expires_at > now)


def listed(number: Any, now: datetime) -> ColumnElement[bool]:
    """A SQL condition: the number in ``number`` (an E.164 column) is on the list at ``now``."""
    return exists().where(DoNotCall.e164 == number, active(now))


def _chunks(values: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    chunk: list[str] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def blocked(session: Session, numbers: Iterable[str | None], *, now: datetime) -> set[str]:
    """Which of ``numbers`` (E.164) are on the list at ``now``."""
    out: set[str] = set()
    for chunk in _chunks({n for n in numbers if n}):
        out.update(session.scalars(select(DoNotCall.e164).where(DoNotCall.e164.in_(chunk), active(now))))
    return out


def is_blocked(session: Session, number: str, *, now: datetime) -> bool:
    return bool(blocked(session, [number], now=now))


def normalize(raw: str, region: str) -> str:
    """A number as stored: valid E.164 (a national number is read in ``region``)."""
    return phones.to_e164(raw, region, valid_only=True)


def _text(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def _insert(session: Session, rows: Sequence[dict[str, object]]) -> int:
    """Insert entries that are not listed yet (one statement per batch); returns how many were new."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement: Any = postgresql.insert(DoNotCall).on_conflict_do_nothing(index_elements=["e164"])
    else:
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(DoNotCall).on_conflict_do_nothing(index_elements=["e164"])
    return len(session.execute(statement.returning(DoNotCall.e164), list(rows)).all())


def add(session: Session, numbers: Iterable[str], *, region: str = "US", reason: str | None = None,
        source: str | None = None, expires_at: datetime | None = None, now: datetime | None = None) -> list[str]:
    """List ``numbers`` (any written form; raises :class:`~crm.errors.InvalidPhoneNumber` naming a bad
    one, before anything is written). Someone's own request outlasts a registry's edition: a number
    listed already takes this entry's source, reason and expiry. Returns the numbers (E.164) that
    were not listed before."""
    now = now or utcnow()
    if expires_at is not None and expires_at.tzinfo is None:
        raise InvalidData("an expiry needs a time zone")
    wanted = list(dict.fromkeys(normalize(n, region) for n in numbers))
    values = {"reason": _text(reason, _LIMIT_REASON), "source": _text(source, _LIMIT_SOURCE), "expires_at": expires_at}
    fresh: list[str] = []
    for chunk in _chunks(wanted):
        session.execute(delete(DoNotCall).where(DoNotCall.e164.in_(chunk), ~active(now)))
        session.execute(update(DoNotCall).where(DoNotCall.e164.in_(chunk)).values(**values))
        before = set(session.scalars(select(DoNotCall.e164).where(DoNotCall.e164.in_(chunk))))
        fresh.extend(n for n in chunk if n not in before)
    _insert(session, [{"e164": n, "added_at": now, **values} for n in fresh])
    if wanted:
        logger.info("do-not-call: %d number(s) listed, %d new (source %s)", len(wanted), len(fresh), source or "-")
    return fresh


def remove(session: Session, numbers: Iterable[str] = (), *, region: str = "US", source: str | None = None) -> int:
    """Take ``numbers`` off the list, or every entry of ``source``; returns how many entries went."""
    removed = 0
    wanted = [normalize(n, region) for n in numbers]
    for chunk in _chunks(wanted):
        removed += int(session.execute(delete(DoNotCall).where(DoNotCall.e164.in_(chunk))).rowcount or 0)  # type: ignore[attr-defined]
    if source is not None:
        removed += int(session.execute(delete(DoNotCall).where(DoNotCall.source == source)).rowcount or 0)  # type: ignore[attr-defined]
    if removed:
        logger.info("do-not-call: %d entr%s removed", removed, "y" if removed == 1 else "ies")
    return removed


def entries(session: Session, *, source: str | None = None, prefix: str | None = None,
            limit: int | None = None, include_expired: bool = False, now: datetime | None = None
            ) -> Iterator[DncEntry]:
    """The entries in number order (those of ``source``, or starting with ``prefix``), streamed."""
    now = now or utcnow()
    query = select(DoNotCall).order_by(DoNotCall.e164)
    if source is not None:
        query = query.where(DoNotCall.source == source)
    if prefix:
        query = query.where(DoNotCall.e164.startswith(prefix, autoescape=True))
    if not include_expired:
        query = query.where(active(now))
    if limit is not None:
        query = query.limit(limit)
    for row in session.execute(query.execution_options(yield_per=BATCH)).scalars():
        yield DncEntry(row.e164, row.reason, row.source, row.added_at, row.expires_at)


def count(session: Session, *, source: str | None = None, now: datetime | None = None) -> int:
    query = select(func.count()).select_from(DoNotCall).where(active(now or utcnow()))
    if source is not None:
        query = query.where(DoNotCall.source == source)
    return int(session.scalar(query) or 0)


# --- import ------------------------------------------------------------------------------------


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _lines(text: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text, start=1):
        yield number, line.rstrip("\r\n")


class _Numbers:
    """Lines of a do-not-call file turned into numbers: one number a line, or a CSV with a header."""

    def __init__(self) -> None:
        self.columns: list[int] | None = None  # the number columns, once a header was read
        self.started = False  # a line with content was read (only the first can be a header)

    def number_of(self, line: str) -> str | None:
        """The line's number as written (None: a blank line, a comment or the header)."""
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return None
        first, self.started = not self.started, True
        if first and not any(ch.isdigit() for ch in stripped):
            names = [_letters(name) for name in next(csv.reader([stripped]))]
            self.columns = [i for i, name in enumerate(names) if name in NUMBER_COLUMNS]
            if not self.columns:
                raise DncFileError(f"the header names no number column ({stripped[:80]!r}); name one "
                                   f"{', '.join(NUMBER_COLUMNS[:4])}, or give one number a line without a header")
            return None
        if self.columns is not None:
            cells = next(csv.reader([stripped]))
            if len(cells) <= max(self.columns):
                return ""
            return "".join(cells[i].strip() for i in self.columns)
        return "".join(part.strip() for part in _SEPARATORS.split(stripped))


def import_numbers(session: Session, source_file: str | os.PathLike[str] | IO[bytes], *, region: str = "US",
                   source: str, reason: str | None = None, expires_at: datetime | None = None,
                   replace: bool = False, now: datetime | None = None) -> DncImportReport:
    """Stream a file of numbers onto the list under ``source`` (such as ``national-2025-03``).

    ``replace``: first take every entry of ``source`` off (a registry's new edition replaces the old
    one; entries of other sources stay). Unusable lines are counted and written, with their line
    number and reason, to ``<name>.rejects.csv`` beside a file given by path.
    """
    now = now or utcnow()
    if not source.strip():
        raise InvalidData("say where the numbers come from (a source name)")
    if expires_at is not None and expires_at.tzinfo is None:
        raise InvalidData("an expiry needs a time zone")
    path: Path | None = None
    if isinstance(source_file, str | os.PathLike):
        path = Path(source_file)
        try:
            stream: IO[bytes] = path.open("rb")
        except FileNotFoundError:
            raise DncFileError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise DncFileError(f"{path} is a folder, not a file") from None
        except OSError as exc:
            raise DncFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    else:
        stream = source_file
    report = DncImportReport(source=str(path) if path else getattr(source_file, "name", "<input>"))
    rejects_path = path.with_name(f"{path.stem}.rejects.csv") if path is not None else None
    reject_file = None
    reject_writer = None
    source_name, reason_text = _text(source, _LIMIT_SOURCE), _text(reason, _LIMIT_REASON)

    def reject(line: int, why: str, text: str) -> None:
        nonlocal reject_file, reject_writer
        report.rejected += 1
        if len(report.rejects) < REPORTED_REJECTS:
            report.rejects.append(DncReject(line, why, text))
        if rejects_path is not None:
            if reject_writer is None:
                try:
                    reject_file = rejects_path.open("w", encoding="utf-8-sig", newline="")
                except OSError as exc:
                    raise DncFileError(f"cannot write the reject file {rejects_path}: {exc.strerror or exc}") from None
                reject_writer = csv.writer(reject_file)
                reject_writer.writerow(["line", "reason", "text"])
            reject_writer.writerow([line, why, text])

    try:
        if replace:
            report.removed = remove(session, source=source_name)
        session.execute(delete(DoNotCall).where(~active(now)))  # expired entries make way for new ones
        numbers = _Numbers()
        batch: dict[str, int] = {}

        def flush() -> None:
            added = _insert(session, [{"e164": n, "reason": reason_text, "source": source_name, "added_at": now,
                                       "expires_at": expires_at} for n in batch])
            report.added += added
            report.already_listed += len(batch) - added
            batch.clear()

        # Read as UTF-8 (a BOM is dropped; bytes that are not UTF-8 make a line that is rejected).
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
        try:
            for line_number, line in _lines(text):
                report.lines = line_number
                written = numbers.number_of(line)
                if written is None:
                    continue
                if not written:
                    reject(line_number, "no number in this line", line)
                    continue
                try:
                    e164 = normalize(written, region)
                except InvalidPhoneNumber as exc:
                    reject(line_number, str(exc), line)
                    continue
                if e164 in batch:
                    report.already_listed += 1
                    continue
                batch[e164] = line_number
                if len(batch) >= BATCH:
                    flush()
        finally:
            if path is not None:
                text.close()
            else:
                text.detach()  # the caller's stream stays open
        flush()
    finally:
        if reject_file is not None:
            reject_file.close()
    if rejects_path is not None:
        if report.rejected:
            report.rejects_path = rejects_path
        else:
            rejects_path.unlink(missing_ok=True)
    logger.info("do-not-call import of %s (source %s): %d lines, %d added, %d already listed, %d rejected",
                report.source, source_name, report.lines, report.added, report.already_listed, report.rejected)
    return report


def customer_asked(session: Session, *, customer_id: int | None, number: str | None, region: str = "US",
                   agent_id: int | None = None, at: datetime | None = None) -> list[str]:
    """"Do not call me", said to an agent: the call's number and every number of the customer go on
    the list, and the customer refuses marketing calls; every campaign's dialer and preview obey it
    from the commit on. A number that is not a valid phone number (withheld, an extension) is left
    out, never an error: the request is recorded as far as it can be. Returns the numbers listed."""
    from .consent import record_consent
    from .models import PhoneNumber

    at = at or utcnow()
    numbers: list[str] = []
    if number:
        try:
            numbers.append(normalize(number, region))
        except InvalidPhoneNumber:
            logger.info("do-not-call request on a call from %r: not a phone number, not listed", number)
    if customer_id is not None:
        numbers.extend(session.scalars(select(PhoneNumber.e164).where(PhoneNumber.customer_id == customer_id)))
        record_consent(session, customer_id, "outbound_call", granted=False, source=AGENT_SOURCE, at=at)
    reason = f"asked on a call (agent {agent_id})" if agent_id is not None else "asked on a call"
    if numbers:
        add(session, numbers, region=region, reason=reason, source=AGENT_SOURCE, now=at)
    return list(dict.fromkeys(numbers))
