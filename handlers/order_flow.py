"""The one shape most order commands share: lock the order, act, notify, reply — one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.context import Context
from handlers.common import load_order, refusing
from handlers.notify import dispatch_events
from storage.db import UnitOfWork
from storage.domain_events import DomainEvent
from storage.models import Order

Act = Callable[[UnitOfWork, Order], Awaitable[list[DomainEvent]]]
Reply = Callable[[Order, list[DomainEvent]], str]


async def on_order(ctx: Context, no: int, act: Act, reply: Reply) -> None:
    """Run ``act`` on order ``no`` in one unit of work; queue notifications and the reply with it."""
    async with ctx.uow() as uow:
        order = await load_order(uow, no)
        with refusing(no):
            events = await act(uow, order)
        await dispatch_events(ctx, uow, order, events)
        ctx.reply(reply(order, events))
