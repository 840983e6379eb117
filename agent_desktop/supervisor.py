"""The supervisor window: live queues, agents by state, and the ACD's explanations.

It presents the same messages the bus carries (``QueueStats`` and ``AgentState``), so it works on
the demo's in-process feeds and on the bus alike. An explanation (why this agent is idle, why calls
wait in this queue) is asked of the ACD through ``explain``, a callable that answers off the GUI
thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bus.messages import AgentDay, AgentState, Command, ExplainAnswer, QueueStats, SupervisorResult
from crm.supervision import CampaignOverview

from .app import fit_default_size, remember_layout
from .customer_view import named, plain_label
from .labels import action_label, explanation_text, state_label
from .queues import QueueStatsFeed, QueueStatsModel
from .supervisor_agents import AgentFilterModel, AgentTableModel
from .supervisor_campaigns import CampaignTableModel, CampaignView
from .supervisor_charts import INTERVAL_MINUTES, ChartsPanel, DayHistory, staffing, write_intervals
from .supervisor_tiles import Thresholds, TileBoard
from .workers import mailbox, post

# ``explain(kind, name)`` with kind "agent" or "queue": a future of the ACD's answer.
Explainer = Callable[[str, str], Future[ExplainAnswer]]
# ``act(action, target, args)``: a future of the ACD's result (routing.supervision.SupervisorClient.act).
Actor = Callable[[str, str, dict[str, Any]], Future[SupervisorResult]]


class AgentStateFeed(QObject):
    """Agent states, the ACD's offers (which name a call's queue) and its figures of each agent's day, from
    any thread to the GUI thread."""

    updated = Signal(object)  # AgentState, Command (offer) or AgentDay

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if QCoreApplication.instance() is not None:
            mailbox()  # made here, on the GUI thread, before any other thread publishes

    def publish(self, state: AgentState | Command | AgentDay) -> None:
        """From any thread: ``updated`` is emitted on the GUI thread (at once when called there)."""
        post(self, self.updated.emit, state)


def _table(model: QAbstractItemModel, name: str, view: QTableView | None = None) -> QTableView:
    view = named(view if view is not None else QTableView(), name)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setResizeContentsPrecision(200)  # columns sized to the content of the rows in sight, not all 2,000
    header.setStretchLastSection(True)
    view.setAlternatingRowColors(True)
    return view


def parse_skills(text: str) -> dict[str, int] | None:
    """``"sales=5, billing=3"`` as ``{"sales": 5, "billing": 3}``; None when it cannot be read."""
    skills: dict[str, int] = {}
    for part in text.split(","):
        name, sep, level = part.partition("=")
        name, level = name.strip(), level.strip()
        if not sep or not name or not level.isdigit() or not 1 <= int(level) <= 10:
            return None
        skills[name] = int(level)
    return skills or None


# The states the agents table filters on (ringing counts as on a call).
FILTER_STATES = ("ready", "busy", "wrap_up", "not_ready")


class SupervisorWindow(QMainWindow):
    """Tiles per queue, the agents table (filtered by team and state), and the ACD's explanations.

    ``teams`` maps agent ids to their team; ``thresholds`` colour the tiles. Updates are applied at most
    every ``flush_ms``, however fast the feeds publish."""

    explained = Signal(str)  # the explanation shown
    acted = Signal(object)  # SupervisorResult, or the exception the action raised

    def __init__(
        self,
        *,
        queue_stats: QueueStatsFeed,
        agent_states: AgentStateFeed,
        explain: Explainer | None = None,
        act: Actor | None = None,
        teams: Mapping[str, str] | None = None,
        thresholds: Thresholds | None = None,
        clock: Callable[[], float] = time.time,
        flush_ms: int = 150,
        campaigns: Callable[[], Future[list[CampaignOverview]]] | None = None,
        sample_s: float = 60.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("ccenter — Supervisor"))
        self.explain = explain
        self.act = act
        self.capabilities: frozenset[str] = frozenset()
        self.queues = QueueStatsModel(parent=self)
        self.agents = AgentTableModel(clock, teams=teams, flush_ms=flush_ms, parent=self)
        self.agents_shown = AgentFilterModel(self.agents, parent=self)
        self.tiles = TileBoard(thresholds, flush_ms=flush_ms)
        queue_stats.updated.connect(self._on_queue_stats)
        agent_states.updated.connect(self._on_agent_state)
        self.agents.modelReset.connect(self._on_agents_changed)

        self.summary = named(plain_label(), "supervisorSummary")
        self.agent_view = _table(self.agents_shown, "agentTable")
        self.agent_view.setSortingEnabled(True)
        agent_header = self.agent_view.horizontalHeader()
        agent_header.setStretchLastSection(False)
        # Sized to content when agents arrive, not on every change, and measured on the rows in view (Qt
        # measures 1,000 rows by default: for 2,000 agents, a fifth of a second of a frozen screen).
        agent_header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        agent_header.setResizeContentsPrecision(0)
        self._resize_due = QTimer(self, interval=1000, singleShot=True)
        self._resize_due.timeout.connect(self.agent_view.resizeColumnsToContents)
        self.agent_view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.team_filter = named(QComboBox(), "teamFilter")
        self.state_filter = named(QComboBox(), "stateFilter")
        self.state_filter.addItem(self.tr("All states"), "")
        for state in FILTER_STATES:
            self.state_filter.addItem(state_label(state), state)
        self._fill_teams()
        self.team_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.state_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.explanation = named(QPlainTextEdit(), "explanation")
        self.explanation.setReadOnly(True)
        self.explanation.setPlaceholderText(self.tr("Select a queue or an agent: the ACD says why things are as "
                                                    "they are."))
        self.clock = clock
        self.history = DayHistory(sample_s)
        self.charts = ChartsPanel()
        self.campaign_source = campaigns
        self.campaigns = CampaignTableModel(self)
        self.campaign_view = _table(self.campaigns, "campaignTable", CampaignView())
        self.campaign_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.campaign_view.horizontalHeader().setStretchLastSection(False)
        campaign_page = QWidget()
        campaign_layout = QVBoxLayout(campaign_page)
        campaign_buttons = QHBoxLayout()
        for action, text in (("pause_campaign", self.tr("Pause")), ("resume_campaign", self.tr("Resume"))):
            button = named(QPushButton(text), action)
            button.clicked.connect(lambda _=False, a=action: self._on_campaign_action(a))
            campaign_buttons.addWidget(button)
        pacing = named(QPushButton(self.tr("Pacing…")), "set_campaign")
        pacing.clicked.connect(self._ask_pacing)
        campaign_buttons.addWidget(pacing)
        campaign_buttons.addStretch(1)
        campaign_layout.addLayout(campaign_buttons)
        campaign_layout.addWidget(self.campaign_view)
        self.interval_choice = named(QComboBox(), "intervalMinutes")
        for minutes in INTERVAL_MINUTES:
            self.interval_choice.addItem(self.tr("%1 minutes").replace("%1", str(minutes)), minutes)
        export = named(QPushButton(self.tr("Export intervals to CSV…")), "exportIntervals")
        export.clicked.connect(self._on_export)
        self.charts.layout().itemAt(0).layout().addWidget(self.interval_choice)  # type: ignore[union-attr]
        self.charts.layout().itemAt(0).layout().addWidget(export)  # type: ignore[union-attr]
        self.charts.queue_choice.currentIndexChanged.connect(self._show_charts)
        self.pages = named(QTabWidget(), "supervisorPages")
        self.pages.addTab(self.tiles, self.tr("Queues"))
        self.pages.addTab(self.charts, self.tr("Today"))
        self.pages.addTab(campaign_page, self.tr("Campaigns"))
        self.pages.currentChanged.connect(self._on_page)
        queue_box = QWidget()
        QVBoxLayout(queue_box).addWidget(self.pages)
        agent_box = QGroupBox(self.tr("Agents"))
        agent_layout = QVBoxLayout(agent_box)
        filters = QHBoxLayout()
        filters.addWidget(QLabel(self.tr("Team")))
        filters.addWidget(self.team_filter)
        filters.addWidget(QLabel(self.tr("State")))
        filters.addWidget(self.state_filter)
        self.message_team_button = named(QPushButton(self.tr("Message team…")), "messageTeam")
        self.message_team_button.setEnabled(False)
        self.message_team_button.clicked.connect(self._on_message_team)
        filters.addWidget(self.message_team_button)
        filters.addStretch(1)
        agent_layout.addLayout(filters)
        agent_layout.addWidget(self.agent_view)
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
        fit_default_size(self, 1100, 760)
        remember_layout(self, "supervisor", self.splitter)

        self.agent_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.agent_view.customContextMenuRequested.connect(self._on_agent_menu)
        self.tiles.queue_clicked.connect(self._on_queue_selected)
        self.tiles.queue_menu_requested.connect(lambda queue, where: self.queue_menu(queue).popup(where))
        self.agent_view.selectionModel().selectionChanged.connect(self._on_agent_selected)
        self.agents.rowsInserted.connect(self._on_agents_changed)
        self._ticker = QTimer(self, interval=1000)
        self._ticker.timeout.connect(self._refresh)
        self._ticker.start()
        self._summary_due = QTimer(self, interval=flush_ms, singleShot=True)
        self._summary_due.timeout.connect(self._refresh_summary)
        self._campaign_timer = QTimer(self, interval=10_000)
        self._campaign_timer.timeout.connect(self.refresh_campaigns)
        if campaigns is not None:
            self._campaign_timer.start()
            self.refresh_campaigns()

    # ------------------------------------------------------------ input

    def _on_agent_state(self, message: AgentState | Command | AgentDay) -> None:
        self.agents.stage(message)
        self._later()

    def _on_queue_stats(self, stats: QueueStats) -> None:
        self.queues.update(stats)
        self.tiles.stage(stats)
        self._later()

    def _later(self) -> None:
        if not self._summary_due.isActive():
            self._summary_due.start()

    def set_teams(self, teams: Mapping[str, str]) -> None:
        self.agents.set_teams(teams)
        self._fill_teams()

    def _fill_teams(self) -> None:
        chosen = self.team_filter.currentData()
        self.team_filter.blockSignals(True)
        self.team_filter.clear()
        self.team_filter.addItem(self.tr("All teams"), "")
        for team in sorted(set(self.agents.teams.values()) - {""}):
            self.team_filter.addItem(team, team)
        self.team_filter.setCurrentIndex(max(0, self.team_filter.findData(chosen or "")))
        self.team_filter.blockSignals(False)

    def _on_filter_changed(self, *_args: object) -> None:
        team, state = self.team_filter.currentData(), self.state_filter.currentData()
        self.message_team_button.setEnabled(bool(team) and self.act is not None)
        self.agents_shown.set_teams([team] if team else [])
        self.agents_shown.set_states([state] if state else [])

    def _on_agents_changed(self, *_args: object) -> None:
        if not self._resize_due.isActive():
            self._resize_due.start()
        if self.agents_shown.filtering:
            self.agents_shown.refilter()

    # ------------------------------------------------------------ actions

    def set_capabilities(self, capabilities: Iterable[str]) -> None:
        """What the site's telephony can do: listening in needs ``listen``."""
        self.capabilities = frozenset(capabilities)

    def agent_menu(self, agent_id: str) -> QMenu:
        """The actions on one agent (the table's context menu)."""
        menu = QMenu(self)
        enabled = self.act is not None
        for action, text in (("force_not_ready", self.tr("Set not ready")), ("log_out", self.tr("Log out"))):
            item = menu.addAction(text)
            item.setObjectName(action)
            item.setEnabled(enabled)
            item.triggered.connect(lambda _=False, a=action: self.act_on(a, agent_id))
        item = menu.addAction(self.tr("Change skills…"))
        item.setObjectName("set_skills")
        item.setEnabled(enabled)
        item.triggered.connect(lambda _=False: self._ask_skills(agent_id))
        item = menu.addAction(self.tr("Send a message…"))
        item.setObjectName("message_agent")
        item.setEnabled(enabled)
        item.triggered.connect(lambda _=False: self._ask_and_send("message_agent", agent_id))
        menu.addSeparator()
        listen = enabled and "listen" in self.capabilities and bool(self.extension)
        for mode, text in (("monitor", self.tr("Listen in silently")), ("whisper", self.tr("Whisper to the agent")),
                           ("barge", self.tr("Join the call"))):
            item = menu.addAction(text)
            item.setObjectName(f"listen_{mode}")
            item.setEnabled(listen)  # greyed out where the telephony cannot
            item.triggered.connect(lambda _=False, m=mode: self.act_on("listen", agent_id, mode=m,
                                                                        extension=self.extension))
        return menu

    extension = ""  # the supervisor's own phone, for listening in

    def queue_menu(self, queue: str) -> QMenu:
        """The actions on one queue (the tile's context menu): selection rule, priority, overflow."""
        menu = QMenu(self)
        enabled = self.act is not None
        for rule, text in (("most_skilled", self.tr("Offer calls to the most skilled agent")),
                           ("longest_idle", self.tr("Offer calls to the longest-idle agent")),
                           ("least_occupied", self.tr("Offer calls to the least occupied agent"))):
            item = menu.addAction(text)
            item.setObjectName(f"select_{rule}")
            item.setEnabled(enabled)
            item.triggered.connect(lambda _=False, r=rule: self.act_on("set_queue", queue,
                                                                        changes={"agent_selection": r}))
        item = menu.addAction(self.tr("Priority…"))
        item.setObjectName("priority")
        item.setEnabled(enabled)
        item.triggered.connect(lambda _=False: self._ask_priority(queue))
        item = menu.addAction(self.tr("Overflow…"))
        item.setObjectName("overflow")
        item.setEnabled(enabled and len(self.tiles.tiles) > 1)
        item.triggered.connect(lambda _=False: self._ask_overflow(queue))
        return menu

    def _ask_priority(self, queue: str) -> None:
        value, ok = QInputDialog.getInt(self, self.tr("Priority"), self.tr("Priority of %1's calls (added to each "
                                        "call's own):").replace("%1", queue), 0, -100, 100)
        if ok:
            self.act_on("set_queue", queue, changes={"priority": value})

    def _ask_overflow(self, queue: str) -> None:
        others = [q for q in self.tiles.tiles if q != queue]
        target, ok = QInputDialog.getItem(self, self.tr("Overflow"), self.tr("Overflow %1 to:").replace("%1", queue),
                                          others, 0, False)
        if not ok:
            return
        seconds, ok = QInputDialog.getInt(self, self.tr("Overflow"), self.tr("After how many seconds of waiting:"),
                                          60, 1, 3600)
        if ok:
            self.act_on("set_queue", queue, changes={"overflow_to": [target], "overflow_after_seconds": float(seconds)})

    def _ask_pacing(self) -> None:
        rows = self.campaign_view.selectionModel().selectedRows()
        if not rows:
            return
        campaign = self.campaigns.campaign(rows[0].row())
        modes = ["preview", "progressive", "predictive"]
        mode, ok = QInputDialog.getItem(self, self.tr("Pacing"), self.tr("Dial mode of %1:").replace(
            "%1", campaign.name), modes, modes.index(campaign.dial_mode) if campaign.dial_mode in modes else 0, False)
        if not ok:
            return
        target, ok = QInputDialog.getDouble(self, self.tr("Pacing"), self.tr("Abandon target (%):"),
                                            (campaign.abandon_target or 0.03) * 100, 0.1, 20.0, 1)
        if ok:
            self.act_on("set_campaign", campaign.campaign_key, dial_mode=mode, abandon_target=round(target / 100, 4))

    def _ask_skills(self, agent_id: str) -> None:
        text, ok = QInputDialog.getText(self, self.tr("Skills"), self.tr("Skills of %1 (skill=level 1-10, comma "
                                        "separated):").replace("%1", agent_id), text="sales=5")
        if not ok:
            return
        skills = parse_skills(text)
        if skills is None:
            self.statusBar().showMessage(self.tr("Skills are written skill=level, levels 1 to 10: %1").replace(
                "%1", text), 15_000)
            return
        self.act_on("set_skills", agent_id, skills=skills)

    def _on_agent_menu(self, point: QPoint) -> None:
        index = self.agent_view.indexAt(point)
        if not index.isValid():
            return
        agent_id = self.agents.agent_id(self.agents_shown.mapToSource(index).row())
        self.agent_menu(agent_id).popup(self.agent_view.viewport().mapToGlobal(point))

    def _on_message_team(self) -> None:
        team = self.team_filter.currentData()
        if team:
            self._ask_and_send("message_team", str(team))

    def _ask_and_send(self, action: str, target: str) -> None:
        text, ok = QInputDialog.getText(self, self.tr("Message"), self.tr("Message to %1:").replace("%1", target))
        if ok and text.strip():
            self.act_on(action, target, text=text.strip())

    def act_on(self, action: str, target: str, **args: Any) -> None:
        """Ask the ACD to carry ``action`` out on ``target``; ``acted`` tells what became of it."""
        if self.act is None:
            return
        future = self.act(action, target, args)
        box = mailbox()

        def done(f: Future[SupervisorResult]) -> None:
            error = f.exception()
            box.post(self, self._show_result, f.result() if error is None else error)

        future.add_done_callback(done)

    def _show_result(self, result: SupervisorResult | BaseException) -> None:
        if isinstance(result, TimeoutError):
            text = self.tr("No ACD answered: is `ccenter acd` running for this site?")
        elif isinstance(result, BaseException):
            text = self.tr("The action failed: %1").replace("%1", str(result))
        elif result.result == "ok":
            text = self.tr("Done: %1 %2").replace("%1", action_label(result.action)).replace("%2", result.target)
        elif result.result == "refused":
            text = self.tr("Refused: %1 %2 (%3)").replace("%1", action_label(result.action)).replace(
                "%2", result.target).replace("%3", result.detail)
        else:
            text = self.tr("Failed: %1 %2 (%3)").replace("%1", action_label(result.action)).replace(
                "%2", result.target).replace("%3", result.detail)
        self.statusBar().showMessage(text, 15_000)
        self.acted.emit(result)

    # ------------------------------------------------------------ selection and explanations

    def select_queue(self, queue: str) -> None:
        self.tiles.select(queue)

    def _on_queue_selected(self, queue: str) -> None:
        self.charts.choose(queue)
        self._explain("queue", queue)

    def _on_agent_selected(self, *_args: object) -> None:
        rows = self.agent_view.selectionModel().selectedRows()
        if rows:
            source = self.agents_shown.mapToSource(rows[0])
            self._explain("agent", self.agents.agent_id(source.row()))

    # ------------------------------------------------------------ refresh

    def flush(self) -> None:
        """Show what the feeds brought at once (the screen otherwise catches up within ``flush_ms``)."""
        self.tiles.flush()
        self.tiles.lay_out_now()
        self._refresh()

    def _refresh(self) -> None:
        """Every second: the times in state, the filter and sort order, the summary; a sample of the day."""
        self.agents.flush()
        self.agents.tick()
        self.agents_shown.refresh()
        self._refresh_summary()
        if self.history.record(self.clock(), self.tiles.latest.values(), self.agents.counts()) \
                and self.pages.currentWidget() is self.charts:
            self._show_charts()

    # ------------------------------------------------------------ the day, campaigns

    def handle_time_s(self) -> float:
        """The agents' average handle time (talk and wrap-up per call handled) as seen so far; 180 s before."""
        now = self.clock()
        rows = self.agents.rows()
        handled = sum(r.handled for r in rows)
        busy = sum(r.occupied_s + (now - r.mark if r.state in ("busy", "wrap_up") else 0.0) for r in rows)
        return busy / handled if handled and busy > 0 else 180.0

    def _show_charts(self, *_args: object) -> None:
        self.charts.show_history(self.history, staffing(self.history, self.tiles.latest, self.handle_time_s()))

    def _on_page(self, _index: int) -> None:
        if self.pages.currentWidget() is self.charts:
            self._show_charts()

    def export_intervals(self, path: str, minutes: int) -> int:
        with open(path, "w", encoding="utf-8", newline="") as out:
            return write_intervals(self.history.intervals(minutes), out)

    def _on_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export intervals"), "intervals.csv", "CSV (*.csv)")
        if path:
            try:
                rows = self.export_intervals(path, int(self.interval_choice.currentData()))
            except OSError as exc:
                self.statusBar().showMessage(self.tr("Could not write %1: %2").replace("%1", path).replace(
                    "%2", exc.strerror or str(exc)), 15_000)
                return
            self.statusBar().showMessage(self.tr("%1 intervals written to %2").replace("%1", str(rows)).replace(
                "%2", path), 15_000)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._ticker.start()
        if self.campaign_source is not None and not self._campaign_timer.isActive():
            self._campaign_timer.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closed, the window reads nothing more (the database, the clock) until it is shown again."""
        self._ticker.stop()
        self._campaign_timer.stop()
        super().closeEvent(event)

    def refresh_campaigns(self) -> None:
        if self.campaign_source is None:
            return
        future = self.campaign_source()
        box = mailbox()

        def done(f: Future[list[CampaignOverview]]) -> None:
            if f.exception() is None:
                box.post(self, self.campaigns.set_campaigns, f.result())

        future.add_done_callback(done)

    def _on_campaign_action(self, action: str) -> None:
        rows = self.campaign_view.selectionModel().selectedRows()
        if rows:
            self.act_on(action, self.campaigns.campaign(rows[0].row()).campaign_key)

    def _refresh_summary(self) -> None:
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
        parts += [f"{state_label(name)} {count}" for name, count in sorted(counts.items())]
        text = "  ·  ".join(parts)
        if self.summary.text() != text:
            self.summary.setText(text)

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
            text = explanation_text(answer.kind, answer.reasons, answer.text)
        self.explanation.setPlainText(text)
        self.explained.emit(text)
