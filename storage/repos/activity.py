"""Reminders, after-sales tickets and the questions the bot asked (prompts); what was sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Order, OutboxMessage, Reminder, Ticket


class ActivityRepository:
    """Reminders, tickets and prompts, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_reminder(self, person_id: int, due_at: datetime, text: str, *, order_id: int | None,
                     created_by: int, now: datetime, kind: str = "custom") -> Reminder:
        """A reminder for ``person_id`` at ``due_at`` (written with the transaction)."""
        reminder = Reminder(kind=kind, due_at=due_at, person_id=person_id, order_id=order_id, text=text,
                            created_by=created_by, created_at=now)
        self.session.add(reminder)
        return reminder

    def open_ticket(self, no: int, order: Order, text: str, opened_by: int, now: datetime) -> Ticket:
        """After-sales ticket ``T<no>`` on the order (``no`` from the ``ticket`` counter)."""
        ticket = Ticket(no=no, order_id=order.id, text=text, opened_by=opened_by, created_at=now)
        self.session.add(ticket)
        return ticket

    async def ticket_by_no(self, no: int) -> Ticket | None:
        """Ticket ``T<no>``, or None."""
        return (await self.session.execute(select(Ticket).where(Ticket.no == no))).scalar_one_or_none()

    async def already_sent(self, event_key: str, platform: str, chat_id: str) -> bool:
        """Whether a message with this event key was already queued for that chat."""
        found = await self.session.execute(select(OutboxMessage.id).where(
            OutboxMessage.event_key == event_key, OutboxMessage.platform == platform,
            OutboxMessage.chat_id == chat_id).limit(1))
        return found.first() is not None

    async def card_chats(self, card_key: str) -> list[tuple[str, str, str]]:
        """Every chat (platform, chat id, chat type) that was sent a copy of the card ``card_key``."""
        rows = await self.session.execute(
            select(OutboxMessage.platform, OutboxMessage.chat_id, OutboxMessage.chat_type)
            .where(OutboxMessage.card_key == card_key, OutboxMessage.op == "send").distinct())
        return [(platform, chat_id, chat_type) for platform, chat_id, chat_type in rows]
