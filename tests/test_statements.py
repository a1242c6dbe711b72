"""Customers, statements (JSON, .xlsx, the /对账 link) and sales reports: the same figures as the chat."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from openpyxl import load_workbook

from bot.app import SETTINGS
from storage.services.statement_xlsx import XLSX_TYPE
from tests.conftest import Bot, Clock
from web import approval_pages as al
from web import signed_links as bt

AUTH = {"Authorization": "Bearer test-token"}
LINK = re.compile(r"https?://[^/\s]+(/statements/\d+\.xlsx\?\S+)")
NOV = "from=2026-11-01&to=2026-11-27"
#: words and figures a refusal must never show
SECRETS = ("华为", "小米", "1,200", "1200", "200.3", "对账单_")


async def _sell(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300.10 交期12-15")  # #1 ¥3,001, customer 1
    await team.text("u2", "/下单 小米 B200×3@0.10 交期12-15")  # #2 ¥0.30, customer 2
    await team.text("w1", "/发货 #1 A100 4", chat="wh")  # ¥1,200.40
    await team.text("w1", "/发货 #2", chat="wh")
    await team.text("f1", "/回款 #1 1000.10", chat="fin")
    await team.text("f1", "/回款 #2 0.20", chat="fin")


async def _get(team: Bot, path: str, status: int = 200, **headers: str) -> Any:
    resp = await team.client.get(f"/api/v1{path}", headers={**AUTH, **headers})
    assert resp.status == status, await resp.text()
    return await resp.json()


def _book(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1]), ws.title
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _check_book(data: bytes, period: str = "2026-11-01 至 2026-11-27") -> None:
    sheets = _book(data)
    assert list(sheets) == ["对账汇总", "订单", "发货", "回款"]
    summary = dict(sheets["对账汇总"][1:])
    assert summary["客户"] == "华为" and summary["对账期间"] == period
    assert [_money(summary[k]) for k in ("期初应收", "本期发货", "本期回款", "期末应收")] == \
        [Decimal("0.00"), Decimal("1200.40"), Decimal("1000.10"), Decimal("200.30")]
    assert sheets["订单"][0] == ("单号", "下单日期", "状态", "负责人", "金额", "已收", "待收", "交期")
    ((no, _, state, owner, amount, paid, balance, _),) = sheets["订单"][1:]
    assert (no, state, owner) == (1, "已确认", "张三")
    assert [_money(v) for v in (amount, paid, balance)] == [Decimal("3001.00"), Decimal("1000.10"), Decimal("2000.90")]
    ((_, ship_no, seq, ship_amount, _, _),) = sheets["发货"][1:]
    assert (ship_no, seq, _money(ship_amount)) == (1, 1, Decimal("1200.40"))
    ((_, pay_no, pay_amount, _),) = sheets["回款"][1:]
    assert (pay_no, _money(pay_amount)) == (1, Decimal("1000.10"))
    ws = load_workbook(io.BytesIO(data))["对账汇总"]
    assert [ws[f"B{row}"].number_format for row in range(2, 8)] == ["General"] * 2 + ["#,##0.00"] * 4


async def test_customers_with_their_balance(team: Bot) -> None:
    await _sell(team)
    body = await _get(team, "/customers")
    assert body["total"] == 2
    assert [(c["id"], c["name"], c["balance"]) for c in body["items"]] == [(1, "华为", "2000.90"), (2, "小米", "0.10")]
    assert set(body["items"][0]) >= {"contact", "phone", "address", "credit_limit", "payment_terms"}
    assert [c["name"] for c in (await _get(team, "/customers?q=小"))["items"]] == ["小米"]
    assert (await _get(team, "/customers?q=%25"))["total"] == 0  # a LIKE wildcard is only a character
    assert (await _get(team, "/customers?size=1&page=2"))["items"][0]["name"] == "小米"
    await _get(team, "/customers?page=x", 400)


async def test_statement_json_has_the_figures_of_duizhang(team: Bot) -> None:
    await _sell(team)
    reply = await team.text("f1", "/对账 华为 本月", chat="fin")
    assert "期初应收 ¥0｜本期发货 ¥1,200.40｜本期回款 ¥1,000.10｜期末应收 ¥200.30" in reply, reply
    st = await _get(team, f"/customers/1/statement?{NOV}")
    assert st == await _get(team, "/customers/1/statement")  # the default is this month up to today
    assert (st["opening"], st["shipped"], st["collected"], st["closing"]) == ("0.00", "1200.40", "1000.10", "200.30")
    assert st["customer"] == {"id": 1, "name": "华为"} and (st["from"], st["to"]) == ("2026-11-01", "2026-11-27")
    assert [(s["order_no"], s["seq"], s["amount"]) for s in st["shipments"]] == [(1, 1, "1200.40")]
    assert [(p["order_no"], p["paid_on"], p["amount"]) for p in st["payments"]] == [(1, "2026-11-27", "1000.10")]
    assert [o["no"] for o in st["orders"]] == [1] and st["orders"][0]["paid_amount"] == "1000.10"
    later = await _get(team, "/customers/1/statement?from=2026-11-28&to=2026-12-31")
    assert (later["opening"], later["shipped"], later["collected"], later["closing"]) == \
        ("200.30", "0.00", "0.00", "200.30")


async def test_statement_refusals(team: Bot) -> None:
    await _sell(team)
    for query in ("from=2026-13-01", "from=2026-11-30&to=2026-11-01", "to=yesterday", "from=1900-01-01"):
        assert "error" in await _get(team, f"/customers/1/statement?{query}", 400)
    await _get(team, "/customers/99/statement", 404)
    await _get(team, "/customers/abc/statement", 404)
    await _get(team, "/customers/99/statement", 404, Accept=XLSX_TYPE)
    resp = await team.client.get("/api/v1/customers/1/statement")
    assert resp.status == 401


async def test_statement_workbook_through_the_api(team: Bot) -> None:
    await _sell(team)
    resp = await team.client.get(f"/api/v1/customers/1/statement?{NOV}", headers={**AUTH, "Accept": XLSX_TYPE})
    assert resp.status == 200 and resp.content_type == XLSX_TYPE
    _check_book(await resp.read())


async def test_sales_report_by_owner_month_and_customer(team: Bot) -> None:
    await _sell(team)
    chat = await team.text("m1", "/报表 本周", chat="m1")
    assert "成交 2 单 ¥3,001.30" in chat and "发货 ¥1,200.70" in chat and "回款 ¥1,000.30" in chat, chat
    week = "from=2026-11-23&to=2026-11-29"
    rep = await _get(team, f"/reports/sales?{week}")
    assert rep["group_by"] == "owner"
    assert [(r["key"], r["name"], r["orders"], r["sales"], r["shipped"], r["collected"]) for r in rep["rows"]] == [
        ("local:u1", "张三", 1, "3001.00", "1200.40", "1000.10"), ("local:u2", "李四", 1, "0.30", "0.30", "0.20")]
    assert rep["totals"] == {"orders": 2, "sales": "3001.30", "shipped": "1200.70", "collected": "1000.30"}
    months = await _get(team, "/reports/sales?from=2026-10-01&to=2026-11-30&group_by=month")
    assert [(r["key"], r["sales"], r["collected"]) for r in months["rows"]] == [
        ("2026-10", "0.00", "0.00"), ("2026-11", "3001.30", "1000.30")]
    by_customer = await _get(team, f"/reports/sales?{week}&group_by=customer")
    assert [(r["key"], r["name"], r["sales"], r["shipped"]) for r in by_customer["rows"]] == [
        ("1", "华为", "3001.00", "1200.40"), ("2", "小米", "0.30", "0.30")]
    assert by_customer["totals"] == rep["totals"] == months["totals"]
    assert (await _get(team, "/reports/sales?group_by=customer"))["totals"] == rep["totals"]  # default: this month
    for query in ("group_by=day", "from=2026-11-31", "from=2026-11-02&to=2026-11-01", "from=2000-01-01"):
        await _get(team, f"/reports/sales?{query}", 400)
    # a bad grouping is what is said first, whatever else is wrong
    assert await _get(team, "/reports/sales?from=2026-11-31&group_by=day", 400) == \
        await _get(team, "/reports/sales?group_by=day", 400) != await _get(team, "/reports/sales?from=2026-11-31", 400)


async def _link(team: Bot, chat: str = "f1") -> str:
    reply = await team.text("f1", "/对账 华为 本月", chat=chat)
    found = LINK.search(reply) or LINK.search("\n".join(m["text"] for m in await team.sent("f1")))
    assert found, reply
    return found[1]


async def test_duizhang_link_downloads_the_workbook(team: Bot) -> None:
    await _sell(team)
    reply = await team.text("f1", "/对账 华为 本月", chat="f1")
    assert "期末应收 ¥200.30" in reply and "12 小时内有效" in reply, reply
    match = LINK.search(reply)
    assert match and match[1].startswith(f"/statements/1.xlsx?{NOV}&t="), reply
    resp = await team.client.get(match[1])
    assert resp.status == 200 and resp.content_type == XLSX_TYPE
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="statement-1-20261101-20261127.xlsx"; '), disposition
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", encoded) and unquote(encoded) == "对账单_华为_2026-11-01_2026-11-27.xlsx"
    _check_book(await resp.read())


async def test_group_request_sends_the_link_privately(team: Bot) -> None:
    await _sell(team)
    reply = await team.text("f1", "/对账 华为 本月", chat="fin")
    assert "期末应收 ¥200.30" in reply and "私聊" in reply and "/statements/" not in reply, reply
    assert not [m for m in await team.sent("fin") if "/statements/" in m["text"]]
    (private,) = [m["text"] for m in await team.sent("f1") if "/statements/" in m["text"]]
    assert "华为" in private
    match = LINK.search(private)
    assert match
    assert (await team.client.get(match[1])).status == 200


async def _refused(team: Bot, path: str, status: int, reason: str = "forged") -> None:
    from handlers.texts.statements import denied

    resp = await team.client.get(path)
    body = await resp.text()
    assert resp.status == status, body
    assert "Content-Disposition" not in resp.headers and resp.content_type == "text/plain"
    assert body == denied(reason), f"expected the {reason!r} text, got {body!r}"
    assert not [s for s in SECRETS if s in body], body


async def test_forged_tampered_and_expired_links(team: Bot, clock: Clock) -> None:
    await _sell(team)
    path = await _link(team)
    query = path.split("?", 1)[1]
    token = query.split("&t=", 1)[1]
    await _refused(team, path.replace("/statements/1.xlsx", "/statements/2.xlsx"), 403)  # another customer
    await _refused(team, path.replace("to=2026-11-27", "to=2026-11-30"), 403)  # another period
    await _refused(team, path.replace("from=2026-11-01", "from=2026-01-01"), 403)
    await _refused(team, path.replace("from=2026-11-01", "from=someday"), 403)
    await _refused(team, path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"), 403)  # MAC changed
    await _refused(team, path.split("&t=")[0], 401, "missing")  # no token
    key = await al.LinkKeys(team.db, team.app[SETTINGS])()
    claims = bt.StatementClaims("local", "f1", 1, date(2026, 11, 1), date(2026, 11, 27), int(clock().timestamp()) + 60)
    board_key_token = bt.sign(key, "link", bt.BoardClaims("local", "f1", claims.expires))  # a /看板 token
    await _refused(team, f"/statements/1.xlsx?{NOV}&t={board_key_token}", 403)
    await _refused(team, f"/statements/1.xlsx?{NOV}&t={bt.sign_statement(b'k' * 32, claims)}", 403)  # other key
    unknown = bt.StatementClaims("local", "f1", 99, claims.start, claims.end, claims.expires)
    await _refused(team, f"/statements/99.xlsx?{NOV}&t={bt.sign_statement(key, unknown)}", 404, "not_found")
    assert (await team.client.get(path)).status == 200  # the genuine link still works
    clock.advance(hours=11, minutes=59)
    assert (await team.client.get(path)).status == 200  # still valid a minute before it expires
    clock.advance(minutes=1, seconds=1)
    await _refused(team, path, 401, "expired")
    await _refused(team, path.replace(token, token[::-1]), 403)  # expired or not, a scrambled token is forged


async def test_link_dies_with_the_askers_role(team: Bot) -> None:
    await _sell(team)
    path = await _link(team)
    assert "角色" in await team.text("admin", "/角色 f1 仓库", chat="admin")
    await _refused(team, path, 403, "left")
