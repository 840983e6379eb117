"""Private broker and database instances for tests that kill or promote them.

The machine's own Mosquitto, NATS and PostgreSQL are shared: a test that stops a node or promotes a
standby starts its own here, on free loopback ports in a temporary directory, and stops it by its
process id. Each starter skips when the program is missing, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench._ports import free_ports

IN_CI = os.environ.get("CI", "").lower() == "true"
NATS_SERVER = os.environ.get("CCENTER_TEST_NATS_SERVER", "/usr/sbin/nats-server")
PG_BIN = Path(os.environ.get("CCENTER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def require_program(path: str | Path, what: str) -> None:
    if Path(path).exists():
        return
    message = f"{what} is not installed at {path}"
    if IN_CI:
        pytest.fail(f"{message}; CI=true, so tests that need it must run", pytrace=False)
    pytest.skip(message)



def wait_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process listening on {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def wait_until(condition: Callable[[], object], timeout: float) -> None:
    """Return once ``condition()`` is true (polled); TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not true within {timeout:g} s")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop one process we started, by its id; SIGKILL if it does not go in time."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


# --- NATS --------------------------------------------------------------------------------------


@dataclass
class NatsNode:
    name: str
    client_port: int
    cluster_port: int
    mqtt_port: int
    http_port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass
class NatsCluster:
    nodes: list[NatsNode] = field(default_factory=list)

    def mqtt_url(self) -> str:
        """One MQTT URL naming every node of the cluster."""
        return "mqtt://" + ",".join(f"127.0.0.1:{n.mqtt_port}" for n in self.nodes)

    def index_of(self, mqtt_port: int) -> int:
        return next(i for i, n in enumerate(self.nodes) if n.mqtt_port == mqtt_port)

    def kill(self, index: int) -> None:
        """Kill one node with SIGKILL, as a crashed machine would go."""
        process = self.nodes[index].process
        assert process is not None
        stop_process(process, sig=signal.SIGKILL)

    def stream_leader(self, stream: str) -> int:
        """The index of the node that leads a JetStream stream now (``$MQTT_msgs``: the MQTT QoS 1
        messages; ``$MQTT_sess``: the MQTT sessions), as a live node's monitoring port reports it."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/jsz?accounts=true&streams=true",
                                        timeout=5) as response:
                report = json.load(response)
            for account in report.get("account_details", []):
                for detail in account.get("stream_detail", []):
                    leader = detail.get("cluster", {}).get("leader")
                    if detail.get("name") == stream and leader:
                        return next(i for i, n in enumerate(self.nodes) if n.name == leader)
        raise LookupError(f"no node reports a leader of {stream}")

    def logs(self) -> str:
        return "\n".join(f"--- {n.name}\n{n.log.read_text(errors='replace')[-3000:]}" for n in self.nodes
                         if n.log.exists())


def _healthy(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def nats_cluster(directory: Path, size: int = 3) -> Iterator[NatsCluster]:
    """A cluster of ``size`` nats-server nodes with JetStream and MQTT, on free loopback ports."""
    require_program(NATS_SERVER, "nats-server")
    ports = free_ports(4 * size)
    cluster = NatsCluster()
    for i in range(size):
        name = f"n{i + 1}"
        client_port, route_port, mqtt_port, http_port = ports[4 * i:4 * i + 4]
        node = NatsNode(name, client_port, route_port, mqtt_port, http_port,
                        directory / f"{name}.conf", directory / f"{name}.log")
        cluster.nodes.append(node)
    for node in cluster.nodes:
        routes = ", ".join(f"nats://127.0.0.1:{o.cluster_port}" for o in cluster.nodes if o is not node)
        store = directory / node.name
        store.mkdir()
        node.config.write_text(
            f'server_name: "{node.name}"\n'
            f"listen: 127.0.0.1:{node.client_port}\n"
            f"http: 127.0.0.1:{node.http_port}\n"
            f'jetstream {{ store_dir: "{store}" }}\n'
            f'cluster {{ name: "ccenter-test", listen: 127.0.0.1:{node.cluster_port}, routes: [{routes}] }}\n'
            f"mqtt {{ listen: 127.0.0.1:{node.mqtt_port}, stream_replicas: {size}, consumer_replicas: {size} }}\n"
        )
    try:
        for node in cluster.nodes:
            with node.log.open("wb") as log:
                node.process = subprocess.Popen([NATS_SERVER, "-c", str(node.config)], stdout=log,
                                                stderr=subprocess.STDOUT)
        for node in cluster.nodes:
            assert node.process is not None
            wait_port(node.mqtt_port, 30, node.process)
        # Ready when every node reports its JetStream current (routes up, meta leader elected).
        for node in cluster.nodes:
            wait_until(functools.partial(_healthy, node.http_port), 60)
        yield cluster
    finally:
        for node in cluster.nodes:
            if node.process is not None:
                stop_process(node.process)


# --- PostgreSQL ----------------------------------------------------------------------------------


@dataclass
class PgInstance:
    name: str
    port: int
    data: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # type: ignore[call-overload]
                [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
                 "-k", str(self.data)],
                stdout=log, stderr=subprocess.STDOUT, **_server_user(),
            )
        wait_port(self.port, 30, self.process)

    def stop(self, *, fast: bool = True) -> None:
        """Stop the server we started (SIGINT: fast shutdown; SIGQUIT: immediate, like a crash)."""
        if self.process is not None:
            stop_process(self.process, sig=signal.SIGINT if fast else signal.SIGQUIT)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [shutil.which("psql") or str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
             "postgres", "-d", database, "-Atc", sql],
            check=True, capture_output=True, timeout=30,
        )
        return out.stdout.decode().strip()


@dataclass
class PgPair:
    primary: PgInstance
    standby: PgInstance

    def multi_host_url(self, database: str) -> str:
        """The libpq multi-host URL that finds whichever of the two accepts writes."""
        return (f"postgresql+psycopg://postgres@127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
                f"/{database}?target_session_attrs=read-write")

    def promote_standby(self) -> None:
        _run(str(PG_BIN / "pg_ctl"), "promote", "-w", "-t", "30", "-D", str(self.standby.data))


def _server_user() -> dict[str, str]:
    """Popen's ``user``/``group`` for a server we signal by its own process id (no wrapper between)."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def _run(*args: str) -> None:
    done = subprocess.run(list(args), capture_output=True, timeout=120, **_server_user())  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")


@contextmanager
def pg_streaming_pair() -> Iterator[PgPair]:
    """A private PostgreSQL primary and a streaming-replication standby of it, on free loopback ports,
    in a temporary directory of their own (owned by the server's user when we run as root)."""
    require_program(PG_BIN / "initdb", "PostgreSQL 15 (initdb)")
    with tempfile.TemporaryDirectory(prefix="ccenter-pg-") as name:
        directory = Path(name)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        with _pair_in(directory) as pair:
            yield pair


@contextmanager
def _pair_in(directory: Path) -> Iterator[PgPair]:
    primary_port, standby_port = free_ports(2)
    primary = PgInstance("primary", primary_port, directory / "primary", directory / "primary.log")
    standby = PgInstance("standby", standby_port, directory / "standby", directory / "standby.log")
    _run(str(PG_BIN / "initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync")
    with (primary.data / "postgresql.conf").open("a") as conf:
        conf.write("wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nfsync = off\n"
                   "listen_addresses = '127.0.0.1'\n")
    with (primary.data / "pg_hba.conf").open("a") as hba:
        hba.write("host replication postgres 127.0.0.1/32 trust\n")
    pair = PgPair(primary, standby)
    try:
        primary.start()
        _run(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
             "-D", str(standby.data), "-R", "-X", "stream", "--no-sync")
        standby.start()
        yield pair
    finally:
        standby.stop()
        primary.stop()
