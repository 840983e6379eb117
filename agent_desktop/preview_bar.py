"""The outbound preview bar: the next campaign call due for this agent, to call, skip or schedule."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from crm import phones
from crm.repository import PreviewItem

from .controls import push_button
from .customer_view import named, plain_label
from .labels import Kind, label
from .session import AgentCall, CallPhase


class PreviewBar(QWidget):
    next_requested = Signal()
    dial_requested = Signal()
    skip_requested = Signal()
    schedule_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        self.next_button = push_button(self.tr("Next outbound call"), "nextPreview", shortcut="Ctrl+N",
                                       glyph="outbound")
        self.next_button.clicked.connect(self.next_requested)
        self.preview_label = named(plain_label(), "previewInfo")
        # A long campaign or offer name never widens the window (the whole text is in the tooltip).
        self.preview_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._dialled: str | None = None  # the number dialled from the preview, while the bar follows its call
        self._phase: CallPhase | None = None
        self.dial_button = push_button(self.tr("Call"), "previewDial")
        self.dial_button.clicked.connect(self.dial_requested)
        self.skip_button = push_button(self.tr("Skip…"), "previewSkip")
        self.skip_button.clicked.connect(self.skip_requested)
        self.schedule_button = push_button(self.tr("Schedule…"), "previewSchedule")
        self.schedule_button.clicked.connect(self.schedule_requested)
        layout.addWidget(self.next_button)
        layout.addWidget(self.preview_label, 1)
        for widget in (self.dial_button, self.skip_button, self.schedule_button):
            layout.addWidget(widget)

    def show_preview(self, item: PreviewItem | None) -> None:
        """The call due: campaign, offer, number and the last attempts; or that none is due."""
        self._dialled = None
        if item is None:
            self.preview_label.setText(self.tr("No outbound call is due now."))
            return
        history = ", ".join(label(Kind.RESULT, a.result) for a in item.attempts[:3]) or self.tr("first attempt")
        self.preview_label.setText(
            self.tr("%1 · %2 · %3 · %4").replace("%1", item.campaign_name).replace("%2", item.offer or "")
            .replace("%3", phones.display(item.phone)).replace("%4", history)
        )

    def show_calling(self, phone: str) -> None:
        """The agent dialled the call shown: from now on the bar follows that call (see :meth:`follow`)."""
        self._dialled = phone
        self._phase = None  # not seen yet
        self.preview_label.setText(self.tr("Calling %1…").replace("%1", phones.display(phone)))

    def follow(self, call: AgentCall | None) -> None:
        """Say what became of the call dialled from the preview: calling, connected, on hold, ended."""
        if self._dialled is None:
            return
        number = phones.display(self._dialled)
        if call is None or not call.outbound:
            if self._phase is not None:  # it was up, and is no more
                self._dialled = self._phase = None
                self.preview_label.setText(self.tr("The call to %1 has ended.").replace("%1", number))
            return
        if call.phase is self._phase:
            return
        self._phase = call.phase
        texts = {
            CallPhase.DIALING: self.tr("Calling %1…"),
            CallPhase.RINGING: self.tr("Calling %1…"),
            CallPhase.CONNECTED: self.tr("Connected to %1"),
            CallPhase.HELD: self.tr("%1 is on hold"),
        }
        self.preview_label.setText(texts[call.phase].replace("%1", number))

    def enable(self, *, idle: bool, has_preview: bool, can_dial: bool) -> None:
        """A next call can be asked for when idle; the one shown can be called, skipped or scheduled."""
        self.next_button.setEnabled(idle)
        self.dial_button.setEnabled(idle and has_preview and can_dial)
        self.skip_button.setEnabled(idle and has_preview)
        self.schedule_button.setEnabled(idle and has_preview)

    def ask_skip_reason(self) -> str | None:
        """Why the agent skips the call shown (None if they give no reason)."""
        text, ok = QInputDialog.getText(self, self.tr("Skip"), self.tr("Why is this call skipped?"))
        return (text.strip() if ok else "") or None

    def ask_schedule_time(self) -> datetime | None:
        """When to call instead (an hour from now proposed), or None if the agent cancels."""
        dialog = QDialog(self)
        dialog.setWindowTitle(self.tr("Schedule the call"))
        edit = QDateTimeEdit(QDateTime.currentDateTime().addSecs(3600))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(QLocale().dateTimeFormat(QLocale.FormatType.ShortFormat))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        box = QVBoxLayout(dialog)
        box.addWidget(edit)
        box.addWidget(buttons)
        if not dialog.exec():
            return None
        return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC)
