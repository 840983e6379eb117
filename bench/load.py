"""One site under load over Mosquitto: ``ccenter loadtest`` run as an admin runs it, its figures printed.

``python -m bench --only load``: 200 scripted agent desktops (one broker connection each), the CTI
gateway on a real-time simulated PBX with calls arriving at 85 % occupancy of the agents (mean handle
time 8 s: about 21 calls a second), and ``ccenter acd``, for 60 s of arrivals once every agent is
ready, each in a process of its own. The broker is a Mosquitto of its own on a free loopback port
(``set_tcp_nodelay true``: with Mosquitto's default, Nagle's algorithm holds small messages back for
tens of milliseconds), or the one of ``CCENTER_BENCH_MQTT``. Printed: calls
offered and routed, call events to desktops per second, the latency from the gateway's publish to
the desktop (p50, p99), events lost and double offers (goal: 0 and 0), and each process's CPU share
and peak memory. ``--quick``: 50 agents for 15 s. Longer or larger runs: ``ccenter loadtest --agents N
--duration S --handle S --rate R``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench._ports import free_port

Row = tuple[str, float, str]


@contextlib.contextmanager
def _mosquitto() -> Iterator[str]:
    """A Mosquitto of our own on a free loopback port (anonymous, no persistence), stopped after."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port(udp=False)
    with tempfile.TemporaryDirectory(prefix="ccenter-bench-mqtt-") as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "set_tcp_nodelay true\n" + ("user root\n" if os.geteuid() == 0 else ""))
        with (Path(tmp) / "mosquitto.log").open("wb") as log:
            broker = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if broker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start")
                time.sleep(0.05)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            broker.terminate()
            broker.wait(20)


def run(quick: bool = False) -> list[Row]:
    given = os.environ.get("CCENTER_BENCH_MQTT")
    if given:
        return _run(given, quick)
    with _mosquitto() as url:
        return _run(url, quick)


def _run(url: str, quick: bool) -> list[Row]:
    size = ["--agents", "50", "--duration", "15"] if quick else ["--agents", "200", "--duration", "60"]
    done = subprocess.run([sys.executable, "-m", "ccenter", "loadtest", "--mqtt", url, "--json", *size],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "CCENTER_CONFIG": ""})
    if not done.stdout.strip():
        return [(f"load skipped: {(done.stderr.strip().splitlines() or ['no output'])[-1][:100]}", 0.0, "")]
    result = json.loads(done.stdout)
    rows: list[Row] = [
        ("agents", float(result["agents"]), ""),
        ("seconds of arrivals", result["duration_s"], "s"),
        ("arrivals", result["arrivals_per_s"], "calls/s"),
        ("calls offered", float(result["offered"]), ""),
        ("calls routed to an agent", float(result["routed"]), ""),
        ("call events to desktops", result["events_per_s"], "events/s"),
        ("CTI event to desktop, p50", result["latency_p50_ms"], "ms"),
        ("CTI event to desktop, p99", result["latency_p99_ms"], "ms"),
        ("events lost (goal 0)", float(result["lost"]), ""),
        ("double offers (goal 0)", float(result["double_offers"]), ""),
        ("calls answered", float(result["answered"]), ""),
        ("ringing to answered, p50", result["answer_p50_ms"], "ms"),
        ("a call's end to the agent's next call, p50", result["next_call_p50_ms"], "ms"),
        ("a call's end to the agent's next call, p99", result["next_call_p99_ms"], "ms"),
        ("every agent logged on and ready in", result["logon_s"], "s"),
    ]
    for process, usage in result["processes"].items():
        rows.append((f"{process}: CPU", usage["cpu_percent"], "% of a core"))
        rows.append((f"{process}: peak memory", usage["peak_mb"], "MB"))
    return rows
