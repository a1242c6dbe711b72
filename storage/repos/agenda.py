"""What the scheduler reads and writes: what is due, late, unpaid or waiting, and the reminder rows.

Each fact query selects only what could produce a reminder now, through an index:

- approvals: ``PENDING`` steps active since a cut-off (``ix_approvals_status``);
- deliveries: ``CONFIRMED`` orders with a line not fully shipped and 交期 in given windows
  (``ix_orders_state_due`` + ``ix_order_lines_order_id``);
- payments: ``CONFIRMED`` orders with a balance (``ix_orders_state_due`` prefix);
- tickets: resolved between two moments (``ix_tickets_resolved``).

The thresholds (how long, which days) are the rules' and come from ``schedules/``. Rule
reminders are written with ``ON CONFLICT DO NOTHING`` on their unique ``dedupe_key`` (SQLite
and PostgreSQL both have it): writing one twice, or on two instances at once, makes one row.
A run marker is a ``kv`` row (``sched:digest:2026-11-27``) inserted the same way: whoever
inserts it runs the job, in the same transaction as the messages the job writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.agenda_facts import (
    ApprovalFacts,
    OrderFacts,
    PersonRef,
    PlannedReminder,
    PurchaseFacts,
    PurchaseRow,
    QuoteFacts,
    StaffRows,
    TicketFacts,
)
from storage.models import (
    Approval,
    Customer,
    KeyValue,
    Order,
    OrderLine,
    Person,
    PersonRole,
    Product,
    Purchase,
    Quote,
    Reminder,
    Shipment,
    Ticket,
)
from storage.vocab import ApprovalStatus, PurchaseStatus, QuoteStatus, ReminderStatus, State, TicketStatus

ZERO = Decimal(0)
#: ids per ``IN (…)`` list and rows per multi-row insert
CHUNK = 500
#: overdue purchases looked at per sweep
PURCHASE_LIMIT = 500


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _unshipped() -> Any:
    """Some line of the order is not fully shipped."""
    return exists().where(OrderLine.order_id == Order.id, OrderLine.shipped_qty < OrderLine.qty)


def _order_columns() -> Any:
    """The columns :class:`OrderFacts` needs (customer name, open lines, last shipment)."""
    unshipped = _unshipped()
    last_ship = select(func.max(Shipment.shipped_at)).where(Shipment.order_id == Order.id).scalar_subquery()
    return (
        select(Order.id, Order.no, Order.owner_id, Order.state, Order.due_date, Order.amount,
               Order.paid_amount, Order.written_off, Order.payment_terms, Order.confirmed_at,
               Order.origin_platform, Order.origin_chat_id, Order.origin_chat_type, Customer.name,
               unshipped.label("unshipped"), last_ship.label("last_ship"))
        .outerjoin(Customer, Customer.id == Order.customer_id)
    )


def _order_facts(row: Any) -> OrderFacts:
    fully = not row.unshipped
    return OrderFacts(
        id=row.id, no=row.no, owner_id=row.owner_id, state=row.state, due_date=row.due_date,
        amount=Decimal(row.amount), balance=Decimal(row.amount) - Decimal(row.paid_amount) - Decimal(row.written_off),
        fully_shipped=fully, payment_terms=row.payment_terms, confirmed_at=row.confirmed_at,
        full_shipped_at=row.last_ship if fully else None, customer=row.name or "",
        origin=(row.origin_platform, row.origin_chat_id, row.origin_chat_type),
    )


def _approval_columns() -> Any:
    return (select(Approval.id, Approval.order_id, Order.no, Order.owner_id, Approval.role, Approval.status,
                   Approval.activated_at, Order.amount, Customer.name)
            .join(Order, Order.id == Approval.order_id).outerjoin(Customer, Customer.id == Order.customer_id))


def _approval(row: Any) -> ApprovalFacts:
    return ApprovalFacts(row.id, row.order_id, row.no, row.owner_id, row.role, row.status, row.activated_at,
                         Decimal(row.amount), row.name or "")


def _ticket_columns() -> Any:
    return select(Ticket.id, Ticket.no, Ticket.order_id, Order.no.label("order_no"), Ticket.status,
                  Ticket.resolved_at).join(Order, Order.id == Ticket.order_id)


def _ticket(r: Any) -> TicketFacts:
    return TicketFacts(r.id, r.no, r.order_id, r.order_no, r.status, r.resolved_at)


def due_query(now: datetime, quiet: bool, limit: int, dialect: str) -> Any:
    """The claim query: due PENDING rows, oldest first (only self-set /提醒 in quiet hours)."""
    stmt = select(Reminder).where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
    if quiet:
        stmt = stmt.where(Reminder.kind == "custom", Reminder.created_by == Reminder.person_id)
    stmt = stmt.order_by(Reminder.due_at, Reminder.id).limit(limit)
    if dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


class AgendaRepository:
    """What the scheduler reads and writes, through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _insert(self, table: Any) -> Any:
        """The dialect's INSERT, which knows ``on_conflict_do_nothing``."""
        return postgresql.insert(table) if self._dialect == "postgresql" else sqlite.insert(table)

    # ---- orders -------------------------------------------------------------------------------
    async def undelivered_due_in(self, windows: Iterable[tuple[date, date]]) -> list[OrderFacts]:
        """Confirmed, not fully shipped, 交期 in one of ``windows`` (inclusive; only what planning needs)."""
        out: dict[int, OrderFacts] = {}
        for lo, hi in windows:
            stmt = select(Order.id, Order.no, Order.owner_id, Order.due_date).where(
                Order.state == State.CONFIRMED, Order.due_date >= lo, Order.due_date <= hi, _unshipped())
            for r in await self.session.execute(stmt):
                out[r.id] = OrderFacts(r.id, r.no, r.owner_id, State.CONFIRMED, r.due_date, ZERO, ZERO, False)
        return list(out.values())

    async def late_deliveries(self, today: date) -> list[OrderFacts]:
        """Confirmed, not fully shipped, 交期 before ``today`` (no lookback)."""
        stmt = _order_columns().where(Order.state == State.CONFIRMED, Order.due_date < today, _unshipped())
        return [_order_facts(r) for r in await self.session.execute(stmt)]

    async def deliveries_on(self, day: date) -> list[OrderFacts]:
        """Confirmed, not fully shipped, 交期 on ``day``."""
        stmt = _order_columns().where(Order.state == State.CONFIRMED, Order.due_date == day, _unshipped())
        return [_order_facts(r) for r in await self.session.execute(stmt)]

    async def unpaid_orders(self) -> list[OrderFacts]:
        """Confirmed orders with a balance (the terms decide whether they are late)."""
        stmt = _order_columns().where(Order.state == State.CONFIRMED,
                                      Order.amount - Order.paid_amount - Order.written_off > 0)
        return [_order_facts(r) for r in await self.session.execute(stmt)]

    async def orders_by_id(self, ids: Iterable[int]) -> dict[int, OrderFacts]:
        """Current facts of the given orders (to check a reminder's reason at delivery)."""
        out: dict[int, OrderFacts] = {}
        for chunk in _chunks(sorted(set(ids))):
            for row in await self.session.execute(_order_columns().where(Order.id.in_(chunk))):
                out[row.id] = _order_facts(row)
        return out

    # ---- approvals and tickets -----------------------------------------------------------------
    async def approvals_waiting_since(self, activated_before: datetime) -> list[ApprovalFacts]:
        """PENDING steps activated at or before ``activated_before``."""
        stmt = _approval_columns().where(Approval.status == ApprovalStatus.PENDING,
                                         Approval.activated_at <= activated_before)
        return [_approval(r) for r in await self.session.execute(stmt)]

    async def pending_approvals(self) -> list[ApprovalFacts]:
        """Every PENDING step, longest waiting first."""
        stmt = _approval_columns().where(Approval.status == ApprovalStatus.PENDING).order_by(Approval.activated_at)
        return [_approval(r) for r in await self.session.execute(stmt)]

    async def approvals_by_id(self, ids: Iterable[int]) -> dict[int, ApprovalFacts]:
        """Current approval steps by id."""
        out: dict[int, ApprovalFacts] = {}
        for chunk in _chunks(sorted(set(ids))):
            for row in await self.session.execute(_approval_columns().where(Approval.id.in_(chunk))):
                out[row.id] = _approval(row)
        return out

    async def tickets_resolved_between(self, earliest: datetime, latest: datetime) -> list[TicketFacts]:
        """RESOLVED tickets resolved in [``earliest``, ``latest``]."""
        stmt = _ticket_columns().where(Ticket.status == TicketStatus.RESOLVED, Ticket.resolved_at <= latest,
                                       Ticket.resolved_at >= earliest)
        return [_ticket(r) for r in await self.session.execute(stmt)]

    async def tickets_by_id(self, ids: Iterable[int]) -> dict[int, TicketFacts]:
        """Current tickets by id."""
        out: dict[int, TicketFacts] = {}
        for chunk in _chunks(sorted(set(ids))):
            for r in await self.session.execute(_ticket_columns().where(Ticket.id.in_(chunk))):
                out[r.id] = _ticket(r)
        return out

    # ---- quotations and purchases --------------------------------------------------------------
    async def open_quotes_ending(self, first: date, last: date) -> list[QuoteFacts]:
        """Open quotes whose last valid day is in [``first``, ``last``]."""
        return await self._quotes(Quote.status == QuoteStatus.OPEN, Quote.valid_until >= first,
                                  Quote.valid_until <= last)

    async def quotes_by_id(self, ids: Sequence[int]) -> list[QuoteFacts]:
        """The quotes ``ids``, whatever their state (the delivery check)."""
        return await self._quotes(Quote.id.in_(ids))

    async def _quotes(self, *where: Any) -> list[QuoteFacts]:
        stmt = select(Quote.id, Quote.no, Quote.owner_id, Quote.status, Quote.valid_until, Customer.name,
                      Quote.amount).join(Customer, Customer.id == Quote.customer_id).where(*where)
        return [QuoteFacts(r[0], r[1], r[2], r[3], r[4], r[5], Decimal(str(r[6])))
                for r in (await self.session.execute(stmt)).all()]

    async def open_purchases_expected_before(self, day: date) -> list[PurchaseRow]:
        """Open purchases expected before ``day`` (at most :data:`PURCHASE_LIMIT`)."""
        return await self._purchases(lambda s: s.where(Purchase.status == PurchaseStatus.OPEN,
                                                       Purchase.expected_date < day).limit(PURCHASE_LIMIT))

    async def purchases_by_id(self, ids: Sequence[int]) -> list[PurchaseRow]:
        """The purchases ``ids``, whatever their state (the delivery check)."""
        return await self._purchases(lambda s: s.where(Purchase.id.in_(ids)))

    async def _purchases(self, narrow: Any) -> list[PurchaseRow]:
        stmt = narrow(select(Purchase, Product).join(Product, Product.id == Purchase.product_id))
        return [PurchaseRow(PurchaseFacts(purchase.id, purchase.no, product.sku, purchase.status,
                                          purchase.expected_date), product.id, product.stock)
                for purchase, product in (await self.session.execute(stmt)).all()]

    # ---- people -------------------------------------------------------------------------------
    async def staff(self) -> StaffRows:
        """Active people by role, and their managers (a manager who left is left out)."""
        holders: dict[str, list[int]] = {}
        rows = await self.session.execute(
            select(PersonRole.role, Person.id).join(Person, Person.id == PersonRole.person_id)
            .where(Person.active.is_(True)).order_by(Person.id))
        for role, pid in rows:
            holders.setdefault(role, []).append(pid)
        people = list(await self.session.execute(select(Person.id, Person.manager_id, Person.active)))
        active = {pid for pid, _, is_active in people if is_active}
        managers = {pid: mid for pid, mid, _ in people if mid is not None and mid in active}
        return StaffRows({k: tuple(v) for k, v in holders.items()}, managers)

    async def people_by_id(self, ids: Iterable[int]) -> dict[int, Person]:
        """People by id (active or not)."""
        people: dict[int, Person] = {}
        for chunk in _chunks(sorted(set(ids))):
            for p in (await self.session.execute(select(Person).where(Person.id.in_(chunk)))).scalars():
                people[p.id] = p
        return people

    async def active_people(self) -> list[Person]:
        """Every active person, by id."""
        return list((await self.session.execute(
            select(Person).where(Person.active.is_(True)).order_by(Person.id))).scalars())

    async def person_refs(self, ids: Iterable[int]) -> dict[int, PersonRef]:
        """Platform, user id and name of the people ``ids``."""
        rows = await self.session.execute(
            select(Person.id, Person.platform, Person.user_id, Person.name).where(Person.id.in_(sorted(set(ids)))))
        return {pid: PersonRef(platform, user_id, name) for pid, platform, user_id, name in rows.all()}

    # ---- reminder rows ------------------------------------------------------------------------
    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` already have a reminder row."""
        found: set[str] = set()
        for chunk in _chunks(keys):
            found.update(k for k in (await self.session.execute(
                select(Reminder.dedupe_key).where(Reminder.dedupe_key.in_(chunk)))).scalars() if k)
        return found

    async def add_planned(self, dues: Iterable[PlannedReminder], now: datetime) -> int:
        """Insert a PENDING row for every reminder whose key is new; returns how many were new."""
        by_key = {d.key: d for d in dues}
        if not by_key:
            return 0
        known = await self.existing_keys(list(by_key))
        fresh = [d for k, d in by_key.items() if k not in known]
        if not fresh:
            return 0
        rows = [{"kind": d.kind, "due_at": d.due_at, "person_id": d.person_id, "order_id": d.order_id,
                 "text": d.text, "status": ReminderStatus.PENDING.value, "dedupe_key": d.key, "created_at": now}
                for d in fresh]
        stmt = self._insert(Reminder).on_conflict_do_nothing(index_elements=["dedupe_key"])
        for chunk in _chunks(rows):
            await self.session.execute(stmt, chunk)
        return len(fresh)

    async def claim_due(self, now: datetime, quiet: bool, limit: int) -> list[Reminder]:
        """Due PENDING rows, oldest first, locked against other instances (see :func:`due_query`)."""
        return list((await self.session.execute(due_query(now, quiet, limit, self._dialect))).scalars())

    async def mark(self, ids: Sequence[int], status: str, now: datetime) -> None:
        """Set the status (``SENT``, ``CANCELLED``) and ``sent_at`` of the reminders ``ids``."""
        for chunk in _chunks(ids):
            await self.session.execute(
                update(Reminder).where(Reminder.id.in_(chunk))
                .values(status=status, sent_at=now).execution_options(synchronize_session=False))

    async def prune_done(self, kinds: Sequence[str], due_before: datetime) -> None:
        """Delete the no longer PENDING reminders of ``kinds`` due before ``due_before``."""
        await self.session.execute(delete(Reminder).where(
            Reminder.status != ReminderStatus.PENDING, Reminder.kind.in_(kinds), Reminder.due_at < due_before))

    async def pending_count(self) -> int:
        """How many reminders are PENDING."""
        return int((await self.session.execute(
            select(func.count(Reminder.id)).where(Reminder.status == ReminderStatus.PENDING))).scalar_one())

    async def next_pending(self, limit: int) -> list[tuple[Reminder, PersonRef]]:
        """The first ``limit`` PENDING reminders, soonest first, with whom they are for."""
        rows = await self.session.execute(
            select(Reminder, Person.platform, Person.user_id, Person.name).join(Person, Person.id == Reminder.person_id)
            .where(Reminder.status == ReminderStatus.PENDING).order_by(Reminder.due_at, Reminder.id).limit(limit))
        return [(r, PersonRef(platform, user_id, name)) for r, platform, user_id, name in rows]

    # ---- run markers --------------------------------------------------------------------------
    async def has_marker(self, key: str) -> bool:
        """Whether a run marker exists."""
        return await self.session.get(KeyValue, key) is not None

    async def claim_marker(self, key: str, now: datetime) -> bool:
        """Insert a run marker; False when another run (or instance) already holds it.

        On PostgreSQL a concurrent insert of the same key waits for the other
        transaction and then does nothing, so exactly one instance gets True.
        """
        stmt = self._insert(KeyValue).values(key=key, value=now.isoformat()).on_conflict_do_nothing(
            index_elements=["key"])
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0) == 1)

    async def prune_markers(self, prefix: str, keep_from: str) -> None:
        """Delete run markers of ``prefix`` that sort before ``keep_from`` (old days)."""
        await self.session.execute(delete(KeyValue).where(KeyValue.key.like(prefix + "%"), KeyValue.key < keep_from))
