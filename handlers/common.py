"""Shared handler steps: loading orders, turning refusals into replies, resolving names."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.errors import NotFound, UserError
from handlers.args import LineArg, OrderFields
from handlers.texts import shared_replies as t
from storage.db import Database, UnitOfWork
from storage.lifecycle import Refused
from storage.models import Customer, Order, Product
from storage.services import catalog, order_cards
from storage.services.order_cards import CardView
from storage.services.orders import LineInput, OrderInput


@contextmanager
def refusing(no: int | None) -> Iterator[None]:
    """Turn a lifecycle refusal into a reply that names the order."""
    try:
        yield
    except Refused as exc:
        raise UserError(t.refused(exc.code, exc.params, no)) from exc


async def load_order(uow: UnitOfWork, no: int, *, lock: bool = True) -> Order:
    """The order #no (row-locked for this transaction), or a NotFound reply."""
    order = await uow.orders.by_no(no, lock=lock)
    if order is None:
        raise NotFound(t.order_not_found(no))
    return order


async def load_order_card(db: Database, no: int, last: int = 6) -> CardView:
    """Order #no as its card shows it, its last ``last`` events and its shortages (one read), or NotFound."""
    found = await order_cards.order_card(db, no, last)
    if found is None:
        raise NotFound(t.order_not_found(no))
    return found


@dataclass
class Resolved:
    """Order fields with names matched; notes for the reply (new customer, free-text lines)."""

    data: OrderInput
    new_customer: str | None = None
    free_lines: tuple[str, ...] = ()


async def resolve_fields(uow: UnitOfWork, fields: OrderFields, owner_id: int) -> Resolved:
    """Match the customer and products; several candidates → a reply listing them, nothing changed."""
    customer: Customer | None = None
    new_customer = None
    if fields.customer:
        match = await catalog.match_customer(uow, fields.customer)
        if match.found is not None:
            customer = match.found
        elif match.candidates:
            raise UserError(t.candidates("customer", fields.customer, [c.name for c in match.candidates]))
        else:
            customer = await catalog.add_customer(uow, fields.customer, owner_id=owner_id)
            new_customer = customer.name
    lines = []
    free = []
    matches = await catalog.match_products(uow, [line.product for line in fields.lines])
    for line, product in zip(fields.lines, matches, strict=True):
        resolved, is_free = _resolve_line(line, product)
        lines.append(resolved)
        if is_free:
            free.append(line.product)
    data = OrderInput(customer=customer, lines=tuple(lines), due_date=fields.due_date, note=fields.note,
                      payment_terms=fields.payment_terms, address=fields.address, contact=fields.contact)
    return Resolved(data, new_customer, tuple(free))


def _resolve_line(line: LineArg, match: catalog.Match[Product]) -> tuple[LineInput, bool]:
    if match.candidates:
        raise UserError(t.candidates("product", line.product, [f"{p.sku}({p.name})" if p.name else p.sku
                                                           for p in match.candidates]))
    product = match.found
    if product is None:
        return LineInput(sku=line.product, qty=line.qty, unit_price=line.unit_price, unit=line.unit), True
    return LineInput(
        sku=product.sku, name=product.name, qty=line.qty,
        unit_price=line.unit_price if line.unit_price is not None else product.price,
        unit=line.unit or product.unit, product_id=product.id, floor_price=product.floor_price,
    ), False
