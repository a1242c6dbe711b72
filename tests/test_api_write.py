"""POST /api/v1/orders: the same checks and the same routing as /下单; refusals change nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import Bot, fingerprint

AUTH = {"Authorization": "Bearer test-token"}
GOOD: dict[str, Any] = {"customer": "华为", "lines": [{"sku": "A100", "qty": "20", "unit_price": "600", "unit": "台"}],
                        "due_date": "2026-12-15", "note": "加急", "payment_terms": "月结30天", "owner": "local:u1"}


async def _post(bot: Bot, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    kw: dict[str, Any] = {"data": body} if isinstance(body, bytes | str) else {"json": body}
    resp = await bot.client.post("/api/v1/orders", headers=AUTH if headers is None else headers, **kw)
    return resp.status, await resp.json()


async def _cards(bot: Bot, chat: str) -> list[dict[str, Any]]:
    return [m for m in await bot.sent(chat) if m["card"]]


async def test_created_like_xiadan_with_the_approval_card_to_the_manager(team: Bot) -> None:
    resp = await team.client.post("/api/v1/orders", json={**GOOD, "external_ref": "SHOP-1"}, headers=AUTH)
    assert resp.status == 201, await resp.text()
    order = await resp.json()
    assert resp.headers["Location"] == "/api/v1/orders/1"
    assert order["no"] == 1 and order["state"] == "PENDING_APPROVAL" and order["amount"] == "12000.00"
    assert order["customer"]["name"] == "华为" and order["owner"]["user_id"] == "u1"
    assert order["lines"] == [{"sku": "A100", "name": "", "qty": "20", "unit": "台", "unit_price": "600.00",
                               "shipped_qty": "0"}]
    assert order["due_date"] == "2026-12-15" and order["payment_terms"] == "月结30天" and order["note"] == "加急"
    # ¥12,000 ≥ T1: one card to the manager, exactly as /下单 makes it
    (card,) = await _cards(team, "m1")
    assert card["card"]["title"].startswith("订单审批 #1") and "¥12,000" in card["card"]["body"]
    assert not await _cards(team, "b1") and not await _cards(team, "u1")
    # the owner hears of it in their 1:1 chat; the order's later notices go there too
    (told,) = [m["text"] for m in await team.sent("u1") if "系统接口" in m["text"]]
    assert told.startswith("🔗 系统接口为你创建了订单（外部单号 SHOP-1）：\n#1 华为 金额 ¥12,000"), told
    assert "已提交审批" in told and "新客户「华为」已建档" in told
    ok = next(b for b in card["card"]["buttons"] if b["label"] == "通过")
    assert "#1 已通过" in await team.press("m1", ok["action"])
    assert any("审批通过" in m["text"] for m in await team.sent("u1"))
    events = (await team.api("/orders/1/events"))["items"]
    assert events[0]["action"] == "create" and events[0]["source"] == "api" and events[0]["source_ref"] == "SHOP-1"
    assert events[0]["who"]["user_id"] == "u1" and events[0]["chat"] is None


async def test_same_external_ref_answers_the_existing_order(team: Bot) -> None:
    status, first = await _post(team, {**GOOD, "external_ref": "ERP-77"})
    assert status == 201
    before = await fingerprint(team.db)
    # a retry, even one whose body has changed meanwhile, gets the order the first call made
    status, again = await _post(team, {**GOOD, "external_ref": "ERP-77", "lines": [{"sku": "B9", "qty": "1"}]})
    assert status == 200 and again == first
    assert await fingerprint(team.db) == before
    assert len(await _cards(team, "m1")) == 1


async def test_text_form_and_drafts(team: Bot) -> None:
    status, order = await _post(team, {"text": "/下单 小米 A100×5@300 交期12-15", "owner": "local:u2"})
    assert status == 201 and order["state"] == "CONFIRMED" and order["amount"] == "1500.00", order
    status, order = await _post(team, {"text": "华为 B200 3台", "owner": "local:u1"})
    assert status == 201 and order["state"] == "DRAFT", order
    assert set(order["missing"]) >= {"unit_price", "due_date"}, order["missing"]
    status, order = await _post(team, {"customer": "小米", "lines": [{"sku": "C3", "qty": 2, "unit_price": 10.5}],
                                       "due_date": "下周五", "owner": "local:u1"})
    assert status == 201 and order["amount"] == "21.00" and order["due_date"] == "2026-12-04", order
    assert not await _cards(team, "m1")


BAD: list[tuple[str, Any, str]] = [
    ("not json", b"{customer", ""),
    ("a list", [GOOD], ""),
    ("no owner", {k: v for k, v in GOOD.items() if k != "owner"}, "owner"),
    ("unknown field", {**GOOD, "colour": "red"}, "colour"),
    ("qty text", {**GOOD, "lines": [{"sku": "A100", "qty": "abc"}]}, "lines[0].qty"),
    ("qty zero", {**GOOD, "lines": [{"sku": "A100", "qty": "0"}]}, "lines[0].qty"),
    ("qty as money", {**GOOD, "lines": [{"sku": "A100", "qty": "5块钱"}]}, "lines[0].qty"),
    ("negative price", {**GOOD, "lines": [{"sku": "A100", "qty": "1", "unit_price": "-5"}]}, "lines[0].unit_price"),
    ("no sku", {**GOOD, "lines": [{"qty": "1"}]}, "lines[0].sku"),
    ("line field", {**GOOD, "lines": [{"sku": "A", "qty": "1", "colour": "red"}]}, "lines[0].colour"),
    ("bad unit", {**GOOD, "lines": [{"sku": "A100", "qty": "1", "unit": "furlong"}]}, "lines[0].unit"),
    ("unit conflict", {**GOOD, "lines": [{"sku": "A100", "qty": "1台", "unit": "箱"}]}, "lines[0].unit"),
    ("lines object", {**GOOD, "lines": {"sku": "A100"}}, "lines"),
    ("past due", {**GOOD, "due_date": "2020-01-01"}, "due_date"),
    ("not a date", {**GOOD, "due_date": "soon"}, "due_date"),
    ("number customer", {**GOOD, "customer": 12}, "customer"),
    ("long terms", {**GOOD, "payment_terms": "月" * 65}, "payment_terms"),
    ("empty", {"owner": "local:u1"}, "customer"),
    ("text and fields", {**GOOD, "text": "华为 A100×1"}, "text"),
    ("text of another command", {"text": "/发货 #1", "owner": "local:u1"}, "text"),
    ("bad text", {"text": "华为 A100×2 加急", "owner": "local:u1"}, "text"),
    ("unknown owner", {**GOOD, "owner": "local:nobody"}, "owner"),
    ("owner not sales", {**GOOD, "owner": "local:m1"}, "owner"),
    ("owner format", {**GOOD, "owner": "u1"}, "owner"),
    ("duplicate line", {**GOOD, "lines": [{"sku": "A100", "qty": "1"}, {"sku": "a100", "qty": "2"}]}, ""),
]


@pytest.mark.parametrize(("body", "field"), [(b, f) for _, b, f in BAD], ids=[name for name, _, _ in BAD])
async def test_refused_bodies_change_nothing(team: Bot, body: Any, field: str) -> None:
    before, told = await fingerprint(team.db), await team.sent("u1")
    status, answer = await _post(team, body)
    assert status == 400, answer
    assert answer["error"].startswith("订单未创建") and answer["details"], answer
    assert all(d["message"] for d in answer["details"])
    if field:
        assert field in [d["field"] for d in answer["details"]], answer
    assert await fingerprint(team.db) == before
    assert not await _cards(team, "m1") and await team.sent("u1") == told
    assert (await team.api("/orders"))["total"] == 0


async def test_every_field_problem_is_listed_at_once(team: Bot) -> None:
    status, answer = await _post(team, {**GOOD, "due_date": "2020-01-01",
                                        "lines": [{"sku": "A", "qty": "0"}, {"sku": "B", "qty": "x"}]})
    assert status == 400
    assert [d["field"] for d in answer["details"]] == ["lines[0].qty", "lines[1].qty", "due_date"]
    assert "已经过去了" in answer["details"][2]["message"]


async def test_token_is_required(team: Bot) -> None:
    before = await fingerprint(team.db)
    assert (await _post(team, GOOD, headers={}))[0] == 401
    assert (await _post(team, GOOD, headers={"Authorization": "Bearer wrong"}))[0] == 401
    assert await fingerprint(team.db) == before


async def test_openapi_lists_the_new_paths(team: Bot) -> None:
    doc = await (await team.client.get("/api/v1/openapi.json")).json()
    assert "post" in doc["paths"]["/api/v1/orders"]
    for path in ("/api/v1/customers", "/api/v1/customers/{id}/statement", "/api/v1/reports/sales"):
        assert "get" in doc["paths"][path], path


async def test_concurrent_twins_make_one_order(team: Bot) -> None:
    results = await asyncio.gather(*(_post(team, {**GOOD, "external_ref": "TWIN"}) for _ in range(2)))
    assert sorted(status for status, _ in results) == [200, 201]
    assert {body["no"] for _, body in results} == {1}
    assert (await team.api("/orders"))["total"] == 1 and len(await _cards(team, "m1")) == 1
