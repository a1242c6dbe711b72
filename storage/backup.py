"""Backing up the database: a live SQLite file by its online backup API; PostgreSQL by ``pg_dump``.

Used by ``gendan backup`` (through :mod:`bot.ops`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, or None for another database (or an in-memory one)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def pg_dump_command(database_url: str, target: str) -> str:
    """The ``pg_dump`` line that backs up a PostgreSQL database (password left to PGPASSWORD / .pgpass)."""
    url = make_url(database_url)
    parts = ["pg_dump", "--format=custom", f"--file={target}"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(url.database or "")
    return " ".join(parts)


async def backup_sqlite(source: Path, target: Path) -> int:
    """Copy a live SQLite database with its online backup API, in a thread (the loop stays free).

    The backup copies pages in steps and restarts when a writer changes the source, so it
    gives a consistent snapshot while the server keeps working. Returns the pages copied.
    """
    def run() -> int:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=256)
            return int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
            src.close()

    return await asyncio.to_thread(run)
