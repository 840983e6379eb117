"""The supervisor's campaign panel: per campaign, progress, attempts, connects, conversion, the abandon rate
against its cap, and why the dialer is idle. Rows are :class:`crm.supervision.CampaignOverview`."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractItemModel,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import QHeaderView, QTableView, QWidget

from crm.supervision import CampaignOverview

from .labels import tr

_Index = QModelIndex | QPersistentModelIndex

_IDLE: dict[str, object] = {
    "paused": QT_TRANSLATE_NOOP("SupervisorLabels", "paused"),
    "finished": QT_TRANSLATE_NOOP("SupervisorLabels", "finished"),
    "draft": QT_TRANSLATE_NOOP("SupervisorLabels", "not yet active"),
    "not_started": QT_TRANSLATE_NOOP("SupervisorLabels", "its start date is ahead"),
    "ended": QT_TRANSLATE_NOOP("SupervisorLabels", "its end date is past"),
    "no_work_left": QT_TRANSLATE_NOOP("SupervisorLabels", "no work item left to call"),
    "preview": QT_TRANSLATE_NOOP("SupervisorLabels", "preview: agents place the calls"),
    "refused_do_not_call": QT_TRANSLATE_NOOP("SupervisorLabels", "every number tried is on the do-not-call list"),
    "refused_calling_hours": QT_TRANSLATE_NOOP("SupervisorLabels", "outside the customers' calling hours"),
    "refused_frequency_cap": QT_TRANSLATE_NOOP("SupervisorLabels", "customers already contacted enough (cap)"),
    "refused_consent": QT_TRANSLATE_NOOP("SupervisorLabels", "no consent from the customers tried"),
    "refused_max_attempts": QT_TRANSLATE_NOOP("SupervisorLabels", "work items out of attempts"),
    "refused_retry": QT_TRANSLATE_NOOP("SupervisorLabels", "waiting for the retry delays"),
}
_DIAL_MODES: dict[str, object] = {
    "preview": QT_TRANSLATE_NOOP("SupervisorLabels", "Preview"),
    "progressive": QT_TRANSLATE_NOOP("SupervisorLabels", "Progressive"),
    "predictive": QT_TRANSLATE_NOOP("SupervisorLabels", "Predictive"),
}


def idle_label(code: str | None) -> str:
    if code is None:
        return tr(QT_TRANSLATE_NOOP("SupervisorLabels", "dialing"))
    known = _IDLE.get(code)
    return tr(known) if known is not None else code.replace("_", " ")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


class CampaignTableModel(QAbstractTableModel):
    CAMPAIGN, MODE, PROGRESS, ATTEMPTS, CONNECTS, CONVERSION, ABANDON, CAP, WHY = range(9)
    HEADERS = (
        QT_TRANSLATE_NOOP("Columns", "Campaign"),
        QT_TRANSLATE_NOOP("Columns", "Dial mode"),
        QT_TRANSLATE_NOOP("Columns", "Progress"),
        QT_TRANSLATE_NOOP("Columns", "Attempts"),
        QT_TRANSLATE_NOOP("Columns", "Connects"),
        QT_TRANSLATE_NOOP("Columns", "Conversion"),
        QT_TRANSLATE_NOOP("Columns", "Abandon rate"),
        QT_TRANSLATE_NOOP("Columns", "Cap"),
        QT_TRANSLATE_NOOP("Columns", "Dialer"),
    )
    NUMERIC = frozenset({PROGRESS, ATTEMPTS, CONNECTS, CONVERSION, ABANDON, CAP})

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CampaignOverview] = []

    def set_campaigns(self, rows: Sequence[CampaignOverview]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def campaign(self, row: int) -> CampaignOverview:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def over_cap(self, row: int) -> bool:
        c = self._rows[row]
        return c.abandon_target is not None and c.abandon_rate is not None and c.abandon_rate > c.abandon_target

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        c, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column in self.NUMERIC else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.ABANDON and self.over_cap(index.row()):
            return QColor("#d32f2f")
        if role == Qt.ItemDataRole.ToolTipRole and column == self.CAMPAIGN:
            return f"<p>{html.escape(c.name)} ({html.escape(c.campaign_key)})</p>"  # in full, when elided
        if role == Qt.ItemDataRole.ToolTipRole and column == self.WHY:
            # The latest dial decision, escaped: a tooltip would read markup in it as rich text.
            return None if c.last_decision is None else f"<p>{html.escape(c.last_decision)}</p>"
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        mode = _DIAL_MODES.get(c.dial_mode)
        values = (
            f"{c.name} ({c.campaign_key})",
            tr(mode) if mode is not None else c.dial_mode,
            f"{c.done} / {c.work_items} ({_percent(c.progress)})",
            str(c.attempts),
            str(c.connects),
            _percent(c.conversion),
            _percent(c.abandon_rate),
            _percent(c.abandon_target),
            idle_label(c.idle_reason),
        )
        return values[column]

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("Columns", str(self.HEADERS[section]))
        if role == Qt.ItemDataRole.TextAlignmentRole:  # over its column's values, as they are aligned
            horizontal = Qt.AlignmentFlag.AlignRight if section in self.NUMERIC else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        return None


class CampaignView(QTableView):
    """The campaign table, its columns fitted to the width it has: each column is as wide as its content,
    and when they do not all fit the campaign's name gives way (elided, in full in its tooltip), so that
    why the dialer is idle is read in full; room to spare goes to that last column."""

    MIN_NAME_WIDTH = 120

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.horizontalHeader().setStretchLastSection(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)

    def setModel(self, model: QAbstractItemModel | None) -> None:
        super().setModel(model)
        if model is not None:
            model.modelReset.connect(self.fit_columns)

    def fit_columns(self) -> None:
        model = self.model()
        if model is None or model.columnCount() == 0:
            return
        header = self.horizontalHeader()
        self.resizeColumnsToContents()
        name, why = CampaignTableModel.CAMPAIGN, CampaignTableModel.WHY
        spare = self.viewport().width() - header.length()
        if spare >= 0:
            header.resizeSection(why, header.sectionSize(why) + spare)
        else:
            header.resizeSection(name, max(self.MIN_NAME_WIDTH, header.sectionSize(name) + spare))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()
