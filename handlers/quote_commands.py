"""/报价 /成交 and /作废 Q12: quotations, their approval card below floor, and turning them into orders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from bot.commands import CommandText
from bot.context import Context
from bot.errors import NotFound, UserError
from bot.outbound import ActionData, Button, Card, Message
from bot.routing import Router
from handlers.args import command_parsers as parsers
from handlers.args import quotes as qargs
from handlers.common import resolve_fields
from handlers.notify import dispatch_events
from handlers.order_commands import submitted
from handlers.texts import orders as ot
from handlers.texts import quotes as qt
from handlers.texts import shared_replies as t
from storage import domain_events as ev
from storage.db import UnitOfWork
from storage.lifecycle import Refused
from storage.models import Person, Quote
from storage.services import people
from storage.services import quotes as svc
from storage.services.orders import Origin
from storage.vocab import QuoteStatus, Role

router = Router("quotes")
LIST_LIMIT = 15


@dataclass(frozen=True)
class QuoteApprovalAction(ActionData):
    """A press on 通过 / 驳回 of a below-floor quote's card."""

    prefix = "qa"
    CHOICES = {"decision": frozenset({"ok", "no"})}  # noqa: RUF012  (a ClassVar of the base)
    quote_id: int
    decision: str  # "ok" | "no"


def card_key(quote_id: int) -> str:
    """Every copy of one quote's approval card shares this key."""
    return f"qappr:{quote_id}"


@contextmanager
def refusing() -> Iterator[None]:
    """Turn a refusal of a quote action into its reply."""
    try:
        yield
    except Refused as exc:
        text = qt.refused(exc.code, dict(exc.params))
        raise UserError(text if text is not None else t.refused(exc.code, exc.params, None)) from exc


async def load_quote(uow: UnitOfWork, no: int, *, lock: bool = True) -> Quote:
    """``Q<no>`` (row-locked), or a NotFound reply."""
    quote = await svc.quote_by_no(uow, no, lock=lock)
    if quote is None:
        raise NotFound(qt.quote_not_found(no))
    return quote


@router.command(qt.QUOTE, aliases=("quote",), parse=parsers.QUOTE, **qt.help_of(qt.QUOTE))
async def quote_cmd(ctx: Context, cmd: CommandText,
                    parsed: parsers.ListThem | parsers.QuoteDecision | qargs.QuoteArgs | parsers.Unparsed) -> None:
    if isinstance(parsed, parsers.ListThem):
        await _list(ctx)
        return
    if isinstance(parsed, parsers.QuoteDecision):
        await _show_or_decide(ctx, parsed)
        return
    if isinstance(parsed, parsers.Unparsed):
        raise UserError(qt.sales_only())
    async with ctx.uow() as uow:
        resolved = await resolve_fields(uow, parsed.fields, ctx.person.id)
        assert resolved.data.customer is not None  # parse_quote requires one
        data = svc.QuoteInput(customer=resolved.data.customer, lines=resolved.data.lines,
                              valid_days=parsed.valid_days or ctx.settings.quote_valid_days,
                              due_date=resolved.data.due_date, note=resolved.data.note,
                              payment_terms=resolved.data.payment_terms)
        origin = Origin(ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        with refusing():
            quote, events = await svc.create(uow, ctx.prov, data, origin, ctx.today(), ctx.now())
        await quote_events(ctx, uow, quote, events)
        sheet = sheet_due(ctx, quote, events)
        reply = qt.quote_created(quote, ctx.today(), resolved.new_customer, resolved.free_lines)
        ctx.reply(f"{reply}\n{qt.sheet_sent_privately()}" if sheet else reply)
    if sheet:
        await send_sheet(ctx, quote.no, quote.customer.name, quote.valid_until, quote.owner)


async def _list(ctx: Context) -> None:
    sees_all = Role.MANAGER in ctx.person.roles or Role.BOSS in ctx.person.roles
    async with ctx.uow() as uow:
        rows = await uow.quotes.latest(LIST_LIMIT, owner_id=None if sees_all else ctx.person.id)
    ctx.reply(qt.quote_list([qt.quote_head(q, ctx.today()) for q in rows]))


async def _show_or_decide(ctx: Context, asked: parsers.QuoteDecision) -> None:
    no = asked.no
    if asked.approve is None:
        async with ctx.uow() as uow:
            quote = await load_quote(uow, no, lock=False)
            order_no = (await uow.orders.by_id(quote.order_id)).no if quote.order_id else None
            ctx.reply(qt.quote_card_text(quote, ctx.today(), order_no))
        return
    await decide(ctx, no, None, asked.approve, asked.reason)


async def decide(ctx: Context, no: int | None, quote_id: int | None, approve: bool, comment: str | None) -> None:
    """A 主管's decision on a below-floor quote, from the card or the text command."""
    async with ctx.uow() as uow:
        if quote_id is not None:
            found = await uow.quotes.no_of(quote_id)
            if found is None:
                raise UserError(t.bad_action())
            no = found
        assert no is not None
        quote = await load_quote(uow, no)
        with refusing():
            events = await svc.decide(uow, quote, ctx.prov, approve, comment, ctx.now())
        await quote_events(ctx, uow, quote, events)
        sheet = sheet_due(ctx, quote, events)
        ctx.reply(qt.quote_decided(quote.no, approve, comment))
    if sheet:
        await send_sheet(ctx, quote.no, quote.customer.name, quote.valid_until, quote.owner)


@router.action(QuoteApprovalAction)
async def quote_pressed(ctx: Context, data: QuoteApprovalAction) -> None:
    """A press on a quote approval card; checked again on every press (the first decision wins)."""
    reason = ctx.inbound.text.strip() if hasattr(ctx.inbound, "text") else ""
    await decide(ctx, None, data.quote_id, data.decision == "ok", reason or None)


@router.command(qt.DEAL, aliases=("deal", "win"), roles={Role.SALES}, parse=parsers.DEAL, **qt.help_of(qt.DEAL))
async def deal_cmd(ctx: Context, cmd: CommandText, parsed: qargs.DealArgs) -> None:
    async with ctx.uow() as uow:
        quote = await load_quote(uow, parsed.quote_no)
        edits = tuple(svc.LineEdit(_quoted_sku(quote, c.product), c.qty, c.unit_price)
                      for c in parsed.changes.lines)
        origin = Origin(ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        with refusing():
            order, events = await svc.convert(uow, quote, ctx.prov, edits, parsed.changes.due_date, origin,
                                              ctx.rules, ctx.today(), ctx.now())
        for field in ("note", "payment_terms", "address", "contact"):
            value = getattr(parsed.changes, field)
            if value is not None:
                setattr(order, field, value)
        await dispatch_events(ctx, uow, order, events)
        ctx.reply(qt.deal_done(quote.no, ot.created(order, None, (), ctx.today(), submitted(events))))


def _quoted_sku(quote: Quote, product: str) -> str:
    """The quoted line a change names (SKU or name, exact, then unique containment)."""
    exact = [ln.sku for ln in quote.lines if ln.sku.lower() == product.lower() or ln.name == product]
    if len(exact) == 1:
        return exact[0]
    contains = [ln.sku for ln in quote.lines if product.lower() in ln.sku.lower() or (ln.name and product in ln.name)]
    return contains[0] if len(contains) == 1 else product


async def withdraw(ctx: Context, no: int, reason: str) -> None:
    """/作废 Q12 [原因] (the /作废 command hands quote numbers here)."""
    async with ctx.uow() as uow:
        quote = await load_quote(uow, no)
        with refusing():
            events = await svc.withdraw(uow, quote, ctx.prov, reason or None, ctx.now())
        await quote_events(ctx, uow, quote, events)
        ctx.reply(qt.quote_withdrawn(quote.no))


# ---- notifications ------------------------------------------------------------------------------
async def quote_events(ctx: Context, uow: UnitOfWork, quote: Quote, events: list[ev.DomainEvent]) -> None:
    """Approval cards to every 主管, card updates after a decision, and the owner told 1:1."""
    for event in events:
        if isinstance(event, ev.QuoteApprovalNeeded):
            await _approval_cards(ctx, uow, quote)
        elif isinstance(event, ev.QuoteDecided) or (
                isinstance(event, ev.QuoteWithdrawn) and event.was == "PENDING_APPROVAL"):
            await _close_cards(ctx, uow, quote, isinstance(event, ev.QuoteApproved))
        if isinstance(event, ev.QuoteDecided) and quote.owner_id != ctx.person.id:
            owner = quote.owner
            text = qt.quote_decided_notice(quote.no, isinstance(event, ev.QuoteApproved), ctx.person.name,
                                           event.comment)
            ctx.send(owner.platform, owner.user_id, "single", Message.plain(text),
                     event_key=f"{event.kind}:Q{quote.no}:{ctx.inbound.event_id}")


def sheet_due(ctx: Context, quote: Quote, events: list[ev.DomainEvent]) -> bool:
    """Whether the quote just became sendable, so its sheet link goes to the owner."""
    return ctx.dispatcher.quote_link is not None and quote.status == QuoteStatus.OPEN and any(
        isinstance(e, ev.QuoteCreated | ev.QuoteApproved) for e in events)


async def send_sheet(ctx: Context, no: int, customer: str, valid_until: date, owner: Person) -> None:
    """The quotation sheet's signed link, privately to the owner (after the commit: making a link may
    write the generated link key, which must not wait on the command's own write transaction)."""
    make = ctx.dispatcher.quote_link
    if make is None:
        return
    url, _ = await make(no, valid_until)
    # the link opens the prices without a login: it goes to the salesperson alone, who forwards it
    ctx.send(owner.platform, owner.user_id, "single", Message.plain(qt.sheet_private(no, customer, url)),
             event_key=f"qsheet:{no}")


async def _approval_cards(ctx: Context, uow: UnitOfWork, quote: Quote) -> None:
    title, body = qt.approval_title(quote), qt.approval_body(quote)
    card = Card(title=title, body=body, buttons=(
        Button(qt.APPROVE_LABEL, QuoteApprovalAction(quote.id, "ok").pack(), "primary"),
        Button(qt.REJECT_LABEL, QuoteApprovalAction(quote.id, "no").pack(), "danger")))
    message = Message(kind="card", text=qt.approval_plain(title, body, quote.no), card=card,
                      card_key=card_key(quote.id))
    approvers = [p for p in await people.holders_of(uow, Role.MANAGER) if p.id != quote.owner_id]
    for person in approvers:
        ctx.send(person.platform, person.user_id, "single", message, event_key=f"qcard:{quote.id}")
    if not approvers:
        ctx.reply(qt.no_approver(quote.no))


async def _close_cards(ctx: Context, uow: UnitOfWork, quote: Quote, approve: bool) -> None:
    title, body = qt.decided_card(quote, ctx.person.name or ctx.person.user_id, approve)
    closed = Message(kind="card", text=f"{title}\n{body}", card=Card(title=title, body=body, closed=True),
                     card_key=card_key(quote.id))
    for platform, chat_id, chat_type in await uow.activity.card_chats(card_key(quote.id)):
        ctx.update_cards(platform, chat_id, chat_type, closed)
