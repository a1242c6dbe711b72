"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when
GENDAN_TEST_DATABASE_URL is set; made from a migrated template, see tests/db_templates.py), a controllable
clock, and a running app driven through the local adapter."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web_app
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import create_app
from bot.config import Settings
from storage.db import Database
from storage.migrate import upgrade
from tests.db_templates import Templates, pg_connect_args, pg_schema

PG_URL = os.environ.get("GENDAN_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgresql") else [])
TZ = ZoneInfo("Asia/Shanghai")
#: Tables where a refused command may leave a trace: its own inbox row and the reply to it (an outbox
#: row whose ``reply_to`` is that event, and the local adapter's copy of the delivered reply). Every other
#: table must be exactly as it was; see ``Fingerprint``.
EVENT_LOG_TABLES = frozenset({"inbox", "outbox", "local_messages"})
#: bookkeeping, not the application's state: the migration tool's version, and the sends counted
#: against the platforms' rate limits (a refusal's own reply is allowed to be sent, and counted)
NOT_FINGERPRINTED = frozenset({"alembic_version", "rate_slots"})


class Clock:
    """A clock tests move by hand (aware, UTC inside)."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)

    def set(self, when: datetime) -> None:
        self.now = when.astimezone(UTC)


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's or CI's configuration: every ``GENDAN_*`` key of ``Settings`` is removed
    from the environment, and the working directory is an empty one (no ``.env``, no ``gendan.toml``).
    A test that wants a key sets it itself (``monkeypatch.setenv``, a file in its own directory)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"GENDAN_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def forget_finished_apps() -> Any:
    """Let each test's app be freed: aiohttp memoises every (handler, apps) middleware chain it builds in a
    module-level LRU of 1,024 entries, so without this the suite kept up to a thousand finished apps (each
    with its database engine, dispatcher and scheduler) alive: ~1.2 GB at the end and a minute of garbage
    collection at exit. A server has one app, so the cache is right there; only a test process makes many."""
    yield
    clear = getattr(getattr(web_app, "_cached_build_middleware", None), "cache_clear", None)
    if clear is not None:
        clear()


@pytest.fixture
def clock() -> Clock:
    # Friday 2026-11-27 10:00 in Shanghai
    return Clock(datetime(2026, 11, 27, 10, 0, tzinfo=TZ))


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """This test process's migrated templates (tests/db_templates.py), each built at its first use."""
    return Templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path,
                 templates: Templates) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A fresh database already at the migrations' head: a copy of a migrated SQLite file, or a new
    PostgreSQL schema (dropped afterwards) made by replaying a recorded migration. Running every migration
    for every test cost a large share of the suite; ``upgrade`` on it returns at once (it is at head)."""
    if request.param == "sqlite":
        path = tmp_path / "gendan.db"
        await templates.sqlite_copy(path)
        yield f"sqlite+aiosqlite:///{path}", {}
        return
    async with pg_schema(PG_URL, await templates.pg_script(PG_URL)) as schema:
        yield PG_URL, pg_connect_args(schema)


@pytest.fixture(params=BACKENDS)
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A fresh, empty (never migrated) database: a SQLite file, or a new PostgreSQL schema dropped afterwards.
    For tests of the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gendan.db'}", {}
        return
    async with pg_schema(PG_URL) as schema:
        yield PG_URL, pg_connect_args(schema)


@asynccontextmanager
async def fresh_pg_database(prefix: str) -> AsyncIterator[str]:
    """A new PostgreSQL database (not a schema: separate processes share it by URL alone), dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(5)}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def db(db_url: tuple[str, dict[str, Any]]) -> AsyncIterator[Database]:
    url, kwargs = db_url
    database = Database(url, **kwargs)
    await upgrade(database.engine)
    yield database
    await database.dispose()


def make_settings(url: str, **overrides: Any) -> Settings:
    # Tests talk much faster than people: the command rate limits are lifted unless a test is about
    # them (tests/test_command_limits.py runs with the shipped defaults).
    base: dict[str, Any] = {"database_url": url, "local_enabled": True, "api_token": "test-token",
                            "admins": "local:admin", "rate_person_per_minute": 100_000,
                            "rate_chat_per_minute": 100_000}
    base.update(overrides)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


class Bot:
    """Drives the app through the local adapter like a person in a chat."""

    def __init__(self, client: TestClient, app: Any) -> None:
        self.client = client
        self.app = app

    async def say(self, user: str, text: str, chat: str = "g1", name: str = "", msg_id: str | None = None,
                  chat_type: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"user": user, "name": name, "chat": chat, "text": text,
                                "chat_type": chat_type or ("single" if chat == user else "group")}
        if msg_id:
            body["msg_id"] = msg_id
        resp = await self.client.post("/local/message", json=body)
        assert resp.status == 200, await resp.text()
        return list((await resp.json())["replies"])

    async def text(self, user: str, text: str, chat: str = "g1", **kw: Any) -> str:
        """The replies' texts joined."""
        return "\n".join(r["text"] for r in await self.say(user, text, chat, **kw))

    async def press(self, user: str, action: str, chat: str | None = None, text: str = "") -> str:
        resp = await self.client.post("/local/action", json={"user": user, "chat": chat or user,
                                                             "action": action, "text": text})
        assert resp.status == 200, await resp.text()
        return "\n".join(r["text"] for r in (await resp.json())["replies"])

    async def sent(self, chat: str) -> list[dict[str, Any]]:
        resp = await self.client.get("/local/sent", params={"chat": chat})
        assert resp.status == 200
        return list((await resp.json())["messages"])

    async def api(self, path: str) -> Any:
        resp = await self.client.get(f"/api/v1{path}", headers={"Authorization": "Bearer test-token"})
        assert resp.status == 200, await resp.text()
        return await resp.json()

    @property
    def db(self) -> Database:
        from bot.app import DB

        return self.app[DB]  # type: ignore[no-any-return]


@pytest.fixture
async def bot(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[Bot]:
    url, kwargs = db_url
    app = create_app(make_settings(url), clock=clock, run_sender=False, db=Database(url, **kwargs))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Bot(client, app)
    finally:
        await client.close()


Row = dict[str, str]
_TAKEN = count()


def _key(row: Row) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(row.items()))


@dataclass(frozen=True)
class Fingerprint:
    """Every row of every table, so that ``after == before`` proves a refusal changed nothing.

    Equality is exact for every table but the event log (``EVENT_LOG_TABLES``), where the rows that
    were there must be unchanged and the only new rows allowed are: inbox rows (the refused events
    themselves), outbox rows replying to one of those events, and the local adapter's delivered copy
    of such a reply. A notification to someone else, a saved webhook, a new person or chat, a prompt,
    a stored key: each makes the fingerprints differ.
    """

    tables: dict[str, list[Row]]
    #: order of taking: of two fingerprints compared, the earlier is "before"
    taken: int = field(default_factory=lambda: next(_TAKEN))

    def differences(self, after: Fingerprint) -> list[str]:
        """What ``after`` changed relative to ``self`` (empty: nothing a refusal may not change)."""
        out: list[str] = []
        for table in sorted(set(self.tables) | set(after.tables)):
            old, new = self.tables.get(table, []), after.tables.get(table, [])
            if table in EVENT_LOG_TABLES:
                gone = [r for r in old if r not in new]
                if gone:
                    out.append(f"{table}: rows changed or removed: {gone}")
            elif table == "chats" and new_events(self, after):
                # the first message from a chat records that chat (bare: no webhook); nothing else may change
                bare = [r for r in new if r not in old and r["webhook_url"] == r["webhook_secret"] == "None"]
                if sorted(map(_key, old)) != sorted(_key(r) for r in new if r not in bare):
                    changed = [r for r in new if r not in old] + [r for r in old if r not in new]
                    out.append(f"chats: rows added, changed or removed: {changed}")
            elif sorted(map(_key, old)) != sorted(map(_key, new)):
                added = [r for r in new if r not in old]
                removed = [r for r in old if r not in new]
                out.append(f"{table}: added {added}, removed {removed}")
        events = new_events(self, after)
        replies = []
        for row in after.tables.get("outbox", []):
            if row in self.tables.get("outbox", []):
                continue
            if row["reply_to"] not in events:
                out.append(f"outbox: a message that is not a reply to the refused event: {row}")
            else:
                replies.append((row["chat_id"], row["message"]))
        for row in after.tables.get("local_messages", []):
            if row not in self.tables.get("local_messages", []) and (row["chat_id"], row["message"]) not in replies:
                out.append(f"local_messages: delivered something that is not a reply: {row}")
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        before, after = (self, other) if self.taken < other.taken else (other, self)
        return not before.differences(after)

    def __hash__(self) -> int:  # pragma: no cover - never hashed, but eq without hash is unhashable
        return id(self)

    def __repr__(self) -> str:
        return f"Fingerprint({sum(map(len, self.tables.values()))} rows)"


def new_events(before: Fingerprint, after: Fingerprint) -> set[str]:
    """Event ids recorded in the inbox between two fingerprints."""
    return {r["event_id"] for r in after.tables.get("inbox", []) if r not in before.tables.get("inbox", [])}


async def fingerprint(db: Database) -> Fingerprint:
    """Every row of every table the application owns (compare before/after a refused command)."""
    from storage.models import Base

    out: dict[str, list[Row]] = {}
    async with db.engine.connect() as conn:
        for table in sorted(Base.metadata.tables):
            if table in NOT_FINGERPRINTED:
                continue
            result = await conn.execute(text(f"SELECT * FROM {table}"))
            cols = list(result.keys())
            out[table] = [{c: _canon(v) for c, v in zip(cols, r, strict=True)} for r in result.all()]
    return Fingerprint(out)


def _canon(value: Any) -> str:
    # JSON columns come back as text on SQLite and as parsed values on PostgreSQL
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


async def assert_unchanged(db: Database, before: Fingerprint, what: str = "") -> None:
    """Fail with the differences when the database is not as ``before`` (see ``Fingerprint``)."""
    after = await fingerprint(db)
    diff = before.differences(after)
    assert not diff, f"database changed by refused {what!r}: " + "; ".join(diff)


@pytest.fixture
async def team(bot: Bot) -> Bot:
    """A small company: sales u1/u2, manager m1, boss b1, production p1, warehouse w1, finance f1, service s1."""
    await bot.say("admin", "/帮助", chat="admin", name="管理员")
    for user, name, roles in (("u1", "张三", "销售"), ("u2", "李四", "销售"), ("m1", "王经理", "主管"),
                              ("b1", "赵总", "老板"), ("p1", "生产小刘", "生产"), ("w1", "仓库老陈", "仓库"),
                              ("f1", "财务小周", "财务"), ("s1", "客服小吴", "客服")):
        await bot.say(user, "/帮助", chat=user, name=name)
        reply = await bot.text("admin", f"/角色 {user} {roles}", chat="admin")
        assert "角色" in reply, reply
    # the group has been spoken in: a refusal there is never its first message (which records the chat)
    await bot.say("u1", "/帮助", chat="g1")
    return bot
