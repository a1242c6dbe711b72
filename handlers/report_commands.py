"""/报表 and /对账 (chat summaries)."""

from __future__ import annotations

from datetime import date

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.outbound import Message
from bot.routing import Router
from handlers.args import command_parsers as parsers
from handlers.texts import command_replies as msg
from handlers.texts import quotes as qt
from handlers.texts import shared_replies as t
from handlers.texts import statements as st_texts
from handlers.texts.help import of as help_of
from storage.services import catalog, quotes, reports
from storage.vocab import Role

router = Router("reports")


@router.command("报表", aliases=("report",), roles={Role.MANAGER, Role.BOSS}, parse=parsers.REPORT_PERIOD,
                **help_of("报表"))
async def report_cmd(ctx: Context, cmd: CommandText, period: tuple[str, date, date]) -> None:
    label, start, end = period
    async with ctx.uow() as uow:
        rep = await reports.sales_report(uow, start, end, ctx.today(), ctx.settings.tz)
        quoted = await quotes.win_rates(uow, start, end, ctx.settings.tz)
    people = [(p.name, p.orders, p.sales, p.shipped, p.collected)
              for p in sorted(rep.by_person.values(), key=lambda p: p.sales, reverse=True)]
    text = msg.report(label, start, end, rep.orders, rep.sales, rep.shipped, rep.collected, rep.overdue, people)
    rows = [(q.name, q.quoted, q.quoted_amount, q.won, q.won_amount, q.win_rate)
            for q in sorted(quoted.values(), key=lambda q: q.quoted_amount, reverse=True)]
    ctx.reply(f"{text}\n{qt.win_rates(rows)}" if rows else text)


@router.command("对账", aliases=("statement",), roles={Role.FINANCE, Role.SALES}, parse=parsers.STATEMENT,
                **help_of("对账"))
async def statement_cmd(ctx: Context, cmd: CommandText, asked: tuple[str, date, date]) -> None:
    name, start, end = asked
    async with ctx.uow() as uow:
        match = await catalog.match_customer(uow, name)
        if match.candidates:
            raise UserError(t.candidates("customer", name, [c.name for c in match.candidates]))
        if match.found is None:
            raise UserError(msg.customer_missing(name))
        customer_id, customer = match.found.id, match.found.name
        st = await reports.statement(uow, customer_id, start, end, ctx.settings.tz)
        shipments = [(s.shipped_at.astimezone(ctx.settings.tz).date(), no, s.seq, s.amount) for s, no in st.shipments]
        payments = [(p.paid_on, no, p.amount, p.method) for p, no in st.payments]
        summary = msg.statement(customer, start, end, st.opening, st.shipped, st.collected, st.closing,
                                shipments, payments)
    make = ctx.dispatcher.statement_link
    if make is None:
        ctx.reply(summary)
        return
    # the workbook link is bound to the asker; like /看板's, it is never posted where everyone reads it
    url, expires = await make(ctx.person.platform, ctx.person.user_id, customer_id, start, end)
    hours = max(1, round((expires - ctx.clock()).total_seconds() / 3600))
    line = st_texts.link_line(url, expires.astimezone(ctx.settings.tz), hours)
    if ctx.chat.chat_type == "single":
        ctx.reply(f"{summary}\n{line}")
        return
    ctx.send(ctx.person.platform, ctx.person.user_id, "single", Message.plain(st_texts.link_private(customer, line)))
    ctx.reply(f"{summary}\n{st_texts.link_sent_privately(ctx.person.name)}")
