"""/报表 and /对账 (chat summaries)."""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.dispatch import Router
from bot.errors import UserError
from handlers import args
from handlers.texts import replies as t
from storage.services import catalog, reports
from storage.vocab import Role

router = Router("reports")


@router.command("报表", aliases=("report",), roles={Role.MANAGER, Role.BOSS}, usage="/报表 [本周|本月|上月]",
                example="/报表 本月", summary="销售、发货、回款、逾期，按人")
async def report_cmd(ctx: Context, cmd: CommandText) -> None:
    try:
        label, start, end = args.parse_report_period(cmd.args, ctx.today())
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        rep = await reports.sales_report(uow, start, end, ctx.today(), ctx.settings.tz)
    rows = [f"📊 {label}（{start:%m-%d}~{end:%m-%d}）",
            f"成交 {rep.orders} 单 {t.money(rep.sales)}｜发货 {t.money(rep.shipped)}｜回款 {t.money(rep.collected)}",
            f"当前逾期未发货 {rep.overdue} 单"]
    for p in sorted(rep.by_person.values(), key=lambda p: p.sales, reverse=True):
        rows.append(f"· {p.name}：成交 {p.orders} 单 {t.money(p.sales)}，发货 {t.money(p.shipped)}，"
                    f"回款 {t.money(p.collected)}")
    ctx.reply("\n".join(rows))


@router.command("对账", aliases=("statement",), roles={Role.FINANCE, Role.SALES}, usage="/对账 客户 [月份|起 止]",
                example="/对账 华为 11月", summary="客户对账单")
async def statement_cmd(ctx: Context, cmd: CommandText) -> None:
    try:
        name, start, end = args.parse_statement(cmd.args, ctx.today())
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        match = await catalog.match_customer(uow, name)
        if match.candidates:
            raise UserError(t.candidates("客户", name, [c.name for c in match.candidates]))
        if match.found is None:
            raise UserError(f"没有客户「{name}」。")
        st = await reports.statement(uow, match.found.id, start, end, ctx.settings.tz)
        rows = [f"🧾 {match.found.name} 对账单 {start:%Y-%m-%d}~{end:%Y-%m-%d}",
                f"期初应收 {t.money(st.opening)}｜本期发货 {t.money(st.shipped)}｜本期回款 {t.money(st.collected)}"
                f"｜期末应收 {t.money(st.closing)}"]
        for s, no in st.shipments:
            rows.append(f"· {s.shipped_at.astimezone(ctx.settings.tz):%m-%d} 发货 #{no} 第{s.seq}批 {t.money(s.amount)}")
        for p, no in st.payments:
            rows.append(f"· {p.paid_on:%m-%d} 回款 #{no} {t.money(p.amount)}{'（' + p.method + '）' if p.method else ''}")
    ctx.reply("\n".join(rows))
