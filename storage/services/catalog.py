"""Customer and product matching, customers and stock."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, bindparam, func, or_, select

from storage.db import UnitOfWork
from storage.models import Customer, Order, OrderLine, Product, StockMove
from storage.services.base import Provenance, audit
from storage.vocab import State

T = TypeVar("T")

#: products one combined match may read (see :func:`match_products`)
MATCH_CAP = 200


@dataclass(frozen=True)
class Match(Generic[T]):
    """The result of matching a name: one ``found``, several ``candidates``, or nothing."""

    found: T | None = None
    candidates: tuple[T, ...] = ()


#: the customer of every /下单, built once (a statement built per call cost more than running it)
_CUSTOMER_EXACT = select(Customer).where(Customer.name == bindparam("name"))
_CUSTOMER_LIKE = (select(Customer).where(Customer.name.like(bindparam("pattern"), escape="\\"))
                  .order_by(Customer.name).limit(11))


@functools.lru_cache(maxsize=32)
def _products_stmt(texts: int) -> Select[Product]:
    """The products that ``texts`` texts may name: exact names (SQLite's LIKE and lower() fold ASCII
    letters only) or the text in SKU or name, any case; built once per number of texts."""
    contains = (func.lower(Product.sku).like(bindparam(f"p{i}"), escape="\\")
                | func.lower(Product.name).like(bindparam(f"p{i}"), escape="\\") for i in range(texts))
    return (select(Product).where(or_(Product.name.in_(bindparam("names", expanding=True)), *contains))
            .order_by(Product.sku).limit(MATCH_CAP + 1))


async def match_customer(uow: UnitOfWork, name: str) -> Match[Customer]:
    """Exact name, then unique containment (华为 → 华为技术有限公司); several → candidates."""
    name = name.strip()
    exact = (await uow.session.execute(_CUSTOMER_EXACT, {"name": name})).scalar_one_or_none()
    if exact is not None:
        return Match(found=exact)
    rows = list((await uow.session.execute(_CUSTOMER_LIKE, {"pattern": f"%{_escape_like(name)}%"})).scalars())
    if len(rows) == 1:
        return Match(found=rows[0])
    return Match(candidates=tuple(rows))


async def exact_product(uow: UnitOfWork, text: str) -> Product | None:
    """The product whose SKU (any case) or name is exactly ``text`` (stock-in must not guess)."""
    text = text.strip()
    found = (await uow.session.execute(
        select(Product).where((func.lower(Product.sku) == text.lower()) | (Product.name == text))
        .order_by((Product.sku == text).desc(), Product.id).limit(1))).scalar_one_or_none()  # as typed first
    return found


async def match_product(uow: UnitOfWork, text: str) -> Match[Product]:
    """SKU exact (any case), then name exact, then unique containment in SKU or name."""
    return (await match_products(uow, [text]))[0]


async def match_products(uow: UnitOfWork, texts: Sequence[str]) -> list[Match[Product]]:
    """:func:`match_product` for each of ``texts``, all in one statement.

    Every product an exact or a containing match can find contains the text in its SKU or name
    (any case), so one statement reads those of all the texts, in SKU order, and each text is
    matched among them. Only when a text is so short that it is in more than ``MATCH_CAP``
    products do the texts look up one by one (exact SKU, exact name, then the first 11 containing).
    """
    keys = [text.strip() for text in texts]
    if not keys:
        return []
    params: dict[str, Any] = {f"p{i}": f"%{_escape_like(key.lower())}%" for i, key in enumerate(keys)}
    params["names"] = sorted(set(keys))
    rows = list((await uow.session.execute(_products_stmt(len(keys)), params)).scalars())
    if len(rows) > MATCH_CAP:
        return [await _match_one(uow, key) for key in keys]
    return [_pick(rows, key) for key in keys]


def _pick(rows: Sequence[Product], key: str) -> Match[Product]:
    """Among ``rows``: the SKU typed exactly, else the one SKU equal in any case (two such are a question,
    never a guess: ``AB-1`` and ``ab-1`` may both exist), else the one exact name, else containment."""
    low = key.lower()
    exact = [p for p in rows if p.sku == key]
    if exact:
        return Match(found=exact[0])  # SKUs are unique as typed
    folded = [p for p in rows if p.sku.lower() == low]
    if folded:
        return _one_or_candidates(folded)
    by_name = [p for p in rows if p.name == key]
    if len(by_name) == 1:
        return Match(found=by_name[0])
    return _one_or_candidates([p for p in rows if low in p.sku.lower() or low in p.name.lower()][:11])


async def _match_one(uow: UnitOfWork, text: str) -> Match[Product]:
    """Exact SKU, exact name, then containment: a statement each (a text found in very many products)."""
    by_sku = list((await uow.session.execute(
        select(Product).where(func.lower(Product.sku) == text.lower()).order_by(Product.id).limit(11))).scalars())
    if by_sku:
        return _pick(by_sku, text)
    by_name = list((await uow.session.execute(select(Product).where(Product.name == text))).scalars())
    if len(by_name) == 1:
        return Match(found=by_name[0])
    pattern = f"%{_escape_like(text.lower())}%"
    rows = list(
        (
            await uow.session.execute(
                select(Product)
                .where(
                    func.lower(Product.sku).like(pattern, escape="\\")
                    | func.lower(Product.name).like(pattern, escape="\\")
                )
                .order_by(Product.sku)
                .limit(11)
            )
        ).scalars()
    )
    return _one_or_candidates(rows)


def _one_or_candidates(rows: list[Product]) -> Match[Product]:
    return Match(found=rows[0]) if len(rows) == 1 else Match(candidates=tuple(rows))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def add_customer(
    uow: UnitOfWork,
    name: str,
    *,
    contact: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    owner_id: int | None = None,
) -> Customer:
    """Create a customer (the caller checked that the name is free)."""
    customer = Customer(name=name.strip(), contact=contact, phone=phone, address=address, owner_id=owner_id)
    uow.session.add(customer)
    await uow.session.flush()
    return customer


async def stock_in(
    uow: UnitOfWork, product: Product, qty: Decimal, person_id: int, now: datetime, reason: str = "stock_in"
) -> Decimal:
    """Add to a product's stock; returns the new stock."""
    product.stock = product.stock + qty
    uow.session.add(StockMove(product_id=product.id, delta=qty, reason=reason, person_id=person_id, created_at=now))
    await uow.session.flush()
    return product.stock


#: orders whose free-text lines are linked when their product is created (a finished order stays as it was)
LINKABLE_STATES = (State.DRAFT.value, State.PENDING_APPROVAL.value, State.REJECTED.value, State.CONFIRMED.value,
                   State.ON_HOLD.value)


async def link_free_lines(uow: UnitOfWork, product: Product, prov: Provenance, now: datetime) -> list[int]:
    """Link the open orders' free-text lines that name ``product``'s code (any case); their order numbers.

    A line written before its product existed was kept as free text, so shipping it moved no
    stock. From now on it ships from this product's stock; what was already shipped stays as it
    was (it never left this stock). The orders are row-locked like any other change to them.
    """
    ids = select(OrderLine.order_id).where(OrderLine.product_id.is_(None),
                                           func.lower(OrderLine.sku) == product.sku.lower())
    stmt = (select(Order).where(Order.id.in_(ids), Order.state.in_(LINKABLE_STATES)).order_by(Order.id)
            .with_for_update())
    linked = []
    for order in (await uow.session.execute(stmt)).scalars():
        for line in order.lines:
            if line.product_id is None and line.sku.lower() == product.sku.lower():
                line.product_id = product.id
                line.name = line.name or product.name
                line.unit = line.unit or product.unit
                line.floor_price = line.floor_price if line.floor_price is not None else product.floor_price
        audit(uow, prov, "link_product", order, now, summary=product.sku)
        linked.append(order.no)
    await uow.session.flush()
    return linked


async def lock_product(uow: UnitOfWork, product_id: int) -> Product:
    """Load a product with its row lock (stock changes)."""
    stmt = select(Product).where(Product.id == product_id).with_for_update()
    return (await uow.session.execute(stmt)).scalar_one()
