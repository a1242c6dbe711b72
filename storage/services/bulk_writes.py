"""Bulk writes of the historic-order import (:mod:`storage.services.import_batch`) that each database
needs done its own way: multi-row statements on PostgreSQL, and its planner's statistics kept current
while an import fills a nearly empty database."""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table, insert, text

from storage.db import Database, UnitOfWork

log = logging.getLogger("gendan.import")

#: PostgreSQL: the tables an import fills, analysed again whenever the import has written over twice as many
#: orders as the planner believes the table holds (and at least ``ANALYZE_FROM``); see :func:`keep_statistics`
FILLED = ("orders", "order_lines", "shipments", "shipment_lines", "payments", "audit_events")
ANALYZE_FROM = 1000


async def insert_many(uow: UnitOfWork, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``model``'s table in as few statements as the driver allows.

    On PostgreSQL an executemany is what asyncpg makes of it, one statement per row, and the statement-level
    triggers of the kept figures (an order's line progress, the finished-order counts, ``sales_days``) fire
    once per statement: 100,000 imported rows ran them a quarter of a million times (three to eight
    minutes). With ``RETURNING`` SQLAlchemy writes the rows as multi-row ``INSERT … VALUES`` statements
    instead ("insertmanyvalues", about a thousand rows each), so the triggers run a few hundred times; the
    ids it returns are not needed (the caller reads them by order number). SQLite has only row triggers and
    runs an executemany in one C loop, which stays the faster way there.
    """
    table = cast(Table, model.__table__)
    if uow.dialect == "postgresql":
        await uow.session.execute(insert(table).returning(table.c.id), rows)
    else:
        await uow.session.execute(insert(table), rows)


async def keep_statistics(db: Database, written: int) -> bool:
    """PostgreSQL: ``ANALYZE`` the filled tables once the import has written over twice as many orders as
    the planner believes ``orders`` holds.

    The statement-level triggers of the kept figures look orders up by id, and PL/pgSQL plans each of their
    statements once per connection: planned while ``orders`` was nearly empty (a new installation importing
    its history) they scan the whole table, and kept doing so for every chunk while it grew to 40,000
    orders — 31 million rows read for one import of 100,000 rows. ``ANALYZE`` (PostgreSQL's advice after a
    bulk load) updates the statistics and makes every connection plan again; it takes no lock that blocks
    writers. Each ANALYZE at least doubles the belief, so an import into an empty database analyses about
    log2(orders / ANALYZE_FROM) times, and one of fewer orders than twice those already there never.

    Only an aid: a failure (a lock held by a manual VACUUM, a timeout, a role that does not own the tables,
    for which PostgreSQL skips the tables with a warning and changes nothing) is logged once and the import
    goes on without it. False: do not call again for this import.
    """
    if written < ANALYZE_FROM:
        return True
    try:
        async with db.uow() as uow:
            believed = float((await uow.session.execute(_BELIEVED)).scalar_one())
            if written <= 2 * believed:
                return True
            await uow.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            await uow.session.execute(text("ANALYZE " + ", ".join(FILLED)))
            now = float((await uow.session.execute(_BELIEVED)).scalar_one())
    except Exception as exc:  # an aid only: the import's own writes are committed already
        log.warning("import: ANALYZE of %s failed (%r); the import goes on without it", ", ".join(FILLED), exc)
        return False
    if now <= believed:
        log.warning("import: ANALYZE of %s changed no statistics (does this role own the tables?); the import "
                    "goes on without it", ", ".join(FILLED))
        return False
    log.debug("import: analysed %s after %d orders (the planner believed %d, now %d)",
              ", ".join(FILLED), written, believed, now)
    return True


#: how many rows PostgreSQL's planner believes ``orders`` holds (-1: never analysed)
_BELIEVED = text("SELECT reltuples FROM pg_class WHERE oid = 'orders'::regclass")
