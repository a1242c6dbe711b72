"""Reminders for orders made through the local adapter, delivered by the app's own outbox sender."""

from __future__ import annotations

from bot.app import SENDER, SETTINGS
from schedules.jobs import Jobs
from tests.conftest import Bot, Clock


async def _waiting(bot: Bot, user: str) -> list[str]:
    return [m["text"] for m in await bot.sent(user) if m["text"].startswith("⏳")]


async def _tick(bot: Bot, clock: Clock) -> None:
    await Jobs(bot.db, bot.app[SETTINGS], clock).tick()
    await bot.app[SENDER].flush()


async def test_approval_reminder_stops_once_approved(team: Bot, clock: Clock) -> None:
    bot = team
    assert "已提交审批" in await bot.text("u1", "/下单 华为 A100×20@600 交期12-15")  # Friday 10:00
    clock.advance(hours=3, minutes=59)
    await _tick(bot, clock)  # the first tick also sends today's digest (the server just "started")
    assert await _waiting(bot, "m1") == []
    clock.advance(minutes=1)
    await _tick(bot, clock)
    [reminder] = await _waiting(bot, "m1")
    assert reminder.startswith("⏳ #1 待你审批（主管），已等待 4 个工作小时｜华为 ¥12,000"), reminder
    card = next(m for m in await bot.sent("m1") if m["card"])
    ok = next(b for b in card["card"]["buttons"] if b["label"] == "通过")
    assert "已通过" in await bot.press("m1", ok["action"])
    clock.advance(days=3)  # Monday 14:00: the next occurrence would be due, but the reason is gone
    await _tick(bot, clock)
    assert len(await _waiting(bot, "m1")) == 1


async def test_custom_reminder_set_in_a_group_arrives_one_to_one(team: Bot, clock: Clock) -> None:
    bot = team
    reply = await bot.text("u1", "/提醒 30分钟后 给华为打电话")
    assert "2026-11-27 10:30" in reply, reply
    clock.advance(minutes=29)
    await _tick(bot, clock)
    assert not [m for m in await bot.sent("u1") if "给华为打电话" in m["text"]]
    clock.advance(minutes=1)
    await _tick(bot, clock)
    assert [m["text"] for m in await bot.sent("u1") if "给华为打电话" in m["text"]] == ["⏰ 提醒：给华为打电话"]


async def test_reminder_for_an_orders_owner_is_dropped_when_the_order_is_cancelled(team: Bot, clock: Clock) -> None:
    bot = team
    await bot.text("u1", "/下单 小米 A100×2@300 交期12-15")  # under T1: confirmed at once
    assert "#1 的负责人" in await bot.text("m1", "/提醒 #1 明天上午10点 催小米付款", chat="m1")
    assert "已作废" in await bot.text("m1", "/作废 #1 客户取消", chat="m1")
    clock.advance(days=1)
    await _tick(bot, clock)
    assert not [m for m in await bot.sent("u1") if "催小米付款" in m["text"]]
