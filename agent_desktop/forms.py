"""Forms an agent fills during a call: a new order, a new service request. Both validate before OK."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from crm.repository import OrderLine, RequestLine

from .customer_view import named, plain_label
from .labels import Kind, label

SERVICE_CATEGORIES = ("billing", "technical", "move", "device", "cancellation", "complaint", "other")
PRIORITIES = ("low", "normal", "high", "urgent")


class _Form(QDialog):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.error = named(plain_label(), "formError")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._on_accept_requested)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def problem(self) -> str | None:
        raise NotImplementedError

    def _on_accept_requested(self) -> None:
        problem = self.problem()
        self.error.setText(problem or "")
        if problem is None:
            self.accept()


class OrderForm(_Form):
    """A new order; products offered first are the campaign's, but any product can be typed."""

    def __init__(self, products: list[str], currency: str, work_item_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(self.tr("New order"), parent)
        self.currency = currency
        self.work_item_id = work_item_id
        self.product = named(QComboBox(), "orderProduct")
        self.product.setEditable(True)
        self.product.addItems(products)
        self.quantity = named(QSpinBox(), "orderQuantity")
        self.quantity.setRange(1, 999)
        self.amount = named(QLineEdit("0.00"), "orderAmount")
        self.form.addRow(self.tr("Product"), self.product)
        self.form.addRow(self.tr("Quantity"), self.quantity)
        self.form.addRow(self.tr("Amount (%1)").replace("%1", currency), self.amount)
        if work_item_id is not None:
            self.form.addRow(self.tr("Campaign"), plain_label(self.tr("linked to work item %1").replace(
                "%1", str(work_item_id))))

    def _amount(self) -> Decimal | None:
        try:
            value = Decimal(self.amount.text().strip().replace(",", ""))
        except InvalidOperation:
            return None
        return value if value.is_finite() and value >= 0 and value == value.quantize(Decimal("0.01")) else None

    def problem(self) -> str | None:
        if not self.product.currentText().strip():
            return self.tr("Choose or type a product.")
        if self._amount() is None:
            return self.tr("The amount must be a number of at least 0, with at most two decimals.")
        return None

    def line(self) -> OrderLine:
        amount = self._amount()
        assert amount is not None
        return OrderLine(self.product.currentText().strip(), amount, self.quantity.value(), self.currency,
                         self.work_item_id)


class ServiceRequestForm(_Form):
    def __init__(self, category: str | None = None, work_item_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(self.tr("New service request"), parent)
        self.work_item_id = work_item_id
        self.category = named(QComboBox(), "requestCategory")
        for code in SERVICE_CATEGORIES:
            self.category.addItem(label(Kind.CATEGORY, code), code)
        if category in SERVICE_CATEGORIES:
            self.category.setCurrentIndex(self.category.findData(category))
        self.summary = named(QLineEdit(), "requestSummary")
        self.summary.setMaxLength(200)
        self.details = named(QPlainTextEdit(), "requestDetails")
        self.priority = named(QComboBox(), "requestPriority")
        for code in PRIORITIES:
            self.priority.addItem(label(Kind.PRIORITY, code), code)
        self.priority.setCurrentIndex(self.priority.findData("normal"))
        self.form.addRow(self.tr("Category"), self.category)
        self.form.addRow(self.tr("Summary"), self.summary)
        self.form.addRow(self.tr("Details"), self.details)
        self.form.addRow(self.tr("Priority"), self.priority)

    def problem(self) -> str | None:
        if not self.summary.text().strip():
            return self.tr("Write a short summary of the request.")
        return None

    def line(self) -> RequestLine:
        details = self.details.toPlainText().strip() or None
        return RequestLine(self.category.currentData(), self.summary.text().strip(), details,
                           self.priority.currentData(), self.work_item_id)
