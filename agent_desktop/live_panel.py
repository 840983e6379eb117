"""The federated part of the 360 view: the live bill and balance from billing, and what the customer holds
(lines, plans, devices, services, contract end dates) from the order system.

Our own data is shown at once; these two are asked for beside it, each on a worker thread, and each
section fills in as its system answers. A system that takes longer than :data:`SLOW_AFTER_MS` is said
to be slow (the answer still fills the section when it comes); one that does not answer, or whose
breaker is open, is said to be away, with an "Ask again" button; when no billing or order system is
connected to this desktop the panel says so. Nothing here is ever invented: an empty section means
the system said the customer has nothing. The GUI never waits for either.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QHeaderView, QPushButton, QTableView, QVBoxLayout, QWidget

from connectors.boss import BillLine, LiveBill, Product
from connectors.center import NotConnected
from connectors.errors import ConnectorError
from crm.errors import CrmError, DatabaseUnavailable, NotFound

from .customer_view import named, plain_label
from .labels import Kind, label
from .tables import Column, RecordTableModel, money
from .workers import run_in_background

logger = logging.getLogger(__name__)

# How long a system may take before the panel says it is slow (it keeps waiting for the answer).
SLOW_AFTER_MS = 1500


class LiveSource(Protocol):
    """The part of the desktop's directory the panel uses."""

    def live_bill(self, customer_id: int) -> LiveBill: ...
    def products(self, customer_id: int) -> tuple[Product, ...]: ...


PRODUCT_COLUMNS: list[Column[Product]] = [
    Column("Kind", lambda p: label(Kind.PRODUCT_KIND, p.kind)),
    Column("Product", lambda p: p.name),
    Column("Number", lambda p: p.identifier or ""),
    Column("Status", lambda p: p.status or ""),
    Column("Contract end", lambda p: p.contract_end or ""),
]


class _Section(QGroupBox):
    """One system's answer: a status line (asking, slow, away, not connected) over what it said."""

    def __init__(self, title: str, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName(object_name)
        self.status_label = plain_label(object_name=f"{object_name}Status")
        self.status_label.setWordWrap(True)
        self.state = "idle"  # asking, slow, answered, away, not_connected, nothing
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.status_label)

    def set_state(self, state: str, text: str, detail: str = "") -> None:
        """``text`` for people; ``detail`` (what the system or the network said) in its tooltip."""
        self.state = state
        self.status_label.setText(text)
        tip = Qt.convertFromPlainText(detail, Qt.WhiteSpaceMode.WhiteSpaceNormal) if detail else ""
        self.status_label.setToolTip(tip)
        self.status_label.setVisible(bool(text))
        self.status_label.setProperty("answer", state)  # the style sheet colours slow and away
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)


def _table(model: RecordTableModel[object], object_name: str) -> QTableView:
    view = named(QTableView(), object_name)
    view.setModel(model)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.setWordWrap(False)
    # A few rows, then it scrolls: the 360 view's own tabs keep the room.
    rows = 4 * view.verticalHeader().defaultSectionSize()
    view.setMaximumHeight(view.horizontalHeader().sizeHint().height() + rows + 4)
    return view


class LivePanel(QWidget):
    """Bill and balance from billing, products and services from the order system, as they answer."""

    bill_answered = Signal(int)  # customer id, once the bill section shows billing's answer
    products_answered = Signal(int)
    bill_failed = Signal(str)  # the section's state: away, not_connected, nothing
    products_failed = Signal(str)

    def __init__(self, directory: LiveSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.directory = directory
        self.customer_id: int | None = None
        self._serial = 0

        self.bill = _Section(self.tr("Bill and balance (billing)"), "liveBill")
        self.bill_summary = plain_label(object_name="liveBillSummary")
        self.bill_lines: RecordTableModel[BillLine] = RecordTableModel([Column("Line", lambda b: b.label),
                                           Column("Amount", lambda b: money(b.amount, self._currency),
                                                  align_right=True)], self)
        self._currency = ""
        self.bill_lines_view = _table(self.bill_lines, "liveBillLines")  # type: ignore[arg-type]
        self.bill.layout_.addWidget(self.bill_summary)
        self.bill.layout_.addWidget(self.bill_lines_view)

        self.products = _Section(self.tr("Products and services (order system)"), "liveProducts")
        self.product_rows = RecordTableModel(PRODUCT_COLUMNS, self)
        self.products_view = _table(self.product_rows, "liveProductTable")  # type: ignore[arg-type]
        self.products.layout_.addWidget(self.products_view)

        self.again_button = named(QPushButton(self.tr("Ask again")), "liveAskAgain")
        self.again_button.setToolTip(self.tr("Ask billing and the order system again"))
        self.again_button.clicked.connect(self.ask_again)

        self._bill_slow = QTimer(self, singleShot=True, interval=SLOW_AFTER_MS)
        self._bill_slow.timeout.connect(lambda: self._on_slow(self.bill))
        self._products_slow = QTimer(self, singleShot=True, interval=SLOW_AFTER_MS)
        self._products_slow.timeout.connect(lambda: self._on_slow(self.products))

        # When neither system is connected: one line instead of two empty boxes.
        self.not_connected_label = plain_label(
            self.tr("No billing or order system is connected to this desktop: no live bill or products."),
            "liveNotConnected")
        self.not_connected_label.hide()

        row = QHBoxLayout()
        row.addWidget(self.bill, 2)
        row.addWidget(self.products, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.not_connected_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.again_button)
        layout.addLayout(buttons)
        self.clear()

    def clear(self) -> None:
        self._serial += 1
        self.customer_id = None
        self._bill_slow.stop()
        self._products_slow.stop()
        self._show_bill(None)
        self.product_rows.set_rows([])
        self.products_view.hide()
        self.bill.set_state("idle", "")
        self.products.set_state("idle", "")
        self.again_button.hide()
        self._fold()

    def show_customer(self, customer_id: int) -> None:
        """Ask billing and the order system about ``customer_id``; each section fills as its system answers."""
        self.clear()
        self.customer_id = customer_id
        serial = self._serial
        self.bill.set_state("asking", self.tr("Asking billing…"))
        self.products.set_state("asking", self.tr("Asking the order system…"))
        self._bill_slow.start()
        self._products_slow.start()
        run_in_background(self, self.directory.live_bill, customer_id,
                          done=lambda bill: self._on_bill(serial, customer_id, bill),
                          failed=lambda error: self._on_bill_failed(serial, error))
        run_in_background(self, self.directory.products, customer_id,
                          done=lambda items: self._on_products(serial, customer_id, items),
                          failed=lambda error: self._on_products_failed(serial, error))

    def ask_again(self) -> None:
        if self.customer_id is not None:
            self.show_customer(self.customer_id)

    def _fold(self) -> None:
        """Neither system connected: say so in one line rather than in two boxes."""
        neither = self.bill.state == self.products.state == "not_connected"
        self.bill.setHidden(neither)
        self.products.setHidden(neither)
        self.not_connected_label.setHidden(not neither)

    # --- answers -----------------------------------------------------------------------------------

    def _on_slow(self, section: _Section) -> None:
        if section.state != "asking":
            return
        text = (self.tr("Billing is slow to answer; still waiting…") if section is self.bill
                else self.tr("The order system is slow to answer; still waiting…"))
        section.set_state("slow", text)

    def _show_bill(self, bill: LiveBill | None) -> None:
        if bill is None:
            self.bill_summary.clear()
            self.bill_summary.hide()
            self.bill_lines.set_rows([])
            self.bill_lines_view.hide()
            return
        self._currency = bill.currency
        summary = self.tr("Account %1 · balance %2 · due %3").replace("%1", bill.account_number).replace(
            "%2", money(bill.balance, bill.currency)).replace("%3", money(bill.amount_due, bill.currency))
        if bill.due_date:
            summary += " " + self.tr("by %1").replace("%1", bill.due_date)
        self.bill_summary.setText(summary)
        self.bill_summary.show()
        lines: list[BillLine] = list(bill.lines)
        self.bill_lines.set_rows(lines)
        self.bill_lines_view.setVisible(bool(lines))

    def _on_bill(self, serial: int, customer_id: int, bill: LiveBill) -> None:
        if serial != self._serial:
            return
        self._bill_slow.stop()
        self.bill.set_state("answered", "" if bill.lines else self.tr("No lines on the current bill."))
        self._show_bill(bill)
        self.bill_answered.emit(customer_id)

    def _on_products(self, serial: int, customer_id: int, items: tuple[Product, ...]) -> None:
        if serial != self._serial:
            return
        self._products_slow.stop()
        self.products.set_state("answered", "" if items else self.tr("The order system lists no products."))
        self.product_rows.set_rows(list(items))
        self.products_view.setVisible(bool(items))
        self.products_answered.emit(customer_id)

    def _failure(self, error: Exception, system: str) -> tuple[str, str]:
        """The section's state and what to say; the error's own words go in the tooltip."""
        billing = system == "billing"
        if isinstance(error, NotConnected):
            return "not_connected", (self.tr("No billing system is connected to this desktop.") if billing
                                     else self.tr("No order system is connected to this desktop."))
        if isinstance(error, NotFound):
            return "nothing", (self.tr("Billing has no bill for this customer.") if billing
                               else self.tr("The order system has nothing for this customer."))
        if isinstance(error, DatabaseUnavailable | ConnectorError):
            return "away", (self.tr("Billing does not answer now.") if billing
                            else self.tr("The order system does not answer now."))
        if not isinstance(error, CrmError):
            logger.error("%s look-up failed", system, exc_info=error)
        return "away", (self.tr("Billing could not be asked.") if billing
                        else self.tr("The order system could not be asked."))

    def _on_bill_failed(self, serial: int, error: Exception) -> None:
        if serial != self._serial:
            return
        self._bill_slow.stop()
        state, text = self._failure(error, "billing")
        self.bill.set_state(state, text, str(error))
        self.again_button.setVisible(not self.again_button.isHidden() or state == "away")
        self._fold()
        self.bill_failed.emit(state)

    def _on_products_failed(self, serial: int, error: Exception) -> None:
        if serial != self._serial:
            return
        self._products_slow.stop()
        state, text = self._failure(error, "order system")
        self.products.set_state(state, text, str(error))
        self.again_button.setVisible(not self.again_button.isHidden() or state == "away")
        self._fold()
        self.products_failed.emit(state)
