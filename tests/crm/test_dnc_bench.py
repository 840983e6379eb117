"""The do-not-call benchmark keeps working (tiny sizes; the figures come from ``python -m bench``)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bench.dnc import _fill, _import, _lookups, _number
from crm.phones import to_e164


def test_the_benchmarks_numbers_are_distinct_valid_numbers() -> None:
    picks = [0, 1, 999_999, 1_000_000, 2_345_678, 4_999_999]
    assert len({_number(i) for i in range(0, 5_000_000, 4999)}) == len(range(0, 5_000_000, 4999))
    assert all(to_e164(_number(i), "US", valid_only=True) == _number(i) for i in picks)


def test_the_benchmark_imports_fills_and_looks_up(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert _import(engine, tmp_path, 300) > 0
    assert _fill(engine, 300, 600) > 0
    rows = _lookups(engine, "db", 600)
    assert [figure for figure, _, _ in rows][:2] == ["db 600 entries is_blocked (1 number) p50",
                                                     "db 600 entries is_blocked (1 number) p99"]
