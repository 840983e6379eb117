"""Acting on time limits: when an order's or a service request's state outlives its limit, the
escalation its workflow declares is carried out once (``ccenter api`` runs it).

:class:`Escalator` finds what is due (:func:`crm.repository.workflows.due_escalations`, an indexed
query per state with a limit) and escalates each item in a transaction of its own
(:func:`~crm.repository.workflows.escalate`): it claims the item's limit with a unique row first, so
with several ``ccenter api`` processes running exactly one acts on each limit; then assigns the item
to the deadline's group, raises a service request's priority, takes the declared step, and records
it in the item's history (the system, as ``escalation``, with the reason). Each escalation is then
told on the bus (:class:`connectors.notices.Notices`): the agent who took the item and the
supervisors of its team read it. Time comes from ``clock``, so tests move it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bus.messages import WorkflowChanged
from crm import db, workflows
from crm.errors import CrmError
from crm.repository.workflows import ESCALATION_ACTOR, AlreadyEscalated, Escalated, due_escalations, escalate

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def escalation_message(done: Escalated) -> WorkflowChanged:
    return WorkflowChanged(
        subject=done.subject.value,
        item_id=done.id,
        customer_id=done.customer_id,
        workflow=done.workflow,
        state=done.state,
        status=done.status,
        ts=done.at.timestamp(),
        actor="system",
        actor_name=ESCALATION_ACTOR,
        escalate_to=done.escalate_to,
    )


class Escalator:
    def __init__(
        self,
        sessions: db.SessionFactory,
        *,
        name: str,
        clock: Callable[[], datetime] = _utc_now,
        notify: Callable[[WorkflowChanged, str | None], object] | None = None,
        catalog: workflows.Workflows | None = None,
        interval_s: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.clock = clock
        self.notify = notify
        self.catalog = catalog or workflows.shipped()
        self.interval_s = interval_s

    def run_once(self) -> list[Escalated]:
        """Escalate everything due now; returns what this process escalated (not what another did)."""
        now = self.clock()
        with self.sessions() as session:
            due = due_escalations(session, now, catalog=self.catalog)
        done: list[Escalated] = []
        for item in due:
            try:
                with db.transaction(self.sessions) as session:
                    escalated = escalate(session, item, now=now, by=self.name, catalog=self.catalog)
            except AlreadyEscalated:
                continue  # another `ccenter api` took this one: it acts, and tells
            if escalated is None:
                continue
            done.append(escalated)
            logger.info(
                "%s %d escalated to %s: %s for longer than its limit (%s)",
                item.subject.value,
                item.id,
                escalated.escalate_to,
                item.state,
                ", ".join(f"{k}={v}" for k, v in escalated.actions.items()),
            )
            if self.notify is not None:
                self.notify(escalation_message(escalated), escalated.agent_login)
        return done

    def run(self, stop: threading.Event) -> None:
        """Every ``interval_s`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.run_once()
            except CrmError as exc:  # the database is away: the next round tries again
                logger.warning("escalation round skipped: %s", str(exc).splitlines()[0])
            except Exception:  # a defect: said loudly, and the escalator goes on with the next round
                logger.exception("escalation round failed")
            stop.wait(self.interval_s)
