"""Reminders, after-sales tickets and the questions the bot asked (prompts)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class ActivityRepository:
    """Reminders, tickets and prompts, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
