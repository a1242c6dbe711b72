"""orders.line_progress: an order's line progress kept on the order, by triggers on ``order_lines``

The kanban counts, the stage filters and the late lists asked every open order's lines for the same
small fact (``storage.stage_sql``): are there lines, is a line still to ship, has a line shipped
anything. At 1,000,000 orders that was ~95,000 line look-ups per kanban view. The fact is now a
column, written in the transaction of every change to ``order_lines`` by triggers in the database
itself, so every writer keeps it (services, the bulk import's Core inserts, a hand-made fix in SQL):

- code = 1 + (4 if a line has ``shipped_qty < qty``) + (2 if a line has ``shipped_qty > 0``);
  NULL while the order has no lines (``storage.stage_sql.SHIPPED_IN_FULL`` and friends);
- SQLite: row triggers after INSERT, UPDATE OF qty/shipped_qty/order_id and DELETE;
- PostgreSQL: statement triggers with transition tables (a bulk insert recomputes each order once);
  they lock the orders first and then recompute, so two transactions changing different lines of one
  order cannot leave a stale figure (the second waits, then reads the first's lines);
- ``ix_orders_line_progress`` (state, line_progress, production, due_date): the kanban counts and
  the late counts from the index alone.

``order_state_counts`` (state, n): how many orders are in each finished state (COMPLETED, CLOSED,
CANCELLED), kept by triggers on ``orders`` (after INSERT and DELETE; after UPDATE OF state when it
enters or leaves a finished state), so the kanban's footer reads three rows instead of counting
~900,000 orders. Open states are not counted: creating or moving an open order never touches these
rows (on PostgreSQL two transactions finishing orders at once wait for each other's commit there).

A later migration that rebuilds ``order_lines`` on SQLite (``batch_alter_table`` with a table copy)
drops its triggers: it must create them again (:func:`create_triggers`). ``tests/test_line_progress.py``
fails if they are missing.

Revision ID: 0011_order_line_progress
Revises: 0010_subscription_topic_index
Create Date: 2026-12-07 17:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_order_line_progress'
down_revision: str | None = '0010_subscription_topic_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the code of the order ``orders.id`` from its lines (NULL without lines)
PROGRESS = ("(SELECT 1 + MAX(CASE WHEN l.shipped_qty < l.qty THEN 4 ELSE 0 END)"
            " + MAX(CASE WHEN l.shipped_qty > 0 THEN 2 ELSE 0 END)"
            " FROM order_lines l WHERE l.order_id = orders.id)")

_SQLITE = {
    "trg_order_lines_progress_ins": "AFTER INSERT ON order_lines FOR EACH ROW BEGIN "
    f"UPDATE orders SET line_progress = {PROGRESS} WHERE id = NEW.order_id; END",
    "trg_order_lines_progress_upd": "AFTER UPDATE OF qty, shipped_qty, order_id ON order_lines FOR EACH ROW BEGIN "
    f"UPDATE orders SET line_progress = {PROGRESS} WHERE id IN (NEW.order_id, OLD.order_id); END",
    "trg_order_lines_progress_del": "AFTER DELETE ON order_lines FOR EACH ROW BEGIN "
    f"UPDATE orders SET line_progress = {PROGRESS} WHERE id = OLD.order_id; END",
}

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION order_lines_progress() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT order_id) INTO ids FROM new_lines;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT order_id) INTO ids FROM old_lines;
    ELSE
        SELECT array_agg(DISTINCT order_id) INTO ids
        FROM (SELECT order_id FROM new_lines UNION SELECT order_id FROM old_lines) AS changed;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    -- lock first: the UPDATE below then takes a fresh snapshot that holds any concurrent change
    PERFORM 1 FROM orders WHERE id = ANY(ids) ORDER BY id FOR UPDATE;
    UPDATE orders SET line_progress = {PROGRESS} WHERE id = ANY(ids);
    RETURN NULL;
END $$
"""

_PG_TRIGGERS = {
    "trg_order_lines_progress_ins": "AFTER INSERT ON order_lines REFERENCING NEW TABLE AS new_lines",
    "trg_order_lines_progress_upd": "AFTER UPDATE ON order_lines REFERENCING OLD TABLE AS old_lines "
                                    "NEW TABLE AS new_lines",
    "trg_order_lines_progress_del": "AFTER DELETE ON order_lines REFERENCING OLD TABLE AS old_lines",
}


FINISHED = "('COMPLETED', 'CLOSED', 'CANCELLED')"

_SQLITE_COUNTS = {
    "trg_orders_finished_ins": f"AFTER INSERT ON orders FOR EACH ROW WHEN NEW.state IN {FINISHED} BEGIN "
    "UPDATE order_state_counts SET n = n + 1 WHERE state = NEW.state; END",
    "trg_orders_finished_upd": "AFTER UPDATE OF state ON orders FOR EACH ROW WHEN NEW.state IS NOT OLD.state "
    f"AND (NEW.state IN {FINISHED} OR OLD.state IN {FINISHED}) BEGIN "
    "UPDATE order_state_counts SET n = n - 1 WHERE state = OLD.state; "
    "UPDATE order_state_counts SET n = n + 1 WHERE state = NEW.state; END",
    "trg_orders_finished_del": f"AFTER DELETE ON orders FOR EACH ROW WHEN OLD.state IN {FINISHED} BEGIN "
    "UPDATE order_state_counts SET n = n - 1 WHERE state = OLD.state; END",
}

_PG_COUNT_FUNCTIONS = (f"""
CREATE OR REPLACE FUNCTION orders_finished_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE order_state_counts c SET n = c.n + d.k
        FROM (SELECT state, count(*) AS k FROM new_orders WHERE state IN {FINISHED} GROUP BY state) d
        WHERE c.state = d.state;
    ELSE
        UPDATE order_state_counts c SET n = c.n - d.k
        FROM (SELECT state, count(*) AS k FROM old_orders WHERE state IN {FINISHED} GROUP BY state) d
        WHERE c.state = d.state;
    END IF;
    RETURN NULL;
END $$
""", """
CREATE OR REPLACE FUNCTION orders_finished_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE order_state_counts SET n = n - 1 WHERE state = OLD.state;
    UPDATE order_state_counts SET n = n + 1 WHERE state = NEW.state;
    RETURN NULL;
END $$
""")

_PG_COUNT_TRIGGERS = {
    "trg_orders_finished_ins": "AFTER INSERT ON orders REFERENCING NEW TABLE AS new_orders "
                               "FOR EACH STATEMENT EXECUTE FUNCTION orders_finished_rows()",
    "trg_orders_finished_upd": "AFTER UPDATE OF state ON orders FOR EACH ROW WHEN (NEW.state IS DISTINCT FROM "
                               f"OLD.state AND (NEW.state IN {FINISHED} OR OLD.state IN {FINISHED})) "
                               "EXECUTE FUNCTION orders_finished_move()",
    "trg_orders_finished_del": "AFTER DELETE ON orders REFERENCING OLD TABLE AS old_orders "
                               "FOR EACH STATEMENT EXECUTE FUNCTION orders_finished_rows()",
}


def create_count_triggers() -> None:
    """The triggers that keep ``order_state_counts`` (again, after a rebuild of ``orders``)."""
    if op.get_bind().dialect.name == "postgresql":
        for function in _PG_COUNT_FUNCTIONS:
            op.execute(function)
        for name, body in _PG_COUNT_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        for name, body in _SQLITE_COUNTS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def drop_count_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _SQLITE_COUNTS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON orders" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS orders_finished_rows()")
        op.execute("DROP FUNCTION IF EXISTS orders_finished_move()")


def create_triggers() -> None:
    """The triggers that keep ``orders.line_progress`` (again, after a rebuild of ``order_lines``)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for name, when in _PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION order_lines_progress()")
    else:
        for name, body in _SQLITE.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def drop_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _SQLITE:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON order_lines" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS order_lines_progress()")


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_progress', sa.SmallInteger(), nullable=True))
    op.execute(f"UPDATE orders SET line_progress = {PROGRESS} "
               "WHERE EXISTS (SELECT 1 FROM order_lines x WHERE x.order_id = orders.id)")
    create_triggers()
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_line_progress', ['state', 'line_progress', 'production', 'due_date'],
                              unique=False)
    op.create_table('order_state_counts',
                    sa.Column('state', sa.String(length=20), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('state', name=op.f('pk_order_state_counts')))
    op.execute("INSERT INTO order_state_counts (state, n) SELECT s.state, "
               "(SELECT count(*) FROM orders o WHERE o.state = s.state) FROM (SELECT 'COMPLETED' AS state "
               "UNION ALL SELECT 'CLOSED' UNION ALL SELECT 'CANCELLED') s")
    create_count_triggers()


def downgrade() -> None:
    drop_count_triggers()
    op.drop_table('order_state_counts')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_line_progress')
    drop_triggers()
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('line_progress')
