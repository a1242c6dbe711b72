"""Approval chains: computing them, storing them, and deciding a step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import func, select

from storage import lifecycle
from storage.db import UnitOfWork
from storage.domain_events import ApprovalNeeded, Approved, DomainEvent, Rejected, StepApproved, StepDecided
from storage.models import Approval, ChangeRequest, Customer, Order
from storage.services import purchasing
from storage.services.base import Provenance, Rules, audit, money
from storage.services.people import holders_of
from storage.vocab import Action, Role, State

D = TypeVar("D", bound=StepDecided)


@dataclass(frozen=True)
class Decision:
    """What the event of a decided step carries."""

    approval_id: int
    role: str
    comment: str | None
    change_request_id: int | None
    by: str
    stand_in: bool

    def event(self, cls: type[D], order: Order) -> D:
        """The decision as an event of class ``cls``."""
        return cls(order.id, order.no, approval_id=self.approval_id, role=self.role, comment=self.comment,
                   change_request_id=self.change_request_id, by=self.by, stand_in=self.stand_in)


OPEN_STATES = (State.CONFIRMED.value, State.ON_HOLD.value, State.PENDING_APPROVAL.value)


async def customer_exposure(uow: UnitOfWork, customer_id: int, exclude_order_id: int | None) -> Decimal:
    """What a customer owes on open orders (confirmed, held or pending), other than one order."""
    stmt = select(func.coalesce(func.sum(Order.amount - Order.paid_amount - Order.written_off), 0)).where(
        Order.customer_id == customer_id, Order.state.in_(OPEN_STATES)
    )
    if exclude_order_id is not None:
        stmt = stmt.where(Order.id != exclude_order_id)
    return money((await uow.session.execute(stmt)).scalar_one())


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
        exposure = await customer_exposure(uow, customer.id, order.id)
        over_credit = exposure + amount - order.paid_amount > customer.credit_limit
    return lifecycle.approval_chain(amount, rules.t1, rules.t2, below_floor=below_floor, over_credit=over_credit)


async def vacant_roles(uow: UnitOfWork, order: Order, roles: list[str]) -> list[str]:
    """The roles of ``roles`` that nobody but the order's owner holds (their step would wait forever)."""
    vacant = []
    for role in roles:
        if role not in vacant and not [p for p in await holders_of(uow, role) if p.id != order.owner_id]:
            vacant.append(role)
    return vacant


async def stands_in(uow: UnitOfWork, order: Order, step: Approval, prov: Provenance) -> bool:
    """Whether ``prov`` decides ``step`` as an admin standing in for a role nobody holds.

    An order must not wait forever because a role is vacant (a small company may have no 老板
    in the system yet), so an admin may decide such a step; the history records it as
    decided by an admin standing in. While someone holds the role, only they decide.
    """
    if step.role in prov.roles or Role.ADMIN.value not in prov.roles:
        return False
    if await vacant_roles(uow, order, [step.role]):
        return True
    holders = [p.label for p in await holders_of(uow, step.role) if p.id != order.owner_id]
    raise lifecycle.Refused("not_approver", role=step.role, holders=holders, admin=True)


async def open_chain(
    uow: UnitOfWork, order: Order, chain: list[lifecycle.Step], change: ChangeRequest | None, now: datetime
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
            status="PENDING" if i == 0 else "WAITING",
            activated_at=now if i == 0 else None,
            created_at=now,
        )
        for i, step in enumerate(chain)
    ]
    uow.session.add_all(rows)
    await uow.session.flush()
    return rows[0]


def needed_event(order: Order, step: Approval) -> ApprovalNeeded:
    """The event that sends approval cards for one step."""
    return ApprovalNeeded(order.id, order.no, approval_id=step.id, role=step.role, reasons=tuple(step.reasons),
                          change_request_id=step.change_request_id)


async def round_steps(uow: UnitOfWork, order: Order) -> list[Approval]:
    """The steps of the order's current approval round."""
    stmt = (
        select(Approval)
        .where(Approval.order_id == order.id, Approval.round == order.approval_round)
        .order_by(Approval.step)
        .execution_options(populate_existing=True)
    )
    return list((await uow.session.execute(stmt)).scalars())


def cancel_open(steps: list[Approval], now: datetime) -> list[Approval]:
    """Cancel every undecided step (withdraw, cancel); returns the PENDING ones that had cards."""
    carded = [s for s in steps if s.status == "PENDING"]
    for s in steps:
        if s.status in ("PENDING", "WAITING"):
            s.status = "CANCELLED"
            s.decided_at = now
    return carded


async def approval_by_id(uow: UnitOfWork, approval_id: int) -> Approval | None:
    """One approval step, read fresh (call it after the order's row lock is held)."""
    return await uow.session.get(Approval, approval_id, populate_existing=True)


async def pending_step(uow: UnitOfWork, order: Order) -> Approval | None:
    """The step awaiting a decision in the current round, if any."""
    for step in await round_steps(uow, order):
        if step.status == "PENDING":
            return step
    return None


async def decide(
    uow: UnitOfWork, order: Order, step: Approval, prov: Provenance, approve: bool, comment: str | None,
    now: datetime,
) -> list[DomainEvent]:
    """Approve or reject one step (the first decision wins; later presses are stale)."""
    if step.status != "PENDING" or step.round != order.approval_round:
        raise lifecycle.Refused("stale", state=order.state)
    stand_in = await stands_in(uow, order, step, prov)
    # an admin standing in acts with the step's role for this one decision
    actor = lifecycle.Actor(prov.person_id, prov.roles | {step.role}) if stand_in else prov.actor
    if step.change_request_id is None:
        lifecycle.check(order, Action.APPROVE if approve else Action.REJECT, actor)
    lifecycle.check_not_self(order.owner_id, actor)
    lifecycle.check_approver(step.role, actor)
    step.status = "APPROVED" if approve else "REJECTED"
    step.decided_by = prov.person_id
    step.decided_at = now
    step.comment = comment
    data = Decision(approval_id=step.id, role=step.role, comment=comment, change_request_id=step.change_request_id,
                    by=prov.name, stand_in=stand_in)
    marked = {"stand_in": step.role} if stand_in else {}
    if step.change_request_id is not None:
        from storage.services import changes  # the change module builds on this one

        return await changes.after_decision(uow, order, step, prov, approve, comment, now, data)
    if not approve:
        lifecycle.set_state(order, State.REJECTED)
        order.state_reason = comment
        audit(uow, prov, "reject", order, now, summary=comment or "",
              before={"state": State.PENDING_APPROVAL.value},
              after={"state": order.state, "reason": comment, **marked})
        return [data.event(Rejected, order)]
    nxt = await _activate_next(uow, order, step, now)
    if nxt is not None:
        audit(uow, prov, "approve_step", order, now, summary=step.role,
              after={"step": step.step, "next": nxt.role, **marked})
        return [data.event(StepApproved, order), needed_event(order, nxt)]
    lifecycle.set_state(order, State.CONFIRMED)
    order.confirmed_at = now
    audit(uow, prov, "approve", order, now, before={"state": State.PENDING_APPROVAL.value},
          after={"state": order.state, **marked})
    return [data.event(Approved, order), *await purchasing.on_confirmed(uow, order)]


async def _activate_next(uow: UnitOfWork, order: Order, step: Approval, now: datetime) -> Approval | None:
    for later in await round_steps(uow, order):
        if later.step > step.step and later.status == "WAITING":
            later.status = "PENDING"
            later.activated_at = now
            return later
    return None
