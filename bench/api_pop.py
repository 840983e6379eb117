"""Screen pop through ``ccenter api`` on loopback: look-up by phone, then the 360 view, as the production
desktop does (``connectors.center.CenterDirectory``, the agent's own token).

Target: p95 under 50 ms for the whole pop on 1,000,000 customers. The database is the seeded SQLite
of :mod:`bench.lookup` (kept between runs). ``--quick``: 20,000 customers; the default run: 1,000,000
(``python -m bench.api_pop --customers N`` for another size).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import platformdirs

from connectors.center import ApiUnavailable, CenterDirectory
from crm import db, repository
from crm.repository import tokens

from .lookup import _percentiles, _prepared

Row = tuple[str, float, str]
SAMPLES = 1_000


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


def run(quick: bool = False, customers: int | None = None) -> list[Row]:
    customers = customers or (20_000 if quick else 1_000_000)
    cache = Path(platformdirs.user_cache_dir("ccenter-bench", appauthor=False))
    engine = _prepared(f"sqlite:///{cache / f'lookup-{customers}.db'}", customers)
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        # An agent who may see every customer (VIPs need the vip skill), so any number pops.
        agent = next(a for a in repository.list_agents(session) if a.role in ("supervisor", "admin")
                     or "vip" in a.skills)
        token = tokens.issue_agent_token(session, agent.id, hours=1)
    with factory() as session:
        from crm.demo_data import caller_numbers

        numbers = caller_numbers(session, limit=20_000)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # `ccenter api` in its own process, as in production.
    server = subprocess.Popen([sys.executable, "-m", "ccenter", "api", "--listen", f"127.0.0.1:{port}", "--db",
                               str(engine.url)], env={**os.environ, "CCENTER_CONFIG": ""},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, server)
        rows: list[Row] = [("customers", float(customers), "")]
        rows += measure(url, token, numbers)
    finally:
        server.terminate()
        server.wait(timeout=30)
        engine.dispose()
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


if __name__ == "__main__":
    size = None
    if "--customers" in sys.argv:
        size = int(sys.argv[sys.argv.index("--customers") + 1])
    for figure, value, unit in run(quick="--quick" in sys.argv, customers=size):
        print(f"{figure:<40} {value:>12,.3f} {unit}")
