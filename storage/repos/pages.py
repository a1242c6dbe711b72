"""Read models of the web surface: REST API, dashboard, statements, approval pages.

Every query ``web/`` makes is a method here (``uow.pages``); the web modules turn the rows
into JSON or HTML. Searches return one page of rows and the total, newest first. The few
writes of the web surface are here too: an order's ``external_ref`` (the API's idempotency
key) and the ``kv`` rows of the signed links (the generated link key, spent link nonces); a
unique-key collision comes out as
:class:`~storage.conflicts.DuplicateRow`, never as SQLAlchemy's exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import conflicts, stage_sql
from storage.models import (
    Approval,
    AuditEvent,
    ChangeRequest,
    Customer,
    KeyValue,
    Order,
    Person,
    Purchase,
    Quote,
)
from storage.vocab import PurchaseStatus, QuoteStatus, State

T = TypeVar("T")
CENT = Decimal("0.01")
#: the order states whose unpaid amount is the customer's balance (as the /客户 card counts it)
OPEN_STATES = (State.CONFIRMED, State.ON_HOLD, State.PENDING_APPROVAL)


@dataclass(frozen=True)
class Page:
    """Which slice of a search: ``number`` from 1, ``size`` rows."""

    number: int = 1
    size: int = 50

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class OrderFilter:
    """``GET /api/v1/orders``: each given criterion narrows the search (values already checked)."""

    state: str | None = None
    stage: str | None = None
    #: part of the customer's name, or the customer's id
    customer: str | None = None
    #: the owner's platform user id
    owner: str | None = None
    #: confirmed, due before ``today`` and not all shipped
    overdue: bool = False
    today: date | None = None


@dataclass(frozen=True)
class QuoteFilter:
    """``GET /api/v1/quotes``: ``status`` is a quote status or ``EXPIRED`` (open past its last valid day)."""

    today: date
    status: str | None = None
    owner: str | None = None
    customer: str | None = None


@dataclass(frozen=True)
class ApprovalView:
    """What the approval-link confirmation page shows: the step, its order and a change's diff."""

    step: Approval
    order: Order
    diff: list[dict[str, Any]] | None


class PageRepository:
    """Read models of the web surface, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _page(self, stmt: Select[T], page: Page, *order_by: Any) -> tuple[list[T], int]:
        total = (await self.session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = (await self.session.execute(stmt.order_by(*order_by).offset(page.offset).limit(page.size))).scalars()
        return list(rows), total

    # ---- orders -----------------------------------------------------------------------
    async def order_by_external_ref(self, ref: str) -> Order | None:
        """The order an API client created with this ``external_ref``."""
        found: Order | None = (await self.session.execute(
            select(Order).where(Order.external_ref == ref))).scalar_one_or_none()
        return found

    async def set_external_ref(self, order: Order, ref: str | None) -> None:
        """Tag a new order with the API client's reference; ``DuplicateRow`` when another order has it."""
        order.external_ref = ref
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise conflicts.translate(exc) or exc from exc

    async def search_orders(self, where: OrderFilter, page: Page) -> tuple[list[Order], int]:
        """One page of the orders that match, newest first, and how many match in all."""
        await stage_sql.without_jit(self.session)
        stmt = select(Order)
        if where.customer:
            c = where.customer
            stmt = stmt.join(Customer, Customer.id == Order.customer_id).where(
                (Customer.name.contains(c)) | (Customer.id == (int(c) if c.isdigit() else -1)))
        if where.owner:
            stmt = stmt.join(Person, Person.id == Order.owner_id).where(Person.user_id == where.owner)
        derived = where.state or where.stage or (where.overdue and where.today is not None)
        if not derived:
            return await self._page(stmt, page, Order.no.desc())
        found = []
        for state in (Order.state, stage_sql.unindexed_state()):  # the count by the index, the page by number
            query = stmt if not where.state else stmt.where(state == where.state)
            if where.overdue and where.today is not None:
                query = query.where(state == State.CONFIRMED, Order.due_date < where.today, stage_sql.unshipped_line())
            if where.stage:
                query = query.where(stage_sql.stage_is(where.stage, state))
            found.append(query)
        total = (await self.session.execute(select(func.count()).select_from(found[0].subquery()))).scalar_one()
        rows = (await self.session.execute(
            found[1].order_by(Order.no.desc()).offset(page.offset).limit(page.size))).scalars()
        return list(rows), total

    async def order_events(self, order_id: int) -> list[AuditEvent]:
        """An order's audit trail, oldest first."""
        return list((await self.session.execute(
            select(AuditEvent).where(AuditEvent.order_id == order_id).order_by(AuditEvent.id))).scalars())

    # ---- quotes and purchases ---------------------------------------------------------
    async def quote_by_no(self, no: int) -> Quote | None:
        """The quotation ``Q<no>``."""
        found: Quote | None = (await self.session.execute(select(Quote).where(Quote.no == no))).scalar_one_or_none()
        return found

    async def search_quotes(self, where: QuoteFilter, page: Page) -> tuple[list[Quote], int]:
        """One page of the quotations that match, newest first, and how many match in all."""
        stmt = select(Quote)
        if where.status == "EXPIRED":
            stmt = stmt.where(Quote.status == QuoteStatus.OPEN.value, Quote.valid_until < where.today)
        elif where.status == QuoteStatus.OPEN:
            stmt = stmt.where(Quote.status == where.status, Quote.valid_until >= where.today)
        elif where.status:
            stmt = stmt.where(Quote.status == where.status)
        if where.owner:
            stmt = stmt.join(Person, Person.id == Quote.owner_id).where(Person.user_id == where.owner)
        if where.customer:
            stmt = stmt.join(Customer, Customer.id == Quote.customer_id).where(Customer.name.contains(where.customer))
        return await self._page(stmt, page, Quote.no.desc())

    async def search_purchases(self, status: str | None, overdue_on: date | None,
                               page: Page) -> tuple[list[Purchase], int]:
        """One page of purchase requests (of ``status``; open and expected before ``overdue_on``), newest first."""
        stmt = select(Purchase)
        if status:
            stmt = stmt.where(Purchase.status == status)
        if overdue_on is not None:
            stmt = stmt.where(Purchase.status == PurchaseStatus.OPEN, Purchase.expected_date < overdue_on)
        return await self._page(stmt, page, Purchase.no.desc())

    # ---- customers --------------------------------------------------------------------
    async def customer(self, customer_id: int) -> Customer | None:
        """One customer."""
        return await self.session.get(Customer, customer_id)

    async def search_customers(self, name_part: str, page: Page) -> tuple[list[Customer], int]:
        """One page of customers whose name contains ``name_part`` (any, when empty), by id."""
        stmt = select(Customer)
        if name_part:
            stmt = stmt.where(Customer.name.contains(name_part, autoescape=True))
        return await self._page(stmt, page, Customer.id)

    async def open_balances(self, customer_ids: Sequence[int]) -> dict[int, Decimal]:
        """What each customer still owes on open orders (customers owing nothing are absent)."""
        unpaid = func.coalesce(func.sum(Order.amount - Order.paid_amount - Order.written_off), 0)
        rows = await self.session.execute(
            select(Order.customer_id, unpaid)
            .where(Order.customer_id.in_(list(customer_ids)), Order.state.in_(OPEN_STATES))
            .group_by(Order.customer_id))
        # SQLite keeps numerics as floats: through str, as exact yuan
        return {cid: Decimal(str(value)).quantize(CENT) for cid, value in rows if cid is not None}

    # ---- approval pages ---------------------------------------------------------------
    async def approval_view(self, approval_id: int) -> ApprovalView | None:
        """The step, its order and (for a change request) the diff; None when there is no such step."""
        step = await self.session.get(Approval, approval_id)
        if step is None:
            return None
        order = await self.session.get_one(Order, step.order_id)
        diff = None
        if step.change_request_id is not None:
            diff = (await self.session.get_one(ChangeRequest, step.change_request_id)).diff
        return ApprovalView(step, order, diff)

    # ---- kv: the link key and spent link nonces ---------------------------------------
    async def kv(self, key: str) -> str | None:
        """The value stored under ``key``."""
        row = await self.session.get(KeyValue, key)
        return None if row is None else row.value

    async def add_kv(self, key: str, value: str) -> None:
        """Store a new key; ``DuplicateRow`` when it exists (the caller's transaction is then spent)."""
        self.session.add(KeyValue(key=key, value=value))
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise conflicts.translate(exc) or exc from exc

    async def delete_kv(self, key: str) -> None:
        """Forget ``key``."""
        await self.session.execute(delete(KeyValue).where(KeyValue.key == key))

    async def prune_kv(self, prefix: str, below: str) -> None:
        """Forget the keys starting with ``prefix`` whose value sorts before ``below``."""
        await self.session.execute(delete(KeyValue).where(KeyValue.key.startswith(prefix), KeyValue.value < below))
