"""``ReminderScheduler``: APScheduler 3 on the asyncio loop, hooked into the app's lifecycle.

Cheap to construct (no connection, no loop needed); :meth:`start` registers the
jobs under deterministic ids with ``replace_existing=True``, ``coalesce=True`` (a
burst of missed runs becomes one run) and a misfire grace time, and runs a first
tick at once so that whatever fell due while the server was down goes out now.
:meth:`stop` stops new runs and waits for a running job to finish; a job is never
cancelled halfway (its transaction would roll back anyway, but a clean stop sends
what it claimed).

Jobs are kept in memory: the durable state is the database (reminder rows, run
markers), so nothing is lost by not persisting APScheduler's job store.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from schedules.calendar import CalendarSettings
from schedules.jobs import Jobs
from storage.db import Database

log = logging.getLogger("gendan.schedules")

TICK_ID = "gendan:tick"
DIGEST_ID = "gendan:digest"
WEEKLY_ID = "gendan:weekly"


class ReminderScheduler:
    """Runs :class:`schedules.jobs.Jobs` every minute, plus the 09:00 digest and Monday report."""

    def __init__(self, db: Database, settings: CalendarSettings, *, clock: Callable[[], datetime] | None = None,
                 wake: Callable[[], None] | None = None, tick_seconds: float = 60.0,
                 misfire_grace_time: int = 300) -> None:
        self.jobs = Jobs(db, settings, clock, wake)
        self.tick_seconds = tick_seconds
        self.misfire_grace_time = misfire_grace_time
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> bool:
        """Whether :meth:`start` was called and :meth:`stop` not yet."""
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        """Register the jobs and start (call inside the running event loop)."""
        cal = self.jobs.cal
        sched = AsyncIOScheduler(timezone=cal.tz, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": self.misfire_grace_time})
        start = cal.work_start
        sched.add_job(self._run, IntervalTrigger(seconds=self.tick_seconds, timezone=cal.tz), args=["tick"],
                      id=TICK_ID, name="reminders tick", replace_existing=True, next_run_time=datetime.now(UTC))
        sched.add_job(self._run, CronTrigger(hour=start.hour, minute=start.minute, timezone=cal.tz),
                      args=["digest"], id=DIGEST_ID, name="daily digest", replace_existing=True)
        sched.add_job(self._run, CronTrigger(day_of_week="mon", hour=start.hour, minute=start.minute,
                                             timezone=cal.tz),
                      args=["weekly"], id=WEEKLY_ID, name="weekly report", replace_existing=True)
        sched.start()
        self._scheduler = sched
        log.info("scheduler started (tick every %ss, zone %s)", self.tick_seconds, cal.tz.key)

    async def stop(self) -> None:
        """No new runs; wait for the running one."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def next_runs(self) -> list[tuple[str, datetime | None]]:
        """(job id, next run time) of the registered jobs."""
        if self._scheduler is None:
            return []
        return [(job.id, job.next_run_time) for job in self._scheduler.get_jobs()]

    async def run_now(self, name: str) -> None:
        """Run one job now (``tick``, ``digest`` or ``weekly``), with the same guard as scheduled runs."""
        await self._run(name)

    async def _run(self, name: str) -> None:
        # APScheduler cancels running coroutine jobs at shutdown; shield the work so a
        # stop waits for it (stop() gathers the task) instead of cutting it short.
        task = asyncio.create_task(self._guarded(name), name=f"scheduler-{name}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        await asyncio.shield(task)

    async def _guarded(self, name: str) -> None:
        """One job at a time per instance; an error is logged with a reference and the next run retries."""
        async with self._lock:
            try:
                if name == "tick":
                    rep = await self.jobs.tick()
                    if rep.created or rep.messages or rep.cancelled:
                        log.info("tick: %s", rep)
                elif name in ("digest", "weekly"):
                    job = self.jobs.digest if name == "digest" else self.jobs.weekly
                    if await job(self.jobs.clock()):
                        self.jobs.wake()
                else:
                    raise ValueError(f"unknown job {name!r}")
            except Exception:
                log.exception("scheduler job %s failed (ref %s)", name, secrets.token_hex(3))
