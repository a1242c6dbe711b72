"""/下单 /补充 /提交 /撤回 /变更 /查单 /订单."""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.routing import Router
from handlers import args
from handlers.args import command_parsers as parsers
from handlers.common import load_order, load_order_card, refusing, resolve_fields
from handlers.notify import dispatch_events
from handlers.order_flow import on_order
from handlers.purchase_commands import order_card_shortage
from handlers.texts import command_replies as msg
from handlers.texts import orders as ot
from handlers.texts.help import of as help_of
from handlers.texts.shared_replies import candidates
from storage.domain_events import ChangeApplied, DomainEvent, Submitted
from storage.models import Order
from storage.repos.orders import OrderSearch
from storage.services import catalog, changes
from storage.services import orders as svc
from storage.vocab import Role, State

router = Router("orders")


@router.command("下单", aliases=("开单", "新订单", "order"), roles={Role.SALES}, parse=parsers.NEW_ORDER,
                **help_of("下单"))
async def create_order(ctx: Context, cmd: CommandText, fields: args.OrderFields) -> None:
    async with ctx.uow() as uow:
        resolved = await resolve_fields(uow, fields, ctx.person.id)
        origin = svc.Origin(ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        with refusing(None):
            order, events = await svc.create(uow, ctx.prov, resolved.data, origin, ctx.rules, ctx.now())
        await dispatch_events(ctx, uow, order, events)
        ctx.reply(ot.created(order, resolved.new_customer, resolved.free_lines, ctx.today(), submitted(events)))


@router.command("补充", aliases=("fill",), parse=parsers.SUPPLEMENT, **help_of("补充"))
async def fill_order(ctx: Context, cmd: CommandText, parsed: tuple[int, args.OrderFields]) -> None:
    no, fields = parsed
    async with ctx.uow() as uow:
        order = await load_order(uow, no)
        resolved = await resolve_fields(uow, fields, ctx.person.id)
        with refusing(no):
            events = await svc.fill(uow, order, ctx.prov, resolved.data, ctx.rules, ctx.now())
        await dispatch_events(ctx, uow, order, events)
        ctx.reply(ot.created(order, resolved.new_customer, resolved.free_lines, ctx.today(), submitted(events)))


@router.command("提交", aliases=("submit",), parse=parsers.ORDER_REF, **help_of("提交"))
async def submit_order(ctx: Context, cmd: CommandText, no: int) -> None:
    await on_order(ctx, no, lambda uow, o: svc.submit(uow, o, ctx.prov, ctx.rules, ctx.now()),
                   lambda o, ev: ot.created(o, None, (), ctx.today(), submitted(ev)))


@router.command("撤回", aliases=("withdraw",), parse=parsers.ORDER_REF, **help_of("撤回"))
async def withdraw_order(ctx: Context, cmd: CommandText, no: int) -> None:
    await on_order(ctx, no, lambda uow, o: svc.withdraw(uow, o, ctx.prov, ctx.now()),
                   lambda o, ev: msg.withdrawn(o.no))


@router.command("变更", aliases=("change",), parse=parsers.CHANGE, **help_of("变更"))
async def change_order(ctx: Context, cmd: CommandText, parsed: tuple[int, args.ChangeArgs]) -> None:
    no, change = parsed
    async with ctx.uow() as uow:
        order = await load_order(uow, no)
        lines = []
        for lc in change.lines:
            match = await catalog.match_product(uow, lc.product)
            sku = match.found.sku if match.found else lc.product
            if match.candidates:
                raise UserError(candidates("product", lc.product, [p.sku for p in match.candidates]))
            lines.append(changes.LineChange(sku, lc.qty, lc.unit_price))
        data = changes.ChangeInput(tuple(lines), change.due_date, change.payment_terms, change.note,
                                   change.address, change.contact)
        with refusing(no):
            cr, events = await changes.request(uow, order, ctx.prov, data, ctx.rules, ctx.now())
        await dispatch_events(ctx, uow, order, events)
        applied = any(isinstance(e, ChangeApplied) for e in events)
        ctx.reply(msg.change_head(no, applied, order.version) + "\n" + ot.diff_text(cr.diff if cr else []))


@router.command("查单", aliases=("查询", "查看"), read_only=True, parse=parsers.ORDER_QUERY, **help_of("查单"))
async def show_order(ctx: Context, cmd: CommandText, no: int) -> None:
    view = await load_order_card(ctx.db, no)
    card = ot.order_card(view.order, ctx.today(), view.history, ctx.settings.tz)
    short = order_card_shortage(view.short)
    ctx.reply(f"{card}\n{short}" if short else card)


def submitted(events: list[DomainEvent]) -> Submitted | None:
    """The data of the submission among ``events`` (approval steps, reasons, vacant roles), if any."""
    return next((e for e in events if isinstance(e, Submitted)), None)


async def list_orders_query(ctx: Context, flt: args.ListFilter) -> list[Order]:
    """Orders for /订单, newest first."""
    from datetime import timedelta

    today = ctx.today()
    search = OrderSearch()
    if flt.kind == "mine":
        search = OrderSearch(owner_id=ctx.person.id)
    elif flt.kind == "pending":
        search = OrderSearch(state=State.PENDING_APPROVAL)
    elif flt.kind == "overdue":
        search = OrderSearch(overdue_on=today)
    elif flt.kind == "week":
        start = today - timedelta(days=today.weekday())
        search = OrderSearch(due_from=start, due_to=start + timedelta(days=6))
    async with ctx.uow() as uow:
        if flt.kind == "customer" and flt.customer:
            match = await catalog.match_customer(uow, flt.customer)
            search = OrderSearch(customer_ids=[match.found.id] if match.found else [c.id for c in match.candidates])
        return await uow.orders.search(search, limit=15)


@router.command("订单", aliases=("orders", "list"), read_only=True, parse=parsers.ORDER_LIST, **help_of("订单"))
async def list_orders(ctx: Context, cmd: CommandText, flt: int | args.ListFilter) -> None:
    if isinstance(flt, int):  # "/订单 #12": the order's card, as /查单
        await show_order(ctx, cmd, flt)
        return
    rows = await list_orders_query(ctx, flt)
    if not rows:
        ctx.reply(msg.no_orders())
        return
    ctx.reply("\n".join(ot.progress_line(o, ctx.today()) + (f"｜{o.customer.name}" if o.customer else "")
                        for o in rows))
