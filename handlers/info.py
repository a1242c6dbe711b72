"""/帮助 /客户 /库存 /入库 /提醒 /售后."""

from __future__ import annotations

from decimal import Decimal

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.routing import Router
from handlers import args
from handlers.args import command_parsers as parsers
from handlers.common import load_order, refusing
from handlers.notify import dispatch_events
from handlers.texts import messages as msg
from handlers.texts import quotes as qt
from handlers.texts import replies as t
from handlers.texts.help import of as help_of
from storage import lifecycle
from storage.db import UnitOfWork
from storage.models import Order
from storage.services import approvals, catalog, purchasing
from storage.services.base import DomainEvent, audit, next_number
from storage.vocab import ACTION_COMMANDS, Action, Role

router = Router("info")


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


@router.command("客户", aliases=("customer",), parse=parsers.CUSTOMER, **help_of("客户"))
async def customer_cmd(ctx: Context, cmd: CommandText,
                       asked: args.CustomerArgs | parsers.CustomerQuery | parsers.Unparsed) -> None:
    if isinstance(asked, parsers.Unparsed):
        raise UserError(msg.customer_add_forbidden())
    if isinstance(asked, args.CustomerArgs):
        new = asked
        async with ctx.uow() as uow:
            existing = (await catalog.match_customer(uow, new.name)).found
            if existing is not None and existing.name == new.name:
                raise UserError(msg.customer_exists(new.name))
            cust = await catalog.add_customer(uow, new.name, contact=new.contact, phone=new.phone,
                                              address=new.address, owner_id=ctx.person.id)
            audit(uow, ctx.prov, "customer_add", None, ctx.now(), summary=cust.name)
            ctx.reply(msg.customer_added(cust.name))
        return
    async with ctx.uow() as uow:
        name = asked.name
        if not name:
            rows = await uow.catalog.customers(limit=30)
            ctx.reply(msg.customer_list([c.name for c in rows]))
            return
        match = await catalog.match_customer(uow, name)
        if match.candidates:
            raise UserError(t.candidates("customer", name, [c.name for c in match.candidates]))
        if match.found is None:
            raise UserError(msg.customer_unknown(name))
        c = match.found
        count, balance = await uow.orders.open_balance(c.id)
        ctx.reply(msg.customer_card(c.name, c.contact, c.phone, c.address, c.payment_terms, c.credit_limit,
                                    count, balance))


@router.command("库存", aliases=("stock",), read_only=True, **help_of("库存"))
async def stock_cmd(ctx: Context, cmd: CommandText) -> None:
    async with ctx.uow() as uow:
        if cmd.args.strip():
            match = await catalog.match_product(uow, cmd.args.strip())
            if match.candidates:
                raise UserError(t.candidates("product", cmd.args.strip(), [p.sku for p in match.candidates]))
            rows = [match.found] if match.found else []
        else:
            rows = await uow.catalog.products(limit=30)
        products = [p for p in rows if p is not None]
        if not products:
            raise UserError(msg.no_products())
        views = await purchasing.stock_views(uow, products)
        ctx.reply(qt.stock_rows([(v.product.sku, v.product.name, v.product.stock, v.product.unit, v.reserved,
                                  v.on_order) for v in views]))


@router.command("入库", aliases=("stockin",), roles={Role.WAREHOUSE}, parse=parsers.STOCK_IN, **help_of("入库"))
async def stock_in_cmd(ctx: Context, cmd: CommandText, parsed: tuple[str, Decimal]) -> None:
    product_text, qty = parsed
    async with ctx.uow() as uow:
        # exact SKU or name only: "/入库 A1 7" must not add to A100
        found = await catalog.exact_product(uow, product_text)
        created = found is None
        product = found or await uow.catalog.add_product(product_text)
        stock = await catalog.stock_in(uow, product, qty, ctx.person.id, ctx.now())
        audit(uow, ctx.prov, "stock_in", None, ctx.now(), summary=product.sku,
              after={"sku": product.sku, "qty": qty, "stock": stock})
        linked = await catalog.link_free_lines(uow, product, ctx.prov, ctx.now()) if created else []
        ctx.reply(msg.stocked_in(product.sku, qty, stock, created, linked))


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
            await dispatch_events(ctx, uow, order, [DomainEvent("ticket_opened", order.id, order.no,
                                                                {"ticket_no": ticket.no, "text": parsed.text})])
            ctx.reply(msg.ticket_opened(order.no, ticket.no, parsed.text))
            return
        if Role.SERVICE not in ctx.person.roles:
            raise UserError(msg.ticket_forbidden())
        ticket_row = await uow.activity.ticket_by_no(parsed.ticket_no)
        if ticket_row is None:
            raise UserError(msg.ticket_unknown(parsed.ticket_no))
        order = await load_order(uow, (await uow.orders.by_id(ticket_row.order_id)).no)
        ticket_row.status = "RESOLVED" if parsed.status == args.TICKET_RESOLVED else "IN_PROGRESS"
        ticket_row.note = parsed.note
        events = []
        if ticket_row.status == "RESOLVED":
            ticket_row.resolved_at = ctx.now()
            events.append(DomainEvent("ticket_resolved", order.id, order.no, {"ticket_no": ticket_row.no}))
        audit(uow, ctx.prov, "ticket_update", order, ctx.now(), summary=f"T{ticket_row.no} {parsed.status}")
        with refusing(order.no):
            await dispatch_events(ctx, uow, order, events)
        ctx.reply(msg.ticket_updated(order.no, ticket_row.no, parsed.status, parsed.note))


