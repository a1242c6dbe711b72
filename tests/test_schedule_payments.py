"""Late payments: the owner hears every working day, the 主管 once the payment is 15 days late, finance
(the dunning list) once it is 30 days late; each escalation once per due date, and none once paid."""

from __future__ import annotations

from decimal import Decimal

from storage.models import Order
from tests.test_schedule_jobs import World, at, world  # noqa: F401  (the fixture)


async def late_world(world: World) -> tuple[int, int]:  # noqa: F811
    m1 = await world.person("m1", "王经理", "manager")
    u1 = await world.person("u1", "张三", "sales", manager=m1)
    await world.person("f1", "财务小周", "finance")
    # shipped in full on 09-10 on 30-day terms: due 10-10, 48 days late on Friday 11-27
    order = await world.order(u1, shipped=10, paid=200, terms="30天", shipped_at=at("2026-09-10", "10:00"), due=None)
    return u1, order


async def test_owner_manager_and_finance_each_hear_of_a_late_payment(world: World) -> None:  # noqa: F811
    await late_world(world)
    world.clock.set(at("2026-11-27", "10:00"))
    await world.jobs().tick()
    [owner] = await world.sent("u1")
    [manager] = await world.sent("m1")
    [finance] = await world.sent("f1")
    assert owner.startswith("💰 #1 回款逾期 48 天（应收日 10-10），待收 ¥800"), owner
    assert manager.startswith("🚨 #1 回款逾期 48 天，待收 ¥800（负责人 张三）"), manager
    assert finance.startswith("📕 催收：#1 客户1 逾期 48 天，待收 ¥800（负责人 张三）"), finance
    assert await world.statuses() == {"SENT": 3}


async def test_escalations_come_once_per_due_date_the_owner_daily(world: World) -> None:  # noqa: F811
    await late_world(world)
    jobs = world.jobs()
    world.clock.set(at("2026-11-27", "10:00"))
    await jobs.tick()
    world.clock.set(at("2026-11-30", "10:00"))  # Monday
    await jobs.tick()
    assert len(await world.sent("u1")) == 2 and (await world.sent("u1"))[1].startswith("💰 #1 回款逾期 51 天")
    assert len(await world.sent("m1")) == 1 and len(await world.sent("f1")) == 1


async def test_between_15_and_30_days_late_no_dunning_yet(world: World) -> None:  # noqa: F811
    m1 = await world.person("m1", "王经理", "manager")
    u1 = await world.person("u1", "张三", "sales", manager=m1)
    await world.person("f1", "财务小周", "finance")
    await world.order(u1, shipped=10, terms="30天", shipped_at=at("2026-10-09", "10:00"), due=None)  # due 11-08
    world.clock.set(at("2026-11-27", "10:00"))  # 19 days late
    await world.jobs().tick()
    assert len(await world.sent("u1")) == 1
    assert (await world.sent("m1"))[0].startswith("🚨 #1 回款逾期 19 天")
    assert await world.sent("f1") == []


async def test_paid_before_delivery_nobody_is_chased(world: World) -> None:  # noqa: F811
    _, order = await late_world(world)
    jobs = world.jobs()
    world.clock.set(at("2026-11-27", "10:00"))
    assert await jobs.plan(world.clock()) == 3
    await world.set(Order, order, paid_amount=Decimal(1000))
    rep = await jobs.deliver(world.clock())
    assert (rep.sent, rep.cancelled) == (0, 3)
    assert await world.sent() == []


async def test_a_changed_due_date_drops_the_old_escalations(world: World) -> None:  # noqa: F811
    _, order = await late_world(world)
    jobs = world.jobs()
    world.clock.set(at("2026-11-27", "10:00"))
    await jobs.plan(world.clock())
    await world.set(Order, order, payment_terms="90天")  # due 12-09 now: not late at all
    rep = await jobs.deliver(world.clock())
    assert rep.sent == 0 and await world.sent() == []


async def test_nobody_is_reminded_after_leaving_nor_of_a_decided_step(world: World) -> None:  # noqa: F811
    from storage.models import Approval, Person

    u1 = await world.person("u1", "张三", "sales")
    await world.person("m1", "王经理", "manager")
    await world.remind(u1, at("2026-11-27", "10:00"), "给华为打电话")
    order = await world.order(u1, state="PENDING_APPROVAL")
    step = await world.approval(order, "manager", at("2026-11-26", "10:00"))
    jobs = world.jobs()
    world.clock.set(at("2026-11-27", "10:00"))
    assert await jobs.plan(world.clock()) >= 1
    await world.set(Person, u1, active=False)  # left the company before the reminder went out
    await world.set(Approval, step, status="APPROVED")  # decided meanwhile
    rep = await jobs.deliver(world.clock())
    assert rep.sent == 0 and rep.cancelled >= 2
    assert await world.sent("u1") == [] and await world.sent("m1") == []
