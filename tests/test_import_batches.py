"""A historic-order import in short bulk transactions (storage/services/import_batch.py): the same rows as
the per-row import wrote, nothing left behind by a failure or a killed import, other writers let in."""

from __future__ import annotations

import collections
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, func, select, text

from bot.app import create_app
from storage.db import Database
from storage.migrate import upgrade
from storage.models import KeyValue, Order, Product, StockMove
from storage.services import bulk_writes, import_batch, people
from storage.services.base import next_number
from tests.conftest import Clock, make_settings
from tests.import_golden import GOLDEN, dump, import_all

ORDERS_IN_FILE = 93


async def count_orders(db: Database) -> int:
    async with db.reader() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Order))).scalar_one())


async def batches(db: Database) -> list[str]:
    async with db.reader() as uow:
        stmt = select(KeyValue.key).where(KeyValue.key.startswith(import_batch.PREFIX))
        return list((await uow.session.execute(stmt)).scalars())


async def import_watched(db: Database, folder: Path, listener: Callable[..., None]) -> list[tuple[str, int]]:
    """The three imports, with ``listener`` seeing every statement; each must succeed."""
    event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
    try:
        results = await import_all(db, folder)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
    assert [status for _, status in results] == [0, 0, 0], results
    return results


def hook(monkeypatch: pytest.MonkeyPatch, action: Callable[[int], Awaitable[None]]) -> None:
    """Chunks of 10 orders (the file has 93), ``action`` after each committed one."""
    monkeypatch.setattr(import_batch, "CHUNK_ORDERS", 10)
    monkeypatch.setattr(import_batch, "TARGET_S", None)
    monkeypatch.setattr(import_batch, "SQLITE_PAUSE_S", 0.0)
    monkeypatch.setattr(import_batch, "after_chunk", action)


async def test_the_batch_import_writes_exactly_the_rows_the_per_row_import_wrote(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row of every table the import touches, ids included, against the per-row import's dump
    (tests/import_golden.py), in chunks smaller than the file so that chunk boundaries are crossed."""
    monkeypatch.setattr(import_batch, "CHUNK_ORDERS", 7)
    monkeypatch.setattr(import_batch, "TARGET_S", None)
    results = await import_all(db, tmp_path)
    assert [status for _, status in results] == [0, 0, 0], results
    assert f"新增订单 {ORDERS_IN_FILE}" in results[-1][0]
    assert await dump(db) == json.loads(GOLDEN.read_text())


async def test_each_table_of_a_chunk_is_one_multi_row_statement_not_one_per_row(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """asyncpg runs an executemany as one statement per row, and PostgreSQL fires the statement-level
    triggers of the kept figures (line progress, finished counts, sales_days) once per statement: an
    import written that way ran them for every row (three to eight minutes for 100,000 rows). On
    PostgreSQL every table of a chunk is written by one statement carrying its rows."""
    monkeypatch.setattr(import_batch, "CHUNK_ORDERS", 50)
    monkeypatch.setattr(import_batch, "TARGET_S", None)
    inserts: list[tuple[str, bool]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: object, _ctx: object, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO") and "kv" not in statement.split("(")[0]:
            # an executemany carries one parameter set per row; a multi-row statement one flat set
            per_row = many and isinstance(params, list | tuple) and isinstance(params[0], list | tuple | dict)
            inserts.append((statement.split()[2], per_row))

    await import_watched(db, tmp_path, seen)
    written = [(table, many) for table, many in inserts
               if table in {"orders", "order_lines", "shipments", "shipment_lines", "payments", "audit_events"}]
    assert {table for table, _ in written} >= {"orders", "order_lines", "audit_events"}
    if db.engine.dialect.name == "sqlite":  # SQLite runs an executemany in one call, and has only row triggers
        return
    assert [table for table, per_row in written if per_row] == []  # asyncpg: a statement per row
    # two chunks of at most 50 orders: one statement per table and chunk
    assert collections.Counter(table for table, _ in written) <= collections.Counter(dict.fromkeys(
        ("orders", "order_lines", "shipments", "shipment_lines", "payments", "audit_events"), 2)), written


async def test_postgresql_statistics_are_refreshed_as_an_import_fills_an_empty_database(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept figures' triggers plan their order lookups once per connection; planned against a nearly
    empty ``orders`` they scanned the whole table for every chunk of a large first import. The import
    analyses the tables it fills whenever it has written over twice what the planner believes is there:
    93 orders from 10 on, so at 10-19, again past twice that, … — a few times, not once per chunk."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite's planner keeps no row counts that go stale during an import; PostgreSQL only")
    monkeypatch.setattr(import_batch, "CHUNK_ORDERS", 10)
    monkeypatch.setattr(import_batch, "TARGET_S", None)
    monkeypatch.setattr(bulk_writes, "ANALYZE_FROM", 10)
    analyses: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("ANALYZE"):
            analyses.append(statement)

    await import_watched(db, tmp_path, seen)
    assert 2 <= len(analyses) <= 4, analyses  # 10 → 20 → 50 (say): doubling, never every chunk
    assert all("orders" in a and "order_lines" in a and "shipments" in a and "payments" in a for a in analyses)
    async with db.reader() as uow:
        believed = (await uow.session.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'orders'::regclass"))).scalar_one()
    assert believed * 2 >= ORDERS_IN_FILE  # the last ANALYZE saw at least half of them


async def test_a_failing_analyze_is_logged_once_and_the_import_goes_on(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """ANALYZE is an aid: when it fails (here a table that is not there; in life a lock held by a manual
    VACUUM, a timeout, a role that may not analyse) the import keeps every order and stops trying
    (found in review: the failure undid the whole import)."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("the import analyses on PostgreSQL only")
    monkeypatch.setattr(import_batch, "CHUNK_ORDERS", 10)
    monkeypatch.setattr(import_batch, "TARGET_S", None)
    monkeypatch.setattr(bulk_writes, "ANALYZE_FROM", 10)
    monkeypatch.setattr(bulk_writes, "FILLED", ("orders", "no_such_table"))
    caplog.set_level(logging.WARNING, "gendan.import")
    results = await import_all(db, tmp_path)
    assert [status for _, status in results] == [0, 0, 0], results
    assert await count_orders(db) == ORDERS_IN_FILE
    failed = [r for r in caplog.records if "ANALYZE" in r.getMessage()]
    assert len(failed) == 1 and "failed" in failed[0].getMessage(), [r.getMessage() for r in caplog.records]


async def test_a_failure_in_the_middle_leaves_no_order_behind(db: Database, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    async def fail_on_third(k: int) -> None:
        seen.append(await count_orders(db))
        if k == 2:
            raise OSError("disk full")

    hook(monkeypatch, fail_on_third)
    with pytest.raises(OSError, match="disk full"):
        await import_all(db, tmp_path, trim=True)
    assert seen == [10, 20, 30]  # three chunks were committed before the failure ...
    assert await count_orders(db) == 0  # ... and undone
    assert await batches(db) == []
    left = await dump(db)
    # no row in any table the import writes; its block of numbers stays taken (numbers are never reused)
    assert left.pop("counters") == [{"name": "order", "value": ORDERS_IN_FILE}]
    assert left == {table: [] for table in left}
    monkeypatch.setattr(import_batch, "after_chunk", None)
    (tmp_path / "again").mkdir()
    text, status = (await import_all(db, tmp_path / "again", trim=True))[-1]
    assert status == 0 and f"新增订单 {ORDERS_IN_FILE}" in text, text


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


@pytest.mark.parametrize("how", ["process gone", "heartbeat stale"])
async def test_a_batch_left_by_a_killed_import_is_undone_by_the_next_import(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """The import dies after two chunks (its batch row left as a killed process leaves it); the next
    ``gendan import`` undoes the orders before it checks its file, then imports every order."""

    class Killed(BaseException):
        pass

    async def die(k: int) -> None:
        if k == 1:
            raise Killed

    hook(monkeypatch, die)
    real_undo = import_batch.undo

    async def no_undo(db: Database, batch: import_batch.Batch) -> None:  # kill -9 runs no handler
        pass

    monkeypatch.setattr(import_batch, "undo", no_undo)
    with pytest.raises(Killed):
        await import_all(db, tmp_path, trim=True)
    assert await count_orders(db) == 20
    (key,) = await batches(db)
    async with db.uow() as uow:
        row = await uow.session.get(KeyValue, key)
        assert row is not None
        value = json.loads(row.value)
        if how == "process gone":
            value["pid"] = dead_pid()
        else:
            value["host"] = "another-host"
            value["beat"] = (datetime.now(UTC) - import_batch.STALE - timedelta(seconds=1)).isoformat()
        row.value = json.dumps(value)
    monkeypatch.setattr(import_batch, "undo", real_undo)
    monkeypatch.setattr(import_batch, "after_chunk", None)
    (tmp_path / "again").mkdir()
    text, status = (await import_all(db, tmp_path / "again", trim=True))[-1]
    assert status == 0 and f"新增订单 {ORDERS_IN_FILE}" in text, text
    assert await count_orders(db) == ORDERS_IN_FILE and await batches(db) == []


async def test_a_running_import_is_not_taken_for_dead(db: Database, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A second import (or its cleanup) while one runs on this host leaves the running batch alone."""
    undone: list[int] = []

    async def look(k: int) -> None:
        if k == 0:
            undone.append(await import_batch.undo_abandoned(db))

    hook(monkeypatch, look)
    text, status = (await import_all(db, tmp_path, trim=True))[-1]
    assert status == 0 and undone == [0] and await count_orders(db) == ORDERS_IN_FILE, text


async def test_other_writers_get_in_between_chunks(db: Database, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """While the import runs, a plain write transaction and the order counter (what /下单 takes first)
    commit between two chunks; the import's numbers were reserved before, so nothing collides."""
    written: list[int] = []

    async def write_meanwhile(k: int) -> None:
        if k == 3:
            async with db.uow() as uow:
                written.append(await next_number(uow, "order"))
                await people.register(uow, "local", f"meanwhile{k}", "路人", tenant="local")

    hook(monkeypatch, write_meanwhile)
    text, status = (await import_all(db, tmp_path, trim=True))[-1]
    assert status == 0 and f"新增订单 {ORDERS_IN_FILE}" in text, text
    assert written == [ORDERS_IN_FILE + 1]  # after the import's block, though the import had not finished
    async with db.reader() as uow:
        nos = list((await uow.session.execute(select(Order.no).order_by(Order.no))).scalars())
    assert nos == list(range(1, ORDERS_IN_FILE + 1))


async def test_a_failure_whose_undo_fails_too_reports_the_failure_and_leaves_the_batch_recorded(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database going away mid-import: the user sees the import's own error, and the batch stays
    recorded for the next import to undo (no silent half-import)."""

    async def fail(k: int) -> None:
        if k == 1:
            raise OSError("disk full")

    async def undo_fails(db: Database, batch: import_batch.Batch) -> None:
        raise RuntimeError("database gone")

    hook(monkeypatch, fail)
    monkeypatch.setattr(import_batch, "undo", undo_fails)
    with pytest.raises(OSError, match="disk full"):
        await import_all(db, tmp_path, trim=True)
    assert await count_orders(db) == 20 and len(await batches(db)) == 1


async def test_a_batch_left_by_a_killed_import_is_undone_when_the_server_starts(
        db_url: tuple[str, dict[str, object]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Not only the next ``gendan import``: ``gendan serve`` undoes a killed import's orders when it starts."""
    url, kwargs = db_url
    db = Database(url, **kwargs)  # type: ignore[arg-type]
    await upgrade(db.engine)

    class Killed(BaseException):
        pass

    async def die(k: int) -> None:
        if k == 1:
            raise Killed

    async def no_undo(db: Database, batch: import_batch.Batch) -> None:  # kill -9 runs no handler
        pass

    hook(monkeypatch, die)
    real_undo = import_batch.undo
    monkeypatch.setattr(import_batch, "undo", no_undo)
    with pytest.raises(Killed):
        await import_all(db, tmp_path, trim=True)
    (key,) = await batches(db)
    async with db.uow() as uow:
        row = await uow.session.get(KeyValue, key)
        assert row is not None
        row.value = json.dumps({**json.loads(row.value), "pid": dead_pid()})
    monkeypatch.setattr(import_batch, "undo", real_undo)
    assert await count_orders(db) == 20
    app = create_app(make_settings(url), clock=clock, run_sender=False, db=db)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert await count_orders(db) == 0 and await batches(db) == []
    finally:
        await client.close()


async def test_a_shipment_made_meanwhile_is_given_back_and_undone_with_the_import(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Someone ships imported order #15 (a stock move, no ON DELETE CASCADE; the product's stock lowered)
    while the import runs; the import then fails: the undo gives the stock back, deletes the move with the
    orders, names the changed order in a warning, and the next import runs."""

    async def ship_then_fail(k: int) -> None:
        if k == 1:
            async with db.uow() as uow:
                order = (await uow.session.execute(select(Order).where(Order.no == 15))).scalar_one()
                product = (await uow.session.execute(select(Product).order_by(Product.id).limit(1))).scalar_one()
                stock.append(product.stock)
                product.stock = product.stock - 2
                order.note = "shipped meanwhile"  # row_version 2
                uow.session.add(StockMove(product_id=product.id, delta=Decimal(-2), reason="ship", order_id=order.id))
        if k == 3:
            raise OSError("disk full")

    stock: list[Decimal] = []
    hook(monkeypatch, ship_then_fail)
    with caplog.at_level(logging.WARNING, logger="gendan.import"), pytest.raises(OSError, match="disk full"):
        await import_all(db, tmp_path, trim=True)
    assert await count_orders(db) == 0 and await batches(db) == []
    async with db.reader() as uow:
        moves = select(func.count()).select_from(StockMove).where(StockMove.order_id.isnot(None))
        assert (await uow.session.execute(moves)).scalar_one() == 0
        product = (await uow.session.execute(select(Product).order_by(Product.id).limit(1))).scalar_one()
        assert product.stock == stock[0]
    assert any("#15" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records), caplog.text
    monkeypatch.setattr(import_batch, "after_chunk", None)
    (tmp_path / "again").mkdir()
    text, status = (await import_all(db, tmp_path / "again", trim=True))[-1]
    assert status == 0 and f"新增订单 {ORDERS_IN_FILE}" in text, text


async def test_an_abandoned_batch_that_cannot_be_undone_is_named_and_does_not_stop_the_others(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Two batches left by dead imports; one cannot be undone: the other still is, the error names the
    stuck batch, and the import refuses with a clear message instead of a bare database error."""
    dead = dead_pid()
    async with db.uow() as uow:
        for first in (1000, 2000):
            uow.session.add(KeyValue(key=f"{import_batch.PREFIX}{first}", value=json.dumps({
                "first": first, "last": first + 9, "host": socket.gethostname(), "pid": dead,
                "beat": datetime.now(UTC).isoformat()})))
    real_undo = import_batch.undo

    async def undo(db: Database, batch: import_batch.Batch) -> None:
        if batch.first == 1000:
            raise RuntimeError("FOREIGN KEY constraint failed")
        await real_undo(db, batch)

    monkeypatch.setattr(import_batch, "undo", undo)
    with caplog.at_level(logging.ERROR, logger="gendan.import"):
        text, status = (await import_all(db, tmp_path, trim=True))[-1]
    assert status == 1 and "import_batch:1000" in text and "撤销不了" in text, text
    assert await batches(db) == ["import_batch:1000"] and await count_orders(db) == 0
    assert any("import_batch:1000" in r.getMessage() for r in caplog.records), caplog.text


def test_on_this_host_the_process_decides_elsewhere_the_heartbeat() -> None:
    """A live import on this host stalled past STALE (Ctrl-Z, a suspended VM, a long lock wait) is not
    abandoned; a dead one is, however fresh its beat; another host's only by its heartbeat's age."""
    old = (datetime.now(UTC) - import_batch.STALE - timedelta(minutes=1)).isoformat()
    fresh = datetime.now(UTC).isoformat()
    here = socket.gethostname()
    assert not import_batch._abandoned({"host": here, "pid": os.getpid(), "beat": old})
    assert import_batch._abandoned({"host": here, "pid": dead_pid(), "beat": fresh})
    assert import_batch._abandoned({"host": "another-host", "pid": os.getpid(), "beat": old})
    assert not import_batch._abandoned({"host": "another-host", "pid": dead_pid(), "beat": fresh})


async def test_an_import_undone_by_a_cleanup_while_it_ran_reports_failure(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cleanup (on another host, say) undoes the running batch after its last chunk: the completing
    DELETE finds no batch row, so the import reports that nothing was imported, not success."""

    async def cleaner(k: int) -> None:
        if k == 9:  # the last of ten chunks
            (key,) = await batches(db)
            await import_batch.undo(db, import_batch.Batch(int(key.removeprefix(import_batch.PREFIX)),
                                                           ORDERS_IN_FILE))

    hook(monkeypatch, cleaner)
    text, status = (await import_all(db, tmp_path, trim=True))[-1]
    assert status == 1 and "撤销" in text and "已导入。" not in text, text
    assert await count_orders(db) == 0 and await batches(db) == []


async def test_two_imports_of_the_same_orders_at_once(db: Database, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A second import of the same file runs (and completes) while the first is between chunks: the first
    then meets the second's 订单号, undoes itself and says so; imported again, every order is there once."""
    inner: list[tuple[str, int]] = []

    async def second_import(k: int) -> None:
        if k == 0 and not inner:
            inner.append((0, 0))  # type: ignore[arg-type]
            (tmp_path / "second").mkdir()
            inner[:] = [(await import_all(db, tmp_path / "second", trim=True))[-1]]

    hook(monkeypatch, second_import)
    text, status = (await import_all(db, tmp_path, trim=True))[-1]
    assert inner[0][1] == 0, inner
    assert status == 1 and "另一个导入" in text, text
    assert await batches(db) == []
    monkeypatch.setattr(import_batch, "after_chunk", None)
    (tmp_path / "again").mkdir()
    text, status = (await import_all(db, tmp_path / "again", trim=True))[-1]
    assert status == 0, text
    async with db.reader() as uow:
        refs = list((await uow.session.execute(select(Order.external_ref))).scalars())
    assert len(refs) == len(set(refs)) == ORDERS_IN_FILE


async def test_deleting_order_lines_and_orders_uses_the_foreign_key_indexes(db: Database) -> None:
    """The references checked when an undo deletes order lines and orders are looked up by index, not by a
    scan of the child table (migration 0012)."""
    async with db.reader() as uow:
        for table, column in (("shipment_lines", "order_line_id"), ("stock_moves", "order_id"),
                              ("quotes", "order_id")):
            query = f"SELECT 1 FROM {table} WHERE {column} = 1"
            if db.dialect == "sqlite":
                plan = " ".join(str(r[-1]) for r in await uow.session.execute(text(f"EXPLAIN QUERY PLAN {query}")))
                assert f"INDEX ix_{table}_{column}" in plan, plan
            else:
                await uow.session.execute(text("SET LOCAL enable_seqscan = off"))
                plan = " ".join(str(r[0]) for r in await uow.session.execute(text(f"EXPLAIN {query}")))
                assert f"ix_{table}_{column}" in plan, plan
