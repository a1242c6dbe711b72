"""Issue 14, item 6: an unknown command offers the nearest commands; /查单 with a name offers /订单."""

from __future__ import annotations

import pytest

from handlers.texts.suggest import distance, suggestions
from tests.conftest import Bot, assert_unchanged, fingerprint

HELP = "发送 /帮助 查看全部命令。"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        # the messages from the issue
        ("/我的", "没有「/我的」这个命令。你是不是要发：/订单 我的\n" + HELP),
        ("/下担", "没有「/下担」这个命令。你是不是要发：/下单\n" + HELP),
        ("/催办", "没有「/催办」这个命令。你是不是要发：/提醒 或 /跟进\n" + HELP),
        # the person's own arguments are kept in the offer
        ("/下担 华为 A100×20@300 交期12-15",
         "没有「/下担」这个命令。你是不是要发：/下单 华为 A100×20@300 交期12-15\n" + HELP),
        ("/催款 #3", "没有「/催款」这个命令。你是不是要发：/提醒 #3 或 /跟进 #3 或 /回款 #3\n" + HELP),
        ("/出货 #2", "没有「/出货」这个命令。你是不是要发：/发货 #2 或 /到货 #2\n" + HELP),  # the word first
        ("/逾期", "没有「/逾期」这个命令。你是不是要发：/订单 逾期\n" + HELP),
        # ASCII aliases, misspelt
        ("/stokc", "没有「/stokc」这个命令。你是不是要发：/库存\n" + HELP),
        ("/hlep", "没有「/hlep」这个命令。你是不是要发：/帮助\n" + HELP),
        # nothing near: no guess
        ("/天气", "没有「/天气」这个命令。" + HELP),
        ("/abcdefgh", "没有「/abcdefgh」这个命令。" + HELP),
    ],
)
async def test_unknown_command_offers_the_nearest(team: Bot, text: str, reply: str) -> None:
    before = await fingerprint(team.db)
    assert await team.text("u1", text) == reply
    await assert_unchanged(team.db, before, text)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("/查单 华为", "/查单 要写单号，如 #12。按客户或条件找订单请发：/订单 华为\n正确格式：/查单 #单号\n"
                     "例如：/查单 #12\n（未做任何修改）"),
        ("/查单 我的", "/查单 要写单号，如 #12。按客户或条件找订单请发：/订单 我的\n正确格式：/查单 #单号\n"
                     "例如：/查单 #12\n（未做任何修改）"),
    ],
)
async def test_query_by_name_offers_the_list(team: Bot, text: str, reply: str) -> None:
    assert "已自动确认" in await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    before = await fingerprint(team.db)
    assert await team.text("u1", text) == reply
    await assert_unchanged(team.db, before, text)
    # and the offered command does what it says
    assert "#1" in await team.text("u1", reply.split("请发：", 1)[1].split("\n", 1)[0])


async def test_help_for_an_unknown_command_offers_the_nearest(team: Bot) -> None:
    reply = await team.text("u1", "/帮助 下担")
    assert reply.startswith("没有「/下担」这个命令。你是不是要发：/下单\n"), reply


def test_distance() -> None:
    assert distance("下担", "下单") == 1
    assert distance("stokc", "stock") == 1
    assert distance("kitten", "sitting") == 3
    assert distance("", "abc") == 3
    assert distance("ABC", "abc") == 0


def test_synonyms_only_offer_commands_that_exist() -> None:
    class Spec:
        def __init__(self, name: str, aliases: tuple[str, ...] = ()) -> None:
            self.name, self.aliases = name, aliases

    assert suggestions("催办", "", [Spec("跟进")]) == ["/跟进"]
    assert suggestions("催办", "", []) == []
    assert suggestions("下担", "", [Spec("下单"), Spec("下载")]) == ["/下单", "/下载"]
