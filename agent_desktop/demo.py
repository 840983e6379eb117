"""The desktop part of ``ccenter demo``: the customer window over the demo database.

With ``screenshots`` it plays a short script (search for a customer, open the 360 view, look at
the offers and the history), saves a PNG of the window at each step, and returns.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QWidget

from .app import application, install_excepthook, route_qt_messages_to_logging, wait_for
from .customer_window import CustomerDirectory, CustomerWindow

logger = logging.getLogger(__name__)


def _save(widget: QWidget, path: Path) -> Path:
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    logger.info("saved %s", path)
    return path


def run_demo(directory: CustomerDirectory, *, sample_search: str, screenshots: Path | None = None) -> int:
    route_qt_messages_to_logging()
    app = application()
    install_excepthook()
    window = CustomerWindow(directory)
    window.show()
    window.search_box.setText(sample_search)
    window.search_now()
    if screenshots is None:
        return app.exec()

    screenshots.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    if not wait_for(window.customer_loaded, 15_000):
        raise RuntimeError("the demo customer did not load within 15 s")
    window.customer_view.tabs.setCurrentIndex(0)
    saved.append(_save(window, screenshots / "01-customer-360-history.png"))
    window.customer_view.tabs.setCurrentIndex(3)
    saved.append(_save(window, screenshots / "02-customer-360-offers.png"))
    window.search_box.setText("王")
    window.search_now()
    wait_for(window.search_finished, 15_000)
    wait_for(window.customer_loaded, 15_000)
    saved.append(_save(window, screenshots / "03-customer-search.png"))
    window.close()
    for path in saved:
        print(path)
    return 0
