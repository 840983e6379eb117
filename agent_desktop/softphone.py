"""The softphone bar: the call in hand, a number to dial, and the call controls the PBX allows now."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from crm import phones

from .controls import clock, push_button
from .customer_view import named, plain_label
from .icons import icon
from .labels import Kind, label
from .session import Action, AgentCall, CallPhase


class Softphone(QWidget):
    answer_requested = Signal()
    hangup_requested = Signal()
    hold_requested = Signal()  # hold, or retrieve when the call is held
    consult_requested = Signal()
    transfer_requested = Signal()
    complete_transfer_requested = Signal()
    conference_requested = Signal()
    keypad_requested = Signal()
    mute_requested = Signal()  # mute, or unmute when muted
    dial_requested = Signal()  # the number in the dial box

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("softphone")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        rows = QVBoxLayout(self)
        top = QHBoxLayout()
        layout = QHBoxLayout()
        rows.addLayout(top)
        rows.addLayout(layout)
        self.call_label = named(plain_label(), "callInfo")
        self.answer_button = push_button(self.tr("Answer"), "answerButton", shortcut="Ctrl+Return", glyph="answer",
                                         white=True)
        self.hangup_button = push_button(self.tr("Hang up"), "hangupButton", shortcut="Ctrl+E", glyph="hangup",
                                         white=True)
        self.hold_button = push_button(self.tr("Hold"), "holdButton", shortcut="Ctrl+H", glyph="hold")
        self.consult_button = push_button(self.tr("Consult…"), "consultButton", shortcut="Ctrl+K", glyph="consult")
        self.transfer_button = push_button(self.tr("Transfer…"), "transferButton", shortcut="Ctrl+T",
                                           glyph="transfer")
        self.complete_button = push_button(self.tr("Complete transfer"), "completeTransfer", shortcut="Ctrl+Shift+T",
                                           glyph="complete-transfer")
        self.conference_button = push_button(self.tr("Conference"), "conferenceButton", shortcut="Ctrl+Shift+C",
                                             glyph="conference")
        self.keypad_button = push_button(self.tr("Keypad…"), "keypadButton", shortcut="Ctrl+P", glyph="keypad")
        self.mute_button = push_button(self.tr("Mute"), "muteButton", shortcut="Ctrl+M", glyph="mute")
        self.mute_button.setCheckable(True)
        self.dial_box = named(QLineEdit(), "dialNumber")
        self.dial_box.setPlaceholderText(self.tr("Number to dial"))
        self.dial_box.returnPressed.connect(self.dial_requested)
        self.dial_button = push_button(self.tr("Dial"), "dialButton", shortcut="Ctrl+D", glyph="dial")
        for button, signal in ((self.answer_button, self.answer_requested), (self.hangup_button, self.hangup_requested),
                               (self.hold_button, self.hold_requested), (self.consult_button, self.consult_requested),
                               (self.transfer_button, self.transfer_requested),
                               (self.complete_button, self.complete_transfer_requested),
                               (self.conference_button, self.conference_requested),
                               (self.keypad_button, self.keypad_requested), (self.mute_button, self.mute_requested),
                               (self.dial_button, self.dial_requested)):
            button.clicked.connect(signal)
        top.addWidget(self.call_label, 1)
        top.addWidget(self.dial_box)
        top.addWidget(self.dial_button)
        for widget in (self.answer_button, self.hangup_button, self.hold_button, self.consult_button,
                       self.transfer_button, self.complete_button, self.conference_button, self.keypad_button,
                       self.mute_button):
            layout.addWidget(widget)
        layout.addStretch(1)

    def show_call(self, call: AgentCall | None, now: float, actions: set[Action], *, muted: bool) -> None:
        """The call in hand (phase, number, queue, time) and exactly the controls ``actions`` allows."""
        if call is None:
            self.call_label.setText(self.tr("No call"))
        else:
            raw = call.called if call.outbound else call.calling
            number = phones.display(raw) if raw else self.tr("unknown number")
            number = f"{call.calling_name} {number}" if call.calling_name and not call.outbound else number
            since = call.answered_at if call.answered_at is not None else call.offered_at
            parts = [label(Kind.CALL_PHASE, call.phase), number]
            if call.queue:
                parts.append(call.queue)
            parts.append(clock(now - since))
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
        self.mute_button.setEnabled(Action.MUTE in actions)
        self.mute_button.setChecked(muted)
        self.mute_button.setText(self.tr("Unmute") if muted else self.tr("Mute"))
        self.dial_button.setEnabled(Action.DIAL in actions)
