"""FakeSlack's Web API, spoken to by slack-sdk's own WebClient over real HTTP."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.fakeslack import FakeSlack

ALERTS = "C0ALERTS"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeSlack) -> FakeSlack:
    server.reset()
    return server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.api_url)


def error_of(call: object) -> str:
    """Run a client call expected to fail and return Slack's error code."""
    assert callable(call)
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def test_api_url_is_loopback_with_a_real_port(fake: FakeSlack) -> None:
    assert fake.api_url == f"http://127.0.0.1:{fake.port}/api/"
    assert fake.port > 0


def test_auth_test_identifies_the_bot_and_lists_scopes(client: WebClient, fake: FakeSlack) -> None:
    response = client.auth_test()
    assert response["user_id"] == "U0PANBOT"
    assert response["team_id"] == "T0FAKE"
    assert response["bot_id"]
    assert "chat:write" in response.headers["x-oauth-scopes"].split(",")


def test_token_in_a_form_param_is_accepted_and_not_recorded(fake: FakeSlack) -> None:
    request = urllib.request.Request(
        fake.api_url + "auth.test", data=f"token={fake.bot_token}".encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["ok"] is True
    assert fake.calls == [("auth.test", {})]


def test_wrong_missing_and_misplaced_tokens_fail(fake: FakeSlack) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=fake.api_url)
    assert error_of(wrong.auth_test) == "invalid_auth"
    missing = WebClient(base_url=fake.api_url)
    assert error_of(missing.auth_test) == "not_authed"
    app = WebClient(token=fake.app_token, base_url=fake.api_url)
    assert error_of(lambda: app.chat_postMessage(channel=ALERTS, text="x")) == (
        "not_allowed_token_type"
    )
    bot = WebClient(base_url=fake.api_url)
    assert error_of(lambda: bot.apps_connections_open(app_token=fake.bot_token)) == (
        "not_allowed_token_type"
    )


def test_unknown_method(client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.teleport")) == "unknown_method"


def test_post_message_stores_parent_and_thread_replies(client: WebClient, fake: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*CVE-2024-3400*"}}]
    parent = client.chat_postMessage(
        channel=ALERTS, text="alert", blocks=blocks, unfurl_links=False
    )
    assert parent["channel"] == ALERTS
    assert parent["message"]["blocks"] == blocks
    reply = client.chat_postMessage(channel=ALERTS, text="enrichment", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert float(reply["ts"]) > float(parent["ts"])

    [stored] = fake.parents(ALERTS)
    assert (stored.ts, stored.text, stored.blocks, stored.thread_ts) == (
        parent["ts"],
        "alert",
        blocks,
        None,
    )
    assert stored.extra == {"unfurl_links": False}
    assert "CVE-2024-3400" in stored.rendered
    assert [m.text for m in fake.replies(ALERTS, parent["ts"])] == ["enrichment"]
    assert [m.ts for m in fake.messages()] == [parent["ts"], reply["ts"]]


def test_a_reply_to_a_reply_joins_the_parent_thread(client: WebClient, fake: FakeSlack) -> None:
    parent = client.chat_postMessage(channel=ALERTS, text="p")
    reply = client.chat_postMessage(channel=ALERTS, text="r1", thread_ts=parent["ts"])
    client.chat_postMessage(channel=ALERTS, text="r2", thread_ts=reply["ts"])
    assert [m.text for m in fake.replies(ALERTS, parent["ts"])] == ["r1", "r2"]


def test_form_encoded_blocks_are_parsed(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    client.api_call(
        "chat.postMessage", data={"channel": ALERTS, "text": "t", "blocks": json.dumps(blocks)}
    )
    assert fake.messages(ALERTS)[0].blocks == blocks


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": ALERTS}, "no_text"),
        ({"channel": ALERTS, "text": "t", "blocks": "not json"}, "invalid_blocks_format"),
        (
            {"channel": ALERTS, "text": "t", "blocks": '{"type": "divider"}'},
            "invalid_blocks_format",
        ),
        ({"channel": ALERTS, "text": "t", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": ALERTS, "text": "t", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ({"channel": "C0NOPE", "text": "t"}, "channel_not_found"),
        ({"channel": ALERTS, "text": "t", "thread_ts": "1.000001"}, "thread_not_found"),
    ],
)
def test_post_message_rejects_what_slack_rejects(
    client: WebClient, fake: FakeSlack, kwargs: dict[str, object], error: str
) -> None:
    assert error_of(lambda: client.api_call("chat.postMessage", json=kwargs)) == error
    assert fake.messages() == []


def test_block_kit_limits_are_enforced(client: WebClient) -> None:
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    button = {
        "type": "button",
        "action_id": "ack",
        "text": {"type": "plain_text", "text": "y" * 76},
    }
    long_button = [{"type": "actions", "elements": [button]}]
    for blocks in (long_section, long_button):
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel=ALERTS, text="t", blocks=blocks)
        assert info.value.response["error"] == "invalid_blocks"
        assert info.value.response["errors"]


def test_not_in_channel_then_join_then_post(client: WebClient, fake: FakeSlack) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="C0GENERAL", text="x")) == (
        "not_in_channel"
    )
    joined = client.conversations_join(channel="C0GENERAL")
    assert joined["channel"]["is_member"] is True
    assert "warning" not in joined
    assert fake.is_member("C0GENERAL")
    assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]
    again = client.conversations_join(channel="C0GENERAL")
    assert again["warning"] == "already_in_channel"


def test_private_channels_cannot_be_joined(client: WebClient, fake: FakeSlack) -> None:
    assert error_of(lambda: client.conversations_join(channel="G0PRIVATE")) == (
        "method_not_supported_for_channel_type"
    )
    assert not fake.is_member("G0PRIVATE")
    fake.set_member("G0PRIVATE")
    assert client.chat_postMessage(channel="G0PRIVATE", text="invited")["ok"]


def test_reset_restores_seeded_membership(client: WebClient, fake: FakeSlack) -> None:
    client.conversations_join(channel="C0GENERAL")
    fake.reset()
    assert not fake.is_member("C0GENERAL")
    assert fake.calls == []


def test_chat_public_scope_allows_public_channels_only() -> None:
    with FakeSlack(scopes="chat:write,chat:write.public") as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]
        assert error_of(lambda: client.chat_postMessage(channel="G0PRIVATE", text="x")) == (
            "not_in_channel"
        )
        assert error_of(lambda: client.users_info(user="U0ALICE")) == "missing_scope"


def test_custom_workspace_seed() -> None:
    with FakeSlack(
        bot_token="xoxb-custom",
        bot_user_id="U0OTHER",
        channels={"C1": {"name": "alerts", "is_member": True}},
        users={"U1": {"name": "dan"}},
        usergroups={"S1": ["U1"]},
    ) as fake:
        client = WebClient(token="xoxb-custom", base_url=fake.api_url)
        assert client.auth_test()["user_id"] == "U0OTHER"
        assert client.conversations_info(channel="C1")["channel"]["name"] == "alerts"
        assert client.chat_postMessage(channel="#alerts", text="by name")["channel"] == "C1"
        assert client.users_info(user="U1")["user"]["name"] == "dan"
        assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1"]
        assert error_of(lambda: client.conversations_info(channel="C0ALERTS")) == (
            "channel_not_found"
        )


def test_post_to_a_user_id_goes_to_the_bot_dm(client: WebClient, fake: FakeSlack) -> None:
    response = client.chat_postMessage(channel="U0CAROL", text="please approve")
    assert response["channel"] == "D0CAROL"
    assert fake.messages("D0CAROL")[0].text == "please approve"


def test_chat_update_applies_latest_edit(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postMessage(channel=ALERTS, text="new", blocks=[{"type": "divider"}])["ts"]
    client.chat_update(channel=ALERTS, ts=ts, text="acknowledged by alice")
    header = [{"type": "header", "text": {"type": "plain_text", "text": "closed"}}]
    updated = client.chat_update(channel=ALERTS, ts=ts, text="closed", blocks=header)
    assert updated["ts"] == ts
    assert updated["message"]["text"] == "closed"
    [message] = fake.messages(ALERTS)
    assert (message.text, message.blocks, message.edits) == ("closed", header, 2)
    assert error_of(lambda: client.chat_update(channel=ALERTS, ts="1.1", text="x")) == (
        "message_not_found"
    )


def test_chat_update_of_a_thread_reply_keeps_it_in_its_thread(
    client: WebClient, fake: FakeSlack
) -> None:
    parent = client.chat_postMessage(channel=ALERTS, text="alert")["ts"]
    reply = client.chat_postMessage(channel=ALERTS, text="approve?", thread_ts=parent)["ts"]
    updated = client.chat_update(channel=ALERTS, ts=reply, text="approved by carol")
    assert updated["ts"] == reply and updated["message"]["thread_ts"] == parent
    [message] = fake.replies(ALERTS, parent)
    assert (message.ts, message.text, message.edits) == (reply, "approved by carol", 1)
    assert error_of(lambda: client.chat_update(channel="C0GENERAL", ts=reply, text="x")) == (
        "message_not_found"
    )
    fake.delete_message(ALERTS, reply)  # a person deletes the reply in Slack
    assert fake.replies(ALERTS, parent) == []
    assert error_of(lambda: client.chat_update(channel=ALERTS, ts=reply, text="x")) == (
        "message_not_found"
    )
    assert fake.message(ALERTS, parent).text == "alert"


def test_post_ephemeral_is_kept_apart(client: WebClient, fake: FakeSlack) -> None:
    response = client.chat_postEphemeral(channel=ALERTS, user="U0BOB", text="not allowed")
    assert response["message_ts"]
    [ephemeral] = fake.ephemerals
    assert (ephemeral.user, ephemeral.text, ephemeral.channel) == ("U0BOB", "not allowed", ALERTS)
    assert fake.messages() == []
    assert error_of(
        lambda: client.chat_postEphemeral(channel=ALERTS, user="U0NOBODY", text="x")
    ) == ("user_not_found")


def test_get_permalink_for_parent_and_reply(client: WebClient) -> None:
    parent = client.chat_postMessage(channel=ALERTS, text="p")["ts"]
    reply = client.chat_postMessage(channel=ALERTS, text="r", thread_ts=parent)["ts"]
    link = client.chat_getPermalink(channel=ALERTS, message_ts=parent)["permalink"]
    assert link.endswith(f"/archives/{ALERTS}/p{parent.replace('.', '')}")
    reply_link = client.chat_getPermalink(channel=ALERTS, message_ts=reply)["permalink"]
    assert f"thread_ts={parent}" in reply_link


MODAL = {
    "type": "modal",
    "callback_id": "isolation_reason",
    "private_metadata": "alert-7",
    "title": {"type": "plain_text", "text": "Isolate host"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


def test_views_open_update_and_single_use_trigger(client: WebClient, fake: FakeSlack) -> None:
    opened = client.views_open(trigger_id="1.2.abc", view=MODAL)["view"]
    assert opened["id"].startswith("V")
    assert opened["callback_id"] == "isolation_reason"
    assert opened["state"] == {"values": {}}
    assert error_of(lambda: client.views_open(trigger_id="1.2.abc", view=MODAL)) == (
        "expired_trigger_id"
    )
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Done"}}
    assert error_of(lambda: client.views_update(view_id=opened["id"], view=changed, hash="x")) == (
        "hash_conflict"
    )
    client.views_update(view_id=opened["id"], view=changed, hash=opened["hash"])
    [view] = fake.views
    assert (view.id, view.type, view.trigger_id, view.updates) == (
        opened["id"],
        "modal",
        "1.2.abc",
        1,
    )
    assert view.private_metadata == "alert-7"
    assert "Done" in view.rendered
    assert error_of(lambda: client.views_update(view_id="V0NONE", view=changed)) == "not_found"


def test_views_publish_keeps_one_home_per_user(client: WebClient, fake: FakeSlack) -> None:
    home: dict[str, Any] = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "3 open"}}],
    }
    first = client.views_publish(user_id="U0ALICE", view=home)["view"]
    home["blocks"][0]["text"]["text"] = "2 open"
    second = client.views_publish(user_id="U0ALICE", view=home)["view"]
    assert first["id"] == second["id"]
    alice = fake.home("U0ALICE")
    assert alice is not None
    assert "2 open" in alice.rendered
    assert fake.home("U0BOB") is None
    assert error_of(lambda: client.views_publish(user_id="U0ALICE", view=MODAL)) == (
        "invalid_arguments"
    )


def test_conversations_info(client: WebClient) -> None:
    channel = client.conversations_info(channel=ALERTS)["channel"]
    assert (channel["id"], channel["is_member"], channel["is_private"]) == (ALERTS, True, False)
    private = client.conversations_info(channel="G0PRIVATE")["channel"]
    assert private["is_private"] is True
    assert error_of(lambda: client.conversations_info(channel="C0NOPE")) == "channel_not_found"


def test_users_info_and_usergroups(client: WebClient) -> None:
    user = client.users_info(user="U0ALICE")["user"]
    assert (user["id"], user["name"], user["tz"]) == ("U0ALICE", "alice", "Asia/Tokyo")
    assert error_of(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"
    assert client.usergroups_users_list(usergroup="S0RESPOND")["users"] == ["U0ALICE", "U0BOB"]
    assert error_of(lambda: client.usergroups_users_list(usergroup="S0NONE")) == "no_such_subteam"


def test_apps_connections_open_returns_a_one_time_socket_url(fake: FakeSlack) -> None:
    app = WebClient(base_url=fake.api_url)
    url = app.apps_connections_open(app_token=fake.app_token)["url"]
    assert url.startswith(f"ws://127.0.0.1:{fake.port}/socket?ticket=")


def test_calls_are_recorded_in_order_without_token(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    client.chat_postMessage(channel=ALERTS, text="x")
    assert [name for name, _ in fake.calls] == ["auth.test", "chat.postMessage"]
    assert fake.calls_to("chat.postMessage") == [{"channel": ALERTS, "text": "x"}]
    assert all("token" not in params for _, params in fake.calls)


def test_wait_for_returns_once_another_thread_posts(client: WebClient, fake: FakeSlack) -> None:
    poster = threading.Timer(0.05, lambda: client.chat_postMessage(channel=ALERTS, text="late"))
    poster.start()
    try:
        message = fake.wait_for(lambda: next(iter(fake.parents(ALERTS)), None), timeout=5)
    finally:
        poster.join()
    assert message.text == "late"
    with pytest.raises(TimeoutError):
        fake.wait_for(lambda: len(fake.parents(ALERTS)) > 1, timeout=0.05)


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    body = {"response_type": "ephemeral", "text": "usage: /pan status"}
    request = urllib.request.Request(
        fake.response_url("cmd-1"),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    [posted] = fake.responses
    assert (posted.id, posted.body) == ("cmd-1", body)
    assert "usage" in posted.rendered
