"""Storage's own exceptions for a write that lost to a concurrent one (callers outside ``storage/`` catch these).

The unit of work (:class:`storage.db.UnitOfWork`) translates the driver's errors as they leave a
transaction, so no caller outside ``storage/`` needs SQLAlchemy to tell a conflict apart:

* :class:`DuplicateRow`: a unique key refused the row (SQLAlchemy's ``IntegrityError``);
* :class:`DatabaseBusy`: the database could not take the write now, e.g. SQLite's "database is
  locked" or this process's write queue timing out (``OperationalError``);
* :class:`StaleRow`: a row changed since it was read (the optimistic version check, ``StaleDataError``).

All three are a :class:`WriteConflict`: the transaction was rolled back, nothing of it was
written, and the same request may succeed when tried again. Each also keeps the SQLAlchemy
class it replaces as a base, so that code that still catches SQLAlchemy's class keeps working
while it moves over; once nothing outside ``storage/`` does, that second base can go.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError


class StorageError(Exception):
    """Base of the exceptions ``storage`` raises for callers to catch."""


class WriteConflict(StorageError):
    """The transaction lost to a concurrent writer (or could not get its turn) and was rolled back."""


class DuplicateRow(WriteConflict, IntegrityError):
    """A unique key (or another constraint) refused the row: someone wrote it first."""


class DatabaseBusy(WriteConflict, OperationalError):
    """The database could not take the transaction now ("database is locked", the write queue timed out)."""


class StaleRow(WriteConflict, StaleDataError):
    """A row changed between its read and its write (the optimistic version check failed)."""


def translate(exc: BaseException) -> WriteConflict | None:
    """Storage's exception for a driver/ORM error leaving a transaction, or None to let ``exc`` pass as it is."""
    if isinstance(exc, StorageError):
        return None
    if isinstance(exc, IntegrityError):
        return _like(DuplicateRow, exc)
    if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and _sqlstate(exc) in _TRY_AGAIN):
        return _like(DatabaseBusy, exc)
    if isinstance(exc, StaleDataError):
        return StaleRow(*exc.args)
    return None


#: PostgreSQL gave up this transaction for another: a deadlock (two writers waiting on each other's rows,
#: e.g. two commands of one salesperson adding to the same days' figures in opposite orders) or a
#: serialization failure; it changed nothing, so the person is asked to send it again (asyncpg's errors
#: reach SQLAlchemy as its generic DBAPIError, not as an OperationalError)
_TRY_AGAIN = frozenset({"40P01", "40001"})


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) if code else None


def busy(statement: str, reason: str) -> DatabaseBusy:
    """A :class:`DatabaseBusy` raised by storage itself (not by the driver)."""
    return DatabaseBusy(statement, None, TimeoutError(reason))


def _like(cls: type[DuplicateRow] | type[DatabaseBusy], exc: DBAPIError) -> WriteConflict:
    orig: BaseException = exc.orig if exc.orig is not None else exc
    return cls(exc.statement, exc.params, orig, hide_parameters=exc.hide_parameters,
               connection_invalidated=exc.connection_invalidated, code=exc.code)
