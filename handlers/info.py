"""/帮助 /客户 /库存 /入库 /提醒 /售后."""

from __future__ import annotations



from sqlalchemy import func, select

from bot.commands import CommandText
from bot.context import Context
from bot.dispatch import Router
from bot.errors import UserError
from handlers import args
from handlers.common import load_order, refusing
from handlers.notify import dispatch_events
from handlers.texts import replies as t
from storage import lifecycle
from storage.models import Customer, Order, Product, Reminder, Ticket
from storage.services import catalog
from storage.services.base import DomainEvent, audit, next_number
from storage.vocab import ACTION_COMMANDS, STATE_LABELS, Role

router = Router("info")


@router.command("帮助", aliases=("help", "?", "？"), usage="/帮助 [命令|#单号]", example="/帮助 #12",
                summary="用法；/帮助 #12 列出我现在能对 #12 做什么")
async def help_cmd(ctx: Context, cmd: CommandText) -> None:
    text = cmd.args.strip().lstrip("/").lstrip("／")
    specs = ctx.dispatcher.specs
    if text[:1] in ("#", "＃") or text.endswith("号单") or text.isdigit():
        no = args.split_order_ref(text)[0]
        async with ctx.uow() as uow:
            order = await load_order(uow, no, lock=False)
            allowed = lifecycle.allowed_actions(order, ctx.prov.actor)
        label = STATE_LABELS.get(order.state, order.state)
        if not allowed:
            ctx.reply(f"#{no}（{label}）：你现在没有可做的操作，可 /查单 #{no} 查看。")
            return
        ctx.reply(f"#{no}（{label}）你现在可以：\n" + "\n".join(
            f"· {ACTION_COMMANDS[a].split(' ')[0]} #{no}{' ' + ACTION_COMMANDS[a].split(' ')[1] if ' ' in ACTION_COMMANDS[a] else ''}"
            for a in allowed))
        return
    if text:
        spec = ctx.dispatcher.by_name.get(text.lower())
        if spec is None:
            raise UserError(t.unknown_command(text))
        aliases = f"（别名：{'、'.join('/' + a for a in spec.aliases)}）" if spec.aliases else ""
        who = f"\n权限：{t.roles_text(spec.roles)}" if spec.roles else ""
        ctx.reply(f"/{spec.name}{aliases}：{spec.summary}\n格式：{spec.usage}\n例如：{spec.example}{who}")
        return
    mine = [s for s in specs if s.roles is None or s.roles & ctx.person.roles]
    ctx.reply("可用命令（/帮助 命令 查看详情）：\n" + "\n".join(f"{s.usage}　{s.summary}" for s in mine)
              + f"\n你的角色：{t.roles_text(ctx.person.roles)}")


@router.command("客户", aliases=("customer",), usage="/客户 [名字] | /客户 新增 名字 [联系人] [电话] [地址]",
                example="/客户 华为", summary="客户卡片（含欠款）/ 新增客户")
async def customer_cmd(ctx: Context, cmd: CommandText) -> None:
    if args.is_customer_add(cmd.args):
        if Role.SALES not in ctx.person.roles and Role.ADMIN not in ctx.person.roles:
            raise UserError("只有销售或管理员可以新增客户。")
        new = args.parse_customer_add(cmd.args)
        async with ctx.uow() as uow:
            if (await catalog.match_customer(uow, new.name)).found is not None and \
                    (await catalog.match_customer(uow, new.name)).found.name == new.name:  # type: ignore[union-attr]
                raise UserError(f"客户「{new.name}」已存在。")
            cust = await catalog.add_customer(uow, new.name, contact=new.contact, phone=new.phone,
                                              address=new.address, owner_id=ctx.person.id)
            audit(uow, ctx.prov, "customer_add", None, ctx.now(), summary=f"新增客户 {cust.name}")
            ctx.reply(f"已新增客户「{cust.name}」。")
        return
    async with ctx.uow() as uow:
        name = cmd.args.strip()
        if not name:
            rows = list((await uow.session.execute(select(Customer).order_by(Customer.name).limit(30))).scalars())
            ctx.reply("客户：" + ("、".join(c.name for c in rows) if rows else "还没有客户"))
            return
        match = await catalog.match_customer(uow, name)
        if match.candidates:
            raise UserError(t.candidates("客户", name, [c.name for c in match.candidates]))
        if match.found is None:
            raise UserError(f"没有客户「{name}」。新增：/客户 新增 {name}")
        c = match.found
        open_q = select(func.count(Order.id), func.coalesce(func.sum(Order.amount - Order.paid_amount
                                                                      - Order.written_off), 0)).where(
            Order.customer_id == c.id, Order.state.in_(("CONFIRMED", "ON_HOLD", "PENDING_APPROVAL")))
        count, balance = (await uow.session.execute(open_q)).one()
        ctx.reply("\n".join([
            f"客户：{c.name}", f"联系人：{c.contact or '—'} {c.phone or ''}", f"地址：{c.address or '—'}",
            f"付款方式：{c.payment_terms or '款到发货'}　信用额度：{t.money(c.credit_limit) if c.credit_limit else '不限'}",
            f"进行中订单 {count} 张，未收 {t.money(balance)}"]))


@router.command("库存", aliases=("stock",), usage="/库存 [产品]", example="/库存 A100", summary="查库存")
async def stock_cmd(ctx: Context, cmd: CommandText) -> None:
    async with ctx.uow() as uow:
        if cmd.args.strip():
            match = await catalog.match_product(uow, cmd.args.strip())
            if match.candidates:
                raise UserError(t.candidates("产品", cmd.args.strip(), [p.sku for p in match.candidates]))
            rows = [match.found] if match.found else []
        else:
            rows = list((await uow.session.execute(select(Product).order_by(Product.sku).limit(30))).scalars())
        if not rows:
            raise UserError("没有找到产品。产品可用 /入库 产品 数量 建立，或用 gendan import products 导入。")
        ctx.reply("\n".join(f"{p.sku}{'(' + p.name + ')' if p.name else ''}：{t.qty(p.stock)}{p.unit or ''}"
                            for p in rows if p is not None))


@router.command("入库", aliases=("stockin",), roles={Role.WAREHOUSE}, usage="/入库 产品 数量",
                example="/入库 A100 100台", summary="入库（新产品自动建档）")
async def stock_in_cmd(ctx: Context, cmd: CommandText) -> None:
    try:
        product_text, qty = args.parse_stock_in(cmd.args)
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        match = await catalog.match_product(uow, product_text)
        if match.candidates:
            raise UserError(t.candidates("产品", product_text, [p.sku for p in match.candidates]))
        created = match.found is None
        product = match.found or Product(sku=product_text, name="", stock=qty * 0, track_stock=True)
        if created:
            uow.session.add(product)
            await uow.session.flush()
        stock = await catalog.stock_in(uow, product, qty, ctx.person.id, ctx.now())
        audit(uow, ctx.prov, "stock_in", None, ctx.now(), summary=f"{product.sku} 入库 {t.qty(qty)}",
              after={"sku": product.sku, "qty": qty, "stock": stock})
        ctx.reply(f"{product.sku} 入库 {t.qty(qty)}，现有库存 {t.qty(stock)}" + ("（新产品已建档）" if created else ""))


@router.command("提醒", aliases=("remind",), usage="/提醒 [#单号] 时间 内容", example="/提醒 #12 明天上午10点 催款",
                summary="到时间提醒我（或 #单号 的负责人）")
async def remind_cmd(ctx: Context, cmd: CommandText) -> None:
    try:
        parsed = args.parse_reminder(cmd.args, ctx.now())
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        target = ctx.person.id
        order_id = None
        if parsed.order_no is not None:
            order = await load_order(uow, parsed.order_no, lock=False)
            target, order_id = order.owner_id, order.id
        uow.session.add(Reminder(kind="custom", due_at=parsed.when, person_id=target, order_id=order_id,
                                 text=parsed.text, created_by=ctx.person.id, created_at=ctx.now()))
        who = "你" if target == ctx.person.id else f"#{parsed.order_no} 的负责人"
        ctx.reply(f"好的，{parsed.when.astimezone(ctx.settings.tz):%Y-%m-%d %H:%M} 提醒{who}：{parsed.text}")


@router.command("售后", aliases=("service",), usage="/售后 #单号 问题 | /售后 T单号 处理中|已解决 [说明]",
                example="/售后 #12 屏幕有坏点", summary="售后工单")
async def after_sales(ctx: Context, cmd: CommandText) -> None:
    try:
        parsed = args.parse_after_sales(cmd.args)
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        if isinstance(parsed, args.TicketOpen):
            order = await load_order(uow, parsed.order_no)
            ticket = Ticket(no=await next_number(uow, "ticket"), order_id=order.id, text=parsed.text,
                            opened_by=ctx.person.id, created_at=ctx.now())
            uow.session.add(ticket)
            audit(uow, ctx.prov, "ticket_open", order, ctx.now(), summary=f"售后 T{ticket.no}：{parsed.text}")
            await dispatch_events(ctx, uow, order, [DomainEvent("ticket_opened", order.id, order.no,
                                                                {"ticket_no": ticket.no, "text": parsed.text})])
            ctx.reply(f"#{order.no} 已建售后工单 T{ticket.no}：{parsed.text}")
            return
        if Role.SERVICE not in ctx.person.roles:
            raise UserError("只有客服可以更新售后工单状态。")
        ticket_row = (await uow.session.execute(select(Ticket).where(Ticket.no == parsed.ticket_no))).scalar_one_or_none()
        if ticket_row is None:
            raise UserError(f"没有售后工单 T{parsed.ticket_no}。")
        order = await load_order(uow, (await uow.session.get_one(Order, ticket_row.order_id)).no)
        ticket_row.status = "RESOLVED" if parsed.status == "已解决" else "IN_PROGRESS"
        ticket_row.note = parsed.note
        events = []
        if ticket_row.status == "RESOLVED":
            ticket_row.resolved_at = ctx.now()
            events.append(DomainEvent("ticket_resolved", order.id, order.no, {"ticket_no": ticket_row.no}))
        audit(uow, ctx.prov, "ticket_update", order, ctx.now(), summary=f"售后 T{ticket_row.no} {parsed.status}")
        with refusing(order.no):
            await dispatch_events(ctx, uow, order, events)
        ctx.reply(f"售后 T{ticket_row.no} → {parsed.status}" + (f"：{parsed.note}" if parsed.note else ""))


