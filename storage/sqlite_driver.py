"""SQLite through aiosqlite with one thread hand-off per statement instead of four.

aiosqlite runs each SQLite call on the connection's own thread and hands the result back to
the event loop. SQLAlchemy's aiosqlite adapter makes four such calls per statement (open a
cursor, execute, fetch the rows, close the cursor), and SQLAlchemy's pool rolls back every
connection it takes back even when its transaction has just committed. Each hand-off is a
queue put, a thread wake-up, a GIL hand-over and a loop wake-up: a profile of the bot under
32 concurrent `/查单` showed them as the largest cost of a command (28 hand-offs per read, about
half of the server's CPU).

The adapter here keeps aiosqlite's connection and thread and SQLAlchemy's dialect, and changes
only how a statement crosses over: the cursor is opened, executed, read and closed in one call
on the connection's thread (so the SQLite work still never runs on the event loop), and a
commit or rollback with no transaction open (SQLite would do nothing) is not sent at all.
Server-side cursors (``stream_results``) keep SQLAlchemy's own adapter.

It is installed by passing this module's DBAPI to ``create_async_engine(module=...)``, so
the configured URL stays ``sqlite+aiosqlite:///…``. It relies on two attributes of aiosqlite's
``Connection`` that its own methods use (``_execute``, ``_conn``); the pinned range in
``pyproject.toml`` and the whole test suite, which runs on it, guard that.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

#: what one statement's call returns from the connection's thread:
#: description, rows (None without a result set), rowcount, lastrowid, whether a transaction is open
_Outcome = tuple[Any, list[Any] | None, int, int | None, bool]


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: the whole statement, from opening a cursor to closing it."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid, conn.in_transaction
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose every statement is one call on the connection's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:  # no aiosqlite cursor to open
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """The SQLite cursor is closed already (in the statement's own call)."""

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._call(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._call(operation, seq_of_parameters, many=True)

    async def _call(self, operation: str, parameters: Any, *, many: bool) -> None:
        adapt = self._adapt_connection
        assert isinstance(adapt, OneHopConnection)
        async with adapt._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            try:
                outcome = await connection._execute(  # type: ignore[no-untyped-call]
                    _run, connection._conn, operation, parameters, many)
            except BaseException:
                adapt.idle = False  # the statement may have opened a transaction before it failed
                raise
            self._description, rows, self._rowcount, self._lastrowid, in_transaction = outcome
            adapt.idle = not in_transaction
            self._rows = collections.deque(rows) if rows is not None else collections.deque()

    def nextset(self) -> None:
        return None

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's connection adapter, with one-call cursors and no commit or rollback of nothing."""

    __slots__ = ("idle",)
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        #: no transaction is open (known from the last statement, commit or rollback); a new
        #: connection is in autocommit mode until its first BEGIN
        self.idle = True

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            # SQLAlchemy's own cursor, which does not report whether a transaction is open: assume one,
            # so that the commit and the pool's rollback are never skipped
            self.idle = False
        return super().cursor(server_side)

    def rollback(self) -> None:
        # the pool rolls back every connection it takes back; after a commit SQLite has nothing to undo
        if self.idle:
            return
        self.idle = False
        super().rollback()
        self.idle = True

    def commit(self) -> None:
        if self.idle:
            return
        super().commit()
        self.idle = True


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect uses, handing out :class:`OneHopConnection`."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator_fn = kw.pop("async_creator_fn", None)
        if creator_fn is not None:  # create_async_engine(async_creator=...)
            return OneHopConnection(self, await_(creator_fn(*arg, **kw)))
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own adapter: never keep the process alive
        return OneHopConnection(self, await_(connection))


def dbapi() -> OneHopDBAPI:
    """The module to pass as ``create_async_engine(url, module=dbapi())``."""
    return OneHopDBAPI(aiosqlite, sqlite3)
