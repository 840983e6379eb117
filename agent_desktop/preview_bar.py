"""The outbound preview bar: the next campaign call due for this agent, to call, skip or schedule."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtWidgets import QDateTimeEdit, QDialog, QDialogButtonBox, QHBoxLayout, QInputDialog, QVBoxLayout, QWidget

from crm import phones
from crm.repository import PreviewItem

from .controls import push_button
from .customer_view import named, plain_label


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
        if item is None:
            self.preview_label.setText(self.tr("No outbound call is due now."))
            return
        history = ", ".join(f"{a.result}" for a in item.attempts[:3]) or self.tr("first attempt")
        self.preview_label.setText(
            self.tr("%1 · %2 · %3 · %4").replace("%1", item.campaign_name).replace("%2", item.offer or "")
            .replace("%3", phones.display(item.phone)).replace("%4", history)
        )

    def show_calling(self, phone: str) -> None:
        self.preview_label.setText(self.tr("Calling %1…").replace("%1", phones.display(phone)))

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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        box = QVBoxLayout(dialog)
        box.addWidget(edit)
        box.addWidget(buttons)
        if not dialog.exec():
            return None
        return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), UTC)
