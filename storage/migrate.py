"""Apply Alembic migrations (``gendan migrate``; ``serve`` does it at start)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import READ_ONLY, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock key serialising migrations: instances started together (a deployment of two
#: ``gendan serve`` on a fresh database) otherwise race to create the same tables and one dies at start
MIGRATION_LOCK = 0x67656E64616E  # "gendan"
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (works from any directory)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@cache
def head_revisions() -> frozenset[str]:
    """The migrations' head revision(s), read once per process.

    Loading the ``ScriptDirectory`` re-executes every migration file, ~10 ms a time; the files do not
    change under a running process, and every start of the app or of a CLI command asks for this.
    """
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revision(s) recorded in the database (empty when it was never migrated)."""

    def read(connection: Connection) -> frozenset[str]:
        if not inspect(connection).has_table(VERSION_TABLE):
            return frozenset()
        return frozenset(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())

    # read-only: on SQLite a plain transaction would begin IMMEDIATE and wait for a writer's lock
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{READ_ONLY: True})
        return await conn.run_sync(read)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision``.

    ``"head"`` on a database already at head returns after one look at ``alembic_version`` (~1 ms): apps
    and CLI commands call this at every start, the test suite at every test, and Alembic's own no-op
    re-executes every migration file and its environment (~15 ms, and a second engine on SQLite). The look
    is faithful: Alembic writes a step's revision in the transaction of its DDL (on PostgreSQL the whole
    upgrade is one transaction), so a database reading "head" is fully migrated; one reading anything
    else, or without a version table (fresh), takes the full path, advisory lock included, where Alembic
    decides what is left to do. Other revisions than "head" always take it.

    On SQLite the migration runs on its own connection with foreign keys off (a batch ALTER
    drops and re-creates the table, which would otherwise cascade into child tables).
    """
    if revision == "head" and await current_revisions(engine) == head_revisions():
        return
    if engine.dialect.name == "sqlite":
        own = make_engine(engine.url.render_as_string(hide_password=False), foreign_keys=False)
        try:
            await _upgrade(own, revision)
        finally:
            await own.dispose()
        return
    await _upgrade(engine, revision)


async def _upgrade(engine: AsyncEngine, revision: str) -> None:

    def _upgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # held to the commit below; the second instance then finds the schema at head and does nothing
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_upgrade)
        await conn.commit()
