"""Campaign import rate: a BI plan with 200,000 and 1,000,000 target rows, do-not-call scrubbed.

``python -m bench --only import`` (``campaign_import``). Each size runs ``ccenter campaign import
PLAN.json`` as a process of its own on a new, migrated database (PostgreSQL: ``CCENTER_BENCH_PG``,
default the local server, database ``ccenter_bench_import``, made anew; SQLite: a new file), and
prints rows per second of the whole command (reading, checking every phone number with
``phonenumbers``, resolving owners, scrubbing against the do-not-call list, creating prospects and
work items, committing) and the process's peak memory (its maximum resident set). The targets are
phone numbers as BI lists them (half national, half E.164) with a name and an offer; 5 % of them are
on the do-not-call list (loaded with ``ccenter dnc import`` first), 0.5 % repeat an earlier number and
0.1 % are not phone numbers: those rows are rejected with their line numbers while the rest load.

Full run: PostgreSQL 200,000 and 1,000,000 rows, SQLite 200,000. ``--quick``: 20,000 rows on each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from crm import db

Row = tuple[str, float, str]
DNC_SHARE = 20  # one number in 20 is on the do-not-call list
DUPLICATE_EVERY = 200
BAD_EVERY = 1000


def _number(i: int) -> str:
    """The i-th distinct, valid US number: area codes from 415 on, exchanges 200-999 without N11."""
    exchanges = [e for e in range(200, 1000) if e % 100 != 11]
    per_area = len(exchanges) * 10_000
    area = (415, 510, 650, 408, 925, 707)[i // per_area]
    exchange = exchanges[(i % per_area) // 10_000]
    return f"+1{area}{exchange}{i % 10_000:04d}"


def write_plan(folder: Path, rows: int) -> tuple[Path, Path, int]:
    """The plan, its targets CSV and a do-not-call registry; how many rows must be rejected."""
    targets = folder / "targets.csv"
    registry = folder / "registry.txt"
    rejected = 0
    with targets.open("w", encoding="utf-8") as out, registry.open("w", encoding="utf-8") as dnc:
        out.write("phone,name,offer\n")
        for i in range(rows):
            if i % BAD_EVERY == BAD_EVERY - 1:
                out.write(f"12345,Bad Row {i},Fibre 1000\n")
                rejected += 1
                continue
            if i % DUPLICATE_EVERY == DUPLICATE_EVERY - 1:
                number = _number(i - 7)
                rejected += 1 if (i - 7) % DNC_SHARE else 0  # a listed number is rejected once, as listed
            else:
                number = _number(i)
            if i % DNC_SHARE == 0 and i % DUPLICATE_EVERY != DUPLICATE_EVERY - 1:
                dnc.write(f"{number}\n")
                rejected += 1
            written = f"({number[2:5]}) {number[5:8]}-{number[8:]}" if i % 2 else number
            out.write(f"{written},Customer {i},Fibre 1000\n")
    plan = folder / "plan.json"
    plan.write_text(json.dumps({
        "campaign_id": "BENCH-IMPORT", "name": "Import benchmark", "channels": ["outbound_call"],
        "products": ["Fibre 1000"], "schedule": {"start": "2025-01-01", "end": "2030-12-31"},
        "rules": {"max_attempts": 3}, "dial_mode": "progressive", "targets": targets.name,
    }))
    return plan, registry, rejected


def _ccenter(*argv: str, db_url: str) -> tuple[float, float, str]:
    """Run ``ccenter ARGV`` in a process of its own: seconds, its peak memory in MB, its output."""
    env = {**os.environ, "CCENTER_DB": db_url, "CCENTER_CONFIG": ""}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "ccenter", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    out = (process.stdout.read() if process.stdout else "") + (process.stderr.read() if process.stderr else "")
    if os.waitstatus_to_exitcode(status) not in (0,):
        raise RuntimeError(f"ccenter {' '.join(argv)} failed: {out[-2000:]}")
    peak_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return elapsed, peak_mb, out


def measure(db_url: str, label: str, rows: int, folder: Path) -> list[Row]:
    _ccenter("db", "upgrade", db_url=db_url)
    plan, registry, rejected = write_plan(folder, rows)
    _ccenter("dnc", "import", str(registry), "--source", "bench", db_url=db_url)
    elapsed, peak_mb, out = _ccenter("campaign", "import", str(plan), db_url=db_url)
    shown = next((line for line in out.splitlines() if line.startswith("rejected:")), "rejected: ?")
    if shown != f"rejected: {rejected}, written to {folder / 'targets.rejects.csv'}":
        raise RuntimeError(f"expected {rejected} rejected rows, the import says {shown!r}:\n{out[-2000:]}")
    return [
        (f"{label}, {rows:,} rows: import rate", rows / elapsed, "rows/s"),
        (f"{label}, {rows:,} rows: whole import", elapsed, "s"),
        (f"{label}, {rows:,} rows: peak memory", peak_mb, "MB"),
    ]


def _pg_database(name: str) -> str:
    server = os.environ.get("CCENTER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    admin = create_engine(db.normalize_url(server), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(db.normalize_url(server)).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    server = os.environ.get("CCENTER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    admin = create_engine(db.normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def run(quick: bool = False) -> list[Row]:
    sizes_pg = [20_000] if quick else [200_000, 1_000_000]
    sizes_sqlite = [20_000] if quick else [200_000]
    rows: list[Row] = []
    name = "ccenter_bench_import"
    for size in sizes_pg:
        try:
            url = _pg_database(name)
        except Exception as exc:  # any failure to reach the server only skips its figures
            rows.append((f"PostgreSQL skipped: {str(exc).splitlines()[0][:80]}", 0.0, ""))
            break
        try:
            with tempfile.TemporaryDirectory(prefix="ccenter-bench-import-") as tmp:
                rows += measure(url, "PostgreSQL", size, Path(tmp))
        finally:
            _drop_pg(name)
    for size in sizes_sqlite:
        with tempfile.TemporaryDirectory(prefix="ccenter-bench-import-") as tmp:
            rows += measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", size, Path(tmp))
    return rows
