"""The reminder rules of product.md §5 as pure functions of (facts, now, calendar).

Each rule returns :class:`Due` items whose time has come (``due_at <= now``); each
item carries a deterministic ``key`` so that writing it twice creates one row
(see ``uow.agenda`` in :mod:`storage.repos.agenda`). Recurring rules give only their latest occurrence,
so a rule evaluated after a long downtime yields one item per reason, not one
per missed tick. Decisions (documented in the README, "Reminders and scheduled jobs"):

- approval waiting: occurrence n is due ``4 + (n-1)·day_length`` working hours after the
  step became active (day_length = 9 h by default, i.e. then every working day at the
  same working-clock point), to every holder of the step's role except the owner; from
  24 h (wall clock) after activation also to the escalation person (see
  :meth:`Staff.approver_escalation`).
- delivery due soon: from the first working moment of (交期 − 2 days) until 交期, once per
  (order, 交期), to the owner and every warehouse holder.
- delivery overdue: from the first working moment of (交期 + 1 day), once per (order, 交期),
  in the order's group with the owner @mentioned; from (交期 + 7 days) once to the owner's
  manager (the 主管 digest: merged per 主管 at delivery).
- payment overdue: the due date comes from :mod:`schedules.terms`; from the day after it,
  every working day once (at the start of working time) to the owner; from 15 days once
  to the owner's manager; from 30 days once to every finance holder (the dunning list).
- after-sales 回访: 3 days after a ticket is resolved (moved to working time), once, to
  every service holder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from schedules.calendar import Calendar
from schedules.terms import payment_due

# the facts the rules read are loaded by storage (``uow.agenda``) and re-exported here
from storage.agenda_facts import ApprovalFacts as ApprovalFacts
from storage.agenda_facts import OrderFacts as OrderFacts
from storage.agenda_facts import StaffRows
from storage.agenda_facts import TicketFacts as TicketFacts
from storage.vocab import ApprovalStatus, State, TicketStatus

APPROVAL_FIRST = timedelta(hours=4)
APPROVAL_ESCALATE = timedelta(hours=24)
SOON_DAYS = 2
LATE_ESCALATE_DAYS = 7
PAY_ESCALATE_DAYS = 15
PAY_DUNNING_DAYS = 30
VISIT_AFTER = timedelta(days=3)
#: kinds a rule creates (``custom`` rows come from ``/提醒``)
RULE_KINDS = ("approval", "delivery_soon", "delivery_overdue", "delivery_escalation", "payment_overdue",
              "payment_escalation", "payment_dunning", "visit")
#: kinds bound to an order whose reason is checked again at delivery
ORDER_KINDS = frozenset(RULE_KINDS) - {"approval", "visit"}


@dataclass(frozen=True)
class Staff:
    """Active people by role, and who reports to whom."""

    holders: dict[str, tuple[int, ...]] = field(default_factory=dict)
    managers: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: StaffRows) -> Staff:
        """From what :meth:`storage.repos.agenda.AgendaRepository.staff` loads."""
        return cls(rows.holders, rows.managers)

    def of(self, role: str) -> tuple[int, ...]:
        """Active holders of ``role``."""
        return self.holders.get(role, ())

    def owner_escalation(self, owner_id: int) -> tuple[int, ...]:
        """The owner's own manager when set, else every 主管 (never the owner)."""
        own = self.managers.get(owner_id)
        if own is not None:
            return (own,)
        return tuple(p for p in self.of("manager") if p != owner_id)

    def approver_escalation(self, approver_id: int, role: str) -> tuple[int, ...]:
        """An approver's own manager when set; else 老板 above a 主管 step; else nobody."""
        own = self.managers.get(approver_id)
        if own is not None:
            return (own,)
        return self.of("boss") if role == "manager" else ()


@dataclass(frozen=True)
class Due:
    """A reminder whose time has come: to one person, for one reason, once per ``key``."""

    kind: str
    key: str
    person_id: int
    due_at: datetime
    order_id: int | None = None
    text: str = ""


def _unique(ids: Iterable[int], exclude: Iterable[int] = ()) -> list[int]:
    skip = set(exclude)
    out: list[int] = []
    for pid in ids:
        if pid not in skip and pid not in out:
            out.append(pid)
    return out


# ---- approvals --------------------------------------------------------------------------------
def approval_occurrence(activated_at: datetime, now: datetime, cal: Calendar) -> tuple[int, datetime] | None:
    """The latest occurrence (n, time) of an approval reminder at ``now``, if any is due."""
    elapsed = cal.working_time_between(activated_at, now)
    if elapsed < APPROVAL_FIRST:
        return None
    n = (elapsed - APPROVAL_FIRST) // cal.day_length + 1
    return n, cal.add_working_hours(activated_at, APPROVAL_FIRST + (n - 1) * cal.day_length)


def approval_dues(steps: Iterable[ApprovalFacts], staff: Staff, now: datetime, cal: Calendar) -> list[Due]:
    """Approval waiting, and its escalation after 24 h."""
    out: list[Due] = []
    for step in steps:
        if step.status != ApprovalStatus.PENDING:
            continue
        occ = approval_occurrence(step.activated_at, now, cal)
        if occ is None:
            continue
        n, at = occ
        approvers = _unique(staff.of(step.role), exclude=[step.owner_id])
        people = list(approvers)
        if at - step.activated_at >= APPROVAL_ESCALATE:
            for approver in approvers:
                people += staff.approver_escalation(approver, step.role)
        for pid in _unique(people, exclude=[step.owner_id]):
            out.append(Due("approval", f"approval:{step.id}:{n}:{pid}", pid, at, step.order_id,
                           f"#{step.order_no} 待审批"))
    return out


# ---- deliveries --------------------------------------------------------------------------------
def delivery_dues(orders: Iterable[OrderFacts], staff: Staff, now: datetime, cal: Calendar) -> list[Due]:
    """Delivery due soon, overdue (in the order's group) and its 7-day escalation."""
    out: list[Due] = []
    today = cal.today(now)
    for o in orders:
        if o.state != State.CONFIRMED or o.fully_shipped or o.due_date is None:
            continue
        d = o.due_date
        soon_at = cal.first_working_moment(d - timedelta(days=SOON_DAYS))
        if soon_at <= now and today <= d:
            for pid in _unique([o.owner_id, *staff.of("warehouse")]):
                out.append(Due("delivery_soon", f"soon:{o.id}:{d}:{pid}", pid, soon_at, o.id, f"#{o.no} 交期临近"))
        late_at = cal.first_working_moment(d + timedelta(days=1))
        if late_at <= now:
            out.append(Due("delivery_overdue", f"late:{o.id}:{d}:{o.owner_id}", o.owner_id, late_at, o.id,
                           f"#{o.no} 交期已过"))
        esc_at = cal.first_working_moment(d + timedelta(days=LATE_ESCALATE_DAYS))
        if esc_at <= now:
            for pid in staff.owner_escalation(o.owner_id):
                out.append(Due("delivery_escalation", f"late7:{o.id}:{d}:{pid}", pid, esc_at, o.id,
                               f"#{o.no} 交期逾期 7 天以上"))
    return out


# ---- payments ---------------------------------------------------------------------------------
def payment_due_date(o: OrderFacts, cal: Calendar) -> date | None:
    """The order's payment due date under its terms."""
    return payment_due(o.payment_terms, o.confirmed_at, o.full_shipped_at, cal.tz)


def payment_dues(orders: Iterable[OrderFacts], staff: Staff, now: datetime, cal: Calendar) -> list[Due]:
    """Payment overdue: the owner every working day; 主管 after 15 days; finance after 30."""
    out: list[Due] = []
    today = cal.today(now)
    today_at = cal.at(today, cal.work_start)
    for o in orders:
        if o.state != State.CONFIRMED or o.balance <= 0:
            continue
        pd = payment_due_date(o, cal)
        if pd is None:
            continue
        first = cal.first_working_moment(pd + timedelta(days=1))
        if first <= now and cal.is_working_day(today) and today_at <= now:
            out.append(Due("payment_overdue", f"pay:{o.id}:{today}:{o.owner_id}", o.owner_id,
                           max(first, today_at), o.id, f"#{o.no} 回款逾期"))
        esc = cal.first_working_moment(pd + timedelta(days=PAY_ESCALATE_DAYS))
        if esc <= now:
            for pid in staff.owner_escalation(o.owner_id):
                out.append(Due("payment_escalation", f"pay15:{o.id}:{pd}:{pid}", pid, esc, o.id,
                               f"#{o.no} 回款逾期 15 天以上"))
        dun = cal.first_working_moment(pd + timedelta(days=PAY_DUNNING_DAYS))
        if dun <= now:
            for pid in staff.of("finance"):
                out.append(Due("payment_dunning", f"pay30:{o.id}:{pd}:{pid}", pid, dun, o.id,
                               f"#{o.no} 回款逾期 30 天以上，列入催收"))
    return out


# ---- after-sales --------------------------------------------------------------------------------
def visit_dues(tickets: Iterable[TicketFacts], staff: Staff, now: datetime, cal: Calendar) -> list[Due]:
    """回访 3 days after a ticket is resolved, to every service holder."""
    out: list[Due] = []
    for t in tickets:
        if t.status != TicketStatus.RESOLVED or t.resolved_at is None:
            continue
        at = cal.next_working_moment(t.resolved_at + VISIT_AFTER)
        if at <= now:
            for pid in staff.of("service"):
                out.append(Due("visit", f"visit:{t.id}:{pid}", pid, at, t.order_id, f"T{t.no} 回访"))
    return out


@dataclass(frozen=True)
class Snapshot:
    """Everything the rules read."""

    orders: tuple[OrderFacts, ...] = ()
    approvals: tuple[ApprovalFacts, ...] = ()
    tickets: tuple[TicketFacts, ...] = ()
    staff: Staff = field(default_factory=Staff)


def due_reminders(snapshot: Snapshot, now: datetime, cal: Calendar) -> list[Due]:
    """Every rule reminder due at ``now`` (pure: the same inputs give the same keys)."""
    s = snapshot
    return (approval_dues(s.approvals, s.staff, now, cal) + delivery_dues(s.orders, s.staff, now, cal)
            + payment_dues(s.orders, s.staff, now, cal) + visit_dues(s.tickets, s.staff, now, cal))
