"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when
GENDAN_TEST_DATABASE_URL is set), a controllable clock, and a running app
driven through the local adapter."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import create_app
from bot.config import Settings
from storage.db import Database
from storage.migrate import upgrade

PG_URL = os.environ.get("GENDAN_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgresql") else [])
TZ = ZoneInfo("Asia/Shanghai")
#: business tables: a refused command must leave all of them as they were
BUSINESS_TABLES = (
    "orders", "order_lines", "approvals", "change_requests", "order_versions", "shipments", "shipment_lines",
    "payments", "customers", "products", "stock_moves", "tickets", "follow_ups", "reminders", "audit_events",
    "person_roles", "chat_subscriptions", "counters",
)


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


@pytest.fixture
def clock() -> Clock:
    # Friday 2026-11-27 10:00 in Shanghai
    return Clock(datetime(2026, 11, 27, 10, 0, tzinfo=TZ))


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gendan.db'}", {}
        return
    schema = "t_" + secrets.token_hex(6)
    admin = create_async_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield PG_URL, {"connect_args": {"server_settings": {"search_path": schema}}}
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def db(db_url: tuple[str, dict[str, Any]]) -> AsyncIterator[Database]:
    url, kwargs = db_url
    database = Database(url, **kwargs)
    await upgrade(database.engine)
    yield database
    await database.dispose()


def make_settings(url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"database_url": url, "local_enabled": True, "api_token": "test-token",
                            "admins": "local:admin"}
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


async def fingerprint(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every business table (compare before/after a refused command)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as conn:
        for table in BUSINESS_TABLES:
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            out[table] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


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
    return bot
