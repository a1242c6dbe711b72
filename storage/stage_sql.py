"""``lifecycle.stage(order)`` and friends as SQL conditions, so lists can filter and count in the database.

:func:`storage.lifecycle.stage` is the definition; each condition here says the same thing about an
``orders`` row (``tests/test_stage_sql.py`` compares the two on varied orders, so they cannot drift).
What the stage needs from the lines is kept on the order itself: ``orders.line_progress`` (see
:func:`progress`), written by triggers on ``order_lines`` in the transaction of every change to them
(migration 0011; ``tests/test_line_progress.py`` checks it against the lines after every kind of
change), and indexed with the state (``ix_orders_line_progress``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, text

from storage.models import Order
from storage.vocab import Stage, State

#: ``orders.line_progress`` (not an ORM attribute: the ORM neither loads nor writes it)
LINE_PROGRESS: ColumnElement[Any] = Order.__table__.c.line_progress

#: :func:`progress` codes: 1 = lines, none left to ship and none shipped (all of quantity 0),
#: 3 = all shipped, 5 = goods left and nothing shipped, 7 = goods left and something shipped;
#: NULL = no lines
SHIPPED_IN_FULL = (1, 3)
PART_SHIPPED = 7
NOTHING_SHIPPED = 5


def progress() -> ColumnElement[Any]:
    """What the stage needs from an order's lines, kept on the order (see :data:`SHIPPED_IN_FULL`).

    ``1 + (4 if a line has goods left) + (2 if a line has shipped something)``, NULL without lines
    (migration 0011 computes it in the triggers on ``order_lines``)."""
    return LINE_PROGRESS


def unshipped_line() -> ColumnElement[bool]:
    """A line still has goods to ship (``shipped_qty < qty``)."""
    return progress() >= NOTHING_SHIPPED


def fully_shipped() -> ColumnElement[bool]:
    """``lifecycle.fully_shipped``: lines, and every one shipped in full."""
    return progress().in_(SHIPPED_IN_FULL)


def not_fully_shipped() -> ColumnElement[bool]:
    """The negation of :func:`fully_shipped` (no lines, or a line with goods left)."""
    return or_(progress().is_(None), progress() >= NOTHING_SHIPPED)


def stage_is(stage: Stage | str, state: Any = Order.state) -> ColumnElement[bool]:
    """Orders whose ``lifecycle.stage`` is ``stage`` (CONFIRMED orders only, as there).

    ``state`` may be an expression of the state that no index serves (:func:`unindexed_state`)."""
    stage = Stage(stage)
    confirmed = state == State.CONFIRMED.value
    if stage is Stage.AWAITING_PAYMENT:
        return and_(confirmed, fully_shipped())
    if stage is Stage.PARTIALLY_SHIPPED:
        return and_(confirmed, progress() == PART_SHIPPED)
    production = {Stage.READY: Order.production == "FINISHED", Stage.IN_PRODUCTION: Order.production == "STARTED"}
    made = production.get(stage, Order.production.not_in(("FINISHED", "STARTED")))
    return and_(confirmed, made, or_(progress().is_(None), progress() == NOTHING_SHIPPED))


def stage_of(production: str, code: int | None) -> Stage:
    """The stage of a CONFIRMED order from its production and :func:`progress` code (as ``lifecycle.stage``)."""
    if code in SHIPPED_IN_FULL:
        return Stage.AWAITING_PAYMENT
    if code == PART_SHIPPED:
        return Stage.PARTIALLY_SHIPPED
    if production == "FINISHED":
        return Stage.READY
    if production == "STARTED":
        return Stage.IN_PRODUCTION
    return Stage.PREPARING


def live() -> ColumnElement[bool]:
    """``state IN ('CONFIRMED', 'ON_HOLD')`` (the orders that reserve stock and owe money), written out.

    SQLite uses the partial index ``ix_orders_owing`` only for a condition it can see implies the
    index's own, which it cannot for bound values."""
    return Order.state.in_(bindparam("live_states", [State.CONFIRMED.value, State.ON_HOLD.value], expanding=True,
                                     literal_execute=True))


def unindexed_state() -> ColumnElement[str]:
    """``orders.state`` as an expression (``state || ''``) that no index serves.

    A page of a filtered list, newest first, is found fastest by walking the orders by number from
    the newest and testing each; with the state's index at hand the planners would rather collect
    every confirmed order and sort them all. The count of the same list keeps the index."""
    return Order.state.concat("")


async def without_jit(session: Any) -> None:
    """PostgreSQL: no JIT compilation for the rest of this transaction.

    The dashboard's aggregates cost more than ``jit_above_cost`` in the planner's eyes, and compiling
    them takes 0.2–0.5 s, longer than running them (measured at 1,000,000 orders). A no-op on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
