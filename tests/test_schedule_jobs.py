"""The scheduler's jobs against a real database (SQLite, and PostgreSQL when configured) with a test clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from schedules import reminder_delivery as delivery_mod
from schedules.jobs import Jobs
from schedules.listing import upcoming
from storage.db import Database
from storage.models import (
    Approval,
    Chat,
    ChatSubscription,
    Customer,
    Order,
    OrderLine,
    OutboxMessage,
    Person,
    PersonRole,
    Reminder,
    Shipment,
    Ticket,
)
from tests.conftest import Clock, make_settings

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), TZ)


class World:
    """Seeds rows directly (the rules only read them) and reads the outbox back."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.next_no = 1

    def jobs(self, db: Database | None = None, **settings: Any) -> Jobs:
        return Jobs(db or self.db, make_settings(self.db.url, **settings), self.clock)

    async def person(self, user: str, name: str, *roles: str, manager: int | None = None) -> int:
        async with self.db.uow() as uow:
            p = Person(platform="local", user_id=user, name=name, manager_id=manager,
                       roles=[PersonRole(role=r) for r in roles])
            uow.session.add(p)
            await uow.session.flush()
            return p.id

    async def order(self, owner: int, *, state: str = "CONFIRMED", due: date | None = date(2026, 12, 2),
                    qty: int = 10, shipped: int = 0, price: int = 100, paid: int = 0, terms: str | None = None,
                    confirmed_at: datetime | None = None, shipped_at: datetime | None = None,
                    chat: str = "g1") -> int:
        async with self.db.uow() as uow:
            cust = Customer(name=f"客户{self.next_no}")
            uow.session.add(cust)
            await uow.session.flush()
            o = Order(no=self.next_no, customer_id=cust.id, owner_id=owner, state=state, due_date=due,
                      payment_terms=terms, amount=Decimal(qty * price), paid_amount=Decimal(paid),
                      origin_platform="local", origin_chat_id=chat, origin_chat_type="group",
                      confirmed_at=confirmed_at or self.clock(), created_at=self.clock(), updated_at=self.clock(),
                      lines=[OrderLine(line_no=1, sku="A100", qty=Decimal(qty), unit_price=Decimal(price),
                                       shipped_qty=Decimal(shipped))])
            self.next_no += 1
            uow.session.add(o)
            await uow.session.flush()
            if shipped:
                uow.session.add(Shipment(order_id=o.id, seq=1, amount=Decimal(shipped * price), shipped_by=owner,
                                         shipped_at=shipped_at or self.clock()))
            return o.id

    async def approval(self, order_id: int, role: str, activated_at: datetime) -> int:
        async with self.db.uow() as uow:
            a = Approval(order_id=order_id, round=1, step=0, role=role, status="PENDING", activated_at=activated_at)
            uow.session.add(a)
            await uow.session.flush()
            return a.id

    async def remind(self, person: int, due_at: datetime, text: str, *, by: int | None = None,
                     order_id: int | None = None) -> int:
        async with self.db.uow() as uow:
            r = Reminder(kind="custom", due_at=due_at, person_id=person, order_id=order_id, text=text,
                         created_by=person if by is None else by, created_at=self.clock())
            uow.session.add(r)
            await uow.session.flush()
            return r.id

    async def set(self, model: Any, row_id: int, **values: Any) -> None:
        async with self.db.uow() as uow:
            await uow.session.execute(update(model).where(model.id == row_id).values(**values)
                                      .execution_options(synchronize_session=False))

    async def sent(self, chat: str | None = None, prefix: str = "remind:") -> list[str]:
        async with self.db.uow() as uow:
            stmt = select(OutboxMessage).where(OutboxMessage.event_key.like(prefix + "%")).order_by(OutboxMessage.id)
            rows = list((await uow.session.execute(stmt)).scalars())
        return [r.message["text"] for r in rows if chat is None or r.chat_id == chat]

    async def statuses(self) -> dict[str, int]:
        async with self.db.uow() as uow:
            rows = await uow.session.execute(select(Reminder.status, func.count()).group_by(Reminder.status))
            return {s: int(n) for s, n in rows}


@pytest.fixture
async def world(db: Database, clock: Clock) -> World:
    return World(db, clock)


async def test_custom_reminder_fires_once_at_its_time(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.remind(u1, at("2026-11-27", "15:30"), "给华为打电话")
    jobs = world.jobs()
    world.clock.set(at("2026-11-27", "15:29"))
    assert (await jobs.tick()).messages == 0
    world.clock.set(at("2026-11-27", "15:30"))
    assert (await jobs.tick()).messages == 1
    world.clock.advance(minutes=1)
    assert (await jobs.tick()).messages == 0
    assert await world.sent("u1") == ["⏰ 提醒：给华为打电话"]
    assert await world.statuses() == {"SENT": 1}


async def test_quiet_hours_hold_automatic_reminders_but_not_my_own(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    m1 = await world.person("m1", "王经理", "manager")
    await world.remind(u1, at("2026-11-27", "22:00"), "我自己定的", by=u1)
    await world.remind(u1, at("2026-11-27", "22:00"), "主管帮我定的", by=m1)
    jobs = world.jobs()
    world.clock.set(at("2026-11-27", "22:00"))
    await jobs.tick()
    assert await world.sent("u1") == ["⏰ 提醒：我自己定的"]
    world.clock.set(at("2026-11-28", "07:59"))
    await jobs.tick()
    assert len(await world.sent("u1")) == 1
    world.clock.set(at("2026-11-28", "08:00"))  # quiet hours end: the held one goes out
    await jobs.tick()
    assert await world.sent("u1") == ["⏰ 提醒：我自己定的", "⏰ 提醒：主管帮我定的"]


async def test_approval_reminder_then_escalation(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.person("m1", "王经理", "manager")
    await world.person("b1", "赵总", "boss")
    order = await world.order(u1, state="PENDING_APPROVAL")
    await world.approval(order, "manager", at("2026-11-30", "09:00"))
    jobs = world.jobs()
    world.clock.set(at("2026-11-30", "12:59"))
    await jobs.tick()
    assert await world.sent() == []
    world.clock.set(at("2026-11-30", "13:00"))
    await jobs.tick()
    [line] = await world.sent("m1")
    assert line.startswith("⏳ #1 待你审批（主管），已等待 4 个工作小时")
    world.clock.set(at("2026-12-01", "13:00"))  # the next working day, 28 h later: the boss too
    await jobs.tick()
    assert len(await world.sent("m1")) == 2
    [escalated] = await world.sent("b1")
    assert escalated.startswith("🚨 #1 待主管审批已超过 24 小时")
    assert await world.statuses() == {"SENT": 3}  # the two reminders and the escalation, each once


async def test_reminder_cancelled_when_the_order_moves_on(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.person("w1", "仓库老陈", "warehouse")
    shipped_soon = await world.order(u1, due=date(2026, 12, 2))
    paid_soon = await world.order(u1, due=date(2026, 12, 2), shipped=10, terms="款到发货",
                                  confirmed_at=at("2026-11-20", "10:00"))
    cancelled = await world.order(u1, due=None)
    await world.remind(u1, at("2026-11-30", "09:00"), "催发货", order_id=cancelled)
    jobs = world.jobs()
    world.clock.set(at("2026-11-30", "09:00"))
    assert await jobs.plan(world.clock()) == 3  # due soon ×2 (owner + warehouse), payment overdue ×1
    # before the reminders go out, the goods ship, the money arrives and an order is cancelled
    async with world.db.uow() as uow:
        await uow.session.execute(update(OrderLine).where(OrderLine.order_id == shipped_soon)
                                  .values(shipped_qty=Decimal(10)))
    await world.set(Order, paid_soon, paid_amount=Decimal(1000))
    await world.set(Order, cancelled, state="CANCELLED")
    rep = await jobs.deliver(world.clock())
    assert (rep.sent, rep.cancelled, rep.messages) == (0, 4, 0)
    assert await world.sent() == [] and await world.statuses() == {"CANCELLED": 4}
    await jobs.tick()  # nothing comes back
    assert await world.sent() == []


async def test_overdue_delivery_goes_to_the_orders_group_with_the_owner_mentioned(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.person("m1", "王经理", "manager")
    await world.order(u1, due=date(2026, 11, 25), chat="g-sales")
    world.clock.set(at("2026-11-27", "09:00"))
    await world.jobs().tick()
    [line] = await world.sent("g-sales")
    assert line == "⚠️ #1 交期 11-25 已过 2 天，尚未发完｜客户1。@张三 请跟进"
    async with world.db.uow() as uow:
        row = (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.chat_id == "g-sales"))).scalar_one()
    assert row.chat_type == "group" and row.message["mentions"][0]["user_id"] == "u1"
    world.clock.set(at("2026-12-02", "09:00"))  # 7 days late: the 主管 hears about it, the group not again
    await world.jobs().tick()
    assert len(await world.sent("g-sales")) == 1
    assert (await world.sent("m1"))[0].startswith("🚨 #1 交期 11-25 已逾期 7 天（负责人 张三）")


async def test_restart_in_the_middle_sends_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    u1 = await world.person("u1", "张三", "sales")
    for i in range(3):
        await world.remind(u1, at("2026-11-27", "10:00"), f"R{i}")
    first = world.jobs()
    world.clock.set(at("2026-11-27", "10:00"))

    def crash(*_: object) -> None:
        raise RuntimeError("power cut while writing the outbox")

    monkeypatch.setattr(delivery_mod.Outbox, "write", crash)
    with pytest.raises(RuntimeError):
        await first.tick()
    monkeypatch.undo()
    assert await world.sent() == [] and await world.statuses() == {"PENDING": 3}  # nothing half-done
    restarted = world.jobs()  # a new process: no memory of the first
    await restarted.tick()
    await restarted.tick()
    assert await world.sent("u1") == ["⏰ 3 条提醒\n· ⏰ 提醒：R0\n· ⏰ 提醒：R1\n· ⏰ 提醒：R2"]


async def test_catch_up_after_three_days_down_one_message_per_person(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.person("m1", "王经理", "manager")
    await world.person("f1", "财务小周", "finance")
    world.clock.set(at("2026-11-27", "10:00"))
    jobs = world.jobs()
    await jobs.tick()
    for hours in range(0, 72, 4):  # 18 custom reminders during the outage
        await world.remind(u1, at("2026-11-27", "11:00") + timedelta(hours=hours), f"R{hours}")
    for _ in range(5):  # shipped a month ago on 30-day terms: payment overdue
        await world.order(u1, shipped=10, terms="30天", shipped_at=at("2026-10-20", "10:00"), due=None)
    step_order = await world.order(u1, state="PENDING_APPROVAL")
    await world.approval(step_order, "manager", at("2026-11-27", "11:00"))
    world.clock.set(at("2026-11-30", "10:00"))  # back on Monday
    await jobs.tick()
    by_chat = {chat: await world.sent(chat) for chat in ("u1", "m1", "f1")}
    assert len(by_chat["u1"]) == 1 and len(by_chat["m1"]) == 1 and by_chat["f1"] == []
    assert by_chat["u1"][0].startswith("⏰ 23 条提醒") and by_chat["u1"][0].count("回款逾期") == 5
    assert by_chat["m1"][0].startswith("⏳ #6 待你审批")
    assert len(await world.sent("u1", prefix="digest:")) == 1  # and Monday's digest, once
    assert (await world.statuses()) == {"SENT": 24}
    await jobs.tick()
    assert len(await world.sent()) == 2


async def test_daily_digest_once_per_working_day(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.person("m1", "王经理", "manager")
    await world.person("w1", "仓库老陈", "warehouse")
    await world.order(u1, due=date(2026, 11, 30))
    late = await world.order(u1, due=date(2026, 11, 20))
    pending = await world.order(u1, state="PENDING_APPROVAL")
    await world.approval(pending, "manager", at("2026-11-27", "10:00"))
    jobs = world.jobs()
    world.clock.set(at("2026-11-30", "08:59"))
    assert await jobs.digest(world.clock()) == 0
    world.clock.set(at("2026-11-30", "09:00"))
    assert await jobs.digest(world.clock()) == 3
    assert await jobs.digest(world.clock()) == 0
    [mine] = await world.sent("u1", prefix="digest:")
    assert "我的逾期（1）\n  #2 交期逾期 10 天｜客户2" in mine and "今日交货（1）\n  #1 客户1" in mine
    [boss] = await world.sent("m1", prefix="digest:")
    assert "待我审批（1）\n  #3 客户3 ¥1,000" in boss
    [wh] = await world.sent("w1", prefix="digest:")
    assert "#1 客户1（张三）" in wh
    await world.set(Order, late, state="ON_HOLD")
    world.clock.set(at("2026-12-05", "10:00"))  # Saturday: no digest
    assert await jobs.digest(world.clock()) == 0


async def test_weekly_report_to_subscribed_groups_once(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    async with world.db.uow() as uow:
        uow.session.add(Chat(platform="local", chat_id="g-boss", chat_type="group",
                             subscriptions=[ChatSubscription(topic="日报")]))
    await world.order(u1, confirmed_at=at("2026-11-25", "10:00"), shipped=4, shipped_at=at("2026-11-26", "10:00"))
    jobs = world.jobs()
    world.clock.set(at("2026-11-30", "08:59"))
    assert await jobs.weekly(world.clock()) == 0
    world.clock.set(at("2026-11-30", "09:00"))
    assert await jobs.weekly(world.clock()) == 1
    world.clock.set(at("2026-12-02", "15:00"))
    assert await jobs.weekly(world.clock()) == 0
    [text] = await world.sent("g-boss", prefix="weekly:")
    assert text.startswith("📊 上周周报（11-23 ~ 11-29）\n销售 ¥1,000（1 单）｜发货 ¥400｜回款 ¥0")
    assert "张三" in text


async def test_visit_reminder_to_service(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.person("s1", "客服小吴", "service")
    order = await world.order(u1, shipped=10)
    async with world.db.uow() as uow:
        uow.session.add(Ticket(no=4, order_id=order, text="坏点", status="RESOLVED", opened_by=u1,
                               resolved_at=at("2026-11-24", "10:00")))
    world.clock.set(at("2026-11-27", "10:00"))
    await world.jobs().tick()
    assert await world.sent("s1") == ["📞 售后 T4（#1）已解决 3 天，请回访客户并记录：/跟进 #1 回访情况"]


async def test_upcoming_lists_jobs_and_pending_reminders(world: World) -> None:
    u1 = await world.person("u1", "张三", "sales")
    await world.remind(u1, at("2026-11-28", "10:00"), "周六也提醒我")
    lines = await upcoming(world.db, make_settings(world.db.url), at("2026-11-27", "10:00"))
    assert lines[1].startswith("2026-11-30 09:00  daily-digest")
    assert lines[2].startswith("2026-11-30 09:00  weekly-report")
    assert lines[3] == "2026-11-28 10:00  custom        local:u1 张三  周六也提醒我"
    assert lines[4] == "1 pending reminder(s)"
    assert lines[-1] == "0 planned reminder(s)"
