"""IVR session records into the database, for containment and path reports.

:func:`to_crm` turns the engine's :class:`~ivr.record.SessionRecord` (times as seconds since the
epoch) into the data layer's record; :class:`SessionStore` writes them in one short transaction
each, through a durable outbox (:class:`crm.outbox.Outbox`): while the database is away the records
wait in a local file, and are written once, in order, when it answers again (idempotent on the
record's own id, ``ivr_session.client_ref``). Records never hold a PIN or card number: the engine
keeps those out of them.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from crm.errors import CrmError
from crm.ivr_data import SessionFactory, record_session
from crm.models import DEFAULT_SITE
from crm.outbox import Outbox
from crm.repository import IvrSessionRecord

from .record import SessionRecord

logger = logging.getLogger(__name__)

#: How often pending records are tried again while the IVR waits for calls.
FLUSH_EVERY_S = 5.0


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_crm(record: SessionRecord, client_ref: str | None = None, site: str = DEFAULT_SITE) -> IvrSessionRecord:
    customer = record.customer_id
    return IvrSessionRecord(
        cti_call_id=record.call_id,
        flow=record.flow,
        caller=record.caller or None,
        started_at=_when(record.started_at),
        ended_at=_when(record.ended_at),
        exit=record.exit.value,
        exit_node=record.exit_node,
        path=tuple(record.path),
        menu_path=tuple(record.menu_path),
        language=record.language,
        customer_id=int(customer) if customer and customer.isdigit() else None,
        verified=record.verified,
        intent=record.intent,
        self_service=tuple(record.self_service),
        queue=record.queue,
        priority=record.priority,
        client_ref=client_ref,
        site=site,
    )


class SessionStore:
    """Writes IVR session records of ``site`` through the outbox in ``outbox`` (a JSON-lines file; a
    temporary one if None). A record the database refuses for what it is is logged and set aside, never
    raised into a call; one it cannot take now waits in the file (read again at start) for :meth:`flush`.
    A record kept before records named their site is this IVR's site's."""

    def __init__(self, sessions: SessionFactory, outbox: Path | None = None, *, site: str = DEFAULT_SITE) -> None:
        self.sessions = sessions
        self.site = site
        if outbox is None:
            outbox = Path(tempfile.mkdtemp(prefix="ccenter-ivr-")) / "sessions.jsonl"
        self.outbox: Outbox[IvrSessionRecord] = Outbox(
            outbox,
            self._write,
            encode=IvrSessionRecord.to_json,
            decode=lambda body: IvrSessionRecord.from_json(body, site=site),
            key=lambda r: f"{r.cti_call_id} ({r.client_ref})",
            what="IVR session",
            log=logger,
        )
        if self.outbox.pending:
            logger.info("%d IVR session(s) wait in %s for the database", self.outbox.pending, outbox)

    def _write(self, record: IvrSessionRecord) -> int:
        return record_session(self.sessions, record)

    def store(self, record: SessionRecord) -> None:
        """Write ``record`` now, or keep it for later (blocking: run it off the event loop)."""
        try:
            self.outbox.save(to_crm(record, client_ref=f"ivr-{uuid.uuid4().hex}", site=self.site))
        except CrmError as exc:
            logger.error("IVR session %s not recorded: %s", record.call_id, exc)

    def flush(self) -> int:
        """Write the pending records; how many were written (blocking)."""
        return self.outbox.flush()

    async def keep_flushing(self, every_s: float = FLUSH_EVERY_S) -> None:
        """Until cancelled: every ``every_s`` seconds, write what waits (off the loop)."""
        while True:
            await asyncio.sleep(every_s)
            if self.outbox.pending:
                await asyncio.to_thread(self.outbox.flush)
