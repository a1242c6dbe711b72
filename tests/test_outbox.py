"""The outbox sender: retries with backoff, rate limits with digests, card updates, nothing lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.outbound import Card, Message
from bot.sender import OutboxSender
from bot.transport import MAX_BACKOFF, CardExpired, Delivery, PermanentError, RateLimit, TransientError
from handlers.texts import shared_replies as replies
from storage.db import Database
from storage.models import OutboxMessage
from storage.models.messaging import OutboxStatus
from storage.outbox import Envelope
from storage.outgoing import write_all
from tests.conftest import Clock


class FakeTransport:
    platform = "fake"

    def __init__(self, limit: RateLimit | None = None) -> None:
        self.limit = limit
        self.sent: list[Delivery] = []
        self.updated: list[Delivery] = []
        self.fail_transient = 0
        self.fail_permanent = False
        self.expired = False
        #: every call to send, failed or not
        self.attempts = 0

    def rate_limit(self, delivery: Delivery) -> RateLimit | None:
        return self.limit if delivery.chat_type == "group" else None

    async def send(self, delivery: Delivery) -> dict[str, Any] | None:
        self.attempts += 1
        if self.fail_permanent:
            raise PermanentError("bad target")
        if self.fail_transient:
            self.fail_transient -= 1
            raise TransientError("busy")
        self.sent.append(delivery)
        return {"n": len(self.sent)} if delivery.message.card else None

    async def update_card(self, delivery: Delivery) -> dict[str, Any] | None:
        if self.expired:
            raise CardExpired("gone")
        self.updated.append(delivery)
        return delivery.card_ref


async def put(db: Database, clock: Clock, n: int, chat: str = "g1", chat_type: str = "group",
              message: Message | None = None, op: str = "send") -> None:
    async with db.uow() as uow:
        await write_all(uow, [Envelope("fake", chat, chat_type, (message or Message.plain(f"通知 {i}")).to_dict(),
                                       op=op) for i in range(n)], clock())


def sender(db: Database, clock: Clock, transport: FakeTransport) -> OutboxSender:
    return OutboxSender(db, {"fake": transport}, replies, clock=clock)


async def statuses(db: Database) -> list[str]:
    async with db.uow() as uow:
        return list((await uow.session.execute(select(OutboxMessage.status).order_by(OutboxMessage.id))).scalars())


async def test_burst_over_the_limit_is_merged_and_nothing_dropped(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(20, 60.0))
    out = sender(db, clock, transport)
    await put(db, clock, 50)
    await out.flush()
    assert len(transport.sent) == 1
    digest = transport.sent[0].message.text
    assert all(f"通知 {i}" in digest for i in range(50))
    assert (await statuses(db)).count("MERGED") == 49


async def test_rate_limit_holds_what_exceeds_the_window(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(2, 60.0))
    out = sender(db, clock, transport)
    card = Message(kind="card", text="审批", card=Card("审批", "…"), card_key="k")
    for _ in range(3):
        await put(db, clock, 1, message=card)
    await out.flush()
    assert len(transport.sent) == 2
    await out.flush()
    assert len(transport.sent) == 2  # still within the window
    clock.advance(seconds=61)
    await out.flush()
    assert len(transport.sent) == 3 and await statuses(db) == ["SENT"] * 3


async def test_transient_errors_retry_with_backoff_then_arrive_once(db: Database, clock: Clock) -> None:
    transport = FakeTransport()
    transport.fail_transient = 8
    out = sender(db, clock, transport)
    await put(db, clock, 1, chat="u1", chat_type="single")
    waits = []
    for _ in range(9):
        await out.flush()
        async with db.uow() as uow:
            row = (await uow.session.execute(select(OutboxMessage))).scalar_one()
        waits.append((row.next_attempt_at - clock()).total_seconds())
        await out.flush()  # not due yet: nothing happens
        clock.advance(seconds=max(waits[-1], 0) + 1)
    assert len(transport.sent) == 1 and await statuses(db) == ["SENT"]
    # exponential backoff with jitter (the upper half of each wait), capped at MAX_BACKOFF
    for attempt, wait in enumerate(waits[:8]):
        expected = min(MAX_BACKOFF, 2.0 ** attempt)
        assert expected / 2 - 0.01 <= wait <= expected + 0.01, (attempt, waits)
    assert max(waits) <= MAX_BACKOFF + 0.01


async def test_a_platform_busy_hint_is_capped_too(db: Database, clock: Clock) -> None:
    transport = FakeTransport()
    out = sender(db, clock, transport)
    await put(db, clock, 1, chat="u1", chat_type="single")

    async def busy(_delivery: Delivery) -> None:
        raise TransientError("frequency limited", retry_after=600.0)

    transport.send = busy  # type: ignore[method-assign,assignment]
    await out.flush()
    async with db.uow() as uow:
        row = (await uow.session.execute(select(OutboxMessage))).scalar_one()
    assert MAX_BACKOFF / 2 - 0.01 <= (row.next_attempt_at - clock()).total_seconds() <= MAX_BACKOFF + 0.01


async def test_parks_after_max_attempts_and_on_permanent_errors(db: Database, clock: Clock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.sender.MAX_ATTEMPTS", 6)  # the real figure is half a day of retries
    transport = FakeTransport()
    transport.fail_transient = 10_000
    out = sender(db, clock, transport)
    await put(db, clock, 1, chat="u1", chat_type="single")
    for _ in range(6 + 5):
        await out.flush()
        clock.advance(seconds=MAX_BACKOFF + 1)
    assert await statuses(db) == ["PARKED"]
    assert transport.attempts == 6  # tried exactly that often, then never again
    async with db.uow() as uow:
        row = (await uow.session.execute(select(OutboxMessage))).scalar_one()
    assert row.last_error == "busy"
    transport.fail_transient, transport.fail_permanent = 0, True
    await put(db, clock, 1, chat="u2", chat_type="single")
    for _ in range(3):
        await out.flush()
        clock.advance(seconds=MAX_BACKOFF + 1)
    assert await statuses(db) == ["PARKED", "PARKED"]
    assert transport.attempts == 6 + 1  # a permanent error is never retried
    assert transport.sent == []


async def test_card_copies_updated_in_place_or_resent(db: Database, clock: Clock) -> None:
    transport = FakeTransport()
    out = sender(db, clock, transport)
    card = Message(kind="card", text="审批 #1", card=Card("审批 #1", "…"), card_key="appr:1")
    await put(db, clock, 1, chat="m1", chat_type="single", message=card)
    await out.flush()
    closed = Message(kind="card", text="审批 #1：通过", card=Card("审批 #1：通过", "…", closed=True),
                     card_key="appr:1")
    await put(db, clock, 1, chat="m1", chat_type="single", message=closed, op="update")
    await out.flush()
    assert len(transport.updated) == 1 and transport.updated[0].card_ref == {"n": 1}
    transport.expired = True
    await put(db, clock, 1, chat="m1", chat_type="single", message=closed, op="update")
    await out.flush()
    assert len(transport.sent) == 2 and transport.sent[-1].message.card.closed  # type: ignore[union-attr]


async def test_a_crashed_sender_leaves_rows_that_are_taken_again(db: Database, clock: Clock) -> None:
    from storage.outbox import claim_due

    transport = FakeTransport()
    await put(db, clock, 1, chat="u1", chat_type="single")
    async with db.uow() as uow:
        assert len(await claim_due(uow, clock())) == 1  # claimed, then the process "died"
    out = sender(db, clock, transport)
    await out.flush()
    assert transport.sent == []
    clock.advance(minutes=16)
    await out.flush()
    assert len(transport.sent) == 1


async def test_unknown_platform_is_dead_not_stuck(db: Database, clock: Clock) -> None:
    out = OutboxSender(db, {}, replies, clock=clock)
    await put(db, clock, 1)
    await out.flush()
    assert await statuses(db) == ["PARKED"]


#: the platforms' documented message sizes: WeCom group-robot markdown 4096 bytes, DingTalk webhook
#: 20000 bytes. A digest may go to either, so it must fit the smallest; checked against these numbers,
#: never against the constant the sender uses (which is what is being checked).
PLATFORM_MAX_BYTES = {"wecom": 4096, "dingtalk": 20000}


async def test_a_big_backlog_goes_out_in_digests_that_fit(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(20, 60.0))
    out = sender(db, clock, transport)
    long_text = "通知" * 120  # ~720 bytes each
    async with db.uow() as uow:
        await write_all(uow, [Envelope("fake", "g1", "group", Message.plain(f"{i}:{long_text}").to_dict())
                              for i in range(60)], clock())
    for _ in range(40):
        await out.flush()
        clock.advance(seconds=5)
    smallest = min(PLATFORM_MAX_BYTES.values())
    assert len(transport.sent) > 1, "a backlog this size needs several digests"
    assert all(len(d.message.text.encode()) <= smallest for d in transport.sent), \
        max(len(d.message.text.encode()) for d in transport.sent)
    delivered = "\n".join(d.message.text for d in transport.sent)
    assert all(f"{i}:{long_text}" in delivered for i in range(60))
    assert set(await statuses(db)) <= {"SENT", "MERGED"}


async def test_a_refused_digest_marks_its_rows_dead_not_delivered(db: Database, clock: Clock) -> None:
    transport = FakeTransport(RateLimit(2, 60.0))
    transport.fail_permanent = True
    out = sender(db, clock, transport)
    await put(db, clock, 5)
    await out.flush()
    assert await statuses(db) == ["PARKED"] * 5


async def test_a_row_reclaimed_by_another_sender_is_not_settled_twice(db: Database, clock: Clock) -> None:
    """Sender A's pass outlives its claim; sender B reclaims and sends; A's late outcome is ignored."""
    from storage.outbox import claim_due

    await put(db, clock, 1, chat="u1", chat_type="single")
    async with db.uow() as uow:
        [stale] = await claim_due(uow, clock())  # sender A claimed it and is still busy
    clock.advance(minutes=16)
    b = FakeTransport()
    await sender(db, clock, b).flush()  # sender B takes it over and delivers
    assert len(b.sent) == 1
    a = sender(db, clock, FakeTransport())
    await a._settle([stale], OutboxStatus.PENDING, retry_in=1.0)  # A finally reports a failure
    assert await statuses(db) == ["SENT"]


async def test_a_decided_card_replaces_a_copy_that_never_arrived(db: Database, clock: Clock) -> None:
    transport = FakeTransport()
    transport.fail_transient = 1
    out = sender(db, clock, transport)
    card = Message(kind="card", text="审批 #1", card=Card("审批 #1", "…"), card_key="appr:7")
    await put(db, clock, 1, chat="m1", chat_type="single", message=card)
    await out.flush()  # the live card fails once and waits for its retry
    closed = Message(kind="card", text="审批 #1：通过", card=Card("审批 #1：通过", "…", closed=True),
                     card_key="appr:7")
    await put(db, clock, 1, chat="m1", chat_type="single", message=closed, op="update")
    for _ in range(3):  # the decision is due now, the live card's retry only later
        await out.flush()
        clock.advance(seconds=5)
    assert [d.message.card.closed for d in transport.sent] == [True]  # type: ignore[union-attr]
    assert await statuses(db) == ["MERGED", "SENT"]


async def test_two_instances_share_one_robots_twenty_per_minute(db: Database, clock: Clock) -> None:
    """The window lives in the database: what one instance sent counts for the other (both databases)."""
    limit = RateLimit(20, 60.0)
    a_transport, b_transport = FakeTransport(limit), FakeTransport(limit)
    a, b = sender(db, clock, a_transport), sender(db, clock, b_transport)
    await put(db, clock, 15)
    assert await a.flush() == 15  # within the budget: one message each
    clock.advance(seconds=10)
    await put(db, clock, 15)
    await b.flush()  # B has sent nothing itself, but the robot has only 5 sends left this minute
    for _ in range(6):  # both keep polling within the same minute
        await asyncio.gather(a.flush(), b.flush())
        clock.advance(seconds=5)
    sends = a_transport.sent + b_transport.sent
    assert len(sends) <= 20, len(sends)
    delivered = "\n".join(d.message.text for d in sends)
    assert all(f"通知 {i}" in delivered for i in range(15))
    assert set(await statuses(db)) <= {"SENT", "MERGED"}


async def test_instances_polling_together_never_exceed_the_shared_window(db: Database, clock: Clock) -> None:
    limit = RateLimit(20, 60.0)
    transports = [FakeTransport(limit) for _ in range(3)]
    senders = [sender(db, clock, t) for t in transports]
    for _ in range(4):  # 4 × 10 single cards (never merged), each instance racing for them
        card = Message(kind="card", text="审批", card=Card("审批", "…"))
        await put(db, clock, 10, message=card)
        await asyncio.gather(*(s.flush() for s in senders))
        clock.advance(seconds=2)
    sent_in_window = sum(len(t.sent) for t in transports)
    assert sent_in_window == 20, sent_in_window  # the budget is used, and not exceeded
    clock.advance(seconds=61)
    for _ in range(3):
        await asyncio.gather(*(s.flush() for s in senders))
    assert sum(len(t.sent) for t in transports) == 40
    assert set(await statuses(db)) == {"SENT"}
