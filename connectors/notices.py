"""Workflow changes on the bus, from ``ccenter api``: a status report, a move, an escalation.

Each change goes out as ``workflow.changed`` on ``ccenter/v1/<site>/agents/<login>/workflows`` of the
agent who took the item: the broker lets that agent's desktops and the supervisors of its team read
it (``ccenter broker provision``), and only ``svc-api`` write it. The message says what changed; a
desktop reads the item itself, through the API or the database. :class:`Notices` runs its own event
loop on a thread (the API's handlers and the escalator are threads), so publishing never waits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any

from bus import topics
from bus.errors import BusError
from bus.messages import WorkflowChanged
from bus.transport import QOS_COMMAND, Bus, open_bus

logger = logging.getLogger(__name__)


class Notices:
    """Publishes workflow changes on the bus from any thread; :meth:`close` when done."""

    def __init__(self, bus: Bus, site: str) -> None:
        self.bus = bus
        self.site = site
        self._loop = asyncio.SelectorEventLoop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="workflow-notices", daemon=True)
        self._thread.start()
        self._started = asyncio.run_coroutine_threadsafe(self._start(), self._loop)

    async def _start(self, first_wait_s: float = 0.5, longest_wait_s: float = 30.0) -> None:
        """Connect, trying again until the broker answers: the API serves meanwhile, and the changes
        wait (in order) to go out once it does."""
        wait = first_wait_s
        while True:
            try:
                await self.bus.start()
                return
            except BusError as exc:
                logger.warning("workflow changes wait for the bus: %s; trying again in %.0f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, longest_wait_s)

    @classmethod
    def from_url(cls, url: str, *, site: str, client_id: str) -> Notices:
        return cls(open_bus(url, client_id=client_id, site=site, role="api"), site)

    def changed(self, message: WorkflowChanged, agent_login: str | None) -> Future[Any] | None:
        """Send ``message`` to ``agent_login``'s workflow topic (nothing when no agent took the item)."""
        if not agent_login:
            return None
        try:
            topic = topics.agent_workflows(self.site, agent_login)
        except topics.TopicError as exc:
            logger.error("workflow change of %s %d not published: %s", message.subject, message.item_id, exc)
            return None

        async def send() -> None:
            await asyncio.wrap_future(self._started)
            await self.bus.publish(topic, message, qos=QOS_COMMAND)

        done = asyncio.run_coroutine_threadsafe(send(), self._loop)
        done.add_done_callback(_said)
        return done

    def close(self, timeout_s: float = 5.0) -> None:
        self._started.cancel()  # still trying to connect: give up
        try:
            asyncio.run_coroutine_threadsafe(self.bus.close(), self._loop).result(timeout_s)
        except Exception as exc:  # closing a bus that never connected
            logger.info("workflow notices: bus closed with %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        self._loop.close()


def _said(done: Future[Any]) -> None:
    if not done.cancelled() and (error := done.exception()) is not None:
        logger.warning("a workflow change was not published: %s", error)
