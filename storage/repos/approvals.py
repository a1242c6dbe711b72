"""Approval steps and change requests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Approval, ChangeRequest, Order, OutboxMessage, Prompt, SentCard
from storage.vocab import ChangeStatus, State

#: orders whose unpaid amount counts against the customer's credit
OPEN_STATES = (State.CONFIRMED.value, State.ON_HOLD.value, State.PENDING_APPROVAL.value)
#: the kind of the prompt that waits for a reject reason
REASON_PROMPT = "reject_reason"


class ApprovalRepository:
    """Approval steps and change requests, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- steps ----------------------------------------------------------------------------------
    async def round_steps(self, order: Order) -> list[Approval]:
        """The steps of the order's current approval round, in step order, read fresh."""
        stmt = (
            select(Approval)
            .where(Approval.order_id == order.id, Approval.round == order.approval_round)
            .order_by(Approval.step)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def step(self, approval_id: int, *, fresh: bool = True) -> Approval | None:
        """One approval step; ``fresh`` reads it again (call it after the order's row lock is held)."""
        return await self.session.get(Approval, approval_id, populate_existing=fresh)

    async def step_row(self, approval_id: int) -> Approval:
        """One approval step that must exist (as this session has it)."""
        return await self.session.get_one(Approval, approval_id)

    async def order_no_of_step(self, approval_id: int) -> int | None:
        """The number of the order a step belongs to (None: no such step)."""
        stmt = select(Order.no).join(Approval, Approval.order_id == Order.id).where(Approval.id == approval_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def order_of(self, step: Approval) -> Order:
        """The order a step belongs to."""
        return await self.session.get_one(Order, step.order_id)

    async def add_steps(self, steps: list[Approval]) -> None:
        """Store the steps of a new round (their ids are set on return)."""
        self.session.add_all(steps)
        await self.session.flush()

    # ---- change requests ------------------------------------------------------------------------
    async def change(self, change_request_id: int) -> ChangeRequest:
        """A change request by id."""
        return await self.session.get_one(ChangeRequest, change_request_id)

    async def pending_change(self, order_id: int) -> ChangeRequest | None:
        """The order's change waiting for approval, if any."""
        stmt = select(ChangeRequest).where(ChangeRequest.order_id == order_id,
                                           ChangeRequest.status == ChangeStatus.PENDING)
        return (await self.session.execute(stmt)).scalars().first()

    async def change_steps(self, change_request_id: int) -> list[Approval]:
        """Every step of a change request, read fresh."""
        stmt = (select(Approval).where(Approval.change_request_id == change_request_id)
                .execution_options(populate_existing=True))
        return list((await self.session.execute(stmt)).scalars())

    async def add_change(self, change: ChangeRequest) -> None:
        """Store a new change request (its id is set on return)."""
        self.session.add(change)
        await self.session.flush()

    # ---- credit ---------------------------------------------------------------------------------
    async def customer_exposure(self, customer_id: int, exclude_order_id: int | None) -> Decimal:
        """What a customer owes on open orders (confirmed, held or pending), other than one order."""
        stmt = select(func.coalesce(func.sum(Order.amount - Order.paid_amount - Order.written_off), 0)).where(
            Order.customer_id == customer_id, Order.state.in_(OPEN_STATES)
        )
        if exclude_order_id is not None:
            stmt = stmt.where(Order.id != exclude_order_id)
        value = (await self.session.execute(stmt)).scalar_one()
        # SQLite keeps numerics as floats, so sums come back as floats
        return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))

    # ---- card copies ----------------------------------------------------------------------------
    async def card_chats(self, card_key: str) -> list[tuple[str, str, str]]:
        """Every chat (platform, chat id, chat type) a copy of the card with ``card_key`` was sent to."""
        rows = await self.session.execute(
            select(OutboxMessage.platform, OutboxMessage.chat_id, OutboxMessage.chat_type)
            .where(OutboxMessage.card_key == card_key, OutboxMessage.op == "send").distinct())
        return [(platform, chat_id, chat_type) for platform, chat_id, chat_type in rows]

    async def keep_card_ref(self, card_key: str, platform: str, chat_id: str, ref: Mapping[str, Any]) -> None:
        """Store the newest platform handle of a card's copy in one chat (the one a press brought)."""
        await self.session.execute(
            update(SentCard)
            .where(SentCard.card_key == card_key, SentCard.platform == platform, SentCard.chat_id == chat_id)
            .values(ref=dict(ref)))

    # ---- the reject-reason question -------------------------------------------------------------
    async def ask_reason(self, person_id: int, chat_id: str, approval_id: int, expires_at: datetime) -> None:
        """Remember that ``person_id`` was asked in ``chat_id`` why they reject a step (replaces an earlier ask)."""
        await self.drop_prompts(person_id, chat_id)
        self.session.add(Prompt(person_id=person_id, chat_id=chat_id, kind=REASON_PROMPT,
                                data={"approval_id": approval_id}, expires_at=expires_at))

    async def drop_prompts(self, person_id: int, chat_id: str | None = None) -> None:
        """Forget the questions the bot asked a person (in one chat, or everywhere)."""
        stmt = delete(Prompt).where(Prompt.person_id == person_id)
        if chat_id is not None:
            stmt = stmt.where(Prompt.chat_id == chat_id)
        await self.session.execute(stmt)

    async def take_reason_prompt(self, person_id: int, chat_id: str, now: datetime) -> int | None:
        """Consume the question asked of a person in a chat: the step it asks about, if it was a
        reject-reason question still open (any question found is deleted)."""
        prompt = (await self.session.execute(select(Prompt).where(
            Prompt.person_id == person_id, Prompt.chat_id == chat_id))).scalar_one_or_none()
        if prompt is None:
            return None
        await self.session.delete(prompt)
        if prompt.expires_at < now or prompt.kind != REASON_PROMPT:
            return None
        return int(prompt.data["approval_id"])
