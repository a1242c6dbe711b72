"""Domain events: what a service did that people may need to hear about, one frozen class per kind.

Services build them and return them with their change; ``handlers/notify.py`` routes them by
class. Each class says, as class attributes, what it is about and who hears of it:

- ``kind``: the stored name (outbox event keys are made of it, so it never changes);
- ``topic``: the groups subscribed to this topic get the notice (None: no group);
- ``owner_told``: whether the order's owner gets it 1:1 (see :class:`OwnerTold`);
- ``role_told``: every holder of this role gets it 1:1 (None: nobody);
- ``closes_cards``: the approval cards of :meth:`OrderEvent.approvals_closed` are closed.

A class that adds no field needs no ``@dataclass`` of its own. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from storage.vocab import Role, Topic


class OwnerTold(Enum):
    """When the order's owner hears of an event 1:1 (beyond the @mention in the order's group): never, only
    when the order was not made in a group, or always (a handover: the group does not know the new owner)."""

    NEVER = "never"
    OUTSIDE_GROUP = "outside_group"
    ALWAYS = "always"


@dataclass(frozen=True)
class DomainEvent:
    """Something happened that people may need to hear about."""

    kind: ClassVar[str]
    topic: ClassVar[Topic | None] = None
    owner_told: ClassVar[OwnerTold] = OwnerTold.NEVER
    role_told: ClassVar[Role | None] = None
    closes_cards: ClassVar[bool] = False


@dataclass(frozen=True)
class OrderEvent(DomainEvent):
    """An event about one order."""

    order_id: int
    order_no: int

    def approvals_closed(self) -> tuple[int, ...]:
        """The approval steps whose cards this event closes (when ``closes_cards``)."""
        return ()


@dataclass(frozen=True, kw_only=True)
class Created(OrderEvent):
    """An order was created; ``missing`` names what it still needs before it can be submitted."""

    kind: ClassVar[str] = "created"
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Edited(OrderEvent):
    """A draft was filled in."""

    kind: ClassVar[str] = "edited"
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Submitted(OrderEvent):
    """An order went to approval: the chain's roles, why each step is needed, and the vacant roles."""

    kind: ClassVar[str] = "submitted"
    topic: ClassVar[Topic | None] = Topic.NEW_ORDER
    steps: tuple[str, ...] = ()
    reasons: tuple[tuple[str, ...], ...] = ()
    vacant: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Confirmed(OrderEvent):
    """Confirmed at submission: the amount needed no approval."""

    kind: ClassVar[str] = "confirmed"
    topic: ClassVar[Topic | None] = Topic.APPROVAL
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP
    auto: bool = True


@dataclass(frozen=True, kw_only=True)
class Withdrawn(OrderEvent):
    """The owner withdrew a pending order to a draft."""

    kind: ClassVar[str] = "withdrawn"
    topic: ClassVar[Topic | None] = Topic.APPROVAL
    closes_cards: ClassVar[bool] = True
    closed_approvals: tuple[int, ...] = ()

    def approvals_closed(self) -> tuple[int, ...]:
        return self.closed_approvals


@dataclass(frozen=True, kw_only=True)
class ApprovalNeeded(OrderEvent):
    """A step became pending: its role's holders get the approval card."""

    kind: ClassVar[str] = "approval_needed"
    topic: ClassVar[Topic | None] = Topic.APPROVAL
    approval_id: int
    role: str
    reasons: tuple[str, ...] = ()
    change_request_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class StepDecided(OrderEvent):
    """A step was decided (by ``by``; ``stand_in``: an admin decided for a vacant role)."""

    topic: ClassVar[Topic | None] = Topic.APPROVAL
    closes_cards: ClassVar[bool] = True
    approval_id: int
    role: str
    comment: str | None = None
    change_request_id: int | None = None
    by: str = ""
    stand_in: bool = False

    def approvals_closed(self) -> tuple[int, ...]:
        return (self.approval_id,)


class StepApproved(StepDecided):
    """A step was approved and the next one is now pending."""

    kind: ClassVar[str] = "step_approved"


class Approved(StepDecided):
    """The last step was approved: the order is confirmed."""

    kind: ClassVar[str] = "approved"
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP


class Rejected(StepDecided):
    """A step was rejected: the order is rejected."""

    kind: ClassVar[str] = "rejected"
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP


@dataclass(frozen=True, kw_only=True)
class ChangeRequested(OrderEvent):
    """A change was asked for (``auto``: it needs no approval and applies at once)."""

    kind: ClassVar[str] = "change_requested"
    topic: ClassVar[Topic | None] = Topic.APPROVAL
    change_request_id: int
    diff: tuple[dict[str, Any], ...] = ()
    auto: bool = False


class ChangeApproved(StepDecided):
    """The last step of a change was approved (the change applies)."""

    kind: ClassVar[str] = "change_approved"
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP


class ChangeRejected(StepDecided):
    """A step of a change was rejected."""

    kind: ClassVar[str] = "change_rejected"
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP


@dataclass(frozen=True, kw_only=True)
class ChangeObsolete(StepDecided):
    """A change was approved after the order moved on (``why``): it lapsed instead of applying."""

    kind: ClassVar[str] = "change_obsolete"
    why: str = ""
    lapsed_approvals: tuple[int, ...] = ()

    def approvals_closed(self) -> tuple[int, ...]:
        return self.lapsed_approvals


@dataclass(frozen=True, kw_only=True)
class ChangeApplied(OrderEvent):
    """A change was written: the order is at ``version`` now."""

    kind: ClassVar[str] = "change_applied"
    topic: ClassVar[Topic | None] = Topic.APPROVAL
    change_request_id: int
    diff: tuple[dict[str, Any], ...] = ()
    version: int = 0


class ProductionStarted(OrderEvent):
    """Production started."""

    kind: ClassVar[str] = "production_started"
    topic: ClassVar[Topic | None] = Topic.PRODUCTION


class ProductionFinished(OrderEvent):
    """Production finished: the warehouse hears of it 1:1."""

    kind: ClassVar[str] = "production_finished"
    topic: ClassVar[Topic | None] = Topic.PRODUCTION
    role_told: ClassVar[Role | None] = Role.WAREHOUSE


@dataclass(frozen=True, kw_only=True)
class Shipped(OrderEvent):
    """A shipment left: its lines as (sku, quantity text, unit); ``unpaid_prepay`` warns the owner."""

    kind: ClassVar[str] = "shipped"
    topic: ClassVar[Topic | None] = Topic.SHIPPING
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP
    shipment_id: int
    seq: int
    carrier: str | None = None
    tracking_no: str | None = None
    lines: tuple[tuple[str, str, str], ...] = ()
    full: bool = False
    unpaid_prepay: bool = False
    terms: str | None = None


class Signed(OrderEvent):
    """The customer signed for the goods."""

    kind: ClassVar[str] = "signed"
    topic: ClassVar[Topic | None] = Topic.SHIPPING


@dataclass(frozen=True, kw_only=True)
class Paid(OrderEvent):
    """A payment was recorded; ``balance`` is what is still to collect."""

    kind: ClassVar[str] = "paid"
    topic: ClassVar[Topic | None] = Topic.PAYMENT
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP
    amount: Decimal
    method: str | None = None
    balance: Decimal


class Completed(OrderEvent):
    """Fully shipped and fully paid."""

    kind: ClassVar[str] = "completed"
    topic: ClassVar[Topic | None] = Topic.PAYMENT
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP


@dataclass(frozen=True, kw_only=True)
class ShortageFound(OrderEvent):
    """Stock is short for what confirmed orders hold; ``items``: sku, unit, short, on_hand, orders per product."""

    kind: ClassVar[str] = "shortage"
    items: tuple[dict[str, Any], ...] = ()
    cause: str = ""


@dataclass(frozen=True, kw_only=True)
class StateChanged(OrderEvent):
    """Held, resumed, closed, cancelled or reopened, with a reason (``from_state``: the state before)."""

    topic: ClassVar[Topic | None] = Topic.APPROVAL
    owner_told: ClassVar[OwnerTold] = OwnerTold.OUTSIDE_GROUP
    reason: str | None = None
    from_state: str = ""
    closed_approvals: tuple[int, ...] = ()
    #: the balance written off (a close)
    written_off: str | None = None

    def approvals_closed(self) -> tuple[int, ...]:
        return self.closed_approvals


class Held(StateChanged):
    """Put on hold."""

    kind: ClassVar[str] = "held"
    closes_cards: ClassVar[bool] = True


class Resumed(StateChanged):
    """Resumed after a hold."""

    kind: ClassVar[str] = "resumed"


class Closed(StateChanged):
    """Closed early (the balance is written off)."""

    kind: ClassVar[str] = "closed"
    closes_cards: ClassVar[bool] = True


class Cancelled(StateChanged):
    """Cancelled."""

    kind: ClassVar[str] = "cancelled"
    closes_cards: ClassVar[bool] = True


class Reopened(StateChanged):
    """Reopened by an admin."""

    kind: ClassVar[str] = "reopened"


@dataclass(frozen=True, kw_only=True)
class TicketOpened(OrderEvent):
    """An after-sales ticket was opened."""

    kind: ClassVar[str] = "ticket_opened"
    topic: ClassVar[Topic | None] = Topic.SERVICE
    ticket_no: int
    text: str


@dataclass(frozen=True, kw_only=True)
class TicketResolved(OrderEvent):
    """An after-sales ticket was resolved."""

    kind: ClassVar[str] = "ticket_resolved"
    topic: ClassVar[Topic | None] = Topic.SERVICE
    ticket_no: int


@dataclass(frozen=True, kw_only=True)
class Reassigned(OrderEvent):
    """The owner left; the order went to ``successor`` (labels of both)."""

    kind: ClassVar[str] = "reassigned"
    topic: ClassVar[Topic | None] = Topic.NEW_ORDER
    owner_told: ClassVar[OwnerTold] = OwnerTold.ALWAYS
    leaver: str
    successor: str


@dataclass(frozen=True)
class QuoteEvent(DomainEvent):
    """An event about one quotation."""

    quote_id: int


class QuoteCreated(QuoteEvent):
    """A quotation was made."""

    kind: ClassVar[str] = "quote_created"


class QuoteApprovalNeeded(QuoteEvent):
    """A quotation below floor price waits for a 主管."""

    kind: ClassVar[str] = "quote_approval_needed"


@dataclass(frozen=True, kw_only=True)
class QuoteDecided(QuoteEvent):
    """A 主管 decided a quotation (``by``: their name)."""

    comment: str | None = None
    by: str = ""


class QuoteApproved(QuoteDecided):
    """The quotation may be sent."""

    kind: ClassVar[str] = "quote_approved"


class QuoteRejected(QuoteDecided):
    """The quotation was turned down."""

    kind: ClassVar[str] = "quote_rejected"


@dataclass(frozen=True, kw_only=True)
class QuoteWithdrawn(QuoteEvent):
    """The quotation was withdrawn (``was``: its status before)."""

    kind: ClassVar[str] = "quote_withdrawn"
    was: str
