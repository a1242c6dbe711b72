"""Operator commands behind ``gendan outbox`` and ``gendan backup`` (the CLI only parses and prints)."""

from __future__ import annotations

from datetime import datetime

from storage.backup import backup_sqlite, pg_dump_command, sqlite_path
from storage.db import Database
from storage.outbox import parked, retry_parked

# the backup helpers know database URLs and files, so they live in storage; the CLI finds them here
__all__ = ["backup_sqlite", "parked_lines", "pg_dump_command", "retry", "sqlite_path"]

#: longest error text shown per parked row (platform answers can carry long hint URLs)
ERROR_CHARS = 160


async def parked_lines(db: Database) -> list[str]:
    """One line per parked message: id, when written, platform:chat, attempts, the platform's last answer."""
    async with db.reader() as uow:
        rows = await parked(uow)
    lines = []
    for row in rows:
        text = str(row.message.get("text", "")).replace("\n", " ")[:40]
        error = (row.last_error or "").replace("\n", " ")[:ERROR_CHARS]
        lines.append(f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t{row.platform}:{row.chat_id}\t"
                     f"attempts={row.attempts}\t{text}\t{error}")
    return lines


async def retry(db: Database, now: datetime, row_id: int | None) -> int:
    """Put parked message ``row_id`` (or every parked one, for None) back in line; returns how many.

    A running server's sender sees them at its next poll (a few seconds).
    """
    async with db.uow() as uow:
        return await retry_parked(uow, now, row_id)
