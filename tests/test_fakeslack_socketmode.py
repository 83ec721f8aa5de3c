"""FakeSlack's Socket Mode endpoint, driven by slack-sdk's and bolt's own Socket Mode clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.fakeslack import FakeSlack, block_actions_payload, slash_command_payload


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeSlack) -> Iterator[FakeSlack]:
    server.reset()
    yield server
    assert server.wait_for(lambda: server.connected == 0), "a test left a client connected"


@pytest.fixture
def socket_client(fake: FakeSlack) -> Iterator[SocketModeClient]:
    web = WebClient(base_url=fake.api_url, token=fake.app_token)
    client = SocketModeClient(
        app_token=fake.app_token, web_client=web, auto_reconnect_enabled=False
    )
    try:
        yield client
    finally:
        # A plain close stops this client at once; otherwise close() waits out a 3 s recv.
        fake.disconnect_clients(None)
        client.close()


def test_slash_command_round_trip(fake: FakeSlack, socket_client: SocketModeClient) -> None:
    seen: list[SocketModeRequest] = []

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        seen.append(request)
        answer = {"text": f"got {request.payload['text']}"}
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=answer)
        )

    socket_client.socket_mode_request_listeners.append(on_request)
    socket_client.connect()
    fake.wait_for(lambda: fake.connected == 1)

    envelope_id = fake.deliver("slash_commands", slash_command_payload(text="status"))
    ack = fake.wait_for_ack(envelope_id, timeout=5)

    assert ack == {"envelope_id": envelope_id, "payload": {"text": "got status"}}
    assert 0 <= fake.ack_seconds(envelope_id) < 3
    [request] = seen
    assert request.type == "slash_commands"
    assert request.accepts_response_payload is True
    assert request.payload["command"] == "/pan"
    assert fake.calls_to("apps.connections.open") == [{}]


def test_envelope_shape_matches_slack(fake: FakeSlack, socket_client: SocketModeClient) -> None:
    raw: list[dict[str, object]] = []
    socket_client.message_listeners.append(lambda _client, message, _raw: raw.append(message))
    socket_client.connect()
    fake.wait_for(lambda: fake.connected == 1)
    payload = block_actions_payload("ack", "alert-1", "U0ALICE", "C0ALERTS", "1.000001")
    envelope_id = fake.deliver("interactive", payload)
    envelope = fake.wait_for(lambda: next((m for m in raw if m.get("envelope_id")), None))
    assert envelope == {
        "envelope_id": envelope_id,
        "payload": payload,
        "type": "interactive",
        "accepts_response_payload": False,
    }
    assert raw[0]["type"] == "hello"


def test_envelope_keys_match_the_reference(
    fake: FakeSlack, socket_client: SocketModeClient, reference: Path
) -> None:
    sample = json.loads(
        (reference / "slack" / "bolt-python_socket_mode_envelope_slash_commands.json").read_text()
    )
    raw: list[dict[str, Any]] = []
    socket_client.message_listeners.append(lambda _client, message, _raw: raw.append(message))
    socket_client.connect()
    envelope_id = fake.deliver("slash_commands", slash_command_payload(text="help"))
    envelope = fake.wait_for(lambda: next((m for m in raw if m.get("envelope_id")), None))
    assert envelope["envelope_id"] == envelope_id
    assert set(envelope) == set(sample)
    assert set(sample["payload"]) <= set(envelope["payload"])
    assert envelope["accepts_response_payload"] is sample["accepts_response_payload"]


def test_bolt_app_acks_and_answers_over_socket_mode(fake: FakeSlack) -> None:
    web = WebClient(token=fake.bot_token, base_url=fake.api_url)
    app = App(client=web, token_verification_enabled=False, request_verification_enabled=False)

    @app.command("/pan")
    def pan(ack, respond, command, client) -> None:  # type: ignore[no-untyped-def]
        ack()
        client.chat_postMessage(
            channel=command["channel_id"], text=f"status for {command['user_id']}"
        )
        respond(text="done")

    socket_web = WebClient(token=fake.app_token, base_url=fake.api_url)
    handler = SocketModeHandler(app, app_token=fake.app_token, web_client=socket_web)
    handler.connect()  # type: ignore[no-untyped-call]
    try:
        fake.wait_for(lambda: fake.connected == 1)
        payload = slash_command_payload(text="status", response_url=fake.response_url("cmd"))
        envelope_id = fake.deliver("slash_commands", payload)
        assert fake.wait_for_ack(envelope_id)["envelope_id"] == envelope_id
        posted = fake.wait_for(lambda: fake.parents("C0ALERTS"))
        replied = fake.wait_for(lambda: fake.responses)
    finally:
        handler.client.auto_reconnect_enabled = False
        fake.disconnect_clients(None)
        handler.close()  # type: ignore[no-untyped-call]
    assert posted[0].text == "status for U0ALICE"
    assert replied[0].body["text"] == "done"


def test_tickets_are_single_use(fake: FakeSlack) -> None:
    import websockets.exceptions
    from websockets.sync.client import connect

    url = WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)["url"]
    with connect(url) as first:
        hello = json.loads(first.recv(timeout=5))
        assert hello["type"] == "hello"
        assert hello["connection_info"]["app_id"] == "A0PANBOT"
        with pytest.raises(websockets.exceptions.InvalidStatus), connect(url):
            pass


def test_disconnect_tells_clients_to_reconnect(fake: FakeSlack) -> None:
    from websockets.sync.client import connect

    url = WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)["url"]
    with connect(url) as ws:
        ws.recv(timeout=5)
        fake.wait_for(lambda: fake.connected == 1)
        assert fake.disconnect_clients("warning") == 1
        notice = json.loads(ws.recv(timeout=5))
        assert notice["type"] == "disconnect"
        assert notice["reason"] == "warning"
    fake.wait_for(lambda: fake.connected == 0)


def test_deliver_without_a_client_times_out(fake: FakeSlack) -> None:
    with pytest.raises(TimeoutError):
        fake.deliver("events_api", {"type": "event_callback"}, timeout=0.05)


def test_plain_close_sends_no_notice(fake: FakeSlack) -> None:
    from websockets.exceptions import ConnectionClosedOK
    from websockets.sync.client import connect

    url = WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)["url"]
    with connect(url) as ws:
        ws.recv(timeout=5)
        fake.wait_for(lambda: fake.connected == 1)
        assert fake.disconnect_clients(None) == 1
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=5)
    fake.wait_for(lambda: fake.connected == 0)
