"""Quotations, purchase orders, reservations and shortages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class QuoteRepository:
    """Quotations, purchase orders, reservations and shortages, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
