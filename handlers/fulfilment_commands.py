"""/生产 /完工 /发货 /签收 /回款."""

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
from handlers.order_flow import on_order
from handlers.purchase_commands import after_stock_refusal
from handlers.texts import command_replies as msg
from handlers.texts import orders as ot
from handlers.texts import quotes as qt
from handlers.texts.help import of as help_of
from handlers.texts.shared_replies import candidates
from storage import lifecycle
from storage.domain_events import Shipped
from storage.models import OrderLine
from storage.services import fulfilment as svc
from storage.vocab import Role

router = Router("fulfilment")


@router.command("生产", aliases=("produce",), roles={Role.PRODUCTION}, parse=parsers.ORDER_REF, **help_of("生产"))
async def start_production(ctx: Context, cmd: CommandText, no: int) -> None:
    await on_order(ctx, no, lambda uow, o: svc.production(uow, o, ctx.prov, False, ctx.now()),
                   lambda o, ev: ot.progress_line(o, ctx.today()))


@router.command("完工", aliases=("finish",), roles={Role.PRODUCTION}, parse=parsers.ORDER_REF, **help_of("完工"))
async def finish_production(ctx: Context, cmd: CommandText, no: int) -> None:
    await on_order(ctx, no, lambda uow, o: svc.production(uow, o, ctx.prov, True, ctx.now()),
                   lambda o, ev: ot.progress_line(o, ctx.today()) + "\n" + msg.warehouse_told())


def _match_line(order_lines: list[OrderLine], product: str) -> OrderLine:
    exact = [ln for ln in order_lines if ln.sku.lower() == product.lower() or ln.name == product]
    if len(exact) == 1:
        return exact[0]
    contains = [ln for ln in order_lines if product.lower() in ln.sku.lower() or (ln.name and product in ln.name)]
    if len(contains) == 1:
        return contains[0]
    if contains:
        raise UserError(candidates("product", product, [ln.sku for ln in contains]))
    raise UserError(msg.no_line(product, (ln.sku for ln in order_lines)))


@router.command("发货", aliases=("ship",), roles={Role.WAREHOUSE}, parse=parsers.SHIP, **help_of("发货"))
async def ship(ctx: Context, cmd: CommandText, parsed: args.ShipArgs) -> None:
    loaded: list[int] = []
    try:
        await _ship(ctx, parsed, loaded)
    except UserError as err:
        refusal = err.__cause__
        # the shipment changes nothing, but 采购 hears what is short
        if isinstance(refusal, lifecycle.Refused) and refusal.code == "no_stock" and loaded \
                and await after_stock_refusal(ctx, loaded[0]):
            raise UserError(f"{err.text}\n{qt.purchase_told()}") from refusal
        raise


async def _ship(ctx: Context, parsed: args.ShipArgs, loaded: list[int]) -> None:
    async with ctx.uow() as uow:
        order = await load_order(uow, parsed.order_no)
        loaded.append(order.no)
        wanted: list[tuple[OrderLine, Decimal]] | None = None
        if parsed.lines:
            wanted = [(_match_line(order.lines, p), q) for p, q in parsed.lines]
        with refusing(order.no):
            shipment, events = await svc.ship(uow, order, ctx.prov, wanted, parsed.carrier, parsed.tracking_no,
                                              ctx.now())
        await dispatch_events(ctx, uow, order, events)
        reply = (msg.shipped(order.no, shipment.seq, shipment.amount, parsed.carrier, parsed.tracking_no)
                 + "\n" + ot.progress_line(order, ctx.today()))
        if any(isinstance(e, Shipped) and e.unpaid_prepay for e in events):
            reply += "\n" + msg.shipped_unpaid(order.no, order.payment_terms or "")
        ctx.reply(reply)


@router.command("签收", aliases=("sign",), roles={Role.SALES, Role.WAREHOUSE}, parse=parsers.ORDER_REF,
                **help_of("签收"))
async def sign(ctx: Context, cmd: CommandText, no: int) -> None:
    await on_order(ctx, no, lambda uow, o: svc.sign(uow, o, ctx.prov, ctx.now()),
                   lambda o, ev: msg.signed(o.no))


@router.command("回款", aliases=("pay",), roles={Role.FINANCE}, parse=parsers.PAYMENT, **help_of("回款"))
async def pay(ctx: Context, cmd: CommandText, parsed: args.PaymentArgs) -> None:
    async with ctx.uow() as uow:
        order = await load_order(uow, parsed.order_no)
        with refusing(order.no):
            _, events = await svc.pay(uow, order, ctx.prov, parsed.amount, parsed.method,
                                      parsed.paid_on or ctx.today(), ctx.now())
        await dispatch_events(ctx, uow, order, events)
        progress = ot.progress_line(order, ctx.today())
        ctx.reply(msg.paid(order.no, parsed.amount, lifecycle.balance(order)) + "\n" + progress)
