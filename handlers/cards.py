"""Card payloads and card builders: *what* a card shows (platforms decide how)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.outbound import ActionData, Button, Card, Message
from handlers.texts import orders as ot
from handlers.texts.replies import money, short_date
from storage.models import Approval, Order


@dataclass(frozen=True)
class ApprovalAction(ActionData):
    """A press on 通过 / 驳回 of one approval step's card."""

    prefix = "ap"
    approval_id: int
    decision: str  # "ok" | "no"


def card_key(approval_id: int) -> str:
    """Every copy of one step's card shares this key."""
    return f"appr:{approval_id}"


def approval_card(order: Order, step: Approval, change: dict[str, Any] | None) -> Message:
    """The card each approver receives."""
    title = f"{'变更' if change else '订单'}审批 #{order.no} {money(order.amount)}"
    body = ot.approval_body(order, step, change)
    card = Card(
        title=title,
        body=body,
        buttons=(
            Button("通过", ApprovalAction(step.id, "ok").pack(), "primary"),
            Button("驳回", ApprovalAction(step.id, "no").pack(), "danger"),
        ),
        fields=(("客户", order.customer.name if order.customer else "—"), ("金额", money(order.amount)),
                ("交期", short_date(order.due_date)), ("提交人", order.owner.label)),
    )
    return Message(kind="card", text=f"{title}\n{body}\n回复 /审批 #{order.no} 通过 或 /审批 #{order.no} 驳回 理由",
                   card=card, card_key=card_key(step.id))


def decided_card(order: Order, step: Approval, who: str, outcome: str, at: datetime) -> Message:
    """The closed version every copy is updated to after a decision."""
    title = f"审批 #{order.no} {money(order.amount)}：{outcome}"
    body = f"{who} {outcome}（{at.strftime('%m-%d %H:%M')}）"
    if step.comment:
        body += f"\n理由：{step.comment}"
    return Message(kind="card", text=f"{title}\n{body}", card=Card(title=title, body=body, closed=True),
                   card_key=card_key(step.id))
