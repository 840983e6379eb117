"""IVR sessions as the IVR reports them, and the containment report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidData
from ..models import (
    DEFAULT_SITE,
    Customer,
    IvrSession,
)

IVR_EXITS = ("self_served", "transferred", "callback", "abandoned")


@dataclass(frozen=True, slots=True)
class IvrSessionRecord:
    """What the IVR reports about one session (the data layer does not know the IVR's own types)."""

    cti_call_id: str
    flow: str
    caller: str | None
    started_at: datetime
    ended_at: datetime
    exit: str
    exit_node: str | None = None
    path: tuple[str, ...] = ()
    menu_path: tuple[str, ...] = ()
    language: str | None = None
    customer_id: int | None = None
    verified: bool = False
    intent: str | None = None
    self_service: tuple[str, ...] = ()
    queue: str | None = None
    priority: int | None = None
    client_ref: str | None = None  # the IVR's own id of the record (the outbox's key); None: not idempotent
    site: str = DEFAULT_SITE  # the site of the IVR that served the call

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (the IVR's outbox keeps it so while the database is away)."""
        body = {f: getattr(self, f) for f in self.__slots__}
        body["started_at"] = self.started_at.isoformat()
        body["ended_at"] = self.ended_at.isoformat()
        for name in ("path", "menu_path", "self_service"):
            body[name] = list(body[name])
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any], *, site: str = DEFAULT_SITE) -> IvrSessionRecord:
        """The record of :meth:`to_json`; ``site`` for a record kept before records named their site."""
        values: dict[str, Any] = {"site": site}
        values.update({f: body[f] for f in cls.__slots__ if f in body})
        values["started_at"] = datetime.fromisoformat(body["started_at"])
        values["ended_at"] = datetime.fromisoformat(body["ended_at"])
        for name in ("path", "menu_path", "self_service"):
            values[name] = tuple(body.get(name) or ())
        return cls(**values)


@dataclass(frozen=True, slots=True)
class IvrReport:
    sessions: int
    by_exit: dict[str, int]
    containment_rate: float | None  # self-served / all sessions (as ivr.record.containment_rate)
    mean_duration_s: float | None
    by_intent: dict[str, int]


def record_ivr_session(session: Session, record: IvrSessionRecord) -> int:
    """Write one IVR session; returns its row id. Idempotent on ``client_ref``: a record written under it
    already (a retry after a lost answer) is not written again, and its row's id is returned."""
    if record.exit not in IVR_EXITS:
        raise InvalidData(f"unknown IVR exit {record.exit!r}; expected one of {', '.join(IVR_EXITS)}")
    if record.client_ref is not None:
        existing = session.scalar(select(IvrSession.id).where(IvrSession.client_ref == record.client_ref))
        if existing is not None:
            return existing
    customer_id = record.customer_id
    if customer_id is not None and session.get(Customer, customer_id) is None:
        customer_id = None  # identified by an outside system: keep the session, drop the dangling link
    row = IvrSession(
        cti_call_id=record.cti_call_id, flow=record.flow, caller=record.caller, started_at=record.started_at,
        ended_at=record.ended_at, exit=record.exit, exit_node=record.exit_node, path=list(record.path),
        menu_path=list(record.menu_path), language=record.language, customer_id=customer_id,
        verified=record.verified, intent=record.intent, self_service=list(record.self_service),
        queue=record.queue, priority=record.priority, client_ref=record.client_ref, site=record.site,
    )
    session.add(row)
    session.flush()
    return row.id


def ivr_report(session: Session, *, since: datetime, until: datetime, flow: str | None = None,
               site: str = DEFAULT_SITE) -> IvrReport:
    """Containment and exits of the IVR sessions of ``site`` that started in ``[since, until)``."""
    query = select(IvrSession.exit, IvrSession.intent, IvrSession.started_at, IvrSession.ended_at).where(
        IvrSession.site == site, IvrSession.started_at >= since, IvrSession.started_at < until
    )
    if flow:
        query = query.where(IvrSession.flow == flow)
    by_exit: dict[str, int] = {}
    by_intent: dict[str, int] = {}
    total = 0
    duration = 0.0
    for exit_, intent, started, ended in session.execute(query):
        total += 1
        by_exit[exit_] = by_exit.get(exit_, 0) + 1
        if intent:
            by_intent[intent] = by_intent.get(intent, 0) + 1
        duration += (ended - started).total_seconds()
    return IvrReport(
        sessions=total,
        by_exit=by_exit,
        containment_rate=by_exit.get("self_served", 0) / total if total else None,
        mean_duration_s=duration / total if total else None,
        by_intent=by_intent,
    )
