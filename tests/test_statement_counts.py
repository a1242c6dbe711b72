"""The SQL statements the hot commands cost, so that a return to one query per line, per relation
or per event (an N+1) fails here. Counts, not timings.

Counted are the command's own statements: those of the inbox, the outbox and the local mailbox
(the transaction's frame, whatever its shape) and transaction control are left out.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import Bot

#: the frame every event has, whatever the command: not the command's cost
FRAME = re.compile(r"\b(inbox|outbox|local_messages)\b")
CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


@contextmanager
def command_statements(bot: Bot) -> Iterator[list[str]]:
    """The statements sent to the app's database meanwhile (by its engine and by ``Database.read``'s reader
    threads on SQLite), frame and transaction control left out."""
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not FRAME.search(statement) and not CONTROL.match(statement):
            seen.append(" ".join(statement.split())[:90])

    engines = [bot.db.engine.sync_engine, *([bot.db.read.thread_engine] if bot.db.read.thread_engine else [])]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_execute)


@pytest.fixture(autouse=True)
def _long_identity_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    # a loaded machine may take seconds between two commands; these tests count statements, not the TTL
    monkeypatch.setattr("bot.identity.IDENTITY_TTL", 600.0)
    monkeypatch.setattr("storage.catalog_units.UNITS_TTL", 600.0)


async def test_a_repeated_order_query_is_two_statements(team: Bot) -> None:
    await team.text("w1", "/入库 A100 10", chat="wh")  # a stock-tracked line: its shortage is looked up too
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 B200×1@150 C300×4@20 交期12-15")
    assert "#1" in await team.text("u1", "/跟进 #1 客户催货")
    await team.text("u1", "/查单 #1")  # this sender in this chat is known from here on
    with command_statements(team) as seen:
        reply = await team.text("u1", "/查单 #1")
    assert reply.startswith("#1 ") and "华为" in reply and "C300" in reply, reply
    # the order with its customer, owner and lines; its history; the stock of its one stocked product and
    # the orders waiting for it: no statement per line, per relation or for the owner's roles
    # (before: order, lines, customer, owner, owner's roles, history, … each a statement of its own)
    assert len(seen) <= 4, seen


async def test_an_order_query_without_stocked_products_is_two_statements(team: Bot) -> None:
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 B200×1@150 交期12-15")
    await team.text("u1", "/查单 #1")
    with command_statements(team) as seen:
        assert (await team.text("u1", "/查单 #1")).startswith("#1 ")
    assert len(seen) == 2, seen  # before: 6


async def test_a_new_order_costs_no_statement_per_line(team: Bot) -> None:
    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")  # 华为 and u1 known from here on
    with command_statements(team) as two:
        assert (await team.text("u1", "/下单 华为 A100×2@300 B200×1@150 交期12-15")).startswith("#2 ")
    with command_statements(team) as four:
        reply = await team.text("u1", "/下单 华为 A100×2@300 B200×1@150 C300×1@10 D400×1@10 交期12-15")
    assert reply.startswith("#3 "), reply
    # customer, products (all lines in one), counter, order (inserted once, in its final state), its lines (all
    # in one, on both databases), audit (all events in one), the subscribed groups (all topics in one); the
    # owner is the actor, known already
    # (before session 7: 11 on SQLite, 9 on PostgreSQL: the lines one by one on SQLite, the owner and their roles
    # read, the order inserted as a DRAFT and then updated to its state; before that 19 and 16: a units reader,
    # up to three product look-ups per line, the order reloaded with its owner and the owner's roles, one
    # subscription look-up per event)
    assert len(two) <= 7, (len(two), two)
    assert not any("DISTINCT products.unit" in s for s in two), two  # the units came from the cache
    assert not any(s.startswith("UPDATE orders") for s in two), two  # written once, as it ends up
    # two more lines add no statement; counted as a multiset, so a per-line statement shows
    extra = Counter(four) - Counter(two)
    assert not extra, (two, four)


async def test_a_product_added_here_is_seen_by_the_next_order_at_once(team: Bot) -> None:
    """The units cache is emptied by a change of products committed in this process (no waiting for its TTL)."""
    from storage.models import Product

    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")  # units read and kept: none yet
    async with team.db.uow() as uow:
        uow.session.add(Product(sku="SC-1", name="门卡", unit="卡", price=20, stock=50, track_stock=True))
    reply = await team.text("u1", "/下单 华为 SC-1 3卡 交期12-15")
    assert "· SC-1(门卡) ×3卡 @¥20 = ¥60" in reply, reply


async def test_a_unit_another_process_added_a_moment_ago_is_parsed_not_misread(team: Bot) -> None:
    """The units cache may be seconds old for another process's change (no in-process signal): a word after a
    number that no cached unit begins makes the command read the units afresh, so ``SC-1 3卡`` is a line, not a
    new customer called 「华为 SC-1 3卡」 with an empty draft."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from sqlalchemy import insert

    from storage.models import Product

    assert "#1" in await team.text("u1", "/下单 华为 A100×2@300 交期12-15")  # the units read and cached
    await asyncio.sleep(0.6)  # older than the "just read" window: the cache is what this process relies on
    async with team.db.engine.begin() as conn:  # as another process writes: no ORM session, no version bump
        await conn.execute(insert(Product.__table__).values(
            sku="SC-1", name="门卡", unit="卡", price=Decimal(20), stock=Decimal(50), track_stock=True,
            created_at=datetime.now(UTC)))
    reply = await team.text("u1", "/下单 华为 SC-1 3卡 交期12-15")
    assert "· SC-1(门卡) ×3卡 @¥20 = ¥60" in reply, reply
    assert "新客户" not in reply, reply


async def test_a_sku_typed_exactly_is_never_swapped_for_its_case_variant(team: Bot) -> None:
    """SKUs are unique as typed, so ``AB-1`` and ``ab-1`` may both exist: the one typed is the one ordered,
    and a case-folded match between two is a question, not a guess."""
    from storage.models import Product

    async with team.db.uow() as uow:
        uow.session.add_all([Product(sku="AB-1", name="大门", unit="樘", price=100, stock=0, track_stock=False),
                             Product(sku="ab-1", name="小门", unit="樘", price=50, stock=0, track_stock=False)])
    assert "ab-1(小门) ×2" in await team.text("u1", "/下单 华为 ab-1×2@50 交期12-15")
    assert "AB-1(大门) ×1" in await team.text("u1", "/下单 华为 AB-1×1@100 交期12-15")
    asked = await team.text("u1", "/下单 华为 Ab-1×1@100 交期12-15")
    assert "AB-1" in asked and "ab-1" in asked and "#3" not in asked, asked
