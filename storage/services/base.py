"""What every service shares: provenance, domain events, audit records, counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from storage import lifecycle
from storage.db import UnitOfWork
from storage.models import AuditEvent, Counter, Order

CENT = Decimal("0.01")
#: amounts and quantities from here on are refused: the columns hold 14 digits before the point,
#: and SQLite keeps numerics as floats, where 12 digits still hold every cent exactly
MAX_AMOUNT = Decimal("1000000000000")


@dataclass(frozen=True)
class Provenance:
    """Who did it, from which chat, caused by which message or card press."""

    person_id: int
    platform: str
    user_id: str
    name: str
    roles: frozenset[str]
    chat_platform: str | None = None
    chat_id: str | None = None
    #: message / card / api / cli / scheduler
    source: str = "message"
    source_ref: str | None = None

    @property
    def actor(self) -> lifecycle.Actor:
        """The actor as the lifecycle rules see it."""
        return lifecycle.Actor(self.person_id, self.roles)


@dataclass(frozen=True)
class Rules:
    """Business settings the services need."""

    t1: Decimal
    t2: Decimal


def jsonable(value: Any) -> Any:
    """Decimals, dates and nested containers as JSON-safe values (audit before/after)."""
    if value is None or isinstance(value, str | int | float):
        return value  # the common case first: an import snapshots every order it writes
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


#: the audit events a unit of work will write at its commit (in its session's ``info``)
_PENDING_AUDIT = "gendan_pending_audit"
_AUDIT_INSERT = insert(cast(Table, AuditEvent.__table__))


def audit(
    uow: UnitOfWork,
    prov: Provenance,
    action: str,
    order: Order | None,
    now: datetime,
    *,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit event in the current transaction (with the others of the transaction, at its commit).

    Written at the commit, so a savepoint rolled back after this does not take the event back (no
    operation audits inside a savepoint).
    """
    uow.writing("an audit event")
    rows: list[dict[str, Any]] | None = uow.session.info.get(_PENDING_AUDIT)
    if rows is None:
        rows = uow.session.info[_PENDING_AUDIT] = []
        uow.before_commit.append(_write_audit)
    rows.append({
        "at": now,
        "order_id": order.id if order is not None else None,
        "order_version": order.version if order is not None else None,
        "action": action,
        "summary": summary,
        "actor_platform": prov.platform,
        "actor_user_id": prov.user_id,
        "actor_name": prov.name,
        "actor_roles": sorted(prov.roles),
        "chat_platform": prov.chat_platform,
        "chat_id": prov.chat_id,
        "source": prov.source,
        "source_ref": prov.source_ref,
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
    })


async def _write_audit(uow: UnitOfWork) -> None:
    # one Core INSERT for all of a transaction's events: as ORM objects each was a statement of its own on
    # SQLite (no ordered multi-row INSERT … RETURNING there) and a unit-of-work flush on both databases;
    # nothing reads an audit event back in the transaction that writes it
    rows = uow.session.info.pop(_PENDING_AUDIT, None)
    if rows:
        await uow.session.execute(_AUDIT_INSERT, rows)


#: the counter upsert of every new order, quote and purchase, per dialect, built once; on the table (Core),
#: not the mapped class, which sends it through the ORM's bulk-insert machinery for nothing
_COUNTERS = cast(Table, Counter.__table__)
_NEXT_NUMBER = {
    module.dialect.name: module.insert(_COUNTERS).values(name=bindparam("counter"), value=1)
    .on_conflict_do_update(index_elements=["name"], set_={"value": _COUNTERS.c.value + 1})
    .returning(_COUNTERS.c.value)
    for module in (postgresql, sqlite)
}


async def next_number(uow: UnitOfWork, name: str) -> int:
    """The next value of a named counter; an upsert, safe under concurrency on both databases."""
    stmt = _NEXT_NUMBER[uow.dialect]
    return int((await uow.session.execute(stmt, {"counter": name})).scalar_one())


async def reserve_numbers(uow: UnitOfWork, name: str, count: int) -> int:
    """Take ``count`` consecutive values of a named counter at once; the first of them.

    A bulk writer (the historic-order import) calls it in a short transaction of its own, so the counter
    row is held only for that transaction, never while the numbers are being used."""
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Counter)
        .values(name=name, value=count)
        .on_conflict_do_update(index_elements=["name"], set_={"value": Counter.value + count})
        .returning(Counter.value)
    )
    return int((await uow.session.execute(stmt)).scalar_one()) - count + 1


async def order_by_no(uow: UnitOfWork, no: int, *, lock: bool = True) -> Order | None:
    """Load an order by its number; ``lock`` takes the row lock (PostgreSQL) for the transaction."""
    stmt = select(Order).where(Order.no == no)
    if lock:
        # populate_existing: a copy read earlier in this session must not hide what the lock waited for
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await uow.session.execute(stmt)).scalar_one_or_none()


def state_snapshot(order: Order) -> dict[str, Any]:
    """The part of an order that state changes touch (audit before/after)."""
    stage = lifecycle.stage(order)
    return {
        "state": order.state,
        "stage": stage.value if stage else None,
        "paid_amount": order.paid_amount,
        "written_off": order.written_off,
    }


def content_snapshot(order: Order) -> dict[str, Any]:
    """The full content of an order (versions and change requests)."""
    snapshot: dict[str, Any] = jsonable(
        {
            "customer_id": order.customer_id,
            "customer": order.customer.name if order.customer else None,
            "due_date": order.due_date,
            "payment_terms": order.payment_terms,
            "note": order.note,
            "address": order.address,
            "contact": order.contact,
            "amount": order.amount,
            "lines": [
                {
                    "line_no": line.line_no,
                    "sku": line.sku,
                    "name": line.name,
                    "qty": plain(line.qty),
                    "unit": line.unit,
                    "unit_price": line.unit_price,
                    "shipped_qty": plain(line.shipped_qty),
                }
                for line in order.lines
            ],
        }
    )
    return snapshot


def money(value: object) -> Decimal:
    """A database sum as exact yuan: SQLite keeps numerics as floats, so sums come back as floats."""
    return Decimal(str(value if value is not None else 0)).quantize(CENT)


def plain(value: Decimal) -> str:
    """A quantity without trailing zeros: 10.000 → "10", 2.500 → "2.5"."""
    return f"{value.normalize():f}"


def recompute_amount(order: Order) -> None:
    """Order amount = sum of priced lines."""
    order.amount = sum((line.line_amount for line in order.lines), Decimal("0.00")).quantize(CENT)
