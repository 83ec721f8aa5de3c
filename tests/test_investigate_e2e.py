"""The investigation job end to end: simulator → poll → playbooks with fake intel → threads.

Real HTTP on 127.0.0.1 throughout, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

import pytest
from sqlalchemy import delete, update

from bot.app import PanBot
from bot.fakeintel import dataset
from bot.fakeslack.models import Message
from bot.i18n import Catalog
from bot.investigator import AlertNotFound
from bot.simulator import scenarios as sc
from storage import Database, alerts, outbox
from storage.models import AlertRow, OutboxRow
from tests.harness import CHANNEL, FakeClock, World, bot_settings, settle, world

SECOND_WILDFIRE_HOST = "192.168.10.58"
ZERO_DAY_HOST = "192.168.10.61"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        started.simulator.act_polls = 0  # log jobs finish at once: no polling sleeps
        yield started


def make_bot(w: World, database: Database, clock: FakeClock | None = None, **env: Any) -> PanBot:
    return PanBot(
        # Reminders off: these threads should hold findings only.
        bot_settings(w, database, **({"PANBOT_ACK_REMINDER_MINUTES": 0} | env)),
        clock=clock or FakeClock(),
        migrate=False,
        enable_http=False,
        slack_min_interval=0.0,
        enrichment_per_minute_override=600,
    )


def add_wildfire_log(w: World, digest: str, host: str) -> None:
    template = next(
        e for e in w.simulator.store.entries("wildfire") if e["filedigest"] == sc.WILDFIRE_SHA256
    )
    skip = {"seqno", "receive_time", "time_generated", "high_res_timestamp", "logid"}
    fields = {k: v for k, v in template.items() if k not in skip}
    w.simulator.append("wildfire", **(fields | {"filedigest": digest, "src": host}))


def finding_messages(w: World, database: Database) -> dict[str, list[Message]]:
    """Each alert's finding replies as they stand now, by rule (rule:host past the first)."""
    found: dict[str, list[Message]] = {}
    with database.session() as session:
        rows = [(a.rule, a.host, a.slack_ts) for a in session.query(AlertRow).order_by(AlertRow.id)]
    for rule, host, ts in rows:
        assert ts is not None, f"the {rule} alert was never posted"
        key = rule if rule not in found else f"{rule}:{host}"
        replies = w.slack.replies(CHANNEL, ts)
        found[key] = [m for m in replies if ":mag:" in m.rendered]  # a finding's title
    return found


def threads(w: World, database: Database) -> dict[str, list[str]]:
    """Each alert's findings (rendered replies), keyed by rule, or rule:host past the first."""
    return {
        key: [m.rendered for m in messages]
        for key, messages in finding_messages(w, database).items()
    }


@pytest.mark.parametrize("language", ["en", "ja"])
def test_each_scenario_thread_gets_its_finding(
    w: World, database: Database, language: Literal["en", "ja"]
) -> None:
    add_wildfire_log(w, dataset.ZERO_DAY_SHA256, ZERO_DAY_HOST)
    catalog = Catalog(language)
    bot = make_bot(w, database, PANBOT_LANGUAGE=language, PANBOT_AV_ENGINES="Kaspersky")
    try:
        bot.poller.poll_all()
        settle(bot)
        assert bot.investigator.run_once() is False  # nothing left, nothing repeated
    finally:
        bot.stop()
    found = threads(w, database)
    assert set(found) == {
        "vulnerability",
        "antivirus",
        "wildfire",
        f"wildfire:{ZERO_DAY_HOST}",
        "spyware",
        "correlation",
    }
    assert all(len(replies) == 1 for replies in found.values()), found
    vulnerability, antivirus = found["vulnerability"][0], found["antivirus"][0]
    wildfire, zero_day = found["wildfire"][0], found[f"wildfire:{ZERO_DAY_HOST}"][0]
    spyware, correlation = found["spyware"][0], found["correlation"][0]
    assert dataset.IE_CVE in vulnerability and "9.3" in vulnerability
    assert "メモリ破損" in vulnerability  # JVN's Japanese note, in either language
    assert catalog.t("finding.nvd_notice") in vulnerability
    assert "20 / 59" in antivirus
    assert catalog.t("recommend.av_prevented", engines="Kaspersky", host=sc.AV_HOST) in antivirus
    assert catalog.t("warning.host_contacted", count=2) in wildfire
    assert sc.WILDFIRE_C2_IP in wildfire
    assert catalog.t("warning.zero_day") in zero_day
    assert catalog.t("recommend.monitor", host=ZERO_DAY_HOST) in zero_day
    assert "WireLurker" in spyware
    assert catalog.t("warning.c2") in spyware
    assert "100 (url 100)" in correlation
    assert catalog.t("recommend.isolate_investigate", host=sc.CORR_HOST) in correlation
    # The CVE found is stored on the alert and shown on its parent.
    with database.session() as session:
        ie = next(iter(alerts.all_for_rule(session, "vulnerability")))
        assert ie.facts["cves"] == [dataset.IE_CVE]
        assert ie.investigated_at is not None
        ts = ie.slack_ts
    assert ts is not None
    parent = w.slack.message(CHANNEL, ts)
    assert parent.edits == 1
    assert dataset.IE_CVE in parent.rendered


def test_the_same_file_is_looked_up_once_across_alerts(w: World, database: Database) -> None:
    add_wildfire_log(w, sc.WILDFIRE_SHA256, SECOND_WILDFIRE_HOST)
    bot = make_bot(w, database)
    try:
        bot.poller.poll_all()
        settle(bot)
    finally:
        bot.stop()
    found = threads(w, database)
    assert "42 / 59" in found["wildfire"][0]
    assert "42 / 59" in found[f"wildfire:{SECOND_WILDFIRE_HOST}"][0]
    assert w.intel.request_count("virustotal") == 2  # the two distinct files of the scenario
    virustotal = [r.target for r in w.intel.requests if r.service == "virustotal"]
    assert sum(sc.WILDFIRE_SHA256 in target for target in virustotal) == 1
    wildfire = [r.form for r in w.intel.requests if r.service == "wildfire"]
    assert len(wildfire) == 2  # one verdict and one report, for both alerts


def test_a_failing_source_is_named_and_the_rest_still_posts(w: World, database: Database) -> None:
    w.intel.fail_next("nvd", 1, status=503)
    bot = make_bot(w, database)
    try:
        bot.poller.poll_all()
        settle(bot)
    finally:
        bot.stop()
    found = threads(w, database)
    assert all(len(replies) == 1 for replies in found.values())
    vulnerability = found["vulnerability"][0]
    catalog = Catalog("en")
    assert catalog.t("source_status.failed", reason="server error (HTTP 503)") in vulnerability
    assert catalog.t("warning.sources_missing") in vulnerability
    assert "メモリ破損" in vulnerability  # JVN still answered
    assert dataset.IE_CVE in vulnerability


def wildfire_still_analysing(w: World, database: Database) -> tuple[PanBot, FakeClock]:
    """A bot on its own clock that has polled and posted while WildFire still analyses."""
    w.intel.add_file(sc.WILDFIRE_SHA256, 42, 59, wildfire_verdict=-100)
    clock = FakeClock()
    bot = make_bot(w, database, clock)
    try:
        bot.poller.poll_all()
        settle(bot)
    except BaseException:
        bot.stop()
        raise
    return bot, clock


def analysis_finishes(w: World, bot: PanBot, clock: FakeClock) -> None:
    """WildFire's verdict arrives; the re-check falls due (twice over) and runs."""
    dataset.seed(w.intel)
    clock.advance(timedelta(minutes=6))
    settle(bot)
    clock.advance(timedelta(minutes=6))
    settle(bot)


def test_pending_wildfire_is_checked_again_and_its_reply_edited(
    w: World, database: Database
) -> None:
    bot, clock = wildfire_still_analysing(w, database)
    catalog = Catalog("en")
    try:
        [first] = finding_messages(w, database)["wildfire"]
        assert catalog.t("finding.pending") in first.rendered
        assert bot.investigator.run_once() is False  # the re-check is not due yet
        analysis_finishes(w, bot, clock)
    finally:
        bot.stop()
    [ready] = finding_messages(w, database)["wildfire"]  # the same reply, edited once
    assert (ready.ts, ready.edits) == (first.ts, 1)
    assert catalog.t("finding.pending") not in ready.rendered
    assert sc.WILDFIRE_C2_DOMAIN in ready.rendered
    assert [c["ts"] for c in w.slack.calls_to("chat.update")].count(first.ts) == 1
    with database.session() as session:
        row = next(iter(alerts.all_for_rule(session, "wildfire")))
        assert "recheck" not in row.facts


def test_a_pending_finding_asked_for_is_edited_too(w: World, database: Database) -> None:
    bot, clock = wildfire_still_analysing(w, database)
    catalog = Catalog("en")
    try:
        with database.session() as session:
            alert_id = next(iter(alerts.all_for_rule(session, "wildfire"))).id
        assert bot.investigator.investigate_alert(alert_id, actor="U0ALICE").pending
        settle(bot)
        pending = finding_messages(w, database)["wildfire"]
        assert len(pending) == 2
        assert all(catalog.t("finding.pending") in m.rendered for m in pending)
        analysis_finishes(w, bot, clock)
    finally:
        bot.stop()
    ready = finding_messages(w, database)["wildfire"]
    assert [(m.ts, m.edits) for m in ready] == [(m.ts, 1) for m in pending]
    assert all(catalog.t("finding.pending") not in m.rendered for m in ready)
    assert all(sc.WILDFIRE_C2_DOMAIN in m.rendered for m in ready)


def test_a_ready_finding_asked_for_replaces_the_pending_one(w: World, database: Database) -> None:
    bot, clock = wildfire_still_analysing(w, database)
    catalog = Catalog("en")
    try:
        [first] = finding_messages(w, database)["wildfire"]
        assert catalog.t("finding.pending") in first.rendered
        dataset.seed(w.intel)  # the analysis finishes before the re-check falls due
        with database.session() as session:
            alert_id = next(iter(alerts.all_for_rule(session, "wildfire"))).id
        assert not bot.investigator.investigate_alert(alert_id, actor="U0ALICE").pending
        settle(bot)
        clock.advance(timedelta(minutes=30))  # no re-check is left to run
        assert bot.investigator.run_once() is False
        settle(bot)
    finally:
        bot.stop()
    edited, asked = finding_messages(w, database)["wildfire"]
    assert (edited.ts, edited.edits) == (first.ts, 1)
    for message in (edited, asked):
        assert catalog.t("finding.pending") not in message.rendered
        assert sc.WILDFIRE_C2_DOMAIN in message.rendered
    with database.session() as session:
        row = alerts.get(session, alert_id)
        assert row is not None and "recheck" not in row.facts


@pytest.mark.parametrize("lost", ["deleted in Slack", "refused by Slack"])
def test_a_ready_finding_with_no_reply_to_edit_is_posted_as_a_new_one(
    w: World, database: Database, lost: str
) -> None:
    bot, clock = wildfire_still_analysing(w, database)
    catalog = Catalog("en")
    try:
        [first] = finding_messages(w, database)["wildfire"]
        w.slack.delete_message(CHANNEL, first.ts)
        if lost == "refused by Slack":  # as if Slack had refused the pending reply for good
            with database.session() as session:
                session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.slack_ts == first.ts)
                    .values(state="failed", slack_ts=None, last_error="slack: invalid_blocks")
                )
        analysis_finishes(w, bot, clock)
    finally:
        bot.stop()
    [ready] = finding_messages(w, database)["wildfire"]
    assert ready.ts != first.ts and ready.edits == 0
    assert catalog.t("finding.pending") not in ready.rendered
    assert sc.WILDFIRE_C2_DOMAIN in ready.rendered
    tried = [c["ts"] for c in w.slack.calls_to("chat.update")].count(first.ts)
    assert tried == (1 if lost == "deleted in Slack" else 0)
    with database.session() as session:
        assert outbox.counts(session).get("pending", 0) == 0


def test_a_lost_claim_is_retried_and_investigate_alert_posts_again(
    w: World, database: Database
) -> None:
    clock = FakeClock()
    bot = make_bot(w, database, clock)
    try:
        bot.poller.poll_all()
        settle(bot)
        with database.session() as session:
            spyware = next(iter(alerts.all_for_rule(session, "spyware")))
            # As if the process died between claiming the alert and queueing its finding.
            session.execute(
                delete(OutboxRow).where(OutboxRow.dedupe_key == f"finding:{spyware.id}:auto")
            )
        assert bot.investigator.run_once() is False  # not stale yet
        clock.advance(timedelta(minutes=20))
        assert bot.investigator.run_once() is True
        assert bot.investigator.run_once() is False
        finding = bot.investigator.investigate_alert(spyware.id, actor="U0ALICE")
        with pytest.raises(AlertNotFound):
            bot.investigator.investigate_alert(999, actor="U0ALICE")
        settle(bot)
    finally:
        bot.stop()
    assert finding.playbook == "spyware"
    assert len(threads(w, database)["spyware"]) == 3  # automatic, retried, asked for


def test_closed_alerts_are_not_investigated(w: World, database: Database) -> None:
    bot = make_bot(w, database)
    try:
        bot.poller.poll_all()
        with database.session() as session:
            session.execute(update(AlertRow).values(state="closed"))
        assert bot.investigator.run_once() is False
    finally:
        bot.stop()
    assert w.intel.requests == []
