"""Notification texts, one per domain event kind."""

from __future__ import annotations

from typing import Any

from handlers.texts.shared_replies import money
from storage.models import Order
from storage.vocab import ROLE_LABELS

#: how a closed approval card states its outcome, by the event that closed it
OUTCOMES = {"approved": "通过", "step_approved": "通过", "change_approved": "通过", "rejected": "驳回",
            "change_rejected": "驳回", "withdrawn": "已撤回", "cancelled": "已作废", "held": "已挂起",
            "closed": "已关闭", "change_obsolete": "已失效"}


def notice(kind: str, order: Order, data: dict[str, Any], actor: str) -> str | None:
    """The one-line notification for an event, or None when the event notifies nobody."""
    no = f"#{order.no}"
    cust = order.customer.name if order.customer else ""
    d = data
    texts = {
        "submitted": lambda: f"🆕 {no} 新订单｜{cust} {money(order.amount)}｜{order.owner.label}",
        "approval_needed": lambda: f"⏳ {no} 待{ROLE_LABELS.get(d.get('role', ''), '')}审批｜"
                                   f"{cust} {money(order.amount)}",
        "step_approved": lambda: f"☑️ {no} {actor} 已通过，等待下一级审批",
        "approved": lambda: f"✅ {no} 审批通过（{actor}），订单已确认",
        "confirmed": lambda: f"✅ {no} 已确认（金额低于审批线，自动确认）",
        "rejected": lambda: f"❌ {no} 被驳回（{actor}）：{d.get('comment') or '未填理由'}。修改后 /提交 #{order.no}",
        "withdrawn": lambda: f"↩️ {no} 已撤回为草稿（{actor}）",
        "change_requested": lambda: f"✏️ {no} 申请变更（{actor}）",
        "change_approved": lambda: f"✅ {no} 变更已通过（{actor}）",
        "change_rejected": lambda: f"❌ {no} 变更被驳回（{actor}）：{d.get('comment') or '未填理由'}",
        "change_obsolete": lambda: f"⚠️ {no} 的变更已失效：{_OBSOLETE.get(d.get('why', ''), '订单已变化')}，"
                                   f"如仍需要请重新 /变更 #{order.no}",
        "change_applied": lambda: f"📝 {no} 变更已生效，版本 v{d.get('version')}",
        "production_started": lambda: f"🏭 {no} 开始生产（{actor}）",
        "production_finished": lambda: f"📦 {no} 已完工，待发货（{actor}）",
        "shipped": lambda: f"🚚 {no} 第{d.get('seq')}批发货：{_lines(d)}{_carrier(d)}"
                           f"{'（已全部发货）' if d.get('full') else ''}"
                           f"{_unpaid(d)}",
        "signed": lambda: f"✍️ {no} 客户已签收",
        "paid": lambda: f"💰 {no} 回款 {money(_dec(d.get('amount')))}{_method(d)}，"
                        f"待收 {money(_dec(d.get('balance')))}",
        "completed": lambda: f"🎉 {no} 已完成（全部发货并回款）",
        "held": lambda: f"⏸ {no} 已挂起（{actor}）：{d.get('reason') or ''}",
        "resumed": lambda: f"▶️ {no} 已恢复（{actor}）",
        "closed": lambda: f"⏹ {no} 已关闭（{actor}）：{d.get('reason') or ''}",
        "cancelled": lambda: f"🗑 {no} 已作废（{actor}）：{d.get('reason') or ''}",
        "reopened": lambda: f"🔁 {no} 已重开（{actor}）：{d.get('reason') or ''}",
        "ticket_opened": lambda: f"🛠 {no} 售后 T{d.get('ticket_no')}：{d.get('text')}",
        "ticket_resolved": lambda: f"✅ {no} 售后 T{d.get('ticket_no')} 已解决",
        "reassigned": lambda: f"👤 {no} 负责人变更为 {d.get('to')}（{d.get('from')} 已离职）",
    }
    make = texts.get(kind)
    return make() if make else None


_OBSOLETE = {"state": "订单状态已变化", "version": "订单内容已变更", "shipped": "已发数量超过变更后的数量",
             "paid": "已回款超过变更后的金额"}


def notice_obsolete(why: str) -> str:
    """Why a waiting change lapsed."""
    return _OBSOLETE.get(why, "订单已变化")


def _dec(value: Any) -> Any:
    from decimal import Decimal

    return Decimal(str(value)) if value is not None else None


def _lines(d: dict[str, Any]) -> str:
    def plain(q: str) -> str:
        return q.rstrip("0").rstrip(".") if "." in q else q

    return "、".join(f"{sku}×{plain(q)}{unit}" for sku, q, unit in d.get("lines", []))


def _carrier(d: dict[str, Any]) -> str:
    parts = [p for p in (d.get("carrier"), d.get("tracking_no")) if p]
    return f"，{' '.join(parts)}" if parts else ""


def _unpaid(d: dict[str, Any]) -> str:
    return f"。⚠️ 付款方式「{d.get('terms')}」，尚未回款" if d.get("unpaid_prepay") else ""


def _method(d: dict[str, Any]) -> str:
    return f"（{d['method']}）" if d.get("method") else ""
