"""Approval decisions: card presses (通过 / 驳回), the /审批 text fallback, and the reject-reason prompt."""

from __future__ import annotations

from datetime import timedelta

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
from storage import domain_events as ev
from storage.db import UnitOfWork
from storage.services import approvals, decisions
from storage.vocab import ApprovalStatus, Role

router = Router("approvals")


async def _decide(ctx: Context, no: int | None, approval_id: int | None, approve: bool,
                  comment: str | None) -> None:
    async with ctx.uow() as uow:
        if approval_id is not None:
            # Lock the order first, then read the step: a step read before the lock may be stale
            # (a concurrent press on another copy decided it while we waited).
            no_of_step = await uow.approvals.order_no_of_step(approval_id)
            if no_of_step is None:
                raise UserError(t.bad_action())
            order = await load_order(uow, no_of_step)
            step = await uow.approvals.step(approval_id)
            assert step is not None
        else:
            assert no is not None
            order = await load_order(uow, no)
            found = await approvals.pending_step(uow, order)
            if found is None:
                raise UserError(msg.no_pending_step(no, order.state))
            step = found
        with refusing(order.no):
            events = await decisions.decide(uow, order, step, ctx.prov, approve, comment, ctx.now())
        # any decision ends a pending "reply with the reason" question of this person
        await uow.approvals.drop_prompts(ctx.person.id)
        await _keep_clicked_copy(ctx, uow, step.id)
        lapsed = next((e for e in events if isinstance(e, ev.ChangeObsolete)), None)
        if lapsed is not None:
            ctx.reply(msg.change_lapsed(order.no, lapsed.why))
        else:
            waiting = next((e.role for e in events if isinstance(e, ev.ApprovalNeeded)), None)
            stand_in = any(isinstance(e, ev.StepDecided) and e.stand_in for e in events)
            ctx.reply(msg.decided(order.no, approve, comment, order.state, waiting, step.role if stand_in else None))
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
        step = await uow.approvals.step(data.approval_id, fresh=False)
        if step is None:
            raise UserError(t.bad_action())
        order = await uow.approvals.order_of(step)
        if step.status != ApprovalStatus.PENDING:
            raise UserError(t.refused("stale", {"state": order.state}, order.no))
        await _keep_clicked_copy(ctx, uow, step.id)
        await uow.approvals.ask_reason(ctx.person.id, ctx.chat.chat_id, step.id, ctx.now() + timedelta(minutes=10))
        ctx.reply(msg.ask_reject_reason(order.no))


async def _keep_clicked_copy(ctx: Context, uow: UnitOfWork, approval_id: int) -> None:
    """Keep the handle a press carries for the pressed copy: it is the newest one (a WeCom click
    brings a fresh single-use response_code), so the coming card update uses it."""
    inbound = ctx.inbound
    if not isinstance(inbound, CardAction) or not inbound.card_ref:
        return
    await uow.approvals.keep_card_ref(card_key(approval_id), ctx.chat.platform, ctx.chat.chat_id, inbound.card_ref)


@router.fallback
async def reason_answer(ctx: Context) -> bool:
    """Plain text from someone the bot asked for a reject reason."""
    async with ctx.uow() as uow:
        approval_id = await uow.approvals.take_reason_prompt(ctx.person.id, ctx.chat.chat_id, ctx.now())
    if approval_id is None:
        return False
    text = getattr(ctx.inbound, "text", "").strip()
    if not text:
        return False
    await _decide(ctx, None, approval_id, False, text)
    return True
