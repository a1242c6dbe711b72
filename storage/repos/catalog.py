"""Customers, products, units and stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import Customer, Product

_PRODUCTS_CHANGED = "gendan_products_changed"
#: moves whenever a session of this process commits a change to a product (see :func:`catalog_version`)
_version = [0]


def catalog_version() -> int:
    """A number that moves whenever this process commits a change to any product: caches of
    catalogue facts (``storage.catalog_units``) compare against it."""
    return _version[0]


@event.listens_for(Session, "after_flush")
def _note_product_change(session: Session, _flush: Any) -> None:
    if not session.info.get(_PRODUCTS_CHANGED) and any(
            isinstance(obj, Product) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_PRODUCTS_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _products_committed(session: Session) -> None:
    if session.info.pop(_PRODUCTS_CHANGED, False):
        _version[0] += 1


class CatalogRepository:
    """The catalogue, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def units(self) -> list[str]:
        """The units the products are sold in (``块``, ``樘`` …), so that quantities may be written in them."""
        rows = await self.session.execute(select(Product.unit).where(Product.unit.is_not(None)).distinct())
        return [unit for unit in rows.scalars() if unit]

    async def customers(self, limit: int = 30) -> list[Customer]:
        """The first ``limit`` customers by name."""
        return list((await self.session.execute(select(Customer).order_by(Customer.name).limit(limit))).scalars())

    async def products(self, limit: int = 30) -> list[Product]:
        """The first ``limit`` products by SKU."""
        return list((await self.session.execute(select(Product).order_by(Product.sku).limit(limit))).scalars())

    async def add_product(self, sku: str, name: str = "", *, track_stock: bool = True) -> Product:
        """A new product with no stock (the caller checked that the SKU is free); flushed, so it has an id."""
        product = Product(sku=sku, name=name, stock=Decimal(0), track_stock=track_stock)
        self.session.add(product)
        await self.session.flush()
        return product
