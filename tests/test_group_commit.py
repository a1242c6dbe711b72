"""Group commit on the inbound and outbound paths: concurrent acks share one INSERT and one commit, a
bad row refuses only its own ack, and the sender settles what it delivered in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.app import DISPATCHER
from bot.outbound import Message
from storage import inbox
from storage.db import READ_ONLY, Database, GroupCommit
from storage.models import InboxEvent, KeyValue, OutboxMessage
from storage.models.messaging import OutboxStatus
from storage.outbox import Envelope
from tests.conftest import Bot, Clock
from tests.test_dispatch_errors import router as failing_commands
from tests.test_outbox import FakeTransport, put, sender


@contextmanager
def counting(db: Database) -> Iterator[dict[str, int]]:
    """Write transactions begun, commits, and INSERT / UPDATE statements on the database's engine."""
    seen = {"write": 0, "commit": 0, "insert inbox": 0, "update outbox": 0}

    def on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            seen["write"] += 1

    def on_commit(_conn: Any) -> None:
        seen["commit"] += 1

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words[:3] == ["INSERT", "INTO", "inbox"]:
            seen["insert inbox"] += 1
        if words[:2] == ["UPDATE", "outbox"]:
            seen["update outbox"] += 1

    engine = db.engine.sync_engine
    listeners = (("begin", on_begin), ("commit", on_commit), ("before_cursor_execute", on_statement))
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)


async def inbox_rows(db: Database) -> dict[str, str]:
    async with db.reader() as uow:
        return {e: s for e, s in await uow.session.execute(select(InboxEvent.event_id, InboxEvent.status))}


async def test_concurrent_events_are_recorded_by_one_insert_and_one_commit(db: Database, clock: Clock) -> None:
    recorder = inbox.Recorder(db)
    with counting(db) as seen:
        fresh = await asyncio.gather(*(recorder.record("wecom", f"e{i}", {"i": i}, clock(), "me")
                                       for i in range(20)))
    assert fresh == [True] * 20
    # every caller was answered after the one commit that holds its row
    assert (seen["insert inbox"], seen["write"], seen["commit"]) == (1, 1, 1), seen
    assert len(await inbox_rows(db)) == 20


async def test_a_repeat_in_the_batch_or_before_it_is_a_duplicate_and_the_rest_are_new(
        db: Database, clock: Clock) -> None:
    recorder = inbox.Recorder(db)
    assert await recorder.record("wecom", "seen", {}, clock(), "me")
    fresh = await asyncio.gather(recorder.record("wecom", "a", {}, clock(), "me"),
                                 recorder.record("wecom", "seen", {}, clock(), "me"),
                                 recorder.record("wecom", "a", {}, clock(), "me"),  # WeCom's retry, same batch
                                 recorder.record("dingtalk", "a", {}, clock(), "me"))  # another platform's id
    assert fresh == [True, False, False, True]
    async with db.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(InboxEvent)) == 3


async def test_a_row_that_cannot_be_written_refuses_only_its_own_ack(db: Database, clock: Clock) -> None:
    recorder = inbox.Recorder(db)
    outcomes = await asyncio.gather(
        recorder.record("wecom", "ok1", {"text": "/查单 #1"}, clock(), "me"),
        recorder.record("wecom", "bad", {"not json": object()}, clock(), "me"),
        recorder.record("wecom", "ok2", {"text": "/查单 #2"}, clock(), "me"),
        return_exceptions=True)
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], Exception)  # its callback answers 503: the platform sends it again
    assert await inbox_rows(db) == {"ok1": "PENDING", "ok2": "PENDING"}


async def test_the_caller_that_started_a_batch_giving_up_does_not_stop_it(db: Database, clock: Clock) -> None:
    """The batch is written by a task of its own, not by the caller that started it: that caller hanging
    up (cancelled while its row is being written) neither aborts the others' writes nor its own."""
    recorder = inbox.Recorder(db)
    gone = asyncio.create_task(recorder.record("wecom", "gone", {}, clock(), "me"))
    stays = asyncio.create_task(recorder.record("wecom", "stays", {}, clock(), "me"))
    await asyncio.sleep(0)  # gone started the batch, stays joined it
    gone.cancel()  # the client hung up while its row was being written: never acked, recorded all the same
    outcomes = await asyncio.wait_for(asyncio.gather(gone, stays, return_exceptions=True), 5)
    assert type(outcomes[0]) is asyncio.CancelledError and outcomes[1] is True
    await recorder.close()
    assert await inbox_rows(db) == {"gone": "PENDING", "stays": "PENDING"}


async def test_a_writer_that_breaks_answers_every_caller_it_holds() -> None:
    """A bug outside the write (here a wrong number of outcomes): the batch being written and the items
    waiting for the next all get the error; none waits for ever."""
    release = asyncio.Event()

    async def write(items: list[str]) -> list[bool | BaseException]:
        await release.wait()
        return []  # one outcome short per item

    group: GroupCommit[str, bool] = GroupCommit(write, "test-broken")
    first = [asyncio.create_task(group.submit(i)) for i in ("a", "b")]
    await asyncio.sleep(0)  # a and b are being written
    later = asyncio.create_task(group.submit("c"))  # waits for the next batch
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.wait_for(asyncio.gather(*first, later, return_exceptions=True), 5)
    assert [type(o) for o in outcomes] == [ValueError] * 3
    await group.close()


async def test_a_writer_cancelled_at_teardown_answers_every_caller_it_holds() -> None:
    async def write(items: list[str]) -> list[bool | BaseException]:
        await asyncio.Event().wait()  # never returns: the loop is being torn down
        return [True] * len(items)

    group: GroupCommit[str, bool] = GroupCommit(write, "test-cancelled")
    first = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0)
    later = asyncio.create_task(group.submit("b"))
    await asyncio.sleep(0)
    assert group._writer is not None
    group._writer.cancel()
    outcomes = await asyncio.wait_for(asyncio.gather(first, later, return_exceptions=True), 5)
    assert [type(o) for o in outcomes] == [asyncio.CancelledError] * 2


async def test_delivered_rows_are_settled_in_one_transaction(db: Database, clock: Clock) -> None:
    await put(db, clock, 3, chat="g1")
    await put(db, clock, 2, chat="g2", chat_type="single")
    transport = FakeTransport()
    out = sender(db, clock, transport)
    with counting(db) as seen:
        assert await out.flush() == 5
    assert len(transport.sent) == 5
    # one claim and one settle per chat (not one settle per row): one UPDATE each
    assert (seen["write"], seen["update outbox"]) == (3, 3), seen
    async with db.reader() as uow:
        statuses = (await uow.session.execute(select(OutboxMessage.status))).scalars().all()
    assert set(statuses) == {OutboxStatus.SENT}


async def test_a_settle_never_overrides_another_senders_claim(db: Database, clock: Clock) -> None:
    """A pass that outlived its claim: the rows another sender took meanwhile keep that sender's outcome."""
    from storage import outbox

    await put(db, clock, 2, chat="g1")
    async with db.uow() as uow:
        mine = await outbox.claim_due(uow, clock(), owner="slow")
    clock.advance(seconds=60)  # the claim's lease ran out; another sender takes the first row and sends it
    async with db.uow() as uow:
        theirs = await outbox.claim_due(uow, clock(), owner="fast")
    assert {r.id for r in theirs} == {r.id for r in mine}
    ages = await outbox.settle(db, mine, OutboxStatus.SENT, clock())
    assert ages == []  # nothing of ours settled
    async with db.reader() as uow:
        rows = (await uow.session.execute(select(OutboxMessage.status, OutboxMessage.claimed_by))).all()
    assert {tuple(r) for r in rows} == {(OutboxStatus.SENDING, "fast")}
    assert await outbox.settle(db, theirs, OutboxStatus.SENT, clock()) != []


def closing(event_id: str, text: str, *, recorded: bool = False) -> inbox.Closing:
    envelope = Envelope("local", "g1", "group", Message.plain(text).to_dict(), reply_to=event_id)
    return inbox.Closing("local", event_id, [envelope], None if recorded else {"text": text}, "me")


async def outbox_texts(db: Database) -> list[str]:
    async with db.reader() as uow:
        return [m["text"] for m in (await uow.session.execute(
            select(OutboxMessage.message).order_by(OutboxMessage.id))).scalars()]


async def test_concurrent_closing_writes_share_one_commit(db: Database, clock: Clock) -> None:
    """Events whose handlers committed nothing (reads, refusals) close together: inbox rows, replies, marks."""
    recorder = inbox.Recorder(db)
    assert await recorder.record("local", "r1", {}, clock(), "me")  # recorded before (a platform's ack)
    assert await recorder.record("local", "r2", {}, clock(), "me")
    async with db.uow() as uow:  # r2 was taken over and settled by another processor meanwhile
        await inbox.mark_done(uow, "local", "r2", clock())
    assert await recorder.record("local", "seen", {}, clock(), "me")
    group: GroupCommit[inbox.Closing, bool | None] = GroupCommit(
        lambda items: inbox.close_batch(db, items, clock()), "test-closing")
    items = [closing(f"n{i}", f"回复 n{i}") for i in range(5)]
    items += [closing("r1", "回复 r1", recorded=True), closing("r2", "回复 r2", recorded=True),
              closing("seen", "回复 seen"), closing("n0", "回复 n0 again")]
    with counting(db) as seen:
        outcomes = await asyncio.gather(*(group.submit(item) for item in items))
    # new events done, the recorded one marked; r2's replies are the other processor's (none of ours);
    # an id in the inbox already, or twice in the batch, is a duplicate
    assert outcomes == [True] * 5 + [True, False, None, None]
    assert (seen["write"], seen["commit"], seen["insert inbox"]) == (1, 1, 1), seen
    assert sorted(await outbox_texts(db)) == sorted([f"回复 n{i}" for i in range(5)] + ["回复 r1"])
    statuses = await inbox_rows(db)
    assert {statuses[k] for k in ("n0", "n1", "n2", "n3", "n4", "r1", "r2")} == {"DONE"}
    assert statuses["seen"] == "PENDING"  # a duplicate's closing write touches nothing


async def test_a_closing_that_cannot_be_stored_fails_alone_and_the_others_close(db: Database, clock: Clock) -> None:
    """The batch fails on one closing (a reply that cannot be stored): each is then written alone, so that
    one raises (its dispatcher keeps the event for recovery) and the others are written and come back True."""
    recorder = inbox.Recorder(db)
    for event_id in ("r-ok", "r-bad"):
        assert await recorder.record("local", event_id, {}, clock(), "me")
    bad = inbox.Closing("local", "r-bad", [Envelope("local", "g1", "group", {"text": object()}, reply_to="r-bad")],
                        None, "me")
    group: GroupCommit[inbox.Closing, bool | None] = GroupCommit(
        lambda items: inbox.close_batch(db, items, clock()), "test-closing")
    items = [closing("n1", "回复 n1"), closing("r-ok", "回复 r-ok", recorded=True), bad, closing("n2", "回复 n2")]
    with counting(db) as seen:
        outcomes = await asyncio.gather(*(group.submit(item) for item in items), return_exceptions=True)
    assert outcomes[:2] == [True, True] and outcomes[3] is True
    assert isinstance(outcomes[2], Exception)
    assert seen["commit"] == 3, seen  # the failed batch, then each alone: three commits, one failure
    assert sorted(await outbox_texts(db)) == ["回复 n1", "回复 n2", "回复 r-ok"]
    # the bad one's row stays pending: the recovery pass runs the event again once its lease runs out
    assert await inbox_rows(db) == {"n1": "DONE", "n2": "DONE", "r-ok": "DONE", "r-bad": "PENDING"}


async def test_closing_writes_lock_the_recorded_rows_platform_by_platform_in_one_order(
        db: Database, clock: Clock) -> None:
    """Two instances closing the same events of two platforms must not lock them in opposite orders: the
    recorded rows are marked platform by platform in sorted order, whatever order the closings came in."""
    recorder = inbox.Recorder(db)
    for platform in ("wecom", "dingtalk"):
        assert await recorder.record(platform, "e1", {}, clock(), "me")
    marked: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.split()[:2] == ["UPDATE", "inbox"]:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            marked.extend(v for v in values if v in ("wecom", "dingtalk"))

    items = [inbox.Closing(p, "e1", [], None, "me") for p in ("wecom", "dingtalk")]
    event.listen(db.engine.sync_engine, "before_cursor_execute", on_statement)
    try:
        assert await inbox.close_batch(db, items, clock()) == [True, True]
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", on_statement)
    assert marked == ["dingtalk", "wecom"]


@pytest.fixture
async def wired(bot: Bot) -> Bot:
    """A bot with the failing test commands (/炸, /两步) of tests/test_dispatch_errors.py."""
    bot.app[DISPATCHER].include_routers(failing_commands)
    return bot


async def test_a_failing_handler_among_concurrent_events_undoes_only_itself(wired: Bot) -> None:
    """One of several concurrent events fails inside its handler's transaction: its write is rolled back,
    its inbox row still closes (answered with the error), and the other events' effects and replies stand."""
    results = await asyncio.gather(wired.say("u1", "/炸 x", msg_id="e-boom"),
                                   *(wired.say("u1", "/帮助", msg_id=f"e-help{i}") for i in range(4)),
                                   wired.say("u1", "/两步", msg_id="e-two"))
    assert "内部错误" in results[0][0]["text"]
    assert all("可用命令" in r[0]["text"] for r in results[1:5])
    assert results[5][0]["text"] == "第一步已完成"
    statuses = await inbox_rows(wired.db)
    assert {statuses[e] for e in ("e-boom", "e-help0", "e-help1", "e-help2", "e-help3", "e-two")} == {"DONE"}
    async with wired.db.reader() as uow:
        kv = {k: v for k, v in await uow.session.execute(select(KeyValue.key, KeyValue.value))
              if k in ("half-done", "second-run")}
    assert kv == {"half-done": "1"}  # /炸's write undone, /两步's first step kept, its second undone
