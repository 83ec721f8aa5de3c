"""`panbot check`: reach every configured service, one line each, never a secret."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Settings
from bot.scopes import check_scopes, scopes_header
from investigations.panos.errors import PanosError
from storage import Database


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def _check_database(settings: Settings) -> CheckResult:
    db = Database(settings.database_url)
    try:
        db.ping()
        return CheckResult("database", True, db.dialect)
    except Exception as exc:
        return CheckResult("database", False, f"{type(exc).__name__}: cannot connect")
    finally:
        db.dispose()


def _check_firewall(settings: Settings) -> CheckResult:
    from bot.app import build_panos_client

    if settings.firewall_url is None:
        return CheckResult("firewall", False, "PANBOT_FIREWALL_URL is not set")
    try:
        with build_panos_client(settings) as client:
            info = client.system_info()
    except PanosError as exc:
        return CheckResult("firewall", False, str(exc))
    return CheckResult(
        "firewall",
        True,
        f"{info.hostname} ({info.model}, PAN-OS {info.sw_version}, serial {info.serial})",
    )


def _check_slack(settings: Settings) -> list[CheckResult]:
    from bot.app import build_slack_client

    if settings.slack_bot_token is None:
        return [CheckResult("slack", False, "SLACK_BOT_TOKEN is not set")]
    client = build_slack_client(settings)
    try:
        auth = client.auth_test()
    except (SlackApiError, SlackClientError, OSError) as exc:
        return [CheckResult("slack auth.test", False, _slack_error(exc))]
    results = [
        CheckResult(
            "slack auth.test", True, f"bot {auth.get('user_id')} in team {auth.get('team')}"
        )
    ]
    scopes_ok, scopes_detail = check_scopes(scopes_header(auth.headers))
    results.append(CheckResult("slack scopes", scopes_ok, scopes_detail))
    channel = settings.slack_channel
    if channel is None:
        results.append(CheckResult("slack channel", False, "PANBOT_SLACK_CHANNEL is not set"))
        return results
    try:
        info = client.conversations_info(channel=channel)
    except (SlackApiError, SlackClientError, OSError) as exc:
        results.append(CheckResult("slack channel", False, f"{channel}: {_slack_error(exc)}"))
        return results
    data = info.get("channel") or {}
    member = bool(data.get("is_member"))
    private = bool(data.get("is_private"))
    if member:
        results.append(CheckResult("slack channel", True, f"{channel}: bot is a member"))
    elif private:
        results.append(CheckResult("slack channel", False, f"{channel}: private; invite the bot"))
    else:
        results.append(
            CheckResult("slack channel", True, f"{channel}: public; the bot joins on first post")
        )
    return results


def _slack_error(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "error")
    return type(exc).__name__


def run_checks(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Run every check; print one line each; return 0 only if all passed."""
    results = [_check_database(settings), _check_firewall(settings), *_check_slack(settings)]
    results.extend(_check_enrichment(settings))
    for result in results:
        out(f"{'ok  ' if result.ok else 'FAIL'} {result.name}: {result.detail}")
    return 0 if all(r.ok for r in results) else 1


# A file every engine knows (the EICAR test file): a harmless question for each service.
_PROBE_SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
_PROBE_CVE = "CVE-2021-44228"
_PROBE_SIGNATURE = 30001


def _check_enrichment(settings: Settings) -> list[CheckResult]:
    """Ask each intel source one harmless question; a source with no key is reported off."""
    from bot.app import build_enrichment
    from investigations.enrich.errors import EnrichmentError

    clients = build_enrichment(settings, cache=None)
    tv, wf, vt, nvd, jvn = (
        clients.threatvault,
        clients.wildfire,
        clients.virustotal,
        clients.nvd,
        clients.jvn,
    )
    probes: dict[str, Callable[[], object] | None] = {
        "threatvault": (lambda: tv.by_signature_id(_PROBE_SIGNATURE)) if tv is not None else None,
        "wildfire": (lambda: wf.verdict(_PROBE_SHA256)) if wf is not None else None,
        "virustotal": (lambda: vt.file(_PROBE_SHA256)) if vt is not None else None,
        "nvd": (lambda: nvd.cve(_PROBE_CVE)) if nvd is not None else None,
        "jvn": (lambda: jvn.by_cve(_PROBE_CVE)) if jvn is not None else None,
    }
    results = []
    with clients:
        for name, probe in probes.items():
            if probe is None:
                results.append(CheckResult(name, True, "no API key: source off"))
                continue
            try:
                probe()
            except EnrichmentError as exc:
                results.append(CheckResult(name, False, exc.message))
            else:
                results.append(CheckResult(name, True, "answered"))
    return results
