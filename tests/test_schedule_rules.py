"""The reminder rules at their boundaries (just before, at, after): pure functions, no clock, no database."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from schedules.calendar import Calendar
from schedules.rules import (
    ApprovalFacts,
    Due,
    OrderFacts,
    Snapshot,
    Staff,
    TicketFacts,
    approval_dues,
    approval_occurrence,
    delivery_dues,
    due_reminders,
    payment_dues,
    visit_dues,
)

TZ = ZoneInfo("Asia/Shanghai")
CAL = Calendar(TZ)
# people: 1 owner (sales), 2 and 3 主管, 4 老板, 5 仓库, 6 财务, 7 客服
STAFF = Staff({"sales": (1,), "manager": (2, 3), "boss": (4,), "warehouse": (5,), "finance": (6,),
               "service": (7,)})


def at(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), TZ)


def order(**kw: object) -> OrderFacts:
    base: dict[str, object] = dict(id=10, no=12, owner_id=1, state="CONFIRMED", due_date=date(2026, 12, 2),
                                   amount=Decimal(1000), balance=Decimal(1000), fully_shipped=False)
    base.update(kw)
    return OrderFacts(**base)  # type: ignore[arg-type]


def keys(dues: list[Due]) -> set[str]:
    return {d.key for d in dues}


# ---- approval waiting ---------------------------------------------------------------------
STEP = ApprovalFacts(id=5, order_id=10, order_no=12, owner_id=1, role="manager", status="PENDING",
                     activated_at=at("2026-11-27", "10:00"))


@pytest.mark.parametrize(("now", "expected"), [
    (at("2026-11-27", "13:59"), set()),
    (at("2026-11-27", "14:00"), {"approval:5:1:2", "approval:5:1:3"}),
    (at("2026-11-30", "13:59"), {"approval:5:1:2", "approval:5:1:3"}),  # still the first occurrence
    # then every working day: Friday 14:00 + 9 working hours = Monday 14:00; > 24 h: 老板 too
    (at("2026-11-30", "14:00"), {"approval:5:2:2", "approval:5:2:3", "approval:5:2:4"}),
])
def test_approval_waiting(now: datetime, expected: set[str]) -> None:
    assert keys(approval_dues([STEP], STAFF, now, CAL)) == expected


def test_approval_escalation_starts_after_24_hours() -> None:
    step = ApprovalFacts(6, 10, 12, 1, "manager", "PENDING", at("2026-11-30", "09:00"))
    first = approval_dues([step], STAFF, at("2026-11-30", "13:00"), CAL)
    assert {d.person_id for d in first} == {2, 3}
    second = approval_dues([step], STAFF, at("2026-12-01", "13:00"), CAL)  # 28 h after activation
    assert {d.person_id for d in second} == {2, 3, 4}
    assert {d.due_at for d in second} == {at("2026-12-01", "13:00")}


def test_approval_escalates_to_own_manager_and_never_to_the_owner() -> None:
    staff = Staff({"manager": (1, 2), "boss": (4,)}, managers={2: 9})
    step = ApprovalFacts(7, 10, 12, 1, "manager", "PENDING", at("2026-11-23", "09:00"))
    dues = approval_dues([step], staff, at("2026-11-27", "10:00"), CAL)
    assert {d.person_id for d in dues} == {2, 9}  # 1 owns the order; 2's own manager is 9


def test_approval_after_a_long_downtime_yields_only_the_latest_occurrence() -> None:
    dues = approval_dues([STEP], STAFF, at("2026-12-04", "17:00"), CAL)
    assert len(dues) == 3 and {d.key.split(":")[2] for d in dues} == {"6"}  # Fri, Mon … Fri
    assert approval_occurrence(STEP.activated_at, at("2026-12-04", "17:00"), CAL) == (6, at("2026-12-04", "14:00"))


def test_decided_approval_has_no_reminder() -> None:
    decided = ApprovalFacts(5, 10, 12, 1, "manager", "APPROVED", STEP.activated_at)
    assert approval_dues([decided], STAFF, at("2026-12-04", "17:00"), CAL) == []


# ---- deliveries ---------------------------------------------------------------------------
@pytest.mark.parametrize(("now", "expected"), [
    (at("2026-11-27", "10:00"), set()),                                                  # 5 days before
    (at("2026-11-30", "08:59"), set()),                                                  # just before D-2 09:00
    (at("2026-11-30", "09:00"), {"soon:10:2026-12-02:1", "soon:10:2026-12-02:5"}),       # D-2: owner + warehouse
    (at("2026-12-02", "17:00"), {"soon:10:2026-12-02:1", "soon:10:2026-12-02:5"}),       # still on 交期
    (at("2026-12-03", "08:59"), set()),                                                  # the day after, before work
    (at("2026-12-03", "09:00"), {"late:10:2026-12-02:1"}),                               # overdue, once per 交期
    (at("2026-12-09", "08:59"), {"late:10:2026-12-02:1"}),
    (at("2026-12-09", "09:00"), {"late:10:2026-12-02:1", "late7:10:2026-12-02:2", "late7:10:2026-12-02:3"}),
])
def test_delivery_rules(now: datetime, expected: set[str]) -> None:
    assert keys(delivery_dues([order()], STAFF, now, CAL)) == expected


@pytest.mark.parametrize("change", [{"fully_shipped": True}, {"state": "ON_HOLD"}, {"state": "CANCELLED"},
                                    {"due_date": None}])
def test_no_delivery_reminder_when_shipped_held_or_undated(change: dict[str, object]) -> None:
    assert delivery_dues([order(**change)], STAFF, at("2026-12-10", "10:00"), CAL) == []


def test_due_soon_on_a_weekend_moves_to_the_next_working_morning() -> None:
    o = order(due_date=date(2026, 11, 30))  # Monday; D-2 is Saturday
    assert keys(delivery_dues([o], STAFF, at("2026-11-28", "10:00"), CAL)) == set()
    dues = delivery_dues([o], STAFF, at("2026-11-30", "09:00"), CAL)
    assert {d.due_at for d in dues} == {at("2026-11-30", "09:00")}


def test_delivery_escalation_goes_to_the_owners_own_manager_when_set() -> None:
    staff = Staff(STAFF.holders, managers={1: 3})
    assert "late7:10:2026-12-02:3" in keys(delivery_dues([order()], staff, at("2026-12-09", "09:00"), CAL))
    assert "late7:10:2026-12-02:2" not in keys(delivery_dues([order()], staff, at("2026-12-09", "09:00"), CAL))


# ---- payments ------------------------------------------------------------------------------
def shipped_order(**kw: object) -> OrderFacts:
    # shipped in full on Oct 1, terms 30天 → due Oct 31 (a Saturday)
    base: dict[str, object] = {"fully_shipped": True, "payment_terms": "30天",
                               "full_shipped_at": at("2026-10-01", "10:00")}
    return order(**{**base, **kw})


@pytest.mark.parametrize(("now", "expected"), [
    (at("2026-10-30", "10:00"), set()),
    (at("2026-10-31", "10:00"), set()),                                # due date itself
    (at("2026-11-01", "10:00"), set()),                                # Sunday: not a working day
    (at("2026-11-02", "08:59"), set()),
    (at("2026-11-02", "09:00"), {"pay:10:2026-11-02:1"}),
    (at("2026-11-03", "09:00"), {"pay:10:2026-11-03:1"}),              # daily: a new key each day
    (at("2026-11-16", "09:00"), {"pay:10:2026-11-16:1", "pay15:10:2026-10-31:2", "pay15:10:2026-10-31:3"}),
    (at("2026-11-30", "09:00"), {"pay:10:2026-11-30:1", "pay15:10:2026-10-31:2", "pay15:10:2026-10-31:3",
                                 "pay30:10:2026-10-31:6"}),
])
def test_payment_rules(now: datetime, expected: set[str]) -> None:
    assert keys(payment_dues([shipped_order()], STAFF, now, CAL)) == expected


@pytest.mark.parametrize("change", [{"balance": Decimal(0)}, {"state": "ON_HOLD"}, {"state": "COMPLETED"},
                                    {"fully_shipped": False, "full_shipped_at": None}])
def test_no_payment_reminder_when_paid_held_or_not_yet_due(change: dict[str, object]) -> None:
    assert payment_dues([shipped_order(**change)], STAFF, at("2026-11-30", "10:00"), CAL) == []


def test_prepaid_order_is_due_at_confirmation() -> None:
    o = order(payment_terms="款到发货", confirmed_at=at("2026-11-25", "15:00"))
    assert keys(payment_dues([o], STAFF, at("2026-11-25", "17:00"), CAL)) == set()
    assert keys(payment_dues([o], STAFF, at("2026-11-26", "09:00"), CAL)) == {"pay:10:2026-11-26:1"}


# ---- after-sales and the whole snapshot -----------------------------------------------------
@pytest.mark.parametrize(("now", "expected"), [
    (at("2026-11-27", "09:59"), set()), (at("2026-11-27", "10:00"), {"visit:3:7"}),
    (at("2026-11-30", "10:00"), {"visit:3:7"}),
])
def test_visit_three_days_after_resolution(now: datetime, expected: set[str]) -> None:
    ticket = TicketFacts(3, 8, 10, 12, "RESOLVED", at("2026-11-24", "10:00"))
    assert keys(visit_dues([ticket], STAFF, now, CAL)) == expected


def test_visit_resolved_on_friday_evening_waits_for_working_time() -> None:
    ticket = TicketFacts(3, 8, 10, 12, "RESOLVED", at("2026-11-20", "20:00"))  # +3 d = Monday 20:00
    assert visit_dues([ticket], STAFF, at("2026-11-23", "21:00"), CAL) == []
    dues = visit_dues([ticket], STAFF, at("2026-11-24", "09:00"), CAL)
    assert {d.due_at for d in dues} == {at("2026-11-24", "09:00")}


def test_due_reminders_is_deterministic_and_only_due_items() -> None:
    snap = Snapshot(orders=(order(), shipped_order(id=11, no=13)), approvals=(STEP,), staff=STAFF)
    now = at("2026-12-03", "10:00")
    first, second = due_reminders(snap, now, CAL), due_reminders(snap, now, CAL)
    assert first == second and all(d.due_at <= now for d in first)
    assert {d.kind for d in first} == {"approval", "delivery_overdue", "payment_overdue", "payment_escalation",
                                       "payment_dunning"}
