"""The desktop's telephony link, on a network thread.

:class:`LinkThread` runs a :class:`cti.link.CtiLink` (in production a :class:`cti.buslink.BusLink`
to the CTI gateway, in tests the simulated PBX's link) on an asyncio loop in a worker thread, with
anything else that belongs to that loop (``on_loop``: the desktop's statistics bus). Normalized
events come to the GUI thread through the ``event_received`` signal; commands go the other way with
:meth:`LinkThread.command`, and a refused command comes back as ``command_failed`` with the link's
reason. The GUI thread never waits for the link.

The loop is a :class:`NetworkThread`'s: a link thread starts one of its own, or several link threads
share one (``ccenter demo``: each desktop's ``BusLink`` on the loop of the in-process bus and of the
contact center's components). The loop is always a selector loop (:func:`network_loop`): the MQTT
client (aiomqtt, under :class:`cti.buslink.BusLink` and the statistics bus) needs ``add_reader``,
which the default loop on Windows (the proactor loop) does not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from PySide6.QtCore import QObject, Signal

from cti.errors import CtiError
from cti.link import CtiLink

from .workers import mailbox

logger = logging.getLogger(__name__)


def network_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for a network thread: a selector loop on every platform.

    ``asyncio.new_event_loop()`` gives the platform's default, on Windows a proactor loop, without
    the ``add_reader`` that aiomqtt (through paho's socket) needs.
    """
    return asyncio.SelectorEventLoop()


class NetworkThread:
    """A :func:`network_loop` running on a daemon thread of its own, for the links and what shares their loop."""

    def __init__(self, name: str = "network") -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        """Start the thread and return once its loop runs (a second call does nothing)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the {self.name} thread did not start")

    def _run(self) -> None:
        loop = network_loop()
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        self.loop = loop
        try:
            loop.run_forever()
        finally:
            loop.close()

    @property
    def running(self) -> bool:
        return self.loop is not None and self._thread is not None and not self.loop.is_closed()

    def call_soon(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        """Run a coroutine on the loop (from any thread)."""
        assert self.loop is not None, "start() the network thread first"
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what still runs on the loop (as ``asyncio.run`` does at its end), then end the thread."""
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return
        self._thread = None

        async def wind_down() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await loop.shutdown_asyncgens()

        with contextlib.suppress(RuntimeError, FutureTimeout):
            asyncio.run_coroutine_threadsafe(wind_down(), loop).result(timeout)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)


def _log_failure(done: Future[None]) -> None:
    if not done.cancelled() and (error := done.exception()) is not None:
        logger.error("the telephony link's thread failed", exc_info=error)


class LinkThread(QObject):
    event_received = Signal(object)
    command_failed = Signal(str, str)  # command, reason
    link_up = Signal()
    link_down = Signal(str)

    def __init__(
        self,
        link: CtiLink,
        *,
        on_loop: Callable[[asyncio.AbstractEventLoop], Awaitable[None]] | None = None,
        network: NetworkThread | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``network``: run on this (started) network thread's loop, shared with others; without it
        the link thread runs a network thread of its own, stopped with it."""
        super().__init__(parent)
        self.link = link
        self._on_loop = on_loop
        self._owns_network = network is None
        self._network = network or NetworkThread("cti-link")
        self._main_done: Future[None] | None = None
        self._stopping = False
        self._order: asyncio.Lock | None = None  # created on the link's loop
        # The link's thread hands everything to the GUI through the application's mailbox: it never
        # emits this object's signals itself, so the window may delete this object at any time.
        self._mailbox = mailbox()

    def _to_gui(self, signal: Any, *args: Any) -> None:
        self._mailbox.post(self, signal.emit, *args)

    @property
    def capabilities(self) -> frozenset[str]:
        """What the link can carry out now: nothing while it has lost the telephone system."""
        if not self.link.link_up:
            return frozenset()
        return frozenset(c.value for c in self.link.capabilities)

    def start(self) -> None:
        if self._owns_network:
            self._network.start()
        elif not self._network.running:
            raise RuntimeError("start() the shared network thread before its link threads")
        self._main_done = self._network.call_soon(self._main())
        self._main_done.add_done_callback(_log_failure)

    async def _main(self) -> None:
        # The link says when it loses the telephone system (a gateway's PBX link down) and regains it.
        self.link.on_link_state(self._on_link_state)
        try:
            await self.link.connect()
        except CtiError as exc:
            self._to_gui(self.link_down, str(exc))
            return
        if self.link.link_up:
            self._to_gui(self.link_up)
        else:
            self._to_gui(self.link_down, self.link.link_reason)
        extra = asyncio.ensure_future(self._on_loop(asyncio.get_running_loop())) if self._on_loop else None
        try:
            async for event in self.link.events():
                self._to_gui(self.event_received, event)
        finally:
            if extra is not None:
                extra.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await extra
        if not self._stopping:
            self._to_gui(self.link_down, "the telephony link closed")

    def _on_link_state(self, up: bool, reason: str) -> None:
        if up:
            self._to_gui(self.link_up)
        else:
            self._to_gui(self.link_down, reason)

    @property
    def running(self) -> bool:
        """The link takes work (started, its events still flow, and not stopping)."""
        done = self._main_done
        return done is not None and not done.done() and self._network.running and not self._stopping

    def call_soon(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        """Run a coroutine on the link's loop (from any thread)."""
        return self._network.call_soon(coroutine)

    def command(self, name: str, *args: Any, **kwargs: Any) -> Future[Any]:
        """Call ``link.<name>(*args)`` on the link's loop; failures come back as ``command_failed``.

        Commands run one after the other, in the order the agent gave them: "not ready" then
        "ready" must never reach the PBX the other way round.
        """
        method = getattr(self.link, name)
        if not self.running:
            future: Future[Any] = Future()
            future.set_exception(CtiError("the telephony link is stopped"))
            return future
        future = self.call_soon(self._in_order(method, args, kwargs))

        def done(f: Future[Any]) -> None:
            error = f.exception()
            if error is None:
                return
            if not isinstance(error, CtiError):
                logger.error("command %s failed unexpectedly", name, exc_info=error)
            self._to_gui(self.command_failed, name, str(error))

        future.add_done_callback(done)
        return future

    async def _in_order(self, method: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                        kwargs: dict[str, Any]) -> Any:
        if self._order is None:
            self._order = asyncio.Lock()
        async with self._order:
            return await method(*args, **kwargs)

    def live_calls(self, call_ids: list[str], timeout: float = 10.0) -> set[str] | None:
        """Blocking (for a worker thread): which of ``call_ids`` the link says are up; None if it cannot say."""
        if not self.running:
            return None
        try:
            return set(self.call_soon(self.link.live_calls(call_ids)).result(timeout))
        except CtiError as exc:
            logger.debug("cannot check live calls: %s", exc)
            return None

    def stop(self) -> None:
        """Close the link and wait for its events to end; then stop the network thread if it is its own."""
        done = self._main_done
        if done is None:
            return
        self._main_done = None
        self._stopping = True
        if self._network.running:
            with contextlib.suppress(RuntimeError, CtiError, FutureTimeout):
                self.call_soon(self.link.close()).result(10)
            with contextlib.suppress(FutureTimeout, Exception):
                done.result(10)
        if self._owns_network:
            self._network.stop()
