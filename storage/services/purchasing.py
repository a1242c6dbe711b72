"""Stock reservations, shortages and purchase requests (``P3``).

A confirmed (or held) order reserves what it still has to ship of its catalogue products; the
reservation is computed from the order lines, never stored, so shipments, changes, closings and
cancellations can never leave a stale count behind. A product is short when what is reserved
exceeds what is on hand plus what is on order (open purchases not yet arrived).

Confirmations lock the products they touch (``FOR UPDATE``, in id order, like shipments) before
they count: two orders confirmed at the same moment on PostgreSQL are counted one after the other,
so the second sees the first's reservation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from storage import lifecycle
from storage.db import UnitOfWork
from storage.domain_events import DomainEvent, ShortageFound
from storage.models import Order, OrderLine, Product, Purchase
from storage.repos.order_card import OrderCard
from storage.services.base import MAX_AMOUNT, Provenance, audit, next_number, plain
from storage.services.catalog import stock_in
from storage.vocab import PurchaseStatus, State

#: order states whose unshipped catalogue quantities are reserved
RESERVING = (State.CONFIRMED, State.ON_HOLD)
ZERO = Decimal(0)


def qty_of(value: object) -> Decimal:
    """A database sum as an exact quantity (SQLite returns floats)."""
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.001"))


@dataclass(frozen=True)
class Waiting:
    """An order whose line of a product is not covered (first confirmed, first served)."""

    order_id: int
    order_no: int
    owner_id: int
    #: how much of its line is not covered
    short: Decimal


@dataclass(frozen=True)
class Shortage:
    """A product short of what confirmed orders reserve."""

    product_id: int
    sku: str
    unit: str | None
    on_hand: Decimal
    reserved: Decimal
    on_order: Decimal
    waiting: tuple[Waiting, ...] = field(default=())

    @property
    def short(self) -> Decimal:
        """What is still to buy: reserved − on hand − on order."""
        return self.reserved - self.on_hand - self.on_order


@dataclass(frozen=True)
class StockView:
    """/库存 of one product."""

    product: Product
    reserved: Decimal
    on_order: Decimal

    @property
    def available(self) -> Decimal:
        """On hand minus reserved."""
        return self.product.stock - self.reserved


async def reserved(uow: UnitOfWork, product_ids: Iterable[int]) -> dict[int, Decimal]:
    """What confirmed and held orders still have to ship, per product."""
    ids = list(product_ids)
    if not ids:
        return {}
    stmt = (select(OrderLine.product_id, func.sum(OrderLine.qty - OrderLine.shipped_qty))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.product_id.in_(ids), Order.state.in_(RESERVING), OrderLine.shipped_qty < OrderLine.qty)
            .group_by(OrderLine.product_id))
    return {int(pid or 0): qty_of(total) for pid, total in (await uow.session.execute(stmt)).all()}


async def on_order(uow: UnitOfWork, product_ids: Iterable[int]) -> dict[int, Decimal]:
    """What open purchases still bring, per product."""
    ids = list(product_ids)
    if not ids:
        return {}
    stmt = (select(Purchase.product_id, func.sum(Purchase.qty - Purchase.received_qty))
            .where(Purchase.product_id.in_(ids), Purchase.status == PurchaseStatus.OPEN).group_by(Purchase.product_id))
    return {int(pid): qty_of(total) for pid, total in (await uow.session.execute(stmt)).all()}


async def stock_views(uow: UnitOfWork, products: list[Product]) -> list[StockView]:
    """On hand, reserved and on order of each product."""
    ids = [p.id for p in products]
    held, coming = await reserved(uow, ids), await on_order(uow, ids)
    return [StockView(p, held.get(p.id, ZERO), coming.get(p.id, ZERO)) for p in products]


#: the open lines of one product (``product_id``) in reserving orders, first confirmed first
_WAITING = (select(Order.id, Order.no, Order.owner_id, OrderLine.qty - OrderLine.shipped_qty)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.product_id == bindparam("product_id"), Order.state.in_(RESERVING),
                   OrderLine.shipped_qty < OrderLine.qty)
            .order_by(Order.confirmed_at, Order.no))


def _not_covered(rows: Iterable[Any], cover: Decimal) -> list[Waiting]:
    """Of the open lines in ``rows`` (first confirmed first), those ``cover`` does not serve, and by how much."""
    out: list[Waiting] = []
    left = cover
    for order_id, no, owner_id, open_qty in rows:
        need = qty_of(open_qty)
        short = need - max(left, ZERO)
        left -= need
        if short > 0:
            out.append(Waiting(int(order_id), int(no), int(owner_id), min(short, need)))
    return out


async def waiting_orders(uow: UnitOfWork, product_id: int, cover: Decimal) -> list[Waiting]:
    """Orders whose line of ``product_id`` is not covered by ``cover``, first confirmed first served."""
    return _not_covered((await uow.session.execute(_WAITING, {"product_id": product_id})).all(), cover)


async def shortages(uow: UnitOfWork, product_ids: Iterable[int], *, lock: bool) -> list[Shortage]:
    """The products among ``product_ids`` that are short; ``lock`` takes their row locks first."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    stmt = select(Product).where(Product.id.in_(ids), Product.track_stock.is_(True)).order_by(Product.id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    products = list((await uow.session.execute(stmt)).scalars())
    held, coming = await reserved(uow, ids), await on_order(uow, ids)
    out = []
    for p in products:
        view = Shortage(p.id, p.sku, p.unit, p.stock, held.get(p.id, ZERO), coming.get(p.id, ZERO))
        if view.short > 0:
            waiting = await waiting_orders(uow, p.id, p.stock + view.on_order)
            out.append(Shortage(p.id, p.sku, p.unit, p.stock, view.reserved, view.on_order, tuple(waiting)))
    return out


def catalogue_ids(order: Order | OrderCard) -> list[int]:
    """The catalogue products an order has still to ship."""
    return [ln.product_id for ln in order.lines if ln.product_id is not None and ln.remaining > 0]


def shortage_event(order: Order, found: list[Shortage], cause: str) -> ShortageFound | None:
    """The merged shortage notice for the 采购 role (None when nothing is short)."""
    if not found:
        return None
    items = [{"sku": s.sku, "unit": s.unit or "", "short": plain(s.short), "on_hand": plain(s.on_hand),
              "orders": [w.order_no for w in s.waiting]} for s in found]
    return ShortageFound(order.id, order.no, items=tuple(items), cause=cause)


async def on_confirmed(uow: UnitOfWork, order: Order) -> list[DomainEvent]:
    """Called when an order becomes CONFIRMED: its reservation may leave products short."""
    await uow.session.flush()
    event = shortage_event(order, await shortages(uow, catalogue_ids(order), lock=True), "confirmed")
    return [event] if event is not None else []


def order_shortages(conn: Connection, order: OrderCard) -> list[tuple[str, Decimal]]:
    """What of the order the stock on hand cannot serve yet, by SKU (the 缺货 line of its card).

    Synchronous, for the card's one-hand-off read (``storage.reads``); the same rule as
    :func:`waiting_orders`.
    """
    if order.state not in RESERVING:
        return []
    ids = sorted(set(catalogue_ids(order)))
    if not ids:
        return []
    stmt = (select(Product.id, Product.sku, Product.stock)
            .where(Product.id.in_(ids), Product.track_stock.is_(True)).order_by(Product.sku))
    out = []
    for product_id, sku, stock in conn.execute(stmt).all():
        waiting = _not_covered(conn.execute(_WAITING, {"product_id": product_id}).all(), stock)
        mine = next((w for w in waiting if w.order_id == order.id), None)
        if mine is not None:
            out.append((sku, mine.short))
    return out


# ---- purchase requests -------------------------------------------------------------------------
async def create(uow: UnitOfWork, prov: Provenance, product: Product, qty: Decimal, supplier: str | None,
                 expected: date | None, now: datetime) -> Purchase:
    """/采购: a purchase request ``P<no>``."""
    if qty <= 0 or qty >= MAX_AMOUNT:
        raise lifecycle.Refused("bad_qty", sku=product.sku)
    purchase = Purchase(no=await next_number(uow, "purchase"), product_id=product.id, qty=qty,
                        received_qty=Decimal(0), supplier=supplier, expected_date=expected,
                        status=PurchaseStatus.OPEN.value, created_by=prov.person_id, created_at=now, arrivals=[])
    uow.session.add(purchase)
    await uow.session.flush()
    await uow.session.refresh(purchase, ["product"])
    audit(uow, prov, "purchase", None, now, summary=f"P{purchase.no}",
          after={"sku": product.sku, "qty": qty, "supplier": supplier, "expected": expected})
    return purchase


async def purchase_by_no(uow: UnitOfWork, no: int, *, lock: bool = True) -> Purchase | None:
    """Load ``P<no>`` (row-locked for this transaction)."""
    stmt = select(Purchase).where(Purchase.no == no)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await uow.session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class Arrival:
    """What /到货 did: how much came, the stock now, and the orders it served (fully, or in part:
    ``still_short`` holds what an order served in part still lacks, by order id)."""

    qty: Decimal
    stock: Decimal
    served: tuple[Waiting, ...]
    complete: bool
    still_short: dict[int, Decimal] = field(default_factory=dict)


async def receive(uow: UnitOfWork, prov: Provenance, purchase: Purchase, qty: Decimal | None,
                  now: datetime) -> Arrival:
    """/到货: receive all that remains, or ``qty`` of it, into stock."""
    if purchase.status != PurchaseStatus.OPEN:
        raise lifecycle.Refused("purchase_done", no=purchase.no)
    qty = purchase.remaining if qty is None else qty
    if qty <= 0:
        raise lifecycle.Refused("bad_qty", sku=purchase.product.sku)
    if qty > purchase.remaining:
        raise lifecycle.Refused("over_purchase", no=purchase.no, qty=qty, remaining=purchase.remaining)
    product = await uow.session.get_one(Product, purchase.product_id, with_for_update=True,
                                        populate_existing=True)
    before = await waiting_orders(uow, product.id, product.stock)
    stock = await stock_in(uow, product, qty, prov.person_id, now, reason="purchase")
    after = {w.order_id: w for w in await waiting_orders(uow, product.id, stock)}
    served = tuple(w for w in before if w.order_id not in after or after[w.order_id].short < w.short)
    purchase.received_qty = purchase.received_qty + qty
    purchase.arrivals = [*purchase.arrivals, {"qty": plain(qty), "at": now.isoformat(), "by": prov.person_id}]
    if purchase.remaining <= 0:
        purchase.status = PurchaseStatus.RECEIVED.value
        purchase.received_at = now
    audit(uow, prov, "purchase_arrival", None, now, summary=f"P{purchase.no}",
          after={"sku": product.sku, "qty": qty, "stock": stock, "received": purchase.received_qty})
    still_short = {w.order_id: after[w.order_id].short for w in served if w.order_id in after}
    return Arrival(qty, stock, served, purchase.status == PurchaseStatus.RECEIVED, still_short)


async def all_shortages(uow: UnitOfWork) -> list[Shortage]:
    """Every catalogue product that is short (the dashboard, the API)."""
    ids = (await uow.session.execute(select(Product.id).where(Product.track_stock.is_(True)))).scalars()
    return await shortages(uow, list(ids), lock=False)


async def open_purchases(uow: UnitOfWork, limit: int = 100) -> list[Purchase]:
    """Purchases still waiting for goods, the earliest expected first."""
    stmt = (select(Purchase).where(Purchase.status == PurchaseStatus.OPEN)
            .order_by(Purchase.expected_date.is_(None), Purchase.expected_date, Purchase.no).limit(limit))
    return list((await uow.session.execute(stmt)).scalars())
