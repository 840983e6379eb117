"""The do-not-call list at national size: import rate, and look-up latency at 1 and 5 million entries.

Full run, on SQLite (a new file in a temporary folder) and on PostgreSQL (``CCENTER_BENCH_PG``,
default the local server; database ``ccenter_bench_dnc``, made anew; skipped with a note when
unreachable): a registry file of 1,000,000 national numbers is imported with ``crm.dnc.import_numbers``
(parsed and checked by ``phonenumbers``, as ``ccenter dnc import`` does: the import rate), then the
list is filled to 5,000,000 entries by plain inserts. At 1 M and at 5 M it times ``is_blocked`` (one
number: the preview's question) and ``blocked`` for 50 numbers (the dialer's batch), half of them
listed. ``--quick``: 50,000 and 200,000 entries.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert
from sqlalchemy.engine import make_url

from crm import db, dnc
from crm.models import DoNotCall

Row = tuple[str, float, str]
SAMPLES = 2_000
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _number(i: int) -> str:
    """The i-th number of a made-up national list (distinct and valid for i < 5,000,000): area codes
    201 to 205, a million numbers each."""
    area = 201 + i // 1_000_000
    exchange = 200 + (i // 10_000) % 100
    return f"+1{area}{exchange}{i % 10_000:04d}"


def _percentiles(samples_s: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples_s, n=100, method="inclusive")
    return q[49] * 1e3, q[94] * 1e3, q[98] * 1e3


def _import(engine: Engine, folder: Path, count: int) -> float:
    """Import ``count`` numbers written nationally (``(201) 200-0000``), as a registry ships them."""
    path = folder / "registry.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("phone\n")
        for i in range(count):
            e164 = _number(i)
            out.write(f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}\n")
    started = time.perf_counter()
    with db.transaction(db.session_factory(engine)) as session:
        report = dnc.import_numbers(session, path, region="US", source="national", now=NOW)
    elapsed = time.perf_counter() - started
    assert report.added == count and report.rejected == 0, report
    path.unlink()
    return count / elapsed


def _fill(engine: Engine, start: int, end: int) -> float:
    """Plain inserts of E.164 numbers (no parsing): how fast the table itself takes them."""
    started = time.perf_counter()
    step = 50_000
    with engine.begin() as connection:
        for low in range(start, end, step):
            connection.execute(insert(DoNotCall), [{"e164": _number(i), "source": "bulk", "added_at": NOW}
                                                    for i in range(low, min(end, low + step))])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE do_not_call")
    return (end - start) / (time.perf_counter() - started)


def _lookups(engine: Engine, label: str, listed: int) -> list[Row]:
    rng = random.Random(listed)
    factory = db.session_factory(engine)
    single: list[float] = []
    batch: list[float] = []
    unlisted = [f"+1{989 - k % 50}999{k % 10_000:04d}" for k in range(10_000)]
    with factory() as session:
        for _ in range(50):  # warm the caches
            dnc.is_blocked(session, _number(rng.randrange(listed)), now=NOW)
        for k in range(SAMPLES):
            number = _number(rng.randrange(listed)) if k % 2 else unlisted[k % len(unlisted)]
            started = time.perf_counter()
            found = dnc.is_blocked(session, number, now=NOW)
            single.append(time.perf_counter() - started)
            assert found == bool(k % 2)
        for _ in range(SAMPLES // 10):
            numbers = [_number(rng.randrange(listed)) for _ in range(25)] + rng.sample(unlisted, 25)
            started = time.perf_counter()
            found_set = dnc.blocked(session, numbers, now=NOW)
            batch.append(time.perf_counter() - started)
            assert len(found_set) == len(set(numbers[:25]))
    rows: list[Row] = []
    for name, values in (("is_blocked (1 number)", single), ("blocked (50 numbers)", batch)):
        p50, p95, p99 = _percentiles(values)
        rows += [(f"{label} {listed:,} entries {name} p50", p50, "ms"),
                 (f"{label} {listed:,} entries {name} p99", p99, "ms")]
        del p95
    return rows


def measure(engine: Engine, label: str, small: int, large: int) -> list[Row]:
    db.upgrade(engine)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        rate = _import(engine, Path(folder), small)
    rows.append((f"{label} import rate ({small:,} national numbers, parsed)", rate, "numbers/s"))
    rows += _lookups(engine, label, small)
    rows.append((f"{label} insert rate (E.164, to {large:,})", _fill(engine, small, large), "numbers/s"))
    rows += _lookups(engine, label, large)
    return rows


def run(quick: bool = False) -> list[Row]:
    small, large = (50_000, 200_000) if quick else (1_000_000, 5_000_000)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite = db.connect(f"sqlite:///{Path(folder) / 'dnc.db'}")
        rows += measure(sqlite, "SQLite", small, large)
        sqlite.dispose()
    server = os.environ.get("CCENTER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = "ccenter_bench_dnc"
    try:
        admin = create_engine(db.normalize_url(server), isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 5})
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        pg_url = make_url(db.normalize_url(server)).set(database=name).render_as_string(hide_password=False)
        pg = db.connect(pg_url)
    except Exception as exc:  # any failure to reach the server only skips its figures
        rows.append((f"PostgreSQL skipped: {str(exc).splitlines()[0][:80]}", 0.0, ""))
        return rows
    try:
        rows += measure(pg, "PostgreSQL", small, large)
    finally:
        pg.dispose()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return rows


if __name__ == "__main__":
    for figure, value, unit in run(quick="--quick" in sys.argv):
        print(f"{figure:<60} {value:>12,.3f} {unit}")
