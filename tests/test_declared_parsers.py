"""Arguments parsed by the router from the grammar a command declares (``@router.command(…, parse=…)``)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.app import DISPATCHER
from bot.commands import ArgError, ArgParser, CommandText, ParseContext
from bot.context import Context
from bot.routing import Router
from tests.conftest import Bot

router = Router("test-parse")
seen: list[ParseContext] = []


def _echo(text: str, context: ParseContext) -> str:
    seen.append(context)
    if text == "坏":
        raise ArgError("看不懂「坏」")
    return text.upper()


@router.command("回声", usage="/回声 文字", example="/回声 ab", parse=ArgParser(_echo))
async def echo(ctx: Context, cmd: CommandText, parsed: str) -> None:
    ctx.reply(f"{parsed}|{cmd.args}")


@router.command("单位", parse=ArgParser(_echo, units=True))
async def units(ctx: Context, cmd: CommandText, parsed: str) -> None:
    ctx.reply(parsed)


@pytest.fixture
async def wired(team: Bot) -> Bot:
    team.app[DISPATCHER].include_routers(router)
    seen.clear()
    return team


async def test_the_handler_gets_the_parsed_value_and_the_context_what_it_declared(wired: Bot) -> None:
    assert await wired.text("u1", "/回声 ab") == "AB|ab"
    context = seen[-1]
    assert isinstance(context.now, datetime) and context.now.utcoffset() is not None
    assert context.today == context.now.date()
    assert "sales" in context.roles and context.units == ()  # units are read only when declared
    await wired.text("w1", "/入库 DOOR-1 3")
    async with wired.db.uow() as uow:
        door = await uow.catalog.add_product("WIN-1")
        door.unit = "樘"
    assert await wired.text("w1", "/单位 x") == "X"
    assert seen[-1].units == ("樘",) and "warehouse" in seen[-1].roles


async def test_arguments_not_understood_are_answered_with_the_usage_and_the_handler_never_runs(wired: Bot) -> None:
    reply = await wired.text("u1", "/回声 坏")
    assert reply.startswith("看不懂「坏」\n") and "/回声 文字" in reply and "/回声 ab" in reply, reply
    assert "坏|" not in reply and reply.endswith("（未做任何修改）")


async def test_a_mode_the_person_may_not_use_is_refused_for_the_role_not_the_wording(team: Bot) -> None:
    # not parsed for them: they hear the role it needs, as before the grammars moved to registration
    assert (await team.text("u1", "/采购 ？？？")).startswith("新建采购单需要「采购」角色")
    assert (await team.text("w1", "/报价 ？？？")).startswith("新建报价需要「销售」角色")
    assert (await team.text("w1", "/客户 新增")).startswith("只有销售或管理员可以新增客户。")
    # the modes everyone may use still parse for them
    assert (await team.text("w1", "/报价 Q1 驳回")).startswith("驳回需要写理由：/报价 Q1 驳回 理由\n")
    assert "新建采购单需要" not in await team.text("u1", "/采购 列表")
