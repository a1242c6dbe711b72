"""What the local adapter delivered to its chats, in delivery order (``gendan chat`` reads it back)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from storage.db import UnitOfWork
from storage.models import LocalMessage


async def delivered(uow: UnitOfWork, chats: Sequence[str], after_id: int = 0) -> list[LocalMessage]:
    """The messages delivered to ``chats`` with an id above ``after_id``, oldest first."""
    stmt = (select(LocalMessage).where(LocalMessage.chat_id.in_(chats), LocalMessage.id > after_id)
            .order_by(LocalMessage.id))
    return list((await uow.session.execute(stmt)).scalars())
