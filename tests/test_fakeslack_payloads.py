"""The request signer and payload builders: checked by slack-sdk, bolt and the reference samples."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.fakeslack import (
    FakeSlack,
    block_actions_payload,
    slash_command_payload,
    view_submission_payload,
)
from bot.fakeslack.signing import (
    block_actions_body,
    signed_request_headers,
    slash_command_body,
    view_submission_body,
)

SECRET = "test-signing-secret"
BUTTONS = [
    {
        "type": "actions",
        "block_id": "triage",
        "elements": [
            {
                "type": "button",
                "action_id": "ack",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "value": "alert-42",
                "style": "primary",
            }
        ],
    }
]


def load(reference: Path, name: str) -> Any:
    return json.loads((reference / "slack" / name).read_text())


def form_payload(body: str) -> dict[str, Any]:
    [raw] = parse_qs(body)["payload"]
    payload: dict[str, Any] = json.loads(raw)
    return payload


def test_signature_verifies_with_slack_sdk() -> None:
    body = slash_command_body(text="status")
    headers = signed_request_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert verifier.is_valid(body, timestamp, signature)
    assert not verifier.is_valid(body + "&x=1", timestamp, signature)
    assert not SignatureVerifier("other-secret").is_valid(body, timestamp, signature)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_signature_uses_the_given_timestamp() -> None:
    stale = int(time.time()) - 600
    headers = signed_request_headers(SECRET, "{}", timestamp=stale)
    assert headers["X-Slack-Request-Timestamp"] == str(stale)
    assert headers["Content-Type"] == "application/json"
    assert not SignatureVerifier(SECRET).is_valid("{}", str(stale), headers["X-Slack-Signature"])


def test_slash_command_keys_match_the_reference(reference: Path) -> None:
    sample = parse_qs((reference / "slack" / "bolt-python_slash_command_form_body.txt").read_text())
    schema = load(reference, "java-slack-sdk_schema_SlashCommandPayload.json")
    ours = parse_qs(slash_command_body(text="host 10.0.0.5"), keep_blank_values=True)
    assert set(sample) - {"enterprise_id", "enterprise_name"} <= set(ours) <= set(schema)
    assert ours["command"] == ["/pan"]
    assert ours["text"] == ["host 10.0.0.5"]


def test_trigger_ids_are_fresh_each_time() -> None:
    first = slash_command_payload()["trigger_id"]
    assert first != slash_command_payload()["trigger_id"]
    assert slash_command_payload(trigger_id="1.2.3")["trigger_id"] == "1.2.3"


def test_block_actions_shape_matches_the_reference(reference: Path) -> None:
    sample = load(reference, "bolt-python_block_actions_message_button.json")
    schema = load(reference, "java-slack-sdk_schema_BlockActionPayload.json")
    ours = form_payload(
        block_actions_body(
            "ack",
            None,
            "U0ALICE",
            "C0ALERTS",
            "1.000002",
            thread_ts="1.000001",
            response_url="http://127.0.0.1:1/response/x",
            message_text="alert",
            message_blocks=BUTTONS,
        )
    )
    assert set(sample) <= set(ours) <= set(schema)
    for part in ("container", "message", "user", "channel", "team"):
        assert set(ours[part]) <= set(schema[part]), part
    assert set(sample["container"]) | {"thread_ts"} == set(ours["container"])
    assert set(sample["actions"][0]) <= set(ours["actions"][0]) <= set(schema["actions"][0])
    assert ours["container"]["thread_ts"] == ours["message"]["thread_ts"] == "1.000001"
    assert ours["container"]["message_ts"] == ours["message"]["ts"] == "1.000002"
    [action] = ours["actions"]
    assert (action["block_id"], action["value"], action["type"]) == ("triage", "alert-42", "button")
    assert action["text"]["text"] == "Acknowledge"
    assert ours["message"]["blocks"] == BUTTONS


def test_block_actions_users_select() -> None:
    payload = block_actions_payload(
        "assign", None, "U0ALICE", "C0ALERTS", "1.000001", selected_user="U0BOB", block_id="alert-9"
    )
    [action] = payload["actions"]
    assert action["type"] == "users_select"
    assert action["selected_user"] == "U0BOB"
    assert action["block_id"] == "alert-9"
    assert "value" not in action
    assert "thread_ts" not in payload["container"]


def test_view_submission_shape_matches_the_reference(reference: Path) -> None:
    sample = load(reference, "bolt-python_view_submission.json")
    schema = load(reference, "java-slack-sdk_schema_ViewSubmissionPayload.json")
    values = {"reason": {"value": {"type": "plain_text_input", "value": "beaconing"}}}
    ours = form_payload(view_submission_body("isolation_reason", "alert-7", values, "U0BOB"))
    assert set(sample) <= set(ours)
    assert set(ours) - {"response_urls"} <= set(schema)
    assert set(sample["view"]) <= set(ours["view"])
    assert ours["view"]["state"]["values"] == values
    assert (ours["view"]["callback_id"], ours["view"]["private_metadata"]) == (
        "isolation_reason",
        "alert-7",
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def bolt_app(fake: FakeSlack) -> App:
    # Bolt defers auth.test to the first request: it goes to the fake.
    client = WebClient(token=fake.bot_token, base_url=fake.api_url)
    return App(
        client=client,
        signing_secret=SECRET,
        token_verification_enabled=False,
        process_before_response=True,
    )


def dispatch(app: App, body: str) -> int:
    headers: dict[str, str | Sequence[str]] = {**signed_request_headers(SECRET, body)}
    return app.dispatch(BoltRequest(body=body, headers=headers)).status


def test_bolt_routes_a_signed_slash_command(bolt_app: App) -> None:
    seen: list[dict[str, Any]] = []

    @bolt_app.command("/pan")
    def on_command(ack, command) -> None:  # type: ignore[no-untyped-def]
        ack()
        seen.append(command)

    assert dispatch(bolt_app, slash_command_body(text="status", user_id="U0BOB")) == 200
    assert [(c["text"], c["user_id"], c["channel_id"]) for c in seen] == [
        ("status", "U0BOB", "C0ALERTS")
    ]


def test_bolt_rejects_a_bad_signature(bolt_app: App) -> None:
    body = slash_command_body(text="status")
    headers: dict[str, str | Sequence[str]] = {**signed_request_headers("wrong-secret", body)}
    assert bolt_app.dispatch(BoltRequest(body=body, headers=headers)).status == 401


def test_bolt_routes_a_signed_button_press(bolt_app: App) -> None:
    seen: list[dict[str, Any]] = []

    @bolt_app.action("ack")
    def on_ack(ack, body, action) -> None:  # type: ignore[no-untyped-def]
        ack()
        seen.append({"value": action["value"], "user": body["user"]["id"]})

    body = block_actions_body("ack", None, "U0ALICE", "C0ALERTS", "1.1", message_blocks=BUTTONS)
    assert dispatch(bolt_app, body) == 200
    assert seen == [{"value": "alert-42", "user": "U0ALICE"}]


def test_bolt_routes_a_signed_view_submission(bolt_app: App) -> None:
    seen: list[dict[str, Any]] = []

    @bolt_app.view("isolation_reason")
    def on_submit(ack, view) -> None:  # type: ignore[no-untyped-def]
        ack()
        seen.append(view)

    values = {"reason": {"value": {"type": "plain_text_input", "value": "C2 traffic"}}}
    assert (
        dispatch(bolt_app, view_submission_body("isolation_reason", "alert-7", values, "U0BOB"))
        == 200
    )
    [view] = seen
    assert view["private_metadata"] == "alert-7"
    assert view["state"]["values"]["reason"]["value"]["value"] == "C2 traffic"


def test_view_submission_payload_defaults() -> None:
    payload = view_submission_payload("cb", "", {}, "U0ALICE")
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == "U0ALICE"
    assert payload["view"]["state"] == {"values": {}}
