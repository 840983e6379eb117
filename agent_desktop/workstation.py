"""The agent's workstation: state bar, softphone, screen pop with IVR data, call work and wrap-up.

The window presents an :class:`~agent_desktop.session.AgentSession` and forwards the agent's
intent: telephony commands go to the :class:`~agent_desktop.telephony.LinkThread`, look-ups and
saves run on worker threads (:class:`~agent_desktop.workers.Operation`). It never blocks.

Keyboard: Ctrl+Return answer, Ctrl+E hang up, Ctrl+H hold or retrieve, Ctrl+K consult,
Ctrl+T blind transfer, Ctrl+Shift+T complete the transfer, Ctrl+Shift+C conference, Ctrl+P keypad,
Ctrl+D dial, Ctrl+F customer search, F2 ready, F3 not ready, Alt+1…Alt+9 dispositions, Ctrl+S save the wrap-up,
Ctrl+O new order, Ctrl+R new service request, Ctrl+N next outbound call (preview).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from PySide6.QtCore import QDateTime, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from bus.messages import AgentStateName, CallEvent, QueueStats
from crm import phones
from crm.errors import CrmError
from crm.models import Channel
from crm.repository import (
    AgentView,
    ContactRecord,
    Customer360,
    CustomerSummary,
    OfferResult,
    OrderLine,
    PreviewItem,
    RequestLine,
)

from .app import remember_layout
from .customer_view import Customer360View, named, plain_label
from .customer_window import CustomerDirectory
from .forms import OrderForm, ServiceRequestForm
from .icons import icon
from .ivr_panel import IvrDataPanel, attached_values
from .outbox import ContactOutbox
from .queues import QueueStatsFeed, QueueStatsModel
from .session import (
    Action,
    AgentCall,
    AgentSession,
    CallChanged,
    CallEnded,
    CallPhase,
    Effect,
    ScreenPop,
    StateChanged,
    WrapUpStarted,
)
from .telephony import LinkThread
from .workers import run_in_background
from .wrapup import WrapUpPanel

logger = logging.getLogger(__name__)

DEFAULT_NOT_READY_REASONS = ("Break", "Lunch", "Training", "Meeting", "Coaching")
DEFAULT_DISPOSITIONS = ("resolved", "order_placed", "info_given", "escalated", "callback_scheduled", "wrong_number")


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class CallWork:
    """What the agent did on one call, until it is saved at wrap-up."""

    call: AgentCall
    started_at: datetime
    customer_id: int | None = None
    customer: Customer360 | None = None
    orders: list[OrderLine] = field(default_factory=list)
    requests: list[RequestLine] = field(default_factory=list)
    client_ref: str = field(default_factory=lambda: uuid.uuid4().hex)
    work_item_id: int | None = None  # the campaign work item of an outbound (preview) call
    campaign_key: str | None = None


def _dialled_item(data: dict[str, Any]) -> int | None:
    """The campaign work item the dialer put on a progressive or predictive call, if any."""
    item = attached_values(data).get("work_item_id")
    return int(item) if isinstance(item, int | str) and str(item).isdigit() else None


class AgentWindow(QMainWindow):
    screen_popped = Signal(str)  # call id, when the customer view is filled (or the unknown-caller panel shown)
    contact_saved = Signal(object)  # SavedContact, or None when kept locally
    message_shown = Signal(str)
    customers_requested = Signal()  # the agent wants the customer search window
    preview_loaded = Signal(object)  # PreviewItem, or None when no outbound call is due
    supervisor_requested = Signal()  # a supervisor wants the supervisor window

    def __init__(
        self,
        *,
        agent: AgentView,
        link: LinkThread,
        directory: CustomerDirectory,
        outbox: ContactOutbox,
        dispositions: tuple[str, ...] = DEFAULT_DISPOSITIONS,
        not_ready_reasons: tuple[str, ...] = DEFAULT_NOT_READY_REASONS,
        wrap_up_seconds: float = 30.0,
        queue_stats: QueueStatsFeed | None = None,
        visible_queues: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.agent = agent
        self.link = link
        self.directory = directory
        self.outbox = outbox
        self.dispositions = dispositions
        self.not_ready_reasons = not_ready_reasons
        self.clock = clock
        extension = agent.extension or ""
        self.session = AgentSession(agent.login, extension, wrap_up_seconds=wrap_up_seconds, now=clock())
        self.work: dict[str, CallWork] = {}
        self.wrap_up_work: CallWork | None = None
        self.preview: PreviewItem | None = None
        self.queue_dispositions: dict[str, tuple[str, ...]] = {}
        self.campaign_dispositions: dict[str, tuple[str, ...]] = {}
        self.transfer_targets: list[tuple[str, str]] = []
        self._dialed_preview: PreviewItem | None = None
        self.setWindowTitle(self.tr("ccenter — %1 (%2)").replace("%1", agent.name).replace("%2", extension))

        self.queues = QueueStatsModel(visible_queues, self)
        if queue_stats is not None:
            queue_stats.updated.connect(self._on_queue_stats)
        self._build_state_bar()
        self._build_softphone()
        self._build_body()
        self._build_shortcuts()
        self._refresh()

        link.event_received.connect(self.on_link_event)
        link.command_failed.connect(self._on_command_failed)
        link.link_down.connect(self._on_link_down)
        link.link_up.connect(self._on_link_up)
        self._ticker = QTimer(self, interval=500)
        self._ticker.timeout.connect(self._on_tick)
        self._ticker.start()
        self._resync = QTimer(self, interval=15_000)
        self._resync.timeout.connect(self.resync_calls)
        self._resync.start()
        self._flusher = QTimer(self, interval=10_000)
        self._flusher.timeout.connect(self._flush_outbox)
        self._flusher.start()
        self.resize(1360, 860)
        remember_layout(self, "workstation", self.splitter)
        self._run(self.directory.queue_dispositions, done=self._on_queue_dispositions)
        self._run(self.directory.campaign_dispositions, done=self._on_campaign_dispositions)
        self._run(self.directory.transfer_targets, done=self._on_transfer_targets)

    # --- construction --------------------------------------------------------------------------

    def _button(self, text: str, name: str, slot: Callable[[], None], shortcut: str | None = None,
                glyph: str | None = None, white: bool = False) -> QPushButton:
        button = named(QPushButton(text), name)
        if glyph:
            button.setIcon(icon(glyph, "#ffffff" if white else None))
        button.clicked.connect(slot)
        if shortcut:
            button.setToolTip(f"{text} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
        return button

    def _build_state_bar(self) -> None:
        bar = named(QWidget(), "stateBar")
        layout = QHBoxLayout(bar)
        self.state_label = named(plain_label(), "agentState")
        self.ready_button = self._button(self.tr("Ready"), "readyButton", self.go_ready, "F2", "ready")
        self.not_ready_button = named(QToolButton(), "notReadyButton")
        self.not_ready_button.setText(self.tr("Not ready"))
        self.not_ready_button.setIcon(icon("not-ready"))
        self.not_ready_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.not_ready_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.not_ready_button)
        for reason in self.not_ready_reasons:
            menu.addAction(self.tr(reason), partial(self.go_not_ready, reason))
        self.not_ready_button.setMenu(menu)
        self.wrap_label = named(plain_label(), "wrapUpCountdown")
        self.extend_button = self._button(self.tr("+30 s"), "extendWrapUp", lambda: self.extend_wrap_up(30))
        self.done_button = self._button(self.tr("End wrap-up"), "endWrapUp", self.end_wrap_up)
        self.pending_label = named(plain_label(), "pendingContacts")
        self.queue_label = named(plain_label(), "queueSummary")
        self.link_label = named(plain_label(), "linkStatus")
        layout.addWidget(self.state_label)
        layout.addWidget(self.ready_button)
        layout.addWidget(self.not_ready_button)
        layout.addSpacing(16)
        layout.addWidget(self.wrap_label)
        layout.addWidget(self.extend_button)
        layout.addWidget(self.done_button)
        layout.addStretch(1)
        layout.addWidget(self.queue_label)
        layout.addWidget(self.link_label)
        layout.addWidget(self.pending_label)
        layout.addWidget(self._button(self.tr("Customers…"), "customersButton", self.customers_requested.emit,
                                      "Ctrl+F", "customers"))
        supervisor = self._button(self.tr("Supervisor view…"), "supervisorButton", self.supervisor_requested.emit,
                                  glyph="supervisor")
        supervisor.setVisible(self.agent.role in ("supervisor", "admin"))  # the role decides what is shown
        layout.addWidget(supervisor)
        self.state_bar = bar

    def _build_softphone(self) -> None:
        bar = named(QWidget(), "softphone")
        rows = QVBoxLayout(bar)
        top = QHBoxLayout()
        layout = QHBoxLayout()
        rows.addLayout(top)
        rows.addLayout(layout)
        self.call_label = named(plain_label(), "callInfo")
        self.answer_button = self._button(self.tr("Answer"), "answerButton", self.answer, "Ctrl+Return", "answer",
                                          white=True)
        self.hangup_button = self._button(self.tr("Hang up"), "hangupButton", self.hang_up, "Ctrl+E", "hangup",
                                          white=True)
        self.hold_button = self._button(self.tr("Hold"), "holdButton", self.toggle_hold, "Ctrl+H", "hold")
        self.consult_button = self._button(self.tr("Consult…"), "consultButton", self.consult, "Ctrl+K", "consult")
        self.transfer_button = self._button(self.tr("Transfer…"), "transferButton", self.blind_transfer, "Ctrl+T",
                                            "transfer")
        self.complete_button = self._button(self.tr("Complete transfer"), "completeTransfer", self.complete_transfer,
                                            "Ctrl+Shift+T", "complete-transfer")
        self.conference_button = self._button(self.tr("Conference"), "conferenceButton", self.conference,
                                              "Ctrl+Shift+C", "conference")
        self.keypad_button = self._button(self.tr("Keypad…"), "keypadButton", self.keypad, "Ctrl+P", "keypad")
        self.mute_button = self._button(self.tr("Mute"), "muteButton", self.toggle_mute, "Ctrl+M", "mute")
        self.mute_button.setCheckable(True)
        self.muted: set[str] = set()  # calls on which the agent's voice is not sent
        self.dial_box = named(QLineEdit(), "dialNumber")
        self.dial_box.setPlaceholderText(self.tr("Number to dial"))
        self.dial_box.returnPressed.connect(self.dial)
        self.dial_button = self._button(self.tr("Dial"), "dialButton", self.dial, "Ctrl+D", "dial")
        top.addWidget(self.call_label, 1)
        top.addWidget(self.dial_box)
        top.addWidget(self.dial_button)
        for widget in (self.answer_button, self.hangup_button, self.hold_button, self.consult_button,
                       self.transfer_button, self.complete_button, self.conference_button, self.keypad_button,
                       self.mute_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.softphone = bar

    def _build_body(self) -> None:
        self.ivr_panel = IvrDataPanel()
        self.call_items = named(QListWidget(), "callItems")
        self.call_items.setWordWrap(True)
        items_box = QGroupBox(self.tr("Created on this call"))
        items_layout = QVBoxLayout(items_box)
        items_layout.addWidget(self.call_items)
        buttons = QHBoxLayout()
        self.order_button = self._button(self.tr("New order…"), "newOrder", self.new_order, "Ctrl+O")
        self.request_button = self._button(self.tr("New service request…"), "newRequest", self.new_request, "Ctrl+R")
        buttons.addWidget(self.order_button)
        buttons.addWidget(self.request_button)
        items_layout.addLayout(buttons)

        save = self._button(self.tr("Save contact"), "saveContact", self.save_contact, "Ctrl+S", "save", white=True)
        self.wrap_box = WrapUpPanel(self.dispositions, save)
        # The panel's parts, by the names the rest of the window (and its tests) use.
        panel = self.wrap_box
        self.disposition, self.offer_result = panel.disposition, panel.offer_result
        self.offer_reason, self.callback, self.callback_at = panel.offer_reason, panel.callback, panel.callback_at
        self.notes = panel.notes
        self.save_button, self.wrap_error = save, panel.error

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.ivr_panel)
        left_layout.addWidget(items_box, 1)
        left_layout.addWidget(self.wrap_box, 1)

        self.customer_view = Customer360View()
        self.unknown_panel = self._build_unknown_panel()
        self.chooser = named(QListWidget(), "customerChooser")
        self.chooser.itemActivated.connect(lambda item: self._choose(item.data(Qt.ItemDataRole.UserRole)))
        chooser_box = QGroupBox(self.tr("Several customers have this number: choose one"))
        QVBoxLayout(chooser_box).addWidget(self.chooser)
        self.pop_stack = named(QStackedWidget(), "screenPop")
        self.pop_stack.addWidget(self.customer_view)
        self.pop_stack.addWidget(self.unknown_panel)
        self.pop_stack.addWidget(chooser_box)

        self.splitter = named(QSplitter(Qt.Orientation.Horizontal), "workstationSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.pop_stack)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([380, 980])
        self.status = named(plain_label(), "statusMessage")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.state_bar)
        layout.addWidget(self.softphone)
        layout.addWidget(self._build_preview_bar())
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        self.setCentralWidget(central)

    def _build_preview_bar(self) -> QWidget:
        bar = named(QWidget(), "previewBar")
        layout = QHBoxLayout(bar)
        self.next_button = self._button(self.tr("Next outbound call"), "nextPreview", self.load_preview, "Ctrl+N",
                                        "outbound")
        self.preview_label = named(plain_label(), "previewInfo")
        self.preview_dial = self._button(self.tr("Call"), "previewDial", self.dial_preview)
        self.preview_skip = self._button(self.tr("Skip…"), "previewSkip", self.skip_preview)
        self.preview_schedule = self._button(self.tr("Schedule…"), "previewSchedule", self.schedule_preview)
        layout.addWidget(self.next_button)
        layout.addWidget(self.preview_label, 1)
        for widget in (self.preview_dial, self.preview_skip, self.preview_schedule):
            layout.addWidget(widget)
        return bar

    def _build_unknown_panel(self) -> QWidget:
        panel = QGroupBox(self.tr("Unknown caller"))
        layout = QVBoxLayout(panel)
        self.unknown_label = named(plain_label(), "unknownCaller")
        self.unknown_search = named(QLineEdit(), "unknownSearch")
        self.unknown_search.setPlaceholderText(self.tr("Search by name, number or account"))
        self.unknown_search.returnPressed.connect(self._search_unknown)
        self.unknown_results = named(QListWidget(), "unknownResults")
        self.unknown_results.itemActivated.connect(lambda item: self._choose(item.data(Qt.ItemDataRole.UserRole)))
        self.new_name = named(QLineEdit(), "newCustomerName")
        self.new_name.setPlaceholderText(self.tr("Name of a new customer"))
        self.new_number = named(QLineEdit(), "newCustomerNumber")
        create = self._button(self.tr("Create customer"), "createCustomer", self._create_customer)
        layout.addWidget(self.unknown_label)
        layout.addWidget(self.unknown_search)
        layout.addWidget(self.unknown_results, 1)
        layout.addWidget(plain_label(self.tr("Or create a new customer:")))
        layout.addWidget(self.new_name)
        layout.addWidget(self.new_number)
        layout.addWidget(create)
        return panel

    def _build_shortcuts(self) -> None:
        def shortcut(keys: str, slot: Callable[[], None]) -> None:
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

        shortcut("Ctrl+Return", self.answer)
        shortcut("Ctrl+E", self.hang_up)
        shortcut("Ctrl+H", self.toggle_hold)
        shortcut("Ctrl+K", self.consult)
        shortcut("Ctrl+T", self.blind_transfer)
        shortcut("Ctrl+Shift+T", self.complete_transfer)
        shortcut("Ctrl+Shift+C", self.conference)
        shortcut("Ctrl+P", self.keypad)
        shortcut("Ctrl+M", self.toggle_mute)
        shortcut("Ctrl+D", lambda: self.dial_box.setFocus())
        shortcut("Ctrl+F", self.customers_requested.emit)
        shortcut("F2", self.go_ready)
        shortcut("F3", partial(self.go_not_ready, self.not_ready_reasons[0]))
        shortcut("Ctrl+S", self.save_contact)
        shortcut("Ctrl+O", self.new_order)
        shortcut("Ctrl+N", self.load_preview)
        shortcut("Ctrl+R", self.new_request)
        for number in range(1, 10):
            shortcut(f"Alt+{number}", partial(self.wrap_box.pick_disposition, number))

    # --- events from the link ------------------------------------------------------------------

    def on_link_event(self, event: Any) -> None:
        self._apply(self.session.on_event(event, self.clock()))

    def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, ScreenPop):
                self._on_screen_pop(effect.call)
            elif isinstance(effect, CallChanged):
                work = self.work.get(effect.call.call_id)
                if work is not None:
                    work.call = effect.call
                    if effect.call.data:
                        self.ivr_panel.show_data(effect.call.data)
                        if work.work_item_id is None:
                            work.work_item_id = _dialled_item(effect.call.data)
            elif isinstance(effect, CallEnded):
                work = self.work.pop(effect.call.call_id, None)
                if work is not None and effect.handled:
                    work.call = effect.call
                    self.wrap_up_work = work
                elif work is not None and work.work_item_id is not None:
                    self._run(self.directory.dial_attempt, work.work_item_id, effect.cause or "failed",
                              self.agent.id, effect.call.call_id, done=lambda _r: None)
                self._say(self.tr("Call ended: %1").replace("%1", self.tr(effect.cause or "normal")))
            elif isinstance(effect, WrapUpStarted):
                # A campaign's own codes first, then the queue's, then the desktop's.
                campaign = self.wrap_up_work.campaign_key if self.wrap_up_work else None
                codes = self.campaign_dispositions.get(campaign or "") or self.queue_dispositions.get(
                    effect.call.queue or "", self.dispositions)
                self.wrap_box.fill_dispositions(codes)
                self.disposition.setFocus()
                self.link.command("set_agent_state", self.agent.login, AgentStateName.WRAP_UP,
                                  extension=self.session.extension)
            elif isinstance(effect, StateChanged):
                logger.info("agent %s is %s", self.agent.login, effect.state.value)
        self._refresh()

    def _on_screen_pop(self, call: AgentCall) -> None:
        work = CallWork(call, datetime.now(UTC))
        self.work[call.call_id] = work
        dialed = self._dialed_preview
        if call.outbound and dialed is not None and call.called == dialed.phone:
            self._dialed_preview = None
            work.work_item_id = dialed.work_item_id
            work.campaign_key = dialed.campaign_key
            self.ivr_panel.show_data({"campaign": dialed.campaign_name, "offer": dialed.offer or ""})
            self.call_items.clear()
            self._load_customer(call.call_id, dialed.customer_id)
            return
        self.ivr_panel.show_data(call.data)
        self.call_items.clear()
        values = attached_values(call.data)
        work.work_item_id = _dialled_item(call.data)
        campaign = attached_values(call.data).get("campaign_key")
        work.campaign_key = str(campaign) if campaign else None
        customer_id = values.get("customer_id")
        number = call.called if call.outbound else call.calling
        if customer_id not in (None, ""):
            try:
                self._load_customer(call.call_id, int(customer_id))
                return
            except (TypeError, ValueError):
                logger.warning("call %s carries a customer id that is not a number: %r", call.call_id, customer_id)
        if not number:
            self._show_unknown(call.call_id, number)
            return
        self._run(self._find_by_number, number, done=lambda found: self._on_caller_found(call.call_id, number, found))

    def _find_by_number(self, number: str) -> list[CustomerSummary]:
        try:
            return self.directory.find_by_phone(number)
        except CrmError:
            return []

    def _on_caller_found(self, call_id: str, number: str, found: list[CustomerSummary]) -> None:
        if call_id not in self.work:
            return
        if len(found) == 1:
            self._load_customer(call_id, found[0].id)
        elif not found:
            self._show_unknown(call_id, number)
        else:
            self.chooser.clear()
            for customer in found:
                self._add_choice(self.chooser, customer)
            self.pop_stack.setCurrentIndex(2)
            self.screen_popped.emit(call_id)

    def _add_choice(self, widget: QListWidget, customer: CustomerSummary) -> None:
        text = f"{customer.name} · {customer.tier.value} · {', '.join(phones.display(p) for p in customer.phones)}"
        widget.addItem(text)
        widget.item(widget.count() - 1).setData(Qt.ItemDataRole.UserRole, customer.id)

    def _show_unknown(self, call_id: str, number: str | None) -> None:
        self.unknown_label.setText(self.tr("No customer has the number %1.").replace("%1", number or "?"))
        self.unknown_search.clear()
        self.unknown_results.clear()
        self.new_name.clear()
        self.new_number.setText(number or "")
        self.pop_stack.setCurrentIndex(1)
        self.screen_popped.emit(call_id)

    def _load_customer(self, call_id: str, customer_id: int) -> None:
        def loaded(view: Customer360) -> None:
            work = self.work.get(call_id) or (self.wrap_up_work if self.wrap_up_work and
                                              self.wrap_up_work.call.call_id == call_id else None)
            if work is None:
                return
            work.customer_id, work.customer = view.profile.id, view
            self.customer_view.show_customer(view)
            self.pop_stack.setCurrentIndex(0)
            self.screen_popped.emit(call_id)

        self._run(self.directory.load, customer_id, done=loaded)

    def _current_work(self) -> CallWork | None:
        call = self.session.primary_call()
        if call is not None and call.call_id in self.work:
            return self.work[call.call_id]
        return self.wrap_up_work

    def relink(self, customer_id: int) -> None:
        """The agent says the live call (or the one being wrapped up) is about another customer."""
        if self._current_work() is None:
            self._say(self.tr("There is no call to link to this customer."))
            return
        self._choose(customer_id)

    def _choose(self, customer_id: int) -> None:
        """Link the live call (or the one in wrap-up) to another customer record."""
        work = self._current_work()
        if work is not None:
            self._load_customer(work.call.call_id, customer_id)

    def _search_unknown(self) -> None:
        text = self.unknown_search.text().strip()
        if text:
            self._run(self.directory.search, text, done=self._on_unknown_results)

    def _on_unknown_results(self, found: list[CustomerSummary]) -> None:
        self.unknown_results.clear()
        for customer in found:
            self._add_choice(self.unknown_results, customer)

    def _create_customer(self) -> None:
        work = self._current_work()
        name, number = self.new_name.text().strip(), self.new_number.text().strip()
        if work is None or not name:
            self._say(self.tr("Type the new customer's name."))
            return
        self._run(self.directory.create_customer, name, number,
                  done=lambda customer_id: self._load_customer(work.call.call_id, customer_id))

    # --- agent state ---------------------------------------------------------------------------

    def log_on(self) -> None:
        self._apply(self.session.log_on(self.clock()))
        self.link.command("set_agent_state", self.agent.login, AgentStateName.NOT_READY, reason="logged on",
                          extension=self.session.extension)

    def go_ready(self) -> None:
        if Action.READY not in self.session.actions() and self.session.state is not AgentStateName.WRAP_UP:
            return
        if self.session.state is AgentStateName.WRAP_UP and self.wrap_up_work is not None:
            self._say(self.tr("Save the contact first (Ctrl+S)."))
            return
        self._apply(self.session.set_ready(self.clock()))
        self.link.command("set_agent_state", self.agent.login, AgentStateName.READY, extension=self.session.extension)

    def go_not_ready(self, reason: str) -> None:
        self._apply(self.session.set_not_ready(reason, self.clock()))
        self.link.command("set_agent_state", self.agent.login, AgentStateName.NOT_READY, reason=reason,
                          extension=self.session.extension)

    def extend_wrap_up(self, seconds: float) -> None:
        self.session.extend_wrap_up(seconds)
        self._refresh()

    def end_wrap_up(self) -> None:
        if self.wrap_up_work is not None:
            self._say(self.tr("Save the contact first (Ctrl+S)."))
            return
        self._apply(self.session.end_wrap_up(self.clock()))
        self.link.command("set_agent_state", self.agent.login, AgentStateName.READY, extension=self.session.extension)

    def _on_tick(self) -> None:
        if self.session.state is AgentStateName.WRAP_UP and self.wrap_up_work is not None:
            # Wrap-up does not end by itself while the contact is unsaved: keep the agent out of routing.
            deadline = self.session.wrap_up_deadline
            if deadline is not None and self.clock() >= deadline:
                self.session.extend_wrap_up(5)
        effects = self.session.tick(self.clock())
        if effects:
            self.link.command("set_agent_state", self.agent.login, AgentStateName.READY,
                              extension=self.session.extension)
        self._apply(effects)

    # --- softphone -----------------------------------------------------------------------------

    def _call_command(self, name: str, *args: Any) -> None:
        self.link.command(name, *args)

    def answer(self) -> None:
        call = next((c for c in self.session.calls.values() if c.phase is CallPhase.RINGING), None)
        if call is not None:
            self._call_command("answer", call.call_id, self.session.extension)

    def hang_up(self) -> None:
        call = self.session.primary_call()
        if call is not None:
            self._call_command("hangup", call.call_id, self.session.extension)

    def toggle_hold(self) -> None:
        call = self.session.primary_call()
        if call is None:
            return
        if call.phase is CallPhase.CONNECTED:
            self._call_command("hold", call.call_id, self.session.extension)
        elif call.phase is CallPhase.HELD:
            self._call_command("retrieve", call.call_id, self.session.extension)

    def _ask_number(self, title: str) -> str | None:
        """An agent from the directory (searchable as you type), or any extension or phone number."""
        labels = [label for label, _ext in self.transfer_targets]
        text, ok = QInputDialog.getItem(self, title, self.tr("Agent, extension or phone number"), labels, -1, True)
        text = text.strip()
        if not ok or not text:
            return None
        return dict(self.transfer_targets).get(text, text)

    def _target(self, text: str) -> str | None:
        """An extension as typed, or a phone number normalized to E.164; None (with a message) if neither."""
        if text.isdigit() and len(text) <= 6:
            return text
        try:
            return phones.to_e164(text, self.directory.region)
        except CrmError as exc:
            self._say(str(exc))
            return None

    def consult(self, number: str | None = None) -> None:
        call = self.session.primary_call()
        if call is None or Action.CONSULT not in self.session.actions():
            return
        target = self._target(number or self._ask_number(self.tr("Consult")) or "")
        if target:
            self._call_command("consult", call.call_id, self.session.extension, target)

    def blind_transfer(self, number: str | None = None) -> None:
        call = self.session.primary_call()
        if call is None or Action.BLIND_TRANSFER not in self.session.actions():
            return
        target = self._target(number or self._ask_number(self.tr("Transfer")) or "")
        if target:
            self._call_command("blind_transfer", call.call_id, self.session.extension, target)

    def _on_queue_dispositions(self, dispositions: dict[str, tuple[str, ...]]) -> None:
        self.queue_dispositions = dispositions

    def _on_campaign_dispositions(self, dispositions: dict[str, tuple[str, ...]]) -> None:
        self.campaign_dispositions = dispositions

    def _on_transfer_targets(self, targets: list[tuple[str, str]]) -> None:
        self.transfer_targets = [(label, ext) for label, ext in targets if ext != self.session.extension]

    def _held_and_consult(self) -> tuple[AgentCall, AgentCall] | None:
        held = self.session.held_call()
        other = next((c for c in self.session.calls.values() if held and c.call_id != held.call_id), None)
        return (held, other) if held and other else None

    def complete_transfer(self) -> None:
        pair = self._held_and_consult()
        if pair:
            self._call_command("attended_transfer", pair[0].call_id, pair[1].call_id, self.session.extension)

    def conference(self) -> None:
        pair = self._held_and_consult()
        if pair:
            self._call_command("conference", pair[0].call_id, pair[1].call_id, self.session.extension)

    def keypad(self, digits: str | None = None) -> None:
        call = self.session.primary_call()
        if call is None or Action.SEND_DTMF not in self.session.actions():
            return
        if digits is None:
            text, ok = QInputDialog.getText(self, self.tr("Keypad"), self.tr("Digits to send (0-9 * #)"))
            digits = text.strip() if ok else ""
        if digits:
            self._call_command("send_dtmf", call.call_id, self.session.extension, digits)

    def toggle_mute(self) -> None:
        """Mute or unmute the agent on the call (the caller hears silence); Ctrl+M."""
        call = self.session.primary_call()
        if call is None or Action.MUTE not in self.session.actions(self.link.capabilities):
            return
        on = call.call_id not in self.muted
        (self.muted.add if on else self.muted.discard)(call.call_id)
        self._call_command("mute", call.call_id, self.session.extension, on)
        self._refresh()

    def dial(self) -> None:
        if Action.DIAL not in self.session.actions(self.link.capabilities):
            return
        text = self.dial_box.text().strip()
        target = self._target(text) if text else None
        if target:
            self._call_command("make_call", self.session.extension, target)
            self.dial_box.clear()

    def _on_link_down(self, reason: str) -> None:
        # The session stays: calls and state come back when the link does (the link resynchronises).
        self.link_label.setText(self.tr("Telephony link lost: %1").replace("%1", reason))
        self.link_label.setProperty("problem", True)
        self._say(self.tr("Telephony link lost; reconnecting. Your session is kept."))

    def _on_link_up(self) -> None:
        self.link_label.setText("")
        self.link_label.setProperty("problem", False)
        self.resync_calls()

    def resync_calls(self) -> None:
        """Ask the link which of our calls are still up: one that ended while events were lost (a link
        or broker outage) must not stay on screen. Runs every 15 s while there are calls, and on reconnect."""
        call_ids = sorted(self.session.calls)
        if call_ids:
            self._run(self.link.live_calls, call_ids, done=lambda live: self._on_live_calls(call_ids, live))

    def _on_live_calls(self, asked: list[str], live: set[str] | None) -> None:
        if live is None:
            return  # this link cannot say; events are all we have
        for call_id in asked:
            if call_id in self.session.calls and call_id not in live:
                logger.info("call %s ended while its events were lost", call_id)
                cause = "ended while the link was down"
                self.on_link_event(CallEvent(type="call.ended", call_id=call_id, ts=time.time(), cause=cause))

    def _on_queue_stats(self, stats: QueueStats) -> None:
        self.queues.update(stats)
        self.queue_label.setText(self.queues.summary())

    def _on_command_failed(self, command: str, reason: str) -> None:
        if command == "mute":
            self.muted.clear()  # the PBX did not take it: show the call as it really is
            self._refresh()
        self._say(self.tr("%1 failed: %2").replace("%1", command.replace("_", " ")).replace("%2", reason))

    # --- call work and wrap-up -----------------------------------------------------------------

    def new_order(self) -> None:
        work = self._current_work()
        if work is None or work.customer is None:
            self._say(self.tr("Identify the customer before creating an order."))
            return
        offer = work.customer.offers[0] if work.customer.offers else None
        currency = work.customer.profile.accounts[0].currency if work.customer.profile.accounts else "USD"
        products = [offer.offer] if offer and offer.offer else []
        form = OrderForm(products, currency, offer.work_item_id if offer else None, self)
        if form.exec():
            self.add_order(form.line())

    def add_order(self, line: OrderLine) -> None:
        work = self._current_work()
        if work is not None:
            work.orders.append(line)
            self.call_items.addItem(self.tr("Order: %1 × %2, %3 %4").replace("%1", line.product).replace(
                "%2", str(line.quantity)).replace("%3", f"{line.amount:.2f}").replace("%4", line.currency))

    def new_request(self) -> None:
        work = self._current_work()
        if work is None or work.customer is None:
            self._say(self.tr("Identify the customer before creating a service request."))
            return
        intent = attached_values(work.call.data).get("intent")
        form = ServiceRequestForm(str(intent) if intent else None, parent=self)
        if form.exec():
            self.add_request(form.line())

    def add_request(self, line: RequestLine) -> None:
        work = self._current_work()
        if work is not None:
            work.requests.append(line)
            self.call_items.addItem(self.tr("Service request: %1 (%2)").replace("%1", line.summary).replace(
                "%2", line.category))

    def save_contact(self) -> None:
        work = self.wrap_up_work
        if work is None:
            return
        offer = work.customer.offers[0] if work.customer and work.customer.offers else None
        item_id = work.work_item_id or (offer.work_item_id if offer else None)
        answers = self.wrap_box.answers(offer_known=item_id is not None, customer_known=work.customer_id is not None)
        if answers is None:
            return
        offers: tuple[OfferResult, ...] = ()
        if answers.offer_result and item_id is not None:
            offers = (OfferResult(item_id, answers.offer_result, answers.offer_reason),)
        record = ContactRecord(
            client_ref=work.client_ref,
            channel=Channel.VOICE_OUT if work.call.outbound or work.work_item_id is not None else Channel.VOICE_IN,
            started_at=work.started_at,
            ended_at=datetime.now(UTC),
            disposition=answers.disposition,
            customer_id=work.customer_id,
            agent_id=self.agent.id,
            queue=work.call.queue,
            cti_call_id=work.call.call_id,
            ivr_data=dict(work.call.data),
            notes=answers.notes,
            orders=tuple(work.orders),
            requests=tuple(work.requests),
            offer_results=offers,
            work_item_id=work.work_item_id,
            # The agent's own preview dial is recorded here; the dialer records the calls it placed.
            dial_result="answered" if work.work_item_id is not None and work.call.outbound else None,
            callback_at=answers.callback_at,
            callback_phone=(work.call.called if work.call.outbound else work.call.calling) or None,
        )
        self.save_button.setEnabled(False)
        self._run(self.outbox.save, record, done=self._on_saved, failed=self._on_save_failed)

    def _on_saved(self, saved: Any) -> None:
        if saved is None:
            self._say(self.tr("Database unavailable: the contact is kept on this computer and will be sent "
                              "when it is back."))
        else:
            self._say(self.tr("Contact %1 saved.").replace("%1", str(saved.contact_id)))
        self.wrap_up_work = None
        self.wrap_box.reset()
        self.call_items.clear()
        self.ivr_panel.show_data({})
        self.save_button.setEnabled(True)
        self.contact_saved.emit(saved)
        self.end_wrap_up()

    def _on_save_failed(self, error: Exception) -> None:
        self.save_button.setEnabled(True)
        self.wrap_error.setText(str(error))
        if not isinstance(error, CrmError):
            logger.error("saving the contact failed", exc_info=error)

    def _flush_outbox(self) -> None:
        if self.outbox.pending:
            self._run(self.outbox.flush, done=lambda _n: self._refresh())

    # --- outbound preview ----------------------------------------------------------------------

    def load_preview(self) -> None:
        """Show the next outbound call due for this agent: customer, script, attempt history."""
        if self.session.calls or self.wrap_up_work is not None:
            return
        skip = (self.preview.work_item_id,) if self.preview else ()
        self._run(self.directory.next_preview, self.agent.id, skip, done=self._on_preview)

    def _on_preview(self, item: PreviewItem | None) -> None:
        self.preview = item
        if item is None:
            self.preview_label.setText(self.tr("No outbound call is due now."))
        else:
            history = ", ".join(f"{a.result}" for a in item.attempts[:3]) or self.tr("first attempt")
            self.preview_label.setText(
                self.tr("%1 · %2 · %3 · %4").replace("%1", item.campaign_name).replace("%2", item.offer or "")
                .replace("%3", phones.display(item.phone)).replace("%4", history)
            )
            self._run(self.directory.load, item.customer_id, done=self._show_preview_customer)
        self._refresh()
        self.preview_loaded.emit(item)

    def _show_preview_customer(self, view: Customer360) -> None:
        if self.preview is not None and view.profile.id == self.preview.customer_id and not self.session.calls:
            self.customer_view.show_customer(view)
            self.customer_view.script.setPlainText(self.preview.script or "")
            self.pop_stack.setCurrentIndex(0)

    def dial_preview(self) -> None:
        item = self.preview
        if item is None or Action.DIAL not in self.session.actions(self.link.capabilities):
            return
        self._dialed_preview, self.preview = item, None
        self.preview_label.setText(self.tr("Calling %1…").replace("%1", phones.display(item.phone)))
        self._call_command("make_call", self.session.extension, item.phone)
        self._refresh()

    def skip_preview(self, reason: str | None = None) -> None:
        item = self.preview
        if item is None:
            return
        if reason is None:
            text, ok = QInputDialog.getText(self, self.tr("Skip"), self.tr("Why is this call skipped?"))
            reason = text.strip() if ok else ""
        if not reason:
            return
        self._run(self.directory.skip_preview, item.work_item_id, reason, self.agent.id,
                  done=lambda _r: self.load_preview())

    def schedule_preview(self, at: datetime | None = None) -> None:
        item = self.preview
        if item is None:
            return
        if at is None:
            dialog = QDialog(self)
            dialog.setWindowTitle(self.tr("Schedule the call"))
            edit = QDateTimeEdit(QDateTime.currentDateTime().addSecs(3600))
            edit.setCalendarPopup(True)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
            buttons.accepted.connect(dialog.accept)
            buttons.rejected.connect(dialog.reject)
            box = QVBoxLayout(dialog)
            box.addWidget(edit)
            box.addWidget(buttons)
            if not dialog.exec():
                return
            at = datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC)
        self._run(self.directory.schedule_preview, item.work_item_id, at, self.agent.id,
                  done=lambda _r: self.load_preview())

    # --- presentation --------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.message_shown.emit(text)

    def _refresh(self) -> None:
        now = self.clock()
        session = self.session
        state = session.state
        label = self.tr(state.value.replace("_", " ").capitalize())
        if state is AgentStateName.NOT_READY and session.reason:
            label = self.tr("%1 — %2").replace("%1", label).replace("%2", self.tr(session.reason.capitalize()))
        self.state_label.setText(f"{label}  ·  {_clock(now - session.state_since)}")
        if self.state_label.property("state") != state.value:
            self.state_label.setProperty("state", state.value)
            self.state_label.style().unpolish(self.state_label)
            self.state_label.style().polish(self.state_label)
        actions = session.actions(self.link.capabilities)
        self.ready_button.setEnabled(Action.READY in actions and self.wrap_up_work is None)
        self.not_ready_button.setEnabled(Action.NOT_READY in actions or state is AgentStateName.READY)
        in_wrap = state is AgentStateName.WRAP_UP
        for widget in (self.wrap_label, self.extend_button, self.done_button):
            widget.setVisible(in_wrap)
        if in_wrap and session.wrap_up_deadline is not None:
            self.wrap_label.setText(self.tr("Wrap-up %1").replace("%1", _clock(session.wrap_up_deadline - now)))
        self.done_button.setEnabled(in_wrap and self.wrap_up_work is None)
        self.wrap_box.setEnabled(self.wrap_up_work is not None)
        pending = self.outbox.pending
        self.pending_label.setText(self.tr("%1 contact(s) waiting for the database").replace("%1", str(pending))
                                   if pending else "")
        call = session.primary_call()
        if call is None:
            self.call_label.setText(self.tr("No call"))
        else:
            raw = call.called if call.outbound else call.calling
            number = phones.display(raw) if raw else self.tr("unknown number")
            since = call.answered_at if call.answered_at is not None else call.offered_at
            parts = [self.tr(call.phase.value.capitalize()), number]
            if call.queue:
                parts.append(call.queue)
            parts.append(_clock(now - since))
            self.call_label.setText("  ·  ".join(parts))
        self.answer_button.setEnabled(Action.ANSWER in actions)
        self.hangup_button.setEnabled(Action.HANGUP in actions)
        held = call is not None and call.phase is CallPhase.HELD
        if self.hold_button.text() != (self.tr("Retrieve") if held else self.tr("Hold")):
            self.hold_button.setText(self.tr("Retrieve") if held else self.tr("Hold"))
            self.hold_button.setIcon(icon("retrieve" if held else "hold"))
        self.hold_button.setEnabled(Action.HOLD in actions or Action.RETRIEVE in actions)
        self.consult_button.setEnabled(Action.CONSULT in actions)
        self.transfer_button.setEnabled(Action.BLIND_TRANSFER in actions)
        self.complete_button.setEnabled(Action.ATTENDED_TRANSFER in actions)
        self.conference_button.setEnabled(Action.CONFERENCE in actions)
        self.keypad_button.setEnabled(Action.SEND_DTMF in actions)
        muted = call is not None and call.call_id in self.muted
        self.mute_button.setEnabled(Action.MUTE in actions)
        self.mute_button.setChecked(muted)
        self.mute_button.setText(self.tr("Unmute") if muted else self.tr("Mute"))
        self.muted &= set(session.calls)
        self.dial_button.setEnabled(Action.DIAL in actions)
        idle = not session.calls and self.wrap_up_work is None and state is not AgentStateName.LOGGED_OFF
        self.next_button.setEnabled(idle)
        self.preview_dial.setEnabled(idle and self.preview is not None and Action.DIAL in actions)
        self.preview_skip.setEnabled(idle and self.preview is not None)
        self.preview_schedule.setEnabled(idle and self.preview is not None)
        has_customer = (work := self._current_work()) is not None and work.customer is not None
        self.order_button.setEnabled(has_customer)
        self.request_button.setEnabled(has_customer)

    def _run(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None],
             failed: Callable[[Exception], None] | None = None) -> None:
        run_in_background(self, fn, *args, done=done, failed=failed or self._on_lookup_failed)

    def _on_lookup_failed(self, error: Exception) -> None:
        if not isinstance(error, CrmError):
            logger.error("look-up failed", exc_info=error)
        self._say(str(error))

