"""Card payloads and card builders: *what* a card shows (platforms decide how)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.outbound import ActionData, Button, Card, Message
from handlers.texts import orders as ot
from storage.models import Approval, Order


@dataclass(frozen=True)
class ApprovalAction(ActionData):
    """A press on 通过 / 驳回 of one approval step's card."""

    prefix = "ap"
    CHOICES = {"decision": frozenset({"ok", "no"})}  # noqa: RUF012  (a ClassVar of the base)
    approval_id: int
    decision: str  # "ok" | "no"


def card_key(approval_id: int) -> str:
    """Every copy of one step's card shares this key."""
    return f"appr:{approval_id}"


def approval_card(order: Order, step: Approval, change: dict[str, Any] | None) -> Message:
    """The card each approver receives."""
    title = ot.approval_title(order, change)
    body = ot.approval_body(order, step, change)
    card = Card(
        title=title,
        body=body,
        buttons=(
            Button(ot.APPROVE_LABEL, ApprovalAction(step.id, "ok").pack(), "primary"),
            Button(ot.REJECT_LABEL, ApprovalAction(step.id, "no").pack(), "danger"),
        ),
        fields=ot.approval_fields(order),
    )
    return Message(kind="card", text=ot.approval_plain(title, body, order.no), card=card, card_key=card_key(step.id))


def decided_card(order: Order, step: Approval, who: str, outcome: str, at: datetime) -> Message:
    """The closed version every copy is updated to after a decision."""
    title, body = ot.decided_card(order, who, outcome, at, step.comment)
    return Message(kind="card", text=f"{title}\n{body}", card=Card(title=title, body=body, closed=True),
                   card_key=card_key(step.id))
