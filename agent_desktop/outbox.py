"""Finished contacts that could not be written yet, kept on disk until the database is back.

The desktop saves a contact (with its orders, service requests and offer results) in one
transaction. If the database is away, :class:`ContactOutbox` keeps the record in a local JSON
file (one per agent) and :meth:`ContactOutbox.flush` writes the pending records, oldest first,
when asked (the desktop asks on a timer). Writes are idempotent on the record's ``client_ref``,
so a record written just before a failure is never duplicated by its retry. Nothing is lost if
the desktop is closed meanwhile: the file is read again at start.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from crm import db, repository
from crm.errors import CrmError, DatabaseUnavailable
from crm.models import Channel
from crm.repository import ContactRecord, OfferResult, OrderLine, RequestLine, SavedContact

logger = logging.getLogger(__name__)

#: Errors that mean "the database is away, try later" rather than "this record is wrong".
TRANSIENT = (DatabaseUnavailable,)


def record_to_json(record: ContactRecord) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, Channel):
            return value.value
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in asdict(record).items()}


def record_from_json(body: dict[str, Any]) -> ContactRecord:
    body = dict(body)
    body["channel"] = Channel(body["channel"])
    body["started_at"] = datetime.fromisoformat(body["started_at"])
    body["ended_at"] = datetime.fromisoformat(body["ended_at"])
    body["orders"] = tuple(OrderLine(**{**o, "amount": Decimal(o["amount"])}) for o in body.get("orders", ()))
    body["requests"] = tuple(RequestLine(**r) for r in body.get("requests", ()))
    body["offer_results"] = tuple(OfferResult(**r) for r in body.get("offer_results", ()))
    known = {f.name for f in fields(ContactRecord)}
    return ContactRecord(**{k: v for k, v in body.items() if k in known})


class ContactOutbox:
    """Write contacts now, or keep them until the database answers again. Thread-safe.

    :meth:`save` and :meth:`flush` talk to the database, so they run on worker threads; they take
    turns on one lock that nothing else takes. :attr:`pending` is read by the GUI on a timer and
    never waits: the list of pending contacts has a lock of its own, never held across database I/O.
    """

    def __init__(self, sessions: Callable[[], db.SessionFactory] | db.SessionFactory | None, path: Path, *,
                 write: Callable[[ContactRecord], SavedContact] | None = None) -> None:
        """``write`` replaces the database write (production writes through ``ccenter api``)."""
        self._sessions = sessions
        self._writer = write
        self.path = path
        self.rejected = path.with_suffix(".rejected.jsonl")
        self._writing = threading.Lock()  # one writer to the database at a time
        self._lock = threading.Lock()  # the pending list and its file
        self._pending: list[ContactRecord] = self._load()
        self._count = len(self._pending)

    def _factory(self) -> db.SessionFactory:
        sessions = self._sessions
        if sessions is None:
            raise TypeError("ContactOutbox has neither a session factory nor a writer")
        if db.is_session_factory(sessions):
            return sessions
        return cast(Callable[[], db.SessionFactory], sessions)()

    def _load(self) -> list[ContactRecord]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(record_from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                logger.error("%s line %d: unreadable pending contact skipped (%s)", self.path, number, exc)
        return records

    def _store(self) -> None:
        """Write the pending list to its file (under ``_lock``), and publish its length."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as fh:
            for record in self._pending:
                fh.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(self.path)
        self._count = len(self._pending)

    @property
    def pending(self) -> int:
        """How many contacts wait for the database. Never blocks (one attribute read)."""
        return self._count

    def _write(self, record: ContactRecord) -> SavedContact:
        if self._writer is not None:
            return self._writer(record)
        with db.answering(), db.transaction(self._factory()) as session:
            return repository.save_contact(session, record)

    def save(self, record: ContactRecord) -> SavedContact | None:
        """Write ``record`` (after any older pending ones); None means it is kept for later. Blocking."""
        with self._writing:
            with self._lock:
                queued = bool(self._pending)
            if not queued:
                try:
                    return self._write(record)
                except TRANSIENT as exc:
                    logger.warning("database unavailable, contact %s kept locally: %s", record.client_ref,
                                   str(exc).splitlines()[0])
            with self._lock:
                self._pending.append(record)
                self._store()
        self.flush()
        return None

    def flush(self) -> int:
        """Write what is pending, oldest first; returns how many were written. Blocking."""
        written = 0
        with self._writing:
            while True:
                # Only a holder of ``_writing`` removes records, and others only append: the
                # record at the head stays the head while it is written without ``_lock``.
                with self._lock:
                    if not self._pending:
                        break
                    record = self._pending[0]
                try:
                    self._write(record)
                except TRANSIENT:
                    break
                except CrmError as exc:
                    # The record itself is wrong (its customer was deleted meanwhile, say): set it aside
                    # for a supervisor rather than block every later contact behind it.
                    logger.error("pending contact %s refused: %s; kept in %s", record.client_ref, exc, self.rejected)
                    with self.rejected.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(record_to_json(record), ensure_ascii=False) + "\n")
                else:
                    written += 1
                with self._lock:
                    self._pending.pop(0)
                    self._store()
        if written:
            logger.info("wrote %d pending contact(s)", written)
        return written
