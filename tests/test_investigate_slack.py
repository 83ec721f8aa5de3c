"""`/pan investigate` by signed request: ack at once, answer in the thread or by response_url."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.app import PanBot
from bot.fakeintel import dataset
from bot.fakeslack.models import Message, ResponsePost
from bot.fakeslack.payloads import slash_command_body
from bot.i18n import Catalog
from bot.simulator import scenarios as sc
from storage import Database, alerts
from tests.harness import (
    CHANNEL,
    FakeClock,
    SlackRequests,
    World,
    bot_settings,
    response_json,
    settle,
    world,
)

EN = Catalog("en")


@pytest.fixture
def running(database: Database) -> Iterator[tuple[World, PanBot, SlackRequests]]:
    with world() as w:
        w.simulator.act_polls = 0  # log jobs finish at once: no polling sleeps
        bot = PanBot(
            bot_settings(w, database, PANBOT_ACK_REMINDER_MINUTES=0),
            clock=FakeClock(),
            migrate=False,
            slack_min_interval=0.0,
            enrichment_per_minute_override=600,
        )
        bot.start(jobs=False)
        requests = SlackRequests(bot)
        try:
            yield w, bot, requests
        finally:
            requests.close()
            bot.stop()


def _ask(w: World, requests: SlackRequests, text: str, answer_id: str) -> dict[str, object]:
    body = slash_command_body(text=text, response_url=w.slack.response_url(answer_id))
    response = requests.post(body)
    assert response.status_code == 200
    return response_json(response)


def _answer(w: World, answer_id: str) -> ResponsePost:
    def find() -> ResponsePost | None:
        return next((r for r in w.slack.responses if r.id == answer_id), None)

    return w.slack.wait_for(find, timeout=10)


def test_investigate_values_answer_ephemerally(
    running: tuple[World, PanBot, SlackRequests],
) -> None:
    w, _, requests = running
    asks = {  # answer id: (typed, as normalised by the parser)
        "ip": (sc.SPYWARE_HOST, sc.SPYWARE_HOST),
        "sha": (sc.NOISE_WILDFIRE_SHA256.upper(), sc.NOISE_WILDFIRE_SHA256),
        "cve": (dataset.IE_CVE.lower(), dataset.IE_CVE),
        "threat": (dataset.WIRELURKER_SIGNATURE_ID, dataset.WIRELURKER_SIGNATURE_ID),
    }
    for answer_id, (typed, normalised) in asks.items():
        ack = _ask(w, requests, f"investigate {typed}", answer_id)
        assert ack["response_type"] == "ephemeral"
        assert EN.t("answer.investigating", subject=normalised) in str(ack["text"])
    answers = {answer_id: _answer(w, answer_id) for answer_id in asks}
    for post in answers.values():
        assert post.body["response_type"] == "ephemeral"
        assert "actions" not in str(post.body["blocks"])  # no buttons without an alert
    assert "WireLurker" in answers["ip"].rendered
    assert EN.t("warning.wildfire_informational") in answers["sha"].rendered
    assert EN.t("recommend.not_urgent", host="192.168.10.66") in answers["sha"].rendered
    assert dataset.IE_SIGNATURE_NAME in answers["cve"].rendered
    assert "9.3" in answers["cve"].rendered
    assert "WireLurker" in answers["threat"].rendered
    assert w.slack.parents(CHANNEL) == []  # values never post into the channel


def test_investigate_an_alert_posts_into_its_thread(
    running: tuple[World, PanBot, SlackRequests], database: Database
) -> None:
    w, bot, requests = running
    bot.poller.poll_all()
    settle(bot)
    with database.session() as session:
        spyware = next(iter(alerts.all_for_rule(session, "spyware")))
    assert spyware.slack_ts is not None
    before = len(w.slack.replies(CHANNEL, spyware.slack_ts))
    ack = _ask(w, requests, f"investigate #{spyware.id}", "alert")
    assert EN.t("answer.investigating", subject=f"#{spyware.id}") in str(ack["text"])
    answer = _answer(w, "alert")
    assert EN.t("answer.investigation_posted", alert_id=spyware.id) in answer.rendered
    thread = spyware.slack_ts

    def grown() -> list[Message] | None:
        replies = w.slack.replies(CHANNEL, thread)
        return replies if len(replies) > before else None

    replies = w.slack.wait_for(grown, timeout=10)
    assert "WireLurker" in replies[-1].rendered

    _ask(w, requests, "investigate #999", "missing")
    assert EN.t("error.alert_not_found", alert_id=999) in _answer(w, "missing").rendered


def test_invalid_values_are_refused_before_any_query(
    running: tuple[World, PanBot, SlackRequests],
) -> None:
    w, _, requests = running
    for text in ("10.0.0.1;rm", "CVE-20-1", "' or 1=1", "example.com", ""):
        ack = _ask(w, requests, f"investigate {text}", "bad")
        assert ack["response_type"] == "ephemeral"
        assert ":warning:" in str(ack["blocks"])
        assert not str(ack["text"]).startswith(EN.t("answer.investigating", subject=""))
    assert w.simulator.log_queries() == []
    assert w.intel.requests == []
    assert w.slack.responses == []
