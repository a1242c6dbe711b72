"""The rows a historic-order import writes, dumped in a form both databases agree on (tests/test_import_batches.py).

``python -m tests.import_golden`` rewrote ``tests/golden/import_orders_golden.json`` once, with the per-row
import that preceded the batch design; the test compares every later import of the same files against it.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEvent, Counter, KeyValue, Order, OrderLine, Payment, Shipment, ShipmentLine

GOLDEN = Path(__file__).parent / "golden" / "import_orders_golden.json"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
TABLES = (Order, OrderLine, Shipment, ShipmentLine, Payment, AuditEvent, Counter, KeyValue)
#: artefacts of the per-row import's two flushes (an order with a shipment was inserted, then updated: its
#: ``row_version`` became 2 and ``updated_at`` the wall clock of that flush); the batch writes each order once
#: (``line_progress`` came later, migration 0011: derived from the lines, checked by tests/test_line_progress.py)
SKIPPED = {"orders": ("row_version", "updated_at", "line_progress"),
           "audit_events": ("actor_user_id",)}  # and the login running it


def canon(value: Any) -> Any:
    """A value as both databases give it back (amounts as exact decimals, times in UTC)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return value


async def dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table an order import writes, by primary key."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with db.engine.connect() as conn:
        for model in TABLES:
            table = model.__table__  # type: ignore[attr-defined]
            skip = SKIPPED.get(table.name, ())
            rows = (await conn.execute(select(table).order_by(*table.primary_key.columns))).mappings().all()
            out[table.name] = [{k: canon(v) for k, v in row.items() if k not in skip} for row in rows]
    return out


def write_files(folder: Path, *, trim: bool = False) -> tuple[Path, Path, Path]:
    """customers, products and 240 order rows of every importable state (the benchmark's generator);
    ``trim``: only the customers the orders name (a quicker set-up, other ids than the golden dump's)."""
    from bench.batch import write_import_files

    files = write_import_files(folder, 240, date(2026, 11, 27), seed=11)
    if trim:
        with files.orders.open(encoding="utf-8-sig") as fh:
            named = {row[1] for row in csv.reader(fh)}
        with files.customers.open(encoding="utf-8-sig") as fh:
            kept = [row for row in csv.reader(fh) if row[0] in named or row[0] == "客户名称"]
        with files.customers.open("w", newline="", encoding="utf-8-sig") as fh:
            csv.writer(fh).writerows(kept)
    return files.customers, files.products, files.orders


async def import_all(db: Database, folder: Path, *, trim: bool = False) -> list[tuple[str, int]]:
    """The person the orders belong to, the catalogue, then the orders: each import's (report, status)."""
    from handlers.import_export_cli import run_import
    from storage.services import people

    async with db.uow() as uow:
        await people.register(uow, "local", "bench", "bench", tenant="local")
    customers, products, orders = write_files(folder, trim=trim)
    done = []
    for kind, path in (("customers", customers), ("products", products), ("orders", orders)):
        done.append(await run_import(db, kind, path, dry_run=False, now=NOW, tz=TZ,  # type: ignore[arg-type]
                                     default_owner="local:bench" if kind == "orders" else None))
    return done


async def _main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/g.db")
        from storage.migrate import upgrade

        await upgrade(db.engine)
        for text, status in await import_all(db, Path(tmp)):
            print(status, text.splitlines()[0], file=sys.stderr)
        GOLDEN.write_text(json.dumps(await dump(db), ensure_ascii=False, indent=0, sort_keys=True) + "\n")
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(_main())
