"""Notification texts, one per domain event kind."""

from __future__ import annotations

from handlers.texts.shared_replies import money
from storage import domain_events as ev
from storage.models import Order
from storage.vocab import ROLE_LABELS

#: how a closed approval card states its outcome, by the event that closed it
OUTCOMES: dict[type[ev.OrderEvent], str] = {
    ev.Approved: "通过", ev.StepApproved: "通过", ev.ChangeApproved: "通过", ev.Rejected: "驳回",
    ev.ChangeRejected: "驳回", ev.Withdrawn: "已撤回", ev.Cancelled: "已作废", ev.Held: "已挂起",
    ev.Closed: "已关闭", ev.ChangeObsolete: "已失效"}


def notice(event: ev.OrderEvent, order: Order, actor: str) -> str | None:
    """The one-line notification for an event, or None when the event notifies nobody."""
    no = f"#{order.no}"
    cust = order.customer.name if order.customer else ""
    match event:
        case ev.Submitted():
            return f"🆕 {no} 新订单｜{cust} {money(order.amount)}｜{order.owner.label}"
        case ev.ApprovalNeeded():
            return f"⏳ {no} 待{ROLE_LABELS.get(event.role, '')}审批｜{cust} {money(order.amount)}"
        case ev.StepApproved():
            return f"☑️ {no} {actor} 已通过，等待下一级审批"
        case ev.Approved():
            return f"✅ {no} 审批通过（{actor}），订单已确认"
        case ev.Confirmed():
            return f"✅ {no} 已确认（金额低于审批线，自动确认）"
        case ev.Rejected():
            return f"❌ {no} 被驳回（{actor}）：{event.comment or '未填理由'}。修改后 /提交 #{order.no}"
        case ev.Withdrawn():
            return f"↩️ {no} 已撤回为草稿（{actor}）"
        case ev.ChangeRequested():
            return f"✏️ {no} 申请变更（{actor}）"
        case ev.ChangeApproved():
            return f"✅ {no} 变更已通过（{actor}）"
        case ev.ChangeRejected():
            return f"❌ {no} 变更被驳回（{actor}）：{event.comment or '未填理由'}"
        case ev.ChangeObsolete():
            return (f"⚠️ {no} 的变更已失效：{_OBSOLETE.get(event.why, '订单已变化')}，"
                    f"如仍需要请重新 /变更 #{order.no}")
        case ev.ChangeApplied():
            return f"📝 {no} 变更已生效，版本 v{event.version}"
        case ev.ProductionStarted():
            return f"🏭 {no} 开始生产（{actor}）"
        case ev.ProductionFinished():
            return f"📦 {no} 已完工，待发货（{actor}）"
        case ev.Shipped():
            return (f"🚚 {no} 第{event.seq}批发货：{_lines(event)}{_carrier(event)}"
                    f"{'（已全部发货）' if event.full else ''}{_unpaid(event)}")
        case ev.Signed():
            return f"✍️ {no} 客户已签收"
        case ev.Paid():
            return f"💰 {no} 回款 {money(event.amount)}{_method(event)}，待收 {money(event.balance)}"
        case ev.Completed():
            return f"🎉 {no} 已完成（全部发货并回款）"
        case ev.Held():
            return f"⏸ {no} 已挂起（{actor}）：{event.reason or ''}"
        case ev.Resumed():
            return f"▶️ {no} 已恢复（{actor}）"
        case ev.Closed():
            return f"⏹ {no} 已关闭（{actor}）：{event.reason or ''}"
        case ev.Cancelled():
            return f"🗑 {no} 已作废（{actor}）：{event.reason or ''}"
        case ev.Reopened():
            return f"🔁 {no} 已重开（{actor}）：{event.reason or ''}"
        case ev.TicketOpened():
            return f"🛠 {no} 售后 T{event.ticket_no}：{event.text}"
        case ev.TicketResolved():
            return f"✅ {no} 售后 T{event.ticket_no} 已解决"
        case ev.Reassigned():
            return f"👤 {no} 负责人变更为 {event.successor}（{event.leaver} 已离职）"
    return None


_OBSOLETE = {"state": "订单状态已变化", "version": "订单内容已变更", "shipped": "已发数量超过变更后的数量",
             "paid": "已回款超过变更后的金额"}


def notice_obsolete(why: str) -> str:
    """Why a waiting change lapsed."""
    return _OBSOLETE.get(why, "订单已变化")


def _lines(event: ev.Shipped) -> str:
    def plain(q: str) -> str:
        return q.rstrip("0").rstrip(".") if "." in q else q

    return "、".join(f"{sku}×{plain(q)}{unit}" for sku, q, unit in event.lines)


def _carrier(event: ev.Shipped) -> str:
    parts = [p for p in (event.carrier, event.tracking_no) if p]
    return f"，{' '.join(parts)}" if parts else ""


def _unpaid(event: ev.Shipped) -> str:
    return f"。⚠️ 付款方式「{event.terms}」，尚未回款" if event.unpaid_prepay else ""


def _method(event: ev.Paid) -> str:
    return f"（{event.method}）" if event.method else ""
