"""Table models over plain Python rows: one ``RecordTableModel`` with column definitions.

Cells are plain text (``DisplayRole`` strings) and tooltips escaped plain text, so caller- or
file-supplied text is never interpreted as markup. Tests read them through ``data()`` and ``rowCount()`` without a view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from PySide6 import QtGui
from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QDateTime,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTime,
)

R = TypeVar("R")
_Index = QModelIndex | QPersistentModelIndex


def when(value: datetime | None) -> str:
    """A timestamp for people: the desktop's local time, in the format of its locale (``QLocale()``)."""
    if value is None:
        return ""
    local = value.astimezone()
    moment = QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute, local.second))
    return QLocale().toString(moment, QLocale.FormatType.ShortFormat)


def when_seconds(at: float) -> str:
    """A Unix time for people, as :func:`when` shows it."""
    return when(datetime.fromtimestamp(at).astimezone())


def money(amount: Decimal | None, currency: str | None) -> str:
    return "" if amount is None else f"{amount:,.2f} {currency or ''}".strip()


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    header: str
    text: Callable[[R], str]
    align_right: bool = False


class RecordTableModel(QAbstractTableModel, Generic[R]):
    def __init__(self, columns: Sequence[Column[R]], parent: Any = None) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._rows: list[R] = []

    def set_rows(self, rows: Sequence[R]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, index: int) -> R:
        return self._rows[index]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(self._rows[index.row()])
        if role == Qt.ItemDataRole.ToolTipRole:
            # A tooltip is shown as rich text when it looks like markup: give Qt escaped text, so a
            # customer named "<img src=...>" is shown as written, never rendered.
            return QtGui.Qt.convertFromPlainText(column.text(self._rows[index.row()]))
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("Columns", self._columns[section].header)
        if role == Qt.ItemDataRole.TextAlignmentRole:  # over its column's values (centred, the header of a
            # last column stretched to the table's edge stood apart from them)
            right = self._columns[section].align_right
            horizontal = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        return None
