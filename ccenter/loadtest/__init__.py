"""``ccenter loadtest``: one site's processes under load, over a real broker, with what held.

Three processes of their own, joined only by the broker: the CTI gateway on a real-time simulated PBX
(:mod:`ccenter.loadtest.gateway`, the production :class:`~cti.gateway.Gateway`) with calls arriving
in a queue at a Poisson rate; ``ccenter acd`` as an admin runs it (its queues from a file, leading at
once); and the agents' desktops (:mod:`ccenter.loadtest.agents`: one broker connection and
:class:`~cti.buslink.BusLink` per agent, as ``ccenter desktop`` has), which log on, answer what rings
them, hang up after an exponential handle time and are ready again.

It reports the calls offered and routed, every call event the gateway published on an agent's topic
matched with its arrival at that agent (latency from the start of the gateway's publish to the
desktop, p50 and p99; events never received: lost), double offers (a call ringing an agent already on
a call, or ringing two agents), an agent's answer (ringing to the answer's result, p50), an agent's
turn from the end of a call to its next call ringing (p50, p99: the ACD's turnaround while calls wait,
idle time as well when none does), and each process's CPU share and peak memory (Linux ``/proc``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Seconds the agents have to connect and log on; the first call comes when all are ready.
LOGON_TIMEOUT_S = 180.0


@dataclass(frozen=True, slots=True)
class LoadResult:
    agents: int
    duration_s: float
    arrivals_per_s: float
    offered: int
    routed: int
    answered: int
    events_to_desktops: int
    events_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    lost: int
    double_offers: int
    command_failures: int
    command_errors: list[str]  # the first few failures the desktops were told of
    answer_p50_ms: float  # an agent's answer: from the ringing event received to the answer's result
    next_call_p50_ms: float  # an agent's call ended (its event received) to its next call ringing
    next_call_p99_ms: float
    logon_s: float  # from the desktops' start until every agent was ready
    processes: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ticks(pid: int) -> int:
    """CPU time (user + system) of ``pid`` in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentiles(values: list[float]) -> list[float]:
    """The 1st to 99th percentiles of ``values`` (zeros when there are fewer than two)."""
    return statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [0.0] * 99


def _queues_file(folder: Path, agents: int) -> Path:
    lines = ["queues:", "  - {name: sales, skill: sales, service_level_s: 20, ring_timeout_s: 30}", "agents:"]
    lines += [f"  - {{id: load-{n:03d}, skills: {{sales: 5}}, extension: '{3000 + n}'}}" for n in range(agents)]
    path = folder / "queues.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _spawn(argv: list[str], env: dict[str, str], log: Path, profile: Path | None = None) -> subprocess.Popen[bytes]:
    """``python ARGV`` with its output in ``log``; under cProfile (its statistics written to ``profile``
    when it ends) when a profile is asked for."""
    if profile is not None:
        argv = ["-m", "cProfile", "-o", str(profile), *argv]
    with log.open("wb") as out:  # the child writes its own copy of the descriptor
        return subprocess.Popen([sys.executable, *argv], stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited: {log.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{log.stem} did not say {text!r} within {timeout:.0f} s")
        time.sleep(0.1)


def run_load(mqtt_url: str, *, agents: int = 200, duration_s: float = 60.0, handle_s: float = 8.0,
             occupancy: float = 0.85, arrivals_per_s: float | None = None, profile: Path | None = None
             ) -> LoadResult:
    """Run the load for ``duration_s`` seconds of arrivals (after every agent logged on, and a drain).

    ``profile``: a folder where each process's cProfile statistics are written (``acd.prof``,
    ``cti-gateway.prof``, ``desktops.prof``; read them with ``python -m pstats``)."""
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    rate = arrivals_per_s if arrivals_per_s is not None else occupancy * agents / handle_s
    site = f"load-{uuid.uuid4().hex[:8]}"
    drain = max(5.0, handle_s * 4)
    with tempfile.TemporaryDirectory(prefix="ccenter-loadtest-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "CCENTER_MQTT": mqtt_url, "CCENTER_SITE": site, "CCENTER_CONFIG": "",
               "CCENTER_DB": f"sqlite:///{folder / 'unused.db'}"}
        ready_file = folder / "ready"
        common = {"mqtt": mqtt_url, "site": site, "agents": agents, "duration": duration_s, "drain": drain,
                  "rate": rate, "handle_s": handle_s, "ready_file": str(ready_file),
                  "logon_timeout": LOGON_TIMEOUT_S}
        (folder / "gateway.json").write_text(json.dumps({**common, "out": str(folder / "gateway.out.json")}))
        (folder / "agents.json").write_text(json.dumps({**common, "out": str(folder / "agents.out.json")}))
        acd = _spawn(["-m", "ccenter", "acd", "--queues", str(_queues_file(folder, agents)), "--no-standby"],
                     env, folder / "acd.log", profile and profile / "acd.prof")
        processes: dict[str, subprocess.Popen[bytes]] = {"acd": acd}
        try:
            _wait_for_line(folder / "acd.log", "agents configured", acd, 60)
            processes["cti-gateway"] = _spawn(["-m", "ccenter.loadtest.gateway", str(folder / "gateway.json")],
                                              env, folder / "gateway.log", profile and profile / "cti-gateway.prof")
            spawned = time.time()
            processes["desktops"] = _spawn(["-m", "ccenter.loadtest.agents", str(folder / "agents.json")],
                                           env, folder / "agents.log", profile and profile / "desktops.prof")
            deadline = time.monotonic() + LOGON_TIMEOUT_S
            while not ready_file.exists() or not ready_file.read_text():
                if processes["desktops"].poll() is not None or time.monotonic() > deadline:
                    text = (folder / "agents.log").read_text(errors="replace")
                    raise RuntimeError(f"the agents did not log on: {text[:3000]}")
                time.sleep(0.1)
            start = float(ready_file.read_text())
            began = {name: _ticks(p.pid) for name, p in processes.items()}
            measured_from = time.monotonic()
            time.sleep(max(0.0, start + duration_s + drain - 2.0 - time.time()))
            elapsed = time.monotonic() - measured_from
            tick = os.sysconf("SC_CLK_TCK")
            usage = {
                name: {"cpu_percent": 100.0 * (_ticks(p.pid) - began[name]) / tick / elapsed,
                       "peak_mb": _peak_mb(p.pid)}
                for name, p in processes.items()
            }
            for name, log in (("desktops", "agents.log"), ("cti-gateway", "gateway.log")):
                if processes[name].wait(60) != 0:
                    text = (folder / log).read_text(errors="replace")
                    raise RuntimeError(f"{name} failed: {text[:3000]} ... {text[-3000:]}")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(20)
                    except subprocess.TimeoutExpired:
                        process.kill()
        sent = json.loads((folder / "gateway.out.json").read_text())
        got = json.loads((folder / "agents.out.json").read_text())
    # Agents stop reading at ``until``: what the gateway published in the last half second before
    # cannot be asked of them.
    published = {key: at for key, at in sent["sent"].items() if at < got["until"] - 0.5}
    received: dict[str, float] = got["received"]
    latencies = [(received[key] - at) * 1000 for key, at in published.items() if key in received]
    lost = sum(1 for key in published if key not in received)
    rung: dict[str, list[str]] = got["rung"]
    agents_of_call: dict[str, int] = {}
    for calls in rung.values():
        for call_id in calls:
            agents_of_call[call_id] = agents_of_call.get(call_id, 0) + 1
    doubles = int(got["doubles"]) + sum(n - 1 for n in agents_of_call.values() if n > 1)
    quantiles = _percentiles(latencies)
    answers = _percentiles([s * 1000 for s in got["answer_s"]])
    next_calls = _percentiles([s * 1000 for s in got["next_call_s"]])
    return LoadResult(
        agents=agents, duration_s=duration_s, arrivals_per_s=rate, offered=int(sent["offered"]),
        routed=len(agents_of_call), answered=int(got["answered"]), events_to_desktops=len(published),
        events_per_s=len(published) / (duration_s + drain), latency_p50_ms=quantiles[49], latency_p99_ms=quantiles[98],
        lost=lost, double_offers=doubles, command_failures=int(got["failed"]),
        command_errors=list(got.get("errors", [])), answer_p50_ms=answers[49],
        next_call_p50_ms=next_calls[49], next_call_p99_ms=next_calls[98],
        logon_s=float(got["started"]) - spawned, processes=usage,
    )
