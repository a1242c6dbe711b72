"""/提醒 /售后: reminders people set, and after-sales tickets."""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.routing import Router
from handlers import args
from handlers.args import command_parsers as parsers
from handlers.common import load_order, refusing
from handlers.notify import dispatch_events
from handlers.texts import command_replies as msg
from handlers.texts.help import of as help_of
from storage.domain_events import DomainEvent, TicketOpened, TicketResolved
from storage.services.base import audit, next_number
from storage.vocab import Role, TicketStatus

router = Router("activity")


@router.command("提醒", aliases=("remind",), parse=parsers.REMINDER, **help_of("提醒"))
async def remind_cmd(ctx: Context, cmd: CommandText, parsed: args.ReminderArgs) -> None:
    async with ctx.uow() as uow:
        target = ctx.person.id
        order_id = None
        if parsed.order_no is not None:
            order = await load_order(uow, parsed.order_no, lock=False)
            target, order_id = order.owner_id, order.id
        uow.activity.add_reminder(target, parsed.when, parsed.text, order_id=order_id, created_by=ctx.person.id,
                                  now=ctx.now())
        ctx.reply(msg.reminder_set(parsed.when.astimezone(ctx.settings.tz), parsed.order_no,
                                   target == ctx.person.id, parsed.text))


@router.command("售后", aliases=("service",), parse=parsers.AFTER_SALES, **help_of("售后"))
async def after_sales(ctx: Context, cmd: CommandText, parsed: args.TicketOpen | args.TicketUpdate) -> None:
    async with ctx.uow() as uow:
        if isinstance(parsed, args.TicketOpen):
            order = await load_order(uow, parsed.order_no)
            ticket = uow.activity.open_ticket(await next_number(uow, "ticket"), order, parsed.text, ctx.person.id,
                                              ctx.now())
            audit(uow, ctx.prov, "ticket_open", order, ctx.now(), summary=f"T{ticket.no} {parsed.text}")
            await dispatch_events(ctx, uow, order, [TicketOpened(order.id, order.no, ticket_no=ticket.no,
                                                                 text=parsed.text)])
            ctx.reply(msg.ticket_opened(order.no, ticket.no, parsed.text))
            return
        if Role.SERVICE not in ctx.person.roles:
            raise UserError(msg.ticket_forbidden())
        ticket_row = await uow.activity.ticket_by_no(parsed.ticket_no)
        if ticket_row is None:
            raise UserError(msg.ticket_unknown(parsed.ticket_no))
        order = await load_order(uow, (await uow.orders.by_id(ticket_row.order_id)).no)
        ticket_row.status = TicketStatus.RESOLVED if parsed.status == args.TICKET_RESOLVED else TicketStatus.IN_PROGRESS
        ticket_row.note = parsed.note
        events: list[DomainEvent] = []
        if ticket_row.status == TicketStatus.RESOLVED:
            ticket_row.resolved_at = ctx.now()
            events.append(TicketResolved(order.id, order.no, ticket_no=ticket_row.no))
        audit(uow, ctx.prov, "ticket_update", order, ctx.now(), summary=f"T{ticket_row.no} {parsed.status}")
        with refusing(order.no):
            await dispatch_events(ctx, uow, order, events)
        ctx.reply(msg.ticket_updated(order.no, ticket_row.no, parsed.status, parsed.note))
