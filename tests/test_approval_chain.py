"""The approval chain at the service level (storage/services/approvals.py, decisions.py, the approvals repository):
exposure and credit, floor prices, storing a round, deciding a step, stale presses. Fast (one SQLite
file per test, no app), so that mutation testing can run it for every mutant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from storage import approval_chain, lifecycle
from storage.db import Database, UnitOfWork
from storage.domain_events import ApprovalNeeded, Approved, Rejected, StepApproved
from storage.models import Approval, AuditEvent, ChangeRequest, Customer, Order, OrderLine
from storage.services import approvals as svc
from storage.services import decisions
from storage.services.base import Provenance, Rules
from storage.services.people import register
from storage.vocab import Role

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
RULES = Rules(Decimal(10000), Decimal(100000))
D = Decimal


@dataclass
class World:
    db: Database
    people: dict[str, int]
    customer_id: int

    def prov(self, who: str, *roles: str) -> Provenance:
        return Provenance(self.people[who], "local", who, who, frozenset(roles))

    async def order(self, uow: UnitOfWork, amount: str, *, state: str = "PENDING_APPROVAL", paid: str = "0",
                    written_off: str = "0", price: str | None = None, floor: str | None = None,
                    customer: bool = True, approval_round: int = 1, no: int | None = None) -> Order:
        count = len(list((await uow.session.execute(select(Order.id))).scalars()))
        unit = D(price) if price is not None else D(amount)
        order = Order(no=no or count + 1, customer_id=self.customer_id if customer else None,
                      owner_id=self.people["u1"], state=state, amount=D(amount), paid_amount=D(paid),
                      written_off=D(written_off), approval_round=approval_round, due_date=date(2026, 12, 15),
                      origin_platform="local", origin_chat_id="g1", created_at=NOW,
                      lines=[OrderLine(line_no=1, sku="A100", qty=D(1), unit_price=unit,
                                       floor_price=D(floor) if floor is not None else None)])
        uow.session.add(order)
        await uow.session.flush()
        await uow.session.refresh(order, ["customer", "lines"])
        return order


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    async with db.uow() as uow:
        ids = {}
        for who in ("u1", "m1", "m2", "b1"):
            ids[who] = (await register(uow, "local", who, who, tenant="local")).id
        customer = Customer(name="华为", credit_limit=D(50000))
        uow.session.add(customer)
        await uow.session.flush()
        customer_id = customer.id
    yield World(db, ids, customer_id)


async def test_exposure_counts_open_orders_net_of_payments_and_write_offs(world: World) -> None:
    async with world.db.uow() as uow:
        a = await world.order(uow, "1000", state="CONFIRMED", paid="300", written_off="100")  # owes 600
        await world.order(uow, "2000", state="ON_HOLD")  # 2000
        await world.order(uow, "4000", state="PENDING_APPROVAL")  # 4000
        for state in ("DRAFT", "REJECTED", "COMPLETED", "CLOSED", "CANCELLED"):
            await world.order(uow, "100000", state=state)  # none of these count
        assert await uow.approvals.customer_exposure(world.customer_id, None) == D("6600.00")
        assert await uow.approvals.customer_exposure(world.customer_id, a.id) == D("6000.00")
        assert await uow.approvals.customer_exposure(world.customer_id + 1, None) == D("0")


async def test_chain_thresholds_floor_and_credit(world: World) -> None:
    async with world.db.uow() as uow:
        small = await world.order(uow, "9999.99")
        assert await svc.chain_for(uow, small, RULES) == []
        at_t1 = await world.order(uow, "10000")
        assert [(s.role, s.reasons) for s in await svc.chain_for(uow, at_t1, RULES)] == \
            [(Role.MANAGER, ("amount_t1",))]
        below = await world.order(uow, "500", price="500", floor="500.01")
        assert [(s.role, s.reasons) for s in await svc.chain_for(uow, below, RULES)] == \
            [(Role.MANAGER, ("below_floor",))]
        at_floor = await world.order(uow, "500", price="500", floor="500")
        assert await svc.chain_for(uow, at_floor, RULES) == []
        # a proposed change's prices and amount replace the order's own
        assert await svc.chain_for(uow, at_floor, RULES, amount=D(100), prices=[(D(1), D(2))]) != []
        assert await svc.chain_for(uow, below, RULES, amount=D(100), prices=[(D(2), D(1)), (None, D(5))]) == []
        big = await world.order(uow, "100000")
        assert [s.role for s in await svc.chain_for(uow, big, RULES, amount=D("99999.99"))] == [Role.MANAGER]
        assert [s.role for s in await svc.chain_for(uow, small, RULES, amount=D(100000))] == [Role.MANAGER, Role.BOSS]


async def test_credit_limit_boundary(world: World) -> None:
    """Over credit when what the customer would owe (other open orders + this one, net of its payments)
    exceeds the limit; exactly at the limit is fine."""
    async with world.db.uow() as uow:
        await world.order(uow, "45000", state="CONFIRMED")
        at_limit = await world.order(uow, "5500", paid="500")  # 45000 + 5500 - 500 = 50000
        assert await svc.chain_for(uow, at_limit, RULES) == []
        over = await world.order(uow, "5000.01", state="DRAFT")  # 45000 + 5000.01 (the other is pending: 5500)
        steps = await svc.chain_for(uow, over, RULES)
        assert [(s.role, s.reasons) for s in steps] == [(Role.MANAGER, ("over_credit",))]
        no_customer = await world.order(uow, "9000", customer=False)
        assert await svc.chain_for(uow, no_customer, RULES) == []
        customer = await uow.session.get_one(Customer, world.customer_id)
        customer.credit_limit = None
        await uow.session.flush()
        assert await svc.chain_for(uow, over, RULES) == []


async def test_open_chain_stores_the_round(world: World) -> None:
    async with world.db.uow() as uow:
        order = await world.order(uow, "200000", approval_round=3, customer=False)
        chain = await svc.chain_for(uow, order, RULES)
        first = await svc.open_chain(uow, order, chain, None, NOW)
        steps = await uow.approvals.round_steps(order)
        assert steps[0] is first
        assert [(s.step, s.role, s.reasons, s.status, s.round, s.change_request_id) for s in steps] == [
            (0, "manager", ["amount_t1"], "PENDING", 3, None), (1, "boss", ["amount_t2"], "WAITING", 3, None)]
        assert steps[0].activated_at == NOW and steps[1].activated_at is None
        assert all(s.created_at == NOW for s in steps)
        assert await svc.pending_step(uow, order) is first
        event = svc.needed_event(order, first)
        assert (event.kind, event.order_id, event.order_no) == ("approval_needed", order.id, order.no)
        assert event == ApprovalNeeded(order.id, order.no, approval_id=first.id, role="manager",
                                       reasons=("amount_t1",), change_request_id=None)
        order.approval_round = 4  # a new round: the old steps are not its steps
        assert await uow.approvals.round_steps(order) == [] and await svc.pending_step(uow, order) is None


async def test_cancel_open_cancels_undecided_steps_and_returns_the_carded_ones(world: World) -> None:
    steps = [Approval(status=s, step=i) for i, s in enumerate(("APPROVED", "PENDING", "WAITING", "REJECTED"))]
    later = NOW + timedelta(hours=1)
    carded = approval_chain.cancel_open(steps, later)
    assert carded == [steps[1]]
    assert [s.status for s in steps] == ["APPROVED", "CANCELLED", "CANCELLED", "REJECTED"]
    assert [s.decided_at for s in steps] == [None, later, later, None]


async def decided(world: World, amount: str, who: str, roles: tuple[str, ...], approve: bool,
                  comment: str | None = None) -> tuple[Order, list[Any], list[Approval]]:
    async with world.db.uow() as uow:
        order = await world.order(uow, amount)
        await svc.open_chain(uow, order, await svc.chain_for(uow, order, RULES), None, NOW)
        step = await svc.pending_step(uow, order)
        assert step is not None
        events = await decisions.decide(uow, order, step, world.prov(who, *roles), approve, comment, NOW)
        return order, events, await uow.approvals.round_steps(order)


async def test_first_of_two_steps_approved_activates_the_boss(world: World) -> None:
    order, events, steps = await decided(world, "200000", "m1", ("manager",), True)
    assert order.state == "PENDING_APPROVAL" and order.confirmed_at is None
    assert [s.status for s in steps] == ["APPROVED", "PENDING"]
    assert steps[0].decided_by == world.people["m1"] and steps[0].decided_at == NOW and steps[0].comment is None
    assert steps[1].activated_at == NOW
    assert [(e.kind, e.order_id, e.order_no) for e in events] == [("step_approved", order.id, order.no),
                                                                  ("approval_needed", order.id, order.no)]
    assert events[0] == StepApproved(order.id, order.no, approval_id=steps[0].id, role="manager", comment=None,
                                     change_request_id=None, by="m1", stand_in=False)
    assert isinstance(events[1], ApprovalNeeded)
    assert events[1].approval_id == steps[1].id and events[1].role == "boss"
    async with world.db.uow() as uow:
        audits = list((await uow.session.execute(select(AuditEvent))).scalars())
    assert [(a.action, a.order_id, a.at, a.summary, a.after) for a in audits] == \
        [("approve_step", order.id, NOW, "manager", {"step": 0, "next": "boss"})]


async def test_last_step_approved_confirms(world: World) -> None:
    order, events, steps = await decided(world, "20000", "m1", ("manager",), True, "好")
    assert order.state == "CONFIRMED" and order.confirmed_at == NOW
    assert [s.status for s in steps] == ["APPROVED"] and steps[0].comment == "好"
    assert events == [Approved(order.id, order.no, approval_id=steps[0].id, role="manager", comment="好",
                               change_request_id=None, by="m1", stand_in=False)]
    assert events[0].kind == "approved"
    async with world.db.uow() as uow:
        audit = (await uow.session.execute(select(AuditEvent))).scalar_one()
    assert (audit.action, audit.order_id, audit.at, audit.before, audit.after) == \
        ("approve", order.id, NOW, {"state": "PENDING_APPROVAL"}, {"state": "CONFIRMED"})


async def test_rejection_ends_the_round(world: World) -> None:
    order, events, steps = await decided(world, "200000", "m1", ("manager",), False, "太贵")
    assert order.state == "REJECTED" and order.state_reason == "太贵" and order.confirmed_at is None
    assert [s.status for s in steps] == ["REJECTED", "WAITING"]
    assert [(e.kind, e.order_id, e.order_no) for e in events] == [("rejected", order.id, order.no)]
    assert isinstance(events[0], Rejected) and events[0].comment == "太贵"
    async with world.db.uow() as uow:
        audit = (await uow.session.execute(select(AuditEvent))).scalar_one()
    assert (audit.action, audit.order_id, audit.at, audit.summary, audit.before, audit.after) == \
        ("reject", order.id, NOW, "太贵", {"state": "PENDING_APPROVAL"}, {"state": "REJECTED", "reason": "太贵"})


async def test_a_rejection_without_a_comment_has_an_empty_summary(world: World) -> None:
    order, _, _ = await decided(world, "20000", "m1", ("manager",), False)
    assert order.state == "REJECTED" and order.state_reason is None
    async with world.db.uow() as uow:
        audit = (await uow.session.execute(select(AuditEvent))).scalar_one()
    assert audit.summary == "" and audit.after == {"state": "REJECTED", "reason": None}


@pytest.mark.parametrize(("who", "roles", "approve", "code"), [
    ("u1", ("manager",), True, "self_approval"),   # the owner is a manager too
    ("b1", ("boss",), True, "not_approver"),       # the first step is the manager's
    ("m1", ("sales",), True, "not_allowed"),
    ("m1", ("sales",), False, "not_allowed"),
])
async def test_refused_decisions_change_nothing(world: World, who: str, roles: tuple[str, ...], approve: bool,
                                                code: str) -> None:
    async with world.db.uow() as uow:
        order = await world.order(uow, "200000")
        await svc.open_chain(uow, order, await svc.chain_for(uow, order, RULES), None, NOW)
        step = await svc.pending_step(uow, order)
        assert step is not None
        with pytest.raises(lifecycle.Refused) as exc:
            await decisions.decide(uow, order, step, world.prov(who, *roles), approve, None, NOW)
        assert exc.value.code == code
        if code == "not_allowed":  # the refusal names the action tried (通过 or 驳回)
            assert exc.value.params["action"] == ("APPROVE" if approve else "REJECT")
        assert step.status == "PENDING" and step.decided_by is None and order.state == "PENDING_APPROVAL"


async def test_stale_presses(world: World) -> None:
    async with world.db.uow() as uow:
        order = await world.order(uow, "20000")
        await svc.open_chain(uow, order, await svc.chain_for(uow, order, RULES), None, NOW)
        step = await svc.pending_step(uow, order)
        assert step is not None
        await decisions.decide(uow, order, step, world.prov("m1", "manager"), True, None, NOW)
        with pytest.raises(lifecycle.Refused) as exc:  # decided already
            await decisions.decide(uow, order, step, world.prov("m2", "manager"), False, "晚了", NOW)
        assert exc.value.code == "stale" and exc.value.params == {"state": "CONFIRMED"}
        other = await world.order(uow, "20000")
        await svc.open_chain(uow, other, await svc.chain_for(uow, other, RULES), None, NOW)
        old = await svc.pending_step(uow, other)
        assert old is not None
        other.approval_round += 1  # withdrawn and resubmitted: the old card's step is of another round
        with pytest.raises(lifecycle.Refused) as exc:
            await decisions.decide(uow, other, old, world.prov("m2", "manager"), True, None, NOW)
        assert exc.value.code == "stale" and old.status == "PENDING"


@pytest.mark.parametrize(("state", "version", "shipped", "paid", "after_qty", "after_amount", "reason"), [
    ("CONFIRMED", 1, "0", "0", "5", "500", None),
    ("ON_HOLD", 1, "0", "0", "5", "500", "state"),
    ("CONFIRMED", 2, "0", "0", "5", "500", "version"),
    ("CONFIRMED", 1, "6", "0", "5", "500", "shipped"),
    ("CONFIRMED", 1, "5", "0", "5", "500", None),   # exactly what was shipped is fine
    ("CONFIRMED", 1, "0", "500.01", "5", "500", "paid"),
    ("CONFIRMED", 1, "0", "500", "5", "500", None),  # exactly what was paid is fine
])
def test_obsolete_reason(state: str, version: int, shipped: str, paid: str, after_qty: str, after_amount: str,
                         reason: str | None) -> None:
    order = Order(state=state, version=version, paid_amount=D(paid),
                  lines=[OrderLine(sku="A100", qty=D(10), shipped_qty=D(shipped))])
    cr = ChangeRequest(from_version=1, after={"lines": [{"sku": "a100", "qty": after_qty}], "amount": after_amount})
    assert approval_chain.obsolete_reason(order, cr) == reason


async def test_round_steps_are_this_orders_in_step_order_and_read_fresh(world: World) -> None:
    from sqlalchemy import update

    async with world.db.uow() as uow:
        order = await world.order(uow, "200000", customer=False)
        other = await world.order(uow, "200000", customer=False)  # same round number, another order
        for o in (other, order):
            for step, role in ((1, "boss"), (0, "manager")):  # written in reverse order
                uow.session.add(Approval(order_id=o.id, round=1, step=step, role=role,
                                         status="WAITING" if step else "PENDING", created_at=NOW))
        await uow.session.flush()
        steps = await uow.approvals.round_steps(order)
        assert [(s.order_id, s.step) for s in steps] == [(order.id, 0), (order.id, 1)]
        # another transaction (here: a statement behind the session's back) decided the step meanwhile
        await uow.session.execute(update(Approval).where(Approval.id == steps[0].id).values(status="APPROVED")
                                  .execution_options(synchronize_session=False))
        assert steps[0].status == "PENDING"  # the object in hand is stale …
        assert (await uow.approvals.round_steps(order))[0].status == "APPROVED"  # … and is read again
        await uow.session.execute(update(Approval).where(Approval.id == steps[1].id).values(status="CANCELLED")
                                  .execution_options(synchronize_session=False))
        fresh = await uow.approvals.step(steps[1].id)
        assert fresh is steps[1] and fresh.status == "CANCELLED"
        assert await uow.approvals.step(10**6) is None


async def test_only_a_later_waiting_step_is_activated(world: World) -> None:
    async with world.db.uow() as uow:
        order = await world.order(uow, "200000", customer=False)
        rows = [Approval(order_id=order.id, round=1, step=i, role="manager", status=s, created_at=NOW)
                for i, s in enumerate(("WAITING", "APPROVED", "WAITING"))]
        uow.session.add_all(rows)
        await uow.session.flush()
        nxt = await svc.activate_next(uow, order, rows[1], NOW)
        assert nxt is rows[2] and rows[2].status == "PENDING" and rows[2].activated_at == NOW
        assert rows[0].status == "WAITING"
        assert await svc.activate_next(uow, order, rows[2], NOW) is None
