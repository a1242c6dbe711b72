"""The reminders the rules will create next, for ``gendan jobs`` (who, when, why).

Computed by the very rule functions the scheduler runs (:mod:`schedules.rules`), over the same
fact queries, evaluated at the moments the scheduler would evaluate them: now, then at every
hour boundary up to the horizon (the date rules only in working time, as the hourly sweep;
payments at the first sweep of each working day). Items whose reminder row already exists are
left out: ``gendan jobs`` lists those from the table. Read-only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from schedules import facts
from schedules.calendar import Calendar
from schedules.rules import Due, OrderFacts, approval_dues, delivery_dues, payment_dues, visit_dues
from storage.db import Database

HORIZON = timedelta(days=7)
STEP = timedelta(hours=1)


def moments(now: datetime, horizon: timedelta) -> list[datetime]:
    """``now``, then each hour boundary after it up to ``now + horizon``."""
    out = [now]
    t = now.replace(minute=0, second=0, microsecond=0) + STEP
    while t <= now + horizon:
        out.append(t)
        t += STEP
    return out


async def planned(db: Database, cal: Calendar, now: datetime, horizon: timedelta = HORIZON) -> list[Due]:
    """Rule reminders that will fall due within ``horizon`` and have no row yet, soonest first."""
    found: dict[str, Due] = {}
    async with db.reader() as uow:
        staff = await facts.staff(uow)
        approvals = await uow.agenda.pending_approvals()
        tickets = await facts.resolved_tickets(uow, now + horizon)
        payments = await uow.agenda.unpaid_orders()
        deliveries: dict[date, list[OrderFacts]] = {}
        paid_days: set[date] = set()
        for t in moments(now, horizon):
            dues = approval_dues(approvals, staff, t, cal) + visit_dues(tickets, staff, t, cal)
            if cal.is_working_time(t):
                day = cal.today(t)
                if day not in deliveries:
                    deliveries[day] = await facts.delivery_candidates(uow, cal, day)
                dues += delivery_dues(deliveries[day], staff, t, cal)
                if day not in paid_days:
                    paid_days.add(day)
                    dues += payment_dues(payments, staff, t, cal)
            for due in dues:
                found.setdefault(due.key, due)
        existing = await uow.agenda.existing_keys(list(found))
    return sorted((d for key, d in found.items() if key not in existing), key=lambda d: (d.due_at, d.key))
