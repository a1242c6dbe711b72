"""Import one file's rows, already read and typed by the caller: customers, products or historic orders.

One file is one transaction, all or nothing: every row is checked and either all of it is
written or (any error, or a dry run) none of it. A dry run executes exactly the same code and
rolls back, so its report is the report of the real run. Re-importing the same rows changes
nothing: customers match by exact name, products by SKU (any case), historic orders by their
external 订单号 (``orders.external_ref``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.db import Database
from storage.services.import_catalogue import import_customers, import_products
from storage.services.import_orders import import_orders
from storage.services.import_report import ImportContext, Kind, Report, Ticker


class _Rollback(Exception):
    """Raised inside the unit of work to undo a dry run or a file with errors."""


async def run(db: Database, kind: Kind, rows: Sequence[Any], report: Report, ctx: ImportContext) -> Report:
    """Check and write ``rows`` in one transaction; roll back on a dry run or any error in ``report``."""
    ticker = Ticker(len(rows), ctx.progress)
    report.rows = len(rows)
    try:
        async with db.uow() as uow:
            if kind == "customers":
                await import_customers(uow, rows, report, ticker)
            elif kind == "products":
                await import_products(uow, rows, report, ctx, ticker)
            else:
                await import_orders(uow, rows, report, ctx, ticker)
            if not report.written:
                raise _Rollback
    except _Rollback:
        pass
    return report
