"""The triage jobs: apply approved isolations, expire them, remind, watch, digest.

`schedule_triage_jobs` runs them on the scheduler under a lease (one replica does
the work); `run_triage_jobs_once` runs them synchronously for `run_pending_work`.
Every job is safe to run twice at once: each change is claimed by a conditional
update first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler

from bot.triage import isolation
from bot.triage.digest import post_digest
from bot.triage.reminders import send_reminders
from bot.triage.service import Triage
from bot.triage.watch import run_watches
from storage import leases

if TYPE_CHECKING:
    from bot.app import PanBot

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 30
LEASE = "triage"

JOBS: tuple[tuple[str, Callable[[Triage], bool]], ...] = (
    ("apply isolations", isolation.apply_pending),
    ("expire isolations", isolation.expire),
    ("reminders", send_reminders),
    ("watches", run_watches),
    ("digest", post_digest),
)


def run_all(t: Triage) -> bool:
    """Run every triage job once; True if any of them did something."""
    busy = False
    for name, job in JOBS:
        try:
            busy = job(t) or busy
        except Exception:  # one failing job must not stop the others, nor the scheduler
            log.exception("triage job %r crashed", name)
    return busy


def run_triage_jobs_once(bot: PanBot) -> bool:
    """Run the triage jobs now, in this thread; True if there was work."""
    return run_all(Triage.from_context(bot.context))


def schedule_triage_jobs(scheduler: BaseScheduler, bot: PanBot) -> None:
    """Add the triage job to the scheduler (every INTERVAL_SECONDS, one replica at a time)."""
    t = Triage.from_context(bot.context)
    ttl = timedelta(seconds=3 * INTERVAL_SECONDS)

    def tick() -> None:
        try:
            with bot.db.session() as s:
                if not leases.acquire(s, LEASE, bot.instance, bot.clock(), ttl):
                    return
            run_all(t)
        except Exception as exc:  # the database is down: say so once, not every tick
            bot.failures.failed(LEASE, exc)
        else:
            bot.failures.ok(LEASE)

    scheduler.add_job(
        tick,
        "interval",
        id="triage",
        seconds=INTERVAL_SECONDS,
        next_run_time=datetime.now(UTC) + timedelta(seconds=5),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=INTERVAL_SECONDS,
    )
