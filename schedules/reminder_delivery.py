"""Claiming due reminders and handing them to the outbox, once, in one transaction.

One batch is one transaction: due ``PENDING`` rows are selected (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so a second instance skips them; SQLite serialises writers
with ``BEGIN IMMEDIATE``), each reason is checked again against the current facts
(a reminder whose reason is gone is marked ``CANCELLED`` and sends nothing), the
rest are merged into ONE message per target chat, those messages are written to
the outbox, and the rows are marked ``SENT``: all of it commits, or none of it.

During quiet hours only ``/提醒`` reminders a person set for themselves are taken;
the others wait (their ``due_at`` has passed, so the first batch after quiet hours
takes them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.outbound import Mention, Message
from handlers.texts import reminders as texts
from schedules import quote_purchase_rules
from schedules.calendar import Calendar
from schedules.rules import ORDER_KINDS, ApprovalFacts, OrderFacts, TicketFacts, payment_due_date
from storage.db import UnitOfWork
from storage.models import Person, Reminder
from storage.outgoing import Outbox, Target
from storage.vocab import ApprovalStatus, ReminderStatus, State, TicketStatus

ENDED = (State.CANCELLED, State.CLOSED)


@dataclass
class Batch:
    """What one claim did."""

    claimed: int = 0
    sent: int = 0
    cancelled: int = 0
    messages: int = 0


@dataclass
class _Outgoing:
    lines: dict[str, str] = field(default_factory=dict)
    mentions: dict[str, Mention] = field(default_factory=dict)
    first_id: int = 0


@dataclass(frozen=True)
class _World:
    """Current facts for the claimed rows."""

    orders: dict[int, OrderFacts]
    approvals: dict[int, ApprovalFacts]
    tickets: dict[int, TicketFacts]
    people: dict[int, Person]
    before_orders: quote_purchase_rules.World


def key_ref(key: str | None) -> tuple[str, int, str]:
    """``approval:12:3:7`` → (``approval``, 12, ``3``): prefix, the reason's id, the next part."""
    parts = (key or "").split(":")
    ref = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return parts[0], ref, parts[2] if len(parts) > 2 else ""


async def claim_and_send(uow: UnitOfWork, now: datetime, cal: Calendar, limit: int) -> Batch:
    """One batch: claim, check, merge per chat, write to the outbox, mark (see the module docstring)."""
    rows = await uow.agenda.claim_due(now, cal.in_quiet(now), limit)
    batch = Batch(claimed=len(rows))
    if not rows:
        return batch
    world = await _load_world(uow, rows, cal.today(now))
    out: dict[Target, _Outgoing] = defaultdict(_Outgoing)
    sent: list[int] = []
    cancelled: list[int] = []
    for row in rows:
        placed = _place(row, world, now, cal)
        if placed is None:
            cancelled.append(row.id)
            continue
        target, reason, line, mention = placed
        chat = out[target]
        chat.first_id = chat.first_id or row.id
        chat.lines.setdefault(reason, line)  # the same reason twice (a missed occurrence): one line
        if mention is not None:
            chat.mentions[mention.user_id] = mention
        sent.append(row.id)
    outbox = Outbox()
    for target, o in out.items():
        outbox.send(target, Message.plain(texts.merged(list(o.lines.values())), *o.mentions.values()),
                    f"remind:{o.first_id}")
    await outbox.write(uow, now)
    await uow.agenda.mark(sent, ReminderStatus.SENT, now)
    await uow.agenda.mark(cancelled, ReminderStatus.CANCELLED, now)
    batch.sent, batch.cancelled, batch.messages = len(sent), len(cancelled), len(outbox)
    return batch


async def _load_world(uow: UnitOfWork, rows: list[Reminder], today: date) -> _World:
    orders = await uow.agenda.orders_by_id([r.order_id for r in rows if r.order_id is not None])
    approvals = await uow.agenda.approvals_by_id([key_ref(r.dedupe_key)[1] for r in rows if r.kind == "approval"])
    tickets = await uow.agenda.tickets_by_id([key_ref(r.dedupe_key)[1] for r in rows if r.kind == "visit"])
    people = await uow.agenda.people_by_id({r.person_id for r in rows} | {o.owner_id for o in orders.values()})
    refs = [(r.kind, key_ref(r.dedupe_key)[1]) for r in rows if r.kind in quote_purchase_rules.KINDS]
    return _World(orders, approvals, tickets, people, await quote_purchase_rules.load_world(uow, refs, today))


def _place(row: Reminder, w: _World, now: datetime, cal: Calendar) -> tuple[Target, str, str, Mention | None] | None:
    """Where the reminder goes and its line; None when its reason is gone."""
    person = w.people.get(row.person_id)
    if person is None or not person.active:
        return None
    line = reason_line(row.kind, row.dedupe_key, row.text, row.order_id, person, w, now, cal)
    if line is None:
        return None
    _, ref, _ = key_ref(row.dedupe_key)
    reason = f"{row.kind}:{ref}" if row.kind != "custom" else f"custom:{row.id}"
    order = w.orders.get(row.order_id) if row.order_id is not None else None
    if row.kind == "delivery_overdue" and order is not None and order.origin[2] == "group":
        return Target(*order.origin), reason, line, Mention(person.platform, person.user_id, person.label)
    return Target(person.platform, person.user_id, "single"), reason, line, None


def reason_line(kind: str, key: str | None, text: str, order_id: int | None, person: Person, w: _World,
                now: datetime, cal: Calendar) -> str | None:
    """The reminder's line from the current facts, or None when its reason no longer holds."""
    order = w.orders.get(order_id) if order_id is not None else None
    if kind == "custom":
        if order_id is not None and (order is None or order.state in ENDED):
            return None
        return texts.custom(text, order.no if order else None)
    _, ref, arg = key_ref(key)
    if kind in quote_purchase_rules.KINDS:
        return quote_purchase_rules.reason_line(kind, ref, arg, w.before_orders, cal.today(now))
    if kind == "approval":
        step = w.approvals.get(ref)
        if step is None or step.status != ApprovalStatus.PENDING:
            return None
        hours = int(cal.working_time_between(step.activated_at, now).total_seconds() // 3600)
        escalated = step.role not in person.role_names
        return texts.approval(step.order_no, step.role, hours, step.customer, step.amount, escalated)
    if kind == "visit":
        ticket = w.tickets.get(ref)
        return texts.visit(ticket.no, ticket.order_no) if ticket and ticket.status == TicketStatus.RESOLVED else None
    if kind in ORDER_KINDS and order is not None and order.state == State.CONFIRMED:
        owner = w.people.get(order.owner_id)
        return _order_line(kind, arg, order, owner.label if owner else "", now, cal)
    return None


def _order_line(kind: str, arg: str, o: OrderFacts, owner: str, now: datetime, cal: Calendar) -> str | None:
    today = cal.today(now)
    if kind.startswith("delivery"):
        if o.fully_shipped or o.due_date is None or str(o.due_date) != arg:
            return None  # shipped, or 交期 changed (the new date has its own reminders)
        days = (today - o.due_date).days
        if kind == "delivery_soon":
            return texts.delivery_soon(o.no, o.due_date, -days, o.customer) if days <= 0 else None
        if days < 1:
            return None
        if kind == "delivery_overdue":
            return texts.delivery_overdue(o.no, o.due_date, days, o.customer, owner)
        return texts.delivery_escalation(o.no, o.due_date, days, o.customer, owner)
    pd = payment_due_date(o, cal)
    if o.balance <= 0 or pd is None or pd >= today or (kind != "payment_overdue" and str(pd) != arg):
        return None  # paid, or the terms or shipments moved the due date
    days = (today - pd).days
    if kind == "payment_overdue":
        return texts.payment_overdue(o.no, pd, days, o.balance, o.customer)
    if kind == "payment_escalation":
        return texts.payment_escalation(o.no, days, o.balance, o.customer, owner)
    return texts.payment_dunning(o.no, days, o.balance, o.customer, owner)
