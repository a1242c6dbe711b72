"""PostgreSQL: a pooled connection the server closed is replaced at checkout, without a ping per checkout."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import Database
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: GENDAN_TEST_DATABASE_URL is not set")


async def _pid(db: Database) -> int:
    async with db.reader() as uow:
        return int((await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_the_server_closed_is_replaced_at_checkout() -> None:
    db = Database(PG_URL)
    admin = create_async_engine(PG_URL)
    try:
        first = await _pid(db)
        assert await _pid(db) == first  # the pool hands out the same connection again
        async with admin.connect() as conn:  # what a restart or an idle timeout does to it
            assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})).scalar_one()
        await asyncio.sleep(0.2)  # the loop reads the close
        assert await _pid(db) != first  # no error: another connection was taken
    finally:
        await db.dispose()
        await admin.dispose()


def test_no_ping_per_checkout() -> None:
    assert not Database(PG_URL).engine.sync_engine.pool._pre_ping
