"""Logging set-up of the command line."""

from __future__ import annotations

import logging

from ccenter.logs import setup_logging


def test_setup_replaces_its_own_handler_and_keeps_those_of_others() -> None:
    root = logging.getLogger()
    host = logging.NullHandler()  # a host application's handler (or pytest's)
    root.addHandler(host)
    try:
        setup_logging()
        setup_logging(verbosity=2, as_json=True)
        ours = [h for h in root.handlers if h.get_name() == "ccenter"]
        assert len(ours) == 1 and host in root.handlers
        assert root.level == logging.DEBUG
    finally:
        for handler in [host, *(h for h in root.handlers if h.get_name() == "ccenter")]:
            root.removeHandler(handler)
