"""One order walked end to end through the local adapter, as people would in their chats."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEvent, Order
from tests.conftest import Bot, fingerprint


async def _approval_card(bot: Bot, approver: str) -> dict:
    cards = [m for m in await bot.sent(approver) if m["card"]]
    assert cards, f"no card for {approver}"
    return cards[-1]


async def test_full_walk_to_completed(team: Bot) -> None:
    bot = team
    reply = await bot.text("u1", "/下单 华为 A100×20@600 B200×5@1200 交期12-15 备注 加急", name="张三")
    assert "#1" in reply and "已提交审批" in reply, reply
    assert "新客户「华为」已建档" in reply

    card = await _approval_card(bot, "m1")
    assert card["card"]["title"].startswith("订单审批 #1")
    assert "华为" in card["card"]["body"] and "¥18,000" in card["card"]["body"]
    ok = next(b for b in card["card"]["buttons"] if b["label"] == "通过")
    reply = await bot.press("m1", ok["action"])
    assert "#1 已通过" in reply and "已确认" in reply, reply
    card = await _approval_card(bot, "m1")
    assert card["card"]["closed"] is True and "通过" in card["card"]["title"]
    # the owner is told in the group where the order was made, @mentioned
    assert any("审批通过" in m["text"] for m in await bot.sent("g1"))

    assert "生产中" in await bot.text("p1", "/生产 #1", chat="prod")
    assert "待发货" in await bot.text("p1", "/完工 #1", chat="prod")
    assert any("已完工" in m["text"] for m in await bot.sent("w1"))

    await bot.text("w1", "/入库 A100 100", chat="wh")
    await bot.text("w1", "/入库 B200 10", chat="wh")
    reply = await bot.text("w1", "/发货 #1 A100 8 顺丰 SF1234567890", chat="wh")
    assert "第1批已发货" in reply and "部分发货" in reply, reply
    reply = await bot.text("w1", "/发货 #1", chat="wh")
    assert "第2批已发货" in reply and "已发货待回款" in reply, reply

    assert "待收 ¥8,000" in await bot.text("f1", "/回款 #1 10000 转账", chat="fin")
    reply = await bot.text("f1", "/回款 #1 8000", chat="fin")
    assert "已完成" in reply, reply

    card_text = await bot.text("u1", "/查单 #1")
    assert card_text.startswith("#1 已完成 | 已发 100% · 已收 100% · 交期 12-15"), card_text
    assert "最近记录" in card_text and "回款" in card_text

    order = await bot.api("/orders/1")
    assert order["state"] == "COMPLETED" and order["stage"] is None
    assert order["amount"] == "18000.00" and order["paid_amount"] == "18000.00"
    events = (await bot.api("/orders/1/events"))["items"]
    actions = [e["action"] for e in events]
    assert actions[:3] == ["create", "submit", "approve"]
    assert actions.count("ship") == 2 and actions.count("pay") == 2
    approve = next(e for e in events if e["action"] == "approve")
    assert approve["who"]["user_id"] == "m1" and approve["source"] == "card"


async def test_under_t1_confirms_at_once(team: Bot) -> None:
    reply = await team.text("u1", "/下单 小米 A100×2@300 交期12-15")
    assert "自动确认" in reply
    assert not [m for m in await team.sent("m1") if m["card"]]


async def test_above_t2_needs_manager_then_boss(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×500@300 交期12-15")
    card = await _approval_card(team, "m1")
    ok = next(b for b in card["card"]["buttons"] if b["label"] == "通过")
    reply = await team.press("m1", ok["action"])
    assert "等待老板审批" in reply
    assert not [m for m in await team.sent("b1") if m["card"] and m["card"]["closed"]]
    boss_card = await _approval_card(team, "b1")
    assert "老板" in boss_card["card"]["body"]
    ok = next(b for b in boss_card["card"]["buttons"] if b["label"] == "通过")
    assert "已确认" in await team.press("b1", ok["action"])


async def test_self_approval_refused_and_db_unchanged(team: Bot) -> None:
    await team.text("admin", "/角色 u1 +主管", chat="admin")
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    before = await fingerprint(team.db)
    reply = await team.text("u1", "/审批 #1 通过")
    assert "不能审批自己的订单" in reply
    assert await fingerprint(team.db) == before


async def test_stale_card_press(team: Bot) -> None:
    await team.say("m2", "/帮助", chat="m2", name="孙经理")
    await team.text("admin", "/角色 m2 主管", chat="admin")
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    card_m1 = await _approval_card(team, "m1")
    card_m2 = await _approval_card(team, "m2")
    ok1 = next(b for b in card_m1["card"]["buttons"] if b["label"] == "通过")
    no2 = next(b for b in card_m2["card"]["buttons"] if b["label"] == "驳回")
    assert "已确认" in await team.press("m1", ok1["action"])
    before = await fingerprint(team.db)
    reply = await team.press("m2", no2["action"], text="太贵")
    assert "状态已变化" in reply and "已确认" in reply, reply
    assert await fingerprint(team.db) == before
    # every copy was updated in place
    assert (await _approval_card(team, "m2"))["card"]["closed"] is True


async def test_reject_by_card_asks_reason_then_owner_resubmits(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    card = await _approval_card(team, "m1")
    no = next(b for b in card["card"]["buttons"] if b["label"] == "驳回")
    assert "请直接回复驳回" in await team.press("m1", no["action"])
    reply = await team.text("m1", "价格太低", chat="m1")
    assert "#1 已驳回：价格太低" in reply
    assert any("被驳回" in m["text"] and "价格太低" in m["text"] for m in await team.sent("g1"))
    assert "#1" in await team.text("u1", "/补充 #1 A100×50@320")
    order = await team.api("/orders/1")
    assert order["state"] == "PENDING_APPROVAL" and order["amount"] == "16000.00"


async def test_duplicate_inbound_event_has_one_effect(team: Bot) -> None:
    for _ in range(3):
        await team.say("u1", "/下单 华为 A100×2@300 交期12-15", msg_id="wx-msg-1")
    async with team.db.uow() as uow:
        orders = list((await uow.session.execute(select(Order))).scalars())
        creates = list((await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "create"))).scalars())
    assert len(orders) == 1 and len(creates) == 1


async def test_person_leaving_reassigns_open_orders(team: Bot) -> None:
    from bot.app import DISPATCHER, SENDER
    from bot.events import DirectoryEvent

    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("u1", "/下单 小米 A100×1", chat="g2")
    await team.text("u1", "/下单 腾讯 A100×1@1 交期12-15")
    await team.text("f1", "/回款 #3 1", chat="fin")  # #3 completed? no: not shipped, stays open
    dispatcher = team.app[DISPATCHER]
    await dispatcher.handle(DirectoryEvent("local", "left-u1", "user_left", "u1"))
    for no in (1, 2, 3):
        assert (await team.api(f"/orders/{no}"))["owner"]["user_id"] == "m1"
    await team.app[SENDER].flush()
    assert any("已转给你负责" in m["text"] and "#1" in m["text"] for m in await team.sent("m1"))
    assert any("#2 负责人变更为 王经理" in m["text"] for m in await team.sent("g2"))
    assert any("#1、#3 负责人变更为 王经理" in m["text"] for m in await team.sent("g1"))
    events = (await team.api("/orders/2/events"))["items"]
    assert events[-1]["action"] == "reassign"
    # the same contact event again changes nothing
    assert await dispatcher.handle(DirectoryEvent("local", "left-u1", "user_left", "u1")) is None


async def test_inbox_replays_what_a_crash_left(team: Bot, clock) -> None:  # type: ignore[no-untyped-def]
    """An event recorded but never processed (the process died after the ack) is replayed once at start."""
    from bot.app import DISPATCHER
    from bot.events import Actor, ChatMessage, ChatRef

    dispatcher = team.app[DISPATCHER]
    event = ChatMessage("local", "crash-1", ChatRef("local", "g1"), Actor("local", "u1", "张三"),
                        "/下单 华为 A100×2@300 交期12-15")
    assert await dispatcher.record(event)  # recorded and acked; the work never ran
    assert await dispatcher.recover() == 0  # too young: another instance may still be on it
    clock.advance(minutes=3)
    assert await dispatcher.recover() == 1
    assert await dispatcher.recover() == 0
    assert (await team.api("/orders"))["total"] == 1


async def test_inbox_gives_up_on_events_too_old_to_replay(team: Bot, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.app import DISPATCHER
    from bot.events import Actor, ChatMessage, ChatRef

    dispatcher = team.app[DISPATCHER]
    event = ChatMessage("local", "crash-2", ChatRef("local", "wh"), Actor("local", "w1", "老陈"), "/入库 A100 5")
    assert await dispatcher.record(event)
    clock.advance(hours=2)
    assert await dispatcher.recover() == 0
    async with team.db.uow() as uow:
        from storage.models import InboxEvent

        row = (await uow.session.execute(select(InboxEvent).where(InboxEvent.event_id == "crash-2"))).scalar_one()
    assert row.status == "FAILED"
    assert "没有找到产品" in await team.text("w1", "/库存 A100", chat="wh")  # the old /入库 never ran
