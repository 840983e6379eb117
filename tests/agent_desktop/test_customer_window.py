"""The customer window over a real (SQLite) database, driven as an agent would."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine

from agent_desktop.customer_window import CustomerDirectory, CustomerWindow
from crm import db, repository
from crm.models import Channel, Customer, PhoneNumber, Tier
from tests.helpers.desktop_db import dispose_after_desktop_jobs


@pytest.fixture
def sqlite_engine(tmp_path) -> Engine:
    engine = db.connect(f"sqlite:///{tmp_path / 'desk.db'}")
    db.upgrade(engine)
    yield engine
    dispose_after_desktop_jobs(engine)


def _customer(engine: Engine, name: str, number: str, tier: Tier = Tier.STANDARD) -> int:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name=name, tier=tier, language="en", time_zone="UTC")
        customer.phones = [PhoneNumber(e164=number, is_primary=True)]
        s.add(customer)
        s.flush()
        contact = repository.record_contact(s, channel=Channel.VOICE_IN, customer_id=customer.id,
                                            summary="<i>asked</i> about roaming")
        repository.create_order(s, customer_id=customer.id, product="Fibre 1000", amount=Decimal("59.00"),
                                contact_id=contact)
        return customer.id


@pytest.fixture
def window(qtbot, sqlite_engine: Engine) -> CustomerWindow:
    w = CustomerWindow(CustomerDirectory(db.session_factory(sqlite_engine)))
    qtbot.addWidget(w)
    w.show()
    return w


def test_search_by_phone_fills_results_and_opens_the_360(qtbot, window: CustomerWindow, sqlite_engine) -> None:
    cid = _customer(sqlite_engine, "Ada Lovelace", "+14155550100", Tier.VIP)
    _customer(sqlite_engine, "Alan Turing", "+14155550101")
    window.search_box.setText("(415) 555-0100")
    with qtbot.waitSignal(window.customer_loaded, timeout=10_000) as loaded:
        window.search_now()
    assert loaded.args == [cid]
    assert window.results.rowCount() == 1
    assert window.results.data(window.results.index(0, 0)) == "Ada Lovelace"
    view = window.customer_view
    assert view.name_label.text() == "Ada Lovelace"
    assert view.tier_badge.isVisibleTo(window) and view.tier_badge.text() == "VIP"
    assert view.orders.rowCount() == 1
    assert view.orders.data(view.orders.index(0, 2)) == "59.00 USD"
    assert view.tabs.tabText(1) == "Open orders (1)"
    assert window.status_label.text() == "1 customer found"


def test_a_newer_search_wins_over_an_older_one(qtbot, window: CustomerWindow, sqlite_engine) -> None:
    _customer(sqlite_engine, "Ada Lovelace", "+14155550100")
    _customer(sqlite_engine, "Bob Builder", "+14155550102")
    window.search_box.setText("Ada")
    window.search_now()
    window.search_box.setText("Bob")
    with qtbot.waitSignal(window.search_finished, timeout=10_000):
        window.search_now()
    qtbot.waitUntil(lambda: window.customer_view.name_label.text() == "Bob Builder", timeout=10_000)
    assert [window.results.row(i).name for i in range(window.results.rowCount())] == ["Bob Builder"]


def test_caller_supplied_text_is_shown_as_plain_text(qtbot, window: CustomerWindow, sqlite_engine) -> None:
    _customer(sqlite_engine, "<b>x</b>", "+14155550100")
    window.search_box.setText("+1 415 555 0100")
    with qtbot.waitSignal(window.customer_loaded, timeout=10_000):
        window.search_now()
    label = window.customer_view.name_label
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == "<b>x</b>"
    history = window.customer_view.contacts
    assert history.data(history.index(0, 5)) == "<i>asked</i> about roaming"


def test_a_failed_look_up_is_reported_not_raised(qtbot, sqlite_engine) -> None:
    class Broken(CustomerDirectory):
        def search(self, text: str):
            raise repository.NotFound("the customer service is down")

    w = CustomerWindow(Broken(db.session_factory(sqlite_engine)))
    qtbot.addWidget(w)
    w.search_box.setText("Ada")
    with qtbot.waitSignal(w.lookup_failed, timeout=10_000) as failed:
        w.search_now()
    assert failed.args == ["the customer service is down"]
    assert w.status_label.text() == "the customer service is down"


def test_empty_search_clears_results(qtbot, window: CustomerWindow, sqlite_engine) -> None:
    _customer(sqlite_engine, "Ada", "+14155550100")
    window.search_box.setText("Ada")
    with qtbot.waitSignal(window.search_finished, timeout=10_000):
        window.search_now()
    window.search_box.setText("  ")
    window.search_now()
    assert window.results.rowCount() == 0
