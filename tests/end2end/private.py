"""Private PostgreSQL clusters and Mosquitto brokers for fault tests, which stop and start them.

Never the machine's shared services: each instance is made in a temporary folder, listens on a free
loopback port, and is stopped by its own process id (``pg_ctl -D <its folder>``, or the broker's pid).
Started by root (a container), PostgreSQL runs as the ``postgres`` user, as initdb requires.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench._ports import free_port
from tests.conftest import IN_CI

PG_BIN = Path(os.environ.get("CCENTER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
TIMEOUT = 30.0



def need(path: Path | str, what: str) -> None:
    if Path(path).exists():
        return
    if IN_CI:
        pytest.fail(f"{what} is not installed at {path}; CI=true, so fault tests must run", pytrace=False)
    pytest.skip(f"{what} is not installed at {path}")


def _as_owner() -> tuple[list[str], int | None, int | None]:
    """The command prefix, uid and gid to run PostgreSQL's programs as (root may not run them)."""
    if os.geteuid() != 0:
        return [], None, None
    user = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


def _wait_port(port: int, alive: callable, what: str) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + TIMEOUT
    while True:  # a condition, polled: the listener is up, or the process failed
        if not alive():
            raise AssertionError(f"{what} exited while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not open port {port}")
        time.sleep(0.05)


@dataclass
class Postgres:
    """One PostgreSQL cluster of our own: ``start()``, ``stop()`` (fast shutdown), ``url(database)``."""

    directory: Path
    port: int
    prefix: list[str] = field(default_factory=list)
    running: bool = False

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self.prefix, str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args],
                              capture_output=True, timeout=TIMEOUT, check=False)

    def start(self) -> None:
        log = self.directory / "postgres.log"
        done = self._ctl("-l", str(log), "-w", "-t", str(int(TIMEOUT)), "-o",
                         f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1", "start")
        if done.returncode != 0:
            raise AssertionError(f"pg_ctl start failed: {done.stderr.decode()} {log.read_text(errors='replace')}")
        self.running = True
        _wait_port(self.port, lambda: True, "postgres")

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            done = self._ctl("-w", "-m", mode, "stop")
            assert done.returncode == 0, done.stderr.decode()
            self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine

        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        return self.url(name)


@contextlib.contextmanager
def private_postgres() -> Iterator[Postgres]:
    """A new cluster (initdb, trust on loopback), started; stopped and removed afterwards."""
    need(PG_BIN / "initdb", "PostgreSQL's initdb")
    prefix, uid, gid = _as_owner()
    directory = Path(tempfile.mkdtemp(prefix="ccenter-pg-"))
    if uid is not None and gid is not None:
        os.chown(directory, uid, gid)
    try:
        done = subprocess.run([*prefix, str(PG_BIN / "initdb"), "-D", str(directory / "data"), "-U", "postgres",
                               "-A", "trust", "--no-sync", "-E", "UTF8"],
                              capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr.decode()
        with (directory / "data" / "postgresql.conf").open("a") as conf:
            conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n")
        pg = Postgres(directory, free_port(), prefix)
        pg.start()
        try:
            yield pg
        finally:
            pg.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Mosquitto:
    """One Mosquitto of our own on a free loopback port; ``persistence`` keeps sessions over a restart."""

    directory: Path
    port: int
    persistence: bool
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        conf = self.directory / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "max_queued_messages 10000",
                 "persistent_client_expiration 1h"]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.directory}/", "autosave_interval 1"]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        with (self.directory / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=log)
        process = self.process
        _wait_port(self.port, lambda: process.poll() is None, "mosquitto")

    def stop(self) -> None:
        """Stop it (SIGTERM: a persistent broker saves its sessions first)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(TIMEOUT)
            self.process = None


@contextlib.contextmanager
def private_mosquitto(*, persistence: bool) -> Iterator[Mosquitto]:
    need(MOSQUITTO, "Mosquitto")
    directory = Path(tempfile.mkdtemp(prefix="ccenter-mqtt-"))
    broker = Mosquitto(directory, free_port(), persistence)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)
