"""The outbox through a platform outage, and messages that can never be delivered.

The fake WeCom runs on the test's clock, so a 45-second outage and the minute after it
pass in a few real seconds; the sender is driven pass by pass, one simulated second apart
(the real sender polls every 2 s and looks again at once after any progress).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import DISPATCHER, SENDER
from bot.cli import _outbox
from storage.models import OutboxMessage
from tests.conftest import Clock, make_settings
from tests.fakes.wecom_harness import World, open_world

OUTAGE = 45.0
#: the issue's promise: the last reply within a minute of the platform's return
RESUME_WITHIN = 60.0


@pytest.fixture
async def world(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[World]:
    async with open_world(db_url, clock) as w:
        yield w


async def drain(w: World) -> None:
    """What the background sender does at one poll: passes until nothing more goes."""
    await w.app[DISPATCHER].drain()
    while await w.app[SENDER].flush():
        pass


async def test_a_45_second_outage_delivers_every_reply_once_in_order_within_a_minute(
        world: World, clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    w = world
    start = clock.now.timestamp()
    w.fake.outage("message/send", start, start + OUTAGE)
    for i in range(1, 9):  # eight commands in one 1:1 chat, acknowledged during the outage
        assert await w.say("zhangsan", f"/下单 客户{i} A100×{i}@10 交期12-15") == 200
        clock.advance(seconds=5)
    assert w.texts_to("zhangsan") == []
    tried = w.fake.calls_to("message/send")
    # it kept trying, and only the chat's earliest reply: the later ones wait behind it
    assert len(tried) >= 3 and all("#1 " in str(c.json) for c in tried), tried
    back = start + OUTAGE
    while clock.now.timestamp() < back + 3 * RESUME_WITHIN and len(w.texts_to("zhangsan")) < 8:
        clock.advance(seconds=1)
        await drain(w)
    replies = w.texts_to("zhangsan")
    numbers = [int(m.group(1)) for r in replies for m in [re.search(r"#(\d+)", r)] if m]
    assert numbers == list(range(1, 9)), replies  # each once, in the order they were asked
    last = max(c.at for c in w.fake.accepted("message/send"))
    with capsys.disabled():
        print(f"\n45 s outage: the last of 8 replies {last - back:.0f} s (simulated) after the platform came back")
    assert last - back <= RESUME_WITHIN, f"last reply {last - back:.0f} s after the platform came back"
    for _ in range(5):  # nothing more goes out later
        clock.advance(seconds=60)
        await drain(w)
    assert len(w.fake.accepted("message/send")) == 8
    assert await w.outbox_status() == {"SENT": 8}


async def test_later_messages_of_a_chat_wait_behind_its_earliest_undelivered_one(
        world: World, clock: Clock) -> None:
    w = world
    w.fake.fail("message/send", -1, times=1)  # only the first try of the first reply fails
    await w.say("zhangsan", "/下单 客户1 A100×1@10 交期12-15")
    await w.say("zhangsan", "/下单 客户2 A100×2@10 交期12-15")
    await w.say("lisi", "/下单 客户3 A100×3@10 交期12-15")
    # the second reply waits for the first; another chat does not
    assert w.texts_to("zhangsan") == [] and len(w.texts_to("lisi")) == 1
    for _ in range(10):
        clock.advance(seconds=1)
        await drain(w)
    texts = w.texts_to("zhangsan")
    assert ["#1" in texts[0], "#2" in texts[1]] == [True, True], texts


async def test_an_undeliverable_message_is_parked_counted_listed_and_retried_by_an_admin(
        world: World, clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    w = world
    w.fake.invalid_users.add("lisi")  # left the company: WeCom lists them as an invalid user
    await w.say("lisi", "/下单 客户1 A100×1@10 交期12-15")
    await w.say("zhangsan", "/下单 客户2 A100×2@10 交期12-15")
    assert await w.outbox_status() == {"PARKED": 1, "SENT": 1}
    for _ in range(5):  # parked: not retried
        clock.advance(seconds=600)
        await drain(w)
    assert len(w.fake.calls_to("message/send")) == 2
    metrics = await (await w.client.get("/metrics")).text()
    assert 'gendan_outbox_rows{status="PARKED"} 1.0' in metrics
    # the CLI's function, given the app's database (each test has its own schema, which a URL cannot name)
    db, settings = w.db, make_settings("sqlite+aiosqlite://")
    assert await _outbox(settings, "list", None, False, db=db) == 0
    listing = capsys.readouterr().out
    [parked_id] = [int(line.split("\t")[0]) for line in listing.splitlines()]
    assert "wecom:lisi" in listing and "visible range" in listing
    assert await _outbox(settings, "retry", 999_999, False, db=db) == 1
    w.fake.invalid_users.clear()  # HR fixed the account
    assert await _outbox(settings, "retry", parked_id, False, db=db, now=clock()) == 0
    await drain(w)
    assert len(w.texts_to("lisi")) == 2  # WeCom took the first call too, only listing lisi as invalid
    assert await w.outbox_status() == {"SENT": 2}
    assert await w.count(OutboxMessage, OutboxMessage.status == "PARKED") == 0
