"""Writing the checked orders of one import file: short bulk transactions, all or nothing for the user.

The file was checked as a whole before anything is written (:mod:`storage.services.import_orders`).
Then:

1. one short transaction takes a block of order numbers (``reserve_numbers``: the counter row is held
   for that transaction only, so ``/下单`` never waits for an import) and records the **batch** in ``kv``
   (``import_batch:<first number>``: its numbers, the host and process writing it, a heartbeat);
2. the orders are written ``CHUNK_ORDERS`` at a time, each chunk one transaction of a few bulk
   statements (orders, lines, shipments, shipment lines, payments, audit events). Between chunks other
   writers get their turn (on SQLite the importer pauses longer than the busy handler's longest sleep);
3. deleting the batch's ``kv`` row, with the last chunk's work done, marks the import complete.

A batch's orders are exactly the orders numbered in its block (nobody else uses those numbers), so an
import that fails (an exception) deletes them again, chunk by chunk, before it reports the failure; one
whose process died (kill -9, power) is undone by the next ``gendan import`` (:func:`undo_abandoned`):
a batch is abandoned when its process is gone (same host: the pid decides) or, written on another host,
its heartbeat is older than ``STALE``. An undo first marks the batch ``undoing``: the importer's next
heartbeat and its completing ``DELETE`` (which must remove exactly the batch's row) then fail.
The orders of a running batch are visible to readers while it runs (docs/import-export.md says why
that is acceptable).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, select, update

from storage import lifecycle
from storage.conflicts import DuplicateRow, StorageError
from storage.db import Database, UnitOfWork
from storage.models import (
    AuditEvent,
    Customer,
    KeyValue,
    Order,
    OrderLine,
    Payment,
    Product,
    Quote,
    Shipment,
    ShipmentLine,
    StockMove,
)
from storage.models.orders import ZERO
from storage.services.base import CENT, content_snapshot, jsonable, reserve_numbers, state_snapshot
from storage.services.bulk_writes import insert_many, keep_statistics
from storage.services.import_orders import Line, Planned
from storage.services.import_report import ImportContext, Ticker
from storage.vocab import DEFAULT_PAYMENT_TERMS, State

log = logging.getLogger("gendan.import")
#: orders in the first transaction (about 2.5 lines, 2 shipment lines and 3 other rows each), and in each
#: step of an undo
CHUNK_ORDERS = 500
#: the later chunks are sized to take about this long each (None: every chunk ``CHUNK_ORDERS``), within
#: ``CHUNK_BOUNDS`` orders: short enough that no other writer waits long, long enough to be efficient
TARGET_S: float | None = 0.2
CHUNK_BOUNDS = (100, 2000)
#: SQLite: the shortest pause between two chunks, longer than its busy handler's longest sleep (100 ms),
#: so a writer of another process that waits for the lock gets it before the next chunk
SQLITE_PAUSE_S = 0.12
#: a batch written on another host whose heartbeat is older than this is abandoned
STALE = timedelta(minutes=10)
PREFIX = "import_batch:"
#: in a batch's kv value once an undo has begun
UNDOING = '"undoing": true'
#: tests: awaited after each committed chunk with the chunk's index (to fail there, or to write meanwhile)
after_chunk: Callable[[int], Awaitable[None]] | None = None


class ImportRaced(StorageError):
    """Another import wrote some of the same 订单号 while this one ran; this one was undone."""


class ImportUndone(StorageError):
    """A cleanup took this running import for dead and undid it: none of its orders stays."""


class AbandonedImportStuck(StorageError):
    """An abandoned import could not be undone (``batches``: its kv keys; ``cause``: the first error)."""

    def __init__(self, batches: list[str], cause: BaseException) -> None:
        super().__init__(f"abandoned import batch(es) {', '.join(batches)} could not be undone: {cause}")
        self.batches, self.cause = batches, cause


@dataclass(frozen=True)
class Batch:
    """One import's block of order numbers, ``first`` to ``last``."""

    first: int
    last: int

    @property
    def key(self) -> str:
        """Its row in ``kv``."""
        return f"{PREFIX}{self.first}"


async def write_orders(db: Database, plans: Sequence[Planned], ctx: ImportContext, ticker: Ticker) -> None:
    """Write every planned order, numbered in the file's order; on any failure none stays."""
    if not plans:
        return
    async with db.uow() as uow:
        first = await reserve_numbers(uow, "order", len(plans))
        batch = Batch(first, first + len(plans) - 1)
        uow.session.add(KeyValue(key=batch.key, value=_state(batch)))
    try:
        start, size, k, rate, took = 0, CHUNK_ORDERS, 0, 0.0, 0.0
        analyse = db.dialect == "postgresql"
        while start < len(plans):
            began = time.monotonic()
            chunk = _Chunk(plans[start:start + size], batch.first + start, ctx)
            if k and db.dialect == "sqlite":
                # at least half as long as the last chunk held the lock: on a busy machine, where the
                # waiting writer also wakes late, the gaps grow with the chunks
                pause = max(SQLITE_PAUSE_S, took / 2)
                await asyncio.sleep(max(0.0, pause - (time.monotonic() - began)))
            began = time.monotonic()
            async with db.uow() as uow:
                await chunk.insert(uow)
                await _beat(uow, batch)
            took = time.monotonic() - began
            if analyse:
                analyse = await keep_statistics(db, start + len(chunk.plans))
            log.debug("import chunk %d: %d orders in %.0f ms", k, len(chunk.plans), took * 1000)
            ticker.tick(sum(plan.rows for plan in chunk.plans))
            if after_chunk is not None:
                await after_chunk(k)
            start, k = start + len(chunk.plans), k + 1
            if TARGET_S is not None:
                # orders per second, smoothed: one slow or fast chunk on a busy machine moves it only half-way
                now_rate = len(chunk.plans) / max(took, 0.001)
                rate = now_rate if not rate else (rate + now_rate) / 2
                low, high = CHUNK_BOUNDS
                size = max(low, min(high, int(rate * TARGET_S), size * 3 // 2))
        async with db.uow() as uow:
            done = await uow.session.execute(delete(KeyValue).where(KeyValue.key == batch.key,
                                                                    KeyValue.value.not_like(f"%{UNDOING}%")))
            if cast(CursorResult[Any], done).rowcount != 1:
                raise ImportUndone(f"import batch {batch.key} was undone while it ran")
    except BaseException as exc:
        try:
            await undo(db, batch)
        except Exception:  # the database went away too: the batch stays recorded, the next import undoes it
            log.exception("import batch %s not undone now; the next gendan import will", batch.key)
        if isinstance(exc, DuplicateRow) and "external_ref" in str(exc):
            raise ImportRaced(f"another import wrote orders of batch {batch.key} meanwhile") from exc
        raise


async def undo_abandoned(db: Database) -> int:
    """Undo every batch whose import died before it completed; how many were undone. Each batch is tried
    on its own; if any could not be undone, :class:`AbandonedImportStuck` after trying the others."""
    async with db.reader() as uow:
        stmt = select(KeyValue).where(KeyValue.key.startswith(PREFIX))
        rows = [(kv.key, json.loads(kv.value)) for kv in (await uow.session.execute(stmt)).scalars()]
    undone, stuck, cause = 0, [], None
    for key, value in rows:
        if _abandoned(value):
            try:
                await undo(db, Batch(int(value["first"]), int(value["last"])))
            except Exception as exc:
                log.error("abandoned import batch %s (orders #%s to #%s) could not be undone: %r",
                          key, value["first"], value["last"], exc)
                stuck.append(key)
                cause = cause or exc
                continue
            undone += 1
    if cause is not None:
        raise AbandonedImportStuck(stuck, cause)
    return undone


async def undo(db: Database, batch: Batch) -> None:
    """Delete the batch's orders and everything written with them, a chunk at a time, then the batch.

    What others did to those orders meanwhile goes with them (cascades); a shipment's stock moves are
    given back to the products' stock first (they don't cascade), and orders changed meanwhile are logged."""
    async with db.uow() as uow:  # the batch is claimed: its importer's next heartbeat or completion fails
        row = await uow.session.get(KeyValue, batch.key, with_for_update=True)
        if row is not None and UNDOING not in row.value:
            row.value = json.dumps({**json.loads(row.value), "undoing": True})
    for lo in range(batch.first, batch.last + 1, CHUNK_ORDERS):
        async with db.uow() as uow:
            hi = min(lo + CHUNK_ORDERS - 1, batch.last)
            s = uow.session
            mine = select(Order.id, Order.no, Order.row_version).where(Order.no.between(lo, hi),
                                                                       Order.external_ref.isnot(None))
            found = (await s.execute(mine)).all()
            if not found:
                continue
            ids = [id_ for id_, _, _ in found]
            changed = [no for _, no, version in found if version > 1]
            if changed:
                log.warning("undoing import batch %s: orders changed by someone meanwhile are deleted too: %s",
                            batch.key, ", ".join(f"#{no}" for no in changed))
            moved = (select(StockMove.product_id, func.sum(StockMove.delta)).where(StockMove.order_id.in_(ids))
                     .group_by(StockMove.product_id).order_by(StockMove.product_id))
            for product_id, delta in (await s.execute(moved)).all():
                await s.execute(update(Product).where(Product.id == product_id).values(stock=Product.stock - delta))
            await s.execute(delete(StockMove).where(StockMove.order_id.in_(ids)))
            await s.execute(update(Quote).where(Quote.order_id.in_(ids)).values(order_id=None))
            shipments = select(Shipment.id).where(Shipment.order_id.in_(ids))
            await s.execute(delete(ShipmentLine).where(ShipmentLine.shipment_id.in_(shipments)))
            for model in (Shipment, Payment, AuditEvent, OrderLine):
                await s.execute(delete(model).where(model.order_id.in_(ids)))
            await s.execute(delete(Order).where(Order.id.in_(ids)))
    async with db.uow() as uow:
        await uow.session.execute(delete(KeyValue).where(KeyValue.key == batch.key))


def _shipped_amount(lines: list[Line]) -> Decimal:
    return sum((line.shipped_qty * line.unit_price for line in lines), Decimal(0)).quantize(CENT)


def _table(model: type[Any]) -> Table:
    """A model's table, for Core bulk statements (no ORM unit of work, no per-row flush)."""
    return cast(Table, model.__table__)


def _state(batch: Batch) -> str:
    return json.dumps({"first": batch.first, "last": batch.last, "host": socket.gethostname(), "pid": os.getpid(),
                       "beat": datetime.now(UTC).isoformat()})


async def _beat(uow: UnitOfWork, batch: Batch) -> None:
    row = await uow.session.get(KeyValue, batch.key, with_for_update=True, populate_existing=True)
    if row is None or UNDOING in row.value:
        # someone took this import for dead and undid it (or is undoing it): it must not go on
        raise ImportUndone(f"import batch {batch.key} was undone while it ran")
    row.value = _state(batch)


def _abandoned(value: dict[str, Any]) -> bool:
    if value.get("host") != socket.gethostname():
        # another host's process can't be asked: only a heartbeat too old says it died
        return datetime.now(UTC) - datetime.fromisoformat(value["beat"]) > STALE
    try:
        os.kill(int(value["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


@dataclass
class _Draft:
    """An order as the per-row import built it (a draft, then its state set by the lifecycle): what the
    audit snapshots read."""

    customer: Customer
    customer_id: int
    owner_id: int
    due_date: Any
    payment_terms: str
    address: str | None
    contact: str | None
    amount: Decimal
    paid_amount: Decimal
    lines: list[Line]
    state: str = State.DRAFT.value
    written_off: Decimal = ZERO
    production: str = "NONE"
    note: str | None = None


@dataclass
class _Chunk:
    """The rows of some orders, built before their transaction; ids are filled in inside it."""

    plans: Sequence[Planned]
    first_no: int
    ctx: ImportContext
    orders: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        ctx = self.ctx
        for no, plan in enumerate(self.plans, self.first_no):
            ordered = plan.head.get("ordered") or ctx.now.astimezone(ctx.tz).date()
            at = datetime.combine(ordered, datetime.min.time(), tzinfo=ctx.tz)
            customer, owner = plan.customer, plan.owner
            draft = _Draft(customer, customer.id, owner.id, plan.head.get("due"),
                           customer.payment_terms or DEFAULT_PAYMENT_TERMS, customer.address, customer.contact,
                           sum((line.line_amount for line in plan.lines), Decimal("0.00")), plan.paid, plan.lines)
            lifecycle.set_state(draft, plan.state)
            if plan.state is State.CLOSED:
                # a closed order ended early: what was not collected is written off, as /关闭 does
                draft.written_off = draft.amount - draft.paid_amount
            shipped = [line for line in plan.lines if line.shipped_qty > 0]
            row = {
                "no": no, "customer_id": draft.customer_id, "owner_id": draft.owner_id, "state": draft.state,
                "production": draft.production, "due_date": draft.due_date, "payment_terms": draft.payment_terms,
                "note": None, "address": draft.address, "contact": draft.contact, "amount": draft.amount,
                "paid_amount": draft.paid_amount, "written_off": draft.written_off, "version": 1, "row_version": 1,
                "approval_round": 0, "state_reason": None, "external_ref": plan.ref,
                # an imported order has no chat: its notices go to the owner in a 1:1 chat
                "origin_platform": owner.platform, "origin_chat_id": owner.user_id, "origin_chat_type": "single",
                "submitted_at": at, "confirmed_at": at, "shipped_at": at if shipped else None, "signed_at": None,
                "completed_at": at if plan.state is State.COMPLETED else None, "created_at": at,
                "updated_at": ctx.now,
                # not columns: what the statements after the orders' need (dropped before the insert)
                "_plan": plan, "_at": at, "_ordered": ordered, "_shipped": shipped,
            }
            self.orders.append(row)
            prov = ctx.prov
            snapshot = cast(Order, draft)  # a draft has every attribute the two snapshots read
            self.audits.append({
                "at": ctx.now, "order_version": 1, "action": "import", "summary": plan.ref,
                "actor_platform": prov.platform, "actor_user_id": prov.user_id, "actor_name": prov.name,
                "actor_roles": sorted(prov.roles), "chat_platform": prov.chat_platform, "chat_id": prov.chat_id,
                "source": prov.source, "source_ref": prov.source_ref, "before": None,
                # content_snapshot is JSON-safe already
                "after": {**content_snapshot(snapshot), **jsonable(state_snapshot(snapshot)), "external_ref": plan.ref},
            })

    async def insert(self, uow: UnitOfWork) -> None:
        """The chunk's statements: every table's rows in bulk (:func:`_insert_many`), children after their
        parents' ids."""
        s = uow.session
        lo, hi = self.first_no, self.first_no + len(self.plans) - 1
        await insert_many(uow, Order, [{k: v for k, v in o.items() if k[0] != "_"} for o in self.orders])
        ids = {no: id_ for no, id_ in await s.execute(select(Order.no, Order.id).where(Order.no.between(lo, hi)))}
        lines = [{"order_id": ids[o["no"]], "line_no": line.line_no, "product_id": line.product_id, "sku": line.sku,
                  "name": line.name, "qty": line.qty, "unit": line.unit, "unit_price": line.unit_price,
                  "shipped_qty": line.shipped_qty, "floor_price": line.floor_price}
                 for o in self.orders for line in o["_plan"].lines]
        await insert_many(uow, OrderLine, lines)
        shipping = [o for o in self.orders if o["_shipped"]]
        if shipping:
            await insert_many(uow, Shipment, [
                {"order_id": ids[o["no"]], "seq": 1, "carrier": None, "tracking_no": None,
                 "shipped_by": o["owner_id"], "shipped_at": o["_at"],
                 "amount": _shipped_amount(o["_shipped"])} for o in shipping])
            line_ids = await s.execute(select(OrderLine.id, Order.no, OrderLine.line_no).join(Order)
                                       .where(Order.no.between(lo, hi)))
            by_line = {(no, line_no): line_id for line_id, no, line_no in line_ids}
            shipment_ids = await s.execute(select(Order.no, Shipment.id).join(Order, Shipment.order_id == Order.id)
                                           .where(Order.no.between(lo, hi)))
            by_order = {no: id_ for no, id_ in shipment_ids}
            await insert_many(uow, ShipmentLine, [
                {"shipment_id": by_order[o["no"]], "order_line_id": by_line[o["no"], line.line_no],
                 "qty": line.shipped_qty} for o in shipping for line in o["_shipped"]])
        payments = [{"order_id": ids[o["no"]], "amount": o["paid_amount"], "method": None, "paid_on": o["_ordered"],
                     "recorded_by": o["owner_id"], "created_at": self.ctx.now}
                    for o in self.orders if o["paid_amount"] > 0]
        if payments:
            await insert_many(uow, Payment, payments)
        await insert_many(uow, AuditEvent,
                        [{**a, "order_id": ids[o["no"]]} for a, o in zip(self.audits, self.orders, strict=True)])
