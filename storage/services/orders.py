"""Creating, completing, submitting and withdrawing orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm.attributes import set_committed_value

from storage import approval_chain, lifecycle
from storage.db import UnitOfWork
from storage.domain_events import Confirmed, Created, DomainEvent, Edited, Submitted, Withdrawn
from storage.models import Approval, Customer, Order, OrderLine
from storage.services import approvals, purchasing
from storage.services.base import (
    MAX_AMOUNT,
    Provenance,
    Rules,
    audit,
    content_snapshot,
    next_number,
    recompute_amount,
)
from storage.vocab import DEFAULT_PAYMENT_TERMS, Action, State


@dataclass(frozen=True)
class LineInput:
    """A resolved order line (product matched, or free text when ``product_id`` is None)."""

    sku: str
    qty: Decimal
    unit_price: Decimal | None = None
    unit: str | None = None
    name: str = ""
    product_id: int | None = None
    floor_price: Decimal | None = None


@dataclass(frozen=True)
class OrderInput:
    """Resolved order fields; None means "not given"."""

    customer: Customer | None = None
    lines: tuple[LineInput, ...] = ()
    due_date: date | None = None
    note: str | None = None
    payment_terms: str | None = None
    address: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class Origin:
    """The chat where an order was created (its notifications go there)."""

    platform: str
    chat_id: str
    chat_type: str = "group"


def check_lines(lines: tuple[LineInput, ...] | list[LineInput]) -> None:
    """One line per product per command, and amounts a ledger can hold."""
    seen: set[str] = set()
    for line in lines:
        if line.sku.lower() in seen:
            raise lifecycle.Refused("duplicate_line", sku=line.sku)
        seen.add(line.sku.lower())
        if line.qty >= MAX_AMOUNT or (line.unit_price or 0) >= MAX_AMOUNT \
                or line.qty * (line.unit_price or 0) >= MAX_AMOUNT:
            raise lifecycle.Refused("too_large", sku=line.sku)


async def create(
    uow: UnitOfWork, prov: Provenance, data: OrderInput, origin: Origin, rules: Rules, now: datetime
) -> tuple[Order, list[DomainEvent]]:
    """Create an order; submit it at once when complete, else keep it as a DRAFT."""
    check_lines(data.lines)
    order = Order(
        no=await next_number(uow, "order"),
        owner_id=prov.person_id,
        state=State.DRAFT.value,
        origin_platform=origin.platform,
        origin_chat_id=origin.chat_id,
        origin_chat_type=origin.chat_type,
        created_at=now,
        updated_at=now,
        lines=[],
    )
    uow.session.add(order)
    _apply_fields(order, data)
    if order.payment_terms is None:
        order.payment_terms = (data.customer.payment_terms if data.customer else None) or DEFAULT_PAYMENT_TERMS
    await uow.session.flush()
    # the customer is the one matched (or none); the owner is loaded once, without reloading the order
    set_committed_value(order, "owner", await uow.people.with_roles(order.owner_id))
    if data.customer is None:
        set_committed_value(order, "customer", None)
    audit(uow, prov, "create", order, now, after=content_snapshot(order))
    events: list[DomainEvent] = [Created(order.id, order.no, missing=tuple(lifecycle.missing(order)))]
    if not lifecycle.missing(order):
        events += await submit(uow, order, prov, rules, now)
    return order, events


def _apply_fields(order: Order, data: OrderInput) -> None:
    if data.customer is not None:
        order.customer_id = data.customer.id
        order.customer = data.customer
    for field in ("due_date", "note", "payment_terms", "address", "contact"):
        value = getattr(data, field)
        if value is not None:
            setattr(order, field, value)
    for line in data.lines:
        existing = next((ol for ol in order.lines if ol.sku.lower() == line.sku.lower()), None)
        if existing is None:
            order.lines.append(
                OrderLine(
                    line_no=len(order.lines) + 1,
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.name,
                    qty=line.qty,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    floor_price=line.floor_price,
                    shipped_qty=Decimal(0),
                )
            )
        else:
            existing.qty = line.qty
            if line.unit_price is not None:
                existing.unit_price = line.unit_price
            if line.unit:
                existing.unit = line.unit
    recompute_amount(order)


async def fill(
    uow: UnitOfWork, order: Order, prov: Provenance, data: OrderInput, rules: Rules, now: datetime
) -> list[DomainEvent]:
    """/补充: fill in a DRAFT or REJECTED order; it submits itself when complete."""
    lifecycle.check(order, Action.EDIT, prov.actor)
    check_lines(data.lines)
    before = content_snapshot(order)
    _apply_fields(order, data)
    if order.amount >= MAX_AMOUNT:
        raise lifecycle.Refused("too_large", sku="")
    order.updated_at = now
    await uow.session.flush()
    await uow.session.refresh(order, ["customer"])
    audit(uow, prov, "edit", order, now, before=before, after=content_snapshot(order))
    events: list[DomainEvent] = [Edited(order.id, order.no, missing=tuple(lifecycle.missing(order)))]
    if not lifecycle.missing(order):
        events += await submit(uow, order, prov, rules, now)
    return events


async def submit(
    uow: UnitOfWork, order: Order, prov: Provenance, rules: Rules, now: datetime
) -> list[DomainEvent]:
    """Submit: compute and store the approval chain; an empty chain confirms at once."""
    lifecycle.check(order, Action.SUBMIT, prov.actor)
    chain = await approvals.chain_for(uow, order, rules)
    before = order.state
    order.approval_round += 1
    order.submitted_at = now
    order.state_reason = None
    roles = [s.role.value for s in chain]
    events: list[DomainEvent] = [Submitted(
        order.id, order.no, steps=tuple(roles), reasons=tuple(s.reasons for s in chain),
        vacant=tuple(await approvals.vacant_roles(uow, order, roles)))]
    if not chain:
        lifecycle.set_state(order, State.CONFIRMED)
        order.confirmed_at = now
        audit(uow, prov, "submit", order, now, before={"state": before}, after={"state": order.state})
        events.append(Confirmed(order.id, order.no, auto=True))
        events += await purchasing.on_confirmed(uow, order)
        return events
    lifecycle.set_state(order, State.PENDING_APPROVAL)
    first = await approvals.open_chain(uow, order, chain, None, now)
    audit(uow, prov, "submit", order, now, before={"state": before},
          after={"state": order.state, "chain": [s.role.value for s in chain]})
    events.append(approvals.needed_event(order, first))
    return events


async def withdraw(uow: UnitOfWork, order: Order, prov: Provenance, now: datetime) -> list[DomainEvent]:
    """/撤回: back to DRAFT, allowed only before anyone approved."""
    lifecycle.check(order, Action.WITHDRAW, prov.actor)
    steps = await uow.approvals.round_steps(order)
    approval_chain.check_withdrawable(steps)
    closed = approval_chain.cancel_open(steps, now)
    lifecycle.set_state(order, State.DRAFT)
    audit(uow, prov, "withdraw", order, now, before={"state": State.PENDING_APPROVAL.value},
          after={"state": order.state})
    return [Withdrawn(order.id, order.no, closed_approvals=tuple(a.id for a in closed))]


def open_approvals(steps: list[Approval]) -> list[Approval]:
    """Steps still waiting for a decision."""
    return approval_chain.undecided(steps)
