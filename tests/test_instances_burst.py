"""Two ``gendan serve`` processes on one PostgreSQL database under the same burst of 200 AI-bot callbacks.

Behind a load balancer WeCom's re-sends of one callback may reach either instance, even both at once.
Here every callback goes to both instances concurrently, and a third copy to one of them afterwards:
each message must end with exactly one order and exactly one answer, whichever instance won it.
(Reminders claimed by two instances at once: ``tests/test_schedule_instances.py``.)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import InboxEvent, Order, OutboxMessage
from tests.conftest import PG_URL, fresh_pg_database
from tests.fakes.wecom_server import FakeWeCom
from tests.test_kill9 import BURST, Server, post

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                       reason="several instances share one PostgreSQL database; set GENDAN_TEST_DATABASE_URL"),
]


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database both processes use (dropped afterwards)."""
    async with fresh_pg_database("burst2") as url:
        yield url


async def answers(fake: FakeWeCom, want: int, within: float) -> dict[str, int]:
    """response_code → how many answers it got, once ``want`` codes are answered or ``within`` seconds passed."""
    deadline = asyncio.get_running_loop().time() + within
    answered: dict[str, int] = {}
    while asyncio.get_running_loop().time() < deadline:
        answered = {}
        for call in fake.accepted("aibot/response"):
            code = call.query.get("response_code", "")
            answered[code] = answered.get(code, 0) + 1
        if len(answered) >= want:
            await asyncio.sleep(2.0)  # a double would come right after: give it the chance to show
            break
        await asyncio.sleep(0.2)
    answered = {}
    for call in fake.accepted("aibot/response"):
        code = call.query.get("response_code", "")
        answered[code] = answered.get(code, 0) + 1
    return answered


async def test_two_instances_under_one_burst_never_double_an_order_or_an_answer(
        database_url: str, tmp_path: Path) -> None:
    async with FakeWeCom() as fake:
        one = Server(database_url, fake.url, tmp_path / "one.log")
        two = Server(database_url, fake.url, tmp_path / "two.log")
        try:
            await asyncio.gather(one.start(), two.start())
            gate = asyncio.Semaphore(32)
            rng = random.Random(7)

            async def both(i: int, http: aiohttp.ClientSession) -> tuple[bool, bool, bool]:
                async with gate:
                    a, b = await asyncio.gather(post(http, one.port, i), post(http, two.port, i))
                    again = await post(http, rng.choice([one, two]).port, i)
                    return a, b, again

            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                acks = await asyncio.gather(*(both(i, http) for i in range(BURST)))
            # every copy is acknowledged: a copy already recorded by the other instance is a duplicate, not an error
            assert all(all(a) for a in acks)
            answered = await answers(fake, BURST, within=120)
            assert sorted(answered) == sorted(f"R{i}" for i in range(BURST)), \
                f"missing: {sorted({f'R{i}' for i in range(BURST)} - set(answered))[:10]}"
            assert {code: n for code, n in answered.items() if n != 1} == {}
            db = Database(database_url)
            try:
                async with db.reader() as uow:
                    s = uow.session
                    orders = (await s.execute(select(func.count()).select_from(Order))).scalar_one()
                    customers = (await s.execute(select(func.count(func.distinct(Order.customer_id))))).scalar_one()
                    inbox_rows = (await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one()
                    done = (await s.execute(select(func.count()).select_from(InboxEvent)
                                            .where(InboxEvent.status == "DONE"))).scalar_one()
                    replies = (await s.execute(select(OutboxMessage.reply_to, func.count())
                                               .where(OutboxMessage.reply_to.is_not(None))
                                               .group_by(OutboxMessage.reply_to))).all()
                    owners = (await s.execute(select(InboxEvent.lease_owner, func.count())
                                              .group_by(InboxEvent.lease_owner))).all()
            finally:
                await db.dispose()
            assert (orders, customers, inbox_rows, done) == (BURST, BURST, BURST, BURST)
            assert [r for r in replies if r[1] != 1] == []
            # both instances won some of the events: otherwise this would say nothing about two instances
            assert len([owner for owner, n in owners if owner and n]) == 2, owners
        finally:
            one.stop()
            two.stop()
