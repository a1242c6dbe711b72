"""Migrated template databases, so that a test's fresh database costs a copy instead of every migration.

Each test process migrates one template per backend, lazily, with the real :func:`storage.migrate.upgrade`:

- SQLite: a template file, closed (its WAL checkpointed into the main file) and then copied per test;
- PostgreSQL: a template schema migrated while every statement executed is recorded; a test's schema is
  then made by replaying the recorded statements that change something (the DDL, the data migrations'
  statements and the ``alembic_version`` writes) as one script: one round trip, one transaction.
  The introspection ``SELECT`` s (Alembic's "is there a version table", the advisory lock) are left out.

Templates are keyed by the migrations' head revision(s): an edited migration makes a new template.
tests/test_db_templates.py checks that both shortcuts build what a real upgrade builds.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.engine import make_engine
from storage.migrate import head_revisions, upgrade

#: the leading keyword of a statement (after whitespace, SQL comments and opening parentheses)
_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*\n|/\*.*?\*/|\()*(\w+)", re.DOTALL)


def head_key() -> str:
    return "+".join(sorted(head_revisions()))


def pg_connect_args(schema: str) -> dict[str, Any]:
    """Engine keyword arguments putting every connection in ``schema`` (the tests' PostgreSQL isolation)."""
    return {"connect_args": {"server_settings": {"search_path": schema}}}


def replay_script(statements: list[tuple[str, Any]]) -> str:
    """The recorded ``(statement, parameters)`` of a migration as one script, its SELECTs left out.

    A changing statement with parameters cannot be put in a script without rendering its parameters,
    which would be a guess at the driver's quoting: it fails here instead, and the way out is to write
    the migration's statement as literal SQL (or to teach this function, with a test).
    """
    kept: list[str] = []
    for statement, parameters in statements:
        match = _FIRST_WORD.match(statement)
        if match is not None and match.group(1).upper() == "SELECT":
            continue
        if parameters:
            raise RuntimeError(f"cannot replay a migration statement with parameters: {statement!r} {parameters!r}")
        kept.append(statement.strip().rstrip(";"))
    return ";\n".join(kept) + ";\n"


async def sqlite_template(path: Path) -> Path:
    """Migrate a new SQLite file at ``path`` and close it, leaving a complete database in that one file."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    # the last connection to close checkpoints the WAL and deletes it; a copy of the main file alone would
    # otherwise miss whatever the WAL still held
    for suffix in ("-wal", "-shm"):
        leftover = path.with_name(path.name + suffix)
        if leftover.exists() and leftover.stat().st_size:
            raise RuntimeError(f"{leftover} is not empty after closing the template: a copy would be incomplete")
    return path


async def record_pg_migration(url: str) -> str:
    """Migrate a new, private schema with the real upgrade, recording it; the replay script (see above)."""
    statements: list[tuple[str, Any]] = []
    async with pg_schema(url) as schema:
        engine = make_engine(url, **pg_connect_args(schema))

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            statements.append((statement, parameters))

        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
    return replay_script(statements)


@asynccontextmanager
async def pg_schema(url: str, script: str = "") -> AsyncIterator[str]:
    """A new PostgreSQL schema (empty, or made by ``script`` run inside it), dropped afterwards.

    ``script`` and the ``CREATE SCHEMA`` go as one multi-statement query without arguments, which asyncpg
    sends with the simple query protocol: one round trip, and PostgreSQL runs it as one transaction.
    """
    schema = "t_" + secrets.token_hex(6)
    admin = create_async_engine(url)
    try:
        async with admin.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(  # type: ignore[union-attr]
                f'CREATE SCHEMA "{schema}";\n'
                # local to the script's transaction: the pooled connection keeps its own search_path
                + (f"SELECT pg_catalog.set_config('search_path', '\"{schema}\"', true);\n{script}" if script else ""))
        try:
            yield schema
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await admin.dispose()


class Templates:
    """The test process's templates, each built at its first use (a run on SQLite alone never touches
    PostgreSQL). Sync on purpose: a session-scoped fixture holds it, and each build runs in the event
    loop of the test that needs it first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sqlite: dict[str, Path] = {}
        self._pg: dict[tuple[str, str], str] = {}

    async def sqlite_copy(self, dest: Path) -> None:
        """Make ``dest`` a database at head: a copy of the template."""
        key = head_key()
        if key not in self._sqlite:
            self._sqlite[key] = await sqlite_template(self.root / f"template-{key}.db")
        shutil.copyfile(self._sqlite[key], dest)

    async def pg_script(self, url: str) -> str:
        """The statements making an empty schema one at head (see ``record_pg_migration``)."""
        key = (url, head_key())
        if key not in self._pg:
            self._pg[key] = await record_pg_migration(url)
        return self._pg[key]
