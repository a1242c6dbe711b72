"""Issue 14, item 15: the web console keeps the person's own lines and scrolls to the newest message;
the dashboard's 谁 column does not wrap a character a line on a phone (checked in a headless
Chromium when one is installed, and on the markup always)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from tests.browser import chromium, phone
from tests.conftest import Bot
from tests.test_board import _open, _page

BROWSER = chromium()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install chromium)")


async def test_console_markup_keeps_own_lines_and_scrolls(bot: Bot) -> None:
    html = await _page(bot, "/console")  # type: ignore[arg-type]
    assert "sessionStorage.setItem(key(w)" in html and "bubble(own[i].text,'me')" in html
    assert "drawn={key:key(w),count:j.messages.length};bottom()}" in html  # every redraw ends at the newest


async def test_order_page_markup_keeps_who_on_one_line(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await _open(team, "m1")
    html = await _page(team, "/board/orders/1")
    assert re.search(r'<td class="who">张三</td>', html), html
    assert "td.who,td.when{white-space:nowrap}" in html


@needs_browser
async def test_console_in_a_browser(team: Bot) -> None:
    assert BROWSER is not None
    url = str(team.client.make_url("/console?user=u1&name=%E5%BC%A0%E4%B8%89&chat=g1"))
    async with phone(BROWSER) as page:
        await page.open(url)
        for n, text in enumerate(("/帮助", "/下单 华为 A100×10@300 交期12-15", "/查单 #1"), 1):
            await page.js(f"document.getElementById('text').value={json.dumps(text)}; send()")
            # the reply arrived and the redraw is done: as many bot messages as lines sent, and more
            await page.until(f"document.querySelectorAll('#log .me').length === {n} && "
                             f"document.querySelectorAll('#log .bot').length >= {n} && "
                             f"!document.getElementById('log').lastElementChild.classList.contains('me')")
        bubbles = await page.js("[...document.querySelectorAll('#log .m')].map(d => [d.className, d.textContent])")
        mine = [text for cls, text in bubbles if "me" in cls.split()]
        assert mine == ["/帮助", "/下单 华为 A100×10@300 交期12-15", "/查单 #1"]
        # each own line sits just before the bot's answer to it
        order = [i for i, (cls, _) in enumerate(bubbles) if "me" in cls.split()]
        assert all("bot" in bubbles[i + 1][0] for i in order), bubbles
        assert bubbles[order[2] + 1][1].startswith("#1 已确认"), bubbles
        scroll = await page.js("(l => [l.scrollTop, l.clientHeight, l.scrollHeight])(document.getElementById('log'))")
        top, height, total = scroll
        assert total > height, scroll  # the help alone is longer than the screen
        assert top + height >= total - 2, scroll  # at the newest message
        # a reload (or the 刷新 button) keeps them too
        await page.open(url)
        await page.until("document.querySelectorAll('#log .me').length === 3")


@needs_browser
async def test_who_column_on_a_phone(team: Bot, tmp_path: Path) -> None:
    assert BROWSER is not None
    await team.text("u1", "/下单 华为 A100×10@300 B200×5@1200 交期12-15 备注 加急，客户要求分两批发货并附质检报告")
    await team.text("m1", "/审批 #1 通过", chat="m1")
    await team.text("u1", "/跟进 #1 客户确认下周付款，财务请留意到账情况，到账后通知仓库尽快安排第二批发货")
    reply = await team.text("m1", "/看板", chat="m1")
    link = re.search(r"https?://\S+?(/board\?t=[A-Za-z0-9_.-]+)", reply)
    assert link, reply
    async with phone(BROWSER) as page:
        await page.open(str(team.client.make_url(link[1])))
        await page.open(str(team.client.make_url("/board/orders/1")))
        await page.until("document.querySelectorAll('tr.event').length >= 3")
        # the line boxes of each name's text: one per line it is laid out on
        rows = await page.js("""[...document.querySelectorAll('tr.event td.who')].map(who => {
            const range = document.createRange(); range.selectNodeContents(who);
            return [who.textContent, new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
        })""")
        assert rows and all(lines == 1 for _, lines in rows), rows
        shot = await page.send("Page.captureScreenshot", format="png")
        (tmp_path / "order-phone.png").write_bytes(base64.b64decode(shot["data"]))
