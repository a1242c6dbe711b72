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


# ---- the batch benchmark's history: orders over four years, with what the schema hangs on them -------
@dataclass(frozen=True)
class History:
    """A company's history for the dashboard benchmark: ``orders`` over ``days`` days, the newest ``open``
    of them (mostly) still open, their lines, shipments, payments and audit events, a catalogue, quotations
    and purchase requests. Built and loaded in chunks of ``chunk`` orders (memory stays bounded)."""

    orders: int = 1_000_000
    open: int = 100_000
    people: int = 200
    customers: int = 1_000
    products: int = 200
    quotes: int = 20_000
    purchases: int = 2_000
    pending_approvals: int = 1_000
    days: int = 1_460
    chunk: int = 50_000


HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "people": ("id", "platform", "user_id", "name", "active", "created_at"),
    "person_roles": ("person_id", "role", "granted_at"),
    "chats": ("id", "platform", "chat_id", "chat_type", "title", "created_at"),
    "customers": ("id", "name", "contact", "phone", "payment_terms", "owner_id", "created_at"),
    "products": ("id", "sku", "name", "unit", "price", "floor_price", "stock", "track_stock", "created_at"),
    "orders": ("id", "no", "customer_id", "owner_id", "state", "production", "due_date", "payment_terms",
               "amount", "paid_amount", "written_off", "version", "row_version", "approval_round",
               "origin_platform", "origin_chat_id", "origin_chat_type", "submitted_at", "confirmed_at",
               "shipped_at", "completed_at", "created_at", "updated_at"),
    "order_lines": ("id", "order_id", "line_no", "product_id", "sku", "name", "qty", "unit", "unit_price",
                    "shipped_qty", "floor_price"),
    "shipments": ("id", "order_id", "seq", "amount", "shipped_by", "shipped_at"),
    "shipment_lines": ("id", "shipment_id", "order_line_id", "qty"),
    "payments": ("id", "order_id", "amount", "method", "paid_on", "recorded_by", "created_at"),
    "approvals": ("id", "order_id", "round", "step", "role", "reasons", "status", "activated_at", "created_at"),
    "audit_events": ("id", "at", "order_id", "order_version", "action", "summary", "actor_platform",
                     "actor_user_id", "actor_name", "actor_roles", "chat_platform", "chat_id", "source"),
    "quotes": ("id", "no", "customer_id", "owner_id", "status", "amount", "valid_until", "due_date",
               "payment_terms", "warnings", "order_id", "won_at", "origin_platform", "origin_chat_id",
               "origin_chat_type", "created_at", "updated_at"),
    "quote_lines": ("id", "quote_id", "line_no", "product_id", "sku", "name", "qty", "unit", "unit_price",
                    "floor_price"),
    "purchases": ("id", "no", "product_id", "qty", "received_qty", "supplier", "expected_date", "status",
                  "created_by", "created_at", "received_at", "arrivals"),
    "counters": ("name", "value"),
}
CENTS = Decimal("0.01")


def _empty() -> Tables:
    return Tables(HISTORY_COLUMNS, {name: [] for name in HISTORY_COLUMNS})


def history_chunks(h: History, now: datetime, seed: int = 11) -> Iterator[Tables]:
    """The history in insertion order: people, customers and the catalogue first, then the orders in chunks
    of ``h.chunk`` (oldest first; numbers follow creation time), then quotations, purchases and the counters."""
    rnd = random.Random(seed)
    today = now.date()
    sales = max(1, h.people - 12)
    roles = ["sales"] * sales + ["manager"] * 3 + ["boss"] * 2 + ["warehouse"] * 3 + ["finance"] * 2 + ["service"] * 2
    head = _empty()
    head.rows["people"] = [(i, "local", f"p{i}", f"员工{i}", True, now) for i in range(1, h.people + 1)]
    head.rows["person_roles"] = [(i, roles[(i - 1) % len(roles)], now) for i in range(1, h.people + 1)]
    head.rows["chats"] = [(i + 1, "local", f"g{i}", "group", f"销售{i}群", now) for i in range(20)]
    head.rows["customers"] = [(i, f"客户{i}", f"联系人{i}", f"138{i:08d}", rnd.choice(TERMS),
                               rnd.randint(1, sales), now) for i in range(1, h.customers + 1)]
    prices: dict[int, Decimal] = {}
    for i in range(1, h.products + 1):
        prices[i] = Decimal(rnd.randint(1000, 200_000)) / 100
        head.rows["products"].append((i, f"P{i:04d}", f"产品{i}", "台", prices[i], (prices[i] * 8 / 10).quantize(CENTS),
                                      Decimal(rnd.randint(0, 500)), i % 2 == 0, now))
    yield head
    n_open = min(h.open, h.orders // 2)
    window = min(h.orders, int(n_open * 2.5))
    open_ids = set(rnd.sample(range(h.orders - window + 1, h.orders + 1), n_open))
    pending = set(sorted(open_ids)[:h.pending_approvals])
    ids = {"line": 0, "ship": 0, "sline": 0, "pay": 0, "appr": 0, "audit": 0}
    for start in range(1, h.orders + 1, h.chunk):
        t = _empty()
        for oid in range(start, min(start + h.chunk, h.orders + 1)):
            _order(t, rnd, h, oid, now, today, prices, ids, oid in open_ids, oid in pending)
        yield t
    tail = _empty()
    _quotes(tail, rnd, h, now, today, prices)
    tail.rows["counters"] = [("order", h.orders), ("quote", h.quotes), ("purchase", h.purchases)]
    yield tail


def _order(t: Tables, rnd: random.Random, h: History, oid: int, now: datetime, today: date,
           prices: dict[int, Decimal], ids: dict[str, int], is_open: bool, is_pending: bool) -> None:
    sales = max(1, h.people - 12)
    owner = rnd.randint(1, sales)
    days_ago = max(0, int(h.days * (1 - oid / h.orders)) + rnd.randint(-3, 3))
    created = datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), UTC) + \
        timedelta(hours=rnd.randint(1, 10), minutes=rnd.randint(0, 59))
    due = created.date() + timedelta(days=rnd.randint(15, 90))
    if is_open:
        state = "PENDING_APPROVAL" if is_pending else \
            ("ON_HOLD" if rnd.random() < 0.02 else ("DRAFT" if rnd.random() < 0.03 else "CONFIRMED"))
    else:
        state = rnd.choice(("COMPLETED",) * 8 + ("CANCELLED", "CLOSED"))
    products = rnd.sample(range(1, h.products + 1), rnd.randint(1, min(4, h.products)))
    lines = []
    for no, pid in enumerate(products, 1):
        qty = Decimal(rnd.randint(1, 50))
        if state == "COMPLETED":
            shipped = qty
        elif state == "CONFIRMED":
            shipped = rnd.choice((Decimal(0),) * 6 + (qty, qty, qty // 2))
        elif state == "CLOSED":
            shipped = qty // 2
        else:
            shipped = Decimal(0)
        ids["line"] += 1
        lines.append((ids["line"], oid, no, pid, f"P{pid:04d}", f"产品{pid}", qty, "台", prices[pid], shipped,
                      (prices[pid] * 8 / 10).quantize(CENTS)))
    amount = sum((ln[6] * ln[8] for ln in lines), Decimal(0)).quantize(CENTS)
    shipped_value = sum((ln[9] * ln[8] for ln in lines), Decimal(0)).quantize(CENTS)
    if state == "COMPLETED":
        paid = amount
    elif state in ("CONFIRMED", "ON_HOLD"):
        paid = rnd.choice((Decimal(0), Decimal(0), Decimal(0), (amount / 2).quantize(CENTS), shipped_value))
    elif state == "CLOSED":
        paid = shipped_value
    else:
        paid = Decimal(0)
    full = all(ln[9] >= ln[6] for ln in lines)
    if state == "CONFIRMED" and full and paid >= amount:
        paid = (amount / 2).quantize(CENTS)  # fully shipped and paid would be COMPLETED
    draft = state in ("DRAFT", "PENDING_APPROVAL")
    production = rnd.choice(("NONE", "NONE", "STARTED", "FINISHED")) if state == "CONFIRMED" else "NONE"
    ship_at = min(now - timedelta(hours=1), created + timedelta(days=rnd.randint(3, 40)))
    pay_on = min(today, ship_at.date() + timedelta(days=rnd.randint(0, 60)))
    ended = max(ship_at, datetime.combine(pay_on, datetime.min.time(), UTC))
    t.rows["orders"].append((
        oid, oid, rnd.randint(1, h.customers), owner, state, production, None if state == "DRAFT" else due,
        rnd.choice(TERMS), amount, paid, amount - paid if state == "CLOSED" else Decimal(0), 1, 1,
        1 if state != "DRAFT" else 0, "local", f"g{owner % 20}", "group", created if not draft or is_pending else None,
        None if draft else created, ship_at if full and shipped_value else None,
        ended if state == "COMPLETED" else None, created, ended if not is_open else created))
    t.rows["order_lines"] += lines
    if shipped_value:
        ids["ship"] += 1
        t.rows["shipments"].append((ids["ship"], oid, 1, shipped_value, owner, ship_at))
        for ln in lines:
            if ln[9]:
                ids["sline"] += 1
                t.rows["shipment_lines"].append((ids["sline"], ids["ship"], ln[0], ln[9]))
    if paid:
        ids["pay"] += 1
        t.rows["payments"].append((ids["pay"], oid, paid, "转账", pay_on, owner, ended))
    if is_pending:
        ids["appr"] += 1
        t.rows["approvals"].append((ids["appr"], oid, 1, 0, "manager", "[]", "PENDING",
                                    now - timedelta(minutes=rnd.randint(10, 4 * 24 * 60)), created))
    ids["audit"] += 1
    t.rows["audit_events"].append((ids["audit"], created, oid, 1, "create", f"#{oid}", "local", f"p{owner}",
                                   f"员工{owner}", '["sales"]', "local", f"g{owner % 20}", "message"))


def _quotes(t: Tables, rnd: random.Random, h: History, now: datetime, today: date,
            prices: dict[int, Decimal]) -> None:
    sales = max(1, h.people - 12)
    line_id = 0
    for qid in range(1, h.quotes + 1):
        owner = rnd.randint(1, sales)
        days_ago = max(0, int(h.days * (1 - qid / h.quotes)) + rnd.randint(-3, 3))
        created = now - timedelta(days=days_ago, hours=rnd.randint(0, 8))
        valid = created.date() + timedelta(days=rnd.choice((7, 10, 15, 30)))
        status = "OPEN" if valid >= today and rnd.random() < 0.7 else \
            rnd.choice(("OPEN", "WON", "REJECTED", "WITHDRAWN"))
        amount = Decimal(0)
        for no, pid in enumerate(rnd.sample(range(1, h.products + 1), rnd.randint(1, min(3, h.products))), 1):
            qty = Decimal(rnd.randint(1, 100))
            line_id += 1
            t.rows["quote_lines"].append((line_id, qid, no, pid, f"P{pid:04d}", f"产品{pid}", qty, "台", prices[pid],
                                          (prices[pid] * 8 / 10).quantize(CENTS)))
            amount += qty * prices[pid]
        t.rows["quotes"].append((qid, qid, rnd.randint(1, h.customers), owner, status, amount.quantize(CENTS), valid,
                                 valid + timedelta(days=20), rnd.choice(TERMS), "[]", None,
                                 created if status == "WON" else None, "local", f"g{owner % 20}", "group", created,
                                 created))
    for pid_no in range(1, h.purchases + 1):
        created = now - timedelta(days=max(0, int(h.days * (1 - pid_no / h.purchases))), hours=1)
        expected = created.date() + timedelta(days=rnd.randint(5, 30))
        received = expected < today - timedelta(days=10) or rnd.random() < 0.3
        qty = Decimal(rnd.randint(10, 500))
        t.rows["purchases"].append((pid_no, pid_no, rnd.randint(1, h.products), qty, qty if received else Decimal(0),
                                    f"供应商{rnd.randint(1, 30)}", expected, "RECEIVED" if received else "OPEN",
                                    rnd.randint(1, h.people), created,
                                    created + timedelta(days=7) if received else None, "[]"))


def load_sqlite_chunks(path: str, chunks: Iterator[Tables]) -> int:
    """Every chunk in one transaction through the stdlib driver (run in a thread); the rows loaded."""
    con = sqlite3.connect(path, isolation_level=None)
    count = 0
    try:
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        for chunk in chunks:
            for name, cols in chunk.columns.items():
                if chunk.rows[name]:
                    sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                    con.executemany(sql, ([_sqlite_value(v) for v in row] for row in chunk.rows[name]))
                    count += len(chunk.rows[name])
        con.execute("COMMIT")
        con.execute("ANALYZE")
    finally:
        con.close()
    return count


async def load_postgres_chunks(engine: AsyncEngine, chunks: Iterator[Tables], schema: str = "public") -> int:
    """Every chunk with COPY, then the id sequences and ANALYZE; the rows loaded."""
    count = 0
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        apg: Any = raw.driver_connection
        with_id: set[str] = set()
        for chunk in chunks:
            for name, cols in chunk.columns.items():
                if chunk.rows[name]:
                    await apg.copy_records_to_table(name, records=chunk.rows[name], columns=list(cols),
                                                    schema_name=schema)
                    count += len(chunk.rows[name])
                    if "id" in cols:
                        with_id.add(name)
        for name in sorted(with_id):
            await apg.execute(f"SELECT setval(pg_get_serial_sequence('{schema}.{name}', 'id'), "
                              f"(SELECT max(id) FROM {schema}.{name}))")
        await apg.execute("ANALYZE")
    return count
