"""The SQL stage conditions (``storage.stage_sql``) agree with ``lifecycle.stage`` on varied orders.

The REST filter ``stage=``, the kanban's counts and its columns are SQL; the Python function is the
definition. Every combination of state, production and line progress below (no lines, a line of
zero quantity, over-shipped lines, fractional quantities whose float sum is not exact) is written
to the database, and each order's stage as SQL sees it must be the stage Python computes.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from storage import lifecycle, stage_sql
from storage.db import Database
from storage.models import Order, OrderLine, Person
from storage.repos.pages import OrderFilter, Page
from storage.services import dashboard
from storage.vocab import Stage, State

D = Decimal
#: (qty, shipped_qty) per line; each tuple is one order's lines
LINE_SETS: tuple[tuple[tuple[Decimal, Decimal], ...], ...] = (
    (),
    ((D(5), D(0)),),
    ((D(5), D(5)),),
    ((D(5), D(2)),),
    ((D(5), D(7)),),  # over-shipped
    ((D(0), D(0)),),  # nothing to ship at all: fully shipped, nothing shipped
    ((D(5), D(5)), (D(3), D(0))),
    ((D(5), D(5)), (D(3), D(3))),
    ((D("0.3"), D("0.1")), (D("0.2"), D(0))),
    ((D("0.3"), D("0.3")), (D("0.1"), D("0.1"))),
    ((D(0), D(0)), (D(4), D(0))),
)
PRODUCTION = ("NONE", "STARTED", "FINISHED")
STATES = (State.CONFIRMED, State.DRAFT, State.ON_HOLD, State.PENDING_APPROVAL, State.COMPLETED)


async def _orders(db: Database) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    async with db.uow() as uow:
        owner = Person(platform="local", user_id="u1", name="张三")
        uow.session.add(owner)
        await uow.session.flush()
        for no, (state, production, lines) in enumerate(itertools.product(STATES, PRODUCTION, LINE_SETS), 1):
            uow.session.add(Order(
                no=no, owner_id=owner.id, state=state.value, production=production, amount=D(100),
                origin_platform="local", origin_chat_id="g1", created_at=now, updated_at=now,
                lines=[OrderLine(line_no=i, sku="A", qty=q, unit_price=D(1), shipped_qty=s)
                       for i, (q, s) in enumerate(lines, 1)]))


async def test_sql_stage_matches_lifecycle_stage(db: Database) -> None:
    await _orders(db)
    async with db.reader() as uow:
        orders = list((await uow.session.execute(select(Order))).scalars())
        python = {o.id: lifecycle.stage(o) for o in orders}
        assert len(orders) == len(STATES) * len(PRODUCTION) * len(LINE_SETS)
        assert set(python.values()) == {None, *Stage}  # every stage occurs
        for stage in Stage:
            in_sql = set((await uow.session.execute(select(Order.id).where(stage_sql.stage_is(stage)))).scalars())
            assert in_sql == {i for i, s in python.items() if s is stage}, stage
        codes = await uow.session.execute(select(Order.id, Order.production, stage_sql.progress()).where(
            Order.state == State.CONFIRMED))
        assert {i: stage_sql.stage_of(p, c) for i, p, c in codes} == {i: s for i, s in python.items() if s}
        counts = await dashboard.column_counts(uow)
        assert counts == {key: sum(dashboard.column_key(o) == key for o in orders
                                   if o.state in dashboard.OPEN_STATES) for key in dashboard.COLUMNS}
        shipped = set((await uow.session.execute(select(Order.id).where(stage_sql.fully_shipped()))).scalars())
        assert shipped == {o.id for o in orders if lifecycle.fully_shipped(o)}


async def test_rest_stage_filter_pages_in_sql(db: Database) -> None:
    await _orders(db)
    async with db.reader() as uow:
        orders = list((await uow.session.execute(select(Order))).scalars())
        for stage in Stage:
            want = sorted((o.no for o in orders if lifecycle.stage(o) is stage), reverse=True)
            rows, total = await uow.pages.search_orders(OrderFilter(stage=stage.value), Page(1, 3))
            assert total == len(want) and [o.no for o in rows] == want[:3], stage
            rows, total = await uow.pages.search_orders(OrderFilter(stage=stage.value), Page(2, 3))
            assert [o.no for o in rows] == want[3:6], stage
