"""The production IVR looks callers up in the configured database; demo customers only when asked."""

from __future__ import annotations

import pytest

from ccenter.cli import build_parser
from ccenter.commands.ivr import _close, make_lookup
from ivr.crm_lookup import CrmLookup
from ivr.lookup import InMemoryLookup


@pytest.mark.parametrize(
    "argv",
    [
        ["ivr", "--fastagi", "127.0.0.1:0"],
        ["ivr", "serve", "--fastagi", "127.0.0.1:0"],
        ["ivr", "try", "telecom"],
    ],
)
def test_a_database_from_the_environment_is_where_callers_are_found(
    argv: list[str], pg_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCENTER_DB", pg_db_url)
    args = build_parser().parse_args(argv)
    if not hasattr(args, "data"):
        args.data = "db"  # what ``ivr --fastagi`` hands to ``serve``
    lookup = make_lookup(args)
    try:
        assert isinstance(lookup, CrmLookup)
        # The published demo caller is nobody in a real database.
        assert lookup.by_phone("+14155550100") == []
    finally:
        _close(lookup)


def test_demo_customers_only_on_the_explicit_flag(pg_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCENTER_DB", pg_db_url)
    args = build_parser().parse_args(["ivr", "serve", "--fastagi", "127.0.0.1:0", "--data", "demo"])
    assert isinstance(make_lookup(args), InMemoryLookup)
