"""3. end to end: from a log's appearance in the simulator to its parent message in Slack.

A real `PanBot` (poll interval 1 s, Slack pacing as in production) runs its scheduler
against the simulator and fake Slack. Each log gets a host of its own, so each opens an
alert; the next log is appended a random fraction of a second after the previous parent
arrived, so the samples spread over the poll cycle. Measured twice: as shipped, and with
the automatic investigation off (no thread reply competes with the next parent for the
channel's one message per second), to show where the time goes.
"""

from __future__ import annotations

import random
import time
from typing import Any

from benchmarks.common import (
    CHANNEL,
    Config,
    Result,
    ms,
    percentile,
    running_bot,
    scratch_database,
    threat_fields,
    world,
)

INTERVAL = 1.0


def run(cfg: Config) -> Result:
    result = Result("e2e")
    n = cfg.size(30, 2)
    result.figure("logs per backend and mode", n)
    result.figure("poll interval s", INTERVAL)
    rng = random.Random(7)
    for backend in cfg.backends:
        for replies in (True,) if cfg.smoke else (True, False):
            mode = backend if replies else f"{backend}, investigation off"
            latencies, poll_ms = _measure(backend, n, rng, replies=replies)
            p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
            result.figure(f"{mode}: p50 ms", ms(p50))
            result.figure(f"{mode}: p95 ms", ms(p95))
            result.figure(f"{mode}: max ms", ms(max(latencies)))
            result.figure(f"{mode}: mean poll (one rule) ms", poll_ms)
            result.goal(f"{mode}: p95 <= interval + 0.5 s", p95 <= INTERVAL + 0.5)
    return result


def _mean_poll_ms(bot: Any) -> float:
    total = count = 0.0
    for metric in bot.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "panbot_poll_duration_seconds_sum":
                total += sample.value
            elif sample.name == "panbot_poll_duration_seconds_count":
                count += sample.value
    return ms(total / count) if count else 0.0


def _measure(
    backend: str, n: int, rng: random.Random, *, replies: bool
) -> tuple[list[float], float]:
    latencies: list[float] = []
    with world() as w, scratch_database(backend, "e2e") as url, running_bot(w, url) as bot:
        if not replies:
            bot.scheduler.remove_job("investigator")
        time.sleep(1.5)  # the first polls pin the cursors; the scheduler is in its rhythm
        for i in range(n):
            before = len(w.slack.parents(CHANNEL))
            appended = time.monotonic()
            w.simulator.append("threat", **threat_fields(i, host=i, filler=True))
            w.slack.wait_for(lambda b=before: len(w.slack.parents(CHANNEL)) > b or None, 15)
            latencies.append(time.monotonic() - appended)
            time.sleep(rng.uniform(0.0, INTERVAL))
        poll_ms = _mean_poll_ms(bot)
    return latencies, poll_ms
