"""The agent's state bar: state and time in it, ready / not ready, the wrap-up countdown, the agent's
queues, the telephony link, contacts waiting for the database, and the way to the other windows."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QWidget

from bus.messages import AgentStateName

from .controls import clock, push_button
from .customer_view import named, plain_label
from .icons import icon
from .labels import Kind
from .labels import label as code_label

#: Widest the queue summary gets in the state bar (pixels); longer summaries are elided, whole in the tooltip.
QUEUE_WIDTH = 420


class StateBar(QWidget):
    ready_requested = Signal()
    not_ready_requested = Signal(str)  # the reason chosen
    wrap_up_extension_requested = Signal(int)  # seconds more
    wrap_up_end_requested = Signal()
    customers_requested = Signal()
    supervisor_requested = Signal()

    def __init__(self, not_ready_reasons: tuple[str, ...], *, supervisor: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stateBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        self.state_label = named(plain_label(), "agentState")
        self.ready_button = push_button(self.tr("Ready"), "readyButton", shortcut="F2", glyph="ready")
        self.ready_button.clicked.connect(self.ready_requested)
        self.not_ready_button = named(QToolButton(), "notReadyButton")
        self.not_ready_button.setText(self.tr("Not ready"))
        self.not_ready_button.setIcon(icon("not-ready"))
        self.not_ready_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.not_ready_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.not_ready_button)
        for reason in not_ready_reasons:
            menu.addAction(code_label(Kind.NOT_READY_REASON, reason), partial(self.not_ready_requested.emit, reason))
        self.not_ready_button.setMenu(menu)
        self.wrap_label = named(plain_label(), "wrapUpCountdown")
        self.extend_button = push_button(self.tr("+30 s"), "extendWrapUp")
        self.extend_button.clicked.connect(lambda: self.wrap_up_extension_requested.emit(30))
        self.done_button = push_button(self.tr("End wrap-up"), "endWrapUp")
        self.done_button.clicked.connect(self.wrap_up_end_requested)
        self.pending_label = named(plain_label(), "pendingContacts")
        self.queue_label = named(plain_label(), "queueSummary")
        self.link_label = named(plain_label(), "linkStatus")
        customers = push_button(self.tr("Customers…"), "customersButton", shortcut="Ctrl+F", glyph="customers")
        customers.clicked.connect(self.customers_requested)
        self.supervisor_button = push_button(self.tr("Supervisor view…"), "supervisorButton", glyph="supervisor")
        self.supervisor_button.clicked.connect(self.supervisor_requested)
        self.supervisor_button.setVisible(supervisor)  # the role decides what is shown
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
        layout.addWidget(customers)
        layout.addWidget(self.supervisor_button)

    def show_state(self, state: AgentStateName, reason: str | None, seconds: float, *, can_ready: bool,
                   can_not_ready: bool) -> None:
        """The agent's state (with the not-ready reason) and how long they have been in it."""
        label = code_label(Kind.AGENT_STATE, state)
        if state is AgentStateName.NOT_READY and reason:
            label = self.tr("%1 — %2").replace("%1", label).replace("%2", code_label(Kind.NOT_READY_REASON, reason))
        self.state_label.setText(f"{label}  ·  {clock(seconds)}")
        if self.state_label.property("state") != state.value:
            self.state_label.setProperty("state", state.value)
            self.state_label.style().unpolish(self.state_label)
            self.state_label.style().polish(self.state_label)
        self.ready_button.setEnabled(can_ready)
        self.not_ready_button.setEnabled(can_not_ready)

    def show_wrap_up(self, in_wrap_up: bool, remaining: float | None, *, can_end: bool) -> None:
        """The wrap-up countdown and its buttons, shown only in wrap-up."""
        for widget in (self.wrap_label, self.extend_button, self.done_button):
            widget.setVisible(in_wrap_up)
        if in_wrap_up and remaining is not None:
            self.wrap_label.setText(self.tr("Wrap-up %1").replace("%1", clock(remaining)))
        self.done_button.setEnabled(in_wrap_up and can_end)

    def show_pending(self, pending: int) -> None:
        """How many saved contacts wait on this computer for the database."""
        self.pending_label.setText(self.tr("%1 contact(s) waiting for the database").replace("%1", str(pending))
                                   if pending else "")

    def show_queues(self, summary: str) -> None:
        """The queues' one-line summary, whole (never clipped) up to :data:`QUEUE_WIDTH`, elided beyond."""
        metrics = self.queue_label.fontMetrics()
        shown = metrics.elidedText(summary, Qt.TextElideMode.ElideRight, QUEUE_WIDTH)
        self.queue_label.setText(shown)
        self.queue_label.setToolTip(summary if shown != summary else "")
        margins = self.queue_label.contentsMargins()
        self.queue_label.setMinimumWidth(metrics.horizontalAdvance(shown) + margins.left() + margins.right() + 4)

    def show_link(self, problem: str | None) -> None:
        """The telephony link is lost (``problem`` says why) or fine again (None)."""
        self.link_label.setText(self.tr("Telephony link lost: %1").replace("%1", problem) if problem else "")
        self.link_label.setProperty("problem", problem is not None)
