"""Start-up benchmark: the CPU time of a ``ccenter`` command line, interpreter start included.

``python -m bench.startup [--quick] [--json]`` prints the figures; ``python -m bench`` calls ``run()``.
Each command line runs in a fresh interpreter, several times; the figure is the median CPU time
(user + system) of those processes, so other work on the machine weighs little. The floor is a bare
``python -c pass``: what any Python command costs here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

Row = tuple[str, float, str]
CAPTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cti" / "ami_inbound_queue.ami"
#: The modules a bare ``ccenter --help`` loads are counted by this script.
COUNT_MODULES = "import sys; from ccenter.cli import build_parser; build_parser(); print(len(sys.modules))"


def _child_cpu_s() -> float:
    try:
        import resource
    except ImportError:  # Windows: no rusage of children; wall time is the nearest figure
        return time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(argv: Sequence[str], runs: int) -> float:
    """Median CPU seconds of ``runs`` fresh processes running ``argv``."""
    samples = []
    for _ in range(runs):
        before = _child_cpu_s()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        samples.append(_child_cpu_s() - before)
    return statistics.median(samples)


def run(quick: bool = False) -> list[Row]:
    runs = 3 if quick else 15
    ccenter = [sys.executable, "-m", "ccenter"]
    modules = subprocess.run(
        [sys.executable, "-c", COUNT_MODULES], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    return [
        ("python -c pass (the floor)", cpu_seconds([sys.executable, "-c", "pass"], runs), "s CPU"),
        ("ccenter --help", cpu_seconds([*ccenter, "--help"], runs), "s CPU"),
        ("ccenter cti decode --help", cpu_seconds([*ccenter, "cti", "decode", "--help"], runs), "s CPU"),
        (
            f"ccenter cti decode of {CAPTURE.name} ({CAPTURE.stat().st_size:,} bytes)",
            cpu_seconds([*ccenter, "cti", "decode", "--protocol", "ami", str(CAPTURE)], runs),
            "s CPU",
        ),
        ("modules loaded to build the parser", int(modules), "modules"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per figure instead of 15")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = run(quick=args.quick)
    if args.json:
        print(json.dumps([{"figure": f, "value": v, "unit": u} for f, v, u in rows], indent=2))
    else:
        width = max(len(figure) for figure, _, _ in rows)
        for figure, value, unit in rows:
            shown = f"{value:,}" if isinstance(value, int) else f"{value:.3f}"
            print(f"{figure:<{width}}  {shown:>8} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
