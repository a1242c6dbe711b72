"""The order state machine: pure, table-driven, and the only writer of ``Order.state``.

Nothing here does I/O. Services load an order, ask :func:`check` whether an
actor may do an action now, then call :func:`set_state` (or the helpers) and
write the audit event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from storage.vocab import Action, Role, Stage, State

OWNER = "owner"  # pseudo-role: the order's owner


@dataclass(frozen=True)
class Rule:
    """Who may do an action from which states, and where it leads (None: the state stays)."""

    sources: frozenset[State]
    who: frozenset[str]
    target: State | None = None


def _rule(sources: Iterable[State], who: Iterable[str], target: State | None = None) -> Rule:
    return Rule(frozenset(sources), frozenset(who), target)


S = State
R = Role
#: (action) → rules; an action may have several rules (e.g. who may cancel depends on the state)
TRANSITIONS: dict[Action, tuple[Rule, ...]] = {
    Action.EDIT: (_rule([S.DRAFT, S.REJECTED], [OWNER]),),
    Action.SUBMIT: (_rule([S.DRAFT, S.REJECTED], [OWNER], S.PENDING_APPROVAL),),
    Action.WITHDRAW: (_rule([S.PENDING_APPROVAL], [OWNER], S.DRAFT),),
    # the approver's role is the current step's; checked by check_approver()
    Action.APPROVE: (_rule([S.PENDING_APPROVAL], [R.MANAGER, R.BOSS], S.CONFIRMED),),
    Action.REJECT: (_rule([S.PENDING_APPROVAL], [R.MANAGER, R.BOSS], S.REJECTED),),
    Action.CHANGE: (_rule([S.CONFIRMED], [OWNER]),),
    Action.START_PRODUCTION: (_rule([S.CONFIRMED], [R.PRODUCTION]),),
    Action.FINISH_PRODUCTION: (_rule([S.CONFIRMED], [R.PRODUCTION]),),
    Action.SHIP: (_rule([S.CONFIRMED], [R.WAREHOUSE]),),
    Action.SIGN: (_rule([S.CONFIRMED, S.COMPLETED], [OWNER, R.SALES, R.WAREHOUSE]),),
    Action.PAY: (_rule([S.CONFIRMED], [R.FINANCE]),),
    Action.HOLD: (_rule([S.CONFIRMED], [R.MANAGER], S.ON_HOLD),),
    Action.RESUME: (_rule([S.ON_HOLD], [R.MANAGER], S.CONFIRMED),),
    Action.CLOSE: (_rule([S.CONFIRMED, S.ON_HOLD], [R.MANAGER], S.CLOSED),),
    Action.CANCEL: (
        _rule([S.DRAFT, S.REJECTED], [OWNER], S.CANCELLED),
        _rule([S.PENDING_APPROVAL, S.CONFIRMED, S.ON_HOLD], [R.MANAGER], S.CANCELLED),
    ),
    Action.REOPEN: (
        _rule([S.CLOSED], [R.ADMIN], S.CONFIRMED),
        _rule([S.CANCELLED], [R.ADMIN], S.DRAFT),
    ),
    Action.FOLLOW_UP: (
        _rule([S.DRAFT, S.PENDING_APPROVAL, S.REJECTED, S.CONFIRMED, S.ON_HOLD, S.COMPLETED],
              [OWNER, R.MANAGER]),
    ),
}


class LineView(Protocol):
    """What the rules read of an order line (read-only, so ORM rows and test doubles both fit)."""

    @property
    def qty(self) -> Decimal: ...

    @property
    def shipped_qty(self) -> Decimal: ...

    @property
    def unit_price(self) -> Decimal | None: ...


class OrderView(Protocol):
    """What the rules read of an order (the ORM ``Order`` satisfies it); ``state`` is written here."""

    state: str

    @property
    def production(self) -> str: ...

    @property
    def owner_id(self) -> int: ...

    @property
    def customer_id(self) -> int | None: ...

    @property
    def due_date(self) -> date | None: ...

    @property
    def amount(self) -> Decimal: ...

    @property
    def paid_amount(self) -> Decimal: ...

    @property
    def written_off(self) -> Decimal: ...

    @property
    def lines(self) -> Sequence[LineView]: ...


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the rules see them."""

    person_id: int
    roles: frozenset[str]


class Refused(Exception):
    """An action is not allowed now. ``code`` names the reason; ``params`` fill its text."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _who_matches(who: frozenset[str], order: OrderView, actor: Actor) -> bool:
    if OWNER in who and order.owner_id == actor.person_id:
        return True
    return bool(who & actor.roles)


def rule_for(order: OrderView, action: Action) -> Rule | None:
    """The rule of ``action`` that applies in the order's current state, if any."""
    for rule in TRANSITIONS[action]:
        if State(order.state) in rule.sources:
            return rule
    return None


def check(order: OrderView, action: Action, actor: Actor) -> Rule:
    """Raise :class:`Refused` unless ``actor`` may do ``action`` to ``order`` now."""
    rule = rule_for(order, action)
    if rule is None:
        raise Refused("bad_state", action=action, state=order.state,
                      allowed=sorted({s for r in TRANSITIONS[action] for s in r.sources}))
    if not _who_matches(rule.who, order, actor):
        raise Refused("not_allowed", action=action, who=sorted(rule.who))
    _check_guards(order, action)
    return rule


def _check_guards(order: OrderView, action: Action) -> None:
    """Conditions beyond state and role."""
    shipped = any(line.shipped_qty > 0 for line in order.lines)
    if action is Action.CANCEL and (shipped or order.paid_amount > 0):
        raise Refused("cancel_after_activity")
    if action is Action.START_PRODUCTION and order.production != "NONE":
        raise Refused("production_already", production=order.production)
    if action is Action.FINISH_PRODUCTION and order.production == "FINISHED":
        raise Refused("production_already", production=order.production)
    if action is Action.SHIP and not any(line.qty - line.shipped_qty > 0 for line in order.lines):
        raise Refused("nothing_to_ship")
    if action is Action.SIGN and not shipped:
        raise Refused("nothing_shipped")
    if action is Action.PAY and balance(order) <= 0:
        raise Refused("nothing_to_pay")
    if action is Action.SUBMIT and missing(order):
        raise Refused("incomplete", missing=missing(order))


def allowed_actions(order: OrderView, actor: Actor) -> list[Action]:
    """Every action ``actor`` may do to ``order`` now (for ``/帮助 #12``)."""
    out = []
    for action in TRANSITIONS:
        try:
            check(order, action, actor)
        except Refused:
            continue
        out.append(action)
    return out


def set_state(order: OrderView, target: State) -> None:
    """Write the state. The one place that assigns ``order.state``."""
    order.state = target.value


def balance(order: OrderView) -> Decimal:
    """Amount still to collect."""
    return order.amount - order.paid_amount - order.written_off


def missing(order: OrderView) -> list[str]:
    """Field names still needed before the order can be submitted."""
    out = []
    if order.customer_id is None:
        out.append("customer")
    if not order.lines:
        out.append("lines")
    elif any(line.unit_price is None for line in order.lines):
        out.append("unit_price")
    if order.due_date is None:
        out.append("due_date")
    return out


def fully_shipped(order: OrderView) -> bool:
    """Every line shipped in full."""
    return bool(order.lines) and all(line.shipped_qty >= line.qty for line in order.lines)


def stage(order: OrderView) -> Stage | None:
    """The computed stage of a CONFIRMED order (None in any other state)."""
    if order.state != State.CONFIRMED:
        return None
    if fully_shipped(order):
        return Stage.AWAITING_PAYMENT
    if any(line.shipped_qty > 0 for line in order.lines):
        return Stage.PARTIALLY_SHIPPED
    if order.production == "FINISHED":
        return Stage.READY
    if order.production == "STARTED":
        return Stage.IN_PRODUCTION
    return Stage.PREPARING


def settle(order: OrderView) -> bool:
    """CONFIRMED → COMPLETED when fully shipped and fully paid; True if it changed."""
    if order.state == State.CONFIRMED and fully_shipped(order) and balance(order) <= 0:
        set_state(order, State.COMPLETED)
        return True
    return False


@dataclass(frozen=True)
class Step:
    """One approval step: the role that decides and why the step is needed."""

    role: Role
    reasons: tuple[str, ...]


def approval_chain(
    amount: Decimal, t1: Decimal, t2: Decimal, *, below_floor: bool = False, over_credit: bool = False
) -> list[Step]:
    """The approval chain for an order or change: empty means auto-confirm.

    amount < T1 → none; T1 ≤ amount < T2 → 主管; amount ≥ T2 → 主管 then 老板.
    A price below floor or a customer over credit adds 主管 even under T1.
    """
    manager_reasons: list[str] = []
    if amount >= t1:
        manager_reasons.append("amount_t1")
    if below_floor:
        manager_reasons.append("below_floor")
    if over_credit:
        manager_reasons.append("over_credit")
    steps: list[Step] = []
    if manager_reasons:
        steps.append(Step(Role.MANAGER, tuple(manager_reasons)))
    if amount >= t2:
        steps.append(Step(Role.BOSS, ("amount_t2",)))
    return steps


def check_not_self(owner_id: int, actor: Actor) -> None:
    """Nobody approves their own order."""
    if owner_id == actor.person_id:
        raise Refused("self_approval")


def check_approver(step_role: str, actor: Actor) -> None:
    """The actor must hold the role of the step being decided."""
    if step_role not in actor.roles:
        raise Refused("not_approver", role=step_role)


def on_hold_or_final(state: str) -> bool:
    """States in which reminders are paused or over."""
    return state in {S.ON_HOLD, S.COMPLETED, S.CLOSED, S.CANCELLED}


def now_or(value: datetime | None, now: datetime) -> datetime:
    """``value`` when set, else ``now`` (timestamps set once)."""
    return value if value is not None else now
