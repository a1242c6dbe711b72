"""Issue 14: the README's five-minute tour, run as written (every `say` and the card press, in order)."""

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
STEP = re.compile(r"^say (\S+) (\S+) (\S+) '([^']*)'|/local/action.*?-d '(\{[^']*\})'", re.M | re.S)


def tour() -> list[tuple[str, Any]]:
    """The tour's steps: ("say", (user, name, chat, text)) and ("press", {user, chat, action})."""
    text = README.read_text(encoding="utf-8").split("## Five-minute tour", 1)[1].split("\n## ", 1)[0]
    steps: list[tuple[str, Any]] = []
    for m in STEP.finditer(text):
        if m[1]:
            steps.append(("say", (m[1], m[2], m[3], m[4])))
        else:
            steps.append(("press", json.loads(m[5])))
    return steps


@pytest.fixture
async def boss_bot(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[Bot]:
    url, kwargs = db_url
    # as the tour starts it: GENDAN_ADMINS=local:boss
    app = create_app(make_settings(url, admins="local:boss"), clock=clock, run_sender=False,
                     db=Database(url, **kwargs))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Bot(client, app)
    finally:
        await client.close()


async def test_the_readme_tour_works_as_written(boss_bot: Bot) -> None:
    steps = tour()
    assert len(steps) >= 18, steps
    replies: dict[str, str] = {}
    for kind, step in steps:
        if kind == "say":
            user, name, chat, text = step
            reply = await boss_bot.text(user, text, chat=chat, name=name)
            replies[text] = reply
        else:
            reply = await boss_bot.press(step["user"], step["action"], chat=step["chat"])
            replies[step["action"]] = reply
        assert reply and "未做任何修改" not in reply and "没有权限" not in reply, (step, reply)
    assert replies["ap:1:ok"].startswith("#1 已通过"), replies
    # what the README's comments promise
    assert replies["/查单 #1"].startswith("#1 已完成 | 已发 100% · 已收 100% · 交期 12-15"), replies["/查单 #1"]
    # the products were created first, so the shipments moved their stock
    assert replies["/库存"] == "A100：80\nB200：5", replies["/库存"]
    assert "/board?t=" in "".join(m["text"] for m in await boss_bot.sent("u1")), "the /看板 link, 1:1"
