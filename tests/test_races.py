"""Real races, forced to interleave: the loser of a race gets a reply that says which race it lost.

* An approval pressed while another decision is being made: the loser waits for the order's lock,
  then finds the step decided and gets the *stale* reply (「这一步已处理」 with the state now).
* Two writers inserting the same new row at once (PostgreSQL, READ COMMITTED: both saw the name free):
  the database refuses the second, the dispatcher's conflict branch answers 「刚有人同时提交了相同的内容」, and
  nothing of the loser's is written.

On PostgreSQL a barrier holds each racer at the point that makes the race real (both inside their
transactions, neither past the critical read); SQLite serialises whole transactions with
BEGIN IMMEDIATE, so there the same commands run one after the other and the barrier is left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.texts import shared_replies as texts
from storage.models import AuditEvent, Customer, InboxEvent, Order, OutboxMessage
from tests.conftest import Bot

CONFLICT = texts.conflict()
DUPLICATE = texts.conflict("duplicate")


def hold_until_both_arrive(monkeypatch: pytest.MonkeyPatch, target: Any, name: str) -> list[int]:
    """Wrap ``target.name`` so that the first two calls wait for each other (30 s at most); returns a
    list that counts the calls that went through the barrier."""
    barrier = asyncio.Barrier(2)
    real: Callable[..., Awaitable[Any]] = getattr(target, name)
    passed: list[int] = []

    async def held(*args: Any, **kwargs: Any) -> Any:
        if len(passed) < 2:
            passed.append(1)
            async with asyncio.timeout(30):
                await barrier.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(target, name, held)
    return passed


async def test_approve_and_reject_race_loser_gets_the_stale_reply(team: Bot, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    await team.say("m2", "/帮助", chat="m2", name="孙经理")
    await team.text("admin", "/角色 m2 主管", chat="admin")
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    cards = {u: [m for m in await team.sent(u) if m["card"]][-1]["card"] for u in ("m1", "m2")}
    ok = next(b["action"] for b in cards["m1"]["buttons"] if b["label"] == "通过")
    no = next(b["action"] for b in cards["m2"]["buttons"] if b["label"] == "驳回")
    passed: list[int] = []
    if team.db.dialect == "postgresql":
        import handlers.approval_commands

        # both presses have found the order behind their step before either takes its lock
        passed = hold_until_both_arrive(monkeypatch, handlers.approval_commands, "load_order")
    r1, r2 = await asyncio.gather(team.press("m1", ok), team.press("m2", no, text="太贵"))
    assert len(passed) == (2 if team.db.dialect == "postgresql" else 0)
    async with team.db.uow() as uow:
        order = (await uow.session.execute(select(Order))).scalar_one()
        decisions = list((await uow.session.execute(
            select(AuditEvent.action).where(AuditEvent.action.in_(("approve", "reject"))))).scalars())
    assert len(decisions) == 1
    state = {"approve": "CONFIRMED", "reject": "REJECTED"}[decisions[0]]
    assert order.state == state
    winner, loser = (r1, r2) if decisions[0] == "approve" else (r2, r1)
    assert "状态已变化" not in winner
    assert loser == texts.unchanged(texts.refused("stale", {"state": state}, 1))
    assert loser != CONFLICT and "这一步已处理" in loser


async def test_racing_inserts_the_loser_gets_the_conflict_reply_and_writes_nothing(
        team: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two salespeople add the same new customer at the same moment."""
    if team.db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: the second sees the first's customer")
    from storage.services import catalog

    async with team.db.uow() as uow:
        inbox_before = (await uow.session.execute(select(func.count()).select_from(InboxEvent))).scalar_one()
    passed = hold_until_both_arrive(monkeypatch, catalog, "add_customer")  # both saw the name free
    r1, r2 = await asyncio.gather(team.text("u1", "/客户 新增 新客户甲 张三", chat="u1"),
                                  team.text("u2", "/客户 新增 新客户甲 李四", chat="u2"))
    assert len(passed) == 2
    assert sorted([r1, r2]) == sorted(["已新增客户「新客户甲」。", DUPLICATE])
    winner = "u1" if r1 != DUPLICATE else "u2"
    async with team.db.uow() as uow:
        customers = list((await uow.session.execute(select(Customer))).scalars())
        added = list((await uow.session.execute(
            select(AuditEvent).where(AuditEvent.action == "customer_add"))).scalars())
        inbox = list((await uow.session.execute(select(InboxEvent.status))).scalars())
        replies = list((await uow.session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.message).where(OutboxMessage.chat_id.in_(("u1", "u2")))
        )).all())
    assert [(c.name, c.contact) for c in customers] == [("新客户甲", {"u1": "张三", "u2": "李四"}[winner])]
    assert len(added) == 1
    assert len(inbox) == inbox_before + 2 and set(inbox) == {"DONE"}  # the loser's event is settled too
    assert sorted(m["text"] for _, m in replies if m["text"] in (DUPLICATE, "已新增客户「新客户甲」。")) == \
        sorted([r1, r2])
