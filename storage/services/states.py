"""Hold, resume, close, cancel and reopen: state changes with reasons."""

from __future__ import annotations

from datetime import datetime

from storage import lifecycle
from storage.db import UnitOfWork
from storage.domain_events import Cancelled, Closed, DomainEvent, Held, Reopened, Resumed, StateChanged
from storage.models import Order
from storage.services import approvals, changes, purchasing
from storage.services.base import Provenance, audit, state_snapshot
from storage.vocab import Action, State

EVENT_OF: dict[Action, type[StateChanged]] = {
    Action.HOLD: Held,
    Action.RESUME: Resumed,
    Action.CLOSE: Closed,
    Action.CANCEL: Cancelled,
    Action.REOPEN: Reopened,
}


async def change_state(
    uow: UnitOfWork, order: Order, prov: Provenance, action: Action, reason: str | None, now: datetime
) -> list[DomainEvent]:
    """Apply one of the reasoned state changes."""
    rule = lifecycle.check(order, action, prov.actor)
    assert rule.target is not None  # every rule of these actions has a target
    before = state_snapshot(order)
    from_state = order.state
    closed: list[int] = []
    if order.state == State.PENDING_APPROVAL:
        # cancelling while approval is pending: the cards must close
        closed = await approvals.cancel_round(uow, order, now)
    if action in (Action.HOLD, Action.CLOSE, Action.CANCEL):
        # a change waiting for approval cannot apply to a held, closed or cancelled order
        closed += await changes.withdraw_pending(uow, order, now, "state")
    if action is Action.CLOSE:
        # ended early: the remaining balance is written off
        order.written_off = lifecycle.balance(order) + order.written_off
        written_off: str | None = str(order.written_off)
    else:
        written_off = None
    if action is Action.REOPEN and order.state == State.CLOSED:
        order.written_off = order.written_off * 0
    lifecycle.set_state(order, rule.target)
    order.state_reason = reason
    order.updated_at = now
    audit(uow, prov, action.value.lower(), order, now, summary=reason or "", before=before,
          after={**state_snapshot(order), "reason": reason})
    events: list[DomainEvent] = [EVENT_OF[action](order.id, order.no, reason=reason, from_state=from_state,
                                                   closed_approvals=tuple(closed), written_off=written_off)]
    if action is Action.REOPEN and order.state == State.CONFIRMED:
        events += await purchasing.on_confirmed(uow, order)  # a reopened order reserves again
    return events
