"""The web dashboard: /看板 links, the cookie session, the pages, and who is turned away."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update

from bot.app import SETTINGS
from storage.models import Person
from tests.conftest import Bot, Clock
from web import approval_pages as al
from web import signed_links as bt

LINK = re.compile(r"https?://\S+?(/board\?t=[A-Za-z0-9_.-]+)")
HOW_TO = "请在群里发送 /看板 获取链接"


async def _link(team: Bot, user: str = "u1") -> str:
    """The path and query of the link /看板 sends in the person's 1:1 chat."""
    reply = await team.text(user, "/看板", chat=user)
    match = LINK.search(reply)
    assert match, reply
    return match[1]


async def _open(team: Bot, user: str = "u1") -> None:
    resp = await team.client.get(await _link(team, user))
    assert resp.status == 200, await resp.text()
    assert resp.url.path == "/board/"


async def _page(team: Bot, path: str, status: int = 200, **kw: Any) -> str:
    resp = await team.client.get(path, **kw)
    body = await resp.text()
    assert resp.status == status, body
    return body


def _column(html: str, key: str) -> list[int]:
    """Order numbers in one kanban column."""
    section = html.split(f'id="col-{key}"', 1)[1].split("</section>", 1)[0]
    return [int(n) for n in re.findall(r'data-no="(\d+)"', section)]


def _forget_cookies(team: Bot) -> None:
    team.client.session.cookie_jar.clear()


async def test_link_opens_board_with_a_cookie_session(team: Bot) -> None:
    reply = await team.text("u1", "/看板", chat="u1")
    assert "http://127.0.0.1:8080/board?t=" in reply and "12 小时" in reply, reply
    resp = await team.client.get(LINK.search(reply)[1], allow_redirects=False)  # type: ignore[index]
    assert resp.status == 303 and resp.headers["Location"] == "board/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/board" in cookie, cookie
    assert "Max-Age=43200" in cookie, cookie
    html = await _page(team, "/board/")
    assert "订单看板" in html and "待审批" in html and "已发货待回款" in html
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


async def test_group_request_sends_the_link_privately(team: Bot) -> None:
    reply = await team.text("u1", "/看板", chat="g1")
    assert "/board?t=" not in reply and "私聊" in reply, reply
    private = [m["text"] for m in await team.sent("u1") if "/board?t=" in m["text"]]
    assert len(private) == 1
    assert not [m for m in await team.sent("g1") if "/board?t=" in m["text"]]


async def test_kanban_puts_orders_in_their_columns(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/下单 华为 A100×10")  # 1: draft (no price, no 交期)
    await team.text("u1", "/下单 小米 B200×100@200 交期12-15")  # 2: ¥20,000 → manager approval
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")  # 3: auto-confirmed, preparing
    await team.text("u2", "/下单 小米 A100×10@300 交期12-20")  # 4: in production
    await team.text("p1", "/生产 #4", chat="prod")
    await team.text("u2", "/下单 华为 A100×10@300 交期12-25")  # 5: partially shipped
    await team.text("w1", "/发货 #5 A100 4", chat="wh")
    await team.text("u1", "/下单 华为 A100×1@300 交期12-25")  # 6: on hold
    await team.text("m1", "/挂起 #6 客户要求暂停", chat="m1")
    clock.advance(days=20)  # 12-17: #2 and #3 are past 交期
    await _open(team)
    html = await _page(team, "/board/")
    assert _column(html, "DRAFT") == [1]
    assert _column(html, "PENDING_APPROVAL") == [2]
    assert _column(html, "PREPARING") == [3]
    assert _column(html, "IN_PRODUCTION") == [4]
    assert _column(html, "PARTIALLY_SHIPPED") == [5]
    assert _column(html, "ON_HOLD") == [6]
    assert _column(html, "READY") == [] and _column(html, "AWAITING_PAYMENT") == []
    card3 = html.split('data-no="3"', 1)[1].split("</a>", 1)[0]
    assert "逾期 2 天" in card3 and "¥3,000" in card3 and "华为" in card3 and "2026-12-15" in card3
    card4 = html.split('data-no="4"', 1)[1].split("</a>", 1)[0]
    assert 'class="badge late"' not in card4 and "李四" in card4
    # 款到发货 (the default terms): payment was due on the day of confirmation, as the reminders say
    assert "回款逾期 20 天" in card4 and "回款逾期 20 天" in card3
    assert "回款逾期" not in html.split('data-no="2"', 1)[1].split("</a>", 1)[0]  # not confirmed yet


async def test_order_page_shows_lines_progress_timeline_and_version_diff(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("u1", "/变更 #1 交期 12-20")
    await team.text("w1", "/发货 #1 A100 5", chat="wh")
    await team.text("f1", "/回款 #1 750", chat="fin")
    await _open(team, "m1")
    html = await _page(team, "/board/orders/1")
    assert "A100" in html and "¥3,000" in html
    assert 'id="shipped-pct">50%' in html and 'id="paid-pct">25%' in html
    events = re.findall(r'<tr class="event">(.*?)</tr>', html, re.S)
    texts = [re.sub(r"<[^>]+>", " ", e) for e in events]
    assert any("张三" in t and "创建" in t and "g1" in t and "消息" in t for t in texts), texts
    assert any("变更生效（v2）" in t for t in texts)
    assert any("仓库老陈" in t and "发货第1批" in t and "wh" in t for t in texts)
    assert any("财务小周" in t and "回款 ¥750" in t for t in texts)
    change = html.split('class="box change"', 1)[1].split("</div>\n", 2)
    block = "".join(change)
    assert "已生效" in block and "v1 → v2" in block and "张三" in block
    assert "<td>交期</td><td><del>2026-12-15</del></td><td><b>2026-12-20</b></td>" in block
    assert "没有这个订单" in await _page(team, "/board/orders/99", 404)
    assert "没有这个订单" in await _page(team, "/board/orders/x1", 404)


async def _sell(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300.10 交期12-15")  # ¥3,001
    await team.text("u2", "/下单 小米 B200×3@0.10 交期12-15")  # ¥0.30
    await team.text("w1", "/发货 #1 A100 4", chat="wh")  # ¥1,200.40
    await team.text("w1", "/发货 #2", chat="wh")
    await team.text("f1", "/回款 #1 1000.10", chat="fin")
    await team.text("f1", "/回款 #2 0.20", chat="fin")


def _row(html: str, table: str, first_cell: str) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        if cells and cells[0] == first_cell:
            return cells[1:]
    raise AssertionError(f"no row {first_cell!r} in {table}")


async def test_sales_page_totals_match_the_chat_report(team: Bot, clock: Clock) -> None:
    await _sell(team)
    chat = await team.text("m1", "/报表 本月", chat="m1")
    assert "成交 2 单 ¥3,001.30" in chat and "发货 ¥1,200.70" in chat and "回款 ¥1,000.30" in chat, chat
    await _open(team, "b1")
    html = await _page(team, "/board/sales")
    assert _row(html, "by-person", "合计") == ["2", "¥3,001.30", "¥1,200.70", "¥1,000.30"]
    assert _row(html, "by-person", "张三") == ["1", "¥3,001", "¥1,200.40", "¥1,000.10"]
    assert _row(html, "by-person", "李四") == ["1", "¥0.30", "¥0.30", "¥0.20"]
    assert _row(html, "by-month", "2026-11") == ["2", "¥3,001.30", "¥1,200.70", "¥1,000.30"]
    assert _row(html, "by-month", "合计") == ["2", "¥3,001.30", "¥1,200.70", "¥1,000.30"]
    assert _row(html, "by-month", "2025-12") == ["0", "¥0", "¥0", "¥0"]  # twelve months shown
    assert html.count('class="bar-row"') == 2 + 12  # two people, twelve months
    # 款到发货 (the default terms): payment due on the day of confirmation
    assert _row(html, "aging", "未到期") == ["2", "¥2,001"]
    clock.advance(days=40)  # 2027-01-06: 40 days past the payment date, 22 past 交期 for #1
    await _page(team, "/board/sales", 401)  # the session lasted 12 hours
    await _open(team, "b1")
    html = await _page(team, "/board/sales")
    assert _row(html, "aging", "逾期 31-60 天") == ["2", "¥2,001"]
    assert _row(html, "aging", "未到期") == ["0", "¥0"] and _row(html, "aging", "合计") == ["2", "¥2,001"]
    assert _row(html, "delivery-overdue", "#1") == ["华为", "张三", "2026-12-15", "22 天"]
    assert _row(html, "payment-overdue", "#1") == ["华为", "张三", "2026-11-27", "40 天", "¥2,000.90"]
    assert _row(html, "payment-overdue", "#2") == ["小米", "李四", "2026-11-27", "40 天", "¥0.10"]
    with_period = await _page(team, "/board/sales?from=2026-11-01&to=2026-11-30")
    assert _row(with_period, "by-person", "合计") == ["2", "¥3,001.30", "¥1,200.70", "¥1,000.30"]
    months = with_period.split('id="by-month"', 1)[1].split("</table>", 1)[0]
    assert "2026-11" in months and "2026-10" not in months and "2026-12" not in months


async def test_no_cookie_means_401_with_the_explanation_only(team: Bot) -> None:
    await team.text("u1", "/下单 秘密客户 A100×10@300 交期12-15")
    for path in ("/board", "/board/", "/board/sales", "/board/orders/1"):
        html = await _page(team, path, 401)
        assert HOW_TO in html and "秘密客户" not in html and "data-no" not in html and "¥" not in html
        assert "Set-Cookie" not in (await team.client.get(path)).headers


async def test_forged_and_expired_links_are_refused(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/下单 秘密客户 A100×10@300 交期12-15")
    path = await _link(team)
    token = path.split("t=", 1)[1]
    body, _, mac = token.partition(".")
    forged = [body + "." + ("A" if mac[0] != "A" else "B") + mac[1:], "x" + token, body, "中文.签名", "a" * 5000]
    key = await _key(team)
    claims = bt.BoardClaims("local", "u1", int(clock().timestamp()) + 3600)
    session_as_link = bt.sign(key, "session", claims)  # a cookie value is not a link
    approval = al.sign_token(key, al.LinkClaims("ap:1:ok", "local", "u1", claims.expires, "n" * 22))
    for bad in (*forged, session_as_link, approval):
        resp = await team.client.get("/board", params={"t": bad}, allow_redirects=False)
        html = await resp.text()
        assert resp.status == 403 and "Set-Cookie" not in resp.headers, (bad, resp.status)
        assert "链接无效" in html and "秘密客户" not in html
    clock.advance(hours=12)
    resp = await team.client.get(path, allow_redirects=False)
    assert resp.status == 401 and "过期" in await resp.text() and "Set-Cookie" not in resp.headers


async def _key(team: Bot) -> bytes:
    return await al.LinkKeys(team.db, team.app[SETTINGS])()


async def test_session_expires_and_cannot_be_forged(team: Bot, clock: Clock) -> None:
    await _open(team)
    clock.advance(hours=11, minutes=59)
    await _page(team, "/board/sales")
    clock.advance(minutes=2)
    html = await _page(team, "/board/", 401)
    assert "登录已失效" in html
    _forget_cookies(team)
    key = await _key(team)
    claims = bt.BoardClaims("local", "u1", int(clock().timestamp()) + 3600)
    link_as_cookie = bt.sign(key, "link", claims)
    wrong_key = bt.sign(b"x" * 32, "session", claims)
    for value in (link_as_cookie, wrong_key, "garbage"):
        await _page(team, "/board/", 401, cookies={bt.COOKIE: value})
    await _page(team, "/board/", 200, cookies={bt.COOKIE: bt.sign(key, "session", claims)})


async def test_a_person_who_left_loses_the_board(team: Bot) -> None:
    path = await _link(team)
    await _open(team)
    async with team.db.uow() as uow:
        await uow.session.execute(update(Person).where(Person.user_id == "u1").values(active=False))
    assert "已不在" in await _page(team, "/board/", 403)
    _forget_cookies(team)
    assert "已不在" in await _page(team, path, 403)


async def test_api_bearer_token_opens_the_pages(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    ok = {"Authorization": "Bearer test-token"}
    for path in ("/board/", "/board/sales", "/board/orders/1"):
        await _page(team, path, 200, headers=ok)
        await _page(team, path, 401, headers={"Authorization": "Bearer wrong-token"})


async def test_user_text_is_escaped_and_nothing_loads_from_elsewhere(team: Bot) -> None:
    evil = "<script>alert(1)</script>"
    await team.text("u1", f"/下单 {evil} A100×10@300 交期12-15 备注 <img src=x onerror=alert(2)>")
    await team.text("u1", "/变更 #1 备注 <b>bold</b>")
    await _open(team)
    pages = [await _page(team, p) for p in ("/board/", "/board/orders/1", "/board/sales")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "&lt;b&gt;bold&lt;/b&gt;" in pages[1] and "&lt;img src=x" in pages[1]
    for html in pages:
        assert "<script" not in html and "<img" not in html and "<b>bold" not in html
        assert not re.search(r'(src|href|action)="(https?:)?//', html), "external resource"
        assert "<link" not in html


def test_tokens_round_trip_and_expire_on_the_second() -> None:
    key = b"k" * 32
    claims = bt.BoardClaims("wecom", "zhangsan", 2_000_000_000)
    token = bt.sign(key, "link", claims)
    from datetime import UTC, datetime, timedelta

    before = datetime.fromtimestamp(claims.expires, UTC) - timedelta(seconds=1)
    assert bt.verify(key, "link", token, before) == claims
    for kind, when in (("session", before), ("link", before + timedelta(seconds=1))):
        try:
            bt.verify(key, kind, token, when)  # type: ignore[arg-type]
        except bt.BoardRejected as exc:
            assert exc.reason == ("forged" if kind == "session" else "expired")
        else:
            raise AssertionError(kind)
    assert urlsplit("http://h/board?t=" + token).query == "t=" + token
