"""sales_days: each owner's sales, shipments and payments per day, kept by triggers

The sales page summed twelve months of orders (~250,000), shipments (~216,000, each joined to its
order for the owner) and payments (~210,000) on every view: 2.7–2.9 s at 1,000,000 orders. These
per-day totals (``storage.models.SalesDay``; at most one row per owner and day) are written in the
transaction of every change by triggers in the database itself, as 0011 keeps ``line_progress``, so
every writer keeps them: the services, the import's bulk inserts and its undo, SQL by hand.

- money in whole cents (``round(amount * 100)``): exact on PostgreSQL and on SQLite's floats;
- ``orders``/``sales``: orders in a counted state (``reports.COUNTED``) with a ``confirmed_at``, by
  the UTC day of it; an order leaving or entering a counted state, or changing its amount, owner or
  confirmation moment, moves its figure;
- ``shipped`` by the UTC day of ``shipped_at``, ``collected`` by ``paid_on``, each for the order's
  owner; an order changing owner moves its shipments and payments with it; deleting an order
  takes its figures away first (before a cascade removes its shipments and payments);
- SQLite: row triggers; PostgreSQL: statement triggers with transition tables for inserts (a bulk
  insert adds once per day and owner) and for the deletes of shipments and payments, row triggers
  for updates (only when a column that counts changes) and for deleting orders.
  On PostgreSQL two transactions adding to the same owner's day wait for each other's commit there.

A later migration that rebuilds ``orders``, ``shipments`` or ``payments`` on SQLite (a table copy) must
call :func:`drop_triggers` before the rebuild (the triggers name the other tables, so SQLite refuses to
rename them while the triggers exist) and :func:`create_triggers` after it;
``tests/test_sales_days.py`` checks that every trigger exists at head.

Two indexes for the rest of the sales page and the quotes page (both scanned ~96,000 open orders
from the table, or on SQLite walked all 2.5 M order lines by product): ``ix_orders_owing``, partial
(confirmed and held orders only: ~10 % of the orders), holding every column the receivables'
aging and the shortage list read, and ``ix_shipments_order_shipped`` (an order's last shipment).
``tests/test_sales_days.py`` compares the rows with the direct sums after every kind of change.

Revision ID: 0013_sales_days
Revises: 0012_foreign_key_indexes
Create Date: 2026-12-07 18:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_sales_days'
down_revision: str | None = '0012_foreign_key_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = "('CONFIRMED', 'ON_HOLD', 'COMPLETED', 'CLOSED')"
#: ``ix_orders_owing``'s condition: the open orders that reserve stock and owe money
LIVE = "state IN ('CONFIRMED', 'ON_HOLD')"
FIGURES = ("orders", "sales", "shipped", "collected")
TABLES = ("orders", "shipments", "payments")


def _counted(row: str) -> str:
    return f"({row}.confirmed_at IS NOT NULL AND {row}.state IN {COUNTED})"


# ---- SQLite: row triggers ------------------------------------------------------------------------------
def _s_cents(expr: str) -> str:
    return f"CAST(round({expr} * 100) AS INTEGER)"


def _s_add(day: str, owner: str, cond: str = "1", **figures: str) -> str:
    """Add ``figures`` to the row (day, owner), made first when missing; nothing unless ``cond``."""
    sets = ", ".join(f"{k} = {k} + {figures[k]}" for k in FIGURES if k in figures)
    return (f"INSERT OR IGNORE INTO sales_days (day, owner_id, orders, sales, shipped, collected) "
            f"SELECT {day}, {owner}, 0, 0, 0, 0 WHERE {cond} AND {owner} IS NOT NULL; "
            f"UPDATE sales_days SET {sets} WHERE day = {day} AND owner_id = {owner} AND {cond}; ")


def _s_children(order: str, owner: str, sign: str) -> str:
    """Add (sign ``+``) or take away (``-``) every shipment and payment of ``order`` for ``owner``."""
    out = []
    for table, figure, day in (("shipments", "shipped", "date(c.shipped_at)"), ("payments", "collected",
                                                                               "c.paid_on")):
        days = f"(SELECT {day} FROM {table} c WHERE c.order_id = {order})"
        total = (f"(SELECT coalesce(sum({_s_cents('c.amount')}), 0) FROM {table} c "
                 f"WHERE c.order_id = {order} AND {day} = sales_days.day)")
        if sign == "+":
            out.append(f"INSERT OR IGNORE INTO sales_days (day, owner_id, orders, sales, shipped, collected) "
                       f"SELECT DISTINCT {day}, {owner}, 0, 0, 0, 0 FROM {table} c WHERE c.order_id = {order}; ")
        out.append(f"UPDATE sales_days SET {figure} = {figure} {sign} {total} "
                   f"WHERE owner_id = {owner} AND day IN {days}; ")
    return "".join(out)


def _sqlite_triggers() -> dict[str, str]:
    own_old = dict(orders="-1", sales="-" + _s_cents("OLD.amount"))
    own_new = dict(orders="1", sales=_s_cents("NEW.amount"))
    changed = ("NEW.state IS NOT OLD.state OR NEW.amount IS NOT OLD.amount OR NEW.owner_id IS NOT OLD.owner_id "
               "OR NEW.confirmed_at IS NOT OLD.confirmed_at")
    out = {
        "trg_sales_days_orders_ins": f"AFTER INSERT ON orders FOR EACH ROW WHEN {_counted('NEW')} BEGIN "
        + _s_add("date(NEW.confirmed_at)", "NEW.owner_id", **own_new) + "END",
        "trg_sales_days_orders_upd": "AFTER UPDATE OF state, amount, owner_id, confirmed_at ON orders FOR EACH ROW "
        f"WHEN ({_counted('OLD')} OR {_counted('NEW')}) AND ({changed}) BEGIN "
        + _s_add("date(OLD.confirmed_at)", "OLD.owner_id", _counted("OLD"), **own_old)
        + _s_add("date(NEW.confirmed_at)", "NEW.owner_id", _counted("NEW"), **own_new) + "END",
        "trg_sales_days_orders_owner": "AFTER UPDATE OF owner_id ON orders FOR EACH ROW "
        "WHEN NEW.owner_id IS NOT OLD.owner_id BEGIN "
        + _s_children("OLD.id", "OLD.owner_id", "-") + _s_children("NEW.id", "NEW.owner_id", "+") + "END",
        # before: a cascade deletes the shipments and payments after the order, when its owner is gone
        "trg_sales_days_orders_del": "BEFORE DELETE ON orders FOR EACH ROW BEGIN "
        + _s_add("date(OLD.confirmed_at)", "OLD.owner_id", _counted("OLD"), **own_old)
        + _s_children("OLD.id", "OLD.owner_id", "-") + "END",
    }
    for table, figure, day in (("shipments", "shipped", "date({}.shipped_at)"), ("payments", "collected",
                                                                                 "{}.paid_on")):
        def owner(row: str) -> str:
            return f"(SELECT o.owner_id FROM orders o WHERE o.id = {row}.order_id)"

        old = _s_add(day.format("OLD"), owner("OLD"), **{figure: "-" + _s_cents("OLD.amount")})
        new = _s_add(day.format("NEW"), owner("NEW"), **{figure: _s_cents("NEW.amount")})
        moved = day.format("NEW") + " IS NOT " + day.format("OLD")
        out[f"trg_sales_days_{table}_ins"] = f"AFTER INSERT ON {table} FOR EACH ROW BEGIN {new}END"
        out[f"trg_sales_days_{table}_upd"] = (
            f"AFTER UPDATE OF amount, {'shipped_at' if table == 'shipments' else 'paid_on'}, order_id ON {table} "
            f"FOR EACH ROW WHEN NEW.amount IS NOT OLD.amount OR NEW.order_id IS NOT OLD.order_id OR {moved} "
            f"BEGIN {old}{new}END")
        out[f"trg_sales_days_{table}_del"] = f"AFTER DELETE ON {table} FOR EACH ROW BEGIN {old}END"
    return out


# ---- PostgreSQL ----------------------------------------------------------------------------------------
def _p_cents(expr: str) -> str:
    return f"round({expr} * 100)::bigint"


def _p_day(expr: str) -> str:
    return f"({expr} AT TIME ZONE 'UTC')::date"


#: added to a row that exists, made otherwise
_UPSERT = (" ON CONFLICT (day, owner_id) DO UPDATE SET "
           + ", ".join(f"{k} = sales_days.{k} + excluded.{k}" for k in FIGURES))
_INTO = "INSERT INTO sales_days (day, owner_id, orders, sales, shipped, collected) "


def _p_children(order: str, owner: str, sign: str) -> str:
    return "".join(
        f"{_INTO}SELECT {day}, {owner}, 0, 0, {shipped}, {collected} FROM {table} c WHERE c.order_id = {order} "
        f"GROUP BY 1 ORDER BY 1{_UPSERT};\n"
        for table, day, shipped, collected in (
            ("shipments", _p_day("c.shipped_at"), f"{sign}sum({_p_cents('c.amount')})", "0"),
            ("payments", "c.paid_on", "0", f"{sign}sum({_p_cents('c.amount')})")))


_PG_FUNCTIONS = (f"""
CREATE OR REPLACE FUNCTION sales_days_orders_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_INTO}SELECT {_p_day('n.confirmed_at')}, n.owner_id, count(*), sum({_p_cents('n.amount')}), 0, 0
    FROM new_orders n WHERE {_counted('n')} GROUP BY 1, 2 ORDER BY 1, 2{_UPSERT};
    RETURN NULL;
END $$
""", f"""
CREATE OR REPLACE FUNCTION sales_days_orders_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- counted before and after, on the same day, owner and amount (CONFIRMED → COMPLETED): nothing moves,
    -- and locking the day's row for a -1/+1 would only make another command of the owner wait (or deadlock)
    IF {_counted('OLD')} AND {_counted('NEW')} AND NEW.owner_id = OLD.owner_id AND NEW.amount = OLD.amount
            AND NEW.confirmed_at = OLD.confirmed_at THEN
        RETURN NULL;
    END IF;
    IF {_counted('OLD')} THEN
        {_INTO}VALUES ({_p_day('OLD.confirmed_at')}, OLD.owner_id, -1, -{_p_cents('OLD.amount')}, 0, 0){_UPSERT};
    END IF;
    IF {_counted('NEW')} THEN
        {_INTO}VALUES ({_p_day('NEW.confirmed_at')}, NEW.owner_id, 1, {_p_cents('NEW.amount')}, 0, 0){_UPSERT};
    END IF;
    IF NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
        {_p_children('OLD.id', 'OLD.owner_id', '-')}
        {_p_children('NEW.id', 'NEW.owner_id', '')}
    END IF;
    RETURN NULL;
END $$
""", f"""
CREATE OR REPLACE FUNCTION sales_days_orders_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- before the delete: a cascade removes the shipments and payments when the owner is gone
    IF {_counted('OLD')} THEN
        {_INTO}VALUES ({_p_day('OLD.confirmed_at')}, OLD.owner_id, -1, -{_p_cents('OLD.amount')}, 0, 0){_UPSERT};
    END IF;
    {_p_children('OLD.id', 'OLD.owner_id', '-')}
    RETURN OLD;
END $$
""") + tuple(f"""
CREATE OR REPLACE FUNCTION sales_days_{table}_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- the owner is read under a share lock (inserts, deletes and updates alike): an owner change in
        -- another transaction waits, or is waited for and then read as committed; without it a payment
        -- deleted or changed while its order changed owner stayed counted on the old owner for good
        PERFORM 1 FROM orders WHERE id IN (SELECT order_id FROM new_rows) ORDER BY id FOR SHARE;
        {_INTO}SELECT {day.format('n')}, o.owner_id, 0, 0, {shipped.format('n')}, {collected.format('n')}
        FROM new_rows n JOIN orders o ON o.id = n.order_id GROUP BY 1, 2 ORDER BY 1, 2{_UPSERT};
    ELSE
        PERFORM 1 FROM orders WHERE id IN (SELECT order_id FROM old_rows) ORDER BY id FOR SHARE;
        {_INTO}SELECT {day.format('d')}, o.owner_id, 0, 0, -{shipped.format('d')}, -{collected.format('d')}
        FROM old_rows d JOIN orders o ON o.id = d.order_id GROUP BY 1, 2 ORDER BY 1, 2{_UPSERT};
    END IF;
    RETURN NULL;
END $$
""" for table, day, shipped, collected in (
    ("shipments", _p_day("{}.shipped_at"), "sum(" + _p_cents("{}.amount") + ")", "0"),
    ("payments", "{}.paid_on", "0", "sum(" + _p_cents("{}.amount") + ")"))) + tuple(f"""
CREATE OR REPLACE FUNCTION sales_days_{table}_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- as for inserts and deletes: the owner read under a share lock, so an owner change in another
    -- transaction either waits for this one or is waited for (and then read as it is)
    PERFORM 1 FROM orders WHERE id IN (OLD.order_id, NEW.order_id) ORDER BY id FOR SHARE;
    {_INTO}SELECT {day.format('OLD')}, o.owner_id, 0, 0, {shipped.format('-', 'OLD')}, {collected.format('-', 'OLD')}
    FROM orders o WHERE o.id = OLD.order_id{_UPSERT};
    {_INTO}SELECT {day.format('NEW')}, o.owner_id, 0, 0, {shipped.format('', 'NEW')}, {collected.format('', 'NEW')}
    FROM orders o WHERE o.id = NEW.order_id{_UPSERT};
    RETURN NULL;
END $$
""" for table, day, shipped, collected in (
    ("shipments", _p_day("{}.shipped_at"), "{}" + _p_cents("{}.amount"), "0"),
    ("payments", "{}.paid_on", "0", "{}" + _p_cents("{}.amount"))))

_PG_TRIGGERS = {
    "trg_sales_days_orders_ins": "AFTER INSERT ON orders REFERENCING NEW TABLE AS new_orders "
                                 "FOR EACH STATEMENT EXECUTE FUNCTION sales_days_orders_ins()",
    "trg_sales_days_orders_upd": "AFTER UPDATE OF state, amount, owner_id, confirmed_at ON orders FOR EACH ROW "
                                 "WHEN (NEW.state IS DISTINCT FROM OLD.state OR NEW.amount IS DISTINCT FROM "
                                 "OLD.amount OR NEW.owner_id IS DISTINCT FROM OLD.owner_id OR NEW.confirmed_at "
                                 "IS DISTINCT FROM OLD.confirmed_at) EXECUTE FUNCTION sales_days_orders_upd()",
    "trg_sales_days_orders_del": "BEFORE DELETE ON orders FOR EACH ROW EXECUTE FUNCTION sales_days_orders_del()",
}
for _table, _moment in (("shipments", "shipped_at"), ("payments", "paid_on")):
    _PG_TRIGGERS.update({
        f"trg_sales_days_{_table}_ins": f"AFTER INSERT ON {_table} REFERENCING NEW TABLE AS new_rows "
                                        f"FOR EACH STATEMENT EXECUTE FUNCTION sales_days_{_table}_rows()",
        f"trg_sales_days_{_table}_upd": f"AFTER UPDATE OF amount, {_moment}, order_id ON {_table} FOR EACH ROW "
                                        f"WHEN (NEW.amount IS DISTINCT FROM OLD.amount OR NEW.order_id IS DISTINCT "
                                        f"FROM OLD.order_id OR NEW.{_moment} IS DISTINCT FROM OLD.{_moment}) "
                                        f"EXECUTE FUNCTION sales_days_{_table}_upd()",
        f"trg_sales_days_{_table}_del": f"AFTER DELETE ON {_table} REFERENCING OLD TABLE AS old_rows "
                                        f"FOR EACH STATEMENT EXECUTE FUNCTION sales_days_{_table}_rows()",
    })
_PG_FUNCTION_NAMES = ("sales_days_orders_ins", "sales_days_orders_upd", "sales_days_orders_del",
                      "sales_days_shipments_rows", "sales_days_payments_rows", "sales_days_shipments_upd",
                      "sales_days_payments_upd")


def _trigger_table(name: str) -> str:
    return next(t for t in TABLES if name.startswith(f"trg_sales_days_{t}_"))


def create_triggers() -> None:
    """The triggers that keep ``sales_days`` (again, after a rebuild of orders, shipments or payments)."""
    if op.get_bind().dialect.name == "postgresql":
        for function in _PG_FUNCTIONS:
            op.execute(function)
        for name, body in _PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        for name, body in _sqlite_triggers().items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def drop_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _sqlite_triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {_trigger_table(name)}" if postgres else ""))
    if postgres:
        for function in _PG_FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")


def backfill_sql(dialect: str) -> str:
    """The rows of ``sales_days`` from the orders, shipments and payments (the triggers' definition)."""
    postgres = dialect == "postgresql"
    cents = _p_cents if postgres else _s_cents

    def day(expr: str) -> str:
        return _p_day(expr) if postgres else f"date({expr})"

    parts = (
        f"SELECT {day('o.confirmed_at')} AS day, o.owner_id AS owner_id, count(*) AS orders, "
        f"sum({cents('o.amount')}) AS sales, 0 AS shipped, 0 AS collected FROM orders o "
        f"WHERE {_counted('o')} GROUP BY 1, 2",
        f"SELECT {day('s.shipped_at')}, o.owner_id, 0, 0, sum({cents('s.amount')}), 0 "
        "FROM shipments s JOIN orders o ON o.id = s.order_id GROUP BY 1, 2",
        f"SELECT p.paid_on, o.owner_id, 0, 0, 0, sum({cents('p.amount')}) "
        "FROM payments p JOIN orders o ON o.id = p.order_id GROUP BY 1, 2",
    )
    return (f"{_INTO}SELECT day, owner_id, sum(orders), sum(sales), sum(shipped), sum(collected) "
            f"FROM ({' UNION ALL '.join(parts)}) AS figures GROUP BY day, owner_id")


def upgrade() -> None:
    op.create_table('sales_days',
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('owner_id', sa.Integer(), nullable=False),
                    sa.Column('orders', sa.Integer(), nullable=False),
                    sa.Column('sales', sa.BigInteger(), nullable=False),
                    sa.Column('shipped', sa.BigInteger(), nullable=False),
                    sa.Column('collected', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('day', 'owner_id', name=op.f('pk_sales_days')),
                    sqlite_with_rowid=False)  # SQLite: a period is one range read of the rows themselves
    op.execute(backfill_sql(op.get_bind().dialect.name))
    create_triggers()
    live = sa.text(LIVE)
    op.create_index('ix_orders_owing', 'orders', ['state', 'payment_terms', 'confirmed_at', 'line_progress', 'no',
                                                  'owner_id', 'amount', 'paid_amount', 'written_off'],
                    unique=False, sqlite_where=live, postgresql_where=live)
    op.create_index('ix_shipments_order_shipped', 'shipments', ['order_id', 'shipped_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_shipments_order_shipped', table_name='shipments')
    op.drop_index('ix_orders_owing', table_name='orders')
    drop_triggers()
    op.drop_table('sales_days')
