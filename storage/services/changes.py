"""Change requests (变更) on confirmed orders, with a diff, approval and versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from storage import approval_chain, lifecycle
from storage.db import UnitOfWork
from storage.domain_events import (
    ChangeApplied,
    ChangeRequested,
    Completed,
    DomainEvent,
)
from storage.models import ChangeRequest, Order, OrderVersion
from storage.services import approvals, purchasing
from storage.services.base import (
    CENT,
    MAX_AMOUNT,
    Provenance,
    Rules,
    audit,
    content_snapshot,
    jsonable,
    plain,
)
from storage.vocab import Action, ChangeStatus

#: fields whose change needs the approval rules; others apply at once
CONTROLLED = ("qty", "unit_price", "due_date", "payment_terms")


@dataclass(frozen=True)
class LineChange:
    """New quantity and/or price for the order line with this SKU."""

    sku: str
    qty: Decimal | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class ChangeInput:
    """What to change; None means "unchanged"."""

    lines: tuple[LineChange, ...] = ()
    due_date: date | None = None
    payment_terms: str | None = None
    note: str | None = None
    address: str | None = None
    contact: str | None = None


def _proposed(order: Order, change: ChangeInput) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The content after the change, and the diff rows (field, before, after, controlled)."""
    before = content_snapshot(order)
    after = jsonable(dict(before))
    after["lines"] = [dict(line) for line in before["lines"]]
    diff: list[dict[str, Any]] = []
    for lc in change.lines:
        line = next((ln for ln in after["lines"] if ln["sku"].lower() == lc.sku.lower()), None)
        if line is None:
            raise lifecycle.Refused("no_such_line", sku=lc.sku)
        for key, value in (("qty", lc.qty), ("unit_price", lc.unit_price)):
            if value is not None and Decimal(str(line[key])) != value:
                after_text = plain(value) if key == "qty" else str(value)
                diff.append({"field": key, "sku": line["sku"], "before": line[key], "after": after_text})
                line[key] = after_text
        if Decimal(str(line["qty"])) < Decimal(str(line["shipped_qty"])):
            raise lifecycle.Refused("qty_below_shipped", sku=line["sku"], shipped=line["shipped_qty"])
    for key in ("due_date", "payment_terms", "note", "address", "contact"):
        value = jsonable(getattr(change, key))
        if value is not None and value != before[key]:
            diff.append({"field": key, "before": before[key], "after": value})
            after[key] = value
    amount = sum(
        (Decimal(str(ln["qty"])) * Decimal(str(ln["unit_price"] or 0)) for ln in after["lines"]), Decimal(0)
    ).quantize(CENT)
    after["amount"] = str(amount)
    for row in diff:
        row["controlled"] = row["field"] in CONTROLLED
    return after, diff


async def request(
    uow: UnitOfWork, order: Order, prov: Provenance, change: ChangeInput, rules: Rules, now: datetime
) -> tuple[ChangeRequest | None, list[DomainEvent]]:
    """/变更: apply at once when nothing controlled changes or no approval is needed; else ask."""
    lifecycle.check(order, Action.CHANGE, prov.actor)
    if await uow.approvals.pending_change(order.id) is not None:
        raise lifecycle.Refused("change_pending")
    after, diff = _proposed(order, change)
    if not diff:
        raise lifecycle.Refused("no_change")
    amount = Decimal(after["amount"])
    if amount >= MAX_AMOUNT:
        raise lifecycle.Refused("too_large", sku="")
    if amount < order.paid_amount:
        raise lifecycle.Refused("amount_below_paid", paid=order.paid_amount)
    cr = ChangeRequest(
        order_id=order.id, status=ChangeStatus.PENDING.value, requested_by=prov.person_id,
        from_version=order.version, diff=diff, before=content_snapshot(order), after=after, created_at=now,
    )
    await uow.approvals.add_change(cr)
    chain: list[lifecycle.Step] = []
    if any(row["controlled"] for row in diff):
        prices = [(Decimal(str(ln["unit_price"])) if ln["unit_price"] is not None else None,
                   ol.floor_price) for ln, ol in zip(after["lines"], order.lines, strict=True)]
        chain = await approvals.chain_for(uow, order, rules, amount=amount, prices=prices)
    audit(uow, prov, "change_request", order, now, before=cr.before, after=after)
    if not chain:
        events: list[DomainEvent] = [ChangeRequested(order.id, order.no, change_request_id=cr.id, diff=tuple(diff),
                                                     auto=True)]
        return cr, events + await apply(uow, order, cr, prov, now)
    order.approval_round += 1
    first = await approvals.open_chain(uow, order, chain, cr, now)
    return cr, [ChangeRequested(order.id, order.no, change_request_id=cr.id, diff=tuple(diff)),
                approvals.needed_event(order, first)]


async def apply(
    uow: UnitOfWork, order: Order, cr: ChangeRequest, prov: Provenance, now: datetime
) -> list[DomainEvent]:
    """Write the change: version n+1 with the full before/after."""
    after = cr.after
    by_sku = {ln["sku"].lower(): ln for ln in after["lines"]}
    for line in order.lines:
        new = by_sku[line.sku.lower()]
        line.qty = Decimal(str(new["qty"]))
        line.unit_price = Decimal(str(new["unit_price"])) if new["unit_price"] is not None else None
    for key in ("payment_terms", "note", "address", "contact"):
        setattr(order, key, after[key])
    order.due_date = date.fromisoformat(after["due_date"]) if after["due_date"] else None
    order.amount = Decimal(after["amount"])
    order.version += 1
    order.updated_at = now
    approval_chain.move_change(cr, approval_chain.ChangeMove.APPLY, now)
    uow.session.add(OrderVersion(order_id=order.id, version=order.version, snapshot=content_snapshot(order),
                                 change_request_id=cr.id, created_by=cr.requested_by, created_at=now))
    audit(uow, prov, "change_applied", order, now, before=cr.before, after=content_snapshot(order))
    events: list[DomainEvent] = [ChangeApplied(order.id, order.no, change_request_id=cr.id, diff=tuple(cr.diff),
                                               version=order.version)]
    if lifecycle.settle(order):
        order.completed_at = now
        events.append(Completed(order.id, order.no))
    # more of a product reserved may leave it short
    events += await purchasing.on_confirmed(uow, order)
    return events


def reject(uow: UnitOfWork, order: Order, cr: ChangeRequest, prov: Provenance, comment: str | None,
           now: datetime) -> None:
    """A step of the change was rejected: the change is not made."""
    approval_chain.move_change(cr, approval_chain.ChangeMove.REJECT, now)
    cr.reason = comment
    audit(uow, prov, "change_rejected", order, now, summary=comment or "")


async def withdraw_pending(uow: UnitOfWork, order: Order, now: datetime, why: str) -> list[int]:
    """Withdraw the order's waiting change, if any; returns the approval steps whose cards must close."""
    cr = await uow.approvals.pending_change(order.id)
    if cr is None:
        return []
    approval_chain.move_change(cr, approval_chain.ChangeMove.WITHDRAW, now)
    cr.reason = why
    steps = await uow.approvals.change_steps(cr.id)
    return [s.id for s in approval_chain.cancel_open(steps, now)]
