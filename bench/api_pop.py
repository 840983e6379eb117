"""Screen pop through ``ccenter api`` on loopback: look-up by phone, then the 360 view, as the production
desktop does (``connectors.center.CenterDirectory``, the agent's own token).

Target: p95 under 50 ms for the whole pop on 1,000,000 customers and 5,000,000 contacts.
``--quick``: 20,000 customers; the default run: 1,000,000 (``--customers N`` for another size),
five contacts per customer (``--contacts-per-customer K``), on SQLite (a file in the user cache
folder) and, with ``--pg``, on PostgreSQL (``CCENTER_BENCH_PG``, default the local server; database
``ccenter_pop_<N>``). The databases are kept and reused between runs.

Seeding is bulk (:func:`seed_bulk`): the demo's reference data (agents, queues, a campaign), then
customers, their phone numbers, accounts, contacts, some orders, service requests and bills, in
chunks through the driver (COPY on PostgreSQL, executemany on SQLite), free text through
``crm.models.masked_values`` as every bulk write. The numbers the bench pops are picked at random
over the whole customer range.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs

from connectors.center import ApiUnavailable, CenterDirectory
from crm import db, models, repository
from crm.repository import tokens
from crm.seed import seed

from ._ports import free_port
from .lookup import _percentiles

Row = tuple[str, float, str]
SAMPLES = 1_000
CHUNK = 20_000  # customers per transaction while seeding

_CHANNELS = ("voice_in", "voice_in", "voice_in", "email", "chat", "voice_out", "store")
_DISPOSITIONS = ("resolved", "order_placed", "info_given", "escalated", "callback_scheduled")
_SUMMARIES = ("Bill question", "Roaming charges", "Slow broadband", "Upgrade offer", "Moving house",
              "Router replacement", "Payment arrangement", "SIM swap")
_PRODUCTS = (("Fibre 500", "39.00"), ("5G upgrade", "0.00"), ("Smartphone X", "799.00"), ("TV pack", "12.00"))
_FIRST = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivo", "Jun", "Kira", "Li", "Mia", "Noor")
_LAST = ("Smith", "Wang", "Garcia", "Müller", "Okafor", "Tanaka", "Rossi", "Silva", "Kowalski", "Novak")


def phone_of(customer_id: int) -> str:
    """The primary number the bulk seed gives customer ``customer_id`` (so the bench can pick any)."""
    return f"+1{2_000_000_000 + customer_id}"


def _stamp(value: datetime, postgres: bool) -> Any:
    # SQLite keeps what SQLAlchemy writes for a DateTime: UTC, without an offset.
    return value if postgres else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows(first_id: int, count: int, per_customer: int, ids: dict[str, int], agents: list[int],
          queues: list[str], now: datetime, postgres: bool, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """One chunk of customers with everything that hangs off them, as plain rows (free text masked)."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in
                                            ("customer", "phone_number", "account", "contact", "customer_order",
                                             "service_request", "communication")}
    for cid in range(first_id, first_id + count):
        since = now - timedelta(days=rng.randrange(30, 3650))
        roll = rng.random()
        tier = "vip" if roll < 0.05 else "gold" if roll < 0.25 else "standard"
        out["customer"].append(models.masked_values(models.Customer, {
            "id": cid, "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", "tier": tier,
            "segment": rng.choice(("consumer", "consumer", "smb")), "language": "en", "time_zone": "UTC",
            "email": f"customer{cid}@example.com", "created_at": _stamp(since, postgres)}))
        out["phone_number"].append({"id": cid, "customer_id": cid, "e164": phone_of(cid), "kind": "mobile",
                                    "is_primary": True})
        out["account"].append({"id": cid, "customer_id": cid, "account_number": f"{10_000_000 + cid}",
                               "status": "active", "plan": "Unlimited 5G", "balance": f"{rng.randrange(-50, 300)}.00",
                               "currency": "USD", "pin_failures": 0, "opened_at": _stamp(since, postgres)})
        contact_ids = []
        for _ in range(per_customer):
            ids["contact"] += 1
            contact_ids.append(ids["contact"])
            started = now - timedelta(minutes=rng.randrange(60, 3 * 365 * 24 * 60))
            out["contact"].append(models.masked_values(models.Contact, {
                "id": ids["contact"], "customer_id": cid, "channel": rng.choice(_CHANNELS),
                "started_at": _stamp(started, postgres),
                "ended_at": _stamp(started + timedelta(seconds=rng.randrange(60, 900)), postgres),
                "agent_id": rng.choice(agents), "queue": rng.choice(queues), "ivr_data": "{}",
                "disposition": rng.choice(_DISPOSITIONS), "summary": rng.choice(_SUMMARIES),
                "notes": "Customer asked about their bill; explained the charges." if rng.random() < 0.3 else None}))
        if rng.random() < 0.2:
            ids["customer_order"] += 1
            product, price = rng.choice(_PRODUCTS)
            state = rng.choice(("submitted", "provisioning", "completed", "completed"))
            # Open orders are recent, within their time limits: the escalator of the `ccenter api` under
            # test has no backlog to work through while the bench measures.
            created = _stamp(since + timedelta(days=1) if state == "completed"
                             else now - timedelta(minutes=rng.randrange(1, 60)), postgres)
            out["customer_order"].append(models.masked_values(models.Order, {
                "id": ids["customer_order"], "customer_id": cid, "contact_id": contact_ids[0], "product": product,
                "quantity": 1, "amount": price, "currency": "USD",
                "status": {"submitted": "submitted", "provisioning": "in_progress"}.get(state, "completed"),
                "created_at": created, "updated_at": created, "workflow": "broadband_order", "state": state,
                "state_since": created}))
        if rng.random() < 0.05:
            ids["service_request"] += 1
            created = _stamp(now - timedelta(minutes=rng.randrange(1, 60)), postgres)
            out["service_request"].append(models.masked_values(models.ServiceRequest, {
                "id": ids["service_request"], "customer_id": cid, "contact_id": contact_ids[-1],
                "category": "fault", "summary": "No dial tone", "details": "Since yesterday evening.",
                "priority": "normal", "status": "open", "created_at": created, "workflow": "fault_report",
                "state": "opened", "state_since": created}))
        if rng.random() < 0.5:
            ids["communication"] += 1
            out["communication"].append(models.masked_values(models.Communication, {
                "id": ids["communication"], "customer_id": cid, "kind": "bill", "channel": "email",
                "subject": "Your monthly bill", "amount": "42.50", "currency": "USD",
                "sent_at": _stamp(now - timedelta(days=rng.randrange(1, 60)), postgres),
                "body": "Monthly charges.", "lines": '[{"label": "Plan", "amount": "42.50"}]',
                "source": "billing"}))
    return out


def _write(raw: Any, postgres: bool, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    if postgres:
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    else:
        raw.cursor().executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                 f"({', '.join('?' for _ in columns)})", [[row[c] for c in columns] for row in rows])


def seed_bulk(engine: db.Engine, customers: int, per_customer: int, *, now: datetime | None = None) -> None:
    """Bring the bench database to ``customers`` customers with ``per_customer`` contacts each."""
    now = now or datetime.now(UTC)
    postgres = engine.dialect.name == "postgresql"
    with db.session_factory(engine)() as session:
        if not repository.list_agents(session):
            seed(engine, customers=0)  # agents, queues, the campaign
        agents = [a.id for a in repository.list_agents(session) if a.role == "agent"]
        queues = [q.name for q in repository.list_queues(session)] or ["general"]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        tables = ("customer", "contact", "customer_order", "service_request", "communication")
        ids: dict[str, int] = {}
        for table in tables:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            ids[table] = int(cursor.fetchone()[0])  # type: ignore[index]
        cursor.close()
        have = ids["customer"]
        rng = random.Random(have + 1)
        started = time.monotonic()
        for first in range(have + 1, customers + 1, CHUNK):
            count = min(CHUNK, customers + 1 - first)
            chunk = _rows(first, count, per_customer, ids, agents, queues, now, postgres, rng)
            for table in ("customer", "phone_number", "account", "contact", "customer_order", "service_request",
                          "communication"):
                _write(raw, postgres, table, chunk[table])
            raw.commit()
            done = first + count - 1
            rate = (done - have) / max(time.monotonic() - started, 1e-3)
            print(f"  seeded {done:,} customers ({rate:,.0f}/s)", file=sys.stderr, flush=True)
        if postgres:
            cursor = raw.cursor()
            for table in ("customer", "phone_number", "account", "contact", "customer_order", "service_request",
                          "communication"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"COALESCE((SELECT MAX(id) FROM {table}), 1))")
            raw.commit()
            raw.driver_connection.autocommit = True  # type: ignore[union-attr]
            cursor.execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = False  # type: ignore[union-attr]
        else:
            raw.cursor().execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()


def _database(kind: str, customers: int, per_customer: int) -> str:
    if kind == "sqlite":
        cache = Path(platformdirs.user_cache_dir("ccenter-bench", appauthor=False))
        cache.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{cache / f'pop-{customers}x{per_customer}.db'}"
    server = os.environ.get("CCENTER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"ccenter_pop_{customers}x{per_customer}"
    admin = db.connect(server)
    raw = admin.raw_connection()
    try:
        raw.rollback()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = raw.cursor()
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        raw.close()
        admin.dispose()
    return f"{server.rsplit('/', 1)[0]}/{name}"


def measure(url: str, token: str, numbers: list[str], samples: int = SAMPLES) -> list[Row]:
    directory = CenterDirectory(url)
    directory._token = token  # an agent's desk token, issued as at log-in
    rng = random.Random(1)
    picks = [rng.choice(numbers) for _ in range(samples)]
    for number in picks[:50]:  # warm the connection and the caches
        found = directory.find_by_phone(number)
        directory.load(found[0].id)
    lookup: list[float] = []
    view: list[float] = []
    pop: list[float] = []
    for number in picks:
        started = time.perf_counter()
        found = directory.find_by_phone(number)
        middle = time.perf_counter()
        directory.load(found[0].id)
        ended = time.perf_counter()
        lookup.append(middle - started)
        view.append(ended - middle)
        pop.append(ended - started)
    directory.close()
    rows: list[Row] = []
    for name, values in (("API look-up by phone", lookup), ("API 360 view", view), ("API screen pop", pop)):
        p50, p95, p99 = _percentiles(values)
        rows += [(f"{name} p50", p50, "ms"), (f"{name} p95", p95, "ms"), (f"{name} p99", p99, "ms")]
    return rows


def run_on(url: str, customers: int, per_customer: int) -> list[Row]:
    engine = db.connect(url)
    db.upgrade(engine)
    started = time.monotonic()
    seed_bulk(engine, customers, per_customer)
    seeded_s = time.monotonic() - started
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        # An agent who may see every customer (VIPs need the vip skill), so any number pops.
        agent = next(a for a in repository.list_agents(session) if a.role in ("supervisor", "admin")
                     or "vip" in a.skills)
        token = tokens.issue_agent_token(session, agent.id, hours=1)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT COUNT(*) FROM contact")
        contacts = int(cursor.fetchone()[0])  # type: ignore[index]
    finally:
        raw.close()
    rng = random.Random(2)
    numbers = [phone_of(rng.randrange(1, customers + 1)) for _ in range(20_000)]
    port = free_port()
    # `ccenter api` in its own process, as in production.
    server = subprocess.Popen([sys.executable, "-m", "ccenter", "api", "--listen", f"127.0.0.1:{port}", "--db",
                               url], env={**os.environ, "CCENTER_CONFIG": ""},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    label = engine.dialect.name
    try:
        _wait_for(base, server)
        rows: list[Row] = [(f"{label}: customers", float(customers), ""), (f"{label}: contacts", float(contacts), ""),
                           (f"{label}: seeding (this run)", seeded_s, "s")]
        rows += [(f"{label}: {name}", value, unit) for name, value, unit in measure(base, token, numbers)]
    finally:
        server.terminate()
        server.wait(timeout=30)
        engine.dispose()
    return rows


def run(quick: bool = False, customers: int | None = None, per_customer: int = 5,
        kinds: tuple[str, ...] = ("sqlite",)) -> list[Row]:
    customers = customers or (20_000 if quick else 1_000_000)
    rows: list[Row] = []
    for kind in kinds:
        rows += run_on(_database(kind, customers, per_customer), customers, per_customer)
    return rows


def _wait_for(url: str, server: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    probe = CenterDirectory(url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                probe.authenticate("nobody", "x")
                return
            except ApiUnavailable:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("`ccenter api` did not start") from None
                time.sleep(0.1)
    finally:
        probe.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_pop",
        description="Screen pop through `ccenter api` on loopback (look-up by phone, then the 360 view); "
        "prints p50/p95/p99. The seeded databases are kept and reused between runs.",
    )
    parser.add_argument("--quick", action="store_true", help="20,000 customers instead of 1,000,000")
    parser.add_argument("--customers", type=int, metavar="N", help="how many customers to seed and pop among")
    parser.add_argument("--contacts-per-customer", type=int, default=5, metavar="K", help="contacts per customer (5)")
    parser.add_argument("--pg", action="store_true",
                        help="also on PostgreSQL (CCENTER_BENCH_PG, default the local server)")
    parser.add_argument("--no-sqlite", action="store_true", help="not on SQLite")
    args = parser.parse_args(argv)
    kinds = tuple(kind for kind, wanted in (("sqlite", not args.no_sqlite), ("postgresql", args.pg)) if wanted)
    if not kinds:
        parser.error("--no-sqlite without --pg leaves nothing to measure")
    for figure, value, unit in run(quick=args.quick, customers=args.customers,
                                   per_customer=args.contacts_per_customer, kinds=kinds):
        print(f"{figure:<48} {value:>14,.3f} {unit}")


if __name__ == "__main__":
    main()
