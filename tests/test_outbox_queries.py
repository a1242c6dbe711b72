"""The queue's look-ups for handlers and the local mailbox (``storage/outbox.py``)."""

from __future__ import annotations

from storage import outbox
from storage.db import Database
from storage.models import Chat
from storage.models.messaging import OutboxStatus
from storage.outbox import Envelope
from storage.outgoing import write_all
from tests.conftest import Clock


def card(key: str) -> dict[str, object]:
    return {"kind": "card", "text": key, "card_key": key}


async def test_the_chats_a_card_was_sent_to_and_a_key_written_once(db: Database, clock: Clock) -> None:
    async with db.uow() as uow:
        await write_all(uow, [Envelope("wecom", "g1", "group", card("ap:1"), card_key="ap:1"),
                              Envelope("wecom", "g1", "group", card("ap:1"), card_key="ap:1"),
                              Envelope("wecom", "u1", "single", card("ap:1"), card_key="ap:1"),
                              Envelope("wecom", "g2", "group", card("ap:1"), op="update", card_key="ap:1"),
                              Envelope("wecom", "g3", "group", card("ap:2"), card_key="ap:2"),
                              Envelope("wecom", "u2", "single", {"kind": "text", "text": "x"}, event_key="short:1")],
                clock())
    async with db.reader() as uow:
        assert sorted(await outbox.card_chats(uow, "ap:1")) == [("wecom", "g1", "group"), ("wecom", "u1", "single")]
        assert await outbox.card_chats(uow, "ap:9") == []
        assert await outbox.already_written(uow, "short:1", "wecom", "u2")
        assert not await outbox.already_written(uow, "short:1", "wecom", "u3")
        assert not await outbox.already_written(uow, "short:2", "wecom", "u2")


async def test_group_webhooks_only_for_the_chats_asked_that_have_one(db: Database) -> None:
    async with db.uow() as uow:
        uow.session.add_all([Chat(platform="wecom", chat_id="g1", chat_type="group", webhook_url="https://h/1"),
                             Chat(platform="dingtalk", chat_id="g1", chat_type="group", webhook_url="https://h/2"),
                             Chat(platform="wecom", chat_id="g2", chat_type="group")])
    async with db.reader() as uow:
        found = await outbox.group_webhooks(uow, {("wecom", "g1"), ("wecom", "g2")})
        assert {k: c.webhook_url for k, c in found.items()} == {("wecom", "g1"): "https://h/1"}
        assert await outbox.group_webhooks(uow, set()) == {}


async def test_card_copies_and_superseded_sends(db: Database, clock: Clock) -> None:
    await outbox.add_card_copy(db, "ap:1", "wecom", "g1", {"msgid": "m1"}, clock())
    copies = await outbox.card_copies(db, "ap:1", "wecom", "g1")
    assert [c.ref for c in copies] == [{"msgid": "m1"}]
    await outbox.replace_card_ref(db, copies[0].id, {"msgid": "m2"})
    assert [c.ref for c in await outbox.card_copies(db, "ap:1", "wecom", "g1")] == [{"msgid": "m2"}]
    assert await outbox.card_copies(db, "ap:1", "wecom", "g2") == []
    async with db.uow() as uow:
        await write_all(uow, [Envelope("wecom", "g2", "group", card("ap:1"), card_key="ap:1"),
                              Envelope("wecom", "g3", "group", card("ap:1"), card_key="ap:1")], clock())
    await outbox.supersede_unsent(db, "ap:1", "wecom", "g2", by=99, now=clock())
    async with db.uow() as uow:
        claimed = {r.chat_id: r for r in await outbox.claim_due(uow, clock(), owner="me")}
    assert set(claimed) == {"g3"}  # g2's send was merged into the decided version


async def test_the_local_mailbox(db: Database) -> None:
    first = await outbox.store_local(db, "c1", {"kind": "text", "text": "a"}, None, closed=False)
    card_row = await outbox.store_local(db, "c1", card("q:1"), "q:1", closed=False)
    await outbox.store_local(db, "c2", {"kind": "text", "text": "b"}, None, closed=False)
    await outbox.replace_local(db, card_row, {**card("q:1"), "text": "decided"}, closed=True)
    mailbox = await outbox.local_mailbox(db, "c1")
    assert [(r.id, r.message["text"], r.closed) for r in mailbox] == [(first, "a", False), (card_row, "decided", True)]


async def test_settle_reports_the_ages_of_rows_sent(db: Database, clock: Clock) -> None:
    async with db.uow() as uow:
        await write_all(uow, [Envelope("wecom", "g1", "group", {"kind": "text", "text": str(i)}) for i in range(2)],
                        clock())
    clock.advance(seconds=3)
    async with db.uow() as uow:
        rows = await outbox.claim_due(uow, clock(), owner="me")
    assert await outbox.settle(db, rows[:1], OutboxStatus.SENT, clock()) == [3.0]
    assert await outbox.settle(db, rows[1:], OutboxStatus.PARKED, clock(), error="refused") == []
    assert await outbox.settle(db, rows[:1], OutboxStatus.SENT, clock()) == []  # settled already: not ours
    async with db.reader() as uow:
        assert [r.last_error for r in await outbox.parked(uow)] == ["refused"]
