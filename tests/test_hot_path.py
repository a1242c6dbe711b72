"""The inbound path's cost in transactions, and the identity cache's correctness."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from storage.db import READ_ONLY
from tests.conftest import Bot


@contextmanager
def counting_transactions(bot: Bot) -> Iterator[dict[str, int]]:
    """Counts transactions begun on the app's engine (both databases fire ``begin``), writers apart, and
    those of ``Database.read``'s reader threads (SQLite), which are readers by construction."""
    seen = {"begin": 0, "write": 0}

    def on_begin(conn: Any) -> None:
        seen["begin"] += 1
        if not conn.get_execution_options().get(READ_ONLY):
            seen["write"] += 1

    def on_thread_begin(_conn: Any) -> None:
        seen["begin"] += 1

    engine, threads = bot.db.engine.sync_engine, bot.db.read.thread_engine
    event.listen(engine, "begin", on_begin)
    if threads is not None:
        event.listen(threads, "begin", on_thread_begin)
    try:
        yield seen
    finally:
        event.remove(engine, "begin", on_begin)
        if threads is not None:
            event.remove(threads, "begin", on_thread_begin)


async def test_a_repeated_read_costs_one_write_and_no_outbox_round_trip(
        team: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    # the identity cache's TTL is wall time: a loaded CI machine took over 5 s between the two /查单,
    # and the expired entry cost a registration transaction; this test counts transactions, not the TTL
    monkeypatch.setattr("bot.identity.IDENTITY_TTL", 600.0)
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")
    await team.text("u1", "/查单 #1")  # warm: this sender in this chat is now known
    with counting_transactions(team) as seen:
        reply = await team.text("u1", "/查单 #1")
    assert reply.startswith("#1 ")
    # one write: the inbox row, the reply and the inbox mark together (the local adapter answers
    # after that commit, so nothing had to be durable before it); the order is read in a reader
    # that takes no write lock; no identity transaction, no claim/send/settle of a reply that went
    # out in the HTTP answer (the other reader is this test app's hand-driven sender finding
    # nothing due)
    assert (seen["write"], seen["begin"] - seen["write"]) == (1, 2), seen
    assert any(m["text"].startswith("#1 ") for m in await team.sent("g1"))  # still in the local mailbox


async def test_a_write_command_is_one_transaction(team: Bot) -> None:
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")  # u1 and 华为 known from here on
    with counting_transactions(team) as seen:
        reply = await team.text("u1", "/下单 华为 A100×3@300 交期12-15")
    assert reply.startswith("#2 ")
    # inbox row, order, audit, outbox rows and the inbox mark in one commit
    assert seen["write"] == 1, seen


async def test_a_repeated_message_id_has_one_effect_and_no_second_answer(team: Bot) -> None:
    first = await team.say("u1", "/下单 华为 A100×2@300 交期12-15", msg_id="m-dup")
    again = await team.say("u1", "/下单 华为 A100×2@300 交期12-15", msg_id="m-dup")
    assert first and first[0]["text"].startswith("#1 ")
    assert again == []
    assert "#2" not in await team.text("u1", "/订单 我的")


async def test_a_failing_command_still_records_its_event(team: Bot) -> None:
    """The handler's transaction is rolled back; the inbox row, its reply and the mark still commit."""
    from sqlalchemy import func, select

    from storage.models import InboxEvent, Order

    reply = await team.text("f1", "/回款 #99 100")  # refused inside the handler's transaction
    assert "#99" in reply and "未做任何修改" in reply, reply
    async with team.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 0
        statuses = (await uow.session.execute(select(InboxEvent.status))).scalars().all()
    assert statuses and set(statuses) == {"DONE"}


async def test_a_role_change_is_seen_by_the_very_next_command(team: Bot) -> None:
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")
    assert "已记录" in await team.text("f1", "/回款 #1 100")  # f1 (财务) is now a known sender
    assert "的角色" in await team.text("admin", "/角色 f1 销售", chat="admin")
    refused = await team.text("f1", "/回款 #1 100")
    assert "没有权限" in refused, refused  # not served from a stale cache
    assert "的角色" in await team.text("admin", "/角色 f1 财务", chat="admin")
    assert "已记录" in await team.text("f1", "/回款 #1 100")


async def test_a_new_name_is_recorded_though_the_sender_is_known(team: Bot) -> None:
    await team.text("u1", "/帮助", name="张三")
    await team.text("u1", "/帮助", name="张三丰")
    from sqlalchemy import select

    from storage.models import Person

    async with team.db.uow() as uow:
        person = (await uow.session.execute(select(Person).where(Person.user_id == "u1"))).scalar_one()
    assert person.name == "张三丰"
