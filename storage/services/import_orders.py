"""Historic orders from a spreadsheet: one row per order line, rows with the same 订单号 form one order.

They are history, so they do not go through the chat lifecycle (no approvals, no notices, no
stock moves: the product import states today's stock). They still respect the model's
invariants: shipped ≤ quantity, paid ≤ amount, and a fully shipped and paid order is COMPLETED.
Each gets a normal number from the order counter, its shipped quantities as one shipment and its
payments as one payment (both dated on the order date, so statements add up), and an ``import``
audit event.

This module checks the whole file and plans every order (:class:`Planned`) without writing anything;
:mod:`storage.services.import_batch` writes the plans in short bulk transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from storage.db import UnitOfWork
from storage.models import Customer, Order, Person, Product
from storage.services import catalog, people
from storage.services.base import CENT, MAX_AMOUNT
from storage.services.import_report import ImportContext, Report, Ticker, check_amount, check_length
from storage.vocab import State

#: the states a historic order may have (the others need a live approval chain)
IMPORTABLE = (State.CONFIRMED, State.ON_HOLD, State.COMPLETED, State.CLOSED, State.CANCELLED)
#: open orders are followed up by the scheduler, which needs their due date
OPEN = (State.CONFIRMED, State.ON_HOLD)
HEAD_FIELDS = ("customer", "due", "ordered", "owner", "state", "paid")
LINE_LIMITS = {"ref": 64, "product": 64, "unit": 16}


@dataclass(frozen=True)
class OrderRow:
    """One order line as read from the file; None means the cell was empty.

    The order-level cells (customer, due, ordered, owner, state, paid) may be repeated on
    every line of the order or given once; where given they must agree.
    """

    row: int
    ref: str | None
    customer: str | None = None
    product: str | None = None
    qty: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    due: date | None = None
    ordered: date | None = None
    owner: str | None = None
    state: State | None = None
    shipped: Decimal | None = None
    paid: Decimal | None = None
    bad: bool = False


@dataclass
class Line:
    """One checked order line, as it will be written (``line_no`` from 1 in the file's order)."""

    product_id: int | None
    sku: str
    name: str
    qty: Decimal
    unit: str | None
    unit_price: Decimal
    shipped_qty: Decimal
    floor_price: Decimal | None
    line_no: int = 0

    @property
    def line_amount(self) -> Decimal:
        """qty × price, rounded to cents (as ``OrderLine.line_amount``)."""
        return (self.qty * self.unit_price).quantize(CENT)


@dataclass
class Planned:
    """One order of the file, checked: everything the writer needs."""

    ref: str
    head: dict[str, Any]
    customer: Customer
    owner: Person
    lines: list[Line]
    paid: Decimal
    state: State
    #: the file's row count of this order (for the progress bar)
    rows: int


@dataclass
class _Cache:
    customers: dict[str, Customer | None]
    owners: dict[str, list[Person]]
    products: dict[str, Product | None]
    #: 订单号 already in the database (looked up for the whole file at once)
    existing: set[str] = field(default_factory=set)
    by_id: dict[int, Person] = field(default_factory=dict)
    #: first rows of the orders that have no 负责人 at all (one error for the file says what to do)
    ownerless: list[int] = field(default_factory=list)


async def plan_orders(
    uow: UnitOfWork, rows: Sequence[OrderRow], report: Report, ctx: ImportContext, ticker: Ticker
) -> list[Planned]:
    """Check every order of the file and plan the new ones; writes nothing (errors go to ``report``)."""
    groups: dict[str, list[OrderRow]] = {}
    for r in rows:
        if r.ref:
            groups.setdefault(r.ref, []).append(r)
            continue
        ticker.tick()
        if not r.bad:
            report.error(r.row, "missing", field="ref")
    cache = _Cache({}, {}, {})
    refs = list(groups)
    for i in range(0, len(refs), 500):
        stmt = select(Order.external_ref).where(Order.external_ref.in_(refs[i:i + 500]))
        cache.existing.update(ref for ref in (await uow.session.execute(stmt)).scalars() if ref is not None)
    plans: list[Planned] = []
    for ref, group in groups.items():
        planned = await _one(uow, ref, group, report, ctx, cache)
        if planned is not None:
            plans.append(planned)
        ticker.tick(len(group))
    if cache.ownerless:
        # one error for the file, not one per row: the fix is one option or one column
        report.error(0, "no_owner", count=len(cache.ownerless), rows=cache.ownerless)
    return plans


async def _one(uow: UnitOfWork, ref: str, group: list[OrderRow], report: Report, ctx: ImportContext,
               cache: _Cache) -> Planned | None:
    # Every problem of every row is reported in one pass; an unreadable cell (already reported by the
    # reader) only skips the checks that would repeat it (its line, and the totals that need that line).
    unreadable = any(r.bad for r in group)
    first = group[0].row
    if not check_length(report, first, {"ref": ref}, LINE_LIMITS):
        return None
    if ref in cache.existing:
        report.unchanged += 1
        return None
    errors = len(report.errors)
    head = _head(group, report)
    customer = await _customer(uow, head, first, report, cache)
    owner = await _owner(uow, head, customer, first, report, ctx, cache)
    lines = [line for r in group if not r.bad and (line := await _line(uow, r, report, cache)) is not None]
    _check_duplicates(group, report)
    if unreadable or len(lines) < len(group):
        return None  # the totals of an order with a broken line would be wrong, and so would their errors
    amount = sum((line.line_amount for line in lines), Decimal("0.00")).quantize(CENT)
    paid = (head.get("paid") or Decimal(0)).quantize(CENT)
    state = _state(head, lines, amount, paid, ref, first, report)
    if state is None or not check_amount(report, first, "amount", amount):
        return None
    if len(report.errors) > errors or customer is None or owner is None:
        return None
    for no, line in enumerate(lines, 1):
        line.line_no = no
    report.created += 1
    return Planned(ref, head, customer, owner, lines, paid, state, len(group))


def _head(group: list[OrderRow], report: Report) -> dict[str, Any]:
    """The order-level cells: the first value given, and an error where a later row disagrees."""
    head: dict[str, Any] = {}
    where: dict[str, int] = {}
    for r in group:
        for name in HEAD_FIELDS:
            value = getattr(r, name)
            if value is None:
                continue
            if name not in head:
                head[name], where[name] = value, r.row
            elif head[name] != value:
                report.error(r.row, "conflict", field=name, ref=r.ref, value=value, first=where[name],
                             first_value=head[name])
    return head


async def _customer(uow: UnitOfWork, head: dict[str, Any], row: int, report: Report,
                    cache: _Cache) -> Customer | None:
    name = head.get("customer")
    if name is None:
        report.error(row, "missing", field="customer")
        return None
    if name not in cache.customers:
        stmt = select(Customer).where(Customer.name == name)
        cache.customers[name] = (await uow.session.execute(stmt)).scalar_one_or_none()
    found = cache.customers[name]
    if found is None:
        report.error(row, "unknown_customer", value=name)
    return found


async def _owner(uow: UnitOfWork, head: dict[str, Any], customer: Customer | None, row: int, report: Report,
                 ctx: ImportContext, cache: _Cache) -> Person | None:
    """负责人 from the file, else --owner, else the customer's owner."""
    ref: str | None = head.get("owner") or ctx.default_owner
    if ref is None:
        if customer is not None and customer.owner_id is not None:
            if customer.owner_id not in cache.by_id:
                cache.by_id[customer.owner_id] = await people.person(uow, customer.owner_id)
            return cache.by_id[customer.owner_id]
        cache.ownerless.append(row)
        return None
    if ref not in cache.owners:
        # an order must not go to someone who left
        cache.owners[ref] = [p for p in await people.find_people(uow, ref) if p.active]
    found = cache.owners[ref]
    if len(found) != 1:
        report.error(row, "ambiguous_owner" if found else "unknown_owner", value=ref, count=len(found))
        return None
    return found[0]


async def _line(uow: UnitOfWork, r: OrderRow, report: Report, cache: _Cache) -> Line | None:
    errors = len(report.errors)
    for name in ("product", "qty", "unit_price"):
        if getattr(r, name) is None:
            report.error(r.row, "missing", field=name)
    check_length(report, r.row, {"product": r.product, "unit": r.unit}, LINE_LIMITS)
    shipped = r.shipped if r.shipped is not None else Decimal(0)
    if r.qty is not None and r.qty <= 0:
        report.error(r.row, "not_positive", field="qty", value=r.qty)
    if r.unit_price is not None and r.unit_price <= 0:
        report.error(r.row, "not_positive", field="unit_price", value=r.unit_price)
    for name, value in (("qty", r.qty), ("shipped", r.shipped)):
        if value is not None and value != value.quantize(Decimal("0.001")):
            report.error(r.row, "too_precise", field=name, value=value)  # the column keeps 3 decimals
    check_amount(report, r.row, "unit_price", r.unit_price)
    check_amount(report, r.row, "qty", r.qty, negative_ok=True)
    if check_amount(report, r.row, "shipped", shipped) and r.qty is not None and shipped > r.qty:
        report.error(r.row, "over_shipped", shipped=shipped, qty=r.qty)
    if len(report.errors) > errors or r.product is None or r.qty is None or r.unit_price is None:
        return None
    if r.qty * r.unit_price >= MAX_AMOUNT:
        report.error(r.row, "too_large", field="amount", value=r.qty * r.unit_price)
        return None
    if r.product not in cache.products:
        cache.products[r.product] = await catalog.exact_product(uow, r.product)
    product = cache.products[r.product]
    if product is None:
        # a discontinued product is still history: keep it as a free-text line, like chat orders do
        report.note(r.row, "free_product", value=r.product)
    return Line(
        product_id=product.id if product else None, sku=product.sku if product else r.product,
        name=product.name if product else "", qty=r.qty, unit=r.unit or (product.unit if product else None),
        unit_price=r.unit_price, shipped_qty=shipped, floor_price=product.floor_price if product else None,
    )


def _check_duplicates(group: list[OrderRow], report: Report) -> None:
    seen: dict[str, int] = {}
    for r in group:
        if r.product is None:
            continue
        key = r.product.lower()
        if key in seen:
            report.error(r.row, "duplicate_line", ref=r.ref, value=r.product, first=seen[key])
        seen.setdefault(key, r.row)


def _state(head: dict[str, Any], lines: list[Line], amount: Decimal, paid: Decimal, ref: str, row: int,
           report: Report) -> State | None:
    """The state to store, consistent with what was shipped and paid."""
    given: State | None = head.get("state")
    if not check_amount(report, row, "paid", paid):
        return None
    if paid > amount:
        report.error(row, "over_paid", ref=ref, paid=paid, amount=amount)
        return None
    if given is not None and given not in IMPORTABLE:
        report.error(row, "state_not_importable", value=given)
        return None
    shipped_any = any(line.shipped_qty > 0 for line in lines)
    settled = all(line.shipped_qty >= line.qty for line in lines) and paid >= amount
    if given is State.CANCELLED and (shipped_any or paid > 0):
        report.error(row, "cancelled_with_activity", ref=ref)
        return None
    if given is State.COMPLETED and not settled:
        report.error(row, "completed_not_settled", ref=ref, balance=amount - paid)
        return None
    if settled and given is not State.CANCELLED:
        if given not in (None, State.COMPLETED):
            report.note(row, "settled", ref=ref, value=given)
        return State.COMPLETED
    state = given or State.CONFIRMED
    if state in OPEN and head.get("due") is None:
        report.error(row, "missing", field="due")
        return None
    return state
