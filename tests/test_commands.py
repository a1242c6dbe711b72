"""Command recognition: normalisation, @mentions and the command word (bot/commands.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import CommandText, normalize, parse_command, strip_mentions

NAMES = (
    "下单",
    "开单",
    "新订单",
    "help",
    "?",
    "帮助",
    "发货",
    "补充",
    "查单",
    "查询",
    "订单",
    "回款",
    "提醒",
)
BOTS = ("跟单助手", "Gendan Bot")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("／下单 华为 Ａ１００×２０＠３００", "/下单 华为 A100×20@300"),
        ("＃１２", "#12"),
        ("交期：１２－１５", "交期:12-15"),
        ("（备注）", "(备注)"),
        ("￥２００００", "¥20000"),
        ("单价　300", "单价 300"),  # ideographic space
        ("A100\u00a0×\u2005 20", "A100 × 20"),  # no-break space, four-per-em space (WeCom mentions)
        ("  /下单   华为  ", "/下单 华为"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("line1\n\n\n  line2  ", "line1\nline2"),
        ("华为，A100", "华为，A100"),  # the Chinese comma is kept: a separator, never a decimal mark
        ("A100×20", "A100×20"),  # the multiplication sign is kept
        ("A100✕20", "A100×20"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("tab\there", "tab here"),
        ("１．５万", "1.5万"),
        ("ＳＦ１２３４５６", "SF123456"),
        ("？", "?"),
        ("Ｔ３ 已解决", "T3 已解决"),
        ("", ""),
        ("\n\n", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@given(st.text())
@settings(max_examples=300)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("/下单 华为 A100×20@300", "下单", "华为 A100×20@300"),
        ("／下单 华为 Ａ１００×２０＠３００", "下单", "华为 A100×20@300"),
        ("/下单华为 A100×20", "下单", "华为 A100×20"),
        ("/发货#12", "发货", "#12"),
        ("/发货 ＃12 顺丰", "发货", "#12 顺丰"),
        ("@跟单助手 /下单 华为", "下单", "华为"),
        ("@跟单助手\u2005/下单 华为", "下单", "华为"),
        ("@跟单助手/查单 #12", "查单", "#12"),
        ("@Gendan Bot /help", "help", ""),
        ("@张三 @跟单助手 /查单 #3", "查单", "#3"),
        ("/help", "help", ""),
        ("/HELP 下单", "help", "下单"),
        ("/Help", "help", ""),
        ("/?", "?", ""),
        ("/？", "?", ""),
        ("/帮助 #12", "帮助", "#12"),
        ("/ 下单 华为", "下单", "华为"),
        ("/下单：华为", "下单", "华为"),
        ("/开单 华为", "开单", "华为"),
        ("/新订单 华为", "新订单", "华为"),
        ("/订单 我的", "订单", "我的"),
        ("/下单 华为技术\nA100 20台\n交期 下周五", "下单", "华为技术\nA100 20台\n交期 下周五"),
        ("/下单\n华为\nA100×2", "下单", "华为\nA100×2"),
        ("  /回款   #12   2万  ", "回款", "#12 2万"),
        ("/未知命令 1 2", "未知命令", "1 2"),
        ("/helpme", "helpme", ""),
        ("/helper 1", "helper", "1"),
        ("/查单#12", "查单", "#12"),
    ],
)
def test_parse_command(text: str, name: str, args: str) -> None:
    cmd = parse_command(text, NAMES, BOTS)
    assert cmd == CommandText(name=name, args=args, raw=text)


@pytest.mark.parametrize(
    "text",
    ["", "下单 华为", "hello /help", "@跟单助手 你好", "@跟单助手", "/", "/ ", "／", "#12", "请 /下单"],
)
def test_not_a_command(text: str) -> None:
    assert parse_command(text, NAMES, BOTS) is None


def test_longest_name_wins() -> None:
    assert parse_command("/订单查询 x", ("订单", "订单查询")) == CommandText("订单查询", "x", "/订单查询 x")


def test_unknown_when_no_names() -> None:
    assert parse_command("/发货#12", ()) == CommandText("发货#12", "", "/发货#12")


@pytest.mark.parametrize(
    ("text", "bots", "rest", "mentioned"),
    [
        ("@跟单助手 /下单", BOTS, "/下单", True),
        ("@gendan bot 你好", BOTS, "你好", True),
        ("@张三 看一下", BOTS, "看一下", False),
        ("@张三 看一下", (), "看一下", True),
        ("@张三 @跟单助手 在吗", BOTS, "在吗", True),
        ("没有提到", BOTS, "没有提到", False),
        ("@跟单助手助理 hi", BOTS, "hi", False),
        ("＠跟单助手　/帮助", BOTS, "/帮助", True),
    ],
)
def test_strip_mentions(text: str, bots: tuple[str, ...], rest: str, mentioned: bool) -> None:
    assert strip_mentions(text, bots) == (rest, mentioned)


@given(st.text(), st.lists(st.text(max_size=6), max_size=5), st.lists(st.text(max_size=6), max_size=3))
@settings(max_examples=300)
def test_parse_command_never_raises(text: str, names: list[str], bots: list[str]) -> None:
    cmd = parse_command(text, names, bots)
    if cmd is not None:
        assert cmd.raw == text
        assert cmd.name
        assert normalize(cmd.args) == cmd.args


@given(st.text(alphabet="/／@＠ 跟单助手下单help?？#＃12\n\u3000\u2005", max_size=20))
@settings(max_examples=300)
def test_parse_command_never_raises_on_command_like_text(text: str) -> None:
    parse_command(text, NAMES, BOTS)
