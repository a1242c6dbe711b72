"""The suite's cheap fresh databases (tests/db_templates.py) are what a real upgrade builds, and
``upgrade`` on a database at head returns at once while one at an older revision is still migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import make_engine
from storage.migrate import alembic_config, current_revisions, head_revisions, upgrade
from storage.models import Base
from tests.conftest import PG_URL
from tests.db_templates import Templates, pg_connect_args, pg_schema, replay_script

#: one query per kind of schema object; ``:s`` is the schema. Each row becomes a tuple of strings, and
#: the schema's own name inside them is normalised (index definitions and the like are qualified).
PG_CATALOG = {
    "relations": "SELECT c.relname, c.relkind::text, c.relpersistence::text, c.relhasindex, c.relhastriggers "
                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s",
    "columns": "SELECT table_name, column_name, ordinal_position, data_type, udt_name, character_maximum_length, "
               "numeric_precision, numeric_scale, datetime_precision, is_nullable, column_default, is_identity, "
               "is_generated, generation_expression, collation_name "
               "FROM information_schema.columns WHERE table_schema = :s",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s",
    "constraints": "SELECT conrelid::regclass::text, conname, contype::text, condeferrable, condeferred, convalidated, "
                   "pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                   "WHERE n.nspname = :s",
    "triggers": "SELECT t.tgrelid::regclass::text, t.tgname, t.tgenabled::text, pg_get_triggerdef(t.oid) "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND NOT t.tgisinternal",
    "functions": "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) "
                 "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s",
    "sequences": "SELECT sequencename, data_type, start_value, min_value, max_value, increment_by, cycle, "
                 "last_value FROM pg_sequences WHERE schemaname = :s",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = :s",
}


async def pg_catalog(schema: str) -> dict[str, list[tuple[str, ...]]]:
    """Every object of ``schema`` and every table's rows, as sorted lists of strings."""
    engine = make_engine(PG_URL, **pg_connect_args(schema))
    out: dict[str, list[tuple[str, ...]]] = {}
    try:
        async with engine.connect() as conn:
            for kind, query in PG_CATALOG.items():
                rows = (await conn.execute(text(query), {"s": schema})).all()
                out[kind] = sorted(tuple(str(v).replace(schema, "<schema>") for v in row) for row in rows)
            # the rows too: the data migrations' and alembic_version's
            tables = [name for name, kind, *_ in out["relations"] if kind in ("r", "p")]
            for table in tables:
                rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
                out[f"rows of {table}"] = sorted(tuple(map(str, row)) for row in rows)
    finally:
        await engine.dispose()
    return out


@pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="the replayed migration is PostgreSQL's shortcut; "
                    "set GENDAN_TEST_DATABASE_URL")
async def test_a_replayed_postgresql_schema_equals_a_migrated_one(templates: Templates) -> None:
    script = await templates.pg_script(PG_URL)
    async with pg_schema(PG_URL, script) as replayed, pg_schema(PG_URL) as migrated:
        engine = make_engine(PG_URL, **pg_connect_args(migrated))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        expected = await pg_catalog(migrated)
        got = await pg_catalog(replayed)
    # not two empty catalogs: the schema is all there (the triggers and functions are PostgreSQL-only)
    assert {name for name, kind, *_ in expected["relations"] if kind == "r"} >= set(Base.metadata.tables)
    assert expected["triggers"] and expected["functions"] and expected["indexes"] and expected["constraints"]
    assert expected["rows of alembic_version"] == [(head,) for head in sorted(head_revisions())]
    for kind in expected.keys() | got.keys():
        assert got.get(kind) == expected.get(kind), kind


def sqlite_catalog(path: Path) -> dict[str, Any]:
    with sqlite3.connect(path) as conn:
        return {"objects": sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()),
                "version": conn.execute("SELECT version_num FROM alembic_version").fetchall(),
                "user_version": conn.execute("PRAGMA user_version").fetchall(),
                "journal_mode": conn.execute("PRAGMA journal_mode").fetchall(),
                "integrity": conn.execute("PRAGMA integrity_check").fetchall()}


async def test_a_copied_sqlite_template_equals_a_migrated_file(templates: Templates, tmp_path: Path) -> None:
    copy, fresh = tmp_path / "copy.db", tmp_path / "fresh.db"
    await templates.sqlite_copy(copy)
    # the copied file alone is the database: nothing of it was left in a WAL beside the template
    assert [p.name for p in tmp_path.iterdir()] == ["copy.db"]
    engine = make_engine(f"sqlite+aiosqlite:///{fresh}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    expected = sqlite_catalog(fresh)
    assert {name for kind, name, *_ in expected["objects"] if kind == "table"} >= set(Base.metadata.tables)
    assert expected["version"] == [(head,) for head in sorted(head_revisions())]
    assert sqlite_catalog(copy) == expected


def test_a_changing_statement_with_parameters_is_refused_not_guessed() -> None:
    recorded = [("SELECT relname FROM pg_class WHERE relname = $1", ("alembic_version",)),
                ("CREATE TABLE t (id integer)", ()),
                ("INSERT INTO t (id) VALUES ($1)", (1,))]
    with pytest.raises(RuntimeError, match="with parameters"):
        replay_script(recorded)
    assert replay_script(recorded[:2]) == "CREATE TABLE t (id integer);\n"


def record(engine: AsyncEngine) -> list[str]:
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    return statements


def spy_on_alembic(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runs: list[str] = []
    real = command.upgrade

    def upgrade_spy(cfg: Any, revision: str, **kw: Any) -> None:
        runs.append(revision)
        real(cfg, revision, **kw)

    monkeypatch.setattr(command, "upgrade", upgrade_spy)
    return runs


async def test_upgrade_of_a_database_at_head_only_reads_its_version(
        db_url: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, kwargs = db_url
    engine = make_engine(url, **kwargs)
    runs = spy_on_alembic(monkeypatch)
    statements = record(engine)
    try:
        assert await current_revisions(engine) == head_revisions()
        statements.clear()
        await upgrade(engine)
    finally:
        await engine.dispose()
    assert runs == []
    # the look at alembic_version: SQLite's has_table is a PRAGMA, and a transaction begins; nothing writes
    assert statements and {s.split(None, 1)[0].upper() for s in statements} <= {"SELECT", "PRAGMA", "BEGIN"}, \
        statements


async def test_upgrade_of_a_database_at_an_older_revision_migrates_it_to_head(
        empty_db_url: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, kwargs = empty_db_url
    (head,) = head_revisions()
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    engine = make_engine(url, **kwargs)
    runs = spy_on_alembic(monkeypatch)
    try:
        assert await current_revisions(engine) == frozenset()  # really empty
        await upgrade(engine, previous)
        assert await current_revisions(engine) == {previous}
        await upgrade(engine)
        assert await current_revisions(engine) == {head}
    finally:
        await engine.dispose()
    assert runs == [previous, "head"]
