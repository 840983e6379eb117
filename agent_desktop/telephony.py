"""The desktop's telephony link, on a thread of its own.

:class:`LinkThread` runs an asyncio loop in a worker thread with the :class:`cti.link.CtiLink`
on it (the simulated PBX in the demo, a real PBX's adapter in production) and anything else that
belongs to that loop (the in-process IVR and ACD of the demo, which see every event first through
``observers``, on the loop's thread). Normalized events come to the GUI
thread through the ``event_received`` signal; commands go the other way with :meth:`command`,
and a refused command comes back as ``command_failed`` with the link's reason. The GUI thread
never waits for the link.

The thread's loop is always a selector loop (:func:`network_loop`): the MQTT client (aiomqtt, under
:class:`cti.buslink.BusLink` and the statistics bus) needs ``add_reader``, which the default loop
on Windows (the proactor loop) does not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Signal

from cti.errors import CtiError
from cti.link import CtiLink
from cti.model import LinkEvent

from .workers import mailbox

logger = logging.getLogger(__name__)


def network_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for a network thread: a selector loop on every platform.

    ``asyncio.new_event_loop()`` gives the platform's default, on Windows a proactor loop, without
    the ``add_reader`` that aiomqtt (through paho's socket) needs.
    """
    return asyncio.SelectorEventLoop()


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
        observers: Sequence[Callable[[LinkEvent], None]] = (),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.link = link
        self._on_loop = on_loop
        self._observers = tuple(observers)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = False
        self._order: asyncio.Lock | None = None  # created on the link's loop
        # The link's thread hands everything to the GUI through the application's mailbox: it never
        # emits this object's signals itself, so the window may delete this object at any time.
        self._mailbox = mailbox()

    def _to_gui(self, signal: Any, *args: Any) -> None:
        self._mailbox.post(self, signal.emit, *args)

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(c.value for c in self.link.capabilities)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cti-link", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        loop = network_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._ready.set()
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        try:
            await self.link.connect()
        except CtiError as exc:
            self._to_gui(self.link_down, str(exc))
            return
        self._to_gui(self.link_up)
        extra = asyncio.ensure_future(self._on_loop(asyncio.get_running_loop())) if self._on_loop else None
        try:
            async for event in self.link.events():
                for observer in self._observers:
                    try:
                        observer(event)
                    except Exception:
                        logger.exception("an observer of the link failed on %s", event)
                self._to_gui(self.event_received, event)
        finally:
            if extra is not None:
                extra.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await extra
        if not self._stopping:
            self._to_gui(self.link_down, "the telephony link closed")

    @property
    def running(self) -> bool:
        """The link's loop takes work (started, and not stopping)."""
        return self._loop is not None and not self._loop.is_closed() and not self._stopping

    def call_soon(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        """Run a coroutine on the link's loop (from any thread)."""
        assert self._loop is not None, "start() the link thread first"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

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
        if self._loop is None or self._thread is None:
            return
        self._stopping = True
        with contextlib.suppress(RuntimeError):
            self.call_soon(self.link.close()).result(10)
        self._thread.join(10)
        self._thread = None
