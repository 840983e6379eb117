"""IVR session records into the database, for containment and path reports.

:func:`to_crm` turns the engine's :class:`~ivr.record.SessionRecord` (times as seconds since the
epoch) into the data layer's record; :class:`SessionStore` writes them in one short transaction
each. Records never hold a PIN or card number: the engine keeps those out of them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from crm.errors import CrmError
from crm.ivr_data import SessionFactory, record_session
from crm.repository import IvrSessionRecord

from .record import SessionRecord

logger = logging.getLogger(__name__)


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_crm(record: SessionRecord) -> IvrSessionRecord:
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
    )


class SessionStore:
    """Writes IVR session records; a failed write is logged, never raised into a call."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    def store(self, record: SessionRecord) -> None:
        try:
            record_session(self.sessions, to_crm(record))
        except CrmError as exc:
            logger.error("IVR session %s not recorded: %s", record.call_id, exc)
