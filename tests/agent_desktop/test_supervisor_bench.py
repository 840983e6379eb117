"""The supervisor benchmark keeps working and prints its figures (the figures themselves are read from
``python -m bench --only supervisor``; tests check behaviour, not timings)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

FIGURES = ("agents / queues", "agent events", "queue statistics", "screen updates", "update time, mean",
           "update time, p95", "longest event-loop stall", "tile re-sorts", "GUI-thread CPU")


def test_the_supervisor_benchmark_prints_its_figures() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "supervisor", "--quick"], cwd=root,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    lines = {name: line for line in out.splitlines() for name in FIGURES if line.strip().startswith(name)}
    assert set(lines) == set(FIGURES), out
    assert "2,000 / 100" in lines["agents / queues"]
    updates = float(re.search(r"screen updates\s+([\d.]+)", lines["screen updates"]).group(1))  # type: ignore[union-attr]
    assert updates > 0  # the window repainted while the events came
    assert "propagateSizeHints" not in out  # the offscreen platform's notes are no figures
