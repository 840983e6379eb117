"""The outbox journal (``crm.outbox``): how fast records are kept while the database is away, read
back at start, and drained once it answers.

100,000 records of an attempt's size (``--quick``: 10,000) are saved with the database away, the
outbox opened again (a restart during the outage), then drained with a database that takes every
record at once: the figures are the journal's own cost. They are measured in a RAM folder
(``/dev/shm``, where an fsync costs next to nothing) when there is one; the cost of the fsync of each
record kept on this machine's disk is measured apart, on 1,000 records in the temporary folder
(``--quick``: 200). Before the journal, every change rewrote the whole file: keeping n records cost
time in n² (100,000 records: about 5 billion lines written).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from crm.errors import DatabaseUnavailable
from crm.outbox import Outbox

Row = tuple[str, float, str]


def _record(n: int) -> dict[str, Any]:
    return {"client_ref": f"dial-{n:08d}-7f3a9c", "work_item_id": 100_000 + n, "campaign_id": 7,
            "number": f"+1415555{n % 10_000:04d}", "result": "answered", "started_at": "2026-11-30T09:15:00+00:00",
            "ended_at": "2026-11-30T09:16:12+00:00", "cti_call_id": f"sim-{n}", "agent": "alice", "site": "main"}


class _Database:
    def __init__(self) -> None:
        self.away = True
        self.written = 0

    def write(self, record: dict[str, Any]) -> None:
        if self.away:
            raise DatabaseUnavailable("away")
        self.written += 1


def _outbox(path: Path, database: _Database) -> Outbox[dict[str, Any]]:
    quiet = logging.getLogger("bench.outbox")
    quiet.setLevel(logging.ERROR)  # one warning per record kept is the outbox's, not the benchmark's
    return Outbox(path, database.write, encode=dict, decode=dict, key=lambda r: str(r["client_ref"]),
                  what="attempt", log=quiet)


def _keep(folder: Path, count: int) -> tuple[float, Path]:
    database = _Database()
    path = folder / "dialer-bench.jsonl"
    outbox = _outbox(path, database)
    started = time.perf_counter()
    for n in range(count):
        outbox.save(_record(n))
    return time.perf_counter() - started, path


def run(quick: bool = False) -> list[Row]:
    count = 10_000 if quick else 100_000
    on_disk = 200 if quick else 1_000
    shm = Path("/dev/shm")
    rows: list[Row] = []
    folder = Path(tempfile.mkdtemp(prefix="ccenter-outbox-", dir=shm if shm.is_dir() else None))
    where = "RAM folder" if shm.is_dir() else "temporary folder"
    try:
        kept_s, path = _keep(folder, count)
        size = path.stat().st_size
        database = _Database()
        started = time.perf_counter()
        outbox = _outbox(path, database)  # a restart during the outage
        load_s = time.perf_counter() - started
        assert outbox.pending == count
        database.away = False
        started = time.perf_counter()
        assert outbox.flush() == count
        drain_s = time.perf_counter() - started
        assert database.written == count and outbox.pending == 0 and path.stat().st_size == 0
        rows += [
            (f"records kept, database away ({where})", float(count), "records"),
            ("keep rate", count / kept_s, "records/s"),
            ("journal at its longest", size / 1e6, "MB"),
            ("read back at start", load_s * 1e3, "ms"),
            ("drain rate (a database that takes each at once)", count / drain_s, "records/s"),
            ("compactions while draining", outbox.compactions, "times"),
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="ccenter-outbox-"))
    try:
        kept_s, _ = _keep(folder, on_disk)
        rows.append((f"keep rate on disk, fsync each ({on_disk} records)", on_disk / kept_s, "records/s"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows
