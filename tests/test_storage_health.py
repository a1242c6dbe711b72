"""``storage.health`` (what /metrics reads) and ``storage.outbox.delivered`` (what ``gendan chat`` reads), directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.health import QueueHealth, queue_health
from storage.models import InboxEvent, LocalMessage, Person, Reminder
from storage.outbox import delivered

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def test_queue_health_of_an_empty_database_is_empty(db: Database) -> None:
    async with db.reader() as uow:
        assert await queue_health(uow, NOW) == QueueHealth({}, None, {}, None)


async def test_queue_health_counts_inbox_and_the_oldest_due_reminder(db: Database) -> None:
    async with db.uow() as uow:
        p = Person(platform="local", user_id="u1", name="张三")
        uow.session.add(p)
        await uow.session.flush()
        uow.session.add_all([
            Reminder(kind="custom", due_at=NOW - timedelta(minutes=10), person_id=p.id, text="due"),
            Reminder(kind="custom", due_at=NOW - timedelta(hours=2), person_id=p.id, text="sent", status="SENT"),
            Reminder(kind="custom", due_at=NOW + timedelta(minutes=1), person_id=p.id, text="later"),
            InboxEvent(platform="local", event_id="e1", payload={}, status="PENDING"),
            InboxEvent(platform="local", event_id="e2", payload={}, status="PENDING"),
            InboxEvent(platform="local", event_id="e3", payload={}, status="FAILED"),
            InboxEvent(platform="local", event_id="e4", payload={}, status="DONE"),
        ])
    async with db.reader() as uow:
        health = await queue_health(uow, NOW)
    assert health.inbox == {"PENDING": 2, "FAILED": 1}
    assert health.oldest_due_reminder == NOW - timedelta(minutes=10)
    assert health.oldest_due_reminder.tzinfo is not None
    assert health.outbox == {} and health.oldest_undelivered is None


async def test_transcript_of_the_given_chats_after_an_id(db: Database) -> None:
    async with db.uow() as uow:
        rows = [LocalMessage(chat_id=chat, message={"text": text}) for chat, text in
                [("g1", "a"), ("u1", "b"), ("g2", "c"), ("g1", "d")]]
        uow.session.add_all(rows)
        await uow.session.flush()
        ids = [r.id for r in rows]
    async with db.reader() as uow:
        assert [m.message["text"] for m in await delivered(uow, ("g1", "u1"))] == ["a", "b", "d"]
        assert [m.message["text"] for m in await delivered(uow, ("g1", "u1"), ids[1])] == ["d"]
        assert await delivered(uow, ("g1",), ids[3]) == []
