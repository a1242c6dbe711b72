"""The order state machine, without a database: every transition allowed and refused, with who."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from storage import lifecycle as lc
from storage.vocab import Action, Role, Stage, State

OWNER, OTHER = 1, 2


@dataclass
class Line:
    qty: Decimal
    shipped_qty: Decimal = Decimal(0)
    unit_price: Decimal | None = Decimal(100)

    @property
    def line_amount(self) -> Decimal:
        return self.qty * (self.unit_price or 0)


@dataclass
class FakeOrder:
    state: str = "DRAFT"
    production: str = "NONE"
    owner_id: int = OWNER
    customer_id: int | None = 1
    due_date: object = date(2026, 12, 15)
    amount: Decimal = Decimal(1000)
    paid_amount: Decimal = Decimal(0)
    written_off: Decimal = Decimal(0)
    lines: list[Line] = field(default_factory=lambda: [Line(Decimal(10))])


def actor(*roles: str, person: int = OTHER) -> lc.Actor:
    return lc.Actor(person, frozenset(roles))


OWNER_ACTOR = lc.Actor(OWNER, frozenset({Role.SALES}))

# (action, state, actor, allowed?)
CASES = [
    (Action.EDIT, "DRAFT", OWNER_ACTOR, True),
    (Action.EDIT, "REJECTED", OWNER_ACTOR, True),
    (Action.EDIT, "DRAFT", actor(Role.SALES), False),
    (Action.EDIT, "CONFIRMED", OWNER_ACTOR, False),
    (Action.SUBMIT, "DRAFT", OWNER_ACTOR, True),
    (Action.SUBMIT, "REJECTED", OWNER_ACTOR, True),
    (Action.SUBMIT, "PENDING_APPROVAL", OWNER_ACTOR, False),
    (Action.SUBMIT, "DRAFT", actor(Role.MANAGER), False),
    (Action.WITHDRAW, "PENDING_APPROVAL", OWNER_ACTOR, True),
    (Action.WITHDRAW, "PENDING_APPROVAL", actor(Role.SALES), False),
    (Action.WITHDRAW, "CONFIRMED", OWNER_ACTOR, False),
    (Action.APPROVE, "PENDING_APPROVAL", actor(Role.MANAGER), True),
    (Action.APPROVE, "PENDING_APPROVAL", actor(Role.SALES), False),
    (Action.APPROVE, "DRAFT", actor(Role.MANAGER), False),
    (Action.REJECT, "PENDING_APPROVAL", actor(Role.BOSS), True),
    (Action.CHANGE, "CONFIRMED", OWNER_ACTOR, True),
    (Action.CHANGE, "CONFIRMED", actor(Role.MANAGER), False),
    (Action.CHANGE, "DRAFT", OWNER_ACTOR, False),
    (Action.START_PRODUCTION, "CONFIRMED", actor(Role.PRODUCTION), True),
    (Action.START_PRODUCTION, "CONFIRMED", actor(Role.WAREHOUSE), False),
    (Action.START_PRODUCTION, "PENDING_APPROVAL", actor(Role.PRODUCTION), False),
    (Action.FINISH_PRODUCTION, "CONFIRMED", actor(Role.PRODUCTION), True),
    (Action.SHIP, "CONFIRMED", actor(Role.WAREHOUSE), True),
    (Action.SHIP, "CONFIRMED", actor(Role.SALES), False),
    (Action.SHIP, "ON_HOLD", actor(Role.WAREHOUSE), False),
    (Action.SHIP, "PENDING_APPROVAL", actor(Role.WAREHOUSE), False),
    (Action.PAY, "CONFIRMED", actor(Role.FINANCE), True),
    (Action.PAY, "ON_HOLD", actor(Role.FINANCE), False),
    (Action.PAY, "CONFIRMED", actor(Role.SALES), False),
    (Action.HOLD, "CONFIRMED", actor(Role.MANAGER), True),
    (Action.HOLD, "CONFIRMED", OWNER_ACTOR, False),
    (Action.HOLD, "DRAFT", actor(Role.MANAGER), False),
    (Action.RESUME, "ON_HOLD", actor(Role.MANAGER), True),
    (Action.RESUME, "CONFIRMED", actor(Role.MANAGER), False),
    (Action.CLOSE, "CONFIRMED", actor(Role.MANAGER), True),
    (Action.CLOSE, "ON_HOLD", actor(Role.MANAGER), True),
    (Action.CLOSE, "DRAFT", actor(Role.MANAGER), False),
    (Action.CANCEL, "DRAFT", OWNER_ACTOR, True),
    (Action.CANCEL, "REJECTED", OWNER_ACTOR, True),
    (Action.CANCEL, "DRAFT", actor(Role.MANAGER), False),
    (Action.CANCEL, "PENDING_APPROVAL", actor(Role.MANAGER), True),
    (Action.CANCEL, "PENDING_APPROVAL", OWNER_ACTOR, False),
    (Action.CANCEL, "CONFIRMED", actor(Role.MANAGER), True),
    (Action.CANCEL, "COMPLETED", actor(Role.MANAGER), False),
    (Action.REOPEN, "CLOSED", actor(Role.ADMIN), True),
    (Action.REOPEN, "CANCELLED", actor(Role.ADMIN), True),
    (Action.REOPEN, "CLOSED", actor(Role.MANAGER), False),
    (Action.REOPEN, "COMPLETED", actor(Role.ADMIN), False),
    (Action.SIGN, "CONFIRMED", actor(Role.WAREHOUSE), False),  # nothing shipped yet
]


@pytest.mark.parametrize(("action", "state", "who", "allowed"), CASES)
def test_transition_table(action: Action, state: str, who: lc.Actor, allowed: bool) -> None:
    order = FakeOrder(state=state)
    if allowed:
        lc.check(order, action, who)
    else:
        with pytest.raises(lc.Refused):
            lc.check(order, action, who)


def test_refusal_names_the_reason() -> None:
    with pytest.raises(lc.Refused) as exc:
        lc.check(FakeOrder(state="DRAFT"), Action.SHIP, actor(Role.WAREHOUSE))
    assert exc.value.code == "bad_state"
    assert exc.value.params["allowed"] == ["CONFIRMED"]
    with pytest.raises(lc.Refused) as exc:
        lc.check(FakeOrder(state="CONFIRMED"), Action.SHIP, actor(Role.SALES))
    assert exc.value.code == "not_allowed"
    assert exc.value.params["who"] == ["warehouse"]


def test_cancel_refused_after_shipment_or_payment() -> None:
    shipped = FakeOrder(state="CONFIRMED", lines=[Line(Decimal(10), Decimal(1))])
    with pytest.raises(lc.Refused) as exc:
        lc.check(shipped, Action.CANCEL, actor(Role.MANAGER))
    assert exc.value.code == "cancel_after_activity"
    paid = FakeOrder(state="CONFIRMED", paid_amount=Decimal(1))
    with pytest.raises(lc.Refused):
        lc.check(paid, Action.CANCEL, actor(Role.MANAGER))


def test_submit_needs_completeness() -> None:
    order = FakeOrder(customer_id=None, due_date=None, lines=[Line(Decimal(1), unit_price=None)])
    assert lc.missing(order) == ["customer", "unit_price", "due_date"]
    with pytest.raises(lc.Refused) as exc:
        lc.check(order, Action.SUBMIT, OWNER_ACTOR)
    assert exc.value.code == "incomplete"
    assert lc.missing(FakeOrder(lines=[])) == ["lines"]


def test_stage_progression_and_auto_complete() -> None:
    order = FakeOrder(state="CONFIRMED", lines=[Line(Decimal(10))])
    assert lc.stage(order) is Stage.PREPARING
    order.production = "STARTED"
    assert lc.stage(order) is Stage.IN_PRODUCTION
    order.production = "FINISHED"
    assert lc.stage(order) is Stage.READY
    order.lines[0].shipped_qty = Decimal(4)
    assert lc.stage(order) is Stage.PARTIALLY_SHIPPED
    order.lines[0].shipped_qty = Decimal(10)
    assert lc.stage(order) is Stage.AWAITING_PAYMENT
    assert not lc.settle(order)
    order.paid_amount = Decimal(1000)
    assert lc.settle(order)
    assert order.state == State.COMPLETED
    assert lc.stage(order) is None


def test_paid_first_then_shipped_completes() -> None:
    order = FakeOrder(state="CONFIRMED", paid_amount=Decimal(1000))
    assert not lc.settle(order)
    order.lines[0].shipped_qty = Decimal(10)
    assert lc.settle(order)


@pytest.mark.parametrize(
    ("amount", "floor", "credit", "roles"),
    [
        (Decimal("9999.99"), False, False, []),
        (Decimal("10000"), False, False, ["manager"]),
        (Decimal("99999.99"), False, False, ["manager"]),
        (Decimal("100000"), False, False, ["manager", "boss"]),
        (Decimal("500"), True, False, ["manager"]),
        (Decimal("500"), False, True, ["manager"]),
        (Decimal("200000"), True, True, ["manager", "boss"]),
    ],
)
def test_approval_chain(amount: Decimal, floor: bool, credit: bool, roles: list[str]) -> None:
    chain = lc.approval_chain(amount, Decimal(10000), Decimal(100000), below_floor=floor, over_credit=credit)
    assert [s.role.value for s in chain] == roles


def test_chain_reasons() -> None:
    chain = lc.approval_chain(Decimal(20000), Decimal(10000), Decimal(100000), below_floor=True)
    assert chain[0].reasons == ("amount_t1", "below_floor")


def test_self_approval_and_wrong_role() -> None:
    with pytest.raises(lc.Refused) as exc:
        lc.check_not_self(OWNER, lc.Actor(OWNER, frozenset({Role.MANAGER})))
    assert exc.value.code == "self_approval"
    with pytest.raises(lc.Refused):
        lc.check_approver("boss", actor(Role.MANAGER))
    lc.check_approver("boss", actor(Role.BOSS))


def test_allowed_actions_for_help() -> None:
    order = FakeOrder(state="CONFIRMED")
    assert lc.allowed_actions(order, actor(Role.WAREHOUSE)) == [Action.SHIP]
    assert set(lc.allowed_actions(order, OWNER_ACTOR)) == {Action.CHANGE, Action.FOLLOW_UP}


def test_only_lifecycle_writes_state() -> None:
    """No module outside storage/lifecycle.py assigns an order's state."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"\border\.state\s*=[^=]")
    offenders = [
        str(p.relative_to(root))
        for pkg in ("bot", "handlers", "storage", "schedules")
        for p in (root / pkg).rglob("*.py")
        if p.name != "lifecycle.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
