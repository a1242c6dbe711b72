"""The dispatcher's error paths: a handler's internal error, a failure before routing, a lost claim.

Each is driven through the running app (local adapter) with a small router of test commands, and
each checks what the person is told, what is written and what the inbox row says."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from bot.app import DISPATCHER
from bot.commands import CommandText
from bot.context import Context
from bot.events import Actor, ChatMessage, ChatRef
from bot.routing import Router
from handlers.texts import shared_replies as texts
from storage.lifecycle import Refused
from storage.models import InboxEvent, KeyValue
from tests.conftest import Bot

router = Router("test-errors")


@router.command("炸")
async def explode(ctx: Context, cmd: CommandText) -> None:
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="half-done", value=cmd.args))
        ctx.reply("这句不该发出")
        raise RuntimeError("boom")


@router.command("被抢")
async def taken_mid_transaction(ctx: Context, cmd: CommandText) -> None:
    """Another processor takes the event over and commits first while this one works."""
    await _done_elsewhere(ctx)
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="second-run", value="x"))
        ctx.reply("第二次运行的回复")


@router.command("晚到")
async def taken_before_finish(ctx: Context, cmd: CommandText) -> None:
    """A reply-only command (nothing of its own committed) whose event was settled elsewhere meanwhile."""
    await _done_elsewhere(ctx)
    ctx.reply("晚到的回复")


@router.command("两步")
async def two_steps(ctx: Context, cmd: CommandText) -> None:
    """The first transaction commits; the second fails with a conflict."""
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="half-done", value="1"))
        ctx.reply("第一步已完成")
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="second-run", value="2"))
        ctx.reply("第二步已完成")
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))


@router.command("忙")
async def busy(ctx: Context, cmd: CommandText) -> None:
    """PostgreSQL gave the transaction up for another (a deadlock), or SQLite gave no turn in time."""
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="busy", value="1"))
        raise OperationalError("UPDATE", {}, Exception("database is locked"))


@router.command("改")
async def stale(ctx: Context, cmd: CommandText) -> None:
    """The row changed between its read and its write (the optimistic version check)."""
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="stale", value="1"))
        raise StaleDataError("UPDATE statement on table 'orders' expected to update 1 row(s); 0 were matched.")


@router.command("拒")
async def refused_by_the_lifecycle(ctx: Context, cmd: CommandText) -> None:
    """A lifecycle refusal that no handler turned into its own reply reaches the dispatcher."""
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="half-done", value="refused"))
        ctx.reply("这句也不该发出")
        raise Refused("cancel_after_activity")


async def _done_elsewhere(ctx: Context) -> None:
    async with ctx.db.uow() as other:
        await other.session.execute(update(InboxEvent).where(InboxEvent.event_id == ctx.inbound.event_id)
                                    .values(status="DONE"))


@router.command("存")
async def store_after(ctx: Context, cmd: CommandText) -> None:
    """Writes a row under a unique key and answers after its transaction (nothing written in it but the row)."""
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key="same", value=cmd.args))
    ctx.reply("已存")


@router.command("空值")
async def null_after(ctx: Context, cmd: CommandText) -> None:
    async with ctx.uow() as uow:
        uow.session.add(KeyValue(key=None, value="x"))  # a bug: NOT NULL
    ctx.reply("不该到这里")


@pytest.fixture
async def wired(bot: Bot) -> Bot:
    bot.app[DISPATCHER].include_routers(router)
    return bot


async def via_platform(bot: Bot, user: str, text: str, msg_id: str) -> list[str]:
    """As a platform callback arrives: recorded in the inbox first (the platform's ack), then processed.

    Only such events can be taken over by another processor: an event the local adapter answers in
    its own request has no inbox row before its one transaction commits."""
    dispatcher = bot.app[DISPATCHER]
    event = ChatMessage(platform="local", event_id=msg_id, chat=ChatRef("local", "g1", "group"),
                        actor=Actor("local", user, "", tenant="local"), text=text)
    assert await dispatcher.record(event)
    return [m.text for m in await dispatcher.process(event)]


async def inbox(bot: Bot, event_id: str) -> InboxEvent:
    async with bot.db.uow() as uow:
        return (await uow.session.execute(select(InboxEvent).where(InboxEvent.event_id == event_id))).scalar_one()


async def kv(bot: Bot) -> dict[str, str]:
    async with bot.db.uow() as uow:
        return {r.key: r.value for r in (await uow.session.execute(select(KeyValue))).scalars()
                if r.key in ("half-done", "second-run")}


async def test_internal_error_answers_with_a_reference_and_writes_nothing(
        wired: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "gendan.dispatch")
    replies = await wired.say("u1", "/炸 x", msg_id="e-boom")
    assert len(replies) == 1
    match = re.fullmatch(r"内部错误 \(ref (\w+)\)，操作未生效。请稍后重试，或把编号发给管理员。", replies[0]["text"])
    assert match, replies
    assert replies[0]["text"] == texts.internal_error(match[1])
    assert await kv(wired) == {}  # the handler's half-done write was rolled back
    assert (await inbox(wired, "e-boom")).status == "DONE"  # answered: not replayed
    logged = [r for r in caplog.records if match[1] in r.getMessage()]
    assert logged and logged[0].exc_info and "boom" in str(logged[0].exc_info[1])
    assert [m["text"] for m in await wired.sent("g1")] == [replies[0]["text"]]  # the discarded reply never left


async def test_a_refusal_the_handler_let_through_is_answered_and_writes_nothing(wired: Bot) -> None:
    replies = await wired.say("u1", "/拒", msg_id="e-refused")
    assert [r["text"] for r in replies] == [texts.unchanged(texts.refused("cancel_after_activity", {}, None))]
    assert "不能作废；可用 /关闭 #单号 原因 提前结束" in replies[0]["text"]  # never "#None"
    assert await kv(wired) == {}
    assert (await inbox(wired, "e-refused")).status == "DONE"


async def test_a_failure_before_routing_leaves_the_event_for_recovery(
        wired: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Registration fails (the database hiccups): nothing is answered, the event stays PENDING, and the
    next recovery pass processes it once."""
    import bot.identity as identity

    async def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database went away")

    caplog.set_level(logging.ERROR, "gendan.dispatch")
    monkeypatch.setattr(identity.people, "register", broken)
    assert await wired.say("u9", "/帮助", msg_id="e-early", name="新人") == []
    assert any("failed before routing" in r.getMessage() for r in caplog.records)
    row = await inbox(wired, "e-early")
    assert row.status == "PENDING" and row.processed_at is None
    monkeypatch.undo()
    dispatcher = wired.app[DISPATCHER]
    wired.app[DISPATCHER].clock.advance(minutes=1)  # the lease of the failed run has run out
    assert await dispatcher.recover(older_than=timedelta(0)) == 1
    assert (await inbox(wired, "e-early")).status == "DONE"
    sent = await wired.sent("g1")
    assert len(sent) == 1 and "可用命令" in sent[0]["text"]
    assert await dispatcher.recover(older_than=timedelta(0)) == 0  # once


async def test_a_claim_lost_mid_transaction_rolls_back_and_says_nothing(
        wired: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "gendan.dispatch")
    assert await via_platform(wired, "u1", "/被抢", "e-lost") == []
    assert await kv(wired) == {}  # its write went with the lost claim
    assert (await inbox(wired, "e-lost")).status == "DONE"
    assert await wired.sent("g1") == []
    assert any("processed elsewhere" in r.getMessage() for r in caplog.records)


async def test_a_claim_lost_before_the_closing_write_drops_the_replies(
        wired: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "gendan.dispatch")
    assert await via_platform(wired, "u1", "/晚到", "e-late") == []
    assert await wired.sent("g1") == []
    assert any("its replies stand, not ours" in r.getMessage() for r in caplog.records)


async def test_a_failing_closing_write_is_logged_and_the_event_stays_pending(
        wired: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """If even the closing write fails, the replies are still returned to the adapter and the row is left
    for recovery (a later run's mark is the one that counts)."""
    import bot.dispatch as dispatch

    async def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database went away")

    caplog.set_level(logging.ERROR, "gendan.dispatch")
    monkeypatch.setattr(dispatch.inbox, "close_batch", broken)  # the closing write of a reply-only event
    replies = await wired.say("u1", "/不存在的命令", msg_id="e-close")  # a reply-only event
    assert replies and "/不存在的命令" in replies[0]["text"]
    assert any("could not record the outcome" in r.getMessage() for r in caplog.records)
    assert (await inbox(wired, "e-close")).status == "PENDING"


async def test_a_conflict_keeps_what_was_committed_and_drops_what_was_not(wired: Bot) -> None:
    replies = [r["text"] for r in await wired.say("u1", "/两步", msg_id="e-two")]
    assert replies == ["第一步已完成", texts.conflict("duplicate")]  # never "第二步已完成": it was undone
    assert await kv(wired) == {"half-done": "1"}
    assert [m["text"] for m in await wired.sent("g1")] == replies
    assert (await inbox(wired, "e-two")).status == "DONE"


@pytest.mark.parametrize(("command", "reply"), [
    ("/两步", "状态已变化：刚有人同时提交了相同的内容，你的操作没有生效，请查看最新情况后重试。"),
    ("/改", "状态已变化：刚有人同时修改了这张单，你的操作没有生效，请查看最新状态后重试。"),
    ("/忙", "系统正忙，你的操作没有生效，请稍后重发一次。"),
])
async def test_each_kind_of_lost_write_is_told_in_its_own_words(wired: Bot, command: str, reply: str) -> None:
    """Someone wrote the same key first, the row changed since it was read, or the database was busy:
    the person is told which (a customer added twice was told 「修改了这张单」), and nothing is kept."""
    replies = [r["text"] for r in await wired.say("u1", command, msg_id="e-" + command)]
    assert replies[-1] == reply
    assert "busy" not in await kv(wired) and "stale" not in await kv(wired)


def test_a_command_name_registered_twice_is_refused_at_start(wired: Bot) -> None:
    again = Router("again")
    again.command("炸")(explode)
    with pytest.raises(ValueError, match="registered twice"):
        wired.app[DISPATCHER].include_routers(again)


async def test_plain_text_is_answered_only_where_the_bot_is_addressed(wired: Bot) -> None:
    assert await wired.say("u1", "你好", chat="u1") != []  # a 1:1 chat: the bot explains itself
    assert await wired.say("u1", "大家好", chat="g1") == []  # group chatter the bot was not asked about


async def test_the_identity_cache_stays_bounded(wired: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.identity as identity

    monkeypatch.setattr(identity, "IDENTITY_CACHE_SIZE", 2)
    for user in ("a1", "a2", "a3"):
        await wired.say(user, "/帮助", chat=user)
    assert len(wired.app[DISPATCHER].identities.cache) <= 2


async def test_a_failing_recovery_pass_is_logged_and_the_loop_goes_on(
        wired: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    dispatcher = wired.app[DISPATCHER]
    calls: list[int] = []
    stop = asyncio.Event()

    async def broken() -> int:
        calls.append(1)
        if len(calls) >= 2:
            stop.set()
        raise ConnectionError("database went away")

    caplog.set_level(logging.ERROR, "gendan.dispatch")
    monkeypatch.setattr(dispatcher, "recover", broken)
    async with asyncio.timeout(30):
        await dispatcher.keep_recovering(stop, every=0.01)
    assert len(calls) == 2
    assert sum("inbox recovery failed" in r.getMessage() for r in caplog.records) == 2


async def test_a_failing_directory_handler_marks_the_event_failed(wired: Bot) -> None:
    from bot.events import DirectoryEvent

    dispatcher = wired.app[DISPATCHER]
    failing = Router("failing-directory")

    @failing.on_directory
    async def broken(_: object, event: DirectoryEvent) -> None:
        raise RuntimeError("directory down")

    dispatcher.include_routers(failing)
    event = DirectoryEvent("local", "d-broken", "user_left", "u1")
    assert await dispatcher.record(event)
    assert await dispatcher.process(event) == []
    row = await inbox(wired, "d-broken")
    assert row.status == "FAILED" and "directory down" in (row.error or "")


async def _status(bot: Bot, event_id: str) -> str | None:
    async with bot.db.uow() as uow:
        return (await uow.session.execute(select(InboxEvent.status).where(InboxEvent.event_id == event_id))
                ).scalar_one_or_none()


async def test_a_conflict_in_the_handlers_own_writes_is_answered_not_taken_for_a_repeated_event(wired: Bot) -> None:
    """The inbox row is inserted at the end of the command's transaction; the handler's pending writes are
    flushed first, so their unique-key conflict is the command's conflict (a reply, the event recorded),
    never "this event was seen before" (no reply, no record)."""
    assert await wired.text("u1", "/存 1", msg_id="kv-1") == "已存"
    second = await wired.say("u1", "/存 2", msg_id="kv-2")
    assert second and second[0]["text"] != "已存", second
    assert await _status(wired, "kv-2") == "DONE"


@pytest.mark.filterwarnings("ignore:Column 'kv.key' is marked as a member of the primary key")  # the planted bug
async def test_a_bug_in_the_handlers_own_writes_is_answered_and_recorded(
        wired: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "gendan.dispatch")
    replies = await wired.say("u1", "/空值", msg_id="kv-3")
    assert replies and "不该到这里" not in replies[0]["text"], replies
    assert await _status(wired, "kv-3") in ("DONE", "FAILED")
