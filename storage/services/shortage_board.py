"""The dashboard's shortage list in one SQL read: per short product its figures, how many orders wait
for it, and the first of them in line.

The definitions are ``storage.services.purchasing``'s (``shortages`` / ``waiting_orders``): a
product is short when what confirmed and held orders still have to ship exceeds what is on hand
plus what open purchases still bring; its waiting orders are those whose line is not covered when
the cover is handed out first confirmed, first served. Here the running total is a window sum in
the database (quantities as whole thousandths, exact on SQLite's floats too), and only the first
``shown`` waiting orders of each product come back with the count of all of them: a product that
5,000 orders wait for is one row with a few links, not 5,000 links.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select

from storage import stage_sql
from storage.db import UnitOfWork
from storage.models import Order, OrderLine, Product, Purchase
from storage.services.purchasing import Shortage, Waiting
from storage.stage_sql import without_jit
from storage.vocab import PurchaseStatus

MILLI = Decimal("0.001")
#: waiting orders linked per product; the rest are counted
SHOWN = 12


def _milli(expr: Any) -> ColumnElement[Any]:
    return func.round(expr * 1000)


def _qty(value: object) -> Decimal:
    return (Decimal(str(value if value is not None else 0)) / 1000).quantize(MILLI)


@dataclass(frozen=True)
class ShortRow(Shortage):
    """A short product: ``purchasing.Shortage`` with its first waiting orders, and the count of all of them."""

    waiting_total: int = 0

    @property
    def waiting_more(self) -> int:
        """Waiting orders not linked."""
        return self.waiting_total - len(self.waiting)


async def short_products(uow: UnitOfWork, shown: int = SHOWN) -> list[ShortRow]:
    """Every short stock-tracked product (in catalogue order) with its first ``shown`` waiting orders."""
    await without_jit(uow.session)
    product: Any = OrderLine.product_id
    sqlite = uow.session.get_bind().dialect.name == "sqlite"
    if sqlite:
        # "+ 0": SQLite would walk every line of each product (every year of the history) by its index;
        # so the open orders lead (ix_orders_owing, read alone) and their lines come from
        # ix_order_lines_progress (PostgreSQL hashes)
        product = product + 0
    coming = (select(Purchase.product_id.label("pid"), func.sum(_milli(Purchase.qty - Purchase.received_qty))
                     .label("milli")).where(Purchase.status == PurchaseStatus.OPEN)
              .group_by(Purchase.product_id).subquery())
    lines = (select(OrderLine.product_id.label("pid"), Order.id.label("oid"), Order.no.label("no"),
                    Order.owner_id.label("owner"), Order.confirmed_at.label("at"),
                    _milli(OrderLine.qty - OrderLine.shipped_qty).label("need"))
             .join(Order, Order.id == OrderLine.order_id)
             .where(stage_sql.live(), OrderLine.shipped_qty < OrderLine.qty,
                    product.in_(select(Product.id).where(Product.track_stock.is_(True)))))
    # OFFSET 0 keeps the subquery whole on SQLite: otherwise it walks all 2.5 M lines (at 1,000,000 orders)
    # in product order to spare the window functions a sort of the ~94,000 open ones
    need = (lines.offset(0) if sqlite else lines).subquery()
    line_order = (need.c.at, need.c.no)
    running = (select(*need.c, func.sum(need.c.need).over(partition_by=need.c.pid, order_by=line_order,
                                                       rows=(None, 0)).label("upto"),
                      func.sum(need.c.need).over(partition_by=need.c.pid).label("reserved"),
                      (_milli(Product.stock) + func.coalesce(coming.c.milli, 0)).label("cover"))
               .join(Product, Product.id == need.c.pid).outerjoin(coming, coming.c.pid == need.c.pid).subquery())
    waiting = (select(*running.c, func.row_number().over(partition_by=running.c.pid,
                                                      order_by=(running.c.at, running.c.no)).label("rn"),
                      func.count().over(partition_by=running.c.pid).label("n"))
               .where(running.c.upto > running.c.cover).subquery())
    rows = await uow.session.execute(
        select(waiting.c.pid, Product.sku, Product.unit, Product.stock, waiting.c.reserved,
               func.coalesce(coming.c.milli, 0), waiting.c.n, waiting.c.oid, waiting.c.no, waiting.c.owner,
               waiting.c.need, waiting.c.upto, waiting.c.cover)
        .join(Product, Product.id == waiting.c.pid).outerjoin(coming, coming.c.pid == waiting.c.pid)
        .where(waiting.c.rn <= shown).order_by(Product.id, waiting.c.rn))
    out: dict[int, ShortRow] = {}
    lists: dict[int, list[Waiting]] = {}
    for pid, sku, unit, stock, reserved, on_order, n, oid, no, owner, need_m, upto, cover in rows:
        if pid not in out:
            out[pid] = ShortRow(pid, sku, unit, stock, _qty(reserved), _qty(on_order), (), int(n))
            lists[pid] = []
        short = min(Decimal(str(upto)) - Decimal(str(cover)), Decimal(str(need_m)))
        lists[pid].append(Waiting(int(oid), int(no), int(owner), _qty(short)))
    return [ShortRow(r.product_id, r.sku, r.unit, r.on_hand, r.reserved, r.on_order, tuple(lists[pid]),
                     r.waiting_total) for pid, r in out.items()]
