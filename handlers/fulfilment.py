"""/生产 /完工 /发货 /签收 /回款."""

from __future__ import annotations

from decimal import Decimal

from bot.commands import CommandText
from bot.context import Context
from bot.dispatch import Router
from bot.errors import UserError
from handlers import args
from handlers.common import load_order, refusing
from handlers.flow import on_order
from handlers.notify import dispatch_events
from handlers.texts import orders as ot
from handlers.texts.replies import candidates, money
from storage import lifecycle
from storage.models import OrderLine
from storage.services import fulfilment as svc
from storage.vocab import Role

router = Router("fulfilment")


def _ref(cmd: CommandText) -> int:
    try:
        return args.split_order_ref(cmd.args)[0]
    except args.ArgError as err:
        raise UserError(str(err)) from err


@router.command("生产", aliases=("produce",), roles={Role.PRODUCTION}, usage="/生产 #单号",
                example="/生产 #12", summary="开始生产")
async def start_production(ctx: Context, cmd: CommandText) -> None:
    await on_order(ctx, _ref(cmd), lambda uow, o: svc.production(uow, o, ctx.prov, False, ctx.now()),
                   lambda o, ev: ot.progress_line(o, ctx.today()))


@router.command("完工", aliases=("finish",), roles={Role.PRODUCTION}, usage="/完工 #单号",
                example="/完工 #12", summary="生产完工（通知仓库）")
async def finish_production(ctx: Context, cmd: CommandText) -> None:
    await on_order(ctx, _ref(cmd), lambda uow, o: svc.production(uow, o, ctx.prov, True, ctx.now()),
                   lambda o, ev: ot.progress_line(o, ctx.today()) + "\n已通知仓库。")


def _match_line(order_lines: list[OrderLine], product: str) -> OrderLine:
    exact = [ln for ln in order_lines if ln.sku.lower() == product.lower() or ln.name == product]
    if len(exact) == 1:
        return exact[0]
    contains = [ln for ln in order_lines if product.lower() in ln.sku.lower() or (ln.name and product in ln.name)]
    if len(contains) == 1:
        return contains[0]
    if contains:
        raise UserError(candidates("产品行", product, [ln.sku for ln in contains]))
    raise UserError(f"订单里没有产品「{product}」。订单产品：{'、'.join(ln.sku for ln in order_lines)}")


@router.command("发货", aliases=("ship",), roles={Role.WAREHOUSE},
                usage="/发货 #单号 [产品 数量 …] [物流公司] [单号]",
                example="/发货 #12 A100 8台 顺丰 SF1234567890", summary="发货（不写产品则发全部剩余）")
async def ship(ctx: Context, cmd: CommandText) -> None:
    try:
        parsed = args.parse_ship(cmd.args)
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        order = await load_order(uow, parsed.order_no)
        wanted: list[tuple[OrderLine, Decimal]] | None = None
        if parsed.lines:
            wanted = [(_match_line(order.lines, p), q) for p, q in parsed.lines]
        with refusing(order.no):
            shipment, events = await svc.ship(uow, order, ctx.prov, wanted, parsed.carrier, parsed.tracking_no,
                                              ctx.now())
        await dispatch_events(ctx, uow, order, events)
        ctx.reply(f"#{order.no} 第{shipment.seq}批已发货 {money(shipment.amount)}"
                  + (f"（{parsed.carrier or ''} {parsed.tracking_no or ''}）".replace("（ ", "（").replace(" ）", "）")
                     if parsed.carrier or parsed.tracking_no else "")
                  + "\n" + ot.progress_line(order, ctx.today()))


@router.command("签收", aliases=("sign",), roles={Role.SALES, Role.WAREHOUSE}, usage="/签收 #单号",
                example="/签收 #12", summary="客户已签收")
async def sign(ctx: Context, cmd: CommandText) -> None:
    await on_order(ctx, _ref(cmd), lambda uow, o: svc.sign(uow, o, ctx.prov, ctx.now()),
                   lambda o, ev: f"#{o.no} 已记录客户签收。")


@router.command("回款", aliases=("pay",), roles={Role.FINANCE}, usage="/回款 #单号 金额 [方式] [日期]",
                example="/回款 #12 2万 转账", summary="记录回款（不超过待收余额）")
async def pay(ctx: Context, cmd: CommandText) -> None:
    try:
        parsed = args.parse_payment(cmd.args, ctx.today())
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        order = await load_order(uow, parsed.order_no)
        with refusing(order.no):
            _, events = await svc.pay(uow, order, ctx.prov, parsed.amount, parsed.method,
                                      parsed.paid_on or ctx.today(), ctx.now())
        await dispatch_events(ctx, uow, order, events)
        ctx.reply(f"#{order.no} 回款 {money(parsed.amount)} 已记录，待收 {money(lifecycle.balance(order))}。\n"
                  + ot.progress_line(order, ctx.today()))
