"""5. interaction: a signed button press in, HTTP 200 out, 50 presses in flight at once.

The bot runs in HTTP mode (uvicorn + Bolt) with one alert posted; 50 clients each press
its Acknowledge button in a loop, every request signed as Slack signs it. The figure is
the time to the bot's acknowledgement (what Slack waits 3 s for); the work after it
(the triage step, the answer through response_url) runs on and competes for the CPU.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from benchmarks.common import (
    CHANNEL,
    SIGNING_SECRET,
    Config,
    Result,
    ms,
    percentile,
    running_bot,
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
        latencies, statuses, wall, floor, alone = _measure(backend, per_client)
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        result.figure(f"{backend}: one press at a time, p50 ms", ms(percentile(alone, 50)))
        result.figure(f"{backend}: GET /metrics x50 at once, p99 ms", ms(percentile(floor, 99)))
        result.figure(f"{backend}: p50 ms", ms(p50))
        result.figure(f"{backend}: p99 ms", ms(p99))
        result.figure(f"{backend}: max ms", ms(max(latencies)))
        result.figure(f"{backend}: presses/s", round(len(latencies) / wall, 1))
        result.figure(f"{backend}: HTTP statuses", dict(sorted(statuses.items())))
        result.goal(f"{backend}: every press answered 200", set(statuses) == {200})
        result.goal(f"{backend}: p99 < 100 ms", p99 < 0.1)
    return result


Measured = tuple[list[float], dict[int, int], float, list[float], list[float]]


def _measure(backend: str, per_client: int) -> Measured:
    from bot.fakeslack.payloads import block_actions_body
    from bot.views.alert import ACK

    with (
        world() as w,
        scratch_database(backend, "press") as url,
        running_bot(w, url, http=True, jobs=False) as bot,
    ):
        w.simulator.append("threat", **threat_fields(0, host=0))
        bot.poller.poll_all()
        bot.notifier.drain(budget=10)
        parent = w.slack.parents(CHANNEL)[0]
        with bot.db.session() as session:
            from storage import alerts

            alert_id = alerts.by_slack_ts(session, CHANNEL, parent.ts).id  # type: ignore[union-attr]
        body = block_actions_body(
            ACK,
            str(alert_id),
            "U0ALICE",
            CHANNEL,
            parent.ts,
            response_url=w.slack.response_url("press"),
        )
        assert bot.web is not None
        endpoint = f"http://127.0.0.1:{bot.web.port}/slack/events"
        metrics = f"http://127.0.0.1:{bot.web.port}/metrics"
        # Baselines: the HTTP stack alone under the same load, and a press with no queue.
        floor = asyncio.run(_get_all(metrics, CONCURRENCY))
        with httpx.Client(timeout=30) as client:
            alone = [_press_once(client, endpoint, body) for _ in range(per_client * 5)]
        time.sleep(0.5)  # their answers through response_url are done
        latencies, statuses, wall = asyncio.run(_press(endpoint, body, per_client))
        return latencies, statuses, wall, floor, alone


def _press_once(client: httpx.Client, endpoint: str, body: str) -> float:
    from bot.fakeslack.signing import signed_request_headers

    started = time.perf_counter()
    response = client.post(
        endpoint, content=body.encode(), headers=signed_request_headers(SIGNING_SECRET, body)
    )
    response.raise_for_status()
    return time.perf_counter() - started


async def _get_all(url: str, n: int) -> list[float]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=n)) as client:
        await client.get(url)

        async def one() -> float:
            started = time.perf_counter()
            (await client.get(url)).raise_for_status()
            return time.perf_counter() - started

        return list(await asyncio.gather(*(one() for _ in range(n))))


async def _press(
    endpoint: str, body: str, per_client: int
) -> tuple[list[float], dict[int, int], float]:
    from bot.fakeslack.signing import signed_request_headers

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def presser() -> None:
            for _ in range(per_client):
                headers = signed_request_headers(SIGNING_SECRET, body)
                started = time.perf_counter()
                response = await client.post(endpoint, content=body.encode(), headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        # one warm-up press: the first request pays for imports and connection set-up
        await client.post(
            endpoint, content=body.encode(), headers=signed_request_headers(SIGNING_SECRET, body)
        )
        started = time.perf_counter()
        await asyncio.gather(*(presser() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - started
    return latencies, statuses, wall
