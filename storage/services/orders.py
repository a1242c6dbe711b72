"""Creating, completing, submitting and withdrawing orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm.attributes import set_committed_value

from storage import approval_chain, lifecycle
from storage.db import UnitOfWork
from storage.domain_events import Confirmed, Created, DomainEvent, Edited, Submitted, Withdrawn
from storage.models import Approval, Customer, Order, OrderLine, Person, PersonRole
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

ZERO = Decimal("0.00")


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
    """Create an order; submit it at once when complete, else keep it as a DRAFT.

    The order is decided before it is written (its submission too: the approval chain, the state it
    reaches), so it is inserted once, in its final state, with its lines (two statements, see
    ``OrderRepository.insert_new``); the audit events and domain events are those of a DRAFT created
    and then submitted, in that order.
    """
    check_lines(data.lines)
    order = Order(
        no=await next_number(uow, "order"),
        owner_id=prov.person_id,
        customer_id=None,
        customer=None,
        state=State.DRAFT.value,
        production="NONE",
        due_date=None, payment_terms=None, note=None, address=None, contact=None,
        amount=ZERO, paid_amount=ZERO, written_off=ZERO,
        version=1,
        row_version=1,  # what the optimistic lock counts from (the ORM's first value)
        approval_round=0,
        state_reason=None,
        external_ref=None,
        origin_platform=origin.platform,
        origin_chat_id=origin.chat_id,
        origin_chat_type=origin.chat_type,
        submitted_at=None, confirmed_at=None, shipped_at=None, signed_at=None, completed_at=None,
        created_at=now,
        updated_at=now,
        lines=[],
    )
    _apply_fields(order, data)
    if order.payment_terms is None:
        order.payment_terms = (data.customer.payment_terms if data.customer else None) or DEFAULT_PAYMENT_TERMS
    owner = await _owner(uow, prov)
    missing = tuple(lifecycle.missing(order))
    snapshot = content_snapshot(order)
    decided = await _decide(uow, order, prov, rules, now) if not missing else None
    await uow.orders.insert_new(order)
    set_committed_value(order, "owner", owner)  # never cascaded: a copy made from ``prov`` is not written
    audit(uow, prov, "create", order, now, after=snapshot)
    events: list[DomainEvent] = [Created(order.id, order.no, missing=missing)]
    if decided is not None:
        events += await _carry_out(uow, order, prov, decided, now)
    return order, events


#: where the provenance is the chat's identity of a registered person (its name and roles as the identity
#: cache has them: ``bot/identity.py``)
_CHAT_SOURCES = frozenset({"message", "card"})


async def _owner(uow: UnitOfWork, prov: Provenance) -> Person:
    """The new order's owner (the actor): as the session holds them, else, for a chat's actor, a copy made
    from the provenance (what the notices and the reply show of the owner: platform, user id, name), else
    read. The copy stays outside the session: nothing writes it, and the order refers to it by ``owner_id``."""
    held = uow.people.held(prov.person_id)
    if held is not None:
        return held
    if prov.source in _CHAT_SOURCES:
        return Person(id=prov.person_id, platform=prov.platform, user_id=prov.user_id, name=prov.name, active=True,
                      roles=[PersonRole(person_id=prov.person_id, role=r) for r in sorted(prov.roles)])
    return await uow.people.with_roles(prov.person_id)


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
    return await _carry_out(uow, order, prov, await _decide(uow, order, prov, rules, now), now)


@dataclass(frozen=True)
class _Decision:
    """A submission decided (the order's fields set), not yet stored: its chain and the roles nobody holds."""

    before: str
    chain: list[lifecycle.Step]
    vacant: tuple[str, ...]


async def _decide(uow: UnitOfWork, order: Order, prov: Provenance, rules: Rules, now: datetime) -> _Decision:
    """The part of a submission that reads only: the chain; the order's state and times set in memory."""
    lifecycle.check(order, Action.SUBMIT, prov.actor)
    chain = await approvals.chain_for(uow, order, rules)
    before = order.state
    order.approval_round += 1
    order.submitted_at = now
    order.state_reason = None
    vacant = tuple(await approvals.vacant_roles(uow, order, [s.role.value for s in chain]))
    if not chain:
        lifecycle.set_state(order, State.CONFIRMED)
        order.confirmed_at = now
    else:
        lifecycle.set_state(order, State.PENDING_APPROVAL)
    return _Decision(before, chain, vacant)


async def _carry_out(uow: UnitOfWork, order: Order, prov: Provenance, decided: _Decision,
                     now: datetime) -> list[DomainEvent]:
    """The part of a submission that needs the order stored: audit, approval steps, reservations."""
    chain = decided.chain
    events: list[DomainEvent] = [Submitted(
        order.id, order.no, steps=tuple(s.role.value for s in chain), reasons=tuple(s.reasons for s in chain),
        vacant=decided.vacant)]
    if not chain:
        audit(uow, prov, "submit", order, now, before={"state": decided.before}, after={"state": order.state})
        events.append(Confirmed(order.id, order.no, auto=True))
        events += await purchasing.on_confirmed(uow, order)
        return events
    first = await approvals.open_chain(uow, order, chain, None, now)
    audit(uow, prov, "submit", order, now, before={"state": decided.before},
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
