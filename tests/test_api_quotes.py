"""REST API reads of quotations, purchases and shortages, and their place in the OpenAPI document."""

from __future__ import annotations

from tests.conftest import Bot, Clock


async def test_quotes_endpoint(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/报价 华为 A100×20@300 有效期2天")
    await team.text("u2", "/报价 中兴 B200×5@1200")
    await team.text("u2", "/成交 Q2 交期12-15")
    body = await team.api("/quotes")
    assert body["total"] == 2 and [q["no"] for q in body["items"]] == [2, 1]
    q1 = await team.api("/quotes/1")
    assert q1["status"] == "OPEN" and q1["amount"] == "6000.00" and q1["valid_until"] == "2026-11-29"
    assert q1["lines"] == [{"sku": "A100", "name": "", "qty": "20", "unit": None, "unit_price": "300.00"}]
    assert (await team.api("/quotes?status=WON"))["items"][0]["order_id"] is not None
    assert (await team.api("/quotes?owner=u1"))["total"] == 1
    clock.advance(days=3)
    assert (await team.api("/quotes/1"))["status"] == "EXPIRED"
    assert [q["no"] for q in (await team.api("/quotes?status=EXPIRED"))["items"]] == [1]
    assert (await team.api("/quotes?status=OPEN"))["total"] == 0
    for path, status in (("/quotes/99", 404), ("/quotes?status=NOPE", 400), ("/quotes?page=x", 400)):
        resp = await team.client.get(f"/api/v1{path}", headers={"Authorization": "Bearer test-token"})
        assert resp.status == status, path
    resp = await team.client.get("/api/v1/quotes")
    assert resp.status == 401


async def test_purchases_and_shortages_endpoints(team: Bot) -> None:
    await team.say("c1", "/帮助", chat="c1", name="采购小林")
    await team.text("admin", "/角色 c1 采购", chat="admin")
    await team.text("w1", "/入库 A100 2", chat="wh")
    await team.text("u1", "/下单 华为 A100×5@300 交期12-15")
    shortages = (await team.api("/shortages"))["items"]
    assert shortages == [{"sku": "A100", "unit": None, "on_hand": "2", "reserved": "5", "on_order": "0",
                          "short": "3", "orders": [1]}]
    await team.text("c1", "/采购 A100 3 华强 11-30", chat="c1")
    assert (await team.api("/shortages"))["items"] == []
    body = await team.api("/purchases")
    assert body["items"][0] | {"created_at": ""} == {
        "no": 1, "status": "OPEN", "sku": "A100", "qty": "3", "received_qty": "0", "supplier": "华强",
        "expected_date": "2026-11-30", "created_at": "", "received_at": None}
    assert (await team.api("/purchases?status=RECEIVED"))["total"] == 0
    assert (await team.api("/purchases?overdue=true"))["total"] == 0


async def test_openapi_lists_quotes_and_purchases(team: Bot) -> None:
    doc = await (await team.client.get("/api/v1/openapi.json")).json()
    for path in ("/api/v1/quotes", "/api/v1/quotes/{no}", "/api/v1/purchases", "/api/v1/shortages"):
        assert "get" in doc["paths"][path], path
    assert "Quote" in doc["components"]["schemas"] and "Purchase" in doc["components"]["schemas"]


async def test_dashboard_lists_quotes_shortages_and_purchases(team: Bot) -> None:
    await team.say("c1", "/帮助", chat="c1", name="采购小林")
    await team.text("admin", "/角色 c1 采购", chat="admin")
    await team.text("w1", "/入库 A100 2", chat="wh")
    await team.text("u1", "/下单 华为 A100×5@300 交期12-15")
    await team.text("u1", "/报价 小米 A100×10@300")
    await team.text("u1", "/报价 中兴 A100×10@100")
    await team.text("u1", "/成交 Q2 交期12-20")
    headers = {"Authorization": "Bearer test-token"}
    html = await (await team.client.get("/board/quotes", headers=headers)).text()
    quotes = html.split('id="quotes"', 1)[1]
    assert "Q1" in quotes and "小米" in quotes and "Q2" in quotes and "已成交" in quotes, quotes
    shortages = html.split('id="shortages"', 1)[1].split("</div>", 1)[0]
    # order #1 (5) and the won quote's order #2 (10) reserve 15 of the 2 on hand
    assert "A100" in shortages and 'href="orders/2"' in shortages and ">13<" in shortages, shortages
    rates = html.split('id="win-rates"', 1)[1].split("</div>", 1)[0]
    assert "张三" in rates and "50%" in rates, rates
    await team.text("c1", "/采购 A100 13 华强 11-30", chat="c1")
    html = await (await team.client.get("/board/quotes", headers=headers)).text()
    assert "没有缺货" in html and "P1" in html.split('id="purchases"', 1)[1]
    # behind the same guard as every board page
    resp = await team.client.get("/board/quotes")
    assert resp.status == 401
