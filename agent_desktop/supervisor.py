"""The supervisor window: live queues, agents by state, and the ACD's explanations.

It presents the same messages the bus carries (``QueueStats`` and ``AgentState``), so it works on
the demo's in-process feeds and on the bus alike. An explanation (why this agent is idle, why calls
wait in this queue) is asked of the ACD through ``explain``, a callable that answers off the GUI
thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QGroupBox,
    QHeaderView,
    QMainWindow,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bus.messages import AgentState, ExplainAnswer, QueueStats

from .app import remember_layout
from .customer_view import named, plain_label
from .queues import QueueStatsFeed, QueueStatsModel
from .workers import mailbox, post

_Index = QModelIndex | QPersistentModelIndex

#: ``explain(kind, name)`` with kind "agent" or "queue": a future of the ACD's answer.
Explainer = Callable[[str, str], Future[ExplainAnswer]]


class AgentStateFeed(QObject):
    updated = Signal(object)  # AgentState

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if QCoreApplication.instance() is not None:
            mailbox()  # made here, on the GUI thread, before any other thread publishes

    def publish(self, state: AgentState) -> None:
        """From any thread: ``updated`` is emitted on the GUI thread (at once when called there)."""
        post(self, self.updated.emit, state)


def _since(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class AgentStatesModel(QAbstractTableModel):
    HEADERS = (
        QT_TRANSLATE_NOOP("Columns", "Agent"),
        QT_TRANSLATE_NOOP("Columns", "Extension"),
        QT_TRANSLATE_NOOP("Columns", "State"),
        QT_TRANSLATE_NOOP("Columns", "Reason"),
        QT_TRANSLATE_NOOP("Columns", "In state"),
        QT_TRANSLATE_NOOP("Columns", "Call"),
    )

    def __init__(self, clock: Callable[[], float] = time.time, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self._rows: list[AgentState] = []
        self._since: list[float] = []
        self._index: dict[str, int] = {}

    def update(self, state: AgentState) -> None:
        row = self._index.get(state.agent_id)
        if row is None:
            row = len(self._rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.append(state)
            self._since.append(self.clock())
            self._index[state.agent_id] = row
            self.endInsertRows()
            return
        if (self._rows[row].state, self._rows[row].reason) != (state.state, state.reason):
            self._since[row] = self.clock()
        self._rows[row] = state
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def agent_id(self, row: int) -> str:
        return self._rows[row].agent_id

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self._rows:
            counts[state.state] = counts.get(state.state, 0) + 1
        return counts

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            values = (s.agent_id, s.extension or "", s.state.replace("_", " "), s.reason or "",
                      _since(self.clock() - self._since[index.row()]), s.call_id or "")
            return values[index.column()]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return QCoreApplication.translate("Columns", str(self.HEADERS[section]))
        return None


def _table(model: QAbstractTableModel, name: str) -> QTableView:
    view = named(QTableView(), name)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    view.setAlternatingRowColors(True)
    return view


class SupervisorWindow(QMainWindow):
    explained = Signal(str)  # the explanation shown

    def __init__(
        self,
        *,
        queue_stats: QueueStatsFeed,
        agent_states: AgentStateFeed,
        explain: Explainer | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("ccenter — Supervisor"))
        self.explain = explain
        self.queues = QueueStatsModel(parent=self)
        self.agents = AgentStatesModel(parent=self)
        queue_stats.updated.connect(self._on_queue_stats)
        agent_states.updated.connect(self._on_agent_state)

        self.summary = named(plain_label(), "supervisorSummary")
        self.queue_view = _table(self.queues, "queueTable")
        self.agent_view = _table(self.agents, "agentTable")
        self.explanation = named(QPlainTextEdit(), "explanation")
        self.explanation.setReadOnly(True)
        self.explanation.setPlaceholderText(self.tr("Select a queue or an agent: the ACD says why things are as "
                                                    "they are."))
        queue_box = QGroupBox(self.tr("Queues"))
        QVBoxLayout(queue_box).addWidget(self.queue_view)
        agent_box = QGroupBox(self.tr("Agents"))
        QVBoxLayout(agent_box).addWidget(self.agent_view)
        explain_box = QGroupBox(self.tr("Why"))
        QVBoxLayout(explain_box).addWidget(self.explanation)
        self.splitter = named(QSplitter(Qt.Orientation.Vertical), "supervisorSplitter")
        for box in (queue_box, agent_box, explain_box):
            self.splitter.addWidget(box)
        self.splitter.setSizes([330, 300, 150])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.resize(1100, 760)
        remember_layout(self, "supervisor", self.splitter)

        self.queue_view.selectionModel().selectionChanged.connect(self._on_queue_selected)
        self.agent_view.selectionModel().selectionChanged.connect(self._on_agent_selected)
        self._ticker = QTimer(self, interval=1000)
        self._ticker.timeout.connect(self._refresh)
        self._ticker.start()

    def _on_queue_selected(self, *_args: object) -> None:
        rows = self.queue_view.selectionModel().selectedRows()
        if rows:
            self._explain("queue", self.queues.stats()[rows[0].row()].queue)

    def _on_agent_selected(self, *_args: object) -> None:
        rows = self.agent_view.selectionModel().selectedRows()
        if rows:
            self._explain("agent", self.agents.agent_id(rows[0].row()))

    def _on_agent_state(self, state: AgentState) -> None:
        self.agents.update(state)
        self._refresh()

    def _on_queue_stats(self, stats: QueueStats) -> None:
        self.queues.update(stats)
        self._refresh()

    def _refresh(self) -> None:
        stats = self.queues.stats()
        waiting = sum(s.waiting for s in stats)
        offered = sum(s.offered for s in stats)
        abandoned = sum(s.abandoned for s in stats)
        answered_in = [s for s in stats if s.service_level is not None]
        counts = self.agents.counts()
        parts = [
            self.tr("%1 waiting").replace("%1", str(waiting)),
            self.tr("abandoned %1 of %2").replace("%1", str(abandoned)).replace("%2", str(offered)),
        ]
        if answered_in:
            weighted = sum((s.service_level or 0) * s.offered for s in answered_in)
            total = sum(s.offered for s in answered_in)
            if total:
                parts.append(self.tr("service level %1%").replace("%1", f"{weighted / total * 100:.0f}"))
        parts += [f"{name.replace('_', ' ')} {count}" for name, count in sorted(counts.items())]
        self.summary.setText("  ·  ".join(parts))
        top = self.agents.index(0, 4)
        if self.agents.rowCount():
            self.agents.dataChanged.emit(top, self.agents.index(self.agents.rowCount() - 1, 4))

    def _explain(self, kind: str, name: str) -> None:
        if self.explain is None:
            return
        future = self.explain(kind, name)
        box = mailbox()

        def show(f: Future[ExplainAnswer]) -> None:  # on the thread that answered: hand it to the GUI thread
            error = f.exception()
            box.post(self, self._show_explanation, f.result() if error is None else error)

        future.add_done_callback(show)

    def _show_explanation(self, answer: ExplainAnswer | BaseException) -> None:
        if isinstance(answer, TimeoutError):
            text = self.tr("No ACD answered: is `ccenter acd` running for this site?")
        elif isinstance(answer, BaseException):
            text = self.tr("The ACD could not explain: %1").replace("%1", str(answer))
        else:
            text = answer.text
        self.explanation.setPlainText(text)
        self.explained.emit(text)
