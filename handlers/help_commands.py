"""/帮助: every command the person may use, one command in detail, or what may be done to an order now."""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.routing import Router
from handlers import args
from handlers.common import load_order
from handlers.texts import command_replies as msg
from handlers.texts import shared_replies as t
from handlers.texts.help import of as help_of
from storage import lifecycle
from storage.db import UnitOfWork
from storage.models import Order
from storage.services import approvals
from storage.vocab import ACTION_COMMANDS, Action, Role

router = Router("help")


@router.command("帮助", aliases=("help", "?", "？"), read_only=True, **help_of("帮助"))
async def help_cmd(ctx: Context, cmd: CommandText) -> None:
    text = cmd.args.strip().lstrip("/").lstrip("／")
    specs = ctx.dispatcher.specs
    no = _order_ref(text)
    if no is not None:
        async with ctx.uow() as uow:
            order = await load_order(uow, no, lock=False)
            allowed = await _really_allowed(uow, order, ctx)
        if not allowed:
            ctx.reply(msg.help_nothing(no, order.state))
            return
        ctx.reply(msg.help_actions(no, order.state, [_with_ref(ACTION_COMMANDS[a], no) for a in allowed]))
        return
    if text:
        spec = ctx.dispatcher.by_name.get(text.lower())
        if spec is None:
            raise UserError(t.unknown_command(text, "", specs))
        ctx.reply(msg.help_command(spec.name, spec.aliases, spec.summary, spec.usage, spec.example, spec.roles))
        return
    mine = [(s.usage, s.summary) for s in specs if s.roles is None or s.roles & ctx.person.roles]
    ctx.reply(msg.help_all(mine, ctx.person.roles))


async def _really_allowed(uow: UnitOfWork, order: Order, ctx: Context) -> list[Action]:
    """The lifecycle's answer, narrowed by what only the database knows: who decides the current
    approval step (not the owner), and whether a change is already waiting."""
    allowed = lifecycle.allowed_actions(order, ctx.prov.actor)
    step = await approvals.pending_step(uow, order)
    stand_in = step is not None and step.role not in ctx.person.roles and Role.ADMIN in ctx.person.roles \
        and bool(await approvals.vacant_roles(uow, order, [step.role]))
    if stand_in:  # an admin may decide a step whose role nobody holds
        allowed += [a for a in (Action.APPROVE, Action.REJECT) if a not in allowed]
    may_decide = step is not None and order.owner_id != ctx.person.id and (step.role in ctx.person.roles or stand_in)
    waiting_change = await uow.orders.has_pending_change(order)
    return [a for a in allowed
            if (a not in (Action.APPROVE, Action.REJECT) or may_decide)
            and (a is not Action.CHANGE or not waiting_change)]


def _order_ref(text: str) -> int | None:
    """``/帮助 #12`` (or 12号单) names an order; ``/帮助 发货`` names a command."""
    try:
        return args.split_order_ref(text)[0] if text else None
    except args.ArgError:
        return None


def _with_ref(command: str, no: int) -> str:
    """``/审批 通过`` → ``/审批 #12 通过``."""
    name, _, rest = command.partition(" ")
    return f"{name} #{no}" + (f" {rest}" if rest else "")
