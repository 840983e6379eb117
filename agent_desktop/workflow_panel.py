"""Where an order or a service request is in its workflow, how it got there, and the steps an agent may take.

The panel asks the directory (:meth:`~agent_desktop.customer_window.Directory.workflow`, in process or
through ``ccenter api``) on a worker thread and shows the current state, whether the system of record
has heard of the item, an overdue notice, the history (who, as which actor, when, with which fields)
and one button per step the workflow allows an agent from here: nothing else is offered. A step that
needs fields opens a small form under the buttons and is sent only once each field is filled in.
A refused step (someone else moved the item first, a field the workflow rejects) says why and shows
the item as it is now. Every text from the data is shown as plain text.

The panel updates by itself: when the order system reports a status to ``ccenter api``, or a time
limit passes and the item is escalated, the API says so on the bus (``workflow.changed`` on the
topic of the agent who took the item); ``ccenter desktop`` hands those messages to
:func:`workflow_feed`, and each panel showing that item reads it again (through its directory: the
API for a desktop without database credentials).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from crm.errors import CrmError, DatabaseUnavailable
from crm.repository.workflows import HistoryEntry, NextStep, WorkflowStatus
from crm.workflows import Subject, TransitionRefused

from .customer_view import named, plain_label
from .labels import Kind, label
from .tables import Column, RecordTableModel, when
from .workers import mailbox, post, run_in_background

logger = logging.getLogger(__name__)


class WorkflowFeed(QObject):
    """Workflow changes heard on the bus, handed to the GUI thread (one per application)."""

    changed = Signal(object)  # bus.messages.WorkflowChanged

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        mailbox()  # made here, on the GUI thread, before the network thread publishes

    def publish(self, message: Any) -> None:
        """From any thread: ``changed`` is emitted on the GUI thread."""
        post(self, self.changed.emit, message)


def workflow_feed() -> WorkflowFeed:
    """The application's feed; the first call must come from the GUI thread (it makes it)."""
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("no Qt application: create one before the workflow feed")
    feed = app.findChild(WorkflowFeed, "ccenter-workflow-feed")
    if feed is None:
        feed = WorkflowFeed(app)
        feed.setObjectName("ccenter-workflow-feed")
    return feed


class EscalationNotices(QObject):
    """Says in a window's status bar each escalation of a time limit to ``to`` (``supervisor``: the
    supervisor window, fed the team's workflow changes by ``ccenter desktop``)."""

    shown = Signal(str)

    def __init__(self, window: QMainWindow, feed: WorkflowFeed, to: str) -> None:
        super().__init__(window)
        self.window = window
        self.to = to
        feed.changed.connect(self._on_changed)

    def text(self, message: Any) -> str:
        what = (self.tr("Order %1") if message.subject == Subject.ORDER else self.tr("Service request %1")).replace(
            "%1", str(message.item_id))
        return self.tr("Escalated to you: %1 (%2) passed its time limit; now %3.").replace("%1", what).replace(
            "%2", label(Kind.WORKFLOW, message.workflow)).replace("%3", label(Kind.WORKFLOW_STATE, message.state))

    def _on_changed(self, message: Any) -> None:
        if getattr(message, "escalate_to", None) != self.to:
            return
        text = self.text(message)
        self.window.statusBar().showMessage(text, 120_000)
        self.shown.emit(text)


def show_escalations(window: QMainWindow, feed: WorkflowFeed, *, to: str) -> EscalationNotices:
    """Escalations to ``to`` in ``window``'s status bar, for as long as the window lives."""
    return EscalationNotices(window, feed, to)


class WorkflowSource(Protocol):
    """The part of the desktop's directory the panel uses."""

    def workflow(self, subject: Subject, item_id: int) -> WorkflowStatus: ...
    def move(self, subject: Subject, item_id: int, transition: str, fields: dict[str, Any] | None = None, *,
             agent_login: str = "desktop") -> WorkflowStatus: ...


def _fields_text(fields: dict[str, Any]) -> str:
    return "; ".join(f"{label(Kind.WORKFLOW_FIELD, name)}: {' '.join(str(value).split())}"
                     for name, value in fields.items())


def _move_text(entry: HistoryEntry) -> str:
    target = label(Kind.WORKFLOW_STATE, entry.to_state)
    if not entry.from_state or entry.from_state == entry.to_state:  # created, or escalated where it is
        return target
    return f"{label(Kind.WORKFLOW_STATE, entry.from_state)} → {target}"


HISTORY_COLUMNS: list[Column[HistoryEntry]] = [
    Column("When", lambda e: when(e.at)),
    Column("Who", lambda e: e.actor_name),
    Column("As", lambda e: label(Kind.ACTOR, e.actor)),
    Column("Step", lambda e: label(Kind.WORKFLOW_STEP, e.transition)),
    Column("Move", _move_text),
    Column("Fields", lambda e: _fields_text(e.fields)),
]


class WorkflowPanel(QWidget):
    """One order's or service request's workflow: state, history and the agent's next steps."""

    loaded = Signal(object)  # the WorkflowStatus shown
    moved = Signal(object)  # the WorkflowStatus after a step this panel took
    refused = Signal(str)  # why a step was not taken (also shown in the panel)

    def __init__(self, directory: WorkflowSource, agent_login: str = "desktop", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.directory = directory
        self.agent_login = agent_login
        workflow_feed().changed.connect(self._on_changed)
        self.status: WorkflowStatus | None = None
        self._item: tuple[Subject, int] | None = None
        self._serial = 0
        self._pending_step: NextStep | None = None
        self._field_edits: dict[str, QLineEdit] = {}
        self._keep_message: str | None = None  # a refusal, kept while the item is loaded again
        self.refusal = ""

        self.title_label = plain_label(object_name="workflowTitle")
        self.state_label = plain_label(object_name="workflowState")
        self.delivery_label = plain_label(object_name="workflowDelivery")
        self.overdue_label = plain_label(object_name="workflowOverdue")
        self.message_label = plain_label(object_name="workflowMessage")
        self.message_label.setWordWrap(True)

        self.steps_box = named(QWidget(), "workflowSteps")
        self.steps_layout = QHBoxLayout(self.steps_box)
        self.steps_layout.setContentsMargins(0, 0, 0, 0)
        self.steps_layout.addStretch(1)
        # The order system moves items too: ask again for where this one is now.
        self.refresh_button = named(QPushButton(self.tr("Refresh")), "workflowRefresh")
        self.refresh_button.setToolTip(self.tr("Show where it is now"))
        self.refresh_button.clicked.connect(self.reload)
        self.steps_layout.addWidget(self.refresh_button)
        self.step_buttons: dict[str, QPushButton] = {}
        self.no_steps_label = plain_label(self.tr("No step is open to an agent here."), "workflowNoSteps")

        self.form = named(QFrame(), "workflowForm")
        self.form_title = plain_label(object_name="workflowFormTitle")
        self.form_fields = QFormLayout()
        self.confirm_button = named(QPushButton(self.tr("Take the step")), "workflowConfirm")
        self.confirm_button.clicked.connect(self._on_confirm)
        self.cancel_button = named(QPushButton(self.tr("Cancel")), "workflowCancel")
        self.cancel_button.clicked.connect(self._close_form)
        form_buttons = QHBoxLayout()
        form_buttons.addStretch(1)
        form_buttons.addWidget(self.cancel_button)
        form_buttons.addWidget(self.confirm_button)
        form_layout = QVBoxLayout(self.form)
        form_layout.addWidget(self.form_title)
        form_layout.addLayout(self.form_fields)
        form_layout.addLayout(form_buttons)
        self.form.hide()

        self.history = RecordTableModel(HISTORY_COLUMNS, self)
        self.history_view = named(QTableView(), "workflowHistory")
        self.history_view.setModel(self.history)
        self.history_view.setAlternatingRowColors(True)
        self.history_view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.history_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.history_view.verticalHeader().setVisible(False)
        self.history_view.horizontalHeader().setStretchLastSection(True)
        self.history_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.history_view.setWordWrap(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.title_label)
        top.addStretch(1)
        top.addWidget(self.delivery_label)
        now = QHBoxLayout()
        now.addWidget(self.state_label)
        now.addSpacing(12)
        now.addWidget(self.overdue_label, 1)
        layout.addLayout(top)
        layout.addLayout(now)
        layout.addWidget(self.steps_box)
        layout.addWidget(self.no_steps_label)
        layout.addWidget(self.form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.history_view, 1)
        self.clear()

    # --- what the 360 view calls -----------------------------------------------------------------

    def clear(self) -> None:
        self._serial += 1
        self._item = None
        self.status = None
        self.title_label.setText(self.tr("Select an order or a service request to see its workflow."))
        for widget in (self.state_label, self.delivery_label, self.overdue_label, self.message_label):
            widget.clear()
        self.overdue_label.hide()
        self._set_steps(())
        self.no_steps_label.hide()
        self.refresh_button.hide()
        self.history.set_rows([])

    def show_item(self, subject: Subject, item_id: int) -> None:
        """Load and show ``subject`` ``item_id``'s workflow (a newer call supersedes one still running)."""
        if self._item != (subject, item_id):
            self.clear()
        self._item = (subject, item_id)
        self._serial += 1
        serial = self._serial
        self.message_label.setText(self._keep_message or self.tr("Loading the workflow…"))
        run_in_background(self, self.directory.workflow, subject, item_id,
                          done=lambda status: self._on_loaded(serial, status),
                          failed=lambda error: self._on_failed(serial, error))

    def reload(self) -> None:
        if self._item is not None:
            self.show_item(*self._item)

    def _on_changed(self, message: Any) -> None:
        """A change heard on the bus: read the item again when it is the one shown."""
        if self._item is not None and self._item == (getattr(message, "subject", None),
                                                     getattr(message, "item_id", None)):
            self.reload()

    # --- showing -----------------------------------------------------------------------------------

    def _on_loaded(self, serial: int, status: WorkflowStatus) -> None:
        if serial != self._serial:
            return
        self._show(status)
        self.message_label.setText(self._keep_message or "")
        self._keep_message = None
        self.loaded.emit(status)

    def _show(self, status: WorkflowStatus) -> None:
        self.status = status
        what = (self.tr("Order %1") if status.subject is Subject.ORDER else self.tr("Service request %1")).replace(
            "%1", str(status.id))
        self.title_label.setText(f"{what} · {label(Kind.WORKFLOW, status.workflow)}")
        self.state_label.setText(self.tr("Now: %1, since %2").replace(
            "%1", label(Kind.WORKFLOW_STATE, status.state)).replace("%2", when(status.state_since)))
        delivery = label(Kind.DELIVERY, status.delivery)
        if status.external_ref:
            delivery = self.tr("%1 (its reference there: %2)").replace("%1", delivery).replace(
                "%2", status.external_ref)
        self.delivery_label.setText(delivery)
        self.delivery_label.setProperty("delivery", status.delivery)
        if status.escalation is not None:
            self.overdue_label.setText(self.tr("Overdue since %1: %2 has been told.").replace(
                "%1", when(status.escalation.due_at)).replace("%2", label(Kind.ACTOR, status.escalation.escalate_to)))
            self.overdue_label.show()
        else:
            self.overdue_label.hide()
        self._close_form()
        self.refresh_button.show()
        self._set_steps(status.next_steps)
        self.no_steps_label.setVisible(not status.next_steps)
        self.history.set_rows(list(status.history))
        if status.history:
            self.history_view.scrollToBottom()

    def _set_steps(self, steps: tuple[NextStep, ...]) -> None:
        for button in self.step_buttons.values():
            self.steps_layout.removeWidget(button)
            button.deleteLater()
        self.step_buttons = {}
        for step in steps:
            button = named(QPushButton(label(Kind.WORKFLOW_STEP, step.transition)), f"step_{step.transition}")
            button.setToolTip(self.tr("Moves it to: %1").replace("%1", label(Kind.WORKFLOW_STATE, step.target)))
            button.clicked.connect(lambda _checked=False, s=step: self.take(s.transition))
            self.steps_layout.insertWidget(self.steps_layout.count() - 2, button)
            button.show()  # at once, not when the layout gets round to it
            self.step_buttons[step.transition] = button

    # --- taking a step -----------------------------------------------------------------------------

    def take(self, transition: str, fields: dict[str, Any] | None = None) -> None:
        """Take an offered step: at once when it needs no fields (or they are given), else ask for them."""
        if self.status is None:
            return
        step = next((s for s in self.status.next_steps if s.transition == transition), None)
        if step is None:  # not offered: the panel never sends it
            self._say_refused(self.tr("This step is not open to you now."))
            return
        given = dict(fields or {})
        missing = [name for name in step.requires if not str(given.get(name, "")).strip()]
        if missing:
            self._open_form(step, given)
            return
        self._send(step, given)

    def _open_form(self, step: NextStep, given: dict[str, Any]) -> None:
        self._pending_step = step
        while self.form_fields.rowCount():
            self.form_fields.removeRow(0)
        self._field_edits = {}
        for name in step.requires:
            edit = named(QLineEdit(str(given.get(name, ""))), f"field_{name}")
            edit.setMaxLength(500)
            edit.returnPressed.connect(self._on_confirm)
            self.form_fields.addRow(label(Kind.WORKFLOW_FIELD, name), edit)
            self._field_edits[name] = edit
        self.form_title.setText(self.tr("%1: please fill in").replace("%1", label(Kind.WORKFLOW_STEP, step.transition)))
        self.message_label.clear()
        self.form.show()
        next(iter(self._field_edits.values())).setFocus()

    def _close_form(self) -> None:
        self._pending_step = None
        self.form.hide()

    def _on_confirm(self) -> None:
        step = self._pending_step
        if step is None:
            return
        values = {name: edit.text().strip() for name, edit in self._field_edits.items()}
        empty = [label(Kind.WORKFLOW_FIELD, name) for name, value in values.items() if not value]
        if empty:
            self.message_label.setText(self.tr("Please fill in: %1").replace("%1", ", ".join(empty)))
            return
        self._send(step, values)

    def _send(self, step: NextStep, fields: dict[str, Any]) -> None:
        assert self._item is not None
        subject, item_id = self._item
        self._serial += 1
        serial = self._serial
        for button in [*self.step_buttons.values(), self.confirm_button]:
            button.setEnabled(False)
        self.message_label.setText(self.tr("Taking the step “%1”…").replace(
            "%1", label(Kind.WORKFLOW_STEP, step.transition)))
        run_in_background(self, self._move, subject, item_id, step.transition, fields,
                          done=lambda status: self._on_moved(serial, status),
                          failed=lambda error: self._on_move_failed(serial, error))

    def _move(self, subject: Subject, item_id: int, transition: str, fields: dict[str, Any]) -> WorkflowStatus:
        return self.directory.move(subject, item_id, transition, fields, agent_login=self.agent_login)

    def _on_moved(self, serial: int, status: WorkflowStatus) -> None:
        self.confirm_button.setEnabled(True)
        if serial != self._serial:
            return
        self._show(status)
        self.message_label.setText(self.tr("Done: now %1.").replace("%1", label(Kind.WORKFLOW_STATE, status.state)))
        self.moved.emit(status)

    def _on_move_failed(self, serial: int, error: Exception) -> None:
        self.confirm_button.setEnabled(True)
        for button in self.step_buttons.values():
            button.setEnabled(True)
        if serial != self._serial:
            return
        if isinstance(error, TransitionRefused):
            self._say_refused(self.tr("The step was refused: %1. This is the item as it is now.").replace(
                "%1", str(error)))
            self._keep_message = self.refusal
            self.reload()
        elif isinstance(error, DatabaseUnavailable):
            self._say_refused(self.tr("The step could not be sent: %1").replace("%1", str(error)))
        elif isinstance(error, CrmError):
            self._say_refused(self.tr("The step was refused: %1").replace("%1", str(error)))
        else:
            logger.error("workflow step failed", exc_info=error)
            self._say_refused(self.tr("The step failed: %1").replace("%1", str(error)))

    def _say_refused(self, text: str) -> None:
        self.refusal = text
        self.message_label.setText(text)
        self.refused.emit(text)

    def _on_failed(self, serial: int, error: Exception) -> None:
        if serial != self._serial:
            return
        if not isinstance(error, CrmError):
            logger.error("workflow look-up failed", exc_info=error)
        self.message_label.setText(self.tr("The workflow could not be loaded: %1").replace("%1", str(error)))
