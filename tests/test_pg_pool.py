"""PostgreSQL: a pooled connection the server closed is replaced at checkout, without a ping per checkout."""

from __future__ import annotations

import asyncio
import secrets

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


async def test_a_deadlock_is_a_conflict_to_try_again_not_an_internal_error() -> None:
    # two writers each holding a row the other wants: PostgreSQL gives one up (40P01), which changed
    # nothing; the person whose command it was must hear "try again", not an internal error
    from storage.conflicts import DatabaseBusy, WriteConflict

    db = Database(PG_URL)
    table = "deadlock_" + secrets.token_hex(4)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (id int PRIMARY KEY, v int)"))
            await conn.execute(text(f"INSERT INTO {table} VALUES (1, 0), (2, 0)"))
        holding = [asyncio.Event(), asyncio.Event()]

        async def writer(first: int, second: int, me: int) -> BaseException | None:
            try:
                async with db.uow() as uow:
                    await uow.session.execute(text(f"UPDATE {table} SET v = v + 1 WHERE id = :i"), {"i": first})
                    holding[me].set()
                    await holding[1 - me].wait()
                    await uow.session.execute(text(f"UPDATE {table} SET v = v + 1 WHERE id = :i"), {"i": second})
            except BaseException as exc:
                return exc
            return None

        outcomes = await asyncio.gather(writer(1, 2, 0), writer(2, 1, 1))
        failed = [o for o in outcomes if o is not None]
        assert len(failed) == 1, outcomes
        assert isinstance(failed[0], DatabaseBusy) and isinstance(failed[0], WriteConflict), repr(failed[0])
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await db.dispose()
