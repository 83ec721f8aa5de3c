"""6. memory: RSS of an idle `panbot run`, and after a burst (the burst benchmark's process).

The process is the same one `burst` measures (run once if both are asked for), on the
first backend given: an idle process after a few polls of all five rules, then the
same process once a burst is stored and being posted.
"""

from __future__ import annotations

from benchmarks.bench_burst import process_run
from benchmarks.common import Config, Result

LIMIT_MB = 150


def run(cfg: Config) -> Result:
    result = Result("memory")
    backend = cfg.backends[0]
    burst = process_run(cfg, backend)
    figures = burst.figures
    result.figure("backend", backend)
    result.figure("burst", f"{burst.logs:,} logs from {burst.hosts} hosts")
    for key in ("idle RSS MB", "RSS when stored MB", "RSS after burst MB", "peak RSS MB"):
        result.figure(key, figures[key])
    result.goal(f"idle RSS < {LIMIT_MB} MB", figures["idle RSS MB"] < LIMIT_MB)
    result.goal(f"RSS after the burst < {LIMIT_MB} MB", figures["RSS after burst MB"] < LIMIT_MB)
    result.goal(f"peak RSS during the burst < {LIMIT_MB} MB", figures["peak RSS MB"] < LIMIT_MB)
    return result
