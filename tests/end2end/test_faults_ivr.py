"""The IVR's session records outlive a database outage: ``ccenter ivr serve`` (a real process, Asterisk's
side played over FastAGI) keeps them in its outbox while the private PostgreSQL is stopped, and writes
each one once when the database answers again: by its own periodic flush while it runs, and from the
file it reads at start when it was stopped during the outage.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bench._ports import free_port
from crm import db
from crm.models import IvrSession
from crm.outbox import read_journal
from tests.end2end.private import Postgres, private_mosquitto, private_postgres
from tests.end2end.test_faults_database import _dispose_engines, migrated, request_dispose
from tests.end2end.test_faults_processes import Process
from tests.helpers import until
from tests.ivr.test_fastagi import asterisk, env, script

pytestmark = pytest.mark.faults
__all__ = ["_dispose_engines"]  # the fixture that disposes of the engines, used here too
TIMEOUT = 60.0
WELCOME = 'STREAM FILE ccenter/telecom/welcome ""'


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    with private_postgres() as pg:
        yield pg


def call(port: int, call_id: str) -> list[str]:
    """One caller through the IVR: the call is answered, and the caller hangs up at the welcome."""
    environment = env().replace(b"1764000000.7", call_id.encode())
    answer = script({"ANSWER": [["200 result=0"]], "GET VARIABLE CHANNEL(linkedid)": [[f"200 result=1 ({call_id})"]]})
    return asyncio.run(asterisk(port, environment, answer, close_after=WELCOME))


def pending(outbox: Path) -> list[str]:
    """The call ids whose records wait in the IVR's outbox file."""
    return [record["cti_call_id"] for _, record in read_journal(outbox)[0]]


def test_ivr_sessions_outlive_a_database_outage_and_are_written_once(cluster: Postgres, tmp_path: Path) -> None:
    if not cluster.running:
        cluster.start()
    url = migrated(cluster)
    engine = db.connect(url)
    request_dispose(engine)
    factory = db.session_factory(engine)
    site = f"faults-{uuid.uuid4().hex[:8]}"
    outbox = tmp_path / "ivr.jsonl"

    def rows() -> list[IvrSession]:
        with factory() as s:
            return list(s.scalars(select(IvrSession).order_by(IvrSession.id)))

    processes: list[Process] = []
    with private_mosquitto(persistence=False) as broker:
        environment = {
            **os.environ,
            "CCENTER_SITE": site,
            "CCENTER_DB": url,
            "CCENTER_MQTT": broker.url,
            "PYTHONUNBUFFERED": "1",
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }

        def start_ivr(name: str) -> int:
            port = free_port()
            process = Process(
                name,
                ["-v", "ivr", "serve", "--fastagi", f"127.0.0.1:{port}", "--outbox", str(outbox)],
                environment,
                tmp_path,
            )
            processes.append(process)
            asyncio.run(process.ready("FastAGI listening on"))
            return port

        try:
            port = start_ivr("ivr-1")
            # While the IVR runs: two callers during the outage, kept; written by its periodic flush.
            cluster.stop("fast")
            for call_id in ("outage-1", "outage-2"):
                assert WELCOME in call(port, call_id)
            asyncio.run(until(lambda: pending(outbox) == ["outage-1", "outage-2"], TIMEOUT))
            cluster.start()
            asyncio.run(until(lambda: not pending(outbox) and len(rows()) == 2, TIMEOUT, interval=0.1))
            # The IVR stopped during an outage: the record waits in its file; written when it starts again.
            cluster.stop("fast")
            assert WELCOME in call(port, "outage-3")
            asyncio.run(until(lambda: pending(outbox) == ["outage-3"], TIMEOUT))
            processes[-1].stop()
            assert processes[-1].process.returncode == 0, processes[-1].text()
            cluster.start()
            port = start_ivr("ivr-2")
            asyncio.run(until(lambda: not pending(outbox) and len(rows()) == 3, TIMEOUT, interval=0.1))
            # A caller once the database is back is written at once, after nothing.
            assert WELCOME in call(port, "after")
            asyncio.run(until(lambda: len(rows()) == 4, TIMEOUT, interval=0.1))
        finally:
            for process in reversed(processes):
                process.stop()
            if not cluster.running:
                cluster.start()
    for process in processes:
        assert "Traceback" not in process.text(), f"{process.name}:\n{process.text()}"
    written = rows()
    assert [r.cti_call_id for r in written] == ["outage-1", "outage-2", "outage-3", "after"], "each once, in order"
    assert {r.exit for r in written} == {"abandoned"}
    assert len({r.client_ref for r in written}) == 4 and all(r.client_ref for r in written)
    assert "kept locally" in processes[0].text() and "wrote 2 pending IVR session(s)" in processes[0].text()
    assert "1 IVR session(s) wait in" in processes[1].text()


def test_the_ivr_starts_and_serves_a_caller_while_the_database_is_down(cluster: Postgres, tmp_path: Path) -> None:
    """``ccenter ivr`` started with PostgreSQL stopped listens and serves a caller at once; the caller's
    session record waits in the outbox and is written, under the IVR's site, once the database is back,
    when the IVR also checks the schema. Before, the IVR would not start without its database."""
    if not cluster.running:
        cluster.start()
    url = migrated(cluster)
    engine = db.connect(url)
    request_dispose(engine)
    factory = db.session_factory(engine)
    site = f"faults-{uuid.uuid4().hex[:8]}"
    outbox = tmp_path / "ivr.jsonl"

    def rows() -> list[IvrSession]:
        with factory() as s:
            return list(s.scalars(select(IvrSession).order_by(IvrSession.id)))

    cluster.stop("fast")
    process: Process | None = None
    try:
        with private_mosquitto(persistence=False) as broker:
            environment = {**os.environ, "CCENTER_SITE": site, "CCENTER_DB": url, "CCENTER_MQTT": broker.url,
                           "PYTHONUNBUFFERED": "1", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
            port = free_port()
            process = Process("ivr", ["-v", "ivr", "--fastagi", f"127.0.0.1:{port}", "--outbox", str(outbox)],
                              environment, tmp_path)
            asyncio.run(process.ready("FastAGI listening on"))
            assert WELCOME in call(port, "db-down-1")
            asyncio.run(until(lambda: pending(outbox) == ["db-down-1"], TIMEOUT))
            cluster.start()
            asyncio.run(until(lambda: not pending(outbox) and len(rows()) == 1, TIMEOUT, interval=0.1))
            asyncio.run(until(lambda: "database schema checked" in process.text(), TIMEOUT))  # type: ignore[union-attr]
            process.stop()
    finally:
        if process is not None:
            process.stop()
        if not cluster.running:
            cluster.start()
    text = process.text()
    assert process.process.returncode == 0, text
    assert "Traceback" not in text, text
    assert "cannot reach the database" in text and "serving callers, their session records wait in the outbox" in text
    assert [(r.cti_call_id, r.site) for r in rows()] == [("db-down-1", site)]
