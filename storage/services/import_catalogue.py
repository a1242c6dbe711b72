"""Customers and products from rows the caller has already read and typed (see ``import_file``).

Customers match by exact name, products by SKU (any case): re-importing the same rows changes
nothing. A product's stock cell states the stock on hand; the difference is booked as a stock move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from storage.db import UnitOfWork
from storage.models import Customer, Product, StockMove
from storage.services.catalog import link_free_lines
from storage.services.import_report import ImportContext, Report, Ticker, check_amount, check_length


@dataclass(frozen=True)
class CustomerRow:
    """One customer row; None means the cell was empty (an existing value is then kept)."""

    row: int
    name: str | None
    contact: str | None = None
    phone: str | None = None
    address: str | None = None
    credit_limit: Decimal | None = None
    payment_terms: str | None = None
    #: the row had unreadable cells, already reported by the reader
    bad: bool = False


@dataclass(frozen=True)
class ProductRow:
    """One product row; None means the cell was empty (an existing value is then kept)."""

    row: int
    sku: str | None
    name: str | None = None
    unit: str | None = None
    price: Decimal | None = None
    floor_price: Decimal | None = None
    stock: Decimal | None = None
    bad: bool = False


#: column lengths (longer text would fail on PostgreSQL and be silently kept by SQLite)
CUSTOMER_LIMITS = {"name": 128, "contact": 64, "phone": 32, "payment_terms": 64}
PRODUCT_LIMITS = {"sku": 64, "name": 128, "unit": 16}


def apply_changes(obj: object, values: dict[str, Any]) -> bool:
    """Set the given (non-None) values that differ; True if anything changed."""
    changed = False
    for name, value in values.items():
        if value is not None and getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


async def import_customers(uow: UnitOfWork, rows: Sequence[CustomerRow], report: Report, ticker: Ticker) -> None:
    """Check and write the customer rows (the caller rolls back when there are errors)."""
    seen: dict[str, int] = {}
    for r in rows:
        ticker.tick()
        if r.bad:
            continue
        if not r.name:
            report.error(r.row, "missing", field="name")
            continue
        if r.name in seen:
            report.error(r.row, "duplicate", field="name", value=r.name, first=seen[r.name])
            continue
        seen[r.name] = r.row
        values: dict[str, Any] = {"contact": r.contact, "phone": r.phone, "address": r.address,
                                  "credit_limit": r.credit_limit, "payment_terms": r.payment_terms}
        fits = check_length(report, r.row, {"name": r.name, **values}, CUSTOMER_LIMITS)
        if not (check_amount(report, r.row, "credit_limit", r.credit_limit) and fits):
            continue
        found = (await uow.session.execute(select(Customer).where(Customer.name == r.name))).scalar_one_or_none()
        if found is None:
            uow.session.add(Customer(name=r.name, **values))
            report.created += 1
        elif apply_changes(found, values):
            report.updated += 1
        else:
            report.unchanged += 1
    await uow.session.flush()


async def import_products(
    uow: UnitOfWork, rows: Sequence[ProductRow], report: Report, ctx: ImportContext, ticker: Ticker
) -> None:
    """Check and write the product rows and their stock (the caller rolls back when there are errors)."""
    seen: dict[str, int] = {}
    for r in rows:
        ticker.tick()
        if r.bad:
            continue
        if not r.sku:
            report.error(r.row, "missing", field="sku")
            continue
        if r.sku.lower() in seen:
            report.error(r.row, "duplicate", field="sku", value=r.sku, first=seen[r.sku.lower()])
            continue
        seen[r.sku.lower()] = r.row
        fits = check_length(report, r.row, {"sku": r.sku, "name": r.name, "unit": r.unit}, PRODUCT_LIMITS)
        amounts_ok = all([check_amount(report, r.row, "price", r.price),
                          check_amount(report, r.row, "floor_price", r.floor_price),
                          check_amount(report, r.row, "stock", r.stock)])
        if not (fits and amounts_ok):
            continue
        stmt = select(Product).where(func.lower(Product.sku) == r.sku.lower())
        found = (await uow.session.execute(stmt)).scalar_one_or_none()
        values: dict[str, Any] = {"name": r.name, "unit": r.unit, "price": r.price, "floor_price": r.floor_price}
        if found is None:
            found = Product(sku=r.sku, stock=Decimal(0), **{k: v for k, v in values.items() if v is not None})
            uow.session.add(found)
            await uow.session.flush()
            report.created += 1
            _set_stock(uow, found, r.stock, ctx.now)
            linked = await link_free_lines(uow, found, ctx.prov, ctx.now)
            if linked:
                report.note(r.row, "linked_lines", value=found.sku, orders=linked)
        elif apply_changes(found, values) | _set_stock(uow, found, r.stock, ctx.now):
            report.updated += 1
        else:
            report.unchanged += 1
    await uow.session.flush()


def _set_stock(uow: UnitOfWork, product: Product, stock: Decimal | None, now: datetime) -> bool:
    """The file states the stock on hand: book the difference as a stock move, so the ledger adds up."""
    if stock is None or stock == product.stock:
        return False
    uow.session.add(StockMove(product_id=product.id, delta=stock - product.stock, reason="import", created_at=now))
    product.stock = stock
    return True
