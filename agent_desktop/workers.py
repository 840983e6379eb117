"""Background work for the GUI, and the one way other threads hand anything back to it.

Two rules keep a threaded Qt program from crashing, and this module is where the desktop keeps them:

1. **No other thread ever emits a signal of an object the GUI may delete.** Qt does not allow a
   ``QObject`` to be destroyed while another thread is inside one of its emissions, and a window
   can be deleted at any time. Every
   hand-over from another thread goes through the :class:`Mailbox`, one object per application
   that lives as long as the application (Qt waits for the thread pool before destroying it), so
   the only object a worker ever touches cannot go away under it.
2. **No other thread drops the last reference to anything the GUI owns.** A background call's
   function, arguments, callbacks, result or error stay in a table the GUI thread owns; the worker thread
   borrows them and lets go of its own references *before* it says it is done, so whatever is
   freed is freed on the GUI thread.
3. **Python's cycle collector runs on the GUI thread only.** Left to itself it runs in whichever
   thread happens to allocate when a threshold is crossed (a database worker, the telephony
   thread), and a cycle holding a window, a dialog or a signal's receiver is then destroyed there,
   under the GUI's feet: the desktop crashed in ``QObject::~QObject`` this way. Once there is
   background work, the :class:`Mailbox` turns automatic collection off and collects from a timer
   on the GUI thread instead, with the same thresholds (the way qutebrowser does).

No object is made per background call (no signal to connect, nothing to ``deleteLater``): a
Python subclass of ``QObject`` deleted by ``deleteLater`` while its wrapper and its connections
to Python callables are still alive is one more way to crash in ``QObject::~QObject``.

``run_in_background(context, fn, *args, done=..., failed=...)`` runs ``fn`` on the desktop's I/O
thread pool and calls ``done(result)`` or ``failed(error)`` on the GUI thread, unless ``context``
was deleted meanwhile. ``post(context, fn, *args)`` calls ``fn(*args)`` on the GUI thread, from any
thread, unless ``context`` was deleted meanwhile. The GUI thread never waits on a database or the
network.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QThreadPool, QTimer, Signal

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Job:
    """A background call, its callbacks and its outcome; owned (and so freed) by the GUI thread."""

    context: QObject
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    done: Callable[[Any], None]
    failed: Callable[[Exception], None]
    ok: bool = False
    outcome: Any = None


class Mailbox(QObject):
    """Carries calls from any thread to the GUI thread, in the order they were posted.

    There is one per application (:func:`mailbox`), a child of the application object: it lives
    until the application is destroyed, after Qt has waited for its thread pool.
    """

    _wake = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue: deque[tuple[QObject | None, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._jobs: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._collector = QTimer(self, interval=COLLECT_EVERY_MS)
        self._collector.timeout.connect(collect_garbage)
        self._collector.start()
        gc.disable()
        self.destroyed.connect(_automatic_collection)

    def on_gui_thread(self) -> bool:
        return QThread.currentThread() is self.thread()

    def post(self, context: QObject | None, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the GUI thread soon, unless ``context`` has been deleted by then.

        The caller must not hold the last reference to a Qt object it passes: what it posts is
        released on the GUI thread, what it keeps is released where it lets go of it.
        """
        with self._lock:
            self._queue.append((context, fn, args))
            wake = len(self._queue) == 1  # otherwise a wake-up is already on its way
        if wake:
            self._wake.emit()

    def _drain(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, deque()
        while batch:
            context, fn, args = batch.popleft()
            if context is not None and not shiboken6.isValid(context):
                continue
            try:
                fn(*args)
            except Exception:
                logger.exception("a call handed to the GUI thread failed: %r", fn)

    # --- operations: the table of jobs the GUI owns --------------------------------------------

    def _add_job(self, job: _Job) -> int:
        number = next(self._ids)
        self._jobs[number] = job  # only the GUI thread adds and removes; workers only read
        return number

    def _job_done(self, number: int) -> None:
        """On the GUI thread: report the job's outcome (unless its context is gone), then forget the job."""
        job = self._jobs.pop(number)
        if not shiboken6.isValid(job.context):
            return
        if job.ok:
            job.done(job.outcome)
        else:
            job.failed(job.outcome)

    def run(self, job: _Job, pool: QThreadPool) -> None:
        number = self._add_job(job)
        del job  # from here the GUI holds the job through the table only

        def work() -> None:
            # Borrow the job; every reference this thread takes is dropped before the GUI hears
            # it is done, so the GUI thread is the one that frees the job and what it holds.
            job = self._jobs[number]
            try:
                job.outcome = job.fn(*job.args)
                job.ok = True
            except Exception as exc:  # every failure goes back to the GUI
                logger.debug("background operation %s failed", getattr(job.fn, "__name__", job.fn), exc_info=True)
                job.outcome = exc
                del exc
            del job
            self.post(None, self._job_done, number)

        pool.start(work)


#: How often the GUI thread runs Python's cycle collector (when its thresholds say it is due).
COLLECT_EVERY_MS = 250


def collect_garbage() -> int:
    """On the GUI thread: collect the generations that are due, as automatic collection would."""
    threshold0, threshold1, threshold2 = gc.get_threshold()
    count0, count1, count2 = gc.get_count()
    if count0 <= threshold0:
        return 0
    generation = 2 if count1 > threshold1 and count2 > threshold2 else 1 if count1 > threshold1 else 0
    return gc.collect(generation)


def _automatic_collection(*_args: object) -> None:
    gc.enable()


#: Threads for background work. It is I/O (databases, networks), not computation, so it is not sized to
#: the processor: a database that stopped answering must not leave a two-core workstation with no
#: thread to save a contact on while two look-ups wait for their time-out.
IO_THREADS = 8

_mailboxes: dict[int, Mailbox] = {}


def mailbox() -> Mailbox:
    """The application's mailbox; the first call must come from the GUI thread (it makes it).

    The mailbox is a child of the desktop's I/O thread pool, itself a child of the application: when
    the application goes, the pool waits for its workers first, then the mailbox is deleted.
    """
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("no Qt application: create one before background work")
    box = _mailboxes.get(id(app))
    if box is None or not shiboken6.isValid(box):
        if QThread.currentThread() is not app.thread():
            raise RuntimeError("the GUI mailbox must be created on the GUI thread")
        pool = QThreadPool(app)
        pool.setObjectName("ccenter-io")
        pool.setMaxThreadCount(IO_THREADS)
        box = _mailboxes[id(app)] = Mailbox(pool)
    return box


def io_pool() -> QThreadPool:
    """The thread pool background operations run on by default."""
    pool = mailbox().parent()
    assert isinstance(pool, QThreadPool)
    return pool


def post(context: QObject | None, fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` on the GUI thread (at once when already there), unless ``context`` is gone."""
    box = mailbox()
    if box.on_gui_thread():
        if context is None or shiboken6.isValid(context):
            fn(*args)
        return
    box.post(context, fn, *args)


def run_in_background(
    context: QObject,
    fn: Callable[..., Any],
    *args: Any,
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
    pool: QThreadPool | None = None,
) -> None:
    """Run ``fn(*args)`` off the GUI thread; ``done(result)`` or ``failed(error)`` runs on the GUI thread.

    Call it on the GUI thread. Nothing is reported once ``context`` (the window that asked) has
    been deleted. No object is made per call: no signal to connect, nothing to delete later.
    """
    box = mailbox()
    box.run(_Job(context, fn, args, done, failed), pool or io_pool())
