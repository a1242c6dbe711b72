"""Contact events: a person left the organisation (WeCom delete_user, DingTalk user_leave_org)."""

from __future__ import annotations

from bot.context import DispatcherLike
from bot.events import DirectoryEvent
from bot.outbound import Message
from bot.routing import Router
from handlers.texts import command_replies as msg
from storage.outgoing import Outbox, Target
from storage.services import staff

router = Router("staff")


@router.on_directory
async def person_left(dispatcher: DispatcherLike, event: DirectoryEvent) -> None:
    """Reassign the leaver's open orders; tell the successor 1:1 and each order's group."""
    now = dispatcher.clock()
    async with dispatcher.db.uow() as uow:
        handover, events = await staff.person_left(uow, event.platform, event.user_id, now)
        if handover is None or not handover.orders:
            return
        if handover.successor is None:
            return  # nobody to take over: the orders stay visible as the leaver's in every list
        succ = handover.successor
        text = msg.handover_to_you(handover.left.label, [o.no for o in handover.orders])
        out = Outbox()
        out.send(Target(succ.platform, succ.user_id, "single"), Message.plain(text), f"left:{event.event_id}")
        # one note per group, naming every order of it; the successor was told above, and the
        # leaver's own 1:1 chat is gone (WeCom lists them in invaliduser)
        skip = {(succ.platform, succ.user_id), (event.platform, event.user_id)}
        by_chat: dict[tuple[str, str, str], list[int]] = {}
        for order, _ in events:
            where = (order.origin_platform, order.origin_chat_id, order.origin_chat_type)
            if where[:2] not in skip:
                by_chat.setdefault(where, []).append(order.no)
        for (platform, chat_id, chat_type), nos in by_chat.items():
            note = Message.plain(msg.handover_in_group(nos, succ.label, handover.left.label))
            out.send(Target(platform, chat_id, chat_type), note, f"left:{event.event_id}:{chat_id}")
        await out.write(uow, now)
    dispatcher.wake_sender()
