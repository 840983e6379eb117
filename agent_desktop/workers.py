"""Background work for the GUI: run a function on a worker thread, get its result back as a signal.

``Operation(fn, *args)`` runs ``fn`` on Qt's global thread pool; ``finished(result)`` or
``failed(exception)`` is emitted on the GUI thread. Connect before calling ``start()``. The GUI
thread never waits on a database or the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

logger = logging.getLogger(__name__)


class _Signals(QObject):
    finished = Signal(object)
    failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], signals: _Signals) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn(*self.args)
        except Exception as exc:
            logger.debug("background operation %s failed", getattr(self.fn, "__name__", self.fn), exc_info=True)
            self.signals.failed.emit(exc)
        else:
            self.signals.finished.emit(result)


class Operation(QObject):
    """One background call with ``finished`` / ``failed`` signals delivered on the GUI thread."""

    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable[..., Any], *args: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._signals = _Signals()
        self._signals.finished.connect(self.finished)
        self._signals.failed.connect(self.failed)
        self._job = _Job(fn, args, self._signals)

    def start(self, pool: QThreadPool | None = None) -> Operation:
        (pool or QThreadPool.globalInstance()).start(self._job)
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
