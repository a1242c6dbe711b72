"""People, roles, chats and subscriptions: look-ups by platform reference."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class PersonRepository:
    """People, roles, chats and subscriptions, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
