"""The README's five-minute tour, read from the README and played through the local adapter, every
`say` and card press in order: the commands it shows must do what its comments say."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from storage.db import Database
from tests.conftest import Bot, Clock, make_settings

README = Path(__file__).resolve().parents[1] / "README.md"
SAY = re.compile(r"^say (\S+) (\S+) (\S+) '(.*)'")
ACTION = re.compile(r"-d '(\{.*\})'")


def tour_steps() -> list[tuple[str, Any]]:
    """("say", (user, name, chat, text)) and ("press", payload) in the order the tour gives them."""
    text = README.read_text(encoding="utf-8").split("## Five-minute tour", 1)[1].split("\n## ", 1)[0]
    steps: list[tuple[str, Any]] = []
    for line in text.splitlines():
        if m := SAY.match(line):
            steps.append(("say", m.groups()))
        elif m := ACTION.search(line):
            steps.append(("press", json.loads(m[1])))
    return steps


@pytest.fixture
async def tour_bot(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[Bot]:
    url, kwargs = db_url
    app = create_app(make_settings(url, admins="local:boss"), clock=clock, run_sender=False,
                     db=Database(url, **kwargs))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Bot(client, app)
    finally:
        await client.close()


async def test_the_tour_does_what_it_says(tour_bot: Bot) -> None:
    steps = tour_steps()
    assert len(steps) > 25
    replies: dict[str, str] = {}
    for kind, step in steps:
        if kind == "say":
            user, name, chat, text = step
            reply = await tour_bot.text(user, text, chat=chat, name=name)
            replies[text] = reply
        else:
            reply = await tour_bot.press(step["user"], step["action"], chat=step["chat"])
            replies[step["action"]] = reply
            assert "已通过" in reply, (step, reply)
        assert reply and "未做任何修改" not in reply and "没有权限" not in reply, (step, reply)
    # the order's part: what the README's comments promise
    assert replies["ap:1:ok"].startswith("#1 已通过"), replies
    assert replies["/查单 #1"].startswith("#1 已完成 | 已发 100% · 已收 100% · 交期 12-15"), replies["/查单 #1"]
    # the products were created first, so the shipments moved their stock
    assert replies["/库存"] == "A100：80\nB200：5", replies["/库存"]
    assert "/board?t=" in "".join(m["text"] for m in await tour_bot.sent("u1")), "the /看板 link, 1:1"
    # before and behind the order: the quotation converted, the shortage purchased and received
    assert replies["/报价 小米 A100×100@580 有效期10天"].startswith("Q1 小米 ¥58,000｜有效期至 12-07")
    assert "#2" in replies["/成交 Q1 交期12-20"] and "已提交审批" in replies["/成交 Q1 交期12-20"]
    assert any(m["text"].startswith("📄 Q1") for m in await tour_bot.sent("u1"))
    assert any("A100 缺 20（#2）" in m["text"] for m in await tour_bot.sent("c1"))
    assert "还差 5" in replies["/到货 P1 15"] and "#2 还缺 5" in replies["/到货 P1 15"]
    assert "可以发货的订单：#2" in replies["/到货 P1"]
    assert any("#2 等的 A100 到了一部分" in m["text"] and "还缺 5" in m["text"] for m in await tour_bot.sent("u1"))
    assert any("#2 等的 A100 已到货" in m["text"] for m in await tour_bot.sent("u1"))
    assert "A100：100｜预留 100｜在途 0｜可用 0" in replies["/库存 A100"]
