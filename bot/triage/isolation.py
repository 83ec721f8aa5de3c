"""Isolating a host: request → approve or reject → (firewall-tag mode) apply → release.

States of a request (storage.models.IsolationRequest):

    requested ──approve──▶ approved ──tag applied──▶ applied ──release──▶ released
        │                     │  ▲                      └──timeout ran out──▶ released
        └──reject──▶ rejected  │  └──retry── apply_failed ──release──▶ released
                               └──tag failed──▶ apply_failed

In `request-only` mode an approval is recorded and announced and the host is
disconnected by hand; `approved` is then the state that holds until release. In
`firewall-tag` mode the host's IP is registered to the quarantine tag (for a Dynamic
Address Group) with the requested timeout, and confirmed with `show object
registered-ip` before it counts as applied. Approved requests waiting for the
firewall are applied right after the approval and again by the triage job, so a
crash in between loses nothing; applying twice is harmless (the firewall ignores a
repeat registration) and only one of the two records the outcome.

The approval prompt is one thread reply drawn from the request's state whenever it is
sent, and every move of the request queues an edit of it (`show`): once decided it
shows who decided and when instead of its buttons. A failed tag's retry offer is a
reply of the same kind, edited when the request stops waiting for a retry.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime, timedelta

from bot.rendering import isolation_prompt_payload, isolation_retry_payload
from bot.triage.payloads import IsolationForm, Press
from bot.triage.service import DONE, Answer, Triage, note, record
from bot.views import alert as buttons
from investigations.panos.errors import PanosError
from storage import Session, outbox, triage
from storage.alerts import CLOSED
from storage.triage import (
    APPLIED,
    APPLY_FAILED,
    APPROVED,
    REJECTED,
    RELEASABLE,
    RELEASED,
    REQUESTED,
    Isolation,
)

log = logging.getLogger(__name__)

PANBOT = "panbot"
ERROR_LIMIT = 300


class TagNotVisible(Exception):
    """The firewall accepted the registration but does not list it."""


def firewall_mode(t: Triage) -> bool:
    return t.settings.isolation_mode == "firewall-tag"


def prompt_key(request_id: int) -> str:
    """The outbox dedupe key of a request's approval prompt (what its edits name)."""
    return f"isolation:{request_id}:prompt"


def retry_key_base(request_id: int) -> str:
    """The numbered outbox keys of a request's retry offers start with this."""
    return f"isolation:{request_id}:retry"


def show(s: Session, target: Isolation, *, retries: bool = False) -> None:
    """Queue edits that redraw the request's prompt (and, with `retries`, its retry offers).

    Called in the transaction that moved the request: an edit is drawn when it is sent,
    from the state then, so a later move only adds edits and never leaves one stale. A
    request from before prompts were drawn this way has no prompt row: nothing to edit.
    """
    replies = [outbox.by_key(s, prompt_key(target.id))]
    if retries:
        replies += outbox.numbered(s, retry_key_base(target.id))
    for reply in replies:
        if reply is not None and reply.dedupe_key is not None:
            outbox.enqueue_edit(s, target.alert_id, reply.dedupe_key, reply.payload)


def request(t: Triage, form: IsolationForm) -> Answer:
    """Record a new request for the alert's host (one in play per host) and ask approvers."""
    now = t.clock()
    with t.change() as s:
        alert = triage.snapshot(s, form.alert_id)
        if alert is None:
            return t.error("error.alert_not_found", alert_id=form.alert_id)
        if alert.host is None:
            return t.error("error.no_host")
        if alert.state == CLOSED:
            return t.already(buttons.CLOSE_ALERT, alert.closed_by, alert.closed_at)
        request_id = triage.open_isolation_request(
            s,
            alert_id=alert.id,
            ip=alert.host,
            reason=form.reason,
            duration_hours=form.duration_hours,
            by=form.user,
            at=now,
        )
        if request_id is None:
            active = triage.active_isolation(s, ip=alert.host)
            by, at = (active.requested_by, active.requested_at) if active else (None, None)
            return t.already(buttons.REQUEST_ISOLATION, by, at)
        prompt = isolation_prompt_payload(
            request_id,
            ip=alert.host,
            requester=form.user,
            reason=form.reason,
            hours=form.duration_hours,
            approvers=t.permissions.approvers,
        )
        detail: dict[str, object] = {"reason": form.reason, "request": request_id}
        if form.duration_hours:
            detail["hours"] = form.duration_hours
        record(
            s,
            actor=form.user,
            action="request_isolation",
            alert_id=alert.id,
            host=alert.host,
            at=now,
            detail=detail,
            note=prompt,
            note_key=prompt_key(request_id),
        )
    return DONE


def _target(t: Triage, press: Press, states: tuple[str, ...]) -> Isolation | None:
    """The request a press is about: the prompt's own, else the alert's newest in `states`."""
    with t.db.session() as s:
        if press.request_id is not None:
            found = triage.isolation(s, press.request_id)
        else:
            found = triage.latest_isolation(s, press.alert_id)
            if found is not None and found.state not in states:
                found = triage.active_isolation(s, alert_id=press.alert_id) or found
    if found is None or found.alert_id != press.alert_id:
        return None
    return found


def approve(t: Triage, press: Press) -> Answer:
    """Approve a request (not one's own) or, after a failed tag, try the firewall again."""
    target = _target(t, press, (REQUESTED, APPLY_FAILED))
    if target is None:
        return t.error("error.isolation_not_found", alert_id=press.alert_id)
    if target.state == REQUESTED and target.requested_by == press.user:
        return t.own_request(buttons.APPROVE_ISOLATION)
    now = t.clock()
    with t.change() as s:
        if triage.move_isolation(
            s, target.id, (REQUESTED,), APPROVED, decided_by=press.user, decided_at=now
        ):
            _approved(t, s, target, press.user, now)
        elif triage.move_isolation(s, target.id, (APPLY_FAILED,), APPROVED, last_error=None):
            record(
                s,
                actor=press.user,
                action="retry_isolation",
                alert_id=target.alert_id,
                host=target.ip,
                at=now,
                detail={"request": target.id},
                note=note("note.isolation_retrying", by=press.user, host=target.ip),
            )
            show(s, target, retries=True)
        else:
            current = triage.isolation(s, target.id)
            by, at = (current.decided_by, current.decided_at) if current else (None, None)
            return t.already(buttons.APPROVE_ISOLATION, by, at)
    if firewall_mode(t):
        apply_pending(t)
    return DONE


def _until(start: datetime, hours: int | None) -> datetime | None:
    return start + timedelta(hours=hours) if hours else None


def _approved(t: Triage, s: Session, target: Isolation, approver: str, now: datetime) -> None:
    record(
        s,
        actor=approver,
        action="approve_isolation",
        alert_id=target.alert_id,
        host=target.ip,
        at=now,
        detail={"request": target.id, "mode": t.settings.isolation_mode},
        note=note("note.isolation_approved", host=target.ip, approver=approver),
    )
    show(s, target)
    if not firewall_mode(t):
        # Request-only: the decision is the record; the host is disconnected by hand.
        triage.set_isolated(s, target.ip, now, _until(now, target.duration_hours))
        outbox.enqueue_reply(s, target.alert_id, note("note.isolation_recorded", host=target.ip))


def reject(t: Triage, press: Press) -> Answer:
    """Reject a request still waiting for a decision."""
    target = _target(t, press, (REQUESTED,))
    if target is None:
        return t.error("error.isolation_not_found", alert_id=press.alert_id)
    now = t.clock()
    with t.change() as s:
        if not triage.move_isolation(
            s, target.id, (REQUESTED,), REJECTED, decided_by=press.user, decided_at=now
        ):
            current = triage.isolation(s, target.id)
            by, at = (current.decided_by, current.decided_at) if current else (None, None)
            return t.already(buttons.REJECT_ISOLATION, by, at)
        record(
            s,
            actor=press.user,
            action="reject_isolation",
            alert_id=target.alert_id,
            host=target.ip,
            at=now,
            detail={"request": target.id},
            note=note("note.isolation_rejected", host=target.ip, approver=press.user),
        )
        show(s, target)
    return DONE


def release(t: Triage, press: Press) -> Answer:
    """Lift an isolation: the firewall first (so a failure changes nothing), then the record."""
    target = _target(t, press, RELEASABLE)
    if target is None:
        return t.error("error.isolation_not_found", alert_id=press.alert_id)
    if target.state not in RELEASABLE:
        if target.state == RELEASED:
            return t.already(buttons.RELEASE_ISOLATION, target.released_by, target.released_at)
        return t.error("error.isolation_not_found", alert_id=press.alert_id)
    if firewall_mode(t):
        try:
            t.panos.unregister_ip_tag(target.ip, t.settings.quarantine_tag)
        except (PanosError, ValueError) as exc:
            return t.error("error.release_failed", host=target.ip, reason=_short(exc))
    now = t.clock()
    with t.change() as s:
        if not triage.move_isolation(
            s, target.id, RELEASABLE, RELEASED, released_by=press.user, released_at=now
        ):
            current = triage.isolation(s, target.id)
            by, at = (current.released_by, current.released_at) if current else (None, None)
            return t.already(buttons.RELEASE_ISOLATION, by, at)
        triage.set_isolated(s, target.ip, None, None)
        record(
            s,
            actor=press.user,
            action="release_isolation",
            alert_id=target.alert_id,
            host=target.ip,
            at=now,
            detail={"request": target.id},
            note=note("note.isolation_released", host=target.ip, by=press.user),
        )
        show(s, target, retries=True)
    return DONE


# -- the firewall side ---------------------------------------------------------------------


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def _canonical(ip: str) -> str:
    return str(ipaddress.ip_address(ip))


def apply_pending(t: Triage) -> bool:
    """Tag every approved request's host on the firewall; True if there was any."""
    if not firewall_mode(t):
        return False
    with t.db.session() as s:
        pending = triage.isolations_in(s, APPROVED)
    for target in pending:
        apply(t, target)
    return bool(pending)


def apply(t: Triage, target: Isolation) -> None:
    """Register the host's IP to the quarantine tag, confirm it, and record the outcome."""
    tag = t.settings.quarantine_tag
    timeout = (target.duration_hours or 0) * 3600
    try:
        t.panos.register_ip_tag(target.ip, tag, timeout)
        listed = {_canonical(ip) for ip in t.panos.registered_ips(tag)}
        if _canonical(target.ip) not in listed:
            raise TagNotVisible(f"{target.ip} is not listed under {tag} after registering it")
    except (PanosError, ValueError, TagNotVisible) as exc:
        _failed(t, target, _short(exc))
        return
    now = t.clock()
    with t.change() as s:
        if triage.move_isolation(
            s, target.id, (APPROVED,), APPLIED, applied_at=now, last_error=None
        ):
            triage.set_isolated(s, target.ip, now, _until(now, target.duration_hours))
            record(
                s,
                actor=PANBOT,
                action="isolation_applied",
                alert_id=target.alert_id,
                host=target.ip,
                at=now,
                detail={"request": target.id, "tag": tag, "timeout_seconds": timeout},
                note=note("note.isolation_applied", tag=tag, host=target.ip),
            )
            show(s, target)
            return
        current = triage.isolation(s, target.id)
    if current is not None and current.state == RELEASED:
        # Released while we were tagging: take the tag we just added off again.
        try:
            t.panos.unregister_ip_tag(target.ip, tag)
        except (PanosError, ValueError) as exc:
            log.warning("could not untag released host %s: %s", target.ip, _short(exc))


def _failed(t: Triage, target: Isolation, reason: str) -> None:
    now = t.clock()
    with t.change() as s:
        if not triage.move_isolation(s, target.id, (APPROVED,), APPLY_FAILED, last_error=reason):
            return
        record(
            s,
            actor=PANBOT,
            action="isolation_apply_failed",
            alert_id=target.alert_id,
            host=target.ip,
            at=now,
            detail={"request": target.id, "error": reason},
        )
        retry = isolation_retry_payload(target.id, reason)
        outbox.enqueue_numbered_reply(s, target.alert_id, retry, retry_key_base(target.id))
        show(s, target)


def expire(t: Triage) -> bool:
    """Record as released the applied isolations whose firewall timeout has run out."""
    if not firewall_mode(t):
        return False
    now = t.clock()
    with t.db.session() as s:
        applied = triage.isolations_in(s, APPLIED, limit=500)
    done = False
    for target in applied:
        until = _until(target.applied_at or now, target.duration_hours)
        if until is None or until > now:
            continue
        with t.change() as s:
            if not triage.move_isolation(
                s, target.id, (APPLIED,), RELEASED, released_by=PANBOT, released_at=now
            ):
                continue
            triage.set_isolated(s, target.ip, None, None)
            record(
                s,
                actor=PANBOT,
                action="isolation_expired",
                alert_id=target.alert_id,
                host=target.ip,
                at=now,
                detail={"request": target.id, "hours": target.duration_hours or 0},
                note=note(
                    "note.isolation_expired", host=target.ip, hours=target.duration_hours or 0
                ),
            )
            show(s, target)
        done = True
    return done
