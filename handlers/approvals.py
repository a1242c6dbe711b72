"""Approval decisions: card presses (通过 / 驳回), the /审批 text fallback, and the reject-reason prompt."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from bot.commands import CommandText
from bot.context import Context
from bot.errors import InputError, UserError
from bot.events import CardAction
from bot.routing import Router
from handlers import args
from handlers.cards import ApprovalAction, card_key
from handlers.common import load_order, refusing
from handlers.notify import dispatch_events
from handlers.texts import command_replies as msg
from handlers.texts import shared_replies as t
from handlers.texts.help import of as help_of
from storage.db import UnitOfWork
from storage.models import Approval, Order, Prompt, SentCard
from storage.services import approvals as svc
from storage.vocab import Role

router = Router("approvals")
REASON_PROMPT = "reject_reason"


async def _decide(ctx: Context, no: int | None, approval_id: int | None, approve: bool,
                  comment: str | None) -> None:
    async with ctx.uow() as uow:
        if approval_id is not None:
            # Lock the order first, then read the step: a step read before the lock may be stale
            # (a concurrent press on another copy decided it while we waited).
            no_of_step = (await uow.session.execute(
                select(Order.no).join(Approval, Approval.order_id == Order.id).where(Approval.id == approval_id)
            )).scalar_one_or_none()
            if no_of_step is None:
                raise UserError(t.bad_action())
            order = await load_order(uow, no_of_step)
            step = await svc.approval_by_id(uow, approval_id)
            assert step is not None
        else:
            assert no is not None
            order = await load_order(uow, no)
            found = await svc.pending_step(uow, order)
            if found is None:
                raise UserError(msg.no_pending_step(no, order.state))
            step = found
        with refusing(order.no):
            events = await svc.decide(uow, order, step, ctx.prov, approve, comment, ctx.now())
        # any decision ends a pending "reply with the reason" question of this person
        await uow.session.execute(delete(Prompt).where(Prompt.person_id == ctx.person.id))
        await _keep_clicked_copy(ctx, uow, step.id)
        lapsed = next((e for e in events if e.kind == "change_obsolete"), None)
        if lapsed is not None:
            ctx.reply(msg.change_lapsed(order.no, str(lapsed.data["why"])))
        else:
            waiting = next((e.data["role"] for e in events if e.kind == "approval_needed"), None)
            ctx.reply(msg.decided(order.no, approve, comment, order.state, waiting,
                                  step.role if any(e.data.get("stand_in") for e in events) else None))
        # after the reply: a warning that the next step has nobody reads as its follow-up
        await dispatch_events(ctx, uow, order, events)


@router.command("审批", aliases=("approve",), roles={Role.MANAGER, Role.BOSS, Role.ADMIN}, **help_of("审批"))
async def approve_cmd(ctx: Context, cmd: CommandText) -> None:
    try:
        no, approve, reason = args.parse_approval(cmd.args)
    except args.ArgError as err:
        raise InputError(str(err)) from err
    if not approve and not reason:
        raise InputError(msg.reject_needs_reason(no))
    await _decide(ctx, no, None, approve, reason)


@router.action(ApprovalAction)
async def approval_pressed(ctx: Context, data: ApprovalAction) -> None:
    """A press on an approval card; the state and role are checked again on every press."""
    if data.decision == "ok":
        await _decide(ctx, None, data.approval_id, True, None)
        return
    reason = ctx.inbound.text.strip() if hasattr(ctx.inbound, "text") else ""
    if reason:
        await _decide(ctx, None, data.approval_id, False, reason)
        return
    # Ask for the reason; the next plain message in this chat answers it.
    async with ctx.uow() as uow:
        step = await uow.session.get(Approval, data.approval_id)
        if step is None:
            raise UserError(t.bad_action())
        order = await uow.session.get_one(Order, step.order_id)
        if step.status != "PENDING":
            raise UserError(t.refused("stale", {"state": order.state}, order.no))
        await _keep_clicked_copy(ctx, uow, step.id)
        await uow.session.execute(delete(Prompt).where(Prompt.person_id == ctx.person.id,
                                                       Prompt.chat_id == ctx.chat.chat_id))
        uow.session.add(Prompt(person_id=ctx.person.id, chat_id=ctx.chat.chat_id, kind=REASON_PROMPT,
                               data={"approval_id": step.id}, expires_at=ctx.now() + timedelta(minutes=10)))
        ctx.reply(msg.ask_reject_reason(order.no))


async def _keep_clicked_copy(ctx: Context, uow: UnitOfWork, approval_id: int) -> None:
    """Keep the handle a press carries for the pressed copy: it is the newest one (a WeCom click
    brings a fresh single-use response_code), so the coming card update uses it."""
    inbound = ctx.inbound
    if not isinstance(inbound, CardAction) or not inbound.card_ref:
        return
    await uow.session.execute(
        update(SentCard)
        .where(SentCard.card_key == card_key(approval_id), SentCard.platform == ctx.chat.platform,
               SentCard.chat_id == ctx.chat.chat_id)
        .values(ref=dict(inbound.card_ref)))


@router.fallback
async def reason_answer(ctx: Context) -> bool:
    """Plain text from someone the bot asked for a reject reason."""
    async with ctx.uow() as uow:
        prompt = (await uow.session.execute(select(Prompt).where(
            Prompt.person_id == ctx.person.id, Prompt.chat_id == ctx.chat.chat_id))).scalar_one_or_none()
        if prompt is None:
            return False
        await uow.session.delete(prompt)
        if prompt.expires_at < ctx.now() or prompt.kind != REASON_PROMPT:
            return False
    text = getattr(ctx.inbound, "text", "").strip()
    if not text:
        return False
    await _decide(ctx, None, int(prompt.data["approval_id"]), False, text)
    return True
