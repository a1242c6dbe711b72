"""The 09:00 working-day digest per person and the Monday weekly report to 日报 groups.

Both are "once per period" jobs: the caller claims a run marker in the same
transaction (``uow.agenda.claim_marker``), so a digest is written once
per day and a report once per week, whatever the number of instances or restarts.
When the server was down at 09:00 the digest goes out at the first tick of that
working day's working hours; the weekly report at the first tick of that week
outside quiet hours. Older periods are not sent afterwards (they would be stale).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.outbound import Message
from handlers.texts import reminders as texts
from schedules.calendar import Calendar
from schedules.rules import payment_due_date
from storage.db import UnitOfWork
from storage.outgoing import Outbox, Target
from storage.services import people
from storage.services.reports import sales_report


def digest_day(now: datetime, cal: Calendar) -> date | None:
    """The working day whose digest is due at ``now`` (during its working hours), if any."""
    if cal.is_working_time(now) and not cal.in_quiet(now):
        return cal.today(now)
    return None


def report_week(now: datetime, cal: Calendar) -> date | None:
    """The Monday of the week whose report is due at ``now`` (from Monday's start of work), if any."""
    today = cal.today(now)
    monday = today - timedelta(days=today.weekday())
    if now >= cal.at(monday, cal.work_start) and not cal.in_quiet(now):
        return monday
    return None


async def daily_digest(uow: UnitOfWork, now: datetime, cal: Calendar, out: Outbox) -> None:
    """One message per active person with something to do: my approvals, my overdue, today's deliveries."""
    today = cal.today(now)
    approvals = await uow.agenda.pending_approvals()
    late = await uow.agenda.late_deliveries(today)
    unpaid: list[tuple[int, int, int, Decimal]] = []
    for o in await uow.agenda.unpaid_orders():
        pd = payment_due_date(o, cal)
        if pd is not None and pd < today:
            unpaid.append((o.owner_id, o.no, (today - pd).days, o.balance))
    due_today = await uow.agenda.deliveries_on(today)
    persons = await uow.agenda.active_people()
    names = {p.id: p.label for p in persons}
    for p in persons:
        roles = p.role_names
        mine_appr = [texts.digest_approval(a.order_no, a.customer, a.amount) for a in approvals
                     if a.role in roles and a.owner_id != p.id]
        mine_late = [texts.digest_late_delivery(o.no, (today - o.due_date).days, o.customer)
                     for o in late if o.owner_id == p.id and o.due_date is not None]
        mine_late += [texts.digest_late_payment(no, days, bal)
                      for owner, no, days, bal in unpaid if owner == p.id]
        warehouse = "warehouse" in roles
        mine_today = [texts.digest_delivery(o.no, o.customer, names.get(o.owner_id) if warehouse else None)
                      for o in due_today if o.owner_id == p.id or warehouse]
        if not (mine_appr or mine_late or mine_today):
            continue
        text = texts.digest(today, mine_appr, mine_late, mine_today)
        out.send(Target(p.platform, p.user_id, "single"), Message.plain(text), f"digest:{today}:{p.id}")


async def weekly_report(uow: UnitOfWork, now: datetime, cal: Calendar, out: Outbox) -> None:
    """Last week's (Monday–Sunday) sales, shipped, collected, and overdue now, to every 日报 group."""
    chats = await people.subscribed_chats(uow, "日报")
    if not chats:
        return
    today = cal.today(now)
    start = today - timedelta(days=today.weekday() + 7)
    end = start + timedelta(days=6)
    rep = await sales_report(uow, start, end, today, cal.tz)
    by_person = sorted(rep.by_person.values(), key=lambda t: (-t.sales, t.name))
    text = texts.weekly(start, end, rep.sales, rep.orders, rep.shipped, rep.collected, rep.overdue,
                        [(t.name, t.sales, t.orders, t.shipped, t.collected) for t in by_person])
    for c in chats:
        out.send(Target(c.platform, c.chat_id, c.chat_type), Message.plain(text), f"weekly:{start}")
