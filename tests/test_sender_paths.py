"""The outbox sender's less travelled paths: claim renewal, a digest or a row that must wait in a
rate-limited chat, a digest's mentions, an adapter bug, a platform's short busy hint, a card whose
send returns no reference, and stopping a sender that never ran. Each asserts what the path leaves
behind: row statuses, errors, attempts, what the transport received, the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.outbound import Card, Mention, Message
from bot.transport import Delivery, RateLimit, TransientError
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import Clock
from tests.test_outbox import FakeTransport, put, sender, statuses


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.uow() as uow:
        return list((await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


def card(text: str) -> Message:
    return Message(kind="card", text=text, card=Card(text, "…"))


class HeldRenewal:
    """Stands in for ``outbox.renew_claims``: each call is recorded and runs ``then``, then waits until
    the pass has delivered its row, so that the renewal is still under way when the pass ends (the
    sender's ``on_sent`` hook releases it: nothing is awaited between that and the pass's end)."""

    def __init__(self, then: Any) -> None:
        self.then = then
        self.calls: list[tuple[str, list[int]]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, db: Database, owner: str, ids: list[int], now: datetime) -> None:
        self.calls.append((owner, list(ids)))
        await self.then(db, owner, ids, now)
        self.started.set()
        await self.release.wait()

    def on_sent(self, _age: float) -> None:
        self.release.set()


def waits_for_renewal(transport: FakeTransport, renewal: HeldRenewal, before: Any = None) -> None:
    """The transport's send returns only after the pass renewed its claims (a slow platform)."""
    real = transport.send

    async def slow(delivery: Delivery) -> dict[str, Any] | None:
        await renewal.started.wait()
        if before is not None:
            await before()
        return await real(delivery)

    transport.send = slow  # type: ignore[method-assign]


async def test_a_slow_send_has_its_claim_renewed(db: Database, clock: Clock,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.sender.RENEW_EVERY", 0.0)  # renew at once, not after 5 s

    async def later(d: Database, owner: str, ids: list[int], now: datetime) -> None:
        clock.advance(seconds=10)  # the send has taken 10 s so far
        await real_renew(d, owner, ids, clock())

    real_renew = outbox.renew_claims
    renewal = HeldRenewal(later)
    monkeypatch.setattr("storage.outbox.renew_claims", renewal)
    transport = FakeTransport()
    out = sender(db, clock, transport)
    out.on_sent = renewal.on_sent
    await put(db, clock, 1, chat="u1", chat_type="single")
    leases: list[datetime | None] = []

    async def look() -> None:
        leases.extend(r.lease_until for r in await rows(db))

    waits_for_renewal(transport, renewal, look)
    assert await out.flush() == 1
    [row] = await rows(db)
    assert renewal.calls == [(out.owner, [row.id])]  # once: never again after the pass ended
    assert leases == [clock() + outbox.CLAIM_LEASE]  # the lease runs from the renewal, not the claim
    assert row.status == "SENT" and row.lease_until is None
    assert [d.message.text for d in transport.sent] == ["通知 0"]


async def test_a_failed_claim_renewal_is_logged_and_the_pass_goes_on(db: Database, clock: Clock,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("bot.sender.RENEW_EVERY", 0.0)
    calls: list[list[int]] = []
    failed = asyncio.Event()

    async def fails(_db: Database, _owner: str, ids: list[int], _now: datetime) -> None:
        calls.append(list(ids))
        monkeypatch.setattr("bot.sender.RENEW_EVERY", 5.0)  # the next try is after this pass
        failed.set()
        raise RuntimeError("database is locked")

    monkeypatch.setattr("storage.outbox.renew_claims", fails)
    caplog.set_level(logging.ERROR, logger="gendan.outbox")
    transport = FakeTransport()
    real = transport.send
    logged_during_send: list[bool] = []

    async def slow(delivery: Delivery) -> dict[str, Any] | None:
        await failed.wait()
        logged_during_send.append(any(r.getMessage() == "outbox claim renewal failed" for r in caplog.records))
        return await real(delivery)

    transport.send = slow  # type: ignore[method-assign]
    out = sender(db, clock, transport)
    await put(db, clock, 2, chat="u1", chat_type="single")
    assert await out.flush() == 2
    assert await statuses(db) == ["SENT", "SENT"]
    assert [d.message.text for d in transport.sent] == ["通知 0", "通知 1"]
    assert logged_during_send == [True, True]  # the failure was logged while the pass was still sending
    assert calls == [[r.id for r in await rows(db)]]
    [failure] = [r for r in caplog.records if r.getMessage() == "outbox claim renewal failed"]
    assert failure.exc_info is not None and "database is locked" in str(failure.exc_info[1])


async def test_a_digest_that_must_wait_holds_every_row_it_would_merge(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(2, 60.0))
    transport.fail_transient = 1
    out = sender(db, clock, transport)
    await put(db, clock, 5)
    assert await out.flush() == 0
    assert transport.attempts == 1 and transport.sent == []  # one digest tried, nothing delivered
    head, *rest = await rows(db)
    assert [r.status for r in (head, *rest)] == ["PENDING"] * 5
    assert (head.attempts, head.last_error) == (1, "busy")
    assert all((r.attempts, r.last_error, r.merged_into) == (0, None, None) for r in rest)
    assert all(r.next_attempt_at == head.next_attempt_at > clock() for r in rest)  # retried together
    clock.advance(seconds=2)  # past the first backoff (at most 1 s)
    assert await out.flush() == 5
    [digest] = transport.sent
    assert all(f"通知 {i}" in digest.message.text for i in range(5))
    assert await statuses(db) == ["SENT"] + ["MERGED"] * 4


async def test_a_refused_digest_parks_its_merged_rows_naming_the_digest(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(2, 60.0))
    transport.fail_permanent = True
    out = sender(db, clock, transport)
    await put(db, clock, 3)
    await out.flush()
    head, *merged = await rows(db)
    assert (head.status, head.last_error, head.attempts) == ("PARKED", "bad target", 1)
    assert [(r.status, r.last_error, r.merged_into) for r in merged] == [
        ("PARKED", f"digest {head.id} refused", None)] * 2
    assert transport.attempts == 1 and transport.sent == []


async def test_a_row_that_must_wait_holds_back_the_rest_of_a_limited_chat(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(3, 60.0))
    real = transport.send
    failed: list[str] = []

    async def second_busy_once(delivery: Delivery) -> dict[str, Any] | None:
        if delivery.message.text == "审批 2" and not failed:
            failed.append(delivery.message.text)
            raise TransientError("busy")
        return await real(delivery)

    transport.send = second_busy_once  # type: ignore[method-assign]
    out = sender(db, clock, transport)
    for i in range(1, 5):  # four cards (never merged) for a budget of three
        await put(db, clock, 1, message=card(f"审批 {i}"))
    assert await out.flush() == 1
    assert [d.message.text for d in transport.sent] == ["审批 1"]  # 3 and 4 never overtake 2
    first, second, *held = await rows(db)
    assert first.status == "SENT"
    assert (second.status, second.attempts, second.last_error) == ("PENDING", 1, "busy")
    assert [(r.status, r.attempts, r.next_attempt_at) for r in held] == [
        ("PENDING", 0, second.next_attempt_at)] * 2
    clock.advance(seconds=2)  # the retry is due; the failed try counted too, so one send is left this minute
    await out.flush()
    assert [d.message.text for d in transport.sent] == ["审批 1", "审批 2"]
    assert await statuses(db) == ["SENT", "SENT", "PENDING", "PENDING"]
    clock.advance(seconds=61)
    await out.flush()
    assert [d.message.text for d in transport.sent] == [f"审批 {i}" for i in range(1, 5)]
    assert await statuses(db) == ["SENT"] * 4


async def test_a_digest_mentions_everyone_its_messages_mention_once(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(1, 60.0))
    out = sender(db, clock, transport)
    ann, bo = Mention("fake", "ann", "Ann"), Mention("fake", "bo", "Bo")
    for message in (Message.plain("交期提醒", ann), Message.plain("回款提醒", bo, ann), Message.plain("周报")):
        await put(db, clock, 1, message=message)
    await out.flush()
    [digest] = transport.sent
    assert digest.message.mentions == (ann, bo)
    assert all(t in digest.message.text for t in ("交期提醒", "回款提醒", "周报"))
    assert await statuses(db) == ["SENT", "MERGED", "MERGED"]


async def test_an_adapter_bug_is_logged_and_the_row_retried(db: Database, clock: Clock,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    transport = FakeTransport()
    real = transport.send
    bugs: list[int] = []

    async def buggy_once(delivery: Delivery) -> dict[str, Any] | None:
        if not bugs:
            bugs.append(delivery.id)
            raise KeyError("errcode")
        return await real(delivery)

    transport.send = buggy_once  # type: ignore[method-assign]
    out = sender(db, clock, transport)
    await put(db, clock, 2, chat="u1", chat_type="single")
    caplog.set_level(logging.ERROR, logger="gendan.outbox")
    assert await out.flush() == 0
    first, second = await rows(db)
    assert (first.status, first.attempts, first.last_error) == ("PENDING", 1, "KeyError('errcode')")
    assert 0.5 - 0.01 <= (first.next_attempt_at - clock()).total_seconds() <= 1.0 + 0.01  # backoff(0)
    assert (second.status, second.attempts, second.next_attempt_at) == ("PENDING", 0, first.next_attempt_at)
    [logged] = [r for r in caplog.records if r.getMessage() == f"outbox {first.id} failed"]
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], KeyError)
    clock.advance(seconds=2)
    assert await out.flush() == 2
    assert [d.message.text for d in transport.sent] == ["通知 0", "通知 1"]
    assert await statuses(db) == ["SENT", "SENT"]


async def test_a_short_busy_hint_is_waited_exactly(db: Database, clock: Clock) -> None:
    transport = FakeTransport()
    out = sender(db, clock, transport)
    await put(db, clock, 1, chat="u1", chat_type="single")

    async def busy(_delivery: Delivery) -> None:
        raise TransientError("frequency limited", retry_after=7.0)

    transport.send = busy  # type: ignore[method-assign,assignment]
    await out.flush()
    [row] = await rows(db)
    assert row.status == "PENDING" and (row.next_attempt_at - clock()).total_seconds() == 7.0


async def test_a_card_sent_without_a_reference_is_not_remembered(db: Database, clock: Clock) -> None:
    """A platform that returns nothing to edit later (a group robot): the decided card is sent, and
    no copy is recorded, so the next decision is sent as a new card too, never an update of nothing."""
    transport = FakeTransport()
    real = transport.send

    async def no_ref(delivery: Delivery) -> None:
        await real(delivery)

    transport.send = no_ref  # type: ignore[method-assign,assignment]
    out = sender(db, clock, transport)
    decided = Message(kind="card", text="审批 #3：通过", card=Card("审批 #3：通过", "…", closed=True),
                      card_key="appr:3")
    for _ in range(2):
        await put(db, clock, 1, chat="m1", chat_type="single", message=decided, op="update")
        await out.flush()
    assert await outbox.card_copies(db, "appr:3", "fake", "m1") == []
    assert len(transport.sent) == 2 and transport.updated == []
    assert await statuses(db) == ["SENT", "SENT"]


async def test_stopping_a_sender_that_never_ran(db: Database, clock: Clock) -> None:
    """The CLI drives a sender by hand: stopping it returns at once, and nothing runs in the background."""
    transport = FakeTransport()
    out = sender(db, clock, transport)
    await asyncio.wait_for(out.stop(), 5)
    assert not out.running
    await put(db, clock, 1, chat="u1", chat_type="single")
    assert transport.sent == [] and await statuses(db) == ["PENDING"]
    assert await out.flush() == 1  # flushing by hand still delivers
    assert [d.message.text for d in transport.sent] == ["通知 0"]


class FailingSettles:
    """Stands in for ``outbox.settle``: the SENT settles fail ``times`` times (a locked database), then work."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.sizes: list[int] = []  # the rows of every SENT settle tried
        self.real = outbox.settle

    async def __call__(self, db: Database, rows: list[OutboxMessage], status: str, now: datetime,
                       **kw: Any) -> list[float]:
        if status == "SENT":
            self.sizes.append(len(rows))
            if self.times:
                self.times -= 1
                raise OSError("database is locked")
        return await self.real(db, rows, status, now, **kw)  # type: ignore[arg-type]


async def test_a_failed_settle_is_retried_and_no_delivered_row_goes_out_twice(
        db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.sender.SETTLE_PAUSE", 0.0)
    settles = FailingSettles(1)
    monkeypatch.setattr("storage.outbox.settle", settles)
    await put(db, clock, 15, chat="u1", chat_type="single")
    transport = FakeTransport()
    out = sender(db, clock, transport)
    assert await out.flush() == 15
    assert settles.sizes == [15, 15]  # the failed settle's rows went into the retry
    assert await statuses(db) == ["SENT"] * 15
    clock.advance(seconds=60)  # any claim left behind would have run out
    await out.flush()
    assert [d.message.text for d in transport.sent] == [f"通知 {i}" for i in range(15)]


async def test_rows_whose_settle_keeps_failing_are_settled_by_the_next_pass_not_sent_again(
        db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.sender import SETTLE_TRIES

    monkeypatch.setattr("bot.sender.SETTLE_PAUSE", 0.0)
    settles = FailingSettles(SETTLE_TRIES)
    monkeypatch.setattr("storage.outbox.settle", settles)
    await put(db, clock, 3, chat="u1", chat_type="single")
    transport = FakeTransport()
    out = sender(db, clock, transport)
    with pytest.raises(OSError):
        await out.flush()
    assert await statuses(db) == ["SENDING"] * 3
    assert await out.flush() == 0  # nothing due: the kept rows are settled all the same
    assert await statuses(db) == ["SENT"] * 3
    clock.advance(seconds=60)
    await out.flush()
    assert [d.message.text for d in transport.sent] == [f"通知 {i}" for i in range(3)]


async def test_delivered_rows_are_settled_once_the_oldest_is_a_second_old(
        db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    settles = FailingSettles(0)
    monkeypatch.setattr("storage.outbox.settle", settles)
    transport = FakeTransport()
    real = transport.send

    async def slow(delivery: Delivery) -> dict[str, Any] | None:
        clock.advance(seconds=0.4)  # each send takes 0.4 s
        return await real(delivery)

    transport.send = slow  # type: ignore[method-assign]
    await put(db, clock, 7, chat="u1", chat_type="single")
    out = sender(db, clock, transport)
    assert await out.flush() == 7
    # delivered at 0.4, 0.8, 1.2, 1.6 (the first is 1.2 s old): settled then, not only at the chat's end
    assert settles.sizes == [4, 3]
    assert await statuses(db) == ["SENT"] * 7


async def test_a_delivered_row_is_settled_on_time_while_the_next_send_is_slow(
        db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next send takes long (a slow platform, up to the HTTP timeout): the row delivered before it
    is settled once a second old all the same, by the pass's settle timer, not after that send."""
    monkeypatch.setattr("bot.sender.SETTLE_LOOK_EVERY", 0.0)  # the timer looks at every turn of the loop
    transport = FakeTransport()
    real = transport.send
    settled = asyncio.Event()
    during_slow_send: list[list[str]] = []

    async def slow(delivery: Delivery) -> dict[str, Any] | None:
        if delivery.message.text == "通知 1":
            clock.advance(seconds=2)  # the first row was delivered 2 s ago and this send still runs
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(settled.wait(), 10)  # only so that a missing timer fails, not hangs
            during_slow_send.append(await statuses(db))
        return await real(delivery)

    transport.send = slow  # type: ignore[method-assign]
    await put(db, clock, 2, chat="u1", chat_type="single")
    out = sender(db, clock, transport)
    ages: list[float] = []

    def on_sent(age: float) -> None:
        ages.append(age)
        settled.set()

    out.on_sent = on_sent
    assert await out.flush() == 2
    assert during_slow_send == [["SENT", "SENDING"]]
    assert ages == [2.0, 2.0]  # the first when the timer settled it; the second at the chat's end
    assert await statuses(db) == ["SENT", "SENT"]


async def test_the_settle_timer_backs_off_and_logs_once_while_settles_fail(
        db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The database is down during a slow send: the timer's settles fail. It tries again with growing
    waits and logs one traceback, not one per look (it looked four times a second and logged each)."""
    from bot.sender import SETTLE_TRIES

    monkeypatch.setattr("bot.sender.SETTLE_LOOK_EVERY", 0.005)
    monkeypatch.setattr("bot.sender.SETTLE_BACKOFF_MAX", 0.04)
    monkeypatch.setattr("bot.sender.SETTLE_PAUSE", 0.0)
    settles = FailingSettles(10**6)  # every SENT settle fails while the send below runs
    monkeypatch.setattr("storage.outbox.settle", settles)
    transport = FakeTransport()
    real = transport.send

    async def slow(delivery: Delivery) -> dict[str, Any] | None:
        if delivery.message.text == "通知 1":
            clock.advance(seconds=2)  # the first row is due to be settled from now on
            await asyncio.sleep(0.4)
            settles.times = 0  # the database is back
        return await real(delivery)

    transport.send = slow  # type: ignore[method-assign]
    await put(db, clock, 2, chat="u1", chat_type="single")
    out = sender(db, clock, transport)
    caplog.set_level(logging.INFO, "gendan")
    assert await out.flush() == 2
    assert await statuses(db) == ["SENT", "SENT"]
    # the last settle took both rows at the chat's end; each failed one was SETTLE_TRIES attempts
    tries_during_send = (len(settles.sizes) - 1) / SETTLE_TRIES
    # 0.4 s of failures: waits of 10, 20, 40, 40, … ms make about a dozen tries (80 without back-off)
    assert 2 <= tries_during_send <= 15, settles.sizes
    failed = [r for r in caplog.records if "outbox settle of delivered rows failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info, [r.getMessage() for r in caplog.records]


async def test_a_failed_settle_before_a_card_update_makes_the_update_wait_not_the_pass_fail(
        db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.sender import SETTLE_TRIES

    monkeypatch.setattr("bot.sender.SETTLE_PAUSE", 0.0)
    transport = FakeTransport()
    out = sender(db, clock, transport)
    decided = Message(kind="card", text="审批 #1：通过", card=Card("审批 #1：通过", "…", closed=True),
                      card_key="appr:1")
    await put(db, clock, 1, chat="m1", chat_type="single",
              message=Message(kind="card", text="审批 #1", card=Card("审批 #1", "…"), card_key="appr:1"))
    await put(db, clock, 1, chat="m1", chat_type="single", message=decided, op="update")
    await put(db, clock, 1, chat="u2", chat_type="single")
    settles = FailingSettles(SETTLE_TRIES)  # the settle before the update fails for good
    monkeypatch.setattr("storage.outbox.settle", settles)
    assert await out.flush() == 2  # the card, and the other chat's row
    assert await statuses(db) == ["SENT", "PENDING", "SENT"]
    assert transport.updated == [] and [d.message.text for d in transport.sent] == ["审批 #1", "通知 0"]
    clock.advance(seconds=2)
    assert await out.flush() == 1
    assert transport.updated[0].card_ref == {"n": 1}  # the card's copy was stored with the late settle
    assert await statuses(db) == ["SENT"] * 3


async def test_after_an_outage_the_settle_timer_looks_at_its_pace_again_once_any_settle_works(
        db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer backed off while the database was down; a send's own settle then gets through. The
    next due row is settled at the normal pace during the next slow send, not after the long wait
    (found in review: the back-off ended only with the timer's own success, up to 5 s later)."""
    monkeypatch.setattr("bot.sender.SETTLE_LOOK_EVERY", 0.005)
    monkeypatch.setattr("bot.sender.SETTLE_BACKOFF_MAX", 2.0)
    monkeypatch.setattr("bot.sender.SETTLE_PAUSE", 0.0)
    settles = FailingSettles(10**6)
    monkeypatch.setattr("storage.outbox.settle", settles)
    transport = FakeTransport()
    real = transport.send
    seen: dict[str, int] = {}

    async def slow(delivery: Delivery) -> dict[str, Any] | None:
        if delivery.message.text == "通知 1":
            clock.advance(seconds=2)
            await asyncio.sleep(1.5)  # the database is down: the timer's settles fail and back off
            settles.times = 0  # back; the send path's own settle (after this send) succeeds
        if delivery.message.text == "通知 3":
            clock.advance(seconds=2)  # 通知 2 is now due
            before = len(settles.sizes)
            await asyncio.sleep(0.2)  # 40 looks at the normal cadence
            seen["timer settles during the slow send"] = len(settles.sizes) - before
        return await real(delivery)

    transport.send = slow  # type: ignore[method-assign]
    await put(db, clock, 4, chat="u1", chat_type="single")
    out = sender(db, clock, transport)
    assert await out.flush() == 4
    assert seen["timer settles during the slow send"] >= 1, seen
