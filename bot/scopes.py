"""The Slack bot scopes panbot needs, and a check of what a token was granted.

`BOT_SCOPES` is what `manifest.yml` asks for, exactly: one scope per Web API method
the code calls (`METHOD_SCOPES`), plus `commands` for `/pan`. A test scans `bot/`
for every Web API call and keeps these three in step. `panbot check` compares a
token's granted scopes (the `x-oauth-scopes` header of `auth.test`) with them.
"""

from __future__ import annotations

from collections.abc import Mapping

# Each Slack Web API method panbot calls, or is about to, with the bot scopes it needs.
# A method needing no scope maps to (). conversations.info needs channels:read for a
# public channel and groups:read for a private one: the alert channel may be either.
METHOD_SCOPES: Mapping[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.join": ("channels:join",),
    "usergroups.users.list": ("usergroups:read",),
    "users.info": ("users:read",),
    "views.open": (),
    "views.update": (),
    "views.push": (),
    "views.publish": (),
}

# Scopes an app feature needs rather than a Web API method.
FEATURE_SCOPES: Mapping[str, str] = {
    "commands": "the /pan slash command",
}

# What manifest.yml requests; the tests hold it equal to what the code uses.
BOT_SCOPES: frozenset[str] = frozenset(
    {
        "channels:join",
        "channels:read",
        "chat:write",
        "commands",
        "groups:read",
        "usergroups:read",
    }
)

SCOPES_HEADER = "x-oauth-scopes"


def parse_scopes(header: str) -> frozenset[str]:
    """Split an `x-oauth-scopes` value (`chat:write,commands`) into scope names."""
    return frozenset(part.strip() for part in header.split(",") if part.strip())


def scopes_header(headers: Mapping[str, object]) -> str:
    """The `x-oauth-scopes` value of a Slack response's headers ("" when absent).

    Header names are matched without regard to case; a list value (as some HTTP
    clients give) is joined.
    """
    for name, value in headers.items():
        if name.lower() == SCOPES_HEADER:
            if isinstance(value, list | tuple):
                return ",".join(str(v) for v in value)
            return str(value)
    return ""


def check_scopes(granted_header: str) -> tuple[bool, str]:
    """Compare granted scopes with `BOT_SCOPES`: (all needed granted, one-line detail).

    Missing scopes fail the check and are named; extra scopes are reported but pass
    (they are harmless to panbot, though a least-privilege install drops them).
    """
    granted = parse_scopes(granted_header)
    missing = sorted(BOT_SCOPES - granted)
    extra = sorted(granted - BOT_SCOPES)
    if not granted:
        return False, (
            "Slack reported no granted scopes (no x-oauth-scopes header); "
            f"the app needs {', '.join(sorted(BOT_SCOPES))}"
        )
    if missing:
        detail = (
            f"missing {', '.join(missing)}: add them to the app (manifest.yml) "
            "and reinstall it to the workspace"
        )
        return False, detail
    detail = f"all {len(BOT_SCOPES)} needed scopes granted"
    if extra:
        detail += f" (also granted, not needed: {', '.join(extra)})"
    return True, detail
