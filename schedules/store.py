"""Writing rule reminders exactly once, and run markers for once-a-period jobs.

A rule reminder's ``dedupe_key`` is unique, and rows are inserted with
``ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL both have it): evaluating a rule
again, or on two instances at once, never creates a second row. A run marker is a
``kv`` row (``sched:digest:2026-11-27``) inserted the same way: whoever inserts it
runs the job, in the same transaction as the messages the job writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from schedules.rules import Due
from storage.db import UnitOfWork
from storage.models import KeyValue, Reminder

CHUNK = 500


def _insert(uow: UnitOfWork, table: Any) -> Any:
    """The dialect's INSERT, which knows ``on_conflict_do_nothing``."""
    return postgresql.insert(table) if uow.dialect == "postgresql" else sqlite.insert(table)


async def existing_keys(uow: UnitOfWork, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` already have a reminder row."""
    found: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i:i + CHUNK]
        found.update(k for k in (await uow.session.execute(
            select(Reminder.dedupe_key).where(Reminder.dedupe_key.in_(chunk)))).scalars() if k)
    return found


async def materialise(uow: UnitOfWork, dues: Iterable[Due], now: datetime) -> int:
    """Insert a PENDING row for every due item whose key is new; returns how many were new."""
    by_key = {d.key: d for d in dues}
    if not by_key:
        return 0
    known = await existing_keys(uow, list(by_key))
    fresh = [d for k, d in by_key.items() if k not in known]
    if not fresh:
        return 0
    rows = [{"kind": d.kind, "due_at": d.due_at, "person_id": d.person_id, "order_id": d.order_id,
             "text": d.text, "status": "PENDING", "dedupe_key": d.key, "created_at": now} for d in fresh]
    stmt = _insert(uow, Reminder).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for i in range(0, len(rows), CHUNK):
        await uow.session.execute(stmt, rows[i:i + CHUNK])
    return len(fresh)


async def has_marker(uow: UnitOfWork, key: str) -> bool:
    """Whether a run marker exists."""
    return await uow.session.get(KeyValue, key) is not None


async def claim_marker(uow: UnitOfWork, key: str, now: datetime) -> bool:
    """Insert a run marker; False when another run (or instance) already holds it.

    On PostgreSQL a concurrent insert of the same key waits for the other
    transaction and then does nothing, so exactly one instance gets True.
    """
    stmt = _insert(uow, KeyValue).values(key=key, value=now.isoformat()).on_conflict_do_nothing(
        index_elements=["key"])
    result = await uow.session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


async def prune_markers(uow: UnitOfWork, prefix: str, keep_from: str) -> None:
    """Delete run markers of ``prefix`` that sort before ``keep_from`` (old days)."""
    await uow.session.execute(delete(KeyValue).where(KeyValue.key.like(prefix + "%"), KeyValue.key < keep_from))
