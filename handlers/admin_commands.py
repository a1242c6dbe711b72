"""The admin commands: roles (/角色), a group's notices (/订阅 /退订) and its push robot (/绑定 /解绑)."""

from __future__ import annotations

from bot.commands import CommandText
from bot.context import Context
from bot.errors import UserError
from bot.routing import Router
from handlers.args import command_parsers as parsers
from handlers.texts import command_replies as msg
from handlers.texts.help import of as help_of
from storage.services import people
from storage.services.base import audit
from storage.vocab import Role

router = Router("admin")


@router.command("角色", aliases=("role", "roles"), roles={Role.ADMIN}, parse=parsers.ROLES, **help_of("角色"))
async def set_roles(ctx: Context, cmd: CommandText, parsed: tuple[str, tuple[str, ...], tuple[str, ...]]) -> None:
    ref, grant, revoke = parsed
    async with ctx.uow() as uow:
        found = await people.find_people(uow, ref, ctx.person.platform)
        if not found and people.is_qualified_id(ref):
            # "platform:user_id" names someone exactly: register them now (they have not spoken yet)
            platform, user_id = ref.lstrip("@").split(":", 1)
            found = [await people.register(uow, platform, user_id, "", tenant=platform)]
        if not found:
            raise UserError(msg.user_unknown(ref))
        if len(found) > 1:
            raise UserError(msg.user_ambiguous(ref, (f"{p.platform}:{p.user_id}" for p in found)))
        person = found[0]
        # "/角色 老陈 仓库" sets exactly these roles; "+角色" / "-角色" change one at a time
        if not revoke and "+" not in cmd.args:
            revoke = tuple(person.role_names - set(grant))
        if Role.ADMIN in revoke and Role.ADMIN in person.role_names and \
                [p.id for p in await people.holders_of(uow, Role.ADMIN)] == [person.id]:
            raise UserError(msg.last_admin())
        before, after = await people.set_roles(uow, person, grant, revoke, ctx.person.id)
        audit(uow, ctx.prov, "roles", None, ctx.now(), summary=person.label,
              before={"user": person.user_id, "roles": sorted(before)},
              after={"user": person.user_id, "roles": sorted(after)})
        ctx.reply(msg.roles_now(person.label, after))


@router.command("订阅", aliases=("subscribe",), roles={Role.ADMIN}, parse=parsers.TOPICS, **help_of("订阅"))
async def subscribe(ctx: Context, cmd: CommandText, topics: tuple[str, ...]) -> None:
    await _subscriptions(ctx, topics, add=True)


@router.command("退订", aliases=("unsubscribe",), roles={Role.ADMIN}, parse=parsers.TOPICS, **help_of("退订"))
async def unsubscribe(ctx: Context, cmd: CommandText, topics: tuple[str, ...]) -> None:
    await _subscriptions(ctx, topics, add=False)


async def _subscriptions(ctx: Context, topics: tuple[str, ...], add: bool) -> None:
    async with ctx.uow() as uow:
        chat = await people.chat_for(uow, ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        before = sorted(chat.topics)
        after = uow.people.subscribe(chat, topics) if add else uow.people.unsubscribe(chat, topics)
        audit(uow, ctx.prov, "subscriptions", None, ctx.now(), before={"topics": before}, after={"topics": after})
        ctx.reply(msg.subscriptions(after))


@router.command("绑定", aliases=("bind",), roles={Role.ADMIN}, parse=parsers.BIND, **help_of("绑定"))
async def bind(ctx: Context, cmd: CommandText, parsed: tuple[str, str | None]) -> None:
    url, secret = parsed
    async with ctx.uow() as uow:
        chat = await people.chat_for(uow, ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        chat.webhook_url = url
        chat.webhook_secret = secret
        audit(uow, ctx.prov, "bind", None, ctx.now(), after={"webhook": mask(url), "secret": bool(secret)})
        ctx.reply(msg.bound(mask(url), bool(secret)))


@router.command("解绑", aliases=("unbind",), roles={Role.ADMIN}, **help_of("解绑"))
async def unbind(ctx: Context, cmd: CommandText) -> None:
    async with ctx.uow() as uow:
        chat = await people.chat_for(uow, ctx.chat.platform, ctx.chat.chat_id, ctx.chat.chat_type)
        chat.webhook_url = None
        chat.webhook_secret = None
        audit(uow, ctx.prov, "unbind", None, ctx.now())
        ctx.reply(msg.unbound())


def mask(url: str) -> str:
    """Show a webhook with its key masked: …key=abcd****wxyz."""
    for marker in ("key=", "access_token="):
        if marker in url:
            head, key = url.split(marker, 1)
            shown = key[:4] + "****" + key[-4:] if len(key) > 10 else "****"
            return f"{head}{marker}{shown}"
    return url[:24] + "****"
