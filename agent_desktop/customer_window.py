"""The customer window: search on the left, the customer 360 view on the right.

Look-ups go through a :class:`CustomerDirectory` (the repository functions over a session
factory) on worker threads; a newer search supersedes an older one still running, so results never
arrive out of order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from connectors.boss import LiveBill, OrderSystem, Product
from connectors.center import NotConnected
from connectors.errors import BackendRefused
from crm import db, phones, repository
from crm.errors import CrmError, NotFound
from crm.repository import Customer360, CustomerSummary
from crm.workflows import Actor, Subject

from .app import fit_default_size, remember_layout
from .customer_view import Customer360View, named, plain_label
from .labels import Kind, label
from .tables import Column, RecordTableModel
from .workers import run_in_background

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CustomerDirectory:
    """Blocking look-ups, for worker threads: each call opens and closes its own session.

    A database that does not answer is reported as :class:`~crm.errors.DatabaseUnavailable`.
    """

    sessions: db.SessionFactory
    region: str = "US"
    #: The order and billing system (``[connectors.*]`` in the configuration), or None when none is connected.
    orders: OrderSystem | None = None
    #: The site (``Settings.site``) whose agents log in here and are transfer targets.
    site: str = "main"

    @contextmanager
    def _read(self) -> Iterator[db.Session]:
        with db.answering(), self.sessions() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[db.Session]:
        with db.answering(), db.transaction(self.sessions) as session:
            yield session

    def search(self, text: str) -> list[CustomerSummary]:
        with self._read() as session:
            return repository.search_customers(session, text, self.region)

    def load(self, customer_id: int) -> Customer360:
        with self._read() as session:
            return repository.customer_360(session, customer_id)

    def authenticate(self, login: str, password: str) -> repository.AgentView | None:
        with self._write() as session:  # a wrong password counts towards the lockout
            return repository.authenticate_agent(session, login, password, site=self.site)

    def find_by_phone(self, number: str) -> list[CustomerSummary]:
        with self._read() as session:
            return repository.find_customers_by_phone(session, number, self.region)

    def next_preview(self, agent_id: int, skip: tuple[int, ...] = ()) -> repository.PreviewItem | None:
        with self._write() as session:  # the preview's decisions are kept (campaign why)
            return repository.next_preview_item(session, agent_id=agent_id, skip=skip, site=self.site)

    def skip_preview(self, work_item_id: int, reason: str, agent_id: int) -> None:
        with self._write() as session:
            repository.skip_work_item(session, work_item_id, reason=reason, agent_id=agent_id)

    def schedule_preview(self, work_item_id: int, at: datetime, agent_id: int) -> None:
        with self._write() as session:
            repository.schedule_work_item(session, work_item_id, at=at, agent_id=agent_id)

    def dial_attempt(self, work_item_id: int, result: str, agent_id: int, call_id: str) -> None:
        with self._write() as session:
            repository.record_dial_attempt(session, work_item_id, result=result, agent_id=agent_id,
                                           cti_call_id=call_id)

    def queue_dispositions(self) -> dict[str, tuple[str, ...]]:
        """Each queue's own disposition codes (queues without a list use the desktop's default)."""
        with self._read() as session:
            return {q.name: q.dispositions for q in repository.list_queues(session) if q.dispositions}

    def campaign_dispositions(self) -> dict[str, tuple[str, ...]]:
        """Each campaign's own disposition codes (``rules.dispositions``), by campaign key."""
        with self._read() as session:
            return repository.campaign_dispositions(session)

    def transfer_targets(self) -> list[tuple[str, str]]:
        """Who a call can be handed to: (label, extension) of every agent with an extension."""
        with self._read() as session:
            return [(f"{a.name} ({a.extension})", a.extension) for a in repository.list_agents(session, self.site)
                    if a.extension]

    def create_customer(self, name: str, number: str | None) -> int:
        with self._write() as session:
            return repository.create_customer(session, name=name, phone=number or None, region=self.region)

    def workflow(self, subject: Subject, item_id: int) -> repository.WorkflowStatus:
        """An order's or request's state, history and the steps an agent may take next."""
        with self._read() as session:
            return repository.workflow_status(session, subject, item_id, Actor.AGENT)

    def move(self, subject: Subject, item_id: int, transition: str, fields: dict[str, Any] | None = None, *,
             agent_login: str = "desktop") -> repository.WorkflowStatus:
        with self._write() as session:
            return repository.move(session, subject, item_id, transition, actor=Actor.AGENT, actor_name=agent_login,
                                   fields=fields)

    def _account(self, customer_id: int, system: str) -> tuple[OrderSystem, str]:
        if self.orders is None:
            raise NotConnected(f"no {system} is connected")
        with self._read() as session:
            return self.orders, repository.customers.first_account(session, customer_id)

    def live_bill(self, customer_id: int) -> LiveBill:
        """The live bill and balance of the customer's first account, from billing (as ``ccenter api`` asks)."""
        orders, account = self._account(customer_id, "billing system")
        try:
            return orders.bill(account)
        except BackendRefused as exc:
            raise NotFound(f"billing has no bill for account {account}: {exc}") from None

    def products(self, customer_id: int) -> tuple[Product, ...]:
        """Every line, plan, device and service the customer's first account holds, from the order system."""
        orders, account = self._account(customer_id, "order system")
        try:
            return orders.products(account)
        except BackendRefused as exc:
            raise NotFound(f"the order system has nothing for account {account}: {exc}") from None


class Directory(Protocol):
    """What the desktop asks of customer data: :class:`CustomerDirectory` over the database (the embedded
    demo), or ``connectors.center.CenterDirectory`` through ``ccenter api`` (production)."""

    @property
    def region(self) -> str: ...

    def search(self, text: str) -> list[CustomerSummary]: ...
    def load(self, customer_id: int) -> Customer360: ...
    def authenticate(self, login: str, password: str) -> repository.AgentView | None: ...
    def find_by_phone(self, number: str) -> list[CustomerSummary]: ...
    def next_preview(self, agent_id: int, skip: tuple[int, ...] = ()) -> repository.PreviewItem | None: ...
    def skip_preview(self, work_item_id: int, reason: str, agent_id: int) -> None: ...
    def schedule_preview(self, work_item_id: int, at: datetime, agent_id: int) -> None: ...
    def dial_attempt(self, work_item_id: int, result: str, agent_id: int, call_id: str) -> None: ...
    def queue_dispositions(self) -> dict[str, tuple[str, ...]]: ...
    def campaign_dispositions(self) -> dict[str, tuple[str, ...]]: ...
    def transfer_targets(self) -> list[tuple[str, str]]: ...
    def create_customer(self, name: str, number: str | None) -> int: ...
    def workflow(self, subject: Subject, item_id: int) -> repository.WorkflowStatus: ...
    def move(self, subject: Subject, item_id: int, transition: str, fields: dict[str, Any] | None = None, *,
             agent_login: str = "desktop") -> repository.WorkflowStatus: ...
    def live_bill(self, customer_id: int) -> LiveBill: ...
    def products(self, customer_id: int) -> tuple[Product, ...]: ...


RESULT_COLUMNS: list[Column[CustomerSummary]] = [
    Column("Name", lambda c: c.name),
    Column("Tier", lambda c: label(Kind.TIER, c.tier)),
    Column("Phone", lambda c: phones.display(c.phones[0]) if c.phones else ""),
]


class CustomerWindow(QMainWindow):
    search_finished = Signal(int)
    customer_loaded = Signal(int)
    lookup_failed = Signal(str)
    customer_chosen = Signal(int)  # "use this customer for the current call"

    def __init__(self, directory: Directory, parent: QWidget | None = None, *, agent_login: str = "desktop") -> None:
        super().__init__(parent)
        self.directory = directory
        self.setWindowTitle(self.tr("ccenter — Customers"))
        self._search_serial = 0
        self._load_serial = 0

        self.search_box = named(QLineEdit(), "customerSearch")
        self.search_box.setPlaceholderText(self.tr("Name, phone number or account number"))
        self.search_box.setClearButtonEnabled(True)
        self.results = RecordTableModel(RESULT_COLUMNS, self)
        self.results_view = named(QTableView(), "searchResults")
        self.results_view.setModel(self.results)
        self.results_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.results_view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.results_view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.results_view.verticalHeader().setVisible(False)
        header = self.results_view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.status_label = plain_label(object_name="searchStatus")
        self.customer_view = Customer360View(directory, agent_login=agent_login)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.search_box)
        left_layout.addWidget(self.results_view, 1)
        left_layout.addWidget(self.status_label)
        self.use_button = named(QPushButton(self.tr("Use for the current call")), "useForCall")
        self.use_button.setToolTip(self.tr("Link the call on your workstation to this customer"))
        self.use_button.clicked.connect(self._on_use_clicked)
        left_layout.addWidget(self.use_button)
        self.splitter = named(QSplitter(Qt.Orientation.Horizontal), "customerSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.customer_view)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([340, 940])
        self.setCentralWidget(self.splitter)
        fit_default_size(self, 1280, 780)

        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.search_now)
        self.search_box.textEdited.connect(lambda _text: self._debounce.start())
        self.search_box.returnPressed.connect(self.search_now)
        self.results_view.selectionModel().currentRowChanged.connect(self._on_result_current_changed)
        remember_layout(self, "customerWindow", self.splitter)

    # --- search --------------------------------------------------------------------------------

    def search_now(self) -> None:
        self._debounce.stop()
        text = self.search_box.text().strip()
        self._search_serial += 1
        serial = self._search_serial
        if not text:
            self.results.set_rows([])
            self.status_label.setText("")
            return
        self.status_label.setText(self.tr("Searching…"))
        self._run(self.directory.search, text, done=lambda rows: self._on_search_done(serial, rows))

    def _on_search_done(self, serial: int, rows: list[CustomerSummary]) -> None:
        if serial != self._search_serial:
            return  # a newer search is on its way
        self.results.set_rows(rows)
        count = len(rows)
        found = self.tr("1 customer found") if count == 1 else self.tr("%1 customers found").replace("%1", str(count))
        self.status_label.setText(found)
        if rows:
            self.results_view.selectRow(0)
        self.search_finished.emit(len(rows))

    def _on_result_current_changed(self, current: object, _previous: object) -> None:
        row = getattr(current, "row", lambda: -1)()
        if 0 <= row < self.results.rowCount():
            self.open_customer(self.results.row(row).id)

    def _on_use_clicked(self) -> None:
        if self.customer_view.customer is not None:
            self.customer_chosen.emit(self.customer_view.customer.profile.id)

    # --- 360 -----------------------------------------------------------------------------------

    def open_customer(self, customer_id: int) -> None:
        self._load_serial += 1
        serial = self._load_serial
        self._run(self.directory.load, customer_id, done=lambda view: self._on_loaded(serial, view))

    def _on_loaded(self, serial: int, customer: Customer360) -> None:
        if serial != self._load_serial:
            return
        self.customer_view.show_customer(customer)
        self.customer_loaded.emit(customer.profile.id)

    # --- plumbing ------------------------------------------------------------------------------

    def _run(self, fn: object, *args: object, done: object) -> None:
        run_in_background(self, fn, *args, done=done, failed=self._on_failed)  # type: ignore[arg-type]

    def _on_failed(self, error: Exception) -> None:
        message = str(error) if isinstance(error, CrmError) else self.tr("Look-up failed: %1").replace("%1", str(error))
        if not isinstance(error, CrmError):
            logger.error("customer look-up failed", exc_info=error)
        self.status_label.setText(message)
        self.lookup_failed.emit(message)

