"""How orders read in chat: the progress line, the order card, approval cards, notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from handlers.texts.shared_replies import REASON_LABELS, fields_text, money, qty, short_date, state_label
from storage import lifecycle
from storage.domain_events import Submitted
from storage.models import Approval, AuditEvent, Order
from storage.repos.order_card import CardEvent, OrderCard
from storage.vocab import ROLE_LABELS, State


def _pct(part: Decimal, whole: Decimal) -> int:
    if whole <= 0:
        return 0
    return int((part * 100 / whole).to_integral_value(rounding="ROUND_FLOOR"))


def progress_line(order: Order | OrderCard, today: date) -> str:
    """``#12 已确认·部分发货 | 已发 60% · 已收 30% · 交期 12-15 (逾期 2 天)``."""
    stage = lifecycle.stage(order)
    # shipped share by value (mixed products make a quantity share meaningless); by quantity if unpriced
    total = sum((ln.qty * (ln.unit_price or 0) for ln in order.lines), Decimal(0))
    shipped = sum((ln.shipped_qty * (ln.unit_price or 0) for ln in order.lines), Decimal(0))
    if total <= 0:
        total = sum((ln.qty for ln in order.lines), Decimal(0))
        shipped = sum((ln.shipped_qty for ln in order.lines), Decimal(0))
    parts = [f"已发 {_pct(shipped, total)}%", f"已收 {_pct(order.paid_amount, order.amount)}%",
             f"交期 {short_date(order.due_date, today)}"]
    line = f"#{order.no} {state_label(order.state, stage.value if stage else None)} | " + " · ".join(parts)
    if order.due_date and order.due_date < today and not lifecycle.fully_shipped(order) \
            and order.state in (State.CONFIRMED, State.PENDING_APPROVAL):
        line += f" (逾期 {(today - order.due_date).days} 天)"
    return line


def lines_text(order: Order | OrderCard) -> str:
    """One row per line: A100 ×20台 @¥300 = ¥6,000 (已发 8)."""
    rows = []
    for ln in order.lines:
        name = f"{ln.sku}" + (f"({ln.name})" if ln.name and ln.name != ln.sku else "")
        row = f"· {name} ×{qty(ln.qty)}{ln.unit or ''} @{money(ln.unit_price)}"
        if ln.unit_price is not None:
            row += f" = {money(ln.line_amount)}"
        if ln.shipped_qty:
            row += f"（已发 {qty(ln.shipped_qty)}）"
        rows.append(row)
    return "\n".join(rows) if rows else "· （还没有产品明细）"


def order_card(order: Order | OrderCard, today: date, history: Sequence[AuditEvent | CardEvent], tz: tzinfo) -> str:
    """The /查单 card: lines, progress, dates, last events."""
    out = [progress_line(order, today),
           f"客户：{order.customer.name if order.customer else '（未填）'}　负责人：{order.owner.label}",
           lines_text(order),
           f"金额 {money(order.amount)} · 已收 {money(order.paid_amount)} · 待收 {money(lifecycle.balance(order))}",
           f"付款方式：{order.payment_terms or '—'}"]
    if order.note:
        out.append(f"备注：{order.note}")
    missing = lifecycle.missing(order)
    if missing and order.state in (State.DRAFT, State.REJECTED):
        out.append(f"还缺：{fields_text(missing)}（/补充 #{order.no} …）")
    if order.state_reason:
        out.append(f"原因：{order.state_reason}")
    if history:
        out.append("最近记录：")
        for ev in history:
            out.append(f"  {ev.at.astimezone(tz).strftime('%m-%d %H:%M')} "
                       f"{ev.actor_name or ev.actor_user_id} {history_text(ev)}")
    return "\n".join(out)


#: placeholders for missing fields in the /补充 hint (sent unchanged they are refused, never stored)
FILL_PLACEHOLDERS = {"customer": "客户 名称", "lines": "产品×数量@单价", "due_date": "交期 月-日"}


def fill_hint(order: Order, missing: list[str]) -> str:
    """``/补充 #6 A100×10台@单价 交期 月-日``: every missing field; the person's own lines as typed."""
    parts = []
    for field in missing:
        if field == "unit_price":
            parts += [f"{ln.sku}×{qty(ln.qty)}{ln.unit or ''}@单价" for ln in order.lines if ln.unit_price is None]
        else:
            parts.append(FILL_PLACEHOLDERS[field])
    return f"/补充 #{order.no} " + " ".join(parts)


def created(order: Order, new_customer: str | None, free_lines: tuple[str, ...], today: date | None = None,
            submitted: Submitted | None = None) -> str:
    """Reply to /下单 (or /补充, /提交) about the order's status and what is missing.

    ``submitted`` is the data of the submission event: the approval steps, why, and the roles
    nobody holds (said now, not when the order reaches that step).
    """
    notes = []
    if new_customer:
        notes.append(f"新客户「{new_customer}」已建档。")
    if free_lines:
        notes.append(f"产品 {'、'.join(free_lines)} 不在产品库，按自由文本记录（不管库存）。")
    head = f"#{order.no} {order.customer.name if order.customer else ''} 金额 {money(order.amount)}"
    missing = lifecycle.missing(order)
    if order.state == State.DRAFT and missing:
        body = f"已存为草稿，还缺：{fields_text(missing)}。\n补齐：{fill_hint(order, missing)}"
    elif order.state == State.PENDING_APPROVAL:
        body = pending_text(order, submitted)
    elif order.state == State.CONFIRMED:
        body = "金额低于审批线，已自动确认。"
    else:
        body = state_label(order.state, None)
    return "\n".join([head, lines_text(order), f"交期 {short_date(order.due_date, today)}", body, *notes])


def pending_text(order: Order, submitted: Submitted | None) -> str:
    """已提交审批：主管（低于底价：A100 ¥250 < 底价 ¥280）→ 老板（金额≥T2），等待主管处理。 and vacancies."""
    roles = list(submitted.steps) if submitted else []
    reasons = [list(why) for why in submitted.reasons] if submitted and submitted.reasons else [[] for _ in roles]
    if not roles:
        return "已提交审批。"
    steps = [f"{ROLE_LABELS.get(r, r)}（{reasons_text(order, why)}）" if why else ROLE_LABELS.get(r, r)
             for r, why in zip(roles, reasons, strict=False)]
    text = f"已提交审批：{' → '.join(steps)}，等待{ROLE_LABELS.get(roles[0], roles[0])}处理。"
    for role in submitted.vacant if submitted else ():
        text += "\n" + vacant_warning(order.no, role)
    return text


def reasons_text(order: Order, reasons: list[str]) -> str:
    """Why a step is needed; a price below floor names the line and its floor price."""
    out = []
    for reason in reasons:
        if reason == "below_floor":
            low = [f"{ln.sku} {money(ln.unit_price)} 低于底价 {money(ln.floor_price)}" for ln in order.lines
                   if ln.unit_price is not None and ln.floor_price is not None and ln.unit_price < ln.floor_price]
            out.append("，".join(low) or REASON_LABELS[reason])
        else:
            out.append(REASON_LABELS.get(reason, reason))
    return "；".join(out)


def vacant_warning(no: int, role: str) -> str:
    """Nobody holds a role an order's approval needs: how to fix it, and the admin's way out meanwhile."""
    label = ROLE_LABELS.get(role, role)
    return (f"⚠️ 目前没有人担任「{label}」，#{no} 的{label}审批没人处理。请管理员发送 /角色 用户 +{label} 指定；"
            f"指定之前管理员可以代为审批（/审批 #{no} 通过，记录为管理员代审）。")


def approval_body(order: Order, step: Approval, change: dict[str, Any] | None) -> str:
    """What an approver needs to decide: customer, lines, amount, due date, who submitted, why."""
    why = "、".join(REASON_LABELS.get(r, r) for r in step.reasons)
    amount = money(order.amount)
    if change and Decimal(str(change.get("amount", order.amount))) != order.amount:
        amount = f"{amount} → {money(Decimal(str(change['amount'])))}"
    rows = [f"客户：{order.customer.name if order.customer else '—'}",
            f"金额：{amount}　交期：{short_date(order.due_date)}",
            f"提交人：{order.owner.label}",
            lines_text(order)]
    if change:
        rows.insert(0, "变更内容：\n" + diff_text(change.get("diff", [])))
    rows.append(f"审批原因：{why}（{ROLE_LABELS.get(step.role, step.role)}审批）")
    return "\n".join(rows)


def diff_text(diff: list[dict[str, Any]]) -> str:
    """交期 12-15 → 12-20, A100 数量 20 → 30."""
    from handlers.texts.shared_replies import FIELD_LABELS

    rows = []
    for row in diff:
        label = FIELD_LABELS.get(row["field"], row["field"])
        prefix = f"{row['sku']} " if row.get("sku") else ""
        rows.append(f"· {prefix}{label}：{row['before'] or '—'} → {row['after']}")
    return "\n".join(rows)


APPROVE_LABEL = "通过"
REJECT_LABEL = "驳回"


def approval_title(order: Order, change: dict[str, Any] | None) -> str:
    """订单审批 #12 ¥6,000, or 变更审批 #12 ¥15,000 (the amount after the change)."""
    if change is None:
        return f"订单审批 #{order.no} {money(order.amount)}"
    return f"变更审批 #{order.no} {money(Decimal(str(change.get('amount', order.amount))))}"


def approval_fields(order: Order) -> tuple[tuple[str, str], ...]:
    """Key/value rows of an approval card."""
    return (("客户", order.customer.name if order.customer else "—"), ("金额", money(order.amount)),
            ("交期", short_date(order.due_date)), ("提交人", order.owner.label))


def approval_plain(title: str, body: str, no: int) -> str:
    """The plain-text rendering of an approval card (platforms without cards)."""
    return f"{title}\n{body}\n回复 /审批 #{no} 通过 或 /审批 #{no} 驳回 理由"


def decided_card(order: Order, who: str, outcome: str, at: datetime, comment: str | None) -> tuple[str, str]:
    """Title and body of a decided (closed) approval card."""
    title = f"审批 #{order.no} {money(order.amount)}：{outcome}"
    body = f"{who} {outcome}（{at.strftime('%m-%d %H:%M')}）"
    if comment:
        body += f"\n理由：{comment}"
    return title, body


_HISTORY: dict[str, str] = {
    "create": "创建", "edit": "补充", "withdraw": "撤回", "approve": "审批通过", "approve_step": "{role}通过",
    "reject": "驳回：{s}", "change_request": "申请变更", "change_applied": "变更生效（v{v}）",
    "change_rejected": "变更被驳回：{s}", "production_started": "开始生产", "production_finished": "完工",
    "ship": "发货第{s}批", "sign": "客户签收", "pay": "回款 {money}", "hold": "挂起：{s}", "resume": "恢复",
    "close": "关闭：{s}", "cancel": "作废：{s}", "reopen": "重开：{s}", "reassign": "负责人变更：{s}",
    "follow_up": "跟进：{s}", "link_product": "关联产品 {s}", "ticket_open": "售后 {s}", "ticket_update": "售后 {s}",
}


def history_text(ev: AuditEvent | CardEvent) -> str:
    """One audit event as a short Chinese line (the /查单 history)."""
    stand_in = (ev.after or {}).get("stand_in") if isinstance(ev.after, dict) else None
    if stand_in:
        label = ROLE_LABELS.get(str(stand_in), str(stand_in))
        verdict = f"驳回：{ev.summary}" if ev.action == "reject" else "通过"
        return f"管理员代{label}审批{verdict}"
    if ev.action == "submit":
        return "提交，自动确认" if (ev.after or {}).get("state") == "CONFIRMED" else "提交审批"
    template = _HISTORY.get(ev.action)
    if template is None:
        return ev.summary or ev.action
    amount = money(Decimal(ev.summary)) if ev.action == "pay" and ev.summary else ""
    return template.format(s=ev.summary or "", v=ev.order_version, role=ROLE_LABELS.get(ev.summary, ""),
                           money=amount).rstrip("：")
