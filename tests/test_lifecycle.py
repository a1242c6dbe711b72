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

# (action, state, actor, refusal code: None when allowed)
CASES = [
    (Action.EDIT, "DRAFT", OWNER_ACTOR, None),
    (Action.EDIT, "REJECTED", OWNER_ACTOR, None),
    (Action.EDIT, "DRAFT", actor(Role.SALES), "not_allowed"),
    (Action.EDIT, "CONFIRMED", OWNER_ACTOR, "bad_state"),
    (Action.SUBMIT, "DRAFT", OWNER_ACTOR, None),
    (Action.SUBMIT, "REJECTED", OWNER_ACTOR, None),
    (Action.SUBMIT, "PENDING_APPROVAL", OWNER_ACTOR, "bad_state"),
    (Action.SUBMIT, "DRAFT", actor(Role.MANAGER), "not_allowed"),
    (Action.WITHDRAW, "PENDING_APPROVAL", OWNER_ACTOR, None),
    (Action.WITHDRAW, "PENDING_APPROVAL", actor(Role.SALES), "not_allowed"),
    (Action.WITHDRAW, "CONFIRMED", OWNER_ACTOR, "bad_state"),
    (Action.APPROVE, "PENDING_APPROVAL", actor(Role.MANAGER), None),
    (Action.APPROVE, "PENDING_APPROVAL", actor(Role.SALES), "not_allowed"),
    (Action.APPROVE, "DRAFT", actor(Role.MANAGER), "bad_state"),
    (Action.REJECT, "PENDING_APPROVAL", actor(Role.BOSS), None),
    (Action.CHANGE, "CONFIRMED", OWNER_ACTOR, None),
    (Action.CHANGE, "CONFIRMED", actor(Role.MANAGER), "not_allowed"),
    (Action.CHANGE, "DRAFT", OWNER_ACTOR, "bad_state"),
    (Action.START_PRODUCTION, "CONFIRMED", actor(Role.PRODUCTION), None),
    (Action.START_PRODUCTION, "CONFIRMED", actor(Role.WAREHOUSE), "not_allowed"),
    (Action.START_PRODUCTION, "PENDING_APPROVAL", actor(Role.PRODUCTION), "bad_state"),
    (Action.FINISH_PRODUCTION, "CONFIRMED", actor(Role.PRODUCTION), None),
    (Action.SHIP, "CONFIRMED", actor(Role.WAREHOUSE), None),
    (Action.SHIP, "CONFIRMED", actor(Role.SALES), "not_allowed"),
    (Action.SHIP, "ON_HOLD", actor(Role.WAREHOUSE), "bad_state"),
    (Action.SHIP, "PENDING_APPROVAL", actor(Role.WAREHOUSE), "bad_state"),
    (Action.PAY, "CONFIRMED", actor(Role.FINANCE), None),
    (Action.PAY, "ON_HOLD", actor(Role.FINANCE), "bad_state"),
    (Action.PAY, "CONFIRMED", actor(Role.SALES), "not_allowed"),
    (Action.HOLD, "CONFIRMED", actor(Role.MANAGER), None),
    (Action.HOLD, "CONFIRMED", OWNER_ACTOR, "not_allowed"),
    (Action.HOLD, "DRAFT", actor(Role.MANAGER), "bad_state"),
    (Action.RESUME, "ON_HOLD", actor(Role.MANAGER), None),
    (Action.RESUME, "CONFIRMED", actor(Role.MANAGER), "bad_state"),
    (Action.CLOSE, "CONFIRMED", actor(Role.MANAGER), None),
    (Action.CLOSE, "ON_HOLD", actor(Role.MANAGER), None),
    (Action.CLOSE, "DRAFT", actor(Role.MANAGER), "bad_state"),
    (Action.CANCEL, "DRAFT", OWNER_ACTOR, None),
    (Action.CANCEL, "REJECTED", OWNER_ACTOR, None),
    (Action.CANCEL, "DRAFT", actor(Role.MANAGER), "not_allowed"),
    (Action.CANCEL, "PENDING_APPROVAL", actor(Role.MANAGER), None),
    (Action.CANCEL, "PENDING_APPROVAL", OWNER_ACTOR, "not_allowed"),
    (Action.CANCEL, "CONFIRMED", actor(Role.MANAGER), None),
    (Action.CANCEL, "COMPLETED", actor(Role.MANAGER), "bad_state"),
    (Action.REOPEN, "CLOSED", actor(Role.ADMIN), None),
    (Action.REOPEN, "CANCELLED", actor(Role.ADMIN), None),
    (Action.REOPEN, "CLOSED", actor(Role.MANAGER), "not_allowed"),
    (Action.REOPEN, "COMPLETED", actor(Role.ADMIN), "bad_state"),
    (Action.SIGN, "CONFIRMED", actor(Role.WAREHOUSE), "nothing_shipped"),  # nothing shipped yet
    (Action.SIGN, "CONFIRMED", actor(Role.FINANCE), "not_allowed"),
    (Action.SIGN, "DRAFT", actor(Role.WAREHOUSE), "bad_state"),
    (Action.FINISH_PRODUCTION, "CONFIRMED", actor(Role.SALES), "not_allowed"),
    (Action.FINISH_PRODUCTION, "ON_HOLD", actor(Role.PRODUCTION), "bad_state"),
    (Action.REJECT, "PENDING_APPROVAL", actor(Role.PRODUCTION), "not_allowed"),
    (Action.REJECT, "CONFIRMED", actor(Role.BOSS), "bad_state"),
    (Action.RESUME, "ON_HOLD", OWNER_ACTOR, "not_allowed"),
    (Action.CLOSE, "CONFIRMED", actor(Role.BOSS), "not_allowed"),
    (Action.REOPEN, "DRAFT", actor(Role.ADMIN), "bad_state"),
    (Action.FOLLOW_UP, "DRAFT", OWNER_ACTOR, None),
    (Action.FOLLOW_UP, "PENDING_APPROVAL", actor(Role.MANAGER), None),
    (Action.FOLLOW_UP, "REJECTED", OWNER_ACTOR, None),
    (Action.FOLLOW_UP, "CONFIRMED", actor(Role.MANAGER), None),
    (Action.FOLLOW_UP, "ON_HOLD", OWNER_ACTOR, None),
    (Action.FOLLOW_UP, "COMPLETED", OWNER_ACTOR, None),
    (Action.FOLLOW_UP, "CONFIRMED", actor(Role.SALES), "not_allowed"),  # another salesperson's order
    (Action.FOLLOW_UP, "CONFIRMED", actor(Role.WAREHOUSE), "not_allowed"),
    (Action.FOLLOW_UP, "CLOSED", OWNER_ACTOR, "bad_state"),
    (Action.FOLLOW_UP, "CANCELLED", actor(Role.MANAGER), "bad_state"),
]


@pytest.mark.parametrize(("action", "state", "who", "code"), CASES)
def test_transition_table(action: Action, state: str, who: lc.Actor, code: str | None) -> None:
    order = FakeOrder(state=state)
    if code is None:
        rule = lc.check(order, action, who)
        assert State(state) in rule.sources
    else:
        with pytest.raises(lc.Refused) as exc:
            lc.check(order, action, who)
        assert exc.value.code == code


def test_every_action_and_state_is_in_the_table() -> None:
    """No action is left out of the table above, and each is both allowed and refused somewhere."""
    allowed = {a for a, _, _, code in CASES + GUARD_CASES if code is None}
    refused = {a for a, _, _, code in CASES + GUARD_CASES if code is not None}
    assert allowed == refused == set(Action)
    assert {State(s) for _, s, _, _ in CASES} == set(State)


# (action, production, quantity shipped of 10, refusal code: None when allowed), on a CONFIRMED order
GUARD_CASES = [
    (Action.START_PRODUCTION, "STARTED", 0, "production_already"),   # started twice
    (Action.START_PRODUCTION, "FINISHED", 0, "production_already"),
    (Action.START_PRODUCTION, "NONE", 0, None),
    (Action.FINISH_PRODUCTION, "FINISHED", 0, "production_already"),  # finished twice
    (Action.FINISH_PRODUCTION, "STARTED", 0, None),
    (Action.FINISH_PRODUCTION, "NONE", 0, None),  # finishing without a start is allowed (stock made earlier)
    (Action.SHIP, "NONE", 10, "nothing_to_ship"),  # everything already shipped
    (Action.SHIP, "NONE", 9, None),
    (Action.SIGN, "NONE", 1, None),
]


@pytest.mark.parametrize(("action", "production", "shipped", "code"), GUARD_CASES)
def test_guards_beyond_state_and_role(action: Action, production: str, shipped: int, code: str | None) -> None:
    order = FakeOrder(state="CONFIRMED", production=production, lines=[Line(Decimal(10), Decimal(shipped))])
    who = actor(Role.PRODUCTION, Role.WAREHOUSE)
    if code is None:
        lc.check(order, action, who)
    else:
        with pytest.raises(lc.Refused) as exc:
            lc.check(order, action, who)
        assert exc.value.code == code
        if code == "production_already":
            assert exc.value.params == {"production": production}


def test_nothing_to_pay_when_the_balance_is_settled() -> None:
    order = FakeOrder(state="CONFIRMED", paid_amount=Decimal(600), written_off=Decimal(400))
    with pytest.raises(lc.Refused) as exc:
        lc.check(order, Action.PAY, actor(Role.FINANCE))
    assert exc.value.code == "nothing_to_pay"
    assert lc.balance(order) == 0
    order.written_off = Decimal("399.99")
    lc.check(order, Action.PAY, actor(Role.FINANCE))
    assert lc.balance(order) == Decimal("0.01")


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


# that only this module writes ``Order.state`` is checked on the syntax tree by tests/test_state_writers.py


def test_rule_helper_builds_frozen_rules() -> None:
    assert lc._rule([State.DRAFT, State.REJECTED], [lc.OWNER], State.CANCELLED) == lc.Rule(
        frozenset({State.DRAFT, State.REJECTED}), frozenset({lc.OWNER}), State.CANCELLED)
    assert lc._rule([State.CONFIRMED], [Role.WAREHOUSE]).target is None


def test_refusal_carries_its_code_and_params() -> None:
    exc = lc.Refused("not_approver", role="boss")
    assert str(exc) == "not_approver" and exc.args == ("not_approver",)
    assert (exc.code, exc.params) == ("not_approver", {"role": "boss"})
    with pytest.raises(lc.Refused) as caught:
        lc.check_approver("boss", actor(Role.MANAGER))
    assert caught.value.code == "not_approver" and caught.value.params == {"role": "boss"}


def test_a_fraction_shipped_is_partly_shipped() -> None:
    order = FakeOrder(state="CONFIRMED", production="FINISHED", lines=[Line(Decimal(10), Decimal("0.5"))])
    assert lc.stage(order) is Stage.PARTIALLY_SHIPPED
    order.lines[0].shipped_qty = Decimal(1)
    assert lc.stage(order) is Stage.PARTIALLY_SHIPPED


def test_a_cent_left_to_collect_keeps_the_order_open() -> None:
    order = FakeOrder(state="CONFIRMED", lines=[Line(Decimal(10), Decimal(10))], paid_amount=Decimal("999.99"))
    assert not lc.settle(order) and order.state == "CONFIRMED"
    order.paid_amount = Decimal("999")  # a whole unit left
    assert not lc.settle(order)
    order.written_off = Decimal(1)
    assert lc.settle(order) and order.state == "COMPLETED"
    assert not lc.settle(order)  # once


@pytest.mark.parametrize(("state", "paused"), [("ON_HOLD", True), ("COMPLETED", True), ("CLOSED", True),
                                               ("CANCELLED", True), ("CONFIRMED", False), ("DRAFT", False),
                                               ("PENDING_APPROVAL", False), ("REJECTED", False)])
def test_reminders_pause_on_hold_and_end_with_the_order(state: str, paused: bool) -> None:
    assert lc.on_hold_or_final(state) is paused


def test_now_or_keeps_a_timestamp_set_once() -> None:
    from datetime import UTC, datetime

    earlier, now = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    assert lc.now_or(earlier, now) is earlier
    assert lc.now_or(None, now) is now


def test_refusals_carry_what_their_texts_need() -> None:
    with pytest.raises(lc.Refused) as exc:
        lc.check(FakeOrder(state="DRAFT"), Action.SHIP, actor(Role.WAREHOUSE))
    assert exc.value.params == {"action": Action.SHIP, "state": "DRAFT", "allowed": ["CONFIRMED"]}
    with pytest.raises(lc.Refused) as exc:
        lc.check(FakeOrder(due_date=None), Action.SUBMIT, OWNER_ACTOR)
    assert exc.value.params == {"missing": ["due_date"]}


def test_the_chain_without_flags_is_the_amount_alone() -> None:
    assert lc.approval_chain(Decimal(500), Decimal(10000), Decimal(100000)) == []
