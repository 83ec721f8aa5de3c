"""A fake Slack (Web API, response URLs, Socket Mode) on loopback, for `panbot demo` and tests."""

from bot.fakeslack.models import (
    DEFAULT_CHANNELS,
    DEFAULT_SCOPES,
    DEFAULT_USERGROUPS,
    DEFAULT_USERS,
    ChannelSpec,
    Ephemeral,
    Message,
    ResponsePost,
    UserSpec,
    View,
    block_texts,
)
from bot.fakeslack.payloads import (
    app_home_opened_payload,
    block_actions_body,
    block_actions_payload,
    new_trigger_id,
    slash_command_body,
    slash_command_payload,
    view_submission_body,
    view_submission_payload,
)
from bot.fakeslack.server import FakeSlack
from bot.fakeslack.signing import signed_request_headers

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_SCOPES",
    "DEFAULT_USERGROUPS",
    "DEFAULT_USERS",
    "ChannelSpec",
    "Ephemeral",
    "FakeSlack",
    "Message",
    "ResponsePost",
    "UserSpec",
    "View",
    "app_home_opened_payload",
    "block_actions_body",
    "block_actions_payload",
    "block_texts",
    "new_trigger_id",
    "signed_request_headers",
    "slash_command_body",
    "slash_command_payload",
    "view_submission_body",
    "view_submission_payload",
]
