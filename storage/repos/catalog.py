"""Customers, products, units and stock."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, Product


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
