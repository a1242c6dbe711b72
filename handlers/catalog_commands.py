"""/客户 /库存 /入库: customers, stock on hand, stock arriving."""

from __future__ import annotations

from decimal import Decimal

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.routing import Router
from handlers import args
from handlers.args import command_parsers as parsers
from handlers.texts import command_replies as msg
from handlers.texts import quotes as qt
from handlers.texts import shared_replies as t
from handlers.texts.help import of as help_of
from storage.services import catalog, purchasing
from storage.services.base import audit
from storage.vocab import Role

router = Router("catalog")


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
