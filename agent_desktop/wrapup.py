"""The wrap-up panel: disposition (with Alt+N hotkeys), a result for each offer shown, callback,
"do not call me", notes, save.

The offer results are a master-detail pair: choose an offer shown on the call (the one the call works is
chosen first), then its result and reason; each offer keeps its own answers while the agent moves between them.

It only collects the agent's answers and shows why they cannot be saved; the call's work
(:class:`~agent_desktop.callwork.CallWork`) checks them and turns them into the contact record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QLocale
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .callwork import OfferAnswer, OfferChoice, WrapUpAnswers, WrapUpProblem
from .controls import narrow_combo
from .customer_view import named, plain_label
from .labels import Kind
from .labels import label as code_label

OFFER_RESULT_CHOICES = (("", "No offer made"), ("accepted", "Accepted"), ("declined", "Declined"),
                        ("callback", "Call back later"), ("not_interested", "Not interested"))


__all__ = ["OFFER_RESULT_CHOICES", "WrapUpAnswers", "WrapUpPanel"]


class WrapUpPanel(QGroupBox):
    def __init__(self, dispositions: tuple[str, ...], save_button: QPushButton, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Wrap-up"), parent)
        self.setObjectName("wrapUpPanel")
        self.disposition = narrow_combo("disposition")
        self.fill_dispositions(dispositions)
        self.offer_choice = narrow_combo("offerChoice")
        self.offer_choice.currentIndexChanged.connect(self._on_offer_choice_changed)
        self._results: dict[int, tuple[str | None, str | None]] = {}  # work item -> (result, reason)
        self._choice_item: int | None = None  # the work item whose answers the fields below show
        self.offer_result = narrow_combo("offerResult")
        for code, label in OFFER_RESULT_CHOICES:
            self.offer_result.addItem(self.tr(label), code)
        self.offer_reason = named(QLineEdit(), "offerReason")
        self.offer_reason.setPlaceholderText(self.tr("Reason (for 'not interested')"))
        self.callback = named(QCheckBox(self.tr("Call the customer back at")), "callbackWanted")
        self.callback_at = named(QDateTimeEdit(QDateTime.currentDateTime().addSecs(3600)), "callbackAt")
        self.callback_at.setCalendarPopup(True)
        self.callback_at.setDisplayFormat(QLocale().dateTimeFormat(QLocale.FormatType.ShortFormat))
        self.callback_at.setEnabled(False)
        self.callback.toggled.connect(self.callback_at.setEnabled)
        self.do_not_call = named(QCheckBox(self.tr("Do not call me (asked by the customer)")),
                                 "doNotCall")
        self.do_not_call.setToolTip(self.tr("Lists the customer's numbers on the do-not-call list when the "
                                            "contact is saved: no campaign calls them from then on."))
        self.show_offers((), None)
        self.notes = named(QPlainTextEdit(), "contactNotes")
        self.notes.setPlaceholderText(self.tr("Notes"))
        self.save_button = save_button
        self.error = named(plain_label(), "wrapUpError")
        layout = QVBoxLayout(self)
        layout.addWidget(self.disposition)
        layout.addWidget(self.offer_choice)
        layout.addWidget(self.offer_result)
        layout.addWidget(self.offer_reason)
        callback_row = QHBoxLayout()
        callback_row.addWidget(self.callback)
        callback_row.addWidget(self.callback_at, 1)
        layout.addLayout(callback_row)
        layout.addWidget(self.do_not_call)
        layout.addWidget(self.notes, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.save_button)

    def fill_dispositions(self, codes: tuple[str, ...]) -> None:
        """The disposition codes to choose from (the campaign's, the queue's or the default), Alt+N each."""
        self.disposition.clear()
        self.disposition.addItem(self.tr("Choose a disposition"), "")
        for number, code in enumerate(codes, start=1):
            label = code_label(Kind.DISPOSITION, code)
            if number <= 9:
                label = self.tr("%1  (Alt+%2)").replace("%1", label).replace("%2", str(number))
            self.disposition.addItem(label, code)

    def pick_disposition(self, number: int) -> None:
        if number < self.disposition.count():
            self.disposition.setCurrentIndex(number)

    def show_offers(self, choices: tuple[OfferChoice, ...], current: int | None) -> None:
        """The offers shown on the call, each to get its own result; ``current`` is chosen first."""
        self.offer_choice.blockSignals(True)
        self.offer_choice.clear()
        self._results.clear()
        self._choice_item = None
        for choice in choices:
            self.offer_choice.addItem(self.tr("Result for: %1").replace("%1", choice.label), choice.work_item_id)
        if choices:
            self.offer_choice.setCurrentIndex(max(self.offer_choice.findData(current), 0))
            self._choice_item = self.offer_choice.currentData()
        self.offer_choice.setVisible(bool(choices))
        self.offer_choice.blockSignals(False)
        self.offer_result.setCurrentIndex(0)
        self.offer_reason.clear()

    def choose_offer(self, work_item_id: int) -> None:
        """Show (and edit) the result of the offer of this work item."""
        index = self.offer_choice.findData(work_item_id)
        if index >= 0:
            self.offer_choice.setCurrentIndex(index)

    def _keep_current_result(self) -> None:
        if self._choice_item is not None:
            self._results[self._choice_item] = (self.offer_result.currentData() or None,
                                                self.offer_reason.text().strip() or None)

    def _on_offer_choice_changed(self, _index: int) -> None:
        self._keep_current_result()
        self._choice_item = self.offer_choice.currentData()
        result, reason = self._results.get(self._choice_item, (None, None)) if self._choice_item is not None \
            else (None, None)
        self.offer_result.setCurrentIndex(max(self.offer_result.findData(result or ""), 0))
        self.offer_reason.setText(reason or "")

    def answers(self) -> WrapUpAnswers:
        """The agent's answers as entered; the call's work says whether they can be saved."""
        callback_at = None
        if self.callback.isChecked():
            callback_at = datetime.fromtimestamp(self.callback_at.dateTime().toSecsSinceEpoch(), UTC)
        disposition = self.disposition.currentData() or None
        notes = self.notes.toPlainText().strip() or None
        if self._choice_item is None:  # no offer shown: a result here has nothing to go on (the work says so)
            return WrapUpAnswers(disposition, self.offer_result.currentData() or None,
                                 self.offer_reason.text().strip() or None, callback_at, notes,
                                 do_not_call=self.do_not_call.isChecked())
        self._keep_current_result()
        offers = tuple(OfferAnswer(item, result, reason) for item, (result, reason) in self._results.items() if result)
        return WrapUpAnswers(disposition, callback_at=callback_at, notes=notes, offers=offers,
                             do_not_call=self.do_not_call.isChecked())

    def show_problem(self, problem: WrapUpProblem | None) -> None:
        """Say why the answers cannot be saved (or clear the reason when they can)."""
        messages = {
            WrapUpProblem.NO_DISPOSITION: self.tr("Choose a disposition."),
            WrapUpProblem.NO_OFFER: self.tr("This customer has no offer to record a result for."),
            WrapUpProblem.NO_REASON: self.tr("Say why the customer is not interested."),
            WrapUpProblem.CALLBACK_PASSED: self.tr("The callback time has passed."),
            WrapUpProblem.CALLBACK_UNKNOWN_CUSTOMER: self.tr("Identify the customer before promising a callback."),
            WrapUpProblem.DO_NOT_CALL_UNKNOWN: self.tr("Identify the customer: this call has no number to list."),
            WrapUpProblem.DO_NOT_CALL_CALLBACK: self.tr("A customer who asks not to be called gets no callback."),
        }
        self.error.setText(messages[problem] if problem is not None else "")

    def reset(self) -> None:
        self.disposition.setCurrentIndex(0)
        self.show_offers((), None)
        self.callback.setChecked(False)
        self.do_not_call.setChecked(False)
        self.notes.clear()
        self.error.setText("")
