"""The facts the rules read, loaded through ``uow.agenda`` with the rules' own thresholds.

Each load asks only for what could produce a reminder now (the queries and their indexes
are in :mod:`storage.repos.agenda`):

- approvals: ``PENDING`` steps active for at least 4 h;
- deliveries: ``CONFIRMED`` orders with a line not fully shipped and 交期 in the few days
  whose reminders can fall due today (:func:`delivery_windows`). An order first seen late
  beyond the grace (confirmed long after its 交期, or a downtime of more than 3 days) gets no
  group notice: it is in the owner's daily digest instead;
- payments: ``CONFIRMED`` orders with a balance (``uow.agenda.unpaid_orders``), once a day;
- tickets: resolved in the last 33 days and at least 3 days ago.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from schedules.calendar import Calendar
from schedules.rules import (
    APPROVAL_FIRST,
    LATE_ESCALATE_DAYS,
    SOON_DAYS,
    VISIT_AFTER,
    ApprovalFacts,
    OrderFacts,
    Staff,
    TicketFacts,
)
from storage.db import UnitOfWork

#: overdue notices still sent this many days after their first working moment (downtime)
LATE_GRACE = timedelta(days=3)
VISIT_WINDOW = timedelta(days=30)


def delivery_windows(cal: Calendar, today: date) -> list[tuple[date, date]]:
    """The 交期 ranges whose delivery reminders can fall due on ``today``.

    due soon: [today, today + 2]; overdue (fires the working day after 交期): from the
    previous working day − grace to yesterday; the 7-day escalation likewise, 6 days
    earlier. Counting from the previous working day keeps long holidays covered.
    """
    start = cal.previous_working_day(today) - LATE_GRACE
    return [(today, today + timedelta(days=SOON_DAYS)),
            (start, today - timedelta(days=1)),
            (start - timedelta(days=LATE_ESCALATE_DAYS - 1), today - timedelta(days=LATE_ESCALATE_DAYS))]


async def delivery_candidates(uow: UnitOfWork, cal: Calendar, today: date) -> list[OrderFacts]:
    """Confirmed, not fully shipped, 交期 in one of :func:`delivery_windows` (only what planning needs)."""
    return await uow.agenda.undelivered_due_in(delivery_windows(cal, today))


async def waiting_approvals(uow: UnitOfWork, now: datetime) -> list[ApprovalFacts]:
    """PENDING steps active for at least 4 h of wall time (working time is never more)."""
    return await uow.agenda.approvals_waiting_since(now - APPROVAL_FIRST)


async def resolved_tickets(uow: UnitOfWork, now: datetime) -> list[TicketFacts]:
    """Tickets resolved 3 to 33 days ago."""
    return await uow.agenda.tickets_resolved_between(now - VISIT_AFTER - VISIT_WINDOW, now - VISIT_AFTER)


async def staff(uow: UnitOfWork) -> Staff:
    """Active people by role and their managers."""
    return Staff.from_rows(await uow.agenda.staff())
