"""/看板: a signed, expiring link to the web dashboard, bound to the person who asks.

The link is made by ``ctx.dispatcher.board_link`` (set by the composition root from
``web.signed_links.link_maker``), so this handler needs no key handling of its own. Asked
in a group, the link goes to the asker's 1:1 chat: whoever holds the link sees the whole
dashboard until it expires, so it is not posted where everyone (maybe a customer) reads it.
"""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.outbound import Message
from bot.routing import Router
from handlers.texts import board as texts
from handlers.texts.help import of as help_of

router = Router("board")


@router.command(texts.COMMAND, aliases=("board", "dashboard"), **help_of(texts.COMMAND))
async def board_cmd(ctx: Context, cmd: CommandText) -> None:
    make = ctx.dispatcher.board_link
    if make is None:
        raise UserError(texts.board_off())
    url, expires = await make(ctx.person.platform, ctx.person.user_id)
    hours = max(1, round((expires - ctx.clock()).total_seconds() / 3600))
    text = texts.link_reply(url, expires.astimezone(ctx.settings.tz), hours)
    if ctx.chat.chat_type == "single":
        ctx.reply(text)
        return
    # written to the outbox with the reply when the dispatcher finishes this event
    ctx.send(ctx.person.platform, ctx.person.user_id, "single", Message.plain(text))
    ctx.reply(texts.link_sent_privately(ctx.person.name))
