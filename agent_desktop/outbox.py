"""Finished contacts that could not be written yet, kept on disk until the database is back.

The desktop saves a contact (with its orders, service requests and offer results) in one
transaction. If the database is away, :class:`ContactOutbox` keeps the record in a local JSON
file (one per agent) and :meth:`ContactOutbox.flush` writes the pending records, oldest first,
when asked (the desktop asks on a timer). Writes are idempotent on the record's ``client_ref``,
so a record written just before a failure is never duplicated by its retry. Nothing is lost if
the desktop is closed meanwhile: the file is read again at start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from crm import db, repository
from crm.models import Channel
from crm.outbox import TRANSIENT, Outbox
from crm.repository import ContactRecord, OfferResult, OrderLine, RequestLine, SavedContact

logger = logging.getLogger(__name__)

__all__ = ["TRANSIENT", "ContactOutbox", "record_from_json", "record_to_json"]


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


class ContactOutbox(Outbox[ContactRecord]):
    """Write contacts now, or keep them until the database answers again. Thread-safe.

    The durable, ordered, idempotent core is :class:`crm.outbox.Outbox` (the server processes use it
    too); this names the desktop's record and its write. :meth:`save` and :meth:`flush` talk to the
    database, so they run on worker threads; :attr:`pending` is read by the GUI on a timer and never
    waits.
    """

    def __init__(self, sessions: Callable[[], db.SessionFactory] | db.SessionFactory | None, path: Path, *,
                 write: Callable[[ContactRecord], SavedContact] | None = None) -> None:
        """``write`` replaces the database write (production writes through ``ccenter api``)."""
        self._sessions = sessions
        self._writer = write
        super().__init__(path, self._write, encode=record_to_json, decode=record_from_json,
                         key=lambda r: r.client_ref, what="contact", log=logger)

    def _factory(self) -> db.SessionFactory:
        sessions = self._sessions
        if sessions is None:
            raise TypeError("ContactOutbox has neither a session factory nor a writer")
        if db.is_session_factory(sessions):
            return sessions
        return cast(Callable[[], db.SessionFactory], sessions)()

    def _write(self, record: ContactRecord) -> SavedContact:
        if self._writer is not None:
            return self._writer(record)
        with db.answering(), db.transaction(self._factory()) as session:
            return repository.save_contact(session, record)

    def save(self, record: ContactRecord) -> SavedContact | None:
        """Write ``record`` (after any older pending ones); None means it is kept for later. Blocking."""
        saved: SavedContact | None = super().save(record)
        return saved
