"""Production marks, shipments, signing and payments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from storage import lifecycle
from storage.db import UnitOfWork
from storage.domain_events import (
    Completed,
    DomainEvent,
    Paid,
    ProductionFinished,
    ProductionStarted,
    Shipped,
    Signed,
)
from storage.models import Order, OrderLine, Payment, Shipment, ShipmentLine, StockMove
from storage.services.base import CENT, MAX_AMOUNT, Provenance, audit, state_snapshot
from storage.services.catalog import lock_product
from storage.vocab import Action, is_prepayment


async def production(
    uow: UnitOfWork, order: Order, prov: Provenance, finished: bool, now: datetime
) -> list[DomainEvent]:
    """/生产 (started) or /完工 (finished; notifies the warehouse)."""
    action = Action.FINISH_PRODUCTION if finished else Action.START_PRODUCTION
    lifecycle.check(order, action, prov.actor)
    before = state_snapshot(order)
    order.production = "FINISHED" if finished else "STARTED"
    order.updated_at = now
    audit(uow, prov, "production_finished" if finished else "production_started", order, now, before=before,
          after=state_snapshot(order))
    return [(ProductionFinished if finished else ProductionStarted)(order.id, order.no)]


async def ship(
    uow: UnitOfWork,
    order: Order,
    prov: Provenance,
    wanted: list[tuple[OrderLine, Decimal]] | None,
    carrier: str | None,
    tracking_no: str | None,
    now: datetime,
) -> tuple[Shipment, list[DomainEvent]]:
    """Ship the listed quantities (or everything that remains); checks remaining and stock."""
    lifecycle.check(order, Action.SHIP, prov.actor)
    if wanted is None:
        wanted = [(line, line.remaining) for line in order.lines if line.remaining > 0]
    # the same product named twice in one shipment counts once, with both quantities
    merged: dict[int, tuple[OrderLine, Decimal]] = {}
    for line, qty in wanted:
        merged[id(line)] = (line, merged[id(line)][1] + qty if id(line) in merged else qty)
    wanted = list(merged.values())
    for line, qty in wanted:
        if qty <= 0:
            raise lifecycle.Refused("bad_qty", sku=line.sku)
        if qty > line.remaining:
            raise lifecycle.Refused("over_remaining", sku=line.sku, qty=qty, remaining=line.remaining)
    # Lock products in a fixed order so that two concurrent shipments cannot deadlock.
    for line, qty in sorted(wanted, key=lambda item: item[0].product_id or 0):
        if line.product_id is None:
            continue
        product = await lock_product(uow, line.product_id)
        if not product.track_stock:
            continue
        if product.stock < qty:
            raise lifecycle.Refused("no_stock", sku=line.sku, qty=qty, stock=product.stock)
        product.stock = product.stock - qty
        uow.session.add(StockMove(product_id=product.id, delta=-qty, reason="ship", order_id=order.id,
                                  person_id=prov.person_id, created_at=now))
    before = state_snapshot(order)
    amount = Decimal(0)
    shipment = Shipment(
        order_id=order.id, seq=0, carrier=carrier, tracking_no=tracking_no, shipped_by=prov.person_id,
        shipped_at=now, lines=[], amount=Decimal(0),
    )
    for line, qty in wanted:
        line.shipped_qty = line.shipped_qty + qty
        shipment.lines.append(ShipmentLine(order_line_id=line.id, qty=qty))
        amount += qty * (line.unit_price or 0)
    shipment.amount = amount.quantize(CENT)
    shipment.seq = await _next_shipment_seq(uow, order)
    uow.session.add(shipment)
    order.shipped_at = order.shipped_at or now
    order.updated_at = now
    await uow.session.flush()
    events: list[DomainEvent] = [Shipped(
        order.id, order.no, shipment_id=shipment.id, seq=shipment.seq, carrier=carrier, tracking_no=tracking_no,
        lines=tuple((line.sku, str(qty), line.unit or "") for line, qty in wanted),
        full=lifecycle.fully_shipped(order),
        # goes ahead (the goods may already be on the truck) but the owner and warehouse are warned
        unpaid_prepay=is_prepayment(order.payment_terms) and order.paid_amount <= 0,
        terms=order.payment_terms)]
    events += _settle(order, now)
    audit(uow, prov, "ship", order, now, summary=str(shipment.seq), before=before,
          after={**state_snapshot(order), "carrier": carrier, "tracking_no": tracking_no,
                 "lines": [[line.sku, qty] for line, qty in wanted]})
    return shipment, events


async def _next_shipment_seq(uow: UnitOfWork, order: Order) -> int:
    from sqlalchemy import func, select

    stmt = select(func.count(Shipment.id)).where(Shipment.order_id == order.id)
    return int((await uow.session.execute(stmt)).scalar_one()) + 1


def _settle(order: Order, now: datetime) -> list[DomainEvent]:
    if lifecycle.settle(order):
        order.completed_at = now
        return [Completed(order.id, order.no)]
    return []


async def sign(uow: UnitOfWork, order: Order, prov: Provenance, now: datetime) -> list[DomainEvent]:
    """/签收: the customer signed for the goods."""
    lifecycle.check(order, Action.SIGN, prov.actor)
    order.signed_at = now
    audit(uow, prov, "sign", order, now, after={"signed_at": now})
    return [Signed(order.id, order.no)]


async def pay(
    uow: UnitOfWork, order: Order, prov: Provenance, amount: Decimal, method: str | None, paid_on: date,
    now: datetime,
) -> tuple[Payment, list[DomainEvent]]:
    """/回款: record a payment; never more than the balance."""
    lifecycle.check(order, Action.PAY, prov.actor)
    amount = amount.quantize(CENT)
    if amount <= 0 or amount >= MAX_AMOUNT:
        raise lifecycle.Refused("bad_amount")
    balance = lifecycle.balance(order)
    if amount > balance:
        raise lifecycle.Refused("overpay", amount=amount, balance=balance)
    before = state_snapshot(order)
    payment = Payment(order_id=order.id, amount=amount, method=method, paid_on=paid_on,
                      recorded_by=prov.person_id, created_at=now)
    uow.session.add(payment)
    order.paid_amount = order.paid_amount + amount
    order.updated_at = now
    await uow.session.flush()
    events: list[DomainEvent] = [Paid(order.id, order.no, amount=amount, method=method,
                                      balance=lifecycle.balance(order))]
    events += _settle(order, now)
    audit(uow, prov, "pay", order, now, summary=str(amount), before=before,
          after={**state_snapshot(order), "amount": amount, "method": method, "paid_on": paid_on})
    return payment, events
