"""/采购 /到货: purchase requests and arrivals; shortage notices to the 采购 role."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from bot.commands import CommandText
from bot.context import Context
from bot.errors import NotFound, UserError
from bot.outbound import Message
from bot.routing import Router
from handlers.args import command_parsers as parsers
from handlers.args import quotes as qargs
from handlers.texts import quotes as qt
from handlers.texts import shared_replies as t
from storage.db import UnitOfWork
from storage.domain_events import ShortageFound
from storage.lifecycle import Refused
from storage.services import catalog, people
from storage.services import purchasing as svc
from storage.vocab import Role

router = Router("purchasing")
LIST_LIMIT = 20


def _refused(exc: Refused) -> UserError:
    text = qt.purchase_refused(exc.code, dict(exc.params))
    return UserError(text if text is not None else t.refused(exc.code, exc.params, None))


@router.command(qt.PURCHASE, aliases=("purchase",), parse=parsers.PURCHASE, **qt.help_of(qt.PURCHASE))
async def purchase_cmd(ctx: Context, cmd: CommandText,
                       parsed: parsers.ListThem | qargs.PurchaseArgs | parsers.Unparsed) -> None:
    if isinstance(parsed, parsers.ListThem):
        async with ctx.uow() as uow:
            rows = await uow.quotes.purchases(LIST_LIMIT)
            ctx.reply(qt.purchase_list([qt.purchase_row(p, ctx.today()) for p in rows]))
        return
    if isinstance(parsed, parsers.Unparsed):
        raise UserError(qt.purchasing_only())
    async with ctx.uow() as uow:
        match = await catalog.match_product(uow, parsed.product)
        if match.candidates:
            raise UserError(t.candidates("product", parsed.product, [p.sku for p in match.candidates]))
        if match.found is None:
            raise UserError(qt.purchase_product_unknown(parsed.product))
        try:
            purchase = await svc.create(uow, ctx.prov, match.found, parsed.qty, parsed.supplier, parsed.expected,
                                        ctx.now())
        except Refused as exc:
            raise _refused(exc) from exc
        ctx.reply(qt.purchase_created(purchase.no, match.found.sku, purchase.qty, match.found.unit,
                                      purchase.supplier, purchase.expected_date))


@router.command(qt.ARRIVAL, aliases=("arrive", "received"), roles={Role.PURCHASING, Role.WAREHOUSE},
                parse=parsers.ARRIVAL, **qt.help_of(qt.ARRIVAL))
async def arrival_cmd(ctx: Context, cmd: CommandText, parsed: tuple[int, Decimal | None]) -> None:
    no, amount = parsed
    async with ctx.uow() as uow:
        purchase = await svc.purchase_by_no(uow, no)
        if purchase is None:
            raise NotFound(qt.purchase_not_found(no))
        try:
            arrival = await svc.receive(uow, ctx.prov, purchase, amount, ctx.now())
        except Refused as exc:
            raise _refused(exc) from exc
        sku = purchase.product.sku
        for waiting in arrival.served:
            owner = await uow.people.by_id(waiting.owner_id)
            if owner.id == ctx.person.id:
                continue
            short = arrival.still_short.get(waiting.order_id)
            ctx.send(owner.platform, owner.user_id, "single",
                     Message.plain(qt.arrival_notice(waiting.order_no, sku, arrival.stock, short)),
                     event_key=f"arrival:P{purchase.no}:{waiting.order_no}:{ctx.inbound.event_id}")
        ctx.reply(qt.arrived(purchase.no, sku, arrival.qty, arrival.stock, arrival.complete, purchase.remaining,
                             [(w.order_no, arrival.still_short.get(w.order_id)) for w in arrival.served]))


async def shortage_notice(ctx: Context, uow: UnitOfWork, event: ShortageFound) -> None:
    """One merged notice per shortage event to every 采购 holder (sent once per shortage state)."""
    items = list(event.items)
    if not items:
        return
    state = ";".join(f"{i['sku']}={i['short']}:{','.join(map(str, i['orders']))}" for i in items)
    key = "shortage:" + hashlib.sha256(state.encode()).hexdigest()[:40]
    text = qt.shortage_notice(items)
    for person in await people.holders_of(uow, Role.PURCHASING):
        # the same shortage (a retried shipment) is told once
        if not await uow.activity.already_sent(key, person.platform, person.user_id):
            ctx.send(person.platform, person.user_id, "single", Message.plain(text), event_key=key)


async def after_stock_refusal(ctx: Context, order_no: int) -> bool:
    """A shipment was refused for stock: tell 采购 what is short (nothing else changes); True if told."""
    async with ctx.uow() as uow:
        order = await uow.orders.by_no(order_no, lock=False)
        if order is None or not await people.holders_of(uow, Role.PURCHASING):
            return False
        event = svc.shortage_event(order, await svc.shortages(uow, svc.catalogue_ids(order), lock=False), "ship")
        if event is None:
            return False
        await shortage_notice(ctx, uow, event)
    return True


def order_card_shortage(rows: list[tuple[str, Decimal]]) -> str | None:
    """The 缺货 line of an order's card, if the stock on hand cannot serve all of it."""
    return qt.shortage_card_line(rows) if rows else None


