"""Customers, products, units and stock."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class CatalogRepository:
    """Customers, products, units and stock, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
