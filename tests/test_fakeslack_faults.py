"""FakeSlack's failure injection and rate tracking, as slack-sdk's retry handlers see them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.fakeslack import FakeSlack

ALERTS = "C0ALERTS"
QUICK = FixedValueRetryIntervalCalculator(0.01)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeSlack) -> FakeSlack:
    server.reset()
    return server


def bare_client(fake: FakeSlack) -> WebClient:
    """A client with no retries at all, so every fault surfaces."""
    client = WebClient(token=fake.bot_token, base_url=fake.api_url)
    client.retry_handlers = []
    return client


def test_429_carries_retry_after_and_is_counted(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", 1, status=429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        bare_client(fake).chat_postMessage(channel=ALERTS, text="x")
    response = info.value.response
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response["error"] == "ratelimited"
    assert fake.ratelimited_count("chat.postMessage") == 1
    assert fake.ratelimited_count() == 1
    assert fake.messages() == []


def test_rate_limit_retry_handler_honours_retry_after_and_posts_once(fake: FakeSlack) -> None:
    client = WebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.fail_next("chat.postMessage", 1, status=429, retry_after=0)
    started = time.monotonic()
    response = client.chat_postMessage(channel=ALERTS, text="alert")
    assert response["ok"]
    assert len(fake.calls_to("chat.postMessage")) == 2
    assert fake.ratelimited_count("chat.postMessage") == 1
    assert [m.text for m in fake.messages(ALERTS)] == ["alert"]
    assert time.monotonic() - started < 5


def test_faults_apply_to_one_method_only_and_run_out(fake: FakeSlack) -> None:
    client = bare_client(fake)
    fake.fail_next("chat.update", 1, status=500)
    assert client.auth_test()["ok"]
    with pytest.raises(SlackApiError):
        client.chat_update(channel=ALERTS, ts="1.1", text="x")
    with pytest.raises(SlackApiError) as info:
        client.chat_update(channel=ALERTS, ts="1.1", text="x")
    assert info.value.response["error"] == "message_not_found"


def test_500_surfaces_as_an_error_and_server_error_handler_retries(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", 1, status=500)
    with pytest.raises(SlackApiError) as info:
        bare_client(fake).chat_postMessage(channel=ALERTS, text="x")
    assert info.value.response.status_code == 500
    assert fake.messages() == []

    fake.fail_next("chat.postMessage", 1, status=503)
    retrying = WebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[ServerErrorRetryHandler(interval_calculator=QUICK)],
    )
    assert retrying.chat_postMessage(channel=ALERTS, text="second")["ok"]
    assert [m.text for m in fake.messages()] == ["second"]


def test_dropped_connection_surfaces_as_a_network_error(fake: FakeSlack) -> None:
    fake.drop_next("chat.postMessage")
    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected
        bare_client(fake).chat_postMessage(channel=ALERTS, text="x")
    assert fake.messages() == []
    assert len(fake.calls_to("chat.postMessage")) == 1
    # The server keeps serving after the cut.
    assert bare_client(fake).chat_postMessage(channel=ALERTS, text="y")["ok"]


def test_connection_error_handler_recovers_from_a_drop(fake: FakeSlack) -> None:
    fake.drop_next("chat.postMessage")
    client = WebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK)],
    )
    assert client.chat_postMessage(channel=ALERTS, text="x")["ok"]
    assert len(fake.calls_to("chat.postMessage")) == 2
    assert len(fake.messages()) == 1


def test_fail_next_refuses_a_success_status(fake: FakeSlack) -> None:
    with pytest.raises(ValueError, match="HTTP error"):
        fake.fail_next("auth.test", 1, status=200)


def test_reset_clears_queued_faults(fake: FakeSlack) -> None:
    fake.fail_next("auth.test", 3, status=500)
    fake.reset()
    assert bare_client(fake).auth_test()["ok"]


def test_post_times_and_the_busiest_second(fake: FakeSlack) -> None:
    client = bare_client(fake)
    for i in range(3):
        client.chat_postMessage(channel=ALERTS, text=str(i))
    times = fake.post_times(ALERTS)
    assert len(times) == 3
    assert times == sorted(times)
    assert fake.max_posts_per_second(ALERTS) == 3
    assert fake.post_times("C0GENERAL") == []
    assert fake.max_posts_per_second("C0GENERAL") == 0


def test_enforced_rate_limit_answers_429_per_channel(fake: FakeSlack) -> None:
    client = bare_client(fake)
    fake.enforce_rate_limit(1.0)
    client.chat_postMessage(channel=ALERTS, text="first")
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=ALERTS, text="too soon")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    client.chat_postMessage(channel="U0ALICE", text="another channel is fine")
    assert fake.ratelimited_count("chat.postMessage") == 1
    assert fake.max_posts_per_second(ALERTS) == 1
    fake.enforce_rate_limit(None)
    client.chat_postMessage(channel=ALERTS, text="limit off")
    assert [m.text for m in fake.parents(ALERTS)] == ["first", "limit off"]
