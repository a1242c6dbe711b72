"""Deciding one approval step, of an order's chain or of a change request's, and what follows.

The rules (who may decide, where a decision leads, which event it makes) are the pure
``storage/approval_chain.py``; this module loads what they need, writes the outcome with its
audit event (confirming or rejecting the order, applying, rejecting or withdrawing the change)
and returns the events.
"""

from __future__ import annotations

from datetime import datetime

from storage import approval_chain as chain
from storage import lifecycle
from storage.db import UnitOfWork
from storage.domain_events import DomainEvent
from storage.models import Approval, Order
from storage.services import approvals, changes, purchasing
from storage.services.base import Provenance, audit
from storage.services.people import holders_of
from storage.vocab import State


async def _stands_in(uow: UnitOfWork, order: Order, step: Approval, prov: Provenance) -> bool:
    if not chain.asks_stand_in(step.role, prov.actor):
        return False
    holders = [p.label for p in await holders_of(uow, step.role) if p.id != order.owner_id]
    return chain.stands_in(step.role, prov.actor, holders)


async def decide(
    uow: UnitOfWork, order: Order, step: Approval, prov: Provenance, approve: bool, comment: str | None,
    now: datetime,
) -> list[DomainEvent]:
    """Approve or reject one step of an order's or a change's chain (the first decision wins; later
    presses are stale)."""
    chain.check_decidable(step, order)
    stand_in = await _stands_in(uow, order, step, prov)
    chain.decider(step, order, prov.actor, approve, stand_in)
    chain.move(step, chain.StepMove.APPROVE if approve else chain.StepMove.REJECT, now)
    step.decided_by = prov.person_id
    step.comment = comment
    decision = chain.Decision(step.id, step.role, comment, step.change_request_id, prov.name, stand_in)
    if step.change_request_id is not None:
        return await _change_decided(uow, order, step, prov, approve, decision, now)
    marked = {"stand_in": step.role} if stand_in else {}
    nxt = await approvals.activate_next(uow, order, step, now) if approve else None
    result = chain.outcome(approve, nxt)
    events: list[DomainEvent] = [decision.event(order.id, order.no, result)]
    if result is chain.Outcome.REJECTED:
        lifecycle.set_state(order, State.REJECTED)
        order.state_reason = comment
        audit(uow, prov, "reject", order, now, summary=comment or "",
              before={"state": State.PENDING_APPROVAL.value},
              after={"state": order.state, "reason": comment, **marked})
    elif nxt is not None:
        audit(uow, prov, "approve_step", order, now, summary=step.role,
              after={"step": step.step, "next": nxt.role, **marked})
        events.append(approvals.needed_event(order, nxt))
    else:
        lifecycle.set_state(order, State.CONFIRMED)
        order.confirmed_at = now
        audit(uow, prov, "approve", order, now, before={"state": State.PENDING_APPROVAL.value},
              after={"state": order.state, **marked})
        events += await purchasing.on_confirmed(uow, order)
    return events


async def _change_decided(
    uow: UnitOfWork, order: Order, step: Approval, prov: Provenance, approve: bool, decision: chain.Decision,
    now: datetime,
) -> list[DomainEvent]:
    """Continue a change request's chain after one of its steps was decided."""
    assert step.change_request_id is not None
    cr = await uow.approvals.change(step.change_request_id)
    chain.check_change_open(cr, order)
    lapsed = chain.obsolete_reason(order, cr) if approve else None
    nxt = await approvals.activate_next(uow, order, step, now) if approve and lapsed is None else None
    result = chain.outcome(approve, nxt, lapsed)
    if result is chain.Outcome.LAPSED:
        # the order moved on while the change waited (shipped, paid, held, cancelled …)
        assert lapsed is not None
        closed = await changes.withdraw_pending(uow, order, now, lapsed)
        chain.move(step, chain.StepMove.LAPSE, now)
        return [decision.event(order.id, order.no, result, why=lapsed, closed=sorted({*closed, step.id}))]
    event = decision.event(order.id, order.no, result)
    if result is chain.Outcome.REJECTED:
        changes.reject(uow, order, cr, prov, decision.comment, now)
        return [event]
    if nxt is not None:
        return [event, approvals.needed_event(order, nxt)]
    return [event, *await changes.apply(uow, order, cr, prov, now)]
