"""The approvals repository (``uow.approvals``, storage/repos/approvals.py): the queries the approval
handlers and services used to write themselves — steps and their order, change requests, the chats
a card went to, the pressed copy's handle, and the reject-reason question."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from storage.db import Database, UnitOfWork
from storage.models import Approval, ChangeRequest, Order, OutboxMessage, Prompt, SentCard
from storage.services.people import register

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def _order(uow: UnitOfWork, no: int, owner_id: int) -> Order:
    order = Order(no=no, owner_id=owner_id, state="PENDING_APPROVAL", amount=Decimal(100), approval_round=1,
                  due_date=date(2026, 12, 15), origin_platform="local", origin_chat_id="g1", created_at=NOW, lines=[])
    uow.session.add(order)
    await uow.session.flush()
    return order


async def test_steps_orders_and_change_requests(db: Database) -> None:
    async with db.uow() as uow:
        owner = await register(uow, "local", "u1", "u1", tenant="local")
        order = await _order(uow, 7, owner.id)
        change = ChangeRequest(order_id=order.id, status="PENDING", requested_by=owner.id, from_version=1, diff=[],
                               before={}, after={}, created_at=NOW)
        await uow.approvals.add_change(change)
        assert change.id is not None
        steps = [Approval(order_id=order.id, change_request_id=change.id, round=1, step=i, role="manager",
                          status="PENDING" if i == 0 else "WAITING", created_at=NOW) for i in range(2)]
        await uow.approvals.add_steps(steps)
        assert all(s.id is not None for s in steps)
        assert await uow.approvals.order_no_of_step(steps[1].id) == 7
        assert await uow.approvals.order_no_of_step(10**6) is None
        assert await uow.approvals.step_row(steps[0].id) is steps[0]
        assert await uow.approvals.step(steps[0].id, fresh=False) is steps[0]
        assert await uow.approvals.step(10**6) is None
        assert await uow.approvals.order_of(steps[0]) is order
        assert await uow.approvals.change(change.id) is change
        assert await uow.approvals.pending_change(order.id) is change
        assert await uow.approvals.pending_change(order.id + 1) is None
        assert sorted(s.id for s in await uow.approvals.change_steps(change.id)) == sorted(s.id for s in steps)
        change.status = "APPLIED"
        await uow.session.flush()
        assert await uow.approvals.pending_change(order.id) is None


async def test_card_chats_and_the_pressed_copys_handle(db: Database) -> None:
    async with db.uow() as uow:
        for chat, op, key in (("m1", "send", "appr:1"), ("m1", "send", "appr:1"), ("m2", "send", "appr:1"),
                              ("m3", "update", "appr:1"), ("m4", "send", "appr:2")):
            uow.session.add(OutboxMessage(platform="local", chat_id=chat, chat_type="single", op=op, message={},
                                          card_key=key))
        uow.session.add_all([SentCard(card_key="appr:1", platform="local", chat_id=c, ref={"n": 0})
                             for c in ("m1", "m2")])
        await uow.session.flush()
        # every chat a copy was sent to, once each; updates and other cards are not copies
        assert sorted(await uow.approvals.card_chats("appr:1")) == [("local", "m1", "single"),
                                                                     ("local", "m2", "single")]
        assert await uow.approvals.card_chats("appr:9") == []
        await uow.approvals.keep_card_ref("appr:1", "local", "m2", {"n": 5})
        refs = {c.chat_id: c.ref for c in (await uow.session.execute(
            select(SentCard).execution_options(populate_existing=True))).scalars()}
        assert refs == {"m1": {"n": 0}, "m2": {"n": 5}}


@pytest.mark.parametrize(("kind", "age", "expected"), [
    ("reject_reason", timedelta(minutes=-5), True),
    ("reject_reason", timedelta(minutes=11), False),  # expired
    ("other", timedelta(0), False),  # another question
])
async def test_the_reject_reason_question_is_taken_once(db: Database, kind: str, age: timedelta,
                                                        expected: bool) -> None:
    async with db.uow() as uow:
        person = await register(uow, "local", "m1", "m1", tenant="local")
        if kind == "reject_reason":
            await uow.approvals.ask_reason(person.id, "c1", 42, NOW + timedelta(minutes=10) - age - age)
            await uow.approvals.ask_reason(person.id, "c1", 43, NOW + timedelta(minutes=10) - age)  # replaces it
        else:
            uow.session.add(Prompt(person_id=person.id, chat_id="c1", kind=kind, data={}, expires_at=NOW))
        await uow.session.flush()
        assert await uow.approvals.take_reason_prompt(person.id, "c1", NOW) == (43 if expected else None)
        # taken (or dropped as unusable): asking again finds nothing
        assert await uow.approvals.take_reason_prompt(person.id, "c1", NOW) is None


async def test_dropping_questions_in_one_chat_or_everywhere(db: Database) -> None:
    async with db.uow() as uow:
        person = await register(uow, "local", "m1", "m1", tenant="local")
        other = await register(uow, "local", "m2", "m2", tenant="local")
        for who, chat in ((person, "c1"), (person, "c2"), (other, "c1")):
            await uow.approvals.ask_reason(who.id, chat, 1, NOW + timedelta(minutes=10))
        await uow.session.flush()

        async def left() -> set[tuple[int, str]]:
            return {(p.person_id, p.chat_id) for p in (await uow.session.execute(select(Prompt))).scalars()}

        await uow.approvals.drop_prompts(person.id, "c2")
        assert await left() == {(person.id, "c1"), (other.id, "c1")}
        await uow.approvals.drop_prompts(person.id)
        assert await left() == {(other.id, "c1")}
