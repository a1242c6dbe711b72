"""The approval chain: pure, table-driven, and the only place that moves approval steps and change requests.

An order's submission or a change request opens a *round* of steps (``lifecycle.approval_chain``
says which roles); the first step is PENDING, the rest WAITING. A decision moves the pending
step (:data:`STEP_MOVES`) and leads to one :class:`Outcome` (:func:`outcome`): the next step
becomes pending, the chain is done (the order is confirmed, the change applies), it is rejected,
or — for a change — it lapsed because the order moved on meanwhile. :data:`EVENTS` names the
event of each outcome. Who may decide: the holder of the step's role, never the order's owner,
and an admin standing in when nobody else holds the role (:func:`stands_in`).

Nothing here does I/O (like ``storage/lifecycle.py``): services load the rows and the holders of
a role, ask here, write the audit event and return the events. New rows start in
:func:`opening_status` (a change request: PENDING); after that only :func:`move` and
:func:`move_change` assign a status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from storage import domain_events as ev
from storage import lifecycle
from storage.lifecycle import Actor, Refused
from storage.vocab import Action, ApprovalStatus, ChangeStatus, Role, State

A = ApprovalStatus
C = ChangeStatus


class StepMove(StrEnum):
    """What can happen to one approval step."""

    ACTIVATE = "ACTIVATE"  # the step before it was approved
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CANCEL = "CANCEL"  # withdrawn, cancelled, held or closed before it was decided
    LAPSE = "LAPSE"  # a change's step approved after the order moved on: the approval does not count


#: move → (statuses it may start from, status it leads to)
STEP_MOVES: dict[StepMove, tuple[frozenset[ApprovalStatus], ApprovalStatus]] = {
    StepMove.ACTIVATE: (frozenset({A.WAITING}), A.PENDING),
    StepMove.APPROVE: (frozenset({A.PENDING}), A.APPROVED),
    StepMove.REJECT: (frozenset({A.PENDING}), A.REJECTED),
    StepMove.CANCEL: (frozenset({A.PENDING, A.WAITING}), A.CANCELLED),
    StepMove.LAPSE: (frozenset({A.APPROVED}), A.CANCELLED),
}


class ChangeMove(StrEnum):
    """What can happen to a change request."""

    APPLY = "APPLY"  # approved (or needing no approval): written as a new version
    REJECT = "REJECT"
    WITHDRAW = "WITHDRAW"  # lapsed: the order moved on while it waited


CHANGE_MOVES: dict[ChangeMove, tuple[frozenset[ChangeStatus], ChangeStatus]] = {
    ChangeMove.APPLY: (frozenset({C.PENDING}), C.APPLIED),
    ChangeMove.REJECT: (frozenset({C.PENDING}), C.REJECTED),
    ChangeMove.WITHDRAW: (frozenset({C.PENDING}), C.WITHDRAWN),
}


class Outcome(StrEnum):
    """Where a decision leads the chain."""

    NEXT = "NEXT"  # approved; a later step is pending now
    DONE = "DONE"  # approved; it was the last step: the order is confirmed, the change applies
    REJECTED = "REJECTED"  # rejected: the order is rejected, the change is not made
    LAPSED = "LAPSED"  # a change approved after the order moved on: withdrawn instead of applied


#: (a change's chain?, outcome) → the event the decision makes
EVENTS: dict[tuple[bool, Outcome], type[ev.StepDecided]] = {
    (False, Outcome.NEXT): ev.StepApproved,
    (False, Outcome.DONE): ev.Approved,
    (False, Outcome.REJECTED): ev.Rejected,
    (True, Outcome.NEXT): ev.StepApproved,
    (True, Outcome.DONE): ev.ChangeApproved,
    (True, Outcome.REJECTED): ev.ChangeRejected,
    (True, Outcome.LAPSED): ev.ChangeObsolete,
}


class StepView(Protocol):
    """What the rules read of an approval step (the ORM ``Approval`` satisfies it); ``status`` is written here."""

    status: str
    activated_at: datetime | None
    decided_at: datetime | None

    @property
    def step(self) -> int: ...

    @property
    def round(self) -> int: ...

    @property
    def role(self) -> str: ...

    @property
    def change_request_id(self) -> int | None: ...


S = TypeVar("S", bound=StepView)


class ChangeView(Protocol):
    """What the rules read of a change request; ``status`` is written here."""

    status: str
    decided_at: datetime | None

    @property
    def from_version(self) -> int: ...

    @property
    def after(self) -> dict[str, Any]: ...


class OrderView(lifecycle.OrderView, Protocol):
    """What the chain reads of an order, beyond what the lifecycle reads."""

    @property
    def approval_round(self) -> int: ...


class SkuLine(Protocol):
    """What the lapse rule reads of an order line."""

    @property
    def sku(self) -> str: ...

    @property
    def shipped_qty(self) -> Decimal: ...


class ChangedOrder(Protocol):
    """What the lapse rule reads of an order."""

    @property
    def state(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def paid_amount(self) -> Decimal: ...

    @property
    def lines(self) -> Sequence[SkuLine]: ...


# ---- opening, moving and cancelling steps -------------------------------------------------------
def opening_status(index: int) -> ApprovalStatus:
    """The status a new round's step starts in: the first is PENDING, the rest WAITING."""
    return A.PENDING if index == 0 else A.WAITING


def move(step: StepView, what: StepMove, now: datetime) -> None:
    """Move one step and stamp when (activated, or decided; a lapse keeps its decision's time).

    The one place that assigns ``Approval.status`` after :func:`opening_status`.
    """
    sources, target = STEP_MOVES[what]
    if ApprovalStatus(step.status) not in sources:
        raise ValueError(f"a {step.status} step cannot {what.value.lower()}")
    step.status = target.value
    if what is StepMove.ACTIVATE:
        step.activated_at = now
    elif what is not StepMove.LAPSE:
        step.decided_at = now


def move_change(change: ChangeView, what: ChangeMove, now: datetime) -> None:
    """Move a change request and stamp when it ended. The one place that assigns ``ChangeRequest.status``."""
    sources, target = CHANGE_MOVES[what]
    if ChangeStatus(change.status) not in sources:
        raise ValueError(f"a {change.status} change cannot {what.value.lower()}")
    change.status = target.value
    change.decided_at = now


def undecided(steps: Iterable[S]) -> list[S]:
    """Steps still waiting for a decision (pending or waiting)."""
    return [s for s in steps if s.status in STEP_MOVES[StepMove.CANCEL][0]]


def pending(steps: Iterable[S]) -> S | None:
    """The step awaiting a decision, if any."""
    return next((s for s in steps if s.status == A.PENDING), None)


def next_step(steps: Iterable[S], decided: StepView) -> S | None:
    """The first step after ``decided`` still waiting (``steps`` in step order); None: it was the last."""
    return next((s for s in steps if s.step > decided.step and s.status == A.WAITING), None)


def check_withdrawable(steps: Iterable[StepView]) -> None:
    """An order may be withdrawn only before anyone approved a step of its round."""
    if any(s.status == A.APPROVED for s in steps):
        raise Refused("already_approved")


# ---- who decides ---------------------------------------------------------------------------------
def vacant(roles: Iterable[str], holders: Mapping[str, Sequence[int]], owner_id: int) -> list[str]:
    """The roles (each once, in order) that nobody but the order's owner holds: their steps would wait forever.

    ``holders``: the person ids holding each role.
    """
    out: list[str] = []
    for role in roles:
        if role not in out and not [p for p in holders.get(role, ()) if p != owner_id]:
            out.append(role)
    return out


def asks_stand_in(step_role: str, actor: Actor) -> bool:
    """Whether the actor decides only as an admin (so :func:`stands_in` needs the role's holders)."""
    return step_role not in actor.roles and Role.ADMIN.value in actor.roles


def stands_in(step_role: str, actor: Actor, holders: Sequence[str]) -> bool:
    """Whether ``actor`` decides the step as an admin standing in for a role nobody holds.

    An order must not wait forever because a role is vacant (a small company may have no 老板
    in the system yet), so an admin may decide such a step; the history records it as
    decided by an admin standing in. While someone holds the role, only they decide.
    ``holders``: the labels of the role's holders other than the order's owner.
    """
    if not asks_stand_in(step_role, actor):
        return False
    if not holders:
        return True
    raise Refused("not_approver", role=step_role, holders=list(holders), admin=True)


def check_decidable(step: StepView, order: OrderView) -> None:
    """Only the pending step of the order's current round can be decided (a later press is stale)."""
    if step.status != A.PENDING or step.round != order.approval_round:
        raise Refused("stale", state=order.state)


def check_change_open(change: ChangeView, order: OrderView) -> None:
    """A step of a change that is no longer pending is stale."""
    if change.status != C.PENDING:
        raise Refused("stale", state=order.state)


def decider(step: StepView, order: OrderView, actor: Actor, approve: bool, stand_in: bool) -> Actor:
    """Check that ``actor`` may decide the step; returns the actor as the rules see them for this decision.

    An admin standing in acts with the step's role for this one decision. An order's own step
    also needs the order to be pending approval (the lifecycle's APPROVE / REJECT).
    """
    acting = Actor(actor.person_id, actor.roles | {step.role}) if stand_in else actor
    if step.change_request_id is None:
        lifecycle.check(order, Action.APPROVE if approve else Action.REJECT, acting)
    lifecycle.check_not_self(order.owner_id, acting)
    lifecycle.check_approver(step.role, acting)
    return acting


# ---- where a decision leads ----------------------------------------------------------------------
def outcome(approve: bool, nxt: StepView | None, lapsed: str | None = None) -> Outcome:
    """Where a decision leads: rejected, lapsed (a change the order outgrew), the next step, or done."""
    if not approve:
        return Outcome.REJECTED
    if lapsed is not None:
        return Outcome.LAPSED
    return Outcome.NEXT if nxt is not None else Outcome.DONE


def obsolete_reason(order: ChangedOrder, change: ChangeView) -> str | None:
    """Why a waiting change can no longer apply: state, version, shipped or paid; None if it still can."""
    if order.state != State.CONFIRMED:
        return "state"
    if order.version != change.from_version:
        return "version"
    shipped = {line.sku.lower(): line.shipped_qty for line in order.lines}
    if any(Decimal(str(ln["qty"])) < shipped.get(ln["sku"].lower(), Decimal(0)) for ln in change.after["lines"]):
        return "shipped"
    if Decimal(change.after["amount"]) < order.paid_amount:
        return "paid"
    return None


@dataclass(frozen=True)
class Decision:
    """One decided step, as its event carries it."""

    approval_id: int
    role: str
    comment: str | None
    change_request_id: int | None
    by: str
    stand_in: bool

    def event(self, order_id: int, order_no: int, result: Outcome, *, why: str = "",
              closed: Iterable[int] = ()) -> ev.StepDecided:
        """The event of this decision for ``result`` (see :data:`EVENTS`); a lapse says ``why`` and the
        steps whose cards ``closed``."""
        cls = EVENTS[(self.change_request_id is not None, result)]
        if cls is ev.ChangeObsolete:
            return ev.ChangeObsolete(order_id, order_no, approval_id=self.approval_id, role=self.role,
                                     comment=self.comment, change_request_id=self.change_request_id, by=self.by,
                                     stand_in=self.stand_in, why=why, lapsed_approvals=tuple(closed))
        return cls(order_id, order_no, approval_id=self.approval_id, role=self.role, comment=self.comment,
                   change_request_id=self.change_request_id, by=self.by, stand_in=self.stand_in)


def cancel_open(steps: Sequence[S], now: datetime) -> list[S]:
    """Cancel every undecided step (withdraw, cancel …); returns the PENDING ones, which had cards."""
    carded = [s for s in steps if s.status == A.PENDING]
    for s in undecided(steps):
        move(s, StepMove.CANCEL, now)
    return carded
