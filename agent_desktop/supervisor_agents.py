"""The supervisor's agents table: one row per agent, fed from the bus, updates coalesced.

:class:`AgentTableModel` takes ``agent.state`` messages and the ACD's offers (``command`` ``offer`` on the
agent's events, which name the call's queue) through :meth:`AgentTableModel.stage`, from the GUI thread,
as fast as they come; it applies what is staged at most every ``flush_ms`` (one ``dataChanged`` for the
rows that changed, one insertion for the agents that are new), so 2,000 agents changing state 200 times
a second cost the screen a few repaints a second.

Columns: agent, team, state, reason, time in state, current call, its queue, calls handled and
occupancy (time ringing, on calls and in wrap-up over the time available: ready or busy). Both are the
day's: the leading ACD publishes each agent's figures of the day (``acd.agent_day``, retained, so a window
opened at noon starts from the morning's); between two of them the table counts on from the states it sees.
:class:`AgentFilterModel` filters by team
and by state and sorts numbers as numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)

from bus.messages import AgentDay, AgentState, Command

from .labels import reason_label, state_label

_Index = QModelIndex | QPersistentModelIndex

# States in which an agent is working (counted as occupied).
_OCCUPIED = frozenset({"reserved", "busy", "wrap_up"})
# States in which an agent is available to the ACD or working (the occupancy's denominator).
_AVAILABLE = frozenset({"ready", "reserved", "busy", "wrap_up"})
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def _clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass(slots=True)
class AgentRow:
    agent_id: str
    team: str = ""
    state: str = "logged_off"
    reason: str = ""
    since: float = 0.0
    extension: str = ""
    call_id: str = ""
    queue: str = ""
    handled: int = 0
    counted_call: str = ""
    occupied_s: float = 0.0
    available_s: float = 0.0
    mark: float = 0.0  # the current state's time counts into occupied_s and available_s from here
    live: bool = False  # an agent.state has been seen (until then the state is the ACD's, from its day figures)

    def occupancy(self, now: float) -> float | None:
        occupied, available = self.occupied_s, self.available_s
        if self.state in _AVAILABLE:
            available += now - self.mark
            if self.state in _OCCUPIED:
                occupied += now - self.mark
        return occupied / available if available > 0 else None


class AgentTableModel(QAbstractTableModel):
    AGENT, TEAM, STATE, REASON, IN_STATE, CALL, QUEUE, HANDLED, OCCUPANCY = range(9)
    HEADERS = (
        QT_TRANSLATE_NOOP("Columns", "Agent"),
        QT_TRANSLATE_NOOP("Columns", "Team"),
        QT_TRANSLATE_NOOP("Columns", "State"),
        QT_TRANSLATE_NOOP("Columns", "Reason"),
        QT_TRANSLATE_NOOP("Columns", "In state"),
        QT_TRANSLATE_NOOP("Columns", "Call"),
        QT_TRANSLATE_NOOP("Columns", "Queue"),
        QT_TRANSLATE_NOOP("Columns", "Handled"),
        QT_TRANSLATE_NOOP("Columns", "Occupancy"),
    )
    NUMERIC = frozenset({IN_STATE, HANDLED, OCCUPANCY})

    def __init__(self, clock: Callable[[], float] = time.time, *, teams: Mapping[str, str] | None = None,
                 flush_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.teams = dict(teams or {})
        self._rows: list[AgentRow] = []
        self._index: dict[str, int] = {}
        self._pending: list[AgentState | Command | AgentDay] = []
        self._call_queue: dict[str, str] = {}  # call id -> queue, from the ACD's offers
        self.flushes = 0
        self._timer = QTimer(self, interval=flush_ms, singleShot=True)
        self._timer.timeout.connect(self.flush)

    # ------------------------------------------------------------ input

    def stage(self, message: AgentState | Command | AgentDay) -> None:
        """Take a message; it shows at the next flush (within ``flush_ms``)."""
        self._pending.append(message)
        if not self._timer.isActive():
            self._timer.start()

    def update(self, state: AgentState) -> None:
        """Take one state and show it at once."""
        self.stage(state)
        self.flush()

    def flush(self) -> None:
        """Apply what is staged: one insertion for new agents, one ``dataChanged`` for changed rows."""
        self._timer.stop()
        pending, self._pending = self._pending, []
        if not pending:
            return
        self.flushes += 1
        now = self.clock()
        new: list[AgentRow] = []
        new_index: dict[str, AgentRow] = {}
        changed: set[int] = set()
        for message in pending:
            if isinstance(message, Command):
                if message.name == "offer" and message.call_id:
                    queue = message.args.get("queue")
                    if isinstance(queue, str):
                        self._call_queue[message.call_id] = queue
                        while len(self._call_queue) > 10_000:
                            self._call_queue.pop(next(iter(self._call_queue)))
                continue
            row_number = self._index.get(message.agent_id)
            if row_number is not None:
                row = self._rows[row_number]
                changed.add(row_number)
            else:
                found = new_index.get(message.agent_id)
                if found is None:
                    found = AgentRow(message.agent_id, team=self.teams.get(message.agent_id, ""), since=now,
                                     mark=now)
                    new.append(found)
                    new_index[message.agent_id] = found
                row = found
            self._apply(row, message, now)
        if changed:
            first, last = min(changed), max(changed)
            self.dataChanged.emit(self.index(first, 0), self.index(last, self.columnCount() - 1))
        if new:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for offset, row in enumerate(new):
                self._index[row.agent_id] = start + offset
            self._rows.extend(new)
            self.endInsertRows()

    def _apply(self, row: AgentRow, state: AgentState | AgentDay, now: float) -> None:
        if isinstance(state, AgentDay):  # the ACD's count of the day replaces the window's own
            if not row.live and state.state is not None:  # no agent.state seen yet: the ACD's word on it
                row.state, row.reason = state.state, state.reason or ""
                row.since = min(now, state.since) if state.since is not None else now
            # The ACD counts a call when it ends, the table when it is answered: the call on now is extra.
            current = 1 if row.state == "busy" and row.call_id and row.counted_call == row.call_id else 0
            row.handled = state.handled + current
            row.occupied_s, row.available_s, row.mark = state.busy_s, state.available_s, now
            return
        row.live = True
        reason = state.reason or ""
        if state.state == "not_ready" and not reason and row.state == "not_ready":
            reason = row.reason  # a report that repeats the state without its reason keeps the reason
        if (state.state, reason) != (row.state, row.reason):
            spent = now - row.mark
            if row.state in _AVAILABLE:
                row.available_s += spent
                if row.state in _OCCUPIED:
                    row.occupied_s += spent
            row.since = row.mark = now
        if state.state == "busy" and state.call_id and state.call_id != row.counted_call:
            row.handled += 1
            row.counted_call = state.call_id
        row.state, row.reason = state.state, reason
        if state.extension:
            row.extension = state.extension
        if state.state in ("busy", "reserved", "wrap_up"):
            row.call_id = state.call_id or row.call_id
        else:
            row.call_id = ""
        row.queue = self._call_queue.get(row.call_id, "") if row.call_id else ""

    # ------------------------------------------------------------ reading

    def row(self, number: int) -> AgentRow:
        return self._rows[number]

    def agent_id(self, row: int) -> str:
        return self._rows[row].agent_id

    def rows(self) -> list[AgentRow]:
        return list(self._rows)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self._rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts

    def set_teams(self, teams: Mapping[str, str]) -> None:
        self.teams = dict(teams)
        for row in self._rows:
            row.team = self.teams.get(row.agent_id, "")
        if self._rows:
            self.dataChanged.emit(self.index(0, self.TEAM), self.index(len(self._rows) - 1, self.TEAM))

    def tick(self) -> None:
        """Time passed: the time-in-state and occupancy columns change."""
        if self._rows:
            last = len(self._rows) - 1
            self.dataChanged.emit(self.index(0, self.IN_STATE), self.index(last, self.IN_STATE))
            self.dataChanged.emit(self.index(0, self.OCCUPANCY), self.index(last, self.OCCUPANCY))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column in self.NUMERIC else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role not in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return None
        now = self.clock()
        if column == self.IN_STATE:
            seconds = now - r.since
            return seconds if role == SORT_ROLE else _clock_text(seconds)
        if column == self.HANDLED:
            return r.handled if role == SORT_ROLE else str(r.handled)
        if column == self.OCCUPANCY:
            occupancy = r.occupancy(now)
            if role == SORT_ROLE:
                return -1.0 if occupancy is None else occupancy
            return "–" if occupancy is None else f"{occupancy * 100:.0f}%"
        if column == self.STATE:
            return r.state if role == SORT_ROLE else state_label(r.state)
        if column == self.REASON:
            return reason_label(r.reason)
        return (r.agent_id, r.team, "", "", "", r.call_id, r.queue)[column]

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


class AgentFilterModel(QSortFilterProxyModel):
    """The agents of the chosen teams and states (all when none is chosen), sorted by the numbers."""

    def __init__(self, source: AgentTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)  # re-sorting 2,000 rows on every flush would cost the frame
        self._teams: frozenset[str] = frozenset()
        self._states: frozenset[str] = frozenset()

    @property
    def agents(self) -> AgentTableModel:
        source = self.sourceModel()
        assert isinstance(source, AgentTableModel)
        return source

    def set_teams(self, teams: Iterable[str]) -> None:
        self.beginFilterChange()
        self._teams = frozenset(teams)
        self.endFilterChange()

    def set_states(self, states: Iterable[str]) -> None:
        self.beginFilterChange()
        self._states = frozenset(states)
        self.endFilterChange()

    def refilter(self) -> None:
        """The rows' states or teams changed: filter again."""
        self.beginFilterChange()
        self.endFilterChange()

    @property
    def filtering(self) -> bool:
        return bool(self._teams or self._states)

    def refresh(self) -> None:
        """After the source changed: filter again (when filtering) and sort again (when sorted)."""
        if self.filtering:
            self.refilter()
        if self.sortColumn() >= 0:
            self.sort(self.sortColumn(), self.sortOrder())

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        row = self.agents.row(source_row)
        if self._teams and row.team not in self._teams:
            return False
        state = "busy" if row.state == "reserved" else row.state
        return not self._states or state in self._states
