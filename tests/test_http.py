"""HTTP surface: health, metrics, the REST API, the console, and no 5xx for anything a client sends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import DB, DISPATCHER, create_app
from storage.db import Database
from tests.conftest import Bot, Clock, fingerprint, make_settings


async def test_healthz_and_metrics(bot: Bot) -> None:
    resp = await bot.client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok", "db": "ok"}
    await bot.say("u1", "/帮助")
    resp = await bot.client.get("/metrics")
    body = await resp.text()
    assert resp.status == 200 and "gendan_http_requests_total" in body and "gendan_outbox_rows" in body


async def test_healthz_503_when_database_is_down(tmp_path: Path) -> None:
    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings, migrate=False, run_sender=False)
    app.cleanup_ctx.clear()  # nothing to open: the database is unreachable on purpose
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/healthz")
        assert resp.status == 503 and (await resp.json())["db"] != "ok"


async def test_api_needs_the_token(bot: Bot) -> None:
    assert (await bot.client.get("/api/v1/orders")).status == 401
    resp = await bot.client.get("/api/v1/orders", headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401
    assert (await bot.client.get("/api/v1/openapi.json")).status == 200


async def test_api_off_without_token(tmp_path: Path, clock: Clock) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    app = create_app(make_settings(url, api_token=""), clock=clock, run_sender=False)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/api/v1/orders", headers={"Authorization": "Bearer "})
        assert resp.status == 403


async def test_api_lists_and_filters(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("u2", "/下单 小米 B200×1@100 交期12-20")
    await team.text("u1", "/下单 腾讯 C300×1", chat="g2")
    await team.text("w1", "/发货 #1 A100 2", chat="wh")
    all_ = await team.api("/orders")
    assert all_["total"] == 3 and [o["no"] for o in all_["items"]] == [3, 2, 1]
    assert (await team.api("/orders?state=DRAFT"))["items"][0]["missing"] == ["unit_price", "due_date"]
    assert [o["no"] for o in (await team.api("/orders?owner=u2"))["items"]] == [2]
    assert [o["no"] for o in (await team.api("/orders?customer=华为"))["items"]] == [1]
    assert [o["no"] for o in (await team.api("/orders?stage=PARTIALLY_SHIPPED"))["items"]] == [1]
    page = await team.api("/orders?size=2&page=2")
    assert page["total"] == 3 and [o["no"] for o in page["items"]] == [1]
    one = await team.api("/orders/1")
    assert one["stage_label"] == "部分发货" and one["owner"]["name"] == "张三"
    assert one["created_at"].endswith("+08:00")
    assert one["lines"][0] == {"sku": "A100", "name": "", "qty": "10", "unit": None, "unit_price": "300.00",
                               "shipped_qty": "2"}
    resp = await team.client.get("/api/v1/orders/99", headers={"Authorization": "Bearer test-token"})
    assert resp.status == 404
    resp = await team.client.get("/api/v1/orders?state=NOPE", headers={"Authorization": "Bearer test-token"})
    assert resp.status == 400


async def test_console_page(bot: Bot) -> None:
    resp = await bot.client.get("/console")
    assert resp.status == 200 and "跟单助手" in await resp.text()


async def test_malformed_local_bodies_get_400(bot: Bot) -> None:
    for body in (b"not json", b"[]", b'{"user": ""}', b'{"user": "u1"}', b'{"user":"u1","text":5}',
                 json.dumps({"user": "u1", "text": "x", "chat_type": "channel"}).encode()):
        resp = await bot.client.post("/local/message", data=body, headers={"Content-Type": "application/json"})
        assert resp.status == 400, body
    resp = await bot.client.post("/local/action", data=b"{}")
    assert resp.status == 400
    resp = await bot.client.get("/local/sent")
    assert resp.status == 400


async def test_body_over_1_mib_gets_413(bot: Bot) -> None:
    resp = await bot.client.post("/local/message", data=b"x" * (1024 * 1024 + 10))
    assert resp.status == 413


async def test_forged_card_action_changes_nothing(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    before = await fingerprint(team.db)
    for action in ("ap:1:maybe", "ap:x:ok", "ap:999:ok", "zz:1:ok", "ap:1", "ap:1:ok:extra"):
        reply = await team.press("m1", action)
        assert reply, action
    assert await fingerprint(team.db) == before


def test_no_input_makes_5xx_and_refused_order_commands_change_nothing(tmp_path: Path) -> None:
    """Property: arbitrary text after any command, about an order that does not exist, answers 200
    and leaves the database as it was; arbitrary bodies never get a 5xx."""
    loop = asyncio.new_event_loop()
    clock = Clock.__new__(Clock)
    from datetime import UTC, datetime

    clock.now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    app = create_app(make_settings(url, admins="local:u1", default_roles="sales,manager,warehouse,finance,"
                                   "production,service,boss"), clock=clock, run_sender=False,
                     db=Database(url))

    async def start() -> TestClient:
        c = TestClient(TestServer(app))
        await c.start_server()
        return c

    client = loop.run_until_complete(start())
    db = app[DB]
    names = sorted({s.name for s in app[DISPATCHER].specs})
    commands = [n for n in names if n not in ("下单", "客户", "入库", "提醒", "订阅", "退订", "角色", "绑定",
                                               "解绑", "帮助", "订单", "库存", "报表", "对账", "售后",
                                               "看板")]  # 看板 is never refused: it DMs a link

    async def post(body: Any, raw: bytes | None = None) -> int:
        if raw is not None:
            resp = await client.post("/local/message", data=raw, headers={"Content-Type": "application/json"})
        else:
            resp = await client.post("/local/message", json=body)
        await resp.read()
        return resp.status

    async def say(text: str) -> list[str]:
        resp = await client.post("/local/message", json={"user": "u1", "chat": "g1", "text": text})
        assert resp.status == 200
        return [r["text"] for r in (await resp.json())["replies"]]

    # register u1 first: a person's first message records them and their default roles
    assert loop.run_until_complete(post({"user": "u1", "chat": "g1", "text": "/帮助"})) == 200
    # a database with an order, stock and a customer: a refusal that wrote anything would show
    stocked = loop.run_until_complete(say("/入库 A100 100"))
    assert any("A100" in r and "100" in r for r in stocked), stocked
    ordered = loop.run_until_complete(say("/下单 华为 A100×20@300 交期12-15"))
    assert any("#1" in r for r in ordered), ordered
    filled = loop.run_until_complete(fingerprint(db))
    assert all(filled.tables[t] for t in ("orders", "order_lines", "customers", "products", "people", "audit_events"))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(commands), st.text(max_size=40))
    def refused_changes_nothing(name: str, tail: str) -> None:
        before = loop.run_until_complete(fingerprint(db))
        replies = loop.run_until_complete(say(f"/{name} #999 {tail}"))
        assert replies and all("未做任何修改" in r for r in replies), replies
        assert loop.run_until_complete(fingerprint(db)) == before

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.binary(max_size=200),
                     st.dictionaries(st.sampled_from(["user", "name", "chat", "chat_type", "text", "msg_id"]),
                                     st.one_of(st.text(max_size=30), st.integers(), st.none()), max_size=6)
                     .map(lambda d: json.dumps(d).encode())))
    def never_5xx(raw: bytes) -> None:
        assert loop.run_until_complete(post(None, raw)) < 500

    order_words = st.sampled_from(["华为", "A100×20@300", "A100×0", "×", "@", "交期", "12-15", "2020-01-01", "备注",
                                   "客户=", "产品=", "数量=-1", "单价=abc", "\n", " ", "1,2", "两百", "万", "#"])

    outcomes = {"refused": 0, "created": 0}

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(order_words, st.text(max_size=8)), max_size=8))
    @example(["华为", "A100×20@300", "交期", "12-15"])  # a valid order must be taken, or the property is idle
    @example(["华为", "A100×0"])
    def refused_order_changes_nothing(words: list[str]) -> None:
        """Either a refusal that changed nothing, or exactly one new order; never something between."""
        before = loop.run_until_complete(fingerprint(db))
        replies = loop.run_until_complete(say("/下单 " + " ".join(words)))
        after = loop.run_until_complete(fingerprint(db))
        if any("未做任何修改" in r for r in replies):
            outcomes["refused"] += 1
            assert after == before
        else:
            outcomes["created"] += 1
            assert len(after.tables["orders"]) == len(before.tables["orders"]) + 1, replies
            no = max(int(r["no"]) for r in after.tables["orders"])
            assert any(f"#{no}" in r for r in replies), replies

    try:
        refused_changes_nothing()
        never_5xx()
        refused_order_changes_nothing()
        assert outcomes["refused"] and outcomes["created"], outcomes
    finally:
        loop.run_until_complete(client.close())
        loop.close()
