"""Orders: look-ups by number, search with a filter, history, follow-ups."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class OrderRepository:
    """Orders, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
