"""State changes with reasons, follow-ups, and the admin commands (/角色 /订阅 /绑定)."""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.dispatch import Router
from bot.errors import UserError
from handlers import args
from handlers.common import load_order
from handlers.flow import on_order
from handlers.texts import replies as t
from storage import lifecycle
from storage.models import FollowUp
from storage.services import people
from storage.services.base import audit
from storage.services.states import change_state
from storage.vocab import ROLE_LABELS, STATE_LABELS, Action, Role

router = Router("manage")

REASONED = (
    ("挂起", ("hold",), Action.HOLD, {Role.MANAGER}, True, "冻结：不能发货回款，提醒暂停"),
    ("恢复", ("resume",), Action.RESUME, {Role.MANAGER}, False, "恢复挂起的订单"),
    ("关闭", ("close",), Action.CLOSE, {Role.MANAGER}, True, "提前结束，剩余数量和余额核销"),
    ("作废", ("cancel",), Action.CANCEL, None, True, "作废（未发货、未回款时）"),
    ("重开", ("reopen",), Action.REOPEN, {Role.ADMIN}, True, "重开已关闭或已作废的订单"),
)


def _register_reasoned(name: str, aliases: tuple[str, ...], action: Action, roles: set[Role] | None,
                       needs_reason: bool, summary: str) -> None:
    usage = f"/{name} #单号" + (" 原因" if needs_reason else "")

    async def handler(ctx: Context, cmd: CommandText) -> None:
        try:
            no, reason = args.parse_reasoned(cmd.args)
        except args.ArgError as err:
            raise UserError(str(err)) from err
        if needs_reason and not reason:
            raise UserError(f"/{name} 需要写原因。")
        await on_order(ctx, no, lambda uow, o: change_state(uow, o, ctx.prov, action, reason, ctx.now()),
                       lambda o, ev: f"#{o.no} 已{name}，当前状态「{STATE_LABELS[o.state]}」。")

    router.command(name, aliases=aliases, roles=roles, usage=usage,
                   example=f"/{name} #12" + (" 客户要求" if needs_reason else ""), summary=summary)(handler)


for _spec in REASONED:
    _register_reasoned(*_spec)


@router.command("跟进", aliases=("note",), usage="/跟进 #单号 内容", example="/跟进 #12 客户确认下周付款",
                summary="记一条跟进记录")
async def follow_up(ctx: Context, cmd: CommandText) -> None:
    try:
        no, text = args.parse_reasoned(cmd.args)
    except args.ArgError as err:
        raise UserError(str(err)) from err
    if not text:
        raise UserError("跟进内容不能为空。")
    async with ctx.uow() as uow:
        order = await load_order(uow, no)
        try:
            lifecycle.check(order, Action.FOLLOW_UP, ctx.prov.actor)
        except lifecycle.Refused as exc:
            raise UserError(t.refused(exc.code, exc.params, no)) from exc
        uow.session.add(FollowUp(order_id=order.id, author_id=ctx.person.id, text=text, created_at=ctx.now()))
        audit(uow, ctx.prov, "follow_up", order, ctx.now(), summary=f"跟进：{text}")
        ctx.reply(f"#{no} 已记录跟进：{text}")


@router.command("角色", aliases=("role", "roles"), roles={Role.ADMIN}, usage="/角色 用户 角色…（设为这些角色；+角色 增加，-角色 取消）",
                example="/角色 @王经理 主管", summary="授予或取消角色")
async def set_roles(ctx: Context, cmd: CommandText) -> None:
    try:
        ref, grant, revoke = args.parse_roles(cmd.args)
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        found = await people.find_people(uow, ref, ctx.person.platform)
        if not found:
            raise UserError(f"找不到用户「{ref}」：对方需要先在群里和我说过话（任意命令即可）。")
        if len(found) > 1:
            raise UserError(f"「{ref}」对应多人：{'、'.join(p.platform + ':' + p.user_id for p in found)}，请写 ID。")
        person = found[0]
        # "/角色 老陈 仓库" sets exactly these roles; "+角色" / "-角色" change one at a time
        if not revoke and "+" not in cmd.args:
            revoke = tuple(person.role_names - set(grant))
        before, after = await people.set_roles(uow, person, grant, revoke, ctx.person.id)
        audit(uow, ctx.prov, "roles", None, ctx.now(), summary=f"{person.label} 角色",
              before={"user": person.user_id, "roles": sorted(before)},
              after={"user": person.user_id, "roles": sorted(after)})
        ctx.reply(f"{person.label} 的角色：{t.roles_text(after)}")


@router.command("订阅", aliases=("subscribe",), roles={Role.ADMIN}, usage="/订阅 事件…",
                example="/订阅 新订单 发货 回款", summary="本群接收哪些通知")
async def subscribe(ctx: Context, cmd: CommandText) -> None:
    await _subscriptions(ctx, cmd, add=True)


@router.command("退订", aliases=("unsubscribe",), roles={Role.ADMIN}, usage="/退订 事件…",
                example="/退订 生产", summary="取消本群的通知")
async def unsubscribe(ctx: Context, cmd: CommandText) -> None:
    await _subscriptions(ctx, cmd, add=False)


async def _subscriptions(ctx: Context, cmd: CommandText, add: bool) -> None:
    from storage.models import ChatSubscription

    try:
        topics = args.parse_topics(cmd.args)
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        chat = await people.chat_for(uow, ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        before = sorted(chat.topics)
        if add:
            for topic in topics:
                if topic not in chat.topics:
                    chat.subscriptions.append(ChatSubscription(topic=topic))
        else:
            chat.subscriptions = [s for s in chat.subscriptions if s.topic not in topics]
        after = sorted({s.topic for s in chat.subscriptions})
        audit(uow, ctx.prov, "subscriptions", None, ctx.now(), before={"topics": before}, after={"topics": after})
        ctx.reply(f"本群订阅的通知：{'、'.join(after) if after else '无'}")


@router.command("绑定", aliases=("bind",), roles={Role.ADMIN}, usage="/绑定 <机器人webhook地址> [SEC加签密钥]",
                example="/绑定 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
                summary="绑定本群的推送机器人")
async def bind(ctx: Context, cmd: CommandText) -> None:
    try:
        url, secret = args.parse_bind(cmd.args)
    except args.ArgError as err:
        raise UserError(str(err)) from err
    async with ctx.uow() as uow:
        chat = await people.chat_for(uow, ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        chat.webhook_url = url
        chat.webhook_secret = secret
        audit(uow, ctx.prov, "bind", None, ctx.now(), after={"webhook": mask(url), "secret": bool(secret)})
        ctx.reply(f"已绑定本群推送机器人：{mask(url)}" + ("（含加签密钥）" if secret else ""))


@router.command("解绑", aliases=("unbind",), roles={Role.ADMIN}, usage="/解绑", example="/解绑",
                summary="解除本群的推送机器人")
async def unbind(ctx: Context, cmd: CommandText) -> None:
    async with ctx.uow() as uow:
        chat = await people.chat_for(uow, ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        chat.webhook_url = None
        chat.webhook_secret = None
        audit(uow, ctx.prov, "unbind", None, ctx.now())
        ctx.reply("已解除本群的推送机器人。")


def mask(url: str) -> str:
    """Show a webhook with its key masked: …key=abcd****wxyz."""
    for marker in ("key=", "access_token="):
        if marker in url:
            head, key = url.split(marker, 1)
            shown = key[:4] + "****" + key[-4:] if len(key) > 10 else "****"
            return f"{head}{marker}{shown}"
    return url[:24] + "****"


