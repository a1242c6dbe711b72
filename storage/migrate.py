"""Apply Alembic migrations (``gendan migrate``; ``serve`` does it at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


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
        await conn.run_sync(_upgrade)
        await conn.commit()
