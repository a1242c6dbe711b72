"""A conflict leaves a unit of work as storage's own exception (``storage.conflicts``), rolled back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from storage import db as storage_db
from storage.conflicts import DatabaseBusy, DuplicateRow, StaleRow, WriteConflict
from storage.db import Database
from storage.models import KeyValue


async def test_a_duplicate_key_at_commit_is_a_duplicate_row(db: Database) -> None:
    async with db.uow() as uow:
        uow.session.add(KeyValue(key="k", value="1"))
    with pytest.raises(DuplicateRow) as raised:
        async with db.uow() as uow:
            uow.session.add(KeyValue(key="k", value="2"))
    assert isinstance(raised.value, WriteConflict)
    assert isinstance(raised.value, IntegrityError)  # callers still catching SQLAlchemy's class keep working
    assert isinstance(raised.value.__cause__, IntegrityError)
    async with db.reader() as uow:
        assert [r.value for r in (await uow.session.execute(select(KeyValue))).scalars()] == ["1"]


async def test_a_driver_error_raised_in_the_transaction_leaves_as_storage_s_own(db: Database) -> None:
    cases: list[tuple[BaseException, type[WriteConflict]]] = [
        (IntegrityError("INSERT", {}, Exception("duplicate key")), DuplicateRow),
        (OperationalError("UPDATE", {}, Exception("database is locked")), DatabaseBusy),
        (StaleDataError("UPDATE statement on table 'orders' expected to update 1 row(s); 0 were matched."),
         StaleRow),
    ]
    for raised_inside, expected in cases:
        with pytest.raises(expected) as raised:
            async with db.uow() as uow:
                uow.session.add(KeyValue(key="never", value="x"))
                raise raised_inside
        assert raised.value.__cause__ is raised_inside
        assert str(raised_inside.args[0]) in str(raised.value)
    async with db.reader() as uow:
        assert list((await uow.session.execute(select(KeyValue))).scalars()) == []  # all rolled back


async def test_other_errors_pass_unchanged(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.uow():
            raise RuntimeError("boom")


async def test_a_writer_that_waits_too_long_is_told_the_database_is_busy(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_db, "WRITE_QUEUE_TIMEOUT", 0.2)
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/gate.db")
    try:
        async with db.uow():
            with pytest.raises(DatabaseBusy, match="database is locked"):
                async with db.uow():
                    pass
    finally:
        await db.dispose()
