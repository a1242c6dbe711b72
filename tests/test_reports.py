"""/报表 and /对账 add up exactly."""

from __future__ import annotations

from tests.conftest import Bot


async def _sell(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300.10 交期12-15")  # ¥3,001
    await team.text("u2", "/下单 小米 B200×3@0.10 交期12-15")  # ¥0.30
    await team.text("w1", "/发货 #1 A100 4", chat="wh")  # ¥1,200.40
    await team.text("w1", "/发货 #2", chat="wh")
    await team.text("f1", "/回款 #1 1000.10", chat="fin")
    await team.text("f1", "/回款 #2 0.20", chat="fin")


async def test_weekly_report_totals_and_people(team: Bot) -> None:
    await _sell(team)
    reply = await team.text("m1", "/报表 本周", chat="m1")
    assert "成交 2 单 ¥3,001.30" in reply, reply
    assert "发货 ¥1,200.70" in reply and "回款 ¥1,000.30" in reply
    assert "· 张三：成交 1 单 ¥3,001，发货 ¥1,200.40，回款 ¥1,000.10" in reply
    assert "没有权限" in await team.text("u1", "/报表")


async def test_statement_balances(team: Bot) -> None:
    await _sell(team)
    reply = await team.text("f1", "/对账 华为 本月", chat="fin")
    assert "期初应收 ¥0｜本期发货 ¥1,200.40｜本期回款 ¥1,000.10｜期末应收 ¥200.30" in reply, reply
    assert "发货 #1 第1批 ¥1,200.40" in reply and "回款 #1 ¥1,000.10" in reply
