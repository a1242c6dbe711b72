"""Routing domain events to chats (product.md §4).

Each event goes to the chat where the order was created, the groups
subscribed to its topic, and 1:1 to the people who must act; one event never
reaches the same chat twice, and the chat the command came from gets the
reply instead of a notification.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.context import Context
from bot.outbound import Mention, Message
from handlers import cards
from handlers.purchase_commands import shortage_notice
from handlers.texts import command_replies as msg
from handlers.texts import notices
from storage import domain_events as ev
from storage.db import UnitOfWork
from storage.models import Order, Person
from storage.outgoing import Target
from storage.services import people


async def dispatch_events(ctx: Context, uow: UnitOfWork, order: Order, events: Sequence[ev.DomainEvent]) -> None:
    """Put into the outbox (``ctx.send``, ``ctx.update_card``) every notification, card and card update
    the events call for."""
    topics = [e.topic for e in events if isinstance(e, ev.OrderEvent) and e.topic is not None]
    subscribed = await people.subscribers(uow, topics) if topics else {}
    for event in events:
        if isinstance(event, ev.ShortageFound):
            await shortage_notice(ctx, uow, event)
        elif isinstance(event, ev.OrderEvent):
            await _one(ctx, uow, order, event, subscribed)


async def _one(ctx: Context, uow: UnitOfWork, order: Order, event: ev.OrderEvent,
               subscribed: dict[str, list[tuple[str, str, str]]]) -> None:
    here = (ctx.chat.platform, ctx.chat.chat_id)
    seen: set[tuple[str, str]] = {here}
    key = f"{event.kind}:{order.no}:{ctx.inbound.event_id}"
    if event.closes_cards:
        await _close_cards(ctx, uow, order, event)
    if isinstance(event, ev.ApprovalNeeded):
        await _approval_cards(ctx, uow, order, event, seen, key)
    if isinstance(event, ev.Submitted) and event.vacant:
        await _tell_admins(ctx, uow, order, event, key)
    if isinstance(event, ev.Shipped) and event.unpaid_prepay and order.owner_id != ctx.person.id:
        # the owner chases the payment: told 1:1 even when the group saw the shipment
        owner_chat = (order.owner.platform, order.owner.user_id)
        ctx.send(*owner_chat, "single", Message.plain(msg.shipped_unpaid(order.no, order.payment_terms or "")),
                 event_key=f"unpaid:{key}")
    text = notices.notice(event, order, ctx.person.name or ctx.person.user_id)
    if text is None:
        return
    owner: Person = order.owner
    mention = Mention(owner.platform, owner.user_id, owner.label)
    targets: list[tuple[Target, tuple[Mention, ...]]] = []
    origin = Target(order.origin_platform, order.origin_chat_id, order.origin_chat_type)
    targets.append((origin, (mention,) if origin.chat_type == "group" else ()))
    if event.topic is not None:
        for platform, chat_id, chat_type in subscribed.get(event.topic, ()):
            targets.append((Target(platform, chat_id, chat_type), ()))
    # the owner is @mentioned in the group the order came from; only an order made in someone
    # else's 1:1 chat (or handed over) needs a 1:1 message to reach its owner
    if event.owner_told is not ev.OwnerTold.NEVER and owner.id != ctx.person.id and (
            origin.chat_type != "group" or event.owner_told is ev.OwnerTold.ALWAYS):
        targets.append((Target(owner.platform, owner.user_id, "single"), ()))
    if event.role_told is not None:
        for person in await people.holders_of(uow, event.role_told):
            targets.append((Target(person.platform, person.user_id, "single"), ()))
    for target, mentions in targets:
        if (target.platform, target.chat_id) in seen:
            continue
        seen.add((target.platform, target.chat_id))
        if target.chat_id == ctx.person.user_id and target.platform == ctx.person.platform:
            continue  # never notify the actor 1:1 about their own action
        ctx.send(target.platform, target.chat_id, target.chat_type, Message.plain(text, *mentions),
                 event_key=key)


async def _tell_admins(ctx: Context, uow: UnitOfWork, order: Order, event: ev.Submitted, key: str) -> None:
    """Admins hear at submission that a step's role is vacant (they can grant it, or stand in)."""
    customer = order.customer.name if order.customer else ""
    for admin in await people.holders_of(uow, "admin"):
        if admin.id == ctx.person.id:
            continue  # the reply already says it
        text = "\n".join(msg.vacant_role_to_admin(order.no, customer, order.amount, role)
                         for role in event.vacant)
        ctx.send(admin.platform, admin.user_id, "single", Message.plain(text), event_key=f"vacant:{key}")


async def _approval_cards(ctx: Context, uow: UnitOfWork, order: Order, event: ev.ApprovalNeeded,
                          seen: set[tuple[str, str]], key: str) -> None:
    step = await uow.approvals.step_row(event.approval_id)
    change = None
    if step.change_request_id is not None:
        cr = await uow.approvals.change(step.change_request_id)
        change = {"diff": cr.diff, "amount": cr.after["amount"]}
    card = cards.approval_card(order, step, change)
    approvers = [p for p in await people.holders_of(uow, step.role) if p.id != order.owner_id]
    if not approvers:
        # nobody holds the role: the admins get the card, since an admin may stand in
        approvers = [p for p in await people.holders_of(uow, "admin") if p.id != order.owner_id]
        if step.step > 0 or step.change_request_id is not None:  # at submission the reply said it already
            ctx.reply(msg.no_approver(order.no, step.role))
    for person in approvers:
        seen.add((person.platform, person.user_id))
        ctx.send(person.platform, person.user_id, "single", card, event_key=f"card:{key}")


async def _close_cards(ctx: Context, uow: UnitOfWork, order: Order, event: ev.OrderEvent) -> None:
    for approval_id in event.approvals_closed():
        step = await uow.approvals.step_row(approval_id)
        outcome = notices.OUTCOMES[type(event)]
        who = ctx.person.name or ctx.person.user_id
        msg = cards.decided_card(order, step, who, outcome, ctx.now())
        ctx.update_card(cards.card_key(approval_id), msg)  # every chat the card went to
