"""Live queue statistics for the desktop: a feed of ``QueueStats`` messages and a table model over them.

The feed is filled by whatever knows the queues: the ACD server's retained statistics on the bus in
production, the in-process contact center in the demo. ``publish`` may be called from any thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from bus.messages import QueueStats

from .workers import mailbox, post

_Index = QModelIndex | QPersistentModelIndex


def _wait(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


class QueueStatsFeed(QObject):
    updated = Signal(object)  # QueueStats

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if QCoreApplication.instance() is not None:
            mailbox()  # made here, on the GUI thread, before any other thread publishes

    def publish(self, stats: QueueStats) -> None:
        """From any thread: ``updated`` is emitted on the GUI thread (at once when called there)."""
        post(self, self.updated.emit, stats)


class QueueStatsModel(QAbstractTableModel):
    """One row per queue, in the order first seen; updated in place as statistics arrive."""

    HEADERS = (
        QT_TRANSLATE_NOOP("Columns", "Queue"),
        QT_TRANSLATE_NOOP("Columns", "Waiting"),
        QT_TRANSLATE_NOOP("Columns", "Longest wait"),
        QT_TRANSLATE_NOOP("Columns", "Service level"),
        QT_TRANSLATE_NOOP("Columns", "ASA"),
        QT_TRANSLATE_NOOP("Columns", "Ready"),
        QT_TRANSLATE_NOOP("Columns", "Busy"),
        QT_TRANSLATE_NOOP("Columns", "Answered"),
        QT_TRANSLATE_NOOP("Columns", "Abandoned"),
    )

    def __init__(self, queues: Iterable[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.allowed = set(queues) if queues is not None else None
        self._rows: list[QueueStats] = []
        self._index: dict[str, int] = {}

    def update(self, stats: QueueStats) -> None:
        if self.allowed is not None and stats.queue not in self.allowed:
            return
        row = self._index.get(stats.queue)
        if row is None:
            row = len(self._rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.append(stats)
            self._index[stats.queue] = row
            self.endInsertRows()
            return
        self._rows[row] = stats
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def stats(self) -> list[QueueStats]:
        return list(self._rows)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        s = self._rows[index.row()]
        values = (s.queue, str(s.waiting), _wait(s.longest_wait_s), _percent(s.service_level),
                  "–" if s.asa_s is None else f"{s.asa_s:.0f} s", str(s.agents_ready), str(s.agents_busy),
                  str(s.answered), str(s.abandoned))
        return values[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return QCoreApplication.translate("Columns", str(self.HEADERS[section]))
        return None

    def summary(self) -> str:
        """One short line for the agent's state bar: the queues with calls waiting, and the longest wait."""
        parts = [
            QCoreApplication.translate("QueueStatsModel", "%1: %2 waiting").replace("%1", s.queue).replace(
                "%2", str(s.waiting)) + f" ({_wait(s.longest_wait_s)})"
            for s in sorted(self._rows, key=lambda s: -s.longest_wait_s)
            if s.waiting
        ]
        if not parts:
            return QCoreApplication.translate("QueueStatsModel", "No calls waiting") if self._rows else ""
        return "  ·  ".join(parts)
