"""One step per button, each with the permission it requires declared beside it.

`handle_press` checks the permission before a step touches anything, so a refusal
changes nothing. Each step makes its change with one conditional update; the loser
of a race (or a double click) gets "already …" instead.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from bot.triage import isolation
from bot.triage.payloads import CloseForm, IsolationForm, Press
from bot.triage.permissions import Permission
from bot.triage.service import DONE, Answer, Triage, note, record, refresh
from bot.views import alert as buttons
from bot.views.commands import not_available_yet
from bot.views.modals import close_modal, isolation_modal
from storage import Session, cursors, triage
from storage.alerts import CLOSED
from storage.triage import AlertSnapshot

log = logging.getLogger(__name__)


def watch_cursor(ip: str) -> str:
    """The poll-cursor name of a watched host's own log reading."""
    return f"watch:{ip}"


def host_names(alert: AlertSnapshot) -> tuple[list[str], list[str]]:
    """Host names and users the alert's first log gives for our side."""
    facts = alert.facts
    ours_is_src = alert.host is not None and alert.host == facts.get("src")
    name = facts.get("src_host") if ours_is_src else facts.get("dst_host")
    user = facts.get("srcuser") if ours_is_src else facts.get("dstuser")
    return ([str(name)] if name else []), ([str(user)] if user else [])


def patch_subjects(alert: AlertSnapshot) -> list[str]:
    """What "patched" means for this alert: its CVEs, else its signature."""
    cves = [str(c) for c in alert.facts.get("cves") or [] if c]
    if cves:
        return cves
    return [f"threat:{alert.threat_id}"] if alert.threat_id else []


def already_for_alert(t: Triage, action_id: str, alert: AlertSnapshot | None) -> Answer:
    """The "already …" answer for an alert that moved on: closed beats everything."""
    if alert is None:
        return t.already(action_id)
    if alert.state == CLOSED:
        return t.already(buttons.CLOSE_ALERT, alert.closed_by, alert.closed_at)
    if action_id == buttons.ACK:
        return t.already(buttons.ACK, alert.acked_by, alert.acked_at)
    if action_id == buttons.ASSIGN:
        return t.already(buttons.ASSIGN, alert.assignee)
    return t.already(action_id)


class Step(ABC):
    """A triage interaction; subclasses set the action_id and the permission it requires."""

    action_id: ClassVar[str]
    permission: ClassVar[Permission] = Permission.RESPONDER

    @abstractmethod
    def run(self, t: Triage, press: Press) -> Answer:
        """Apply the press, or explain why nothing changed."""


class Ack(Step):
    action_id = buttons.ACK
    permission = Permission.RESPONDER

    def run(self, t: Triage, press: Press) -> Answer:
        now = t.clock()
        with t.change() as s:
            alert = triage.snapshot(s, press.alert_id)
            if alert is None:
                return t.error("error.alert_not_found", alert_id=press.alert_id)
            if not triage.acknowledge(s, alert.id, press.user, now):
                return already_for_alert(t, self.action_id, triage.snapshot(s, alert.id))
            record(
                s,
                actor=press.user,
                action="ack",
                alert_id=alert.id,
                host=alert.host,
                at=now,
                note=note("note.acked", by=press.user),
            )
        return DONE


class Assign(Step):
    action_id = buttons.ASSIGN
    permission = Permission.RESPONDER

    def run(self, t: Triage, press: Press) -> Answer:
        assignee = press.selected_user
        assert assignee is not None  # parse_press guarantees it for `assign`
        now = t.clock()
        with t.change() as s:
            alert = triage.snapshot(s, press.alert_id)
            if alert is None:
                return t.error("error.alert_not_found", alert_id=press.alert_id)
            if not triage.assign(s, alert.id, assignee, now):
                return already_for_alert(t, self.action_id, triage.snapshot(s, alert.id))
            record(
                s,
                actor=press.user,
                action="assign",
                alert_id=alert.id,
                host=alert.host,
                at=now,
                detail={"assignee": assignee},
                note=note("note.assigned", assignee=assignee, by=press.user),
            )
        return DONE


class Enrich(Step):
    action_id = buttons.ENRICH
    permission = Permission.RESPONDER

    def run(self, t: Triage, press: Press) -> Answer:
        investigator = t.investigator
        if investigator is None:
            return Answer(not_available_yet(self.action_id, t.catalog))
        now = t.clock()
        with t.change() as s:
            alert = triage.snapshot(s, press.alert_id)
            if alert is None:
                return t.error("error.alert_not_found", alert_id=press.alert_id)
            record(
                s,
                actor=press.user,
                action="enrich",
                alert_id=alert.id,
                host=alert.host,
                at=now,
                note=note("note.enrich_started", by=press.user),
            )
        # The investigation is slow (outside services): it runs after the answer.
        t.submit(_guarded(investigator.investigate_alert, press.alert_id, press.user))
        return DONE


def _guarded(function: Callable[..., object], *args: object) -> Callable[[], None]:
    def run() -> None:
        try:
            function(*args)
        except Exception:  # a worker thread has nobody else to tell
            log.exception("background triage work failed")

    return run


class MarkPatched(Step):
    action_id = buttons.MARK_PATCHED
    permission = Permission.RESPONDER

    def run(self, t: Triage, press: Press) -> Answer:
        now = t.clock()
        with t.change() as s:
            alert = triage.snapshot(s, press.alert_id)
            if alert is None:
                return t.error("error.alert_not_found", alert_id=press.alert_id)
            if alert.host is None:
                return t.error("error.no_host")
            subjects = patch_subjects(alert)
            if not subjects:
                return t.error("error.nothing_to_patch")
            names, users = host_names(alert)
            triage.upsert_host(s, alert.host, names=names, users=users, at=now)
            added = [
                x
                for x in subjects
                if triage.add_patch(s, alert.host, x, by=press.user, alert_id=alert.id, at=now)
            ]
            if not added:
                first = triage.patched_by(s, alert.host, subjects)
                return t.already(self.action_id, *(first or (None, None)))
            shown = ", ".join(added)
            record(
                s,
                actor=press.user,
                action="mark_patched",
                alert_id=alert.id,
                host=alert.host,
                at=now,
                detail={"subjects": shown},
                note=note("note.patched", by=press.user, host=alert.host, subjects=shown),
            )
            _refresh_host_alerts(s, alert.host, but=alert.id)
        return DONE


def _refresh_host_alerts(s: Session, ip: str, *, but: int) -> None:
    """Other active alerts on the host show its state too: refresh their parents."""
    for other in triage.active_alert_ids_for_host(s, ip):
        if other != but:
            refresh(s, other)


class MarkMonitored(Step):
    action_id = buttons.MARK_MONITORED
    permission = Permission.RESPONDER

    def run(self, t: Triage, press: Press) -> Answer:
        now = t.clock()
        until = now + t.watch_period
        with t.change() as s:
            alert = triage.snapshot(s, press.alert_id)
            if alert is None:
                return t.error("error.alert_not_found", alert_id=press.alert_id)
            if alert.host is None:
                return t.error("error.no_host")
            names, users = host_names(alert)
            triage.upsert_host(s, alert.host, names=names, users=users, at=now)
            if not triage.start_watch(s, alert.host, alert.id, until, now):
                last = triage.last_actor(s, alert.host, "mark_monitored")
                return t.already(self.action_id, *(last or (None, None)))
            # Logs are read from now on: what came before is in the alert already.
            cursors.advance(s, watch_cursor(alert.host), t.firewall, now)
            record(
                s,
                actor=press.user,
                action="mark_monitored",
                alert_id=alert.id,
                host=alert.host,
                at=now,
                detail={"until": until.isoformat()},
                note=note(
                    "note.monitored", by=press.user, host=alert.host, until=until.isoformat()
                ),
            )
            _refresh_host_alerts(s, alert.host, but=alert.id)
        return DONE


class RequestIsolation(Step):
    """Opens the reason modal; the request itself is made on submission."""

    action_id = buttons.REQUEST_ISOLATION
    permission = Permission.RESPONDER

    def run(self, t: Triage, press: Press) -> Answer:
        with t.db.session() as s:
            alert = triage.snapshot(s, press.alert_id)
            if alert is None:
                return t.error("error.alert_not_found", alert_id=press.alert_id)
            if alert.host is None:
                return t.error("error.no_host")
            if alert.state == CLOSED:
                return already_for_alert(t, self.action_id, alert)
            active = triage.active_isolation(s, ip=alert.host)
        if active is not None:
            return t.already(self.action_id, active.requested_by, active.requested_at)
        return Answer(modal=isolation_modal(alert.id, alert.host, t.catalog))


class CloseAlert(Step):
    """Opens the verdict modal; the alert is closed on submission."""

    action_id = buttons.CLOSE_ALERT
    permission = Permission.RESPONDER

    def run(self, t: Triage, press: Press) -> Answer:
        with t.db.session() as s:
            alert = triage.snapshot(s, press.alert_id)
        if alert is None:
            return t.error("error.alert_not_found", alert_id=press.alert_id)
        if alert.state == CLOSED:
            return already_for_alert(t, self.action_id, alert)
        return Answer(modal=close_modal(alert.id, t.catalog))


class ApproveIsolation(Step):
    """Approves a request (never one's own), or retries a failed firewall tag."""

    action_id = buttons.APPROVE_ISOLATION
    permission = Permission.APPROVER

    def run(self, t: Triage, press: Press) -> Answer:
        return isolation.approve(t, press)


class RejectIsolation(Step):
    action_id = buttons.REJECT_ISOLATION
    permission = Permission.APPROVER

    def run(self, t: Triage, press: Press) -> Answer:
        return isolation.reject(t, press)


class ReleaseIsolation(Step):
    # Lifting a quarantine needs the same authority as imposing one.
    action_id = buttons.RELEASE_ISOLATION
    permission = Permission.APPROVER

    def run(self, t: Triage, press: Press) -> Answer:
        return isolation.release(t, press)


STEPS: dict[str, Step] = {
    step.action_id: step
    for step in (
        Ack(),
        Assign(),
        Enrich(),
        MarkPatched(),
        MarkMonitored(),
        RequestIsolation(),
        ApproveIsolation(),
        RejectIsolation(),
        ReleaseIsolation(),
        CloseAlert(),
    )
}


def handle_press(t: Triage, press: Press) -> Answer:
    """Check the presser's permission, then run the button's step."""
    step = STEPS.get(press.action_id)
    if step is None:
        return t.error("error.bad_request")
    if not t.permissions.allows(press.user, step.permission):
        return t.refused(step.action_id, step.permission)
    return step.run(t, press)


# -- modal submissions ------------------------------------------------------------------


def submit_isolation_request(t: Triage, form: IsolationForm) -> Answer:
    """The isolation modal was submitted: record the request and ask the approvers."""
    if not t.permissions.allows(form.user, RequestIsolation.permission):
        return t.refused(RequestIsolation.action_id, RequestIsolation.permission)
    return isolation.request(t, form)


def submit_close(t: Triage, form: CloseForm) -> Answer:
    """The closing modal was submitted: close with the verdict (once)."""
    if not t.permissions.allows(form.user, CloseAlert.permission):
        return t.refused(CloseAlert.action_id, CloseAlert.permission)
    now = t.clock()
    with t.change() as s:
        alert = triage.snapshot(s, form.alert_id)
        if alert is None:
            return t.error("error.alert_not_found", alert_id=form.alert_id)
        if not triage.close(s, alert.id, form.user, form.verdict, now):
            return already_for_alert(t, CloseAlert.action_id, triage.snapshot(s, alert.id))
        detail: dict[str, str] = {"verdict": form.verdict}
        if form.note:
            detail["note"] = form.note
            message = note(
                "note.closed_with_note", by=form.user, verdict=form.verdict, note=form.note
            )
        else:
            message = note("note.closed", by=form.user, verdict=form.verdict)
        record(
            s,
            actor=form.user,
            action="close_alert",
            alert_id=alert.id,
            host=alert.host,
            at=now,
            detail=detail,
            note=message,
        )
    return DONE
