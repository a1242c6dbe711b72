"""Issue 14, item 14: ``gendan chat`` shows waiting cards at start, numbers buttons, has /看板 and /对账 links."""

from __future__ import annotations

import io

from bot.app import build_core, wire_links
from bot.local import PLATFORM, LocalTransport
from bot.sender import OutboxSender
from bot.terminal_chat import TerminalChat
from storage.db import Database
from tests.conftest import Clock, make_settings


class Terminal:
    """One ``gendan chat`` session; ``said`` is what it printed since the last look."""

    def __init__(self, db: Database, clock: Clock, user: str, name: str, chat: str = "") -> None:
        settings = make_settings(db.url, public_url="https://gendan.example.com")
        _, dispatcher = build_core(settings, clock, db=db)
        wire_links(dispatcher, db, settings)
        sender = OutboxSender(db, {PLATFORM: LocalTransport(db)}, dispatcher.texts, clock=clock)
        self.out = io.StringIO()
        self.session = TerminalChat(db, dispatcher, sender, self.out, user, name, chat)
        self._read = 0

    def said(self) -> str:
        text = self.out.getvalue()[self._read:]
        self._read = len(self.out.getvalue())
        return text

    async def type(self, line: str) -> str:
        await self.session.line(line)
        return self.said()


async def terminal(db: Database, clock: Clock, user: str, name: str, chat: str = "") -> Terminal:
    t = Terminal(db, clock, user, name, chat)
    await t.session.start()
    return t


async def test_waiting_cards_numbered_buttons_and_links(db: Database, clock: Clock) -> None:
    admin = await terminal(db, clock, "admin", "管理员")
    assert "主管" in await admin.type("/角色 local:m1 主管")
    assert "财务" in await admin.type("/角色 local:f1 财务")
    sales = await terminal(db, clock, "u1", "张三", "g1")
    assert "已提交审批" in await sales.type("/下单 华为 A100×40@300 交期12-15")
    assert "已提交审批" in await sales.type("/下单 华为 A100×50@300 交期12-16")
    # the 主管 opens the terminal later: both cards are waiting, their buttons numbered
    manager = await terminal(db, clock, "m1", "王经理", "g1")
    start = manager.said().splitlines()
    assert start[1] == "2 card(s) waiting:"
    assert "   [1 通过] press 1   (ap:1:ok)" in start and "   [2 驳回] press 2   (ap:1:no)" in start
    assert "   [3 通过] press 3   (ap:2:ok)" in start
    assert start[2].startswith("🤖 (1:1) 订单审批 #1 ¥12,000"), start
    # press by number; the card's update shows the outcome
    said = await manager.type("press 1")
    assert "#1 已通过，当前状态「已确认」。" in said, said
    # the old form still works
    assert "#2 已通过" in await manager.type("press ap:2:ok")
    assert (await manager.type("press 9")).startswith("no button 9")
    # /看板 in the group: the notice in the group, the link 1:1, both shown
    said = await manager.type("/看板")
    assert "\n🤖 (1:1) " in said and "https://gendan.example.com/board?t=" in said, said
    finance = await terminal(db, clock, "f1", "财务小周", "g1")
    said = await finance.type("/对账 华为 11月")
    assert "https://gendan.example.com/statements/1.xlsx?from=2026-11-01&to=2026-11-27&t=" in said, said


async def test_notifications_to_the_chat_appear(db: Database, clock: Clock) -> None:
    admin = await terminal(db, clock, "admin", "管理员")
    await admin.type("/角色 local:w1 仓库")
    sales = await terminal(db, clock, "u1", "张三", "g1")
    assert "已自动确认" in await sales.type("/下单 华为 A100×10@300 交期12-15")
    warehouse = await terminal(db, clock, "w1", "老陈", "wh")
    assert "第1批已发货" in await warehouse.type("/发货 #1")
    await sales.session.show_new()
    said = sales.said()
    assert "🚚 #1 第1批发货" in said and "(1:1) ⚠️ #1 付款方式是「款到发货」" in said, said
