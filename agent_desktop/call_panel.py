"""The call panel, the workstation's left column: what the IVR learnt, the campaign offer the call
works, the orders and service requests created on this call, and the wrap-up."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QListWidget, QVBoxLayout, QWidget

from crm.repository import OrderLine, RequestLine

from .callwork import OfferChoice
from .controls import narrow_combo, push_button
from .customer_view import named
from .ivr_panel import IvrDataPanel
from .labels import Kind, label
from .wrapup import WrapUpPanel


class CallPanel(QWidget):
    order_requested = Signal()
    request_requested = Signal()
    save_requested = Signal()
    offer_picked = Signal(object)  # the work item id of the offer the call works on, or None

    def __init__(self, dispositions: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ivr_panel = IvrDataPanel()
        self.call_items = named(QListWidget(), "callItems")
        self.call_items.setWordWrap(True)
        self.call_items.setMinimumHeight(56)
        self.call_items.setMaximumHeight(160)  # the wrap-up below gets the room
        items_box = QGroupBox(self.tr("Created on this call"))
        items_layout = QVBoxLayout(items_box)
        self.offer_pick = narrow_combo("offerPick")
        self.offer_pick.setToolTip(self.tr("The campaign offer this call works: orders and service requests "
                                           "made on the call belong to it"))
        self.offer_pick.currentIndexChanged.connect(self._on_offer_pick_changed)
        self.show_offers((), None, locked=False)
        items_layout.addWidget(self.offer_pick)
        items_layout.addWidget(self.call_items)
        buttons = QHBoxLayout()
        self.order_button = push_button(self.tr("New order…"), "newOrder", shortcut="Ctrl+O")
        self.order_button.clicked.connect(self.order_requested)
        self.request_button = push_button(self.tr("New service request…"), "newRequest", shortcut="Ctrl+R")
        self.request_button.clicked.connect(self.request_requested)
        buttons.addWidget(self.order_button)
        buttons.addWidget(self.request_button)
        items_layout.addLayout(buttons)
        self.save_button = push_button(self.tr("Save contact"), "saveContact", shortcut="Ctrl+S", glyph="save",
                                       white=True)
        self.save_button.clicked.connect(self.save_requested)
        self.wrap_box = WrapUpPanel(dispositions, self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.ivr_panel)
        layout.addWidget(items_box)
        layout.addWidget(self.wrap_box, 1)

    def show_order(self, line: OrderLine) -> None:
        self.call_items.addItem(self.tr("Order: %1 × %2, %3 %4").replace("%1", line.product).replace(
            "%2", str(line.quantity)).replace("%3", f"{line.amount:.2f}").replace("%4", line.currency))

    def show_request(self, line: RequestLine) -> None:
        self.call_items.addItem(self.tr("Service request: %1 (%2)").replace("%1", line.summary).replace(
            "%2", label(Kind.CATEGORY, line.category)))

    def show_offers(self, choices: tuple[OfferChoice, ...], worked: int | None, *, locked: bool) -> None:
        """The offers shown on the call, ``worked`` selected; ``locked`` on a campaign call (it works its own)."""
        self.offer_pick.blockSignals(True)
        self.offer_pick.clear()
        self.offer_pick.addItem(self.tr("No campaign offer"), None)
        for choice in choices:
            self.offer_pick.addItem(self.tr("For offer: %1").replace("%1", choice.label), choice.work_item_id)
        index = self.offer_pick.findData(worked) if worked is not None else 0
        self.offer_pick.setCurrentIndex(max(index, 0))
        self.offer_pick.setEnabled(bool(choices) and not locked)
        self.offer_pick.blockSignals(False)

    def _on_offer_pick_changed(self, _index: int) -> None:
        self.offer_picked.emit(self.offer_pick.currentData())

    def start_call(self, data: dict[str, object], *, outbound: bool = False) -> None:
        """A new call: its IVR (or dial) data, no offer picked, and nothing created on it yet."""
        self.ivr_panel.show_data(data, outbound=outbound)
        self.call_items.clear()
        self.show_offers((), None, locked=False)

    def enable(self, *, customer_known: bool, wrapping_up: bool) -> None:
        """Orders and requests need a customer; the wrap-up is open only for a call being wrapped up."""
        self.order_button.setEnabled(customer_known)
        self.request_button.setEnabled(customer_known)
        self.wrap_box.setEnabled(wrapping_up)
