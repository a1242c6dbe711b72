"""Apply Alembic migrations (``gendan migrate``; ``serve`` does it at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock key serialising migrations: instances started together (a deployment of two
#: ``gendan serve`` on a fresh database) otherwise race to create the same tables and one dies at start
MIGRATION_LOCK = 0x67656E64616E  # "gendan"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (works from any directory)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision``.

    On SQLite the migration runs on its own connection with foreign keys off (a batch ALTER
    drops and re-creates the table, which would otherwise cascade into child tables).
    """
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
