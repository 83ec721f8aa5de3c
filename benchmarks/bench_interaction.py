"""5. interaction: a signed button press in, HTTP 200 out, 50 presses in flight at once.

`panbot run` runs as in production (HTTP mode, its jobs on) in its own process, with one
alert posted. A load generator in a third process (benchmarks/press_load.py) holds 50
keep-alive connections and presses that alert's Acknowledge button, every request
signed as Slack signs it. The figure is the time to the bot's answer (what Slack waits
3 s for), under two loads:

- waves: 50 presses at once, the next wave once the bot has worked off the last one
  (a channel's worth of people pressing together);
- without pause: each of the 50 connections presses again the moment it is answered,
  20 times; answers then outrun the work, which queues and competes for the CPU.

The work behind each press (the triage step in the database, the answer to the presser
through response_url) is measured too: its throughput and the time until the last
presser has had an answer, so that an early answer cannot hide slow work.

Baselines in the same run: one press at a time, and `GET /healthz` from 50 connections
at once (the HTTP stack alone under the same concurrency).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import (
    CHANNEL,
    SIGNING_SECRET,
    Config,
    Result,
    ms,
    panbot_process,
    percentile,
    scratch_database,
    threat_fields,
    world,
)

CONCURRENCY = 50


def run(cfg: Config) -> Result:
    result = Result("interaction")
    per_client = cfg.size(20, 1)
    result.figure("concurrent presses", CONCURRENCY)
    result.figure("presses per backend", CONCURRENCY * per_client)
    for backend in cfg.backends:
        m = _measure(backend, per_client)
        latencies = m["press"]["latencies"]
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        result.figure(f"{backend}: one press at a time, p50 ms", ms(percentile(m["alone"], 50)))
        result.figure(
            f"{backend}: GET /healthz x50 at once, p99 ms", ms(percentile(m["floor"], 99))
        )
        wave99 = percentile(m["waves"], 99)
        result.figure(f"{backend}: waves of 50 at once, p50 ms", ms(percentile(m["waves"], 50)))
        result.figure(f"{backend}: waves of 50 at once, p99 ms", ms(wave99))
        # The same run's HTTP stack alone under the same concurrency: how much of the tail
        # is the machine's, on these shared cores.
        result.figure(
            f"{backend}: waves p99 / GET /healthz x50 p99",
            round(wave99 / percentile(m["floor"], 99), 2),
        )
        result.figure(f"{backend}: 50 pressing without pause, p50 ms", ms(p50))
        result.figure(f"{backend}: 50 pressing without pause, p99 ms", ms(p99))
        result.figure(f"{backend}: max ms", ms(max(latencies)))
        result.figure(
            f"{backend}: presses answered/s", round(len(latencies) / m["press"]["wall"], 1)
        )
        result.figure(f"{backend}: HTTP statuses", m["press"]["statuses"])
        result.figure(f"{backend}: presses worked off/s", m["worked per s"])
        result.figure(f"{backend}: last presser answered after s", m["last answer s"])
        result.goal(f"{backend}: every press answered 200", set(m["press"]["statuses"]) == {"200"})
        result.goal(f"{backend}: every press worked off", m["answers"] == len(latencies))
        result.goal(f"{backend}: waves of 50 at once, p99 < 100 ms", wave99 < 0.1)
        result.goal(f"{backend}: 50 pressing without pause, p99 < 100 ms", p99 < 0.1)
    return result


def _load(port: int, mode: str, concurrency: int, per_client: int, **job: Any) -> dict[str, Any]:
    spec = {"host": "127.0.0.1", "port": port, "mode": mode, "concurrency": concurrency}
    spec.update(per_client=per_client, **job)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.press_load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _measure(backend: str, per_client: int) -> dict[str, Any]:
    from bot.fakeslack.payloads import block_actions_body
    from bot.views.alert import ACK
    from storage import Database

    with world() as w, scratch_database(backend, "press") as url, panbot_process(w, url) as bot:
        port = bot.port
        w.simulator.append("threat", **threat_fields(0, host=0))
        parent = w.slack.wait_for(lambda: (w.slack.parents(CHANNEL) or [None])[0], 30)
        db = Database(url)
        try:
            # The post returns before the bot has stored its ts: wait for that too.
            alert_id = w.slack.wait_for(lambda: _alert_id(db, parent.ts), 30)
        finally:
            db.dispose()
        press = {
            "path": "/slack/events",
            "secret": SIGNING_SECRET,
            "body": block_actions_body(
                ACK,
                str(alert_id),
                "U0ALICE",
                CHANNEL,
                parent.ts,
                response_url=w.slack.response_url("press"),
            ),
        }
        floor = _load(port, "get", CONCURRENCY, 5, path="/healthz")["latencies"]
        alone = _load(port, "press", 1, per_client * 5, **press)["latencies"]
        # The first press acknowledges the alert (no answer to the presser); every later
        # one is told who acknowledged it, through response_url.
        answered = _wait_answers(w, len(alone) - 1, 60)

        # Waves: 50 presses at once (a channel's worth of people), each wave after the
        # previous one's work is done: the load a busy SOC channel actually makes.
        waves: list[float] = []
        for _ in range(per_client):
            waves += _load(port, "press", CONCURRENCY, 1, **press)["latencies"]
            answered = _wait_answers(w, answered + CONCURRENCY, 60)

        started = time.monotonic()
        measured = _load(port, "press", CONCURRENCY, per_client, **press)
        total = answered + len(measured["latencies"])
        answers = _wait_answers(w, total, 300) - answered
        last = time.monotonic() - started
        return {
            "alone": alone,
            "waves": waves,
            "floor": floor,
            "press": measured,
            "answers": answers,
            "last answer s": round(last, 1),
            "worked per s": round(answers / last, 1),
        }


def _alert_id(db: Any, ts: str) -> int | None:
    from storage import alerts

    with db.session() as session:
        row = alerts.by_slack_ts(session, CHANNEL, ts)
        return None if row is None else int(row.id)


def _wait_answers(w: Any, expected: int, timeout: float) -> int:
    """Wait until the presser has had `expected` answers through response_url."""
    deadline = time.monotonic() + timeout
    while True:
        count = sum(1 for r in w.slack.responses if r.id == "press")
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.05)
