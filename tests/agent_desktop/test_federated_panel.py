"""The federated screen pop: our data at once, the live bill and the customer's products as billing and the
order system answer, or a clear word that a system is slow, away, or not connected, never a frozen window."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from sqlalchemy.engine import Engine

from agent_desktop import live_panel
from agent_desktop.customer_window import CustomerDirectory, CustomerWindow
from agent_desktop.live_panel import LivePanel
from api.app import create_app
from connectors.boss import OrderSystem
from connectors.center import CenterDirectory
from connectors.config import parse_connector
from crm import db
from tests.api.conftest import seed, serve
from tests.helpers.boss import TestBoss
from tests.helpers.desktop_db import dispose_after_desktop_jobs

BILL = {"balance": {"value": "42.50", "currency": "USD"}, "due": {"value": "39.90", "date": "2026-12-15"},
        "items": [{"label": "Fibre 500", "amount": "29.90"}, {"label": "Mobile <i>XL</i>", "amount": "10.00"}]}
ASSETS = [{"type": "line", "label": "Mobile XL", "msisdn": "+14155550101", "state": "active",
           "commitment": {"until": "2027-06-30"}},
          {"type": "device", "label": "Router FX", "msisdn": None, "state": "rented"}]


@pytest.fixture
def engine(_sqlite_template: str, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "desk.db"
    shutil.copy(_sqlite_template, path)
    engine = db.connect(f"sqlite:///{path}")
    yield engine
    dispose_after_desktop_jobs(engine)


@pytest.fixture
def boss() -> Iterator[TestBoss]:
    boss = TestBoss().start()
    yield boss
    boss.stop()


def _cells(model: Any, header: str) -> list[str]:
    column = next(c for c in range(model.columnCount())
                  if model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == header)
    return [model.data(model.index(r, column), Qt.ItemDataRole.DisplayRole) for r in range(model.rowCount())]


def _live(window: CustomerWindow) -> LivePanel:
    assert window.customer_view.live is not None
    return window.customer_view.live


def _desk(url: str) -> CenterDirectory:
    directory = CenterDirectory(url)
    assert directory.authenticate("ann", "ann-pass") is not None
    return directory


def test_the_bill_and_the_products_fill_in_as_billing_and_the_order_system_answer(qtbot, engine, boss) -> None:
    _issued, customers = seed(engine)
    boss.bills["ACC-1001"] = BILL
    boss.assets["ACC-1001"] = ASSETS
    orders = OrderSystem(parse_connector("boss", boss.connector_table()))
    for url in serve(create_app(db.session_factory(engine), orders=orders)):
        directory = _desk(url)
        window = CustomerWindow(directory)
        qtbot.addWidget(window)
        live = _live(window)
        with qtbot.waitSignals([window.customer_loaded, live.bill_answered, live.products_answered], timeout=10_000):
            window.open_customer(customers["standard"])
        assert live.bill.state == "answered" and live.products.state == "answered"
        assert live.bill_summary.text() == "Account ACC-1001 · balance 42.50 USD · due 39.90 USD by 2026-12-15"
        assert _cells(live.bill_lines, "Line") == ["Fibre 500", "Mobile <i>XL</i>"]  # as billing wrote it
        assert _cells(live.bill_lines, "Amount") == ["29.90 USD", "10.00 USD"]
        assert _cells(live.product_rows, "Kind") == ["Line", "Device"]
        assert _cells(live.product_rows, "Number") == ["+14155550101", ""]
        assert _cells(live.product_rows, "Contract end") == ["2027-06-30", ""]
        assert live.again_button.isHidden()
        assert live.not_connected_label.isHidden() and not live.bill.isHidden()
        directory.close()
    orders.close()


def test_billing_away_is_said_so_while_our_data_is_shown_and_asking_again_fills_it(qtbot, engine, boss) -> None:
    _issued, customers = seed(engine)
    boss.bills["ACC-1001"] = BILL
    boss.assets["ACC-1001"] = ASSETS
    orders = OrderSystem(parse_connector("boss", boss.connector_table(retries=0)))
    boss.stop()  # down: the port refuses
    for url in serve(create_app(db.session_factory(engine), orders=orders)):
        directory = _desk(url)
        window = CustomerWindow(directory)
        qtbot.addWidget(window)
        live = _live(window)
        with qtbot.waitSignals([window.customer_loaded, live.bill_failed, live.products_failed],
                               timeout=10_000):
            window.open_customer(customers["standard"])
        assert (live.bill.state, live.products.state) == ("away", "away")
        assert window.customer_view.name_label.text() == "Wei Zhang"  # our own data is there
        assert live.bill.status_label.text() == "Billing does not answer now."
        assert live.products.status_label.text() == "The order system does not answer now."
        assert "503" in live.bill.status_label.toolTip()  # what the server said, for whoever asks
        assert live.bill_lines.rowCount() == 0 and live.product_rows.rowCount() == 0  # nothing made up
        assert not live.again_button.isHidden()

        boss.start()  # back on the same port
        with qtbot.waitSignals([live.bill_answered, live.products_answered], timeout=10_000):
            qtbot.mouseClick(live.again_button, Qt.MouseButton.LeftButton)
        assert live.bill.state == "answered"
        assert _cells(live.bill_lines, "Line") == ["Fibre 500", "Mobile <i>XL</i>"]
        assert live.again_button.isHidden()
        directory.close()
    orders.close()


def test_a_slow_billing_system_is_said_slow_then_away_and_the_window_never_waits(qtbot, engine, monkeypatch,
                                                                                request) -> None:
    _issued, customers = seed(engine)
    monkeypatch.setattr(live_panel, "SLOW_AFTER_MS", 200)
    # A back end that takes the connection and never answers.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    request.addfinalizer(silent.close)
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    boss = TestBoss()
    orders = OrderSystem(parse_connector("boss", {**boss.connector_table(), "url": url, "timeout_s": 2,
                                                   "retries": 0}))
    request.addfinalizer(orders.close)
    window = CustomerWindow(CustomerDirectory(db.session_factory(engine), orders=orders))
    qtbot.addWidget(window)
    live = _live(window)
    ticks: list[int] = []
    clock = QTimer(interval=20)
    clock.timeout.connect(lambda: ticks.append(1))
    clock.start()
    with qtbot.waitSignal(window.customer_loaded, timeout=5_000):
        window.open_customer(customers["standard"])
    assert window.customer_view.name_label.text() == "Wei Zhang"
    assert live.bill.state == "asking" and live.bill.status_label.text() == "Asking billing…"
    qtbot.waitUntil(lambda: live.bill.state == "slow", timeout=5_000)
    assert live.bill.status_label.text() == "Billing is slow to answer; still waiting…"
    assert live.products.status_label.text() == "The order system is slow to answer; still waiting…"
    before = len(ticks)
    with qtbot.waitSignals([live.bill_failed, live.products_failed], timeout=10_000):
        pass
    clock.stop()
    assert len(ticks) - before >= 10  # the event loop kept turning while billing said nothing
    assert live.bill.state == "away" and live.bill.status_label.text() == "Billing does not answer now."
    assert "timed out" in live.bill.status_label.toolTip().lower()
    assert live.bill_lines.rowCount() == 0


def test_with_no_billing_or_order_system_connected_the_panel_says_so(qtbot, engine) -> None:
    _issued, customers = seed(engine)
    in_process = CustomerWindow(CustomerDirectory(db.session_factory(engine)))  # the embedded demo's path
    qtbot.addWidget(in_process)
    for url in serve(create_app(db.session_factory(engine))):  # ccenter api with no connector
        directory = _desk(url)
        through_api = CustomerWindow(directory)
        qtbot.addWidget(through_api)
        for window in (in_process, through_api):
            live = _live(window)
            with qtbot.waitSignals([window.customer_loaded, live.bill_failed, live.products_failed], timeout=10_000):
                window.open_customer(customers["standard"])
            assert (live.bill.state, live.products.state) == ("not_connected", "not_connected")
            assert live.bill.status_label.text() == "No billing system is connected to this desktop."
            assert live.products.status_label.text() == "No order system is connected to this desktop."
            assert live.bill_summary.isHidden() and live.bill_lines.rowCount() == 0
            assert live.product_rows.rowCount() == 0
            assert live.again_button.isHidden()  # asking again would not help
            # ... and, with neither connected, one line says so instead of two boxes
            assert live.bill.isHidden() and live.products.isHidden() and not live.not_connected_label.isHidden()
        directory.close()
