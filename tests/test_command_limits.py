"""Per-person and per-chat command rate limits, and pasted floods: one friendly reply, nothing else changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import create_app
from bot.config import Settings
from storage.db import Database
from storage.models import Order
from tests.conftest import Bot, Clock, fingerprint, make_settings

PER_PERSON = Settings.model_fields["rate_person_per_minute"].default
PER_CHAT = Settings.model_fields["rate_chat_per_minute"].default
MAX_LINES = Settings.model_fields["command_max_lines"].default
ORDER = "/下单 华为 A100×2@300 交期12-15"


@pytest.fixture
async def shipped(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[Bot]:
    """The app with the limits it ships with."""
    url, kwargs = db_url
    app = create_app(make_settings(url, rate_person_per_minute=PER_PERSON, rate_chat_per_minute=PER_CHAT),
                     clock=clock, run_sender=False, db=Database(url, **kwargs))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Bot(client, app)
    finally:
        await client.close()


async def orders(bot: Bot) -> int:
    async with bot.db.uow() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Order))).scalar_one())


def test_shipped_defaults_are_sensible() -> None:
    assert 10 <= PER_PERSON <= 60 and PER_PERSON <= PER_CHAT <= 200 and 50 <= MAX_LINES <= 500


async def test_a_runaway_script_gets_one_friendly_reply_and_no_more_effects(shipped: Bot, clock: Clock) -> None:
    bot = shipped
    answered = [await bot.text("u1", ORDER, chat="u1") for _ in range(PER_PERSON)]
    assert all("#" in a for a in answered) and await orders(bot) == PER_PERSON
    before = await fingerprint(bot.db)
    refusal = await bot.text("u1", ORDER, chat="u1")
    assert refusal.startswith("你发得太快了") and f"每分钟最多 {PER_PERSON} 条" in refusal, refusal
    for _ in range(30):  # the script keeps going: silence, and nothing happens
        assert await bot.text("u1", ORDER, chat="u1") == ""
    assert await fingerprint(bot.db) == before
    # someone else is not held up
    assert "#" in await bot.text("u2", ORDER, chat="u2")
    clock.advance(seconds=61)  # a minute later the person is served again
    assert "#" in await bot.text("u1", ORDER, chat="u1")


async def test_a_busy_chat_is_limited_as_a_whole(shipped: Bot, clock: Clock) -> None:
    bot = shipped
    people = [f"p{i}" for i in range(PER_CHAT // PER_PERSON + 1)]
    sent = 0
    for person in people:
        for _ in range(PER_PERSON):
            if sent == PER_CHAT:
                break
            assert "可用命令" in await bot.text(person, "/帮助", chat="g1")
            sent += 1
    last = people[-1]
    refusal = await bot.text(last, "/帮助", chat="g1")
    assert refusal.startswith("这个群发得太快了") and f"每分钟最多 {PER_CHAT} 条" in refusal, refusal
    assert "可用命令" in await bot.text(last, "/帮助", chat=last)  # the same person elsewhere: served
    # group chatter not addressed to the bot is never counted nor answered
    assert await bot.text(last, "今天天气不错", chat="g1") == ""
    clock.advance(seconds=61)
    assert "可用命令" in await bot.text(last, "/帮助", chat="g1")


async def test_a_pasted_500_line_message_is_refused_unread(shipped: Bot) -> None:
    bot = shipped
    await bot.text("u1", "/帮助", chat="u1")
    before = await fingerprint(bot.db)
    pasted = "/下单 华为 A100×2@300 交期12-15\n" + "\n".join(f"{i}" for i in range(499))
    reply = await bot.text("u1", pasted, chat="u1")
    assert reply.startswith("这条消息有 500 行") and f"最多 {MAX_LINES} 行" in reply, reply
    assert await bot.text("u1", "\n".join("聊天" for _ in range(500)), chat="g1") == ""  # chatter: silence
    assert await fingerprint(bot.db) == before
    assert await orders(bot) == 0
