"""The customer window of the production desktop, through ``ccenter api``: a bill posted by billing shows
in the Communications tab with its lines, and an order's status is where its workflow is."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import Qt

from agent_desktop.customer_window import CustomerWindow
from api.app import create_app
from connectors.center import CenterDirectory
from crm import db
from tests.api.conftest import seed, serve
from tests.helpers.desktop_db import dispose_after_desktop_jobs


@pytest.fixture
def center(_sqlite_template: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], dict[str, int]]]:
    path = tmp_path / "desk.db"
    shutil.copy(_sqlite_template, path)
    engine = db.connect(f"sqlite:///{path}")
    issued, customers = seed(engine)
    for url in serve(create_app(db.session_factory(engine))):
        yield url, issued, customers
    dispose_after_desktop_jobs(engine)


def test_a_bill_from_billing_and_an_installed_order_show_in_the_customer_window(qtbot, center) -> None:
    url, issued, customers = center
    billing = {"Authorization": f"Bearer {issued['billing']}"}
    posted = requests.post(f"{url}/v1/communications", headers=billing, timeout=10, json={
        "account_number": "ACC-1001", "kind": "bill", "channel": "email", "subject": "November bill",
        "body": "Thank you <b>for</b> staying with us.", "amount": "88.00", "currency": "USD",
        "lines": [{"label": "Fibre 500", "amount": "79.00"}, {"label": "Roaming day", "amount": "9.00"}]})
    assert posted.status_code == 201
    directory = CenterDirectory(url)
    assert directory.authenticate("ann", "ann-pass") is not None
    saved = requests.post(f"{url}/v1/desk/contacts", headers={"Authorization": f"Bearer {directory._token}"},
                          timeout=10, json={"client_ref": "c1", "channel": "voice_in",
                                            "started_at": "2026-12-01T09:00:00Z", "ended_at": "2026-12-01T09:01:00Z",
                                            "disposition": "order_placed", "customer_id": customers["standard"],
                                            "orders": [{"product": "FIBRE-500"}]}).json()
    boss = {"Authorization": f"Bearer {issued['boss']}"}
    assert requests.post(f"{url}/v1/status", headers=boss, timeout=10, json={
        "subject": "order", "id": saved["order_ids"][0], "state": "installed"}).status_code == 200
    window = CustomerWindow(directory)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.customer_loaded, timeout=10_000):
        window.open_customer(customers["standard"])
    model = window.customer_view.communications
    last = model.columnCount() - 1
    assert model.headerData(last, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == "Summary"
    assert model.data(model.index(0, last), Qt.ItemDataRole.DisplayRole) == (
        "Fibre 500 79.00 USD; Roaming day 9.00 USD; Thank you <b>for</b> staying with us.")
    orders = window.customer_view.orders
    status = next(c for c in range(orders.columnCount())
                  if orders.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == "Status")
    # the workflow state, labelled
    assert orders.data(orders.index(0, status), Qt.ItemDataRole.DisplayRole) == "Installed"
    directory.close()
