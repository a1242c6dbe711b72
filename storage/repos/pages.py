"""Read models of the web surface: REST API, dashboard, statements, approval pages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class PageRepository:
    """Read models of the web surface, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
