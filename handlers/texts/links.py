"""Chinese texts of the signed approval-link pages (``web/approval_pages.py``, ``web/templates/approve.html``).

The order summary reuses the approval card's own
body text, so the phone page and the card say the same thing.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from handlers.texts.orders import approval_body
from handlers.texts.shared_replies import money
from storage.models import Approval, Order, Person
from storage.vocab import ApprovalStatus

#: longest reject reason the page accepts (the chat command has no limit, but a form needs one)
MAX_REASON = 500

_LABELS = {
    "page_title": "订单审批",
    "approver": "审批人",
    "confirm_ok": "确认通过",
    "confirm_no": "确认驳回",
    "reason_label": "驳回理由（必填）",
    "reason_placeholder": "例如：价格低于底价，请重新报价",
    "hint": "点按钮后才会生效；只打开本页不会改变任何东西。",
    "result_title": "处理结果",
    "footer": "跟单助手",
}

_REFUSALS = {
    "missing": ("链接不完整", "这个链接不带审批凭据，不能直接审批。请在钉钉里给机器人发送「/审批 #单号 通过」"
                "或「/审批 #单号 驳回 理由」。"),
    "forged": ("链接无效", "链接的签名校验不通过（可能被改动过，或不是本系统发出的），没有做任何操作。"
               "请使用审批卡片上的原始按钮，或发送「/审批 #单号 通过」。"),
    "expired": ("链接已过期", "审批链接在发出 72 小时后失效，没有做任何操作。"
                "请发送「/审批 #单号 通过」或「/审批 #单号 驳回 理由」。"),
    "used": ("链接已使用", "这个审批链接已经用过一次，每个链接只能使用一次，这次没有做任何操作。"
             "可发送「/查单 #单号」查看当前状态。"),
    "reason_required": ("请填写驳回理由", "驳回需要写明理由，申请人会看到它。"),
    "too_long": ("理由太长", f"驳回理由最多 {MAX_REASON} 个字，请精简后再提交。"),
    "gone": ("审批不存在", "找不到这条审批（可能订单已被删除），没有做任何操作。"),
}


def labels() -> dict[str, str]:
    """Fixed page labels (headings, buttons, hints)."""
    return dict(_LABELS)


def refusal(reason: str) -> tuple[str, str]:
    """(heading, explanation) for a refused link; ``reason`` is one of the keys above."""
    return _REFUSALS.get(reason, _REFUSALS["forged"])


def decision_label(decision: str) -> str:
    """What the link will do: 通过 or 驳回."""
    return "驳回" if decision == "no" else "通过"


def confirm_heading(order: Order, decision: str) -> str:
    """``确认通过 #12 ¥18,000？``."""
    return f"确认{decision_label(decision)} #{order.no} {money(order.amount)}？"


def summary(order: Order, step: Approval, diff: list[dict[str, Any]] | None) -> str:
    """The order as the approver's card shows it (customer, lines, amount, due date, why)."""
    return approval_body(order, step, {"diff": diff} if diff is not None else None)


def approver(person: Person | None, user_id: str) -> str:
    """The approver's display name (the link is bound to them)."""
    return person.label if person is not None else user_id


def decided(order: Order, step: Approval, tz: tzinfo) -> tuple[str, str]:
    """(heading, explanation) when this approval step was already settled by someone."""
    outcomes: dict[str, str] = {ApprovalStatus.APPROVED: "已通过", ApprovalStatus.REJECTED: "已驳回",
                                ApprovalStatus.CANCELLED: "已撤回或作废"}
    outcome = outcomes.get(step.status, "已处理")
    who = step.decider.label if step.decider is not None else "他人"
    when = _short(step.decided_at, tz)
    text = f"#{order.no} 这一步审批{outcome}（{who}{' ' + when if when else ''}），不需要再操作。"
    if step.comment:
        text += f"\n理由：{step.comment}"
    return f"#{order.no} 审批{outcome}", text


def result_text(replies: list[str]) -> str:
    """The bot's answer to the decision, shown on the result page."""
    return "\n\n".join(replies) if replies else "已提交。"


def _short(when: datetime | None, tz: tzinfo) -> str:
    return when.astimezone(tz).strftime("%m-%d %H:%M") if when is not None else ""
