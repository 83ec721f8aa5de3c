"""Button presses are answered on the event loop and dispatched to Bolt afterwards.

Slack ignores the body of the answer to a `block_actions` payload, so the listener
answers a signed press at once; everything else (and a press past the queue's limit)
still waits for Bolt.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote_plus

import httpx
import pytest
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.fakeslack.payloads import block_actions_body, view_submission_body
from bot.fakeslack.signing import signed_request_headers
from bot.metrics import Metrics
from bot.web import PressLane, WebServer, build_web_app, is_button_press
from storage import Database, audit
from tests.harness import World, world
from tests.triage_support import triaged, wait_until

SECRET = "press-lane-secret"
T = TypeVar("T")
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _form(payload: object) -> bytes:
    return b"payload=" + quote_plus(json.dumps(payload)).encode()


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (_form({"type": "block_actions", "actions": []}), FORM, True),
        (_form({"type": "block_actions"}), FORM, True),
        (b"payload=%7B%22type%22%3A%22block_actions%22%2C%22x%22%3A1%7D", FORM, True),
        (_form({"type": "view_submission", "view": {}}), FORM, False),
        (_form({"type": "block_suggestion"}), FORM, False),
        (_form({"type": "block_actions_v2"}), FORM, False),
        # laid out otherwise: not recognised, so it takes Bolt's road (still answered)
        (_form({"user": {}, "type": "block_actions"}), FORM, False),
        (_form({"type": "block_actions"}), {"content-type": "application/json"}, False),
        (b"command=%2Fpan&text=help", FORM, False),
        (b"payload=%ZZ%7B", FORM, False),
        (b"payload=\xff\xfe", FORM, False),
        (b"", FORM, False),
    ],
)
def test_what_counts_as_a_button_press(
    body: bytes, headers: dict[str, str], expected: bool
) -> None:
    assert is_button_press(body, headers) is expected


class Lane:
    """A Bolt app with one button whose listener waits for the test's go."""

    def __init__(self, w: World, limit: int) -> None:
        self.go = threading.Event()
        self.done: list[str] = []
        # Bolt asks auth.test on its first request: the fake Slack answers it.
        client = WebClient(token=w.slack.bot_token, base_url=w.slack.api_url)
        self.bolt = App(signing_secret=SECRET, client=client, token_verification_enabled=False)

        @self.bolt.action("hold")
        def hold(ack: Ack, body: dict[str, object]) -> None:
            ack(text="answered by Bolt")
            self.go.wait(10)
            self.done.append(str(body["type"]))

        @self.bolt.view("modal")
        def modal(ack: Ack) -> None:
            ack(response_action="errors", errors={"b": "no"})

        self.pool = ThreadPoolExecutor(2)
        self.metrics = Metrics()
        lane = PressLane(self.bolt, SECRET, self.pool, self.metrics, limit=limit)
        app = build_web_app(
            bolt=self.bolt, health=lambda: (True, {}), metrics=lambda: b"", presses=lane
        )
        self.server = WebServer(app, "127.0.0.1", 0)
        self.server.start()
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", timeout=10)

    def gauge(self, name: str) -> float | None:
        return self.metrics.registry.get_sample_value(name)

    def post(self, body: str, secret: str = SECRET) -> tuple[int, bytes]:
        headers = signed_request_headers(secret, body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = self.client.post("/slack/events", content=body.encode(), headers=headers)
        return response.status_code, response.content


def _press() -> str:
    return block_actions_body("hold", "1", "U1", "C1", "1.2", response_url="http://127.0.0.1:9/r")


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


@pytest.fixture
def lane(w: World) -> Iterator[Lane]:
    made = Lane(w, limit=1)
    yield made
    made.go.set()
    made.client.close()
    made.server.stop()
    made.pool.shutdown(wait=True)


def test_a_press_is_answered_before_its_listener_finishes(lane: Lane) -> None:
    assert lane.post(_press()) == (200, b"")
    assert lane.done == []  # the listener is still waiting: the answer did not
    assert lane.gauge("panbot_presses_waiting") == 1
    lane.go.set()
    wait_until(lambda: lane.done == ["block_actions"])
    wait_until(lambda: lane.gauge("panbot_presses_waiting") == 0)


def test_a_press_past_the_queue_limit_waits_for_bolt(lane: Lane) -> None:
    assert lane.post(_press()) == (200, b"")  # takes the one place in the queue
    status, body = lane.post(_press())  # no room: Bolt answers, after the ack
    assert status == 200 and b"answered by Bolt" in body
    assert lane.gauge("panbot_presses_queue_full_total") == 1
    lane.go.set()
    wait_until(lambda: len(lane.done) == 2)


def test_a_badly_signed_press_is_refused_and_never_dispatched(lane: Lane) -> None:
    assert lane.post(_press(), secret="not-the-secret")[0] == 401
    lane.go.set()
    lane.pool.shutdown(wait=True)
    assert lane.done == []


def test_a_modal_submission_still_gets_bolts_answer(lane: Lane) -> None:
    body = view_submission_body("modal", "1", {}, "U1")
    status, content = lane.post(body)
    assert status == 200
    assert json.loads(content) == {"response_action": "errors", "errors": {"b": "no"}}


def test_a_real_press_is_answered_empty_and_its_work_lands(w: World, database: Database) -> None:
    with triaged(w, database) as t:
        alert = t.alert_id("vulnerability")
        parent = t.parent(alert)
        body = block_actions_body(
            "ack",
            str(alert),
            "U0ALICE",
            "C0ALERTS",
            parent.ts,
            response_url=w.slack.response_url("lane"),
            message_blocks=parent.blocks,
        )
        response = t.requests.post(body)
        assert (response.status_code, response.content) == (200, b"")
        t.wait_audit(alert, "ack")
        with database.session() as s:
            assert [r.actor for r in audit.for_alert(s, alert) if r.action == "ack"] == ["U0ALICE"]


class RecordingPool(ThreadPoolExecutor):
    """A real pool that also records when each press was handed to it."""

    def __init__(self) -> None:
        super().__init__(2)
        self.handed: list[float] = []
        self.closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if self.closed:
            raise RuntimeError("cannot schedule new futures after shutdown")
        self.handed.append(time.monotonic())
        return super().submit(fn, *args, **kwargs)


def _signed(body: str) -> tuple[bytes, dict[str, str]]:
    headers = {k.lower(): v for k, v in signed_request_headers(SECRET, body).items()}
    return body.encode(), {**headers, **FORM}


@pytest.fixture
def bare(w: World) -> Iterator[tuple[Lane, RecordingPool]]:
    made = Lane(w, limit=100)
    made.go.set()
    pool = RecordingPool()
    yield made, pool
    made.client.close()
    made.server.stop()
    pool.shutdown(wait=True)


def test_a_wave_is_answered_before_any_of_it_is_dispatched(
    bare: tuple[Lane, RecordingPool],
) -> None:
    made, pool = bare
    lane = PressLane(made.bolt, SECRET, pool, made.metrics, quiet=0.5, hold=5.0)
    body, headers = _signed(_press())

    async def wave() -> list[int]:
        statuses = []
        for _ in range(5):
            statuses.append(lane.take(body, headers, ""))
            await asyncio.sleep(0.001)  # the loop runs between presses, as under load
        assert pool.handed == []  # all answered, none handed over yet
        await asyncio.sleep(1.0)
        return [s or 0 for s in statuses]

    assert asyncio.run(wave()) == [200] * 5
    assert len(pool.handed) == 5
    wait_until(lambda: len(made.done) == 5)
    assert made.gauge("panbot_presses_waiting") == 0


def test_presses_that_never_stop_are_still_dispatched_within_the_hold(
    bare: tuple[Lane, RecordingPool],
) -> None:
    made, pool = bare
    # Quiet never comes (a press every 10 ms, quiet 1 s): only the hold lets work start.
    lane = PressLane(made.bolt, SECRET, pool, made.metrics, quiet=1.0, hold=0.05)
    body, headers = _signed(_press())

    async def steady() -> None:
        for _ in range(30):
            assert lane.take(body, headers, "") == 200
            await asyncio.sleep(0.01)

    asyncio.run(steady())
    assert pool.handed, "nothing was dispatched while presses kept coming"
    lane.release()
    wait_until(lambda: len(made.done) == 30)


def test_presses_held_at_shutdown_are_dispatched_not_dropped(
    bare: tuple[Lane, RecordingPool],
) -> None:
    made, pool = bare
    lane = PressLane(made.bolt, SECRET, pool, made.metrics, quiet=60.0, hold=60.0)
    body, headers = _signed(_press())

    async def answer() -> None:
        assert lane.take(body, headers, "") == 200
        assert lane.take(body, headers, "") == 200

    asyncio.run(answer())  # the loop is gone, its timer never fired
    assert pool.handed == [] and made.done == []
    pool.closed = True  # and the pool is shut: the presses are worked off in line
    lane.release()
    assert made.done == ["block_actions", "block_actions"]
    assert made.gauge("panbot_presses_waiting") == 0
