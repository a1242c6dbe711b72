"""Synthetic data for the scheduler benchmark, bulk-loaded outside the ORM (COPY on PostgreSQL,
one ``executemany`` transaction on SQLite); the measured code paths are the application's own."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

Row = tuple[Any, ...]
TERMS = ("款到发货", "货到付款", "月结30天", "30天", "60天", None)


@dataclass(frozen=True)
class Shape:
    """How much data: total orders, open ones, due custom reminders, done reminders."""

    orders: int = 1_000_000
    open: int = 100_000
    due_reminders: int = 10_000
    done_reminders: int = 200_000
    people: int = 200
    pending_approvals: int = 1_000


@dataclass
class Tables:
    """Rows per table, in insertion order (foreign keys first)."""

    columns: dict[str, tuple[str, ...]]
    rows: dict[str, list[Row]]


def build(shape: Shape, now: datetime, seed: int = 7) -> Tables:
    """Every row of the benchmark database."""
    rnd = random.Random(seed)
    today = now.date()
    t = Tables({
        "people": ("id", "platform", "user_id", "name", "active", "created_at"),
        "person_roles": ("person_id", "role", "granted_at"),
        "customers": ("id", "name", "created_at"),
        "orders": ("id", "no", "customer_id", "owner_id", "state", "production", "due_date", "payment_terms",
                   "amount", "paid_amount", "written_off", "version", "row_version", "approval_round",
                   "origin_platform", "origin_chat_id", "origin_chat_type", "confirmed_at", "created_at",
                   "updated_at"),
        "order_lines": ("id", "order_id", "line_no", "sku", "name", "qty", "unit_price", "shipped_qty"),
        "shipments": ("id", "order_id", "seq", "amount", "shipped_by", "shipped_at"),
        "approvals": ("id", "order_id", "round", "step", "role", "reasons", "status", "activated_at", "created_at"),
        "reminders": ("id", "kind", "due_at", "person_id", "text", "status", "created_by", "created_at", "sent_at"),
    }, {})
    roles = ["sales"] * 188 + ["manager"] * 3 + ["boss"] * 2 + ["warehouse"] * 3 + ["finance"] * 2 + \
        ["service"] * 2
    t.rows["people"] = [(i, "local", f"p{i}", f"员工{i}", True, now) for i in range(1, shape.people + 1)]
    t.rows["person_roles"] = [(i, roles[(i - 1) % len(roles)], now) for i in range(1, shape.people + 1)]
    t.rows["customers"] = [(i, f"客户{i}", now) for i in range(1, 1001)]
    orders: list[Row] = []
    lines: list[Row] = []
    ships: list[Row] = []
    approvals: list[Row] = []
    closed = shape.orders - shape.open
    for oid in range(1, shape.orders + 1):
        owner = rnd.randint(1, 188)
        qty, price = rnd.randint(1, 50), rnd.randint(10, 2000)
        amount = Decimal(qty * price)
        if oid <= closed:
            state = rnd.choice(("COMPLETED",) * 8 + ("CANCELLED", "CLOSED"))
            due = today - timedelta(days=rnd.randint(30, 1500))
            shipped, paid = (qty, amount) if state == "COMPLETED" else (0, Decimal(0))
        else:
            state = _open_state(rnd, oid - closed, shape)
            due = today + timedelta(days=rnd.randint(-30, 90))
            shipped = rnd.choice((0, 0, 0, 0, 0, qty, qty, qty, qty, qty // 2))
            paid = Decimal(0) if rnd.random() < 0.7 else amount / 2
        confirmed = datetime.combine(due - timedelta(days=30), datetime.min.time(), UTC)
        orders.append((oid, oid, rnd.randint(1, 1000), owner, state, "NONE", due, rnd.choice(TERMS), amount, paid,
                       Decimal(0), 1, 1, 1, "local", f"g{owner % 20}", "group", confirmed, confirmed, confirmed))
        lines.append((oid, oid, 1, "A100", "", Decimal(qty), Decimal(price), Decimal(shipped)))
        if shipped and oid > closed:
            ships.append((len(ships) + 1, oid, 1, Decimal(shipped * price), owner,
                          now - timedelta(days=rnd.randint(1, 60))))
        if state == "PENDING_APPROVAL":
            approvals.append((len(approvals) + 1, oid, 1, 0, "manager", "[]", "PENDING",
                              now - timedelta(minutes=rnd.randint(10, 4 * 24 * 60)), now))
    t.rows.update(orders=orders, order_lines=lines, shipments=ships, approvals=approvals)
    t.rows["reminders"] = list(_reminders(rnd, shape, now))
    return t


def _open_state(rnd: random.Random, k: int, shape: Shape) -> str:
    if k <= shape.pending_approvals:
        return "PENDING_APPROVAL"
    return "ON_HOLD" if rnd.random() < 0.02 else ("DRAFT" if rnd.random() < 0.03 else "CONFIRMED")


def _reminders(rnd: random.Random, shape: Shape, now: datetime) -> Iterator[Row]:
    rid = 0
    for _ in range(shape.done_reminders):
        rid += 1
        at = now - timedelta(minutes=rnd.randint(60, 90 * 24 * 60))
        yield (rid, "custom", at, rnd.randint(1, shape.people), "旧提醒", "SENT", None, at, at)
    for i in range(shape.due_reminders):
        rid += 1
        person = rnd.randint(1, shape.people)
        yield (rid, "custom", now - timedelta(seconds=i), person, f"提醒{i}", "PENDING", person, now, None)
    for i in range(5_000):  # not due yet
        rid += 1
        yield (rid, "custom", now + timedelta(hours=1 + i), rnd.randint(1, shape.people), "以后", "PENDING", None,
               now, None)


# ---- loaders ----------------------------------------------------------------------------------
def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def load_sqlite(path: str, tables: Tables) -> None:
    """All rows in one transaction through the stdlib driver (run in a thread)."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        for name, cols in tables.columns.items():
            sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            con.executemany(sql, ([_sqlite_value(v) for v in row] for row in tables.rows[name]))
        con.execute("COMMIT")
        con.execute("ANALYZE")
    finally:
        con.close()


async def load_postgres(engine: AsyncEngine, schema: str, tables: Tables) -> None:
    """All rows with COPY (asyncpg ``copy_records_to_table``), then ANALYZE and the id sequences."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        apg: Any = raw.driver_connection
        for name, cols in tables.columns.items():
            await apg.copy_records_to_table(name, records=tables.rows[name], columns=list(cols), schema_name=schema)
            if "id" in cols:
                await apg.execute(f"SELECT setval(pg_get_serial_sequence('{schema}.{name}', 'id'), "
                                  f"(SELECT max(id) FROM {schema}.{name}))")
        await apg.execute("ANALYZE")
