"""Import customers, products and historic orders from rows the caller has already read and typed.

One file is one transaction, all or nothing: every row is checked and either all of it is
written or (any error, or a dry run) none of it. A dry run executes exactly the same code and
rolls back, so its report is the report of the real run. Re-importing the same rows changes
nothing: customers match by exact name, products by SKU (any case), historic orders by their
external 订单号 (``orders.external_ref``).

Problems are reported as :class:`Issue` codes with parameters; the Chinese texts are rendered
by ``handlers/texts/importing.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, select

from storage.db import Database, UnitOfWork
from storage.models import Customer, Product, StockMove
from storage.services.base import MAX_AMOUNT, Provenance
from storage.services.catalog import link_free_lines

Kind = Literal["customers", "products", "orders"]
#: (rows done, rows in total)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Issue:
    """One problem (an error blocks the import; a note does not).

    ``row`` is the spreadsheet row number as the user sees it (0: the file as a whole).
    """

    row: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """What an import did (or, on a dry run or with errors, would have done)."""

    kind: Kind
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Issue] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Whether the changes were committed."""
        return not self.errors and not self.dry_run

    def error(self, row: int, code: str, **params: Any) -> None:
        """Add an error."""
        self.errors.append(Issue(row, code, params))

    def note(self, row: int, code: str, **params: Any) -> None:
        """Add a note (not an error)."""
        self.notes.append(Issue(row, code, params))


@dataclass(frozen=True)
class CustomerRow:
    """One customer row; None means the cell was empty (an existing value is then kept)."""

    row: int
    name: str | None
    contact: str | None = None
    phone: str | None = None
    address: str | None = None
    credit_limit: Decimal | None = None
    payment_terms: str | None = None
    #: the row had unreadable cells, already reported by the reader
    bad: bool = False


@dataclass(frozen=True)
class ProductRow:
    """One product row; None means the cell was empty (an existing value is then kept)."""

    row: int
    sku: str | None
    name: str | None = None
    unit: str | None = None
    price: Decimal | None = None
    floor_price: Decimal | None = None
    stock: Decimal | None = None
    bad: bool = False


@dataclass(frozen=True)
class ImportContext:
    """What every import needs besides its rows."""

    prov: Provenance
    now: datetime
    tz: tzinfo
    #: who owns a historic order whose 负责人 cell is empty (a name, user id or platform:user_id)
    default_owner: str | None = None
    progress: Progress | None = None


class _Rollback(Exception):
    """Raised inside the unit of work to undo a dry run or a file with errors."""


#: column lengths (longer text would fail on PostgreSQL and be silently kept by SQLite)
CUSTOMER_LIMITS = {"name": 128, "contact": 64, "phone": 32, "payment_terms": 64}
PRODUCT_LIMITS = {"sku": 64, "name": 128, "unit": 16}


async def run(db: Database, kind: Kind, rows: Sequence[Any], report: Report, ctx: ImportContext) -> Report:
    """Check and write ``rows`` in one transaction; roll back on a dry run or any error in ``report``."""
    from storage.services.import_orders import import_orders  # the orders half lives next door

    ticker = Ticker(len(rows), ctx.progress)
    report.rows = len(rows)
    try:
        async with db.uow() as uow:
            if kind == "customers":
                await _customers(uow, rows, report, ticker)
            elif kind == "products":
                await _products(uow, rows, report, ctx, ticker)
            else:
                await import_orders(uow, rows, report, ctx, ticker)
            if not report.written:
                raise _Rollback
    except _Rollback:
        pass
    return report


class Ticker:
    """Counts rows done and tells the progress callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self.tick(0)

    def tick(self, n: int = 1) -> None:
        """``n`` more rows are done."""
        self.done += n
        if self._progress is not None:
            self._progress(self.done, self.total)


def check_length(report: Report, row: int, values: dict[str, str | None], limits: dict[str, int]) -> bool:
    """Report text longer than its column; True when everything fits."""
    ok = True
    for name, limit in limits.items():
        value = values.get(name)
        if value is not None and len(value) > limit:
            report.error(row, "too_long", field=name, limit=limit)
            ok = False
    return ok


def check_amount(report: Report, row: int, name: str, value: Decimal | None, *, negative_ok: bool = False) -> bool:
    """Report a negative or absurdly large amount; True when fine (or empty)."""
    if value is None:
        return True
    if value < 0 and not negative_ok:
        report.error(row, "negative", field=name, value=value)
        return False
    if abs(value) >= MAX_AMOUNT:
        report.error(row, "too_large", field=name, value=value)
        return False
    return True


def apply_changes(obj: object, values: dict[str, Any]) -> bool:
    """Set the given (non-None) values that differ; True if anything changed."""
    changed = False
    for name, value in values.items():
        if value is not None and getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


async def _customers(uow: UnitOfWork, rows: Sequence[CustomerRow], report: Report, ticker: Ticker) -> None:
    seen: dict[str, int] = {}
    for r in rows:
        ticker.tick()
        if r.bad:
            continue
        if not r.name:
            report.error(r.row, "missing", field="name")
            continue
        if r.name in seen:
            report.error(r.row, "duplicate", field="name", value=r.name, first=seen[r.name])
            continue
        seen[r.name] = r.row
        values: dict[str, Any] = {"contact": r.contact, "phone": r.phone, "address": r.address,
                                  "credit_limit": r.credit_limit, "payment_terms": r.payment_terms}
        fits = check_length(report, r.row, {"name": r.name, **values}, CUSTOMER_LIMITS)
        if not (check_amount(report, r.row, "credit_limit", r.credit_limit) and fits):
            continue
        found = (await uow.session.execute(select(Customer).where(Customer.name == r.name))).scalar_one_or_none()
        if found is None:
            uow.session.add(Customer(name=r.name, **values))
            report.created += 1
        elif apply_changes(found, values):
            report.updated += 1
        else:
            report.unchanged += 1
    await uow.session.flush()


async def _products(
    uow: UnitOfWork, rows: Sequence[ProductRow], report: Report, ctx: ImportContext, ticker: Ticker
) -> None:
    seen: dict[str, int] = {}
    for r in rows:
        ticker.tick()
        if r.bad:
            continue
        if not r.sku:
            report.error(r.row, "missing", field="sku")
            continue
        if r.sku.lower() in seen:
            report.error(r.row, "duplicate", field="sku", value=r.sku, first=seen[r.sku.lower()])
            continue
        seen[r.sku.lower()] = r.row
        fits = check_length(report, r.row, {"sku": r.sku, "name": r.name, "unit": r.unit}, PRODUCT_LIMITS)
        amounts_ok = all([check_amount(report, r.row, "price", r.price),
                          check_amount(report, r.row, "floor_price", r.floor_price),
                          check_amount(report, r.row, "stock", r.stock)])
        if not (fits and amounts_ok):
            continue
        stmt = select(Product).where(func.lower(Product.sku) == r.sku.lower())
        found = (await uow.session.execute(stmt)).scalar_one_or_none()
        values: dict[str, Any] = {"name": r.name, "unit": r.unit, "price": r.price, "floor_price": r.floor_price}
        if found is None:
            found = Product(sku=r.sku, stock=Decimal(0), **{k: v for k, v in values.items() if v is not None})
            uow.session.add(found)
            await uow.session.flush()
            report.created += 1
            _set_stock(uow, found, r.stock, ctx.now)
            linked = await link_free_lines(uow, found, ctx.prov, ctx.now)
            if linked:
                report.note(r.row, "linked_lines", value=found.sku, orders=linked)
        elif apply_changes(found, values) | _set_stock(uow, found, r.stock, ctx.now):
            report.updated += 1
        else:
            report.unchanged += 1
    await uow.session.flush()


def _set_stock(uow: UnitOfWork, product: Product, stock: Decimal | None, now: datetime) -> bool:
    """The file states the stock on hand: book the difference as a stock move, so the ledger adds up."""
    if stock is None or stock == product.stock:
        return False
    uow.session.add(StockMove(product_id=product.id, delta=stock - product.stock, reason="import", created_at=now))
    product.stock = stock
    return True
