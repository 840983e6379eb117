"""The screen pop: the caller's customer record, or what to do when the number names no customer
(search, or create one) or several (choose one)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLineEdit, QListWidget, QListWidgetItem, QStackedWidget, QVBoxLayout, QWidget

from crm import phones
from crm.repository import Customer360, CustomerSummary

from .controls import push_button
from .customer_view import Customer360View, named, plain_label
from .labels import Kind, label

CUSTOMER, UNKNOWN, CHOOSER = range(3)  # the pages, in order


class ScreenPopView(QStackedWidget):
    customer_chosen = Signal(int)  # a customer picked from the matches or the search results
    search_requested = Signal(str)
    create_requested = Signal(str, str)  # name, number of a new customer

    def __init__(self, directory: Any = None, parent: QWidget | None = None, *, agent_login: str = "desktop") -> None:
        super().__init__(parent)
        self.setObjectName("screenPop")
        # With the desktop's directory: the live bill, products and workflows too (see Customer360View).
        self.customer_view = Customer360View(directory, agent_login=agent_login)
        self.unknown_panel = QGroupBox(self.tr("Unknown caller"))
        layout = QVBoxLayout(self.unknown_panel)
        self.unknown_label = named(plain_label(), "unknownCaller")
        self.unknown_search = named(QLineEdit(), "unknownSearch")
        self.unknown_search.setPlaceholderText(self.tr("Search by name, number or account"))
        self.unknown_search.returnPressed.connect(self._on_search)
        self.unknown_results = named(QListWidget(), "unknownResults")
        self.unknown_results.itemActivated.connect(self._on_chosen)
        self.new_name = named(QLineEdit(), "newCustomerName")
        self.new_name.setPlaceholderText(self.tr("Name of a new customer"))
        self.new_number = named(QLineEdit(), "newCustomerNumber")
        create = push_button(self.tr("Create customer"), "createCustomer")
        create.clicked.connect(
            lambda: self.create_requested.emit(self.new_name.text().strip(), self.new_number.text().strip()))
        layout.addWidget(self.unknown_label)
        layout.addWidget(self.unknown_search)
        layout.addWidget(self.unknown_results, 1)
        layout.addWidget(plain_label(self.tr("Or create a new customer:")))
        layout.addWidget(self.new_name)
        layout.addWidget(self.new_number)
        layout.addWidget(create)
        self.chooser = named(QListWidget(), "customerChooser")
        self.chooser.itemActivated.connect(self._on_chosen)
        chooser_box = QGroupBox(self.tr("Several customers have this number: choose one"))
        QVBoxLayout(chooser_box).addWidget(self.chooser)
        self.addWidget(self.customer_view)
        self.addWidget(self.unknown_panel)
        self.addWidget(chooser_box)

    def show_customer(self, view: Customer360, script: str | None = None) -> None:
        """The customer's record (with the campaign's script on a preview call)."""
        self.customer_view.show_customer(view)
        if script is not None:
            self.customer_view.script.setPlainText(script)
        self.setCurrentIndex(CUSTOMER)

    def show_unknown(self, number: str | None) -> None:
        """No customer has ``number``: search, or a new customer's form with the number filled in."""
        self.unknown_label.setText(self.tr("No customer has the number %1.").replace("%1", number or "?"))
        self.unknown_search.clear()
        self.unknown_results.clear()
        self.new_name.clear()
        self.new_number.setText(number or "")
        self.setCurrentIndex(UNKNOWN)

    def show_choices(self, found: Iterable[CustomerSummary]) -> None:
        """Several customers have the number: the agent chooses."""
        self.chooser.clear()
        for customer in found:
            self._add_choice(self.chooser, customer)
        self.setCurrentIndex(CHOOSER)

    def show_search_results(self, found: Iterable[CustomerSummary]) -> None:
        self.unknown_results.clear()
        for customer in found:
            self._add_choice(self.unknown_results, customer)

    @staticmethod
    def _add_choice(widget: QListWidget, customer: CustomerSummary) -> None:
        numbers = ", ".join(phones.display(p) for p in customer.phones)
        text = f"{customer.name} · {label(Kind.TIER, customer.tier)} · {numbers}"
        widget.addItem(text)
        widget.item(widget.count() - 1).setData(Qt.ItemDataRole.UserRole, customer.id)

    def _on_search(self) -> None:
        text = self.unknown_search.text().strip()
        if text:
            self.search_requested.emit(text)

    def _on_chosen(self, item: QListWidgetItem) -> None:
        self.customer_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
