"""Concurrent changes to one order never both win."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from storage.models import AuditEvent, Order
from tests.conftest import Bot


async def test_concurrent_approve_and_reject_exactly_one_wins(team: Bot) -> None:
    await team.say("m2", "/帮助", chat="m2", name="孙经理")
    await team.text("admin", "/角色 m2 主管", chat="admin")
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    cards = {u: [m for m in await team.sent(u) if m["card"]][-1]["card"] for u in ("m1", "m2")}
    ok = next(b["action"] for b in cards["m1"]["buttons"] if b["label"] == "通过")
    no = next(b["action"] for b in cards["m2"]["buttons"] if b["label"] == "驳回")
    r1, r2 = await asyncio.gather(team.press("m1", ok), team.press("m2", no, text="太贵"))
    async with team.db.uow() as uow:
        order = (await uow.session.execute(select(Order))).scalar_one()
        decisions = list((await uow.session.execute(
            select(AuditEvent.action).where(AuditEvent.action.in_(("approve", "reject"))))).scalars())
    assert len(decisions) == 1
    assert order.state == {"approve": "CONFIRMED", "reject": "REJECTED"}[decisions[0]]
    loser = r2 if decisions[0] == "approve" else r1
    assert "状态已变化" in loser


async def test_many_concurrent_payments_never_exceed_the_amount(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")  # ¥3,000, auto-confirmed
    replies = await asyncio.gather(*(team.text("f1", "/回款 #1 1000", chat="fin") for _ in range(5)))
    assert sum("已记录" in r for r in replies) == 3
    order = await team.api("/orders/1")
    assert order["paid_amount"] == "3000.00"


async def test_optimistic_version_check(bot: Bot) -> None:
    """Two sessions that read the same version: the second write fails (PostgreSQL; SQLite serialises
    whole transactions with BEGIN IMMEDIATE, so the interleaving cannot happen there)."""
    if bot.db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; the interleaving needs PostgreSQL")
    await bot.say("admin", "/角色 admin 销售 管理员", chat="admin")
    await bot.text("admin", "/下单 华为 A100×1@1 交期12-15", chat="admin")
    a, b = bot.db.uow(), bot.db.uow()
    async with a:
        order_a = (await a.session.execute(select(Order))).scalar_one()
        async with b:
            order_b = (await b.session.execute(select(Order))).scalar_one()
            order_b.note = "b"
        order_a.note = "a"
        with pytest.raises(StaleDataError):
            await a.session.flush()
        await a.session.rollback()


async def test_a_step_read_before_the_lock_is_read_again_after_it(team: Bot) -> None:
    """Two 主管 press 通过 together on an order that also needs the 老板: the second must see the
    first decision, not skip the 老板 step (PostgreSQL: SQLite serialises whole transactions)."""
    if team.db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; the interleaving needs PostgreSQL")
    from datetime import UTC, datetime

    from handlers.common import load_order
    from storage.lifecycle import Refused
    from storage.models import Approval, Person
    from storage.services import decisions as svc
    from storage.services.base import Provenance

    await team.say("m2", "/帮助", chat="m2", name="孙经理")
    await team.text("admin", "/角色 m2 主管", chat="admin")
    await team.text("u1", "/下单 华为 A100×500@300 交期12-15")  # 主管 then 老板
    card = [m for m in await team.sent("m1") if m["card"]][-1]["card"]
    ok = next(b["action"] for b in card["buttons"] if b["label"] == "通过")
    approval_id = int(ok.split(":")[1])
    async with team.db.uow() as uow:
        m2 = (await uow.session.execute(select(Person).where(Person.user_id == "m2"))).scalar_one()
        early = await uow.session.get(Approval, approval_id)  # read before any lock
        assert early is not None and early.status == "PENDING"
        assert "等待老板审批" in await team.press("m1", ok)  # m1 decides meanwhile
        order = await load_order(uow, 1)
        step = await uow.approvals.step(approval_id)
        assert step is early and step.status == "APPROVED"  # the same object, refreshed
        prov = Provenance(m2.id, "local", "m2", "孙经理", frozenset({"manager"}), source="card")
        with pytest.raises(Refused) as exc:
            await svc.decide(uow, order, step, prov, True, None, datetime.now(UTC))
        assert exc.value.code == "stale"
    assert (await team.api("/orders/1"))["state"] == "PENDING_APPROVAL"


async def test_newcomers_speaking_at_once_are_all_answered(bot: Bot) -> None:
    """People and a group seen for the first time by concurrent messages are each registered once."""
    replies = await asyncio.gather(*(bot.say(f"n{i}", "/帮助", chat="new-group") for i in range(6)))
    assert all(r and "可用命令" in r[0]["text"] for r in replies)
    async with bot.db.uow() as uow:
        from storage.models import Chat, InboxEvent, Person

        assert len(list((await uow.session.execute(select(Person))).scalars())) == 6
        assert len(list((await uow.session.execute(select(Chat))).scalars())) == 1
        pending = (await uow.session.execute(select(InboxEvent).where(InboxEvent.status != "DONE"))).scalars()
        assert list(pending) == []


async def test_a_reader_never_holds_up_a_command(db) -> None:  # type: ignore[no-untyped-def]
    """Dashboard pages and exports read in a reader unit of work: a command writes meanwhile."""
    from sqlalchemy import text

    async with db.reader() as reader:
        await reader.session.execute(text("SELECT count(*) FROM orders"))
        async with asyncio.timeout(5):
            async with db.uow() as writer:
                await writer.session.execute(text("INSERT INTO kv (key, value) VALUES ('k', 'v')"))
