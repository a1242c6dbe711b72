"""Reminders before and behind the order: a quotation expiring tomorrow, a purchase past its
expected date. Pure rules over small facts, their loaders (bounded queries of ``uow.agenda``), and
the reason lines the delivery checks again (a reminder whose reason is gone sends nothing).

- quote expiring: at the start of working time the day before its last valid day, once per
  (quote, last day), to its owner, while the quote is open.
- purchase overdue: from the first working moment after its expected date, once per (purchase,
  expected date), to every 采购 holder and to the owners of the orders waiting for the product.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from handlers.texts import quotes as texts
from schedules.calendar import Calendar
from schedules.rules import Due, Staff
from storage.agenda_facts import PurchaseFacts as PurchaseFacts
from storage.agenda_facts import QuoteFacts as QuoteFacts
from storage.db import UnitOfWork
from storage.services import purchasing
from storage.vocab import PurchaseStatus, QuoteStatus

KINDS = ("quote_expiring", "purchase_overdue")


def quote_dues(quotes: list[QuoteFacts], now: datetime, cal: Calendar) -> list[Due]:
    """The day-before reminder of every open quote whose time has come."""
    out = []
    today = cal.today(now)
    for q in quotes:
        at = cal.at(q.valid_until - timedelta(days=1), cal.work_start)
        if q.status == QuoteStatus.OPEN and at <= now and today <= q.valid_until:
            out.append(Due("quote_expiring", f"quote_exp:{q.id}:{q.valid_until}:{q.owner_id}", q.owner_id, at,
                           None, f"Q{q.no} 明天到期"))
    return out


def purchase_dues(purchases: list[PurchaseFacts], staff: Staff, now: datetime, cal: Calendar) -> list[Due]:
    """Overdue purchases, once per expected date, to 采购 and the owners waiting for the goods."""
    out = []
    for p in purchases:
        if p.status != PurchaseStatus.OPEN or p.expected_date is None:
            continue
        at = cal.first_working_moment(p.expected_date + timedelta(days=1))
        if at > now:
            continue
        for pid in dict.fromkeys([*staff.of("purchasing"), *p.waiting_owners]):
            out.append(Due("purchase_overdue", f"po_late:{p.id}:{p.expected_date}:{pid}", pid, at, None,
                           f"P{p.no} 逾期未到货"))
    return out


async def expiring_quotes(uow: UnitOfWork, today: date, ids: list[int] | None = None) -> list[QuoteFacts]:
    """Open quotes whose last day is today or tomorrow (or the quotes ``ids``, for the delivery check)."""
    if ids is None:
        return await uow.agenda.open_quotes_ending(today, today + timedelta(days=1))
    return await uow.agenda.quotes_by_id(ids)


async def overdue_purchases(uow: UnitOfWork, today: date, ids: list[int] | None = None) -> list[PurchaseFacts]:
    """Open purchases expected before today (or the purchases ``ids``), with who waits for them."""
    rows = (await uow.agenda.open_purchases_expected_before(today) if ids is None
            else await uow.agenda.purchases_by_id(ids))
    out = []
    for row in rows:
        waiting = await purchasing.waiting_orders(uow, row.product_id, row.stock)
        out.append(replace(row.facts, waiting_owners=tuple(dict.fromkeys(w.owner_id for w in waiting)),
                           waiting_orders=tuple(w.order_no for w in waiting)))
    return out


async def date_dues(uow: UnitOfWork, staff: Staff, now: datetime, cal: Calendar) -> list[Due]:
    """Every quote and purchase reminder due at ``now``."""
    today = cal.today(now)
    return (quote_dues(await expiring_quotes(uow, today), now, cal)
            + purchase_dues(await overdue_purchases(uow, today), staff, now, cal))


@dataclass(frozen=True)
class World:
    """Current facts of the claimed quote and purchase reminders."""

    quotes: dict[int, QuoteFacts]
    purchases: dict[int, PurchaseFacts]


async def load_world(uow: UnitOfWork, refs: list[tuple[str, int]], today: date) -> World:
    """Facts for claimed rows: ``refs`` are (kind, id of the quote or purchase)."""
    quote_ids = [ref for kind, ref in refs if kind == "quote_expiring"]
    purchase_ids = [ref for kind, ref in refs if kind == "purchase_overdue"]
    quotes = {q.id: q for q in await expiring_quotes(uow, today, quote_ids)} if quote_ids else {}
    bought = {p.id: p for p in await overdue_purchases(uow, today, purchase_ids)} if purchase_ids else {}
    return World(quotes, bought)


def reason_line(kind: str, ref: int, arg: str, world: World, today: date) -> str | None:
    """The reminder's line, or None when the quote was converted or withdrawn, the goods came, or the
    date moved."""
    if kind == "quote_expiring":
        q = world.quotes.get(ref)
        if q is None or q.status != QuoteStatus.OPEN or str(q.valid_until) != arg or today > q.valid_until:
            return None
        return texts.expiring(q.no, q.customer, q.amount, q.valid_until, (q.valid_until - today).days)
    p = world.purchases.get(ref)
    if p is None or p.status != PurchaseStatus.OPEN or p.expected_date is None or str(p.expected_date) != arg:
        return None
    return texts.purchase_overdue(p.no, p.sku, p.expected_date, (today - p.expected_date).days,
                                  list(p.waiting_orders))
