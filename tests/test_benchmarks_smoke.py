"""The benchmarks still run: `python -m benchmarks.run --smoke` on SQLite and PostgreSQL.

Tiny sizes keep this under a minute; its figures mean nothing, only that every
benchmark completes, prints its figures and judges its goals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("parse", "ingest", "e2e", "burst", "interaction", "memory")


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_benchmarks_run_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANBOT_", "SLACK_"))}
    env["PANBOT_BENCH_POSTGRES_URL"] = POSTGRES_URL
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--json", str(out)],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cores:" in done.stdout and "python:" in done.stdout and "date:" in done.stdout
    results = json.loads(out.read_text())
    assert [r["name"] for r in results["results"]] == list(NAMES)
    for result in results["results"]:
        assert result["figures"], result["name"]
        assert result["goals"], result["name"]
