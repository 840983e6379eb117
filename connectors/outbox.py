"""Delivering the outbox to the system of record, in order, and bringing status back.

Orders and service requests are written with their outbox message in one transaction
(:mod:`crm.repository.workflows`). :class:`Relay` sends the pending messages oldest first; when the
back end is away (:class:`~connectors.errors.BackendUnavailable`) it stops there, so nothing
overtakes an older message, and tries again on the next round. A message the back end refuses for
good is set aside (``refused``, visible as such) and no longer blocks the rest. :meth:`Relay.follow`
asks the back end where each delivered, unfinished item is, and moves its workflow there as the
``system`` actor. :meth:`Relay.run` does both every ``poll_s`` until told to stop. Several ``ccenter api``
processes may run relays: on PostgreSQL one at a time delivers (an advisory lock), so order holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bus.messages import WorkflowChanged
from crm import db, repository
from crm.errors import CrmError
from crm.repository import SYSTEM_OF_RECORD
from crm.repository.workflows import agent_of, items_to_follow, mark_delivered, mark_failed
from crm.workflows import Subject

from .boss import OrderSystem
from .errors import BackendRefused, BackendUnavailable, ConnectorError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Round:
    delivered: int
    refused: int
    pending: int
    error: str | None = None


class Relay:
    def __init__(self, sessions: db.SessionFactory, system: OrderSystem, *, destination: str = SYSTEM_OF_RECORD,
                 batch: int = 100,
                 notify: Callable[[WorkflowChanged, str | None], object] | None = None) -> None:
        self.sessions = sessions
        self.system = system
        #: Told each move a status from the back end caused, after its commit (``Notices.changed``).
        self.notify = notify
        self.destination = destination
        self.batch = batch
        self._lock = threading.Lock()  # one delivery round at a time: order is kept across threads

    def deliver(self) -> Round:
        """Send what is pending, oldest first, until done or the back end is away."""
        delivered = refused = 0
        error = None
        with self._lock, db.exclusive(self.sessions, f"outbox:{self.destination}") as mine:
            if not mine:  # another `ccenter api` delivers this outbox now: one deliverer keeps the order
                with self.sessions() as session:
                    return Round(0, 0, repository.count_pending(session, self.destination),
                                 "another process is delivering")
            while True:
                with self.sessions() as session:
                    pending = repository.pending_messages(session, self.destination, limit=self.batch)
                if not pending:
                    break
                stopped = False
                for entry in pending:
                    try:
                        pushed = self.system.push(entry)
                    except BackendUnavailable as exc:
                        error = str(exc)
                        with db.transaction(self.sessions) as session:
                            mark_failed(session, entry.id, error)
                        stopped = True
                        break
                    except BackendRefused as exc:
                        logger.error("outbox message %d (%s %d) refused by %s, set aside: %s", entry.id,
                                     entry.subject.value, entry.subject_id, self.system.config.name, exc)
                        with db.transaction(self.sessions) as session:
                            mark_failed(session, entry.id, str(exc), refused=True)
                        refused += 1
                        continue
                    with db.transaction(self.sessions) as session:
                        mark_delivered(session, entry.id, external_ref=pushed.reference)
                        change = (self._report(session, entry.subject, entry.subject_id, pushed.state, {})
                                  if pushed.state else None)
                    self._tell(change)
                    delivered += 1
                if stopped:
                    break
            with self.sessions() as session:
                left = repository.count_pending(session, self.destination)
        if delivered or refused:
            logger.info("delivered %d message(s) to %s (%d refused, %d pending)", delivered,
                        self.system.config.name, refused, left)
        return Round(delivered, refused, left, error)

    def _report(self, session: db.Session, subject: Subject, item_id: int, state: str,
                fields: dict) -> tuple[WorkflowChanged, str | None] | None:
        """Move the item where the back end says it is; what to tell once committed, or None (no move)."""
        try:
            before = repository.workflow_status(session, subject, item_id)
            if before.state == state:
                return None
            status = repository.report_state(session, subject, item_id, state, actor_name=self.system.config.name,
                                             fields=fields)
            agent = agent_of(session, subject, item_id)
        except CrmError as exc:
            logger.error("%s %d: %s reported state %r, not taken: %s", subject.value, item_id,
                         self.system.config.name, state, exc)
            return None
        return WorkflowChanged(subject=subject.value, item_id=item_id, customer_id=status.customer_id,
                               workflow=status.workflow, state=status.state, status=status.status, ts=time.time(),
                               actor="system", actor_name=self.system.config.name), agent

    def _tell(self, change: tuple[WorkflowChanged, str | None] | None) -> None:
        if change is not None and self.notify is not None:
            self.notify(*change)

    def follow(self) -> int:
        """Ask the back end where each delivered, unfinished item is; returns how many moved."""
        moved = 0
        for subject in (Subject.ORDER, Subject.SERVICE_REQUEST):
            with self.sessions() as session:
                items = items_to_follow(session, subject)
            for item_id, reference in items:
                try:
                    reported = self.system.status(subject, reference)
                except ConnectorError as exc:
                    logger.debug("status of %s %s not known now: %s", subject.value, reference, exc)
                    if isinstance(exc, BackendUnavailable):
                        return moved
                    continue
                with db.transaction(self.sessions) as session:
                    change = self._report(session, subject, item_id, reported.state, reported.fields)
                self._tell(change)
                moved += change is not None
        return moved

    def run(self, stop: threading.Event, interval_s: float | None = None) -> None:
        """Deliver and follow every ``interval_s`` (the connector's ``poll_s``) until ``stop`` is set."""
        interval = interval_s if interval_s is not None else self.system.config.poll_s
        while not stop.is_set():
            try:
                self.deliver()
                self.follow()
            except CrmError as exc:  # the database is away: the next round tries again
                logger.warning("outbox round skipped: %s", str(exc).splitlines()[0])
            except Exception:  # a defect: said loudly, and the relay goes on with the next round
                logger.exception("outbox round failed")
            stop.wait(interval)
