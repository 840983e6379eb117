"""Background work for the GUI: run a function on a worker thread, get its result back as a signal.

``Operation(fn, *args)`` runs ``fn`` on Qt's global thread pool; ``finished(result)`` or
``failed(exception)`` is emitted on the GUI thread. Connect before calling ``start()``. The GUI
thread never waits on a database or the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

logger = logging.getLogger(__name__)


class _Signals(QObject):
    finished = Signal(object)
    failed = Signal(object)


class Operation(QObject):
    """One background call with ``finished`` / ``failed`` signals delivered on the GUI thread.

    The worker holds only the operation's signal carrier, a child of the operation, so deleting the
    operation (after it reported) never frees anything the worker thread still runs.
    """

    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable[..., Any], *args: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._args = args
        self._signals = _Signals(self)
        self._signals.finished.connect(self.finished)
        self._signals.failed.connect(self.failed)

    def start(self, pool: QThreadPool | None = None) -> Operation:
        fn, args, signals = self._fn, self._args, self._signals

        def work() -> None:
            try:
                result = fn(*args)
            except Exception as exc:  # every failure goes back to the GUI as a signal
                logger.debug("background operation %s failed", getattr(fn, "__name__", fn), exc_info=True)
                signals.failed.emit(exc)
            else:
                signals.finished.emit(result)

        (pool or QThreadPool.globalInstance()).start(work)
        return self


def run_in_background(
    parent: QObject,
    fn: Callable[..., Any],
    *args: Any,
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> Operation:
    """Run ``fn(*args)`` off the GUI thread; ``done(result)`` or ``failed(error)`` runs on the GUI thread.

    The operation is a child of ``parent`` (so it never outlives the window that asked) and deletes
    itself once it has reported, so a long shift does not pile operations up.
    """
    operation = Operation(fn, *args, parent=parent)
    operation.finished.connect(done)
    operation.failed.connect(failed)
    operation.finished.connect(operation.deleteLater)
    operation.failed.connect(operation.deleteLater)
    return operation.start()
