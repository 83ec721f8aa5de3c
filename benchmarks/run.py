"""Run panbot's benchmarks: `python -m benchmarks.run [--smoke] [--only NAME] [--json FILE]`.

Every run prints the machine first; each benchmark prints its figures, ratios against
baselines measured in the same run, and whether each goal (docs/performance.md) is met.
`--smoke` uses tiny sizes: it keeps the benchmarks working, its figures mean nothing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
import traceback
from typing import Any

from benchmarks.common import BACKENDS, Config, Result, machine

BENCHMARKS = ("parse", "ingest", "e2e", "burst", "interaction", "memory")


def _print(result: Result, seconds: float) -> None:
    print(f"\n== {result.name}  ({seconds:.1f} s)", flush=True)
    for key, value in result.figures.items():
        print(f"  {key}: {value}")
    for text, met in result.goals:
        print(f"  [{'met' if met else 'MISSED'}] {text}")
    for note in result.notes:
        print(f"  note: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to keep them working")
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="run only NAME")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="databases to run on, comma-separated (default: sqlite,postgres)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    backends = tuple(b for b in args.backends.split(",") if b)
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    # The bot logs every poll at INFO; a benchmark shows figures, and problems only.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A drain busy pacing Slack makes the scheduler skip ticks, by design: not a problem.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    cfg = Config(smoke=args.smoke, backends=backends)

    header = machine()
    print("panbot benchmarks" + (" (smoke: sizes too small to mean anything)" if cfg.smoke else ""))
    for key, value in header.items():
        print(f"  {key}: {value}")
    print(f"  command: python -m benchmarks.run {' '.join(argv or sys.argv[1:])}".rstrip())

    results: list[dict[str, Any]] = []
    failed = False
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        try:
            result: Result = module.run(cfg)
        except Exception:
            traceback.print_exc()
            print(f"\n== {name}: FAILED", flush=True)
            failed = True
            continue
        _print(result, time.perf_counter() - started)
        results.append(
            {
                "name": result.name,
                "figures": result.figures,
                "goals": [{"goal": t, "met": m} for t, m in result.goals],
                "notes": result.notes,
            }
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"machine": header, "smoke": cfg.smoke, "results": results}, out, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
