"""Approval chains of orders and change requests: computing them, storing them, moving them on.

The rules (which step follows which, who may decide, where a decision leads) are the pure
``storage/approval_chain.py``; deciding a step is ``storage/services/decisions.py``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from storage import approval_chain as chain
from storage import lifecycle
from storage.db import UnitOfWork
from storage.domain_events import ApprovalNeeded
from storage.models import Approval, ChangeRequest, Customer, Order
from storage.services.base import Rules
from storage.services.people import holders_of


async def chain_for(
    uow: UnitOfWork, order: Order, rules: Rules, amount: Decimal | None = None,
    prices: list[tuple[Decimal | None, Decimal | None]] | None = None,
) -> list[lifecycle.Step]:
    """The chain for ``order`` (or for a proposed ``amount`` and line prices of a change)."""
    amount = order.amount if amount is None else amount
    if prices is None:
        prices = [(line.unit_price, line.floor_price) for line in order.lines]
    below_floor = any(p is not None and f is not None and p < f for p, f in prices)
    over_credit = False
    customer: Customer | None = order.customer
    if customer is not None and customer.credit_limit is not None:
        exposure = await uow.approvals.customer_exposure(customer.id, order.id)
        over_credit = exposure + amount - order.paid_amount > customer.credit_limit
    return lifecycle.approval_chain(amount, rules.t1, rules.t2, below_floor=below_floor, over_credit=over_credit)


async def vacant_roles(uow: UnitOfWork, order: Order, roles: list[str]) -> list[str]:
    """The roles of ``roles`` that nobody but the order's owner holds (their step would wait forever)."""
    holders = {role: [p.id for p in await holders_of(uow, role)] for role in dict.fromkeys(roles)}
    return chain.vacant(roles, holders, order.owner_id)


async def open_chain(
    uow: UnitOfWork, order: Order, steps: list[lifecycle.Step], change: ChangeRequest | None, now: datetime
) -> Approval:
    """Store the steps of a new round; the first is PENDING, the rest WAITING."""
    rows = [
        Approval(
            order_id=order.id,
            change_request_id=change.id if change else None,
            round=order.approval_round,
            step=i,
            role=step.role.value,
            reasons=list(step.reasons),
            status=chain.opening_status(i).value,
            activated_at=now if i == 0 else None,
            created_at=now,
        )
        for i, step in enumerate(steps)
    ]
    await uow.approvals.add_steps(rows)
    return rows[0]


def needed_event(order: Order, step: Approval) -> ApprovalNeeded:
    """The event that sends approval cards for one step."""
    return ApprovalNeeded(order.id, order.no, approval_id=step.id, role=step.role, reasons=tuple(step.reasons),
                          change_request_id=step.change_request_id)


async def pending_step(uow: UnitOfWork, order: Order) -> Approval | None:
    """The step awaiting a decision in the current round, if any."""
    return chain.pending(await uow.approvals.round_steps(order))


async def cancel_round(uow: UnitOfWork, order: Order, now: datetime) -> list[int]:
    """Cancel the undecided steps of the order's current round; returns the ones whose cards must close."""
    return [s.id for s in chain.cancel_open(await uow.approvals.round_steps(order), now)]


async def activate_next(uow: UnitOfWork, order: Order, step: Approval, now: datetime) -> Approval | None:
    """Make the step after ``step`` pending, if there is one."""
    nxt = chain.next_step(await uow.approvals.round_steps(order), step)
    if nxt is not None:
        chain.move(nxt, chain.StepMove.ACTIVATE, now)
    return nxt
