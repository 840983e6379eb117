"""One site under load over Mosquitto: ``ccenter loadtest`` run as an admin runs it, its figures printed.

``python -m bench --only load``: 200 scripted agent desktops (one broker connection each), the CTI
gateway on a real-time simulated PBX with calls arriving at 85 % occupancy of the agents (mean handle
time 8 s: about 21 calls a second), and ``ccenter acd``, for 60 s of arrivals on the broker of
``CCENTER_BENCH_MQTT`` (default the local Mosquitto), each in a process of its own. Printed: calls
offered and routed, call events to desktops per second, the latency from the gateway's publish to
the desktop (p50, p99), events lost and double offers (goal: 0 and 0), and each process's CPU share
and peak memory. ``--quick``: 50 agents for 15 s. Longer or larger runs: ``ccenter loadtest --agents N
--duration S --handle S --rate R``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

Row = tuple[str, float, str]


def run(quick: bool = False) -> list[Row]:
    url = os.environ.get("CCENTER_BENCH_MQTT", "mqtt://127.0.0.1:1883")
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
    ]
    for process, usage in result["processes"].items():
        rows.append((f"{process}: CPU", usage["cpu_percent"], "% of a core"))
        rows.append((f"{process}: peak memory", usage["peak_mb"], "MB"))
    return rows
