"""Quotations (``Q12``): making them, the 主管's decision on a price below floor, withdrawing, and
turning one into an order through the order's own creation path and approval rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import func, select

from storage import lifecycle
from storage.db import UnitOfWork
from storage.domain_events import (
    DomainEvent,
    QuoteApprovalNeeded,
    QuoteApproved,
    QuoteCreated,
    QuoteRejected,
    QuoteWithdrawn,
)
from storage.models import Customer, Order, Person, Quote, QuoteLine
from storage.services import orders as order_svc
from storage.services.base import (
    CENT,
    Provenance,
    Rules,
    audit,
    jsonable,
    money,
    next_number,
    plain,
)
from storage.services.orders import LineInput, OrderInput, Origin
from storage.vocab import QuoteStatus, Role

Q = QuoteStatus


@dataclass(frozen=True)
class QuoteInput:
    """Resolved quotation fields."""

    customer: Customer
    lines: tuple[LineInput, ...]
    valid_days: int
    due_date: date | None = None
    note: str | None = None
    payment_terms: str | None = None


@dataclass(frozen=True)
class LineEdit:
    """A change made while converting: a quoted line's new quantity and/or price."""

    sku: str
    qty: Decimal | None = None
    unit_price: Decimal | None = None


def expired(quote: Quote, today: date) -> bool:
    """An open quote whose last valid day has passed."""
    return quote.status == Q.OPEN and today > quote.valid_until


def snapshot(quote: Quote) -> dict[str, object]:
    """The content of a quote (audit before/after)."""
    data: dict[str, object] = jsonable({
        "no": quote.no, "customer": quote.customer.name if quote.customer else None, "status": quote.status,
        "amount": quote.amount, "valid_until": quote.valid_until, "due_date": quote.due_date,
        "lines": [{"sku": ln.sku, "qty": plain(ln.qty), "unit_price": ln.unit_price} for ln in quote.lines],
    })
    return data


async def create(uow: UnitOfWork, prov: Provenance, data: QuoteInput, origin: Origin, today: date,
                 now: datetime) -> tuple[Quote, list[DomainEvent]]:
    """/报价: a quote with its lines; below floor it waits for a 主管, else it is open at once."""
    order_svc.check_lines(data.lines)
    unpriced = [ln.sku for ln in data.lines if ln.unit_price is None]
    if not data.lines:
        raise lifecycle.Refused("quote_no_lines")
    if unpriced:
        raise lifecycle.Refused("quote_unpriced", skus=unpriced)
    quote = Quote(
        no=await next_number(uow, "quote"), customer_id=data.customer.id, owner_id=prov.person_id,
        valid_until=today + timedelta(days=data.valid_days), due_date=data.due_date, note=data.note,
        payment_terms=data.payment_terms or data.customer.payment_terms, origin_platform=origin.platform,
        origin_chat_id=origin.chat_id, origin_chat_type=origin.chat_type, created_at=now, updated_at=now,
        lines=[QuoteLine(line_no=i, product_id=ln.product_id, sku=ln.sku, name=ln.name, qty=ln.qty, unit=ln.unit,
                         unit_price=ln.unit_price, floor_price=ln.floor_price)
               for i, ln in enumerate(data.lines, start=1)],
    )
    quote.amount = sum((ln.line_amount for ln in quote.lines), Decimal("0.00")).quantize(CENT)
    warnings = []
    if any(ln.floor_price is not None and ln.unit_price < ln.floor_price for ln in quote.lines):
        warnings.append("below_floor")
    limit = data.customer.credit_limit
    if limit is not None and await uow.approvals.customer_exposure(data.customer.id, None) + quote.amount > limit:
        warnings.append("over_credit")
    quote.warnings = warnings
    quote.status = Q.PENDING_APPROVAL.value if "below_floor" in warnings else Q.OPEN.value
    uow.session.add(quote)
    await uow.session.flush()
    await uow.session.refresh(quote, ["customer", "owner"])
    audit(uow, prov, "quote", None, now, summary=f"Q{quote.no}", after=snapshot(quote))
    events: list[DomainEvent] = [QuoteCreated(quote.id)]
    if quote.status == Q.PENDING_APPROVAL:
        events.append(QuoteApprovalNeeded(quote.id))
    return quote, events


async def quote_by_no(uow: UnitOfWork, no: int, *, lock: bool = True) -> Quote | None:
    """Load ``Q<no>`` (row-locked for this transaction)."""
    stmt = select(Quote).where(Quote.no == no)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await uow.session.execute(stmt)).scalar_one_or_none()


async def decide(uow: UnitOfWork, quote: Quote, prov: Provenance, approve: bool, comment: str | None,
                 now: datetime) -> list[DomainEvent]:
    """A 主管 lets a below-floor quote be sent, or turns it down (the first decision wins)."""
    if quote.status != Q.PENDING_APPROVAL:
        raise lifecycle.Refused("quote_stale", no=quote.no, status=quote.status)
    lifecycle.check_not_self(quote.owner_id, prov.actor)
    lifecycle.check_approver(Role.MANAGER.value, prov.actor)
    before = quote.status
    quote.status = Q.OPEN.value if approve else Q.REJECTED.value
    quote.decided_by, quote.decided_at, quote.reason, quote.updated_at = prov.person_id, now, comment, now
    audit(uow, prov, "quote_approve" if approve else "quote_reject", None, now, summary=f"Q{quote.no}",
          before={"status": before}, after={"status": quote.status, "comment": comment})
    return [(QuoteApproved if approve else QuoteRejected)(quote.id, comment=comment, by=prov.name)]


async def withdraw(uow: UnitOfWork, quote: Quote, prov: Provenance, reason: str | None,
                   now: datetime) -> list[DomainEvent]:
    """/作废 Q12: the owner (or a 主管) withdraws a quote that has not become an order."""
    if prov.person_id != quote.owner_id and Role.MANAGER not in prov.roles:
        raise lifecycle.Refused("quote_not_owner", no=quote.no)
    if quote.status not in (Q.OPEN, Q.PENDING_APPROVAL):
        raise lifecycle.Refused("quote_closed", no=quote.no, status=quote.status)
    before = quote.status
    quote.status, quote.reason, quote.updated_at = Q.WITHDRAWN.value, reason, now
    audit(uow, prov, "quote_withdraw", None, now, summary=f"Q{quote.no}", before={"status": before},
          after={"status": quote.status, "reason": reason})
    return [QuoteWithdrawn(quote.id, was=before)]


def converted_lines(quote: Quote, edits: tuple[LineEdit, ...]) -> tuple[LineInput, ...]:
    """The quote's lines as order lines, with the conversion's changes applied."""
    lines = {ln.sku.lower(): LineInput(sku=ln.sku, qty=ln.qty, unit_price=ln.unit_price, unit=ln.unit,
                                       name=ln.name, product_id=ln.product_id, floor_price=ln.floor_price)
             for ln in quote.lines}
    for edit in edits:
        key = edit.sku.lower()
        if key not in lines:
            raise lifecycle.Refused("quote_no_line", no=quote.no, sku=edit.sku, skus=[ln.sku for ln in quote.lines])
        line = lines[key]
        lines[key] = replace(line, qty=edit.qty if edit.qty is not None else line.qty,
                             unit_price=edit.unit_price if edit.unit_price is not None else line.unit_price)
    return tuple(lines.values())


async def convert(uow: UnitOfWork, quote: Quote, prov: Provenance, edits: tuple[LineEdit, ...],
                  due_date: date | None, origin: Origin, rules: Rules, today: date,
                  now: datetime) -> tuple[Order, list[DomainEvent]]:
    """/成交 Q12: an order with the quote's lines and prices (changed where asked), made by the
    order's own creation path, so it is submitted and approved by the order's rules."""
    if quote.owner_id != prov.person_id:
        raise lifecycle.Refused("quote_not_owner", no=quote.no)
    if quote.status == Q.WON:
        order = await uow.session.get_one(Order, quote.order_id)
        raise lifecycle.Refused("quote_won", no=quote.no, order_no=order.no)
    if quote.status == Q.PENDING_APPROVAL:
        raise lifecycle.Refused("quote_pending", no=quote.no)
    if quote.status != Q.OPEN:
        raise lifecycle.Refused("quote_closed", no=quote.no, status=quote.status)
    if expired(quote, today):
        raise lifecycle.Refused("quote_expired", no=quote.no, valid_until=quote.valid_until)
    data = OrderInput(customer=quote.customer, lines=converted_lines(quote, edits),
                      due_date=due_date or quote.due_date, note=quote.note, payment_terms=quote.payment_terms)
    order, events = await order_svc.create(uow, prov, data, origin, rules, now)
    quote.status, quote.order_id, quote.won_at, quote.updated_at = Q.WON.value, order.id, now, now
    audit(uow, prov, "quote_won", order, now, summary=f"Q{quote.no}",
          after={"quote": quote.no, "order": order.no, "changes": [[e.sku, e.qty, e.unit_price] for e in edits]})
    return order, events


# ---- win rate ---------------------------------------------------------------------------------
#: statuses of quotes that went to the customer (a quote turned down or still waiting never did)
SENT = (Q.OPEN.value, Q.WON.value, Q.WITHDRAWN.value)


@dataclass
class QuoteTotals:
    """One salesperson's quotes of a period: how many went out, how many became orders, and their amounts."""

    name: str
    quoted: int = 0
    quoted_amount: Decimal = Decimal("0.00")
    won: int = 0
    won_amount: Decimal = Decimal("0.00")

    @property
    def win_rate(self) -> Decimal:
        """Won ÷ quoted, as a fraction (0 when nothing was quoted)."""
        return (Decimal(self.won) / Decimal(self.quoted)).quantize(Decimal("0.001")) if self.quoted else Decimal(0)


async def win_rates(uow: UnitOfWork, start: date, end: date, tz: tzinfo) -> dict[int, QuoteTotals]:
    """Quotes made in [start, end] per owner: quoted vs won (count and amount)."""
    lo = datetime.combine(start, time(), tz)
    hi = datetime.combine(end + timedelta(days=1), time(), tz)
    stmt = (select(Quote.owner_id, Person.name, Person.user_id, Quote.status, func.count(Quote.id),
                   func.coalesce(func.sum(Quote.amount), 0))
            .join(Person, Person.id == Quote.owner_id)
            .where(Quote.created_at >= lo, Quote.created_at < hi, Quote.status.in_(SENT))
            .group_by(Quote.owner_id, Person.name, Person.user_id, Quote.status))
    out: dict[int, QuoteTotals] = {}
    for owner_id, name, user_id, status, count, amount in (await uow.session.execute(stmt)).all():
        row = out.setdefault(int(owner_id), QuoteTotals(name or user_id))
        row.quoted += int(count)
        row.quoted_amount += money(amount)
        if status == Q.WON:
            row.won += int(count)
            row.won_amount += money(amount)
    return out


async def recent(uow: UnitOfWork, limit: int) -> list[Quote]:
    """The newest quotes (the dashboard)."""
    return list((await uow.session.execute(select(Quote).order_by(Quote.no.desc()).limit(limit))).scalars())
