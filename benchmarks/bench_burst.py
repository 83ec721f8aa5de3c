"""4. burst: thousands of matching logs from hundreds of hosts at once, against `panbot run`.

The bot runs as its own process (`python -m bot run`, poll interval 1 s, production Slack
pacing) so that its memory is its own. The benchmark appends the burst to the simulator,
waits until every event is stored, then watches Slack for a while: parents posted,
calls per second, and the most posts in any one second.

Slack allows one post per second per channel with short bursts; the bot paces to a token
bucket of `PANBOT_SLACK_BURST` (bot/pacing.py), and the fake Slack enforces the same rule,
answering 429 to a post that finds the channel's bucket empty. So the checks are: no more
than the burst in any one second, at most one a second sustained over the whole run
(posts beyond the burst / time from the first post to the last), and no 429.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import (
    CHANNEL,
    Config,
    Result,
    panbot_process,
    rss_mb,
    scratch_database,
    threat_fields,
    world,
)
from bot.config import Settings


@dataclass
class ProcessRun:
    """What one `panbot run` process did with one burst."""

    backend: str
    logs: int
    hosts: int
    figures: dict[str, Any] = field(default_factory=dict)


# The bot's default burst; the fake Slack is told to enforce the same.
SLACK_BURST: int = Settings.model_fields["slack_burst"].default

# A burst run serves both this benchmark and `memory`; the runner runs each at most once.
_RUNS: dict[tuple[str, bool], ProcessRun] = {}


def run(cfg: Config) -> Result:
    result = Result("burst")
    for backend in cfg.backends:
        burst = process_run(cfg, backend)
        result.figure(f"{backend}: logs / hosts", f"{burst.logs:,} / {burst.hosts}")
        for key, value in burst.figures.items():
            result.figure(f"{backend}: {key}", value)
        result.goal(
            f"{backend}: never more than {SLACK_BURST} posts in any 1 s in the channel",
            burst.figures["most posts in any 1 s"] <= SLACK_BURST,
        )
        result.goal(
            f"{backend}: sustained, at most 1 post/s in the channel",
            burst.figures["posts beyond the burst per s, first post to last"] <= 1.0,
        )
        result.goal(
            f"{backend}: no 429 from a Slack enforcing the same rule",
            burst.figures["Slack 429s"] == 0,
        )
        result.goal(
            f"{backend}: one parent per host (grouping)",
            burst.figures["alerts opened"] == burst.hosts,
        )
    return result


def process_run(cfg: Config, backend: str) -> ProcessRun:
    """Run (once per backend and size) a burst against a `panbot run` process."""
    key = (backend, cfg.smoke)
    if key not in _RUNS:
        _RUNS[key] = _run_process(
            backend,
            logs=cfg.size(10_000, 300),
            hosts=cfg.size(200, 20),
            idle=cfg.size(5.0, 0.5),
            watch=cfg.size(20.0, 1.0),
        )
    return _RUNS[key]


def _run_process(backend: str, *, logs: int, hosts: int, idle: float, watch: float) -> ProcessRun:
    from storage import Database, alerts, events

    out = ProcessRun(backend, logs, hosts)
    with (
        world() as w,
        scratch_database(backend, "burst") as url,
        panbot_process(w, url, PANBOT_SLACK_BURST=str(SLACK_BURST)) as bot,
    ):
        w.slack.enforce_rate_limit(1.0, burst=SLACK_BURST)
        process = bot.process
        db = Database(url)
        try:
            time.sleep(idle)  # a few idle polls of all five rules
            out.figures["idle RSS MB"] = rss_mb(process.pid)[0]

            started = time.monotonic()
            moment = w.simulator.store.now()
            for i in range(logs):
                w.simulator.append(
                    "threat", **threat_fields(i, host=i % hosts, receive_time=moment)
                )
            appended = time.monotonic() - started
            while _stored(db, events) < logs:
                bot.check_alive()
                if time.monotonic() - started > 600:
                    raise TimeoutError("the burst was not stored within 10 minutes")
                time.sleep(0.1)
            stored_s = time.monotonic() - started
            out.figures["appending to the simulator s"] = round(appended, 1)
            out.figures["all stored after s"] = round(stored_s, 1)
            out.figures["RSS when stored MB"] = rss_mb(process.pid)[0]

            calls_before = len(w.slack.calls)
            parents_before = len(w.slack.parents(CHANNEL))
            time.sleep(watch)
            calls = len(w.slack.calls) - calls_before
            with db.session() as session:
                opened = len(alerts.all_for_rule(session, "vulnerability"))
            current, peak = rss_mb(process.pid)
            out.figures["alerts opened"] = opened
            out.figures["parents posted by the end of watching"] = len(w.slack.parents(CHANNEL))
            out.figures[f"parents posted in {watch:g} s watched"] = (
                len(w.slack.parents(CHANNEL)) - parents_before
            )
            out.figures["Slack calls/s while watching"] = round(calls / watch, 2)
            out.figures["most posts in any 1 s"] = w.slack.max_posts_per_second(CHANNEL)
            out.figures.update(_sustained(w.slack.post_times(CHANNEL)))
            out.figures["Slack 429s"] = w.slack.ratelimited_count("chat.postMessage")
            out.figures["RSS after burst MB"] = current
            out.figures["peak RSS MB"] = peak
        finally:
            db.dispose()
    return out


def _sustained(times: list[float]) -> dict[str, Any]:
    """The channel's post rate from its first post to its last, over the whole run.

    A token bucket allows `burst + span / interval` posts in a span, so the posts beyond
    the burst, per second of span, must not exceed one.
    """
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "posts in the channel": len(times),
        "posts/s, first post to last": round((len(times) - 1) / span, 3) if span else 0.0,
        "posts beyond the burst per s, first post to last": (
            round(max(0, len(times) - SLACK_BURST) / span, 4) if span else 0.0
        ),
    }


def _stored(db: Any, events: Any) -> int:
    with db.session() as session:
        return int(events.count(session))
