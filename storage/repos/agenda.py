"""What the scheduler reads: what is due, late, unpaid or waiting, per rule."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class AgendaRepository:
    """What the scheduler reads, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
