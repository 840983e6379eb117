"""Customer look-up by phone number and ``customer_360`` latency on a large database.

Full run: 1,000,000 seeded customers (about 2.7 M contacts), on SQLite and on PostgreSQL
(``CCENTER_BENCH_PG``, default the local server's ``postgres`` database; skipped with a note when
unreachable). The seeded databases are kept and reused between runs (SQLite in the user cache
folder, PostgreSQL as database ``ccenter_bench_<N>``). ``--quick``: 20,000 customers.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from crm import db, repository
from crm.errors import DatabaseUnavailable
from crm.models import PhoneNumber
from crm.seed import seed

Row = tuple[str, float, str]
SAMPLES = 2_000


def _percentiles(samples_s: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples_s, n=100, method="inclusive")
    return q[49] * 1e3, q[94] * 1e3, q[98] * 1e3


def _prepared(url: str, customers: int) -> Engine:
    engine = db.connect(url)
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        have = repository.count_customers(session)
    if have < customers:
        print(f"  seeding {customers - have:,} customers into {db.safe_url(url)} ...", file=sys.stderr, flush=True)
        seed(engine, customers=customers - have, random_seed=have + 1)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("ANALYZE")
    return engine


def measure(engine: Engine, label: str, samples: int = SAMPLES) -> list[Row]:
    factory = db.session_factory(engine)
    rng = random.Random(1)
    with factory() as session:
        numbers = list(session.scalars(select(PhoneNumber.e164).order_by(PhoneNumber.id).limit(200_000)))
    picks = [rng.choice(numbers) for _ in range(samples)]
    by_phone: list[float] = []
    full: list[float] = []
    with factory() as session:
        for number in picks[:50]:  # warm the caches
            repository.find_customers_by_phone(session, number)
        for number in picks:
            started = time.perf_counter()
            found = repository.find_customers_by_phone(session, number)
            by_phone.append(time.perf_counter() - started)
            started = time.perf_counter()
            repository.customer_360(session, found[0].id)
            full.append(time.perf_counter() - started)
            session.expunge_all()
    rows: list[Row] = []
    for name, values in (("look-up by phone", by_phone), ("customer_360", full)):
        p50, p95, p99 = _percentiles(values)
        rows += [(f"{label} {name} p50", p50, "ms"), (f"{label} {name} p95", p95, "ms"),
                 (f"{label} {name} p99", p99, "ms")]
    return rows


def run(quick: bool = False, customers: int | None = None) -> list[Row]:
    customers = customers or (20_000 if quick else 1_000_000)
    rows: list[Row] = [("customers", float(customers), "")]
    cache = Path(platformdirs.user_cache_dir("ccenter-bench", appauthor=False))
    sqlite = _prepared(f"sqlite:///{cache / f'lookup-{customers}.db'}", customers)
    rows += measure(sqlite, "SQLite")
    sqlite.dispose()
    server = os.environ.get("CCENTER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"ccenter_bench_{customers}"
    try:
        admin = create_engine(db.normalize_url(server), isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 5})
        with admin.connect() as c:
            if not c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).scalar():
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        pg_url = make_url(db.normalize_url(server)).set(database=name).render_as_string(hide_password=False)
        pg = _prepared(pg_url, customers)
    except (DatabaseUnavailable, Exception) as exc:
        rows.append((f"PostgreSQL skipped: {str(exc).splitlines()[0][:80]}", 0.0, ""))
        return rows
    rows += measure(pg, "PostgreSQL")
    pg.dispose()
    return rows


if __name__ == "__main__":
    for figure, value, unit in run(quick="--quick" in sys.argv):
        print(f"{figure:<40} {value:>12,.3f} {unit}")
