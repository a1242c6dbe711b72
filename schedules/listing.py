"""What is due next, for ``gendan jobs`` (operator-facing, so plain English labels)."""

from __future__ import annotations

from datetime import datetime, timedelta

from schedules.calendar import Calendar, CalendarSettings
from schedules.forecast import HORIZON, planned
from storage.agenda_facts import PersonRef
from storage.db import Database

LIMIT = 50


def next_digest(now: datetime, cal: Calendar) -> datetime:
    """The next daily digest time (start of work on the next working day, or today's if still ahead)."""
    today = cal.today(now)
    start = cal.at(today, cal.work_start)
    if cal.is_working_day(today) and now < start:
        return start
    return cal.at(cal.next_working_day(today), cal.work_start)


def next_report(now: datetime, cal: Calendar) -> datetime:
    """The next Monday start-of-work (the weekly report)."""
    today = cal.today(now)
    monday = today - timedelta(days=today.weekday())
    at = cal.at(monday, cal.work_start)
    return at if now < at else cal.at(monday + timedelta(days=7), cal.work_start)


def _who(person: PersonRef) -> str:
    return f"{person.platform}:{person.user_id}" + (f" {person.name}" if person.name else "")


async def upcoming(db: Database, settings: CalendarSettings, now: datetime, limit: int = LIMIT) -> list[str]:
    """Lines describing the periodic jobs and the next pending reminders, soonest first."""
    cal = Calendar.from_settings(settings)

    def fmt(t: datetime) -> str:
        return f"{cal.local(t):%Y-%m-%d %H:%M}"

    lines = [
        f"{fmt(now)}  tick          every minute: plan rule reminders, send due ones",
        f"{fmt(next_digest(now, cal))}  daily-digest  each person: my approvals, my overdue, today's deliveries",
        f"{fmt(next_report(now, cal))}  weekly-report groups subscribed to 日报",
    ]
    async with db.uow() as uow:
        pending = await uow.agenda.pending_count()
        for r, person in await uow.agenda.next_pending(limit):
            late = " (due)" if r.due_at <= now else ""
            who = _who(person)
            lines.append(f"{fmt(r.due_at)}  {r.kind:<13} {who}  {r.text}{late}")
    lines.append(f"{pending} pending reminder(s)" + (f", first {limit} shown" if pending > limit else ""))
    # what the rules will add: an order due tomorrow shows here before the hourly sweep stores it
    coming = await planned(db, cal, now)
    lines.append(f"planned by the rules, next {HORIZON.days} days (created when due):")
    async with db.reader() as uow:
        names = await uow.agenda.person_refs(d.person_id for d in coming[:limit])
    for due in coming[:limit]:
        who = _who(names.get(due.person_id, PersonRef("?", str(due.person_id), "")))
        when = " (at the next sweep)" if due.due_at <= now else ""
        lines.append(f"{fmt(due.due_at)}  {due.kind:<13} {who}  {due.text}{when}")
    lines.append(f"{len(coming)} planned reminder(s)" + (f", first {limit} shown" if len(coming) > limit else ""))
    return lines
