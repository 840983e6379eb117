"""Run the benchmarks and print their figures: ``python -m bench [--quick] [--json] [--only NAME ...]``.

A benchmark is a module of this package with ``run(quick: bool = False)`` returning rows of
``(figure, value, unit)``. ``--quick`` uses small data for a fast look; the full run uses the sizes
the targets are stated for.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from collections.abc import Sequence

import bench

#: Short names a benchmark is also known by (``--only import``).
ALIASES = {"import": "campaign_import"}


def benchmarks() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def _format(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 100:
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for a fast look")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[*benchmarks(), *ALIASES],
                        help="run only these")
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, object]]] = {}
    for name in [ALIASES.get(n, n) for n in args.only or benchmarks()]:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows = module.run(quick=args.quick)
        results[name] = [{"figure": f, "value": v, "unit": u} for f, v, u in rows]
        print(f"  {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    width = max((len(r["figure"]) for rows in results.values() for r in rows), default=10)  # type: ignore[arg-type]
    for name, rows in results.items():
        print(f"\n{name}")
        for r in rows:
            value = r["value"]
            shown = _format(value)
            print(f"  {r['figure']:<{width}}  {shown:>14}  {r['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
