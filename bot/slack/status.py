"""Gather what `/pan status`, `/pan host` and the App Home show, from storage."""

from __future__ import annotations

from bot.context import BotContext
from bot.views.model import AlertLine, AuditEntry, HostHistory, PollStatus, StatusSummary
from storage import alerts, audit, cursors, hosts


def status_summary(ctx: BotContext) -> StatusSummary:
    """Open alerts by state, the last poll of each rule, the firewall's reachability."""
    with ctx.db.session() as session:
        by_state = alerts.open_by_state(session)
        polls = {c.rule: c for c in cursors.all_cursors(session)}
    failing = ctx.poller.failing_rules()
    last_polls = [
        PollStatus(
            rule.id,
            polls[rule.id].last_poll_at if rule.id in polls else None,
            failing.get(rule.id) or (polls[rule.id].last_error if rule.id in polls else None),
        )
        for rule in ctx.poller.rules
    ]
    firewall_ok = ctx.poller.firewall_ok is not False and not failing
    detail = next(iter(failing.values()), None)
    return StatusSummary(
        open_by_state=by_state,
        last_polls=last_polls,
        firewall_ok=firewall_ok,
        firewall_detail=detail,
    )


def host_history(ctx: BotContext, ip: str) -> HostHistory:
    """The host's alerts, state and audit trail."""
    with ctx.db.session() as session:
        state = hosts.state(session, ip)
        names = hosts.names(session, ip)
        rows = alerts.for_host(session, ip)
        trail = audit.for_host(session, ip)
        lines = [AlertLine(a.id, a.rule, a.threat_name, a.state, a.first_seen) for a in rows]
        entries = [AuditEntry(r.at, r.actor, r.action, _detail(r.detail)) for r in trail]
    return HostHistory(
        ip=ip,
        names=names.hosts,
        users=names.users,
        patched_for=state.patched_for,
        monitored_until=state.monitored_until,
        isolated_since=state.isolated_since,
        isolated_until=state.isolated_until,
        alerts=lines,
        audit=entries,
    )


def _detail(detail: dict[str, object]) -> str | None:
    if not detail:
        return None
    return ", ".join(f"{k}={v}" for k, v in sorted(detail.items()))
