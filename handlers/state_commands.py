"""State changes with reasons (/挂起 /恢复 /关闭 /作废 /重开) and follow-ups (/跟进)."""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.routing import Router
from handlers.args import command_parsers as parsers
from handlers.common import load_order
from handlers.order_flow import on_order
from handlers.quote_commands import withdraw as withdraw_quote
from handlers.texts import command_replies as msg
from handlers.texts import shared_replies as t
from handlers.texts.help import of as help_of
from storage import lifecycle
from storage.services.base import audit
from storage.services.states import change_state
from storage.vocab import Action, Role

router = Router("states")

# (command, aliases, action, roles (None: the lifecycle decides by state), reason required)
REASONED = (
    ("挂起", ("hold",), Action.HOLD, {Role.MANAGER}, True),
    ("恢复", ("resume",), Action.RESUME, {Role.MANAGER}, False),
    ("关闭", ("close",), Action.CLOSE, {Role.MANAGER}, True),
    ("作废", ("cancel",), Action.CANCEL, None, True),
    ("重开", ("reopen",), Action.REOPEN, {Role.ADMIN}, True),
)


def _register_reasoned(name: str, aliases: tuple[str, ...], action: Action, roles: set[Role] | None,
                       needs_reason: bool) -> None:

    async def handler(ctx: Context, cmd: CommandText, parsed: parsers.Reasoned | parsers.QuoteWithdrawal) -> None:
        if isinstance(parsed, parsers.QuoteWithdrawal):
            await withdraw_quote(ctx, parsed.no, parsed.reason)  # /作废 Q12: quotes have their own numbers
            return
        reason = parsed.reason
        await on_order(ctx, parsed.no, lambda uow, o: change_state(uow, o, ctx.prov, action, reason, ctx.now()),
                       lambda o, ev: msg.state_changed(o.no, name, o.state))

    parse = parsers.reasoned(name, needs_reason, quotes_too=action is Action.CANCEL)
    router.command(name, aliases=aliases, roles=roles, parse=parse, **help_of(name))(handler)


for _spec in REASONED:
    _register_reasoned(*_spec)


@router.command("跟进", aliases=("note",), parse=parsers.FOLLOW_UP, **help_of("跟进"))
async def follow_up(ctx: Context, cmd: CommandText, parsed: tuple[int, str]) -> None:
    no, text = parsed
    async with ctx.uow() as uow:
        order = await load_order(uow, no)
        try:
            lifecycle.check(order, Action.FOLLOW_UP, ctx.prov.actor)
        except lifecycle.Refused as exc:
            raise UserError(t.refused(exc.code, exc.params, no)) from exc
        uow.orders.add_follow_up(order, ctx.person.id, text, ctx.now())
        audit(uow, ctx.prov, "follow_up", order, ctx.now(), summary=text)
        ctx.reply(msg.followed_up(no, text))
