"""The agent's workstation: state bar, softphone, screen pop with IVR data, call work and wrap-up.

The window composes its parts (:class:`~agent_desktop.state_bar.StateBar`,
:class:`~agent_desktop.softphone.Softphone`, :class:`~agent_desktop.preview_bar.PreviewBar`,
:class:`~agent_desktop.call_panel.CallPanel`, :class:`~agent_desktop.screen_pop.ScreenPopView`),
presents an :class:`~agent_desktop.session.AgentSession` and the calls' work
(:class:`~agent_desktop.callwork.AgentWork`, Qt-free), and forwards the agent's intent: telephony
commands go to the :class:`~agent_desktop.telephony.LinkThread`, look-ups and saves run on worker
threads (:class:`~agent_desktop.workers.Operation`). It never blocks.

Keyboard: Ctrl+Return answer, Ctrl+E hang up, Ctrl+H hold or retrieve, Ctrl+K consult,
Ctrl+T blind transfer, Ctrl+Shift+T complete the transfer, Ctrl+Shift+C conference, Ctrl+P keypad,
Ctrl+D dial, Ctrl+F customer search, F2 ready, F3 not ready, Alt+1…Alt+9 dispositions, Ctrl+S save the wrap-up,
Ctrl+O new order, Ctrl+R new service request, Ctrl+N next outbound call (preview).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QInputDialog,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from bus.messages import AgentStateName, CallEvent, QueueStats
from crm import phones
from crm.errors import CrmError
from crm.repository import AgentView, Customer360, CustomerSummary, OrderLine, PreviewItem, RequestLine

from .app import fit_default_size, remember_layout
from .attached import CorrectionError, packed
from .call_panel import CallPanel
from .callwork import AgentWork, CallWork
from .controls import ColumnScroll
from .customer_view import named, plain_label
from .customer_window import Directory
from .forms import OrderForm, ServiceRequestForm
from .labels import Kind, label
from .outbox import ContactOutbox
from .preview_bar import PreviewBar
from .queues import QueueStatsFeed, QueueStatsModel
from .screen_pop import ScreenPopView
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
from .softphone import Softphone
from .state_bar import StateBar
from .telephony import LinkThread
from .workers import run_in_background

__all__ = ["DEFAULT_DISPOSITIONS", "DEFAULT_NOT_READY_REASONS", "AgentWindow", "CallWork"]

logger = logging.getLogger(__name__)

DEFAULT_NOT_READY_REASONS = ("Break", "Lunch", "Training", "Meeting", "Coaching")
DEFAULT_DISPOSITIONS = ("resolved", "order_placed", "info_given", "escalated", "callback_scheduled", "wrong_number")


class AgentWindow(QMainWindow):
    screen_popped = Signal(str)  # call id, when the customer view is filled (or the unknown-caller panel shown)
    contact_saved = Signal(object)  # SavedContact, or None when kept locally
    message_shown = Signal(str)
    customers_requested = Signal()  # the agent wants the customer search window
    preview_loaded = Signal(object)  # PreviewItem, or None when no outbound call is due
    supervisor_requested = Signal()  # a supervisor wants the supervisor window
    customer_refreshed = Signal(int)  # the customer on screen was read again after a save

    def __init__(
        self,
        *,
        agent: AgentView,
        link: LinkThread,
        directory: Directory,
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
        self.calls_work = AgentWork(dispositions)
        self.work: dict[str, CallWork] = self.calls_work.live  # the live calls' work, by call id
        self.preview: PreviewItem | None = None
        self.transfer_targets: list[tuple[str, str]] = []
        self.muted: set[str] = set()  # calls on which the agent's voice is not sent
        self._link_lost = False  # the link was down: its state may have been lost with it
        self.setWindowTitle(self.tr("ccenter — %1 (%2)").replace("%1", agent.name).replace("%2", extension))

        self.queues = QueueStatsModel(visible_queues, self)
        if queue_stats is not None:
            queue_stats.updated.connect(self._on_queue_stats)
        self._build()
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
        fit_default_size(self, 1360, 860)
        remember_layout(self, "workstation", self.splitter)
        self._run(self.directory.queue_dispositions, done=self._on_queue_dispositions)
        self._run(self.directory.campaign_dispositions, done=self._on_campaign_dispositions)
        self._run(self.directory.transfer_targets, done=self._on_transfer_targets)

    @property
    def wrap_up_work(self) -> CallWork | None:
        """The work of the call being wrapped up, until its contact is saved."""
        return self.calls_work.wrap_up

    @property
    def queue_dispositions(self) -> dict[str, tuple[str, ...]]:
        return self.calls_work.queue_dispositions

    @property
    def campaign_dispositions(self) -> dict[str, tuple[str, ...]]:
        return self.calls_work.campaign_dispositions

    # --- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        self.state_bar = StateBar(self.not_ready_reasons, supervisor=self.agent.role in ("supervisor", "admin"))
        bar = self.state_bar
        bar.ready_requested.connect(self.go_ready)
        bar.not_ready_requested.connect(self.go_not_ready)
        bar.wrap_up_extension_requested.connect(self.extend_wrap_up)
        bar.wrap_up_end_requested.connect(self.end_wrap_up)
        bar.customers_requested.connect(self.customers_requested)
        bar.supervisor_requested.connect(self.supervisor_requested)
        # The parts by the names the rest of the desktop (the demo, the tests) uses.
        self.state_label, self.ready_button, self.not_ready_button = bar.state_label, bar.ready_button, \
            bar.not_ready_button
        self.wrap_label, self.extend_button, self.done_button = bar.wrap_label, bar.extend_button, bar.done_button
        self.pending_label, self.queue_label, self.link_label = bar.pending_label, bar.queue_label, bar.link_label

        self.softphone = phone = Softphone()
        for signal, slot in ((phone.answer_requested, self.answer), (phone.hangup_requested, self.hang_up),
                             (phone.hold_requested, self.toggle_hold), (phone.consult_requested, self.consult),
                             (phone.transfer_requested, self.blind_transfer),
                             (phone.complete_transfer_requested, self.complete_transfer),
                             (phone.conference_requested, self.conference), (phone.keypad_requested, self.keypad),
                             (phone.mute_requested, self.toggle_mute), (phone.dial_requested, self.dial)):
            signal.connect(slot)
        self.call_label, self.dial_box, self.dial_button = phone.call_label, phone.dial_box, phone.dial_button
        self.answer_button, self.hangup_button, self.hold_button = phone.answer_button, phone.hangup_button, \
            phone.hold_button
        self.consult_button, self.transfer_button, self.complete_button = phone.consult_button, \
            phone.transfer_button, phone.complete_button
        self.conference_button, self.keypad_button, self.mute_button = phone.conference_button, \
            phone.keypad_button, phone.mute_button

        self.preview_bar = preview = PreviewBar()
        preview.next_requested.connect(self.load_preview)
        preview.dial_requested.connect(self.dial_preview)
        preview.skip_requested.connect(self.skip_preview)
        preview.schedule_requested.connect(self.schedule_preview)
        self.next_button, self.preview_label = preview.next_button, preview.preview_label
        self.preview_dial, self.preview_skip, self.preview_schedule = preview.dial_button, preview.skip_button, \
            preview.schedule_button

        self.call_panel = panel = CallPanel(self.dispositions)
        panel.order_requested.connect(self.new_order)
        panel.request_requested.connect(self.new_request)
        panel.save_requested.connect(self.save_contact)
        panel.offer_picked.connect(self._on_offer_picked)
        panel.ivr_panel.correction_requested.connect(self.correct_attached)
        self.ivr_panel, self.call_items, self.wrap_box = panel.ivr_panel, panel.call_items, panel.wrap_box
        self.order_button, self.request_button, self.save_button = panel.order_button, panel.request_button, \
            panel.save_button
        wrap = panel.wrap_box
        self.disposition, self.offer_result, self.offer_reason = wrap.disposition, wrap.offer_result, \
            wrap.offer_reason
        self.offer_pick, self.offer_choice = panel.offer_pick, wrap.offer_choice
        self.callback, self.callback_at, self.notes, self.wrap_error = wrap.callback, wrap.callback_at, wrap.notes, \
            wrap.error

        self.pop_stack = pop = ScreenPopView(self.directory, agent_login=self.agent.login)
        pop.customer_chosen.connect(self._choose)
        pop.search_requested.connect(self._search_unknown)
        pop.create_requested.connect(self._create_customer)
        self.customer_view, self.unknown_panel, self.chooser = pop.customer_view, pop.unknown_panel, pop.chooser
        self.unknown_label, self.new_name, self.new_number = pop.unknown_label, pop.new_name, pop.new_number

        # The left column scrolls rather than stretching the window when the call brings many fields.
        self.call_scroll = named(ColumnScroll(panel), "callPanelScroll")
        self.splitter = named(QSplitter(Qt.Orientation.Horizontal), "workstationSplitter")
        self.splitter.addWidget(self.call_scroll)
        self.splitter.addWidget(pop)
        self.splitter.setCollapsible(0, False)  # the call's work never disappears behind a dragged splitter
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([380, 980])
        self.status = named(plain_label(), "statusMessage")
        # Messages of any length never widen the window (the whole text is in the tooltip).
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.state_bar)
        layout.addWidget(self.softphone)
        layout.addWidget(self.preview_bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        self.setCentralWidget(central)

    def _build_shortcuts(self) -> None:
        def shortcut(keys: str, slot: Callable[[], None]) -> None:
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False: slot())  # never pass "checked" on as an argument
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
                work = self.calls_work.changed(effect.call)
                if work is not None and effect.call.data:
                    self.ivr_panel.show_data(work.panel_data, outbound=work.call.outbound)
                    self._show_offers(work)
            elif isinstance(effect, CallEnded):
                failed = self.calls_work.ended(effect.call, effect.cause, effect.handled)
                if failed is not None:
                    self._run(self.directory.dial_attempt, failed.work_item_id, failed.result,
                              self.agent.id, effect.call.call_id, done=lambda _r: None)
                self._say(self.tr("Call ended: %1").replace("%1", label(Kind.END_CAUSE, effect.cause or "normal")))
            elif isinstance(effect, WrapUpStarted):
                self.wrap_box.fill_dispositions(self.calls_work.wrap_up_dispositions(effect.call.queue))
                if self.wrap_up_work is not None:
                    self.wrap_box.show_offers(self.wrap_up_work.offer_choices(), self.wrap_up_work.offer_work_item)
                QTimer.singleShot(0, self._show_wrap_up_box)  # once the wrap-up's contents are laid out
                self.disposition.setFocus()
                self.link.command("set_agent_state", self.agent.login, AgentStateName.WRAP_UP,
                                  extension=self.session.extension)
            elif isinstance(effect, StateChanged):
                logger.info("agent %s is %s", self.agent.login, effect.state.value)
        self._refresh()

    def _show_wrap_up_box(self) -> None:
        """Scroll the left column so the wrap-up, down to its save button, is in view."""
        self.call_scroll.ensureWidgetVisible(self.wrap_box, 0, 8)
        self.call_scroll.ensureWidgetVisible(self.save_button, 0, 8)

    def _on_screen_pop(self, call: AgentCall) -> None:
        work = self.calls_work.popped(call, datetime.now(UTC))
        self.call_panel.start_call(work.panel_data, outbound=call.outbound)
        number = work.number
        if work.wanted_customer is not None:
            self._load_customer(call.call_id, work.wanted_customer)
        elif not number:
            self._show_unknown(call.call_id, number)
        else:
            self._run(self._find_by_number, number,
                      done=lambda found: self._on_caller_found(call.call_id, number, found))

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
            self.pop_stack.show_choices(found)
            self.screen_popped.emit(call_id)

    def _show_unknown(self, call_id: str, number: str | None) -> None:
        self.pop_stack.show_unknown(number)
        self.screen_popped.emit(call_id)

    def _load_customer(self, call_id: str, customer_id: int) -> None:
        def loaded(view: Customer360) -> None:
            work = self.calls_work.for_call(call_id)
            if work is None:
                return
            work.link_customer(view)
            self._show_offers(work)
            if work is self.wrap_up_work:
                self.wrap_box.show_offers(work.offer_choices(), work.offer_work_item)
            self.pop_stack.show_customer(view)
            self.screen_popped.emit(call_id)

        self._run(self.directory.load, customer_id, done=loaded)

    def _show_offers(self, work: CallWork) -> None:
        """The offers the call may work, when it is the call on screen."""
        if work is self._current_work():
            self.call_panel.show_offers(work.offer_choices(), work.worked_item, locked=work.work_item_id is not None)

    def _on_offer_picked(self, work_item_id: int | None) -> None:
        """The agent says which offer the call works: orders and requests made on it belong to it."""
        work = self._current_work()
        if work is not None and work.work_item_id is None:
            work.pick_offer(work_item_id)

    def _current_work(self) -> CallWork | None:
        return self.calls_work.current(self.session.primary_call())

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

    def _search_unknown(self, text: str) -> None:
        self._run(self.directory.search, text, done=self.pop_stack.show_search_results)

    def _create_customer(self, name: str, number: str) -> None:
        work = self._current_work()
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
        labels = [name for name, _ext in self.transfer_targets]
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
        self.calls_work.queue_dispositions = dispositions

    def _on_campaign_dispositions(self, dispositions: dict[str, tuple[str, ...]]) -> None:
        self.calls_work.campaign_dispositions = dispositions

    def _on_transfer_targets(self, targets: list[tuple[str, str]]) -> None:
        self.transfer_targets = [(name, ext) for name, ext in targets if ext != self.session.extension]

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
        self._link_lost = True
        self.state_bar.show_link(reason)
        self._say(self.tr("Telephony link lost; reconnecting. Your session is kept."))
        self._refresh()  # the telephony buttons grey out: the link carries out nothing meanwhile

    def _on_link_up(self) -> None:
        self.state_bar.show_link(None)
        self._refresh()
        if self._link_lost:
            self._link_lost = False
            self._say_state_again()
        self.resync_calls()

    def _say_state_again(self) -> None:
        """The link is back: tell it the agent's state and extension again. A gateway started again, or
        one whose telephone system keeps no agent state (a softphone: the link keeps it), knows nothing of
        who is logged on where; without this the phone would ring and the desktop would not."""
        chosen = self.session.chosen_state()
        if chosen is not None:
            state, reason = chosen
            self.link.command("set_agent_state", self.agent.login, state, reason=reason,
                              extension=self.session.extension)

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
        self.state_bar.show_queues(self.queues.summary())

    def _on_command_failed(self, command: str, reason: str) -> None:
        if command == "mute":
            self.muted.clear()  # the PBX did not take it: show the call as it really is
            self._refresh()
        self._say(self.tr("%1 failed: %2").replace("%1", label(Kind.COMMAND, command)).replace("%2", reason))

    # --- call work and wrap-up -----------------------------------------------------------------

    def new_order(self) -> None:
        work = self._current_work()
        if work is None or work.customer is None:
            self._say(self.tr("Identify the customer before creating an order."))
            return
        defaults = work.order_defaults()
        form = OrderForm(list(defaults.products), defaults.currency, defaults.work_item_id, self)
        if form.exec():
            self.add_order(form.line())

    def add_order(self, line: OrderLine) -> None:
        work = self._current_work()
        if work is not None:
            work.add_order(line)
            self.call_panel.show_order(line)

    def new_request(self) -> None:
        work = self._current_work()
        if work is None or work.customer is None:
            self._say(self.tr("Identify the customer before creating a service request."))
            return
        form = ServiceRequestForm(work.intent, parent=self)
        if form.exec():
            self.add_request(form.line())

    def add_request(self, line: RequestLine) -> None:
        work = self._current_work()
        if work is not None:
            work.add_request(line)
            self.call_panel.show_request(line)

    def save_contact(self) -> None:
        work = self.wrap_up_work
        if work is None:
            return
        answers = self.wrap_box.answers()
        now = datetime.now(UTC)
        problem = work.problem(answers, now)
        self.wrap_box.show_problem(problem)
        if problem is not None:
            return
        record = work.record(answers, agent_id=self.agent.id, ended_at=now)
        self.save_button.setEnabled(False)
        self._run(self.outbox.save, record, done=self._on_saved, failed=self._on_save_failed)

    def _on_saved(self, saved: Any) -> None:
        customer_id = self.wrap_up_work.customer_id if self.wrap_up_work is not None else None
        if saved is None:
            self._say(self.tr("Database unavailable: the contact is kept on this computer and will be sent "
                              "when it is back."))
        else:
            self._say(self.tr("Contact %1 saved.").replace("%1", str(saved.contact_id)))
        self.calls_work.saved()
        self.wrap_box.reset()
        self.call_panel.start_call({})
        self.save_button.setEnabled(True)
        self.contact_saved.emit(saved)
        self.end_wrap_up()
        if saved is not None and customer_id is not None:
            self._refresh_customer(customer_id)

    def _refresh_customer(self, customer_id: int) -> None:
        """Show the customer's record as the database has it now (the order just placed, the contact)."""
        def loaded(view: Customer360) -> None:
            shown = self.customer_view.customer
            if shown is not None and shown.profile.id == customer_id and self._current_work() is None:
                self.pop_stack.show_customer(view)
                self.customer_refreshed.emit(customer_id)

        self._run(self.directory.load, customer_id, done=loaded)

    # --- corrections of the call's attached data -----------------------------------------------

    def correct_attached(self, name: str, text: str) -> None:
        """The agent corrects an editable field the IVR attached: shown at once, attached to the call
        through the telephony link (``attach_data``), and saved with the contact (original kept)."""
        work = self._current_work()
        if work is None:
            return
        try:
            document = work.correct(name, text, agent=self.agent.login, at=time.time())
        except CorrectionError as exc:
            self.ivr_panel.revert(name)
            self._say(self.tr("The value cannot be corrected: %1").replace("%1", str(exc)))
            return
        if document is None:
            return
        self.ivr_panel.show_data(work.panel_data, outbound=work.call.outbound)
        if work.call.call_id in self.session.calls:
            self.link.command("attach_data", work.call.call_id, packed(document))
        self._say(self.tr("%1 corrected; the correction goes with the call.").replace(
            "%1", self.ivr_panel.field_title(name)))

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
        self.preview_bar.show_preview(item)
        if item is not None:
            self._run(self.directory.load, item.customer_id, done=self._show_preview_customer)
        self._refresh()
        self.preview_loaded.emit(item)

    def _show_preview_customer(self, view: Customer360) -> None:
        if self.preview is not None and view.profile.id == self.preview.customer_id and not self.session.calls:
            self.pop_stack.show_customer(view, self.preview.script or "")

    def dial_preview(self) -> None:
        item = self.preview
        if item is None or Action.DIAL not in self.session.actions(self.link.capabilities):
            return
        self.calls_work.dialed_preview, self.preview = item, None
        self.preview_bar.show_calling(item.phone)
        self._call_command("make_call", self.session.extension, item.phone)
        self._refresh()

    def skip_preview(self, reason: str | None = None) -> None:
        item = self.preview
        if item is None:
            return
        if reason is None:
            reason = self.preview_bar.ask_skip_reason()
        if not reason:
            return
        self._run(self.directory.skip_preview, item.work_item_id, reason, self.agent.id,
                  done=lambda _r: self.load_preview())

    def schedule_preview(self, at: datetime | None = None) -> None:
        item = self.preview
        if item is None:
            return
        if at is None:
            at = self.preview_bar.ask_schedule_time()
            if at is None:
                return
        self._run(self.directory.schedule_preview, item.work_item_id, at, self.agent.id,
                  done=lambda _r: self.load_preview())

    # --- presentation --------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.message_shown.emit(text)

    def _refresh(self) -> None:
        now = self.clock()
        session = self.session
        state = session.state
        wrapping_up = self.wrap_up_work is not None
        actions = session.actions(self.link.capabilities)
        self.state_bar.show_state(state, session.reason, now - session.state_since,
                                  can_ready=Action.READY in actions and not wrapping_up,
                                  can_not_ready=Action.NOT_READY in actions or state is AgentStateName.READY)
        deadline = session.wrap_up_deadline
        self.state_bar.show_wrap_up(state is AgentStateName.WRAP_UP, None if deadline is None else deadline - now,
                                    can_end=not wrapping_up)
        self.state_bar.show_pending(self.outbox.pending)
        call = session.primary_call()
        self.softphone.show_call(call, now, actions, muted=call is not None and call.call_id in self.muted)
        self.preview_bar.follow(call)
        self.muted &= set(session.calls)
        idle = not session.calls and not wrapping_up and state is not AgentStateName.LOGGED_OFF
        self.preview_bar.enable(idle=idle, has_preview=self.preview is not None, can_dial=Action.DIAL in actions)
        work = self._current_work()
        self.call_panel.enable(customer_known=work is not None and work.customer is not None, wrapping_up=wrapping_up)

    def _run(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None],
             failed: Callable[[Exception], None] | None = None) -> None:
        run_in_background(self, fn, *args, done=done, failed=failed or self._on_lookup_failed)

    def _on_lookup_failed(self, error: Exception) -> None:
        if not isinstance(error, CrmError):
            logger.error("look-up failed", exc_info=error)
        self._say(str(error))
