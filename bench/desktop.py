"""The agent desktop: screen-pop latency, cold start, and resident memory over a simulated hour.

- **Screen pop**: a real :class:`~agent_desktop.workstation.AgentWindow` on the simulated PBX
  (:class:`~cti.sim.SimLink` on its :class:`~agent_desktop.telephony.LinkThread`) rings calls from
  random known customers' numbers; the time runs from the moment ``call.alerting`` reaches the GUI
  thread (``link.event_received``) to ``screen_popped`` (customer view filled). The Qt event loop
  runs while waiting. Full run: 1,000,000 customers and 5,000,000 contacts, SQLite, then PostgreSQL
  (``CCENTER_BENCH_PG``, default the local server; skipped with a note when unreachable).
- **Cold start**: a fresh Python process (``bench._desktop_child start``) imports the app, opens the
  database, builds and shows the window and runs one event-loop pass; the median of 5 runs of the
  wall time from spawning it to its "ready" line, and the median import time measured inside it.
- **Memory**: a fresh process (``bench._desktop_child memory``) takes calls on the simulated PBX for
  one simulated hour (ring, screen pop, answer, an order on every third call, far-end hang-up,
  wrap-up with a disposition, contact saved); resident memory (VmRSS) at start, after warm-up and at
  the end. The contacts it saves are deleted afterwards, so the cached database stays as seeded.

The seeded databases are kept and reused between runs: SQLite in the user cache folder (a copy of
``bench.lookup``'s database of the same size is the starting point when there is one), PostgreSQL
as database ``ccenter_bench_desktop_<N>`` (cloned from ``bench.lookup``'s when that one is idle).
Contacts are topped up to the target with a plain Core ``executemany`` filler.
``--quick``: 20,000 customers and 100,000 contacts, 30 rings, a shorter hour, PostgreSQL included
when reachable.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import platformdirs
from sqlalchemy import Engine, Table, create_engine, delete, func, insert, select
from sqlalchemy.engine import make_url

from crm import db
from crm.models import Agent, Channel, Contact, Customer, Order, Queue, Role, ServiceRequest
from crm.seed import seed

Row = tuple[str, float, str]
ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(platformdirs.user_cache_dir("ccenter-bench", appauthor=False))
FILL_BATCH = 20_000
WARM_UP_RINGS = 5
EXTENSION = "1001"


def _say(message: str) -> None:
    print(f"  desktop: {message}", file=sys.stderr, flush=True)


def _percentiles(samples_s: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples_s, n=100, method="inclusive")
    return q[49] * 1e3, q[94] * 1e3, q[98] * 1e3


# --- data ----------------------------------------------------------------------------------------


def _count(engine: Engine, model: type[Any]) -> int:
    with engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(model)) or 0)


def top_up_contacts(engine: Engine, total: int, random_seed: int = 11) -> int:
    """Add plain history rows (random customers, channels, dates) until there are ``total`` contacts."""
    have = _count(engine, Contact)
    missing = total - have
    if missing <= 0:
        return 0
    rng = random.Random(random_seed + have)
    now = datetime.now(UTC)
    table = cast(Table, Contact.__table__)
    channels = [Channel.VOICE_IN] * 3 + [Channel.EMAIL, Channel.CHAT, Channel.VOICE_OUT, Channel.STORE]
    with engine.begin() as c:
        top_customer = int(c.scalar(select(func.max(Customer.id))) or 0)
        agent_ids: list[int | None] = [*c.scalars(select(Agent.id).where(Agent.role == Role.AGENT))] or [None]
        queues: list[str | None] = [*c.scalars(select(Queue.name))] or [None]
        next_id = int(c.scalar(select(func.max(Contact.id))) or 0) + 1
        if top_customer == 0:
            raise RuntimeError("seed customers before topping up contacts")
        _say(f"adding {missing:,} contacts to {db.safe_url(str(engine.url))} ...")
        done = 0
        while done < missing:
            rows = []
            for _ in range(min(FILL_BATCH, missing - done)):
                started = now - timedelta(minutes=rng.randrange(60, 3 * 365 * 24 * 60))
                rows.append({
                    "id": next_id, "customer_id": rng.randint(1, top_customer), "channel": rng.choice(channels),
                    "started_at": started, "ended_at": started + timedelta(seconds=rng.randrange(30, 1200)),
                    "agent_id": rng.choice(agent_ids), "queue": rng.choice(queues), "cti_call_id": None,
                    "ivr_data": {}, "disposition": "resolved", "notes": None, "summary": "Customer enquiry",
                    "work_item_id": None, "client_ref": None,
                })
                next_id += 1
            c.execute(insert(table), rows)
            done += len(rows)
            if done % 500_000 < FILL_BATCH:
                _say(f"  {done:,} / {missing:,} contacts")
    return missing


def _prepare(url: str, customers: int, contacts: int) -> Engine:
    engine = db.connect(url)
    db.upgrade(engine)
    have = _count(engine, Customer)
    if have < customers:
        _say(f"seeding {customers - have:,} customers into {db.safe_url(url)} (takes a while) ...")
        seed(engine, customers=customers - have, random_seed=have + 1,
             progress=lambda n: _say(f"  {n:,} customers") if n % 100_000 == 0 else None)
    added = top_up_contacts(engine, contacts)
    if added and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
    return engine


def _lookup_copy(customers: int, target: Path) -> bool:
    """Start from ``bench.lookup``'s SQLite database of this size, if it is complete (never touching it)."""
    source = CACHE / f"lookup-{customers}.db"
    if not source.exists():
        return False
    partial = target.with_name(target.name + ".partial")
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if src.execute("SELECT count(*) FROM customer").fetchone()[0] != customers:
                return False
            _say(f"copying {source.name} ({source.stat().st_size / 1e6:,.0f} MB) ...")
            partial.unlink(missing_ok=True)
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        _say(f"not copying {source.name}: {exc}")
        partial.unlink(missing_ok=True)
        return False
    partial.replace(target)
    return True


def prepared_sqlite(customers: int, contacts: int) -> Engine:
    path = CACHE / f"desktop-{customers}-{contacts}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _lookup_copy(customers, path)
    return _prepare(f"sqlite:///{path}", customers, contacts)


def prepared_postgresql(customers: int, contacts: int) -> Engine:
    """The PostgreSQL database for this size; raises when the server cannot be reached."""
    server = db.normalize_url(os.environ.get("CCENTER_BENCH_PG",
                                             "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    name, lookup = f"ccenter_bench_desktop_{customers}", f"ccenter_bench_{customers}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as c:
            exists = "SELECT 1 FROM pg_database WHERE datname = %s"
            if not c.exec_driver_sql(exists, (name,)).scalar():
                cloned = False
                if c.exec_driver_sql(exists, (lookup,)).scalar():
                    source = make_url(server).set(database=lookup).render_as_string(hide_password=False)
                    probe = create_engine(source, connect_args={"connect_timeout": 5})
                    try:
                        complete = _count(probe, Customer) == customers
                    except Exception:
                        complete = False
                    probe.dispose()
                    if complete:
                        try:
                            _say(f"cloning PostgreSQL database {lookup} into {name} ...")
                            c.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{lookup}"')
                            cloned = True
                        except Exception as exc:
                            _say(f"could not clone {lookup} ({str(exc).splitlines()[0]}); seeding instead")
                if not cloned:
                    c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return _prepare(make_url(server).set(database=name).render_as_string(hide_password=False), customers, contacts)


def delete_bench_contacts(engine: Engine) -> int:
    """Remove what the memory run saved (contacts with a client reference, with their orders and requests)."""
    with engine.begin() as c:
        ours = select(Contact.id).where(Contact.client_ref.is_not(None)).scalar_subquery()
        c.execute(delete(Order).where(Order.contact_id.in_(ours)))
        c.execute(delete(ServiceRequest).where(ServiceRequest.contact_id.in_(ours)))
        return int(c.execute(delete(Contact).where(Contact.client_ref.is_not(None))).rowcount or 0)



# --- screen pop ----------------------------------------------------------------------------------


def measure_screen_pop(engine: Engine, label: str, rings: int) -> list[Row]:
    """Ring ``rings`` calls (after a few unmeasured ones) at a real AgentWindow; pop latency percentiles."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from agent_desktop.customer_window import CustomerDirectory
    from bench._desktop_child import build_desk, caller_numbers

    numbers = caller_numbers(engine, rings + WARM_UP_RINGS)
    gui: list[float] = []
    from_pbx: list[float] = []
    phases: dict[str, list[float]] = {"alerting to phone look-up done": [], "then customer 360 loaded": [],
                                      "then view filled (signal to GUI, render)": []}
    chooser = 0
    with tempfile.TemporaryDirectory() as workdir:
        desk = build_desk(engine, Path(workdir))
        try:
            for n, number in enumerate(numbers):
                call_id = desk.ring(number)
                if n >= WARM_UP_RINGS:
                    gui.append(desk.popped[call_id] - desk.alerted[call_id])
                    from_pbx.append(desk.popped[call_id] - desk.rung[-1])
                    chooser += desk.window.pop_stack.currentIndex() != 0
                    marks = dict(desk.marks)
                    if "found" in marks and "loaded" in marks:
                        at = [desk.alerted[call_id], marks["found"], marks["loaded"], desk.popped[call_id]]
                        for series, start, end in zip(phases.values(), at, at[1:], strict=False):
                            series.append(end - start)
                desk.far_hangup(call_id)
        finally:
            desk.close()
    # The same look-ups without the GUI (phone, then customer 360, one after the other on this thread).
    directory = CustomerDirectory(db.session_factory(engine))
    lookups: list[float] = []
    for number in numbers[WARM_UP_RINGS:]:
        started = time.perf_counter()
        found = directory.find_by_phone(number)
        if found:
            directory.load(found[0].id)
        lookups.append(time.perf_counter() - started)
    rows: list[Row] = []
    for name, samples in (("screen pop", gui), ("screen pop from PBX event", from_pbx),
                          ("look-ups alone (phone + 360)", lookups)):
        p50, p95, p99 = _percentiles(samples)
        rows += [(f"{label} {name} p50", p50, "ms"), (f"{label} {name} p95", p95, "ms"),
                 (f"{label} {name} p99", p99, "ms")]
    for name, samples in phases.items():
        if len(samples) >= 2:
            p50, p95, _p99 = _percentiles(samples)
            rows += [(f"{label}   {name} p50", p50, "ms"), (f"{label}   {name} p95", p95, "ms")]
    rows += [(f"{label} rings measured", float(len(gui)), ""),
             (f"{label} rings that popped the several-customers chooser", float(chooser), "")]
    return rows


# --- child processes -----------------------------------------------------------------------------


def _child(*args: str, timeout_s: float = 600.0) -> tuple[float, dict[str, float]]:
    """Run ``bench._desktop_child`` with ``args``; (wall seconds to its JSON line, that JSON)."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-m", "bench._desktop_child", *args], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        wall = time.perf_counter() - started
        rest = process.stdout.read()
        if process.wait(timeout_s) != 0 or not line.strip():
            raise RuntimeError(f"bench._desktop_child {args[0]} failed (exit {process.returncode}): {line}{rest}")
    return wall, json.loads(line)


def measure_cold_start(url: str, runs: int = 5) -> list[Row]:
    walls, imports, in_child = [], [], []
    for _ in range(runs):
        wall, body = _child("start", url)
        walls.append(wall)
        imports.append(body["import_s"])
        in_child.append(body["ready_s"])
    return [
        ("cold start to interactive window, median", statistics.median(walls) * 1e3, "ms"),
        ("cold start, slowest run", max(walls) * 1e3, "ms"),
        ("  of which imports (PySide6, app, crm), median", statistics.median(imports) * 1e3, "ms"),
        ("  of which database, window, show, one pass, median",
         statistics.median(r - i for r, i in zip(in_child, imports, strict=True)) * 1e3, "ms"),
    ]


def measure_memory(engine: Engine, url: str, calls: int, warm_up: int) -> list[Row]:
    try:
        _wall, body = _child("memory", url, str(calls), str(warm_up), timeout_s=3600.0)
    finally:
        removed = delete_bench_contacts(engine)
        _say(f"removed the {removed:,} contacts the memory run saved")
    per_100 = (body["rss_end_mb"] - body["rss_warm_mb"]) / (calls - warm_up) * 100
    children = (body["children_end"] - body["children_warm"]) / (calls - warm_up) * 100
    return [
        ("memory run: calls in one simulated hour", float(calls), f"({body['seconds']:.0f} s real)"),
        ("RSS at start", body["rss_start_mb"], "MB"),
        (f"RSS after warm-up ({warm_up} calls)", body["rss_warm_mb"], "MB"),
        ("RSS at the end of the hour", body["rss_end_mb"], "MB"),
        ("RSS growth after warm-up, per 100 calls", per_100, "MB"),
        ("window child QObjects growth, per 100 calls", children, ""),
    ]


# --- entry point ---------------------------------------------------------------------------------


def run(quick: bool = False) -> list[Row]:
    customers, contacts = (20_000, 100_000) if quick else (1_000_000, 5_000_000)
    rings = 30 if quick else 200
    calls, warm_up = (120, 30) if quick else (1000, 200)
    rows: list[Row] = [("customers", float(customers), ""), ("contacts", float(contacts), "")]
    sqlite = prepared_sqlite(customers, contacts)
    url = sqlite.url.render_as_string(hide_password=False)
    _say(f"screen pop on SQLite, {rings} rings ...")
    rows += measure_screen_pop(sqlite, "SQLite", rings)
    _say("cold start, 5 runs ...")
    rows += measure_cold_start(url)
    _say(f"memory over a simulated hour, {calls} calls ...")
    rows += measure_memory(sqlite, url, calls, warm_up)
    sqlite.dispose()
    try:
        pg = prepared_postgresql(customers, contacts)
    except Exception as exc:
        rows.append((f"PostgreSQL skipped: {str(exc).splitlines()[0][:80]}", 0.0, ""))
        return rows
    _say(f"screen pop on PostgreSQL, {rings} rings ...")
    rows += measure_screen_pop(pg, "PostgreSQL", rings)
    pg.dispose()
    return rows


if __name__ == "__main__":
    for figure, value, unit in run(quick="--quick" in sys.argv):
        print(f"{figure:<52} {value:>12,.3f} {unit}")
