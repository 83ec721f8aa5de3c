"""The notifier's per-channel token bucket, end to end against the fake Slack.

Most tests run the pacing on a clock of their own that moves only when the notifier
sleeps, so waits are exact; the fake Slack still answers over real HTTP.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.app import PanBot
from bot.notifier import Notifier
from bot.rendering import RAW
from bot.simulator.filters import parse_filter
from storage import Database, outbox
from storage.models import AlertRow
from tests.harness import CHANNEL, FakeClock, World, make_bot, world

SPYWARE = "( severity eq critical ) and ( subtype eq spyware ) and ( action eq alert )"


class Ticker:
    """Monotonic seconds that pass only when the notifier sleeps; hooks run when due."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.hooks: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for hook in [h for h in self.hooks if h[0] <= self.now]:
            self.hooks.remove(hook)
            hook[1]()


class TimedClient(WebClient):
    """Notes the ticker's time of every accepted post: (time, parent?, text)."""

    def __init__(self, ticker: Ticker, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ticker = ticker
        self.posted: list[tuple[float, bool, str]] = []

    def chat_postMessage(self, **kwargs: Any) -> SlackResponse:
        response = super().chat_postMessage(**kwargs)
        self.posted.append((self.ticker(), "thread_ts" not in kwargs, str(kwargs.get("text"))))
        return response


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


@pytest.fixture
def bot(w: World, sqlite_database: Database) -> Iterator[PanBot]:
    made = make_bot(w, sqlite_database, http=False)
    try:
        yield made
    finally:
        made.stop()


def notifier(
    bot: PanBot, client: WebClient, *, burst: int, interval: float = 1.0, ticker: Ticker | None
) -> Notifier:
    timed: dict[str, Any] = {"sleep": ticker.sleep, "monotonic": ticker} if ticker else {}
    return Notifier(
        db=bot.db,
        client=client,
        channel=CHANNEL,
        renderer=bot.renderer,
        clock=bot.clock,
        metrics=bot.metrics,
        min_interval=interval,
        burst=burst,
        **timed,
    )


def timed_client(w: World, ticker: Ticker) -> TimedClient:
    return TimedClient(ticker, token=w.slack.bot_token, base_url=w.slack.api_url)


def alert_ids(db: Database) -> list[int]:
    with db.session() as s:
        return sorted(a.id for a in s.query(AlertRow).all())


def queue_replies(db: Database, replies: list[tuple[int, str]]) -> None:
    with db.session() as s:
        for alert_id, text in replies:
            outbox.enqueue_reply(s, alert_id, {"type": RAW, "text": text, "blocks": []})


def new_alert(w: World, bot: PanBot) -> None:
    """One more log on a host of its own: a new alert, its parent queued."""
    template = w.simulator.store.query("threat", parse_filter(SPYWARE), nlogs=1)[0]
    fields = {
        k: v
        for k, v in template.items()
        if k not in {"seqno", "receive_time", "time_generated", "high_res_timestamp", "logid"}
    }
    fields["src"] = "192.168.10.250"
    w.simulator.append("threat", **fields)
    bot.poller.poll_all()


def test_two_parents_go_back_to_back_then_one_a_second(w: World, bot: PanBot) -> None:
    ticker = Ticker()
    client = timed_client(w, ticker)
    bot.poller.poll_all()
    assert notifier(bot, client, burst=2, ticker=ticker).drain() == 5
    times = [t - 1000.0 for t, parent, _ in client.posted if parent]
    assert times == pytest.approx([0, 0, 1, 2, 3])


def test_a_new_parent_goes_before_the_replies_that_wait_for_a_spare_token(
    w: World, bot: PanBot
) -> None:
    ticker = Ticker()
    client = timed_client(w, ticker)
    bot.poller.poll_all()
    sender = notifier(bot, client, burst=2, ticker=ticker)
    sender.drain()  # five parents, the last at +3 s: the bucket is empty, full at +5 s
    first, second = alert_ids(bot.db)[:2]
    queue_replies(bot.db, [(first, "1a"), (second, "2a"), (first, "1b")])
    # At +4.35 s the bucket holds 1.35 tokens: one for a parent, none spare for a reply.
    appeared = ticker.now + 1.35
    ticker.hooks.append((appeared, lambda: new_alert(w, bot)))
    client.posted.clear()

    assert sender.drain() == 4

    kinds = [("parent" if parent else text) for _, parent, text in client.posted]
    assert kinds == ["parent", "1a", "2a", "1b"]  # replies of one alert stay in order
    parent_at = client.posted[0][0]
    # Seen within one nap, and posted at once: replies kept a token for it.
    assert appeared <= parent_at <= appeared + 0.1 + 1e-9
    times = [t for t, _, _ in client.posted]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(times[1:]))
    assert w.slack.ratelimited_count() == 0


def test_replies_go_as_soon_as_the_bucket_refills_when_no_parent_comes(
    w: World, bot: PanBot
) -> None:
    ticker = Ticker()
    client = timed_client(w, ticker)
    bot.poller.poll_all()
    sender = notifier(bot, client, burst=2, ticker=ticker)
    sender.drain()
    start = ticker.now
    first = alert_ids(bot.db)[0]
    queue_replies(bot.db, [(first, "a"), (first, "b"), (first, "c")])
    client.posted.clear()
    assert sender.drain() == 3
    # Five parents left the bucket empty, full at +2 s; then one reply per second.
    assert [t - start for t, _, _ in client.posted] == pytest.approx([2, 3, 4])


def _raw(text: str) -> dict[str, Any]:
    return {"type": RAW, "text": text, "blocks": []}


def test_reply_edits_take_no_token_and_never_overtake_their_reply(w: World, bot: PanBot) -> None:
    ticker = Ticker()
    client = timed_client(w, ticker)
    bot.poller.poll_all()
    sender = notifier(bot, client, burst=2, ticker=ticker)
    sender.drain()  # five parents: the bucket is empty
    first, second = alert_ids(bot.db)[:2]
    with bot.db.session() as s:
        for alert_id in (first, second):
            outbox.enqueue_reply(s, alert_id, _raw(f"asked {alert_id}"), f"ask:{alert_id}")
            outbox.enqueue_edit(s, alert_id, f"ask:{alert_id}", _raw(f"answered {alert_id}"))
    client.posted.clear()

    assert sender.drain() == 4  # each reply waited for a token; each edit, for its reply
    assert [text for _, _, text in client.posted] == [f"asked {first}", f"asked {second}"]
    replies = [w.slack.replies(CHANNEL, w.slack.parents(CHANNEL)[i].ts) for i in (0, 1)]
    assert [(r.text, r.edits) for [r] in replies] == [
        (f"answered {first}", 1),
        (f"answered {second}", 1),
    ]

    naps = len(ticker.slept)
    with bot.db.session() as s:
        for n in range(3):
            for alert_id in (first, second):
                outbox.enqueue_edit(s, alert_id, f"ask:{alert_id}", _raw(f"again {alert_id} {n}"))
    assert sender.drain() == 6
    assert len(ticker.slept) == naps  # not one wait: a chat.update spends no channel token
    assert len(client.posted) == 2
    replies = [w.slack.replies(CHANNEL, w.slack.parents(CHANNEL)[i].ts) for i in (0, 1)]
    assert [(r.text, r.edits) for [r] in replies] == [
        (f"again {first} 2", 4),
        (f"again {second} 2", 4),
    ]


def test_burst_1_is_strict_one_post_a_second(w: World, bot: PanBot) -> None:
    ticker = Ticker()
    client = timed_client(w, ticker)
    bot.poller.poll_all()
    sender = notifier(bot, client, burst=1, ticker=ticker)
    sender.drain()
    first = alert_ids(bot.db)[0]
    queue_replies(bot.db, [(first, "a")])
    sender.drain()
    times = [t - 1000.0 for t, _, _ in client.posted]
    assert times == pytest.approx([0, 1, 2, 3, 4, 5])


def test_a_429_empties_the_channels_bucket(w: World, bot: PanBot) -> None:
    ticker = Ticker()
    client = timed_client(w, ticker)
    bot.poller.poll_all()
    sender = notifier(bot, client, burst=2, ticker=ticker)
    w.slack.fail_next("chat.postMessage", 1, status=429, retry_after=1)
    assert sender.drain() == 0
    assert isinstance(bot.clock, FakeClock)
    bot.clock.advance(timedelta(seconds=2))  # past Retry-After
    assert sender.drain() == 5
    # A full bucket would have let two go at once; an empty one makes the first wait.
    assert ticker.slept[0] == pytest.approx(1.0)
    assert w.slack.ratelimited_count("chat.postMessage") == 1
    assert len(w.slack.parents(CHANNEL)) == 5


def test_stop_ends_the_nap_of_held_replies_at_once(w: World, bot: PanBot) -> None:
    bot.poller.poll_all()
    bot.notifier.drain()  # unpaced: the parents are out of the way
    sender = notifier(bot, bot.notifier_slack, burst=2, interval=30.0, ticker=None)
    first = alert_ids(bot.db)[0]
    queue_replies(bot.db, [(first, "goes"), (first, "held for 30 s")])
    done = threading.Event()

    def drain() -> None:
        sender.drain(budget=60)
        done.set()

    worker = threading.Thread(target=drain)
    worker.start()
    time.sleep(0.3)
    assert not done.is_set()
    begun = time.monotonic()
    sender.stop()
    worker.join(5)
    assert done.is_set() and time.monotonic() - begun < 0.5
    texts = [m.text for m in w.slack.messages(CHANNEL)]
    assert "goes" in texts and "held for 30 s" not in texts


def test_against_a_fake_enforcing_the_same_burst_nothing_is_refused(w: World, bot: PanBot) -> None:
    w.slack.enforce_rate_limit(0.3, burst=2)
    bot.poller.poll_all()
    sender = notifier(bot, bot.notifier_slack, burst=2, interval=0.3, ticker=None)
    sender.drain()
    queue_replies(bot.db, [(alert_id, f"r{alert_id}") for alert_id in alert_ids(bot.db)])
    while sender.drain():
        pass
    assert len(w.slack.messages(CHANNEL)) == 10
    assert w.slack.ratelimited_count() == 0
    assert w.slack.max_posts_per_second(CHANNEL, window=0.3) <= 2


def test_the_fake_enforces_a_token_bucket(w: World) -> None:
    client = WebClient(token=w.slack.bot_token, base_url=w.slack.api_url)
    w.slack.enforce_rate_limit(0.5, burst=2)
    client.chat_postMessage(channel=CHANNEL, text="1")
    client.chat_postMessage(channel=CHANNEL, text="2")
    with pytest.raises(Exception, match="ratelimited"):
        client.chat_postMessage(channel=CHANNEL, text="3")
    time.sleep(0.55)
    client.chat_postMessage(channel=CHANNEL, text="4")
    with pytest.raises(Exception, match="ratelimited"):
        client.chat_postMessage(channel=CHANNEL, text="5")
    assert w.slack.ratelimited_count("chat.postMessage") == 2
    with pytest.raises(ValueError, match="burst"):
        w.slack.enforce_rate_limit(1.0, burst=0)
