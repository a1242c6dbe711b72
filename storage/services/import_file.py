"""Import one file's rows, already read and typed by the caller: customers, products or historic orders.

One file is all or nothing: every row is checked and either all of it is written or (any error,
or a dry run) none of it. Customers and products are one transaction; a dry run executes exactly
the same code and rolls back, so its report is the report of the real run. Historic orders are
checked as a whole first (a read, no write lock) and then written in short bulk transactions as one
import batch (:mod:`storage.services.import_batch`), undone if the import fails or dies.
Re-importing the same rows changes nothing: customers match by exact name, products by SKU (any case),
historic orders by their external 订单号 (``orders.external_ref``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.db import Database
from storage.services import import_batch
from storage.services.import_catalogue import import_customers, import_products
from storage.services.import_orders import plan_orders
from storage.services.import_report import ImportContext, Kind, Report, Ticker


class _Rollback(Exception):
    """Raised inside the unit of work to undo a dry run or a file with errors."""


async def run(db: Database, kind: Kind, rows: Sequence[Any], report: Report, ctx: ImportContext) -> Report:
    """Check and write ``rows`` (all or nothing: nothing on a dry run or with any error in ``report``)."""
    # an earlier order import that died half-way is undone first: its orders would make this one skip them
    try:
        await import_batch.undo_abandoned(db)
    except import_batch.AbandonedImportStuck as exc:
        report.error(0, "abandoned_import_stuck", batches=", ".join(exc.batches), cause=str(exc.cause)[:200])
        return report
    ticker = Ticker(len(rows), ctx.progress)
    report.rows = len(rows)
    if kind == "orders":
        return await _orders(db, rows, report, ctx, ticker)
    try:
        async with db.uow() as uow:
            if kind == "customers":
                await import_customers(uow, rows, report, ticker)
            else:
                await import_products(uow, rows, report, ctx, ticker)
            if not report.written:
                raise _Rollback
    except _Rollback:
        pass
    return report


async def _orders(db: Database, rows: Sequence[Any], report: Report, ctx: ImportContext, ticker: Ticker) -> Report:
    # the check reads (half of the progress bar); the write is the other half
    ticker.weight = 0.5
    async with db.reader() as uow:
        plans = await plan_orders(uow, rows, report, ctx, ticker)
    if report.written:
        try:
            await import_batch.write_orders(db, plans, ctx, ticker)
        except import_batch.ImportRaced:
            report.error(0, "concurrent_import")
        except import_batch.ImportUndone:
            report.error(0, "undone_meanwhile")
    ticker.finish()
    return report
