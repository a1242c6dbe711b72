"""The scheduler's job coroutines; the clock is injected, so tests drive them by hand.

:meth:`Jobs.tick` runs every minute and is safe to run at any time, any number of
times, on any number of instances:

1. plan: rules that move within the day (approval waiting, 回访) are evaluated every
   tick; the date rules (deliveries, payments) once per working hour (a ``sched:sweep``
   marker), payments once per working day (``sched:pay``). Due items are written as
   reminder rows with unique dedupe keys (``uow.agenda.add_planned``).
2. deliver: due rows are claimed and handed to the outbox, one message per chat
   (:mod:`schedules.reminder_delivery`).
3. the daily digest and the weekly report, once per period (run markers).

After a downtime the first tick does all of it once: recurring rules only yield
their latest occurrence, and everything due for one person leaves as one message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schedules import digests, facts, quote_purchase_rules
from schedules.calendar import Calendar, CalendarSettings
from schedules.reminder_delivery import claim_and_send
from schedules.rules import Due, approval_dues, delivery_dues, payment_dues, visit_dues
from storage.db import Database, UnitOfWork
from storage.outgoing import Outbox

#: puts one periodic message set into the outbox (the daily digest, the weekly report)
Build = Callable[[UnitOfWork, datetime, Calendar, Outbox], Awaitable[None]]

log = logging.getLogger("gendan.schedules")

#: reminder rows that can never be created again once their day or occurrence passed
PRUNABLE = ("payment_overdue", "approval", "custom")
KEEP_DONE = timedelta(days=90)


@dataclass
class TickReport:
    """What one tick did (tests and ``gendan jobs`` read it)."""

    created: int = 0
    sent: int = 0
    cancelled: int = 0
    messages: int = 0
    digests: int = 0
    reports: int = 0


class Jobs:
    """The job coroutines over one database, calendar and clock."""

    def __init__(self, db: Database, settings: CalendarSettings, clock: Callable[[], datetime] | None = None,
                 wake: Callable[[], None] | None = None, batch_size: int = 20_000) -> None:
        self.db = db
        self.cal = Calendar.from_settings(settings)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.wake = wake or (lambda: None)
        self.batch_size = batch_size

    async def tick(self) -> TickReport:
        """Plan, deliver, digest, report (see the module docstring)."""
        now = self.clock()
        rep = TickReport()
        errors: list[Exception] = []

        async def step(name: str, run: Callable[[], Awaitable[None]]) -> None:
            # a failing step (say, a rule's query) must not hold back the others (say, /提醒)
            try:
                await run()
            except Exception as exc:
                log.exception("scheduler step %s failed", name)
                errors.append(exc)

        async def plan() -> None:
            rep.created = await self.plan(now)

        async def digest() -> None:
            rep.digests = await self.digest(now)

        async def weekly() -> None:
            rep.reports = await self.weekly(now)

        await step("plan", plan)
        await step("deliver", lambda: self._deliver_into(now, rep))
        await step("digest", digest)
        await step("weekly", weekly)
        if rep.messages or rep.digests or rep.reports:
            self.wake()
        if errors:
            raise errors[0]
        return rep

    async def _deliver_into(self, now: datetime, rep: TickReport) -> None:
        await self.deliver(now, rep)

    async def plan(self, now: datetime) -> int:
        """Write the rule reminders due at ``now`` that do not exist yet."""
        async with self.db.uow() as uow:
            staff = await facts.staff(uow)
            dues = approval_dues(await facts.waiting_approvals(uow, now), staff, now, self.cal)
            dues += visit_dues(await facts.resolved_tickets(uow, now), staff, now, self.cal)
            created = await uow.agenda.add_planned(dues, now)
        return created + await self.sweep(now)

    async def sweep(self, now: datetime) -> int:
        """The date rules, once per working hour (payments once per working day)."""
        if not self.cal.is_working_time(now):
            return 0
        local = self.cal.local(now)
        hour_key = f"sched:sweep:{local:%Y-%m-%dT%H}"
        day_key = f"sched:pay:{local:%Y-%m-%d}"
        async with self.db.uow() as uow:
            if await uow.agenda.has_marker(hour_key):
                return 0
            with_payments = not await uow.agenda.has_marker(day_key)
            dues = await self._date_dues(uow, now, with_payments)
        async with self.db.uow() as uow:
            # the marker and the rows commit together: a crash in between re-runs the sweep
            if not await uow.agenda.claim_marker(hour_key, now):
                return 0
            if with_payments:
                await uow.agenda.claim_marker(day_key, now)
            return await uow.agenda.add_planned(dues, now)

    async def _date_dues(self, uow: UnitOfWork, now: datetime, with_payments: bool) -> list[Due]:
        staff = await facts.staff(uow)
        dues = delivery_dues(await facts.delivery_candidates(uow, self.cal, self.cal.today(now)), staff, now, self.cal)
        if with_payments:
            dues += payment_dues(await uow.agenda.unpaid_orders(), staff, now, self.cal)
        return dues + await quote_purchase_rules.date_dues(uow, staff, now, self.cal)

    async def deliver(self, now: datetime, rep: TickReport | None = None) -> TickReport:
        """Claim and send due reminders in batches until none is left."""
        rep = rep or TickReport()
        while True:
            async with self.db.uow() as uow:
                batch = await claim_and_send(uow, now, self.cal, self.batch_size)
            rep.sent += batch.sent
            rep.cancelled += batch.cancelled
            rep.messages += batch.messages
            if batch.claimed < self.batch_size:
                return rep

    async def digest(self, now: datetime) -> int:
        """The daily digest, once per working day; also prunes old rows."""
        day = digests.digest_day(now, self.cal)
        if day is None:
            return 0
        return await self._once(f"sched:digest:{day}", now, digests.daily_digest, prune=True)

    async def weekly(self, now: datetime) -> int:
        """The weekly report, once per week."""
        monday = digests.report_week(now, self.cal)
        if monday is None:
            return 0
        return await self._once(f"sched:weekly:{monday}", now, digests.weekly_report)

    async def _once(self, marker: str, now: datetime, build: Build, *, prune: bool = False) -> int:
        """Build and queue a periodic message set unless ``marker`` says it was done (any instance)."""
        async with self.db.uow() as uow:
            if await uow.agenda.has_marker(marker) or not await uow.agenda.claim_marker(marker, now):
                return 0
            out = Outbox()
            await build(uow, now, self.cal, out)
            await out.write(uow, now)
            if prune:
                await self._prune(uow, now)
        return len(out)

    async def _prune(self, uow: UnitOfWork, now: datetime) -> None:
        """Forget what can never come back: old markers and old done rows of recreate-proof kinds."""
        keep = self.cal.today(now - timedelta(days=7))
        for prefix in ("sched:sweep:", "sched:pay:", "sched:digest:"):
            await uow.agenda.prune_markers(prefix, f"{prefix}{keep}")
        await uow.agenda.prune_done(PRUNABLE, now - KEEP_DONE)
