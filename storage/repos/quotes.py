"""Quotations, purchase orders, reservations and shortages."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Purchase, Quote
from storage.vocab import PurchaseStatus


class QuoteRepository:
    """Quotes and purchase orders, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, limit: int, *, owner_id: int | None = None) -> list[Quote]:
        """The newest quotes (only ``owner_id``'s when given)."""
        stmt = select(Quote).order_by(Quote.id.desc()).limit(limit)
        if owner_id is not None:
            stmt = stmt.where(Quote.owner_id == owner_id)
        return list((await self.session.execute(stmt)).scalars())

    async def no_of(self, quote_id: int) -> int | None:
        """The number (``Q<no>``) of the quote with this primary key; None if there is none."""
        return (await self.session.execute(select(Quote.no).where(Quote.id == quote_id))).scalar_one_or_none()

    async def purchases(self, limit: int) -> list[Purchase]:
        """Purchase orders for the list: open ones first, newest first within each group."""
        open_first = case((Purchase.status == PurchaseStatus.OPEN, 0), else_=1)
        stmt = select(Purchase).order_by(open_first, Purchase.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())
