"""The approval chain's rules, without a database (storage/approval_chain.py): every step and change
move allowed and refused, every outcome and its event, and every refusal with its code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from storage import approval_chain as ac
from storage import domain_events as ev
from storage.lifecycle import Actor, Refused
from storage.vocab import ApprovalStatus, ChangeStatus, Role

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
EARLIER = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
OWNER, OTHER = 1, 2
A = ApprovalStatus
C = ChangeStatus
M = ac.StepMove


@dataclass
class Step:
    status: str = "PENDING"
    step: int = 0
    round: int = 1
    role: str = "manager"
    change_request_id: int | None = None
    activated_at: datetime | None = None
    decided_at: datetime | None = None


@dataclass
class Change:
    status: str = "PENDING"
    from_version: int = 1
    after: dict[str, Any] = field(default_factory=lambda: {"lines": [], "amount": "0"})
    decided_at: datetime | None = None


@dataclass
class Line:
    qty: Decimal = Decimal(10)
    shipped_qty: Decimal = Decimal(0)
    unit_price: Decimal | None = Decimal(100)
    sku: str = "A100"


@dataclass
class FakeOrder:
    state: str = "PENDING_APPROVAL"
    production: str = "NONE"
    owner_id: int = OWNER
    customer_id: int | None = 1
    due_date: date | None = date(2026, 12, 15)
    amount: Decimal = Decimal(1000)
    paid_amount: Decimal = Decimal(0)
    written_off: Decimal = Decimal(0)
    lines: list[Line] = field(default_factory=lambda: [Line()])
    approval_round: int = 1
    version: int = 1


def actor(*roles: str, person: int = OTHER) -> Actor:
    return Actor(person, frozenset(roles))


# ---- step moves: (move, from status, to status; None when refused) -------------------------------
STEP_CASES = [
    (M.ACTIVATE, A.WAITING, A.PENDING),
    (M.ACTIVATE, A.PENDING, None),
    (M.ACTIVATE, A.APPROVED, None),
    (M.ACTIVATE, A.REJECTED, None),
    (M.ACTIVATE, A.CANCELLED, None),
    (M.APPROVE, A.PENDING, A.APPROVED),
    (M.APPROVE, A.WAITING, None),
    (M.APPROVE, A.APPROVED, None),
    (M.APPROVE, A.REJECTED, None),
    (M.APPROVE, A.CANCELLED, None),
    (M.REJECT, A.PENDING, A.REJECTED),
    (M.REJECT, A.WAITING, None),
    (M.REJECT, A.APPROVED, None),
    (M.REJECT, A.REJECTED, None),
    (M.REJECT, A.CANCELLED, None),
    (M.CANCEL, A.PENDING, A.CANCELLED),
    (M.CANCEL, A.WAITING, A.CANCELLED),
    (M.CANCEL, A.APPROVED, None),
    (M.CANCEL, A.REJECTED, None),
    (M.CANCEL, A.CANCELLED, None),
    (M.LAPSE, A.APPROVED, A.CANCELLED),
    (M.LAPSE, A.PENDING, None),
    (M.LAPSE, A.WAITING, None),
    (M.LAPSE, A.REJECTED, None),
    (M.LAPSE, A.CANCELLED, None),
]


def test_step_cases_cover_every_move_from_every_status() -> None:
    assert {(m, s) for m, s, _ in STEP_CASES} == {(m, s) for m in M for s in A}
    assert {(m, s, t) for m, s, t in STEP_CASES if t is not None} == \
        {(m, s, target) for m, (sources, target) in ac.STEP_MOVES.items() for s in sources}


@pytest.mark.parametrize(("what", "status", "target"), STEP_CASES)
def test_step_move(what: ac.StepMove, status: ApprovalStatus, target: ApprovalStatus | None) -> None:
    step = Step(status=status.value, decided_at=EARLIER if status in (A.APPROVED, A.REJECTED) else None)
    before = (step.activated_at, step.decided_at)
    if target is None:
        with pytest.raises(ValueError, match=status.value):
            ac.move(step, what, NOW)
        assert step.status == status and (step.activated_at, step.decided_at) == before  # nothing changed
        return
    ac.move(step, what, NOW)
    assert step.status == target.value and type(step.status) is str
    # activation stamps when the step became pending; a decision or cancellation when it ended; a lapse
    # keeps the time of the approval that lapsed
    expected = {M.ACTIVATE: (NOW, None), M.LAPSE: (None, EARLIER)}.get(what, (None, NOW))
    assert (step.activated_at, step.decided_at) == expected


CHANGE_CASES = [(m, s, ac.CHANGE_MOVES[m][1] if s in ac.CHANGE_MOVES[m][0] else None)
                for m in ac.ChangeMove for s in C]


def test_change_moves_leave_pending_only() -> None:
    assert {m: (set(sources), target) for m, (sources, target) in ac.CHANGE_MOVES.items()} == {
        ac.ChangeMove.APPLY: ({C.PENDING}, C.APPLIED),
        ac.ChangeMove.REJECT: ({C.PENDING}, C.REJECTED),
        ac.ChangeMove.WITHDRAW: ({C.PENDING}, C.WITHDRAWN),
    }


@pytest.mark.parametrize(("what", "status", "target"), CHANGE_CASES)
def test_change_move(what: ac.ChangeMove, status: ChangeStatus, target: ChangeStatus | None) -> None:
    change = Change(status=status.value)
    if target is None:
        with pytest.raises(ValueError, match=status.value):
            ac.move_change(change, what, NOW)
        assert change.status == status and change.decided_at is None
        return
    ac.move_change(change, what, NOW)
    assert change.status == target.value and change.decided_at == NOW


def test_a_round_opens_with_its_first_step_pending() -> None:
    assert [ac.opening_status(i) for i in range(3)] == [A.PENDING, A.WAITING, A.WAITING]


def test_pending_next_and_undecided() -> None:
    steps = [Step(s.value, step=i) for i, s in enumerate((A.APPROVED, A.PENDING, A.WAITING, A.WAITING))]
    assert ac.pending(steps) is steps[1]
    assert ac.pending([Step(A.WAITING.value)]) is None
    assert ac.next_step(steps, steps[1]) is steps[2]
    assert ac.next_step(steps, steps[2]) is steps[3]
    assert ac.next_step(steps, steps[3]) is None
    # only a WAITING step after the decided one: an earlier waiting step is not "next"
    odd = [Step(A.WAITING.value, step=0), Step(A.APPROVED.value, step=1)]
    assert ac.next_step(odd, odd[1]) is None
    assert ac.undecided(steps) == steps[1:]


def test_cancel_open_cancels_undecided_steps_and_returns_the_carded_ones() -> None:
    steps = [Step(s.value, step=i) for i, s in enumerate((A.APPROVED, A.PENDING, A.WAITING, A.REJECTED))]
    assert ac.cancel_open(steps, NOW) == [steps[1]]
    assert [s.status for s in steps] == ["APPROVED", "CANCELLED", "CANCELLED", "REJECTED"]
    assert [s.decided_at for s in steps] == [None, NOW, NOW, None]


def test_withdrawing_is_refused_once_a_step_was_approved() -> None:
    ac.check_withdrawable([Step(A.PENDING.value), Step(A.WAITING.value, step=1)])
    ac.check_withdrawable([])
    with pytest.raises(Refused) as exc:
        ac.check_withdrawable([Step(A.APPROVED.value), Step(A.PENDING.value, step=1)])
    assert exc.value.code == "already_approved"


# ---- outcomes and their events -------------------------------------------------------------------
@pytest.mark.parametrize(("approve", "has_next", "lapsed", "expected"), [
    (True, True, None, ac.Outcome.NEXT),
    (True, False, None, ac.Outcome.DONE),
    (False, True, None, ac.Outcome.REJECTED),
    (False, False, None, ac.Outcome.REJECTED),
    (True, False, "state", ac.Outcome.LAPSED),
    (True, True, "paid", ac.Outcome.LAPSED),  # a lapse wins over a next step
    (False, False, "version", ac.Outcome.REJECTED),  # a rejection wins over a lapse
])
def test_outcome(approve: bool, has_next: bool, lapsed: str | None, expected: ac.Outcome) -> None:
    assert ac.outcome(approve, Step(A.WAITING.value, step=1) if has_next else None, lapsed) is expected


def test_every_outcome_has_its_event() -> None:
    assert {key: cls.kind for key, cls in ac.EVENTS.items()} == {
        (False, ac.Outcome.NEXT): "step_approved",
        (False, ac.Outcome.DONE): "approved",
        (False, ac.Outcome.REJECTED): "rejected",
        (True, ac.Outcome.NEXT): "step_approved",
        (True, ac.Outcome.DONE): "change_approved",
        (True, ac.Outcome.REJECTED): "change_rejected",
        (True, ac.Outcome.LAPSED): "change_obsolete",
    }  # an order's own chain never lapses


@pytest.mark.parametrize(("change_id", "result", "cls"), [
    (None, ac.Outcome.NEXT, ev.StepApproved),
    (None, ac.Outcome.DONE, ev.Approved),
    (None, ac.Outcome.REJECTED, ev.Rejected),
    (5, ac.Outcome.NEXT, ev.StepApproved),
    (5, ac.Outcome.DONE, ev.ChangeApproved),
    (5, ac.Outcome.REJECTED, ev.ChangeRejected),
])
def test_decision_event(change_id: int | None, result: ac.Outcome, cls: type[ev.StepDecided]) -> None:
    decision = ac.Decision(9, "boss", "好", change_id, "王总", True)
    assert decision.event(3, 12, result) == cls(3, 12, approval_id=9, role="boss", comment="好",
                                                 change_request_id=change_id, by="王总", stand_in=True)


def test_a_lapsed_decision_says_why_and_which_cards_close() -> None:
    event = ac.Decision(9, "manager", None, 5, "李", False).event(3, 12, ac.Outcome.LAPSED, why="shipped",
                                                                  closed=[9, 10])
    assert event == ev.ChangeObsolete(3, 12, approval_id=9, role="manager", comment=None, change_request_id=5,
                                      by="李", stand_in=False, why="shipped", lapsed_approvals=(9, 10))
    assert event.approvals_closed() == (9, 10)


# ---- who decides: (step role, order state, a change?, actor, approve, refusal code) --------------
DECIDER_CASES = [
    ("manager", "PENDING_APPROVAL", False, actor(Role.MANAGER), True, None),
    ("manager", "PENDING_APPROVAL", False, actor(Role.MANAGER), False, None),
    ("boss", "PENDING_APPROVAL", False, actor(Role.BOSS), True, None),
    ("boss", "PENDING_APPROVAL", False, actor(Role.MANAGER), True, "not_approver"),
    ("manager", "PENDING_APPROVAL", False, actor(Role.SALES), True, "not_allowed"),
    ("manager", "PENDING_APPROVAL", False, actor(Role.SALES), False, "not_allowed"),
    ("manager", "PENDING_APPROVAL", False, actor(Role.MANAGER, person=OWNER), True, "self_approval"),
    ("manager", "CONFIRMED", False, actor(Role.MANAGER), True, "bad_state"),
    # a change's step: the order is CONFIRMED, and the lifecycle's APPROVE does not apply
    ("manager", "CONFIRMED", True, actor(Role.MANAGER), True, None),
    ("manager", "CONFIRMED", True, actor(Role.SALES), True, "not_approver"),
    ("manager", "CONFIRMED", True, actor(Role.MANAGER, person=OWNER), False, "self_approval"),
]


@pytest.mark.parametrize(("role", "state", "change", "who", "approve", "code"), DECIDER_CASES)
def test_decider(role: str, state: str, change: bool, who: Actor, approve: bool, code: str | None) -> None:
    step = Step(role=role, change_request_id=5 if change else None)
    order = FakeOrder(state=state)
    if code is None:
        assert ac.decider(step, order, who, approve, stand_in=False) == who
        return
    with pytest.raises(Refused) as exc:
        ac.decider(step, order, who, approve, stand_in=False)
    assert exc.value.code == code


def test_an_admin_standing_in_acts_with_the_steps_role_for_that_decision() -> None:
    admin = actor(Role.ADMIN)
    with pytest.raises(Refused) as exc:
        ac.decider(Step(role="boss"), FakeOrder(), admin, True, stand_in=False)
    assert exc.value.code == "not_allowed"
    assert ac.decider(Step(role="boss"), FakeOrder(), admin, True, stand_in=True).roles == {"admin", "boss"}
    with pytest.raises(Refused) as exc:  # even standing in, nobody approves their own order
        ac.decider(Step(role="boss"), FakeOrder(), actor(Role.ADMIN, person=OWNER), True, stand_in=True)
    assert exc.value.code == "self_approval"


@pytest.mark.parametrize(("who", "holders", "expected"), [
    (actor(Role.MANAGER), [], False),  # holds the role: decides as themself
    (actor(Role.MANAGER, Role.ADMIN), [], False),
    (actor(Role.SALES), [], False),  # not an admin: the role check refuses later
    (actor(Role.ADMIN), [], True),  # nobody else holds it: the admin stands in
    (actor(Role.ADMIN), ["李经理"], "not_approver"),
])
def test_stands_in(who: Actor, holders: list[str], expected: bool | str) -> None:
    assert ac.asks_stand_in("manager", who) == (Role.ADMIN in who.roles and Role.MANAGER not in who.roles)
    if isinstance(expected, bool):
        assert ac.stands_in("manager", who, holders) is expected
        return
    with pytest.raises(Refused) as exc:
        ac.stands_in("manager", who, holders)
    assert exc.value.code == expected and exc.value.params == {"role": "manager", "holders": holders, "admin": True}


def test_vacant_roles_are_those_only_the_owner_holds() -> None:
    holders = {"manager": [OWNER], "boss": [OWNER, OTHER], "finance": []}
    assert ac.vacant(["manager", "boss", "manager", "finance", "production"], holders, OWNER) == \
        ["manager", "finance", "production"]
    assert ac.vacant([], holders, OWNER) == []


# ---- stale decisions ------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "step_round", "stale"), [
    (A.PENDING, 1, False),
    (A.PENDING, 0, True),  # a card of an earlier round (withdrawn and resubmitted)
    (A.WAITING, 1, True),
    (A.APPROVED, 1, True),
    (A.REJECTED, 1, True),
    (A.CANCELLED, 1, True),
])
def test_only_the_pending_step_of_the_current_round_is_decidable(status: ApprovalStatus, step_round: int,
                                                                  stale: bool) -> None:
    order = FakeOrder(state="CONFIRMED", approval_round=1)
    step = Step(status.value, round=step_round)
    if not stale:
        ac.check_decidable(step, order)
        return
    with pytest.raises(Refused) as exc:
        ac.check_decidable(step, order)
    assert exc.value.code == "stale" and exc.value.params == {"state": "CONFIRMED"}


@pytest.mark.parametrize("status", list(C))
def test_a_change_no_longer_pending_is_stale(status: ChangeStatus) -> None:
    order = FakeOrder(state="CONFIRMED")
    if status is C.PENDING:
        ac.check_change_open(Change(status.value), order)
        return
    with pytest.raises(Refused) as exc:
        ac.check_change_open(Change(status.value), order)
    assert exc.value.code == "stale" and exc.value.params == {"state": "CONFIRMED"}
