"""Figures kept by database triggers so that pages read a few rows instead of a year of history."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class SalesDay(Base):
    """One owner's sales, shipments and payments of one day, in whole cents (migration 0013).

    Triggers on ``orders``, ``shipments`` and ``payments`` keep the row in the transaction of every
    change (every writer: services, the import's bulk inserts and its undo, SQL by hand).
    ``orders``/``sales`` count the orders confirmed that UTC day in a counted state
    (``reports.COUNTED``) and their amounts, ``shipped`` the shipments made that UTC day,
    ``collected`` the payments dated that day (``paid_on``); a shipment or payment counts for its
    order's owner. UTC days, because the database does not know the business zone: a page adds the
    rows of the whole days of its period and reads the hours at its edges from the orders and
    shipments themselves (``storage.services.sales_grid``)."""

    __tablename__ = "sales_days"
    # SQLite: the rows themselves in key order, so a period is one range read without a look-up per row
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sales: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    shipped: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    collected: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
