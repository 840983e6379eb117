"""The customer 360 view: who the customer is, what happened, what is open, what to offer.

It only presents a :class:`crm.repository.Customer360`; loading happens elsewhere, off the GUI
thread. Every label shows plain text: names, notes and scripts come from callers and files.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crm import phones
from crm.models import Tier
from crm.repository import (
    CommunicationView,
    ContactView,
    Customer360,
    OfferView,
    OrderView,
    ServiceRequestView,
)

from .labels import Kind, label
from .tables import Column, RecordTableModel, money, when

if TYPE_CHECKING:
    from crm.repository.workflows import WorkflowStatus

    from .live_panel import LivePanel
    from .workflow_panel import WorkflowPanel

W = TypeVar("W", bound=QWidget)


def named(widget: W, object_name: str) -> W:
    """``widget`` with its object name set (the style sheet and tests find it by that name)."""
    widget.setObjectName(object_name)
    return widget


def plain_label(text: str = "", object_name: str | None = None) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if object_name:
        label.setObjectName(object_name)
    return label


def _table(model: RecordTableModel[object]) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.setWordWrap(False)
    return view


CONTACT_COLUMNS: list[Column[ContactView]] = [
    Column("When", lambda c: when(c.started_at)),
    Column("Channel", lambda c: label(Kind.CHANNEL, c.channel)),
    Column("Queue", lambda c: c.queue or ""),
    Column("Agent", lambda c: c.agent or ""),
    Column("Disposition", lambda c: label(Kind.DISPOSITION, c.disposition)),
    Column("Summary", lambda c: c.summary or c.notes or ""),
]
ORDER_COLUMNS: list[Column[OrderView]] = [
    Column("Order", lambda o: str(o.id), align_right=True),
    Column("Product", lambda o: o.product),
    Column("Amount", lambda o: money(o.amount, o.currency), align_right=True),
    Column("Status", lambda o: label(Kind.WORKFLOW_STATE, o.state)),  # where its workflow is (installed, ...)
    Column("Created", lambda o: when(o.created_at)),
]
REQUEST_COLUMNS: list[Column[ServiceRequestView]] = [
    Column("Request", lambda r: str(r.id), align_right=True),
    Column("Category", lambda r: label(Kind.CATEGORY, r.category)),
    Column("Summary", lambda r: r.summary),
    Column("Priority", lambda r: label(Kind.PRIORITY, r.priority)),
    Column("Status", lambda r: label(Kind.WORKFLOW_STATE, r.state)),
    Column("Opened", lambda r: when(r.created_at)),
]
OFFER_COLUMNS: list[Column[OfferView]] = [
    Column("Campaign", lambda o: o.campaign_name),
    Column("Offer", lambda o: o.offer or ""),
    Column("Channel", lambda o: label(Kind.CHANNEL, o.channel)),
    Column("Attempts", lambda o: str(o.attempts), align_right=True),
]
COMMUNICATION_COLUMNS: list[Column[CommunicationView]] = [
    Column("Sent", lambda m: when(m.sent_at)),
    Column("Kind", lambda m: label(Kind.COMMUNICATION, m.kind)),
    Column("Channel", lambda m: label(Kind.CHANNEL, m.channel)),
    Column("Subject", lambda m: m.subject),
    Column("Amount", lambda m: money(m.amount, m.currency), align_right=True),
    # What was sent: a bill's lines, then the text (posted by billing and messaging through `ccenter api`).
    Column("Summary", lambda m: "; ".join([*(f"{name} {money(amount, m.currency)}" for name, amount in m.lines),
                                           *([" ".join(m.body.split())] if m.body else [])])),
]


class Customer360View(QWidget):
    """Profile header over tabs of history, orders, service requests, offers and communications.

    Given a ``directory`` (the desktop's :class:`~agent_desktop.customer_window.Directory`), it also shows
    the live bill and the customer's products as billing and the order system answer
    (:class:`~agent_desktop.live_panel.LivePanel`), and the workflow of the selected order or service
    request with the steps the agent may take (:class:`~agent_desktop.workflow_panel.WorkflowPanel`).
    """

    def __init__(self, directory: Any = None, parent: QWidget | None = None, *, agent_login: str = "desktop") -> None:
        super().__init__(parent)
        self.customer: Customer360 | None = None
        self.live: LivePanel | None = None
        self.order_workflow: WorkflowPanel | None = None
        self.request_workflow: WorkflowPanel | None = None
        self.name_label = plain_label(object_name="customerName")
        self.tier_badge = plain_label(object_name="tierBadge")
        self.details_label = plain_label(object_name="customerDetails")
        self.accounts_label = plain_label(object_name="customerAccounts")
        self.placeholder = plain_label(self.tr("Search for a customer, or wait for a call."), "placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.contacts = RecordTableModel(CONTACT_COLUMNS, self)
        self.orders = RecordTableModel(ORDER_COLUMNS, self)
        self.requests = RecordTableModel(REQUEST_COLUMNS, self)
        self.offers = RecordTableModel(OFFER_COLUMNS, self)
        self.communications = RecordTableModel(COMMUNICATION_COLUMNS, self)

        header = named(QFrame(), "customerHeader")
        grid = QGridLayout(header)
        title = QHBoxLayout()
        title.addWidget(self.name_label)
        title.addWidget(self.tier_badge)
        title.addStretch(1)
        grid.addLayout(title, 0, 0)
        grid.addWidget(self.details_label, 1, 0)
        grid.addWidget(self.accounts_label, 2, 0)

        self.offers_view = _table(self.offers)  # type: ignore[arg-type]
        self.script = named(QPlainTextEdit(), "offerScript")
        self.script.setReadOnly(True)
        self.script.setPlaceholderText(self.tr("Select an offer to see its script."))
        offers_page = QSplitter(Qt.Orientation.Vertical)
        offers_page.addWidget(self.offers_view)
        offers_page.addWidget(self.script)
        self.offers_view.selectionModel().currentRowChanged.connect(self._on_offer_current_changed)

        self.orders_view = named(_table(self.orders), "ordersTable")  # type: ignore[arg-type]
        self.requests_view = named(_table(self.requests), "requestsTable")  # type: ignore[arg-type]
        orders_page: QWidget = self.orders_view
        requests_page: QWidget = self.requests_view
        if directory is not None:
            from crm.workflows import Subject

            from .live_panel import LivePanel
            from .workflow_panel import WorkflowPanel

            self.live = named(LivePanel(directory), "livePanel")
            self.order_workflow = named(WorkflowPanel(directory, agent_login), "orderWorkflow")
            self.request_workflow = named(WorkflowPanel(directory, agent_login), "requestWorkflow")
            orders_page = self._with_workflow(self.orders_view, self.order_workflow, self.orders, Subject.ORDER)
            requests_page = self._with_workflow(self.requests_view, self.request_workflow, self.requests,
                                                Subject.SERVICE_REQUEST)

        self.tabs = named(QTabWidget(), "customerTabs")
        self.tabs.addTab(_table(self.contacts), self.tr("History"))  # type: ignore[arg-type]
        self.tabs.addTab(orders_page, self.tr("Open orders"))
        self.tabs.addTab(requests_page, self.tr("Service requests"))
        self.tabs.addTab(offers_page, self.tr("Offers"))
        self.tabs.addTab(_table(self.communications), self.tr("Communications"))  # type: ignore[arg-type]

        self.body = QWidget()
        body_layout = QVBoxLayout(self.body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(header)
        if self.live is not None:
            body_layout.addWidget(self.live)
        body_layout.addWidget(self.tabs, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.body)
        self.body.hide()

    def _with_workflow(self, view: QTableView, panel: WorkflowPanel, model: RecordTableModel[Any],
                       subject: Any) -> QSplitter:
        """The table over the selected row's workflow; a step taken there updates the row's status."""
        page = QSplitter(Qt.Orientation.Vertical)
        page.addWidget(view)
        page.addWidget(panel)
        page.setStretchFactor(0, 1)
        page.setStretchFactor(1, 2)
        page.setSizes([140, 320])  # a few rows of the table, the rest for the workflow

        def current_changed(current: Any, _previous: Any) -> None:
            row = current.row()
            if 0 <= row < model.rowCount():
                panel.show_item(subject, model.row(row).id)
            else:
                panel.clear()

        def moved(status: WorkflowStatus) -> None:
            rows = [dataclasses.replace(r, state=status.state, status=status.status) if r.id == status.id else r
                    for r in (model.row(i) for i in range(model.rowCount()))]
            selected = view.currentIndex().row()
            model.set_rows(rows)
            if 0 <= selected < len(rows):
                view.selectionModel().blockSignals(True)
                view.selectRow(selected)
                view.selectionModel().blockSignals(False)

        view.selectionModel().currentRowChanged.connect(current_changed)
        panel.moved.connect(moved)
        return page

    def clear(self) -> None:
        self.customer = None
        for model in (self.contacts, self.orders, self.requests, self.offers, self.communications):
            model.set_rows([])
        for panel in (self.live, self.order_workflow, self.request_workflow):
            if panel is not None:
                panel.clear()
        self.script.clear()
        self.body.hide()
        self.placeholder.show()

    def show_customer(self, customer: Customer360) -> None:
        self.customer = customer
        p = customer.profile
        self.name_label.setText(p.name)
        # Re-polish before setting the text, so the badge is sized with its tier's style.
        self.tier_badge.setProperty("tier", p.tier.value)
        self.tier_badge.style().unpolish(self.tier_badge)
        self.tier_badge.style().polish(self.tier_badge)
        self.tier_badge.setText(label(Kind.TIER, p.tier).upper())  # a badge, in capitals
        self.tier_badge.setVisible(p.tier is not Tier.STANDARD)
        numbers = ", ".join(phones.display(n) for n in p.phones) or self.tr("no number on file")
        details = [f"#{p.id}", numbers, label(Kind.LANGUAGE, p.language), p.time_zone]
        if p.segment:
            details.append(label(Kind.SEGMENT, p.segment))
        if p.email:
            details.append(p.email)
        self.details_label.setText("  ·  ".join(details))
        self.accounts_label.setText(
            "\n".join(
                self.tr("Account %1: %2 · %3 · balance %4")
                .replace("%1", a.account_number)
                .replace("%2", a.plan or "")
                .replace("%3", label(Kind.ACCOUNT_STATUS, a.status))
                .replace("%4", money(a.balance, a.currency))
                for a in p.accounts
            )
        )
        self.contacts.set_rows(customer.contacts)
        self.orders.set_rows(customer.open_orders)
        self.requests.set_rows(customer.open_service_requests)
        self.offers.set_rows(customer.offers)
        self.communications.set_rows(customer.communications)
        self.tabs.setTabText(1, self.tr("Open orders (%n)", "", len(customer.open_orders)))
        self.tabs.setTabText(2, self.tr("Service requests (%n)", "", len(customer.open_service_requests)))
        self.tabs.setTabText(3, self.tr("Offers (%n)", "", len(customer.offers)))
        self.script.clear()
        if customer.offers:
            self.offers_view.selectRow(0)
        for panel, rows, view in ((self.order_workflow, customer.open_orders, self.orders_view),
                                  (self.request_workflow, customer.open_service_requests, self.requests_view)):
            if panel is not None:
                panel.clear()
                if rows:
                    view.selectRow(0)
        if self.live is not None:
            self.live.show_customer(p.id)
        self.placeholder.hide()
        self.body.show()

    def _on_offer_current_changed(self, current: object, _previous: object) -> None:
        row = getattr(current, "row", lambda: -1)()
        if 0 <= row < self.offers.rowCount():
            self.script.setPlainText(self.offers.row(row).script or "")
