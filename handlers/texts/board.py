"""Chinese texts of the web dashboard (``web/dashboard_pages.py``, ``web/templates/board/``) and of ``/看板``.

Templates take every word from :func:`labels` and the functions here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from handlers.texts.orders import history_text
from handlers.texts.shared_replies import FIELD_LABELS
from handlers.texts.shared_replies import money as _money
from storage.models import AuditEvent
from storage.vocab import ChangeStatus

#: the command word (kept here: tests/test_layering.py allows Chinese literals in handlers/ only in texts)
COMMAND = "看板"

_LABELS = {
    "app": "跟单助手",
    "nav_kanban": "看板",
    "nav_sales": "销售与回款",
    "kanban_title": "订单看板",
    "empty_column": "暂无",
    "more": "还有 {n} 单未显示",
    "more_link": "还有 {n} 单 · 查看全部",
    "page_of": "第 {page} / {pages} 页，共 {total} 单",
    "prev_page": "上一页",
    "next_page": "下一页",
    "finished": "已结束",
    "no_due": "交期未定",
    "due": "交期",
    "owner": "负责人",
    "customer": "客户",
    "no_customer": "（未填客户）",
    "order_title": "订单 #{no}",
    "state": "状态",
    "amount": "金额",
    "paid": "已收",
    "balance": "待收",
    "payment_terms": "付款方式",
    "pay_due": "应收日期",
    "note": "备注",
    "version": "版本",
    "lines": "产品明细",
    "sku": "产品",
    "qty": "数量",
    "unit_price": "单价",
    "line_amount": "小计",
    "shipped_qty": "已发",
    "progress": "进度",
    "shipped_pct": "已发货",
    "paid_pct": "已回款",
    "timeline": "操作记录",
    "when": "时间",
    "who": "谁",
    "what": "做了什么",
    "where": "来自",
    "changes": "变更记录",
    "no_changes": "没有变更",
    "field": "项目",
    "before": "原来",
    "after": "改为",
    "requested_by": "申请人",
    "no_events": "还没有记录",
    "not_found": "没有这个订单",
    "sales_title": "销售与回款",
    "period": "统计期间",
    "by_person": "按人",
    "by_month": "按月",
    "person": "销售",
    "month": "月份",
    "orders": "单数",
    "sales": "成交",
    "shipped": "发货",
    "collected": "回款",
    "total": "合计",
    "aging": "应收账龄（按回款到期日）",
    "bucket": "账龄",
    "receivable": "应收",
    "count": "单数",
    "delivery_overdue": "交货逾期",
    "payment_overdue": "回款逾期",
    "late_days": "逾期天数",
    "none_overdue": "没有逾期",
    "chart_sales_month": "每月成交额",
    "chart_sales_person": "各人成交额",
    "footer": "跟单助手 · 数据截至 {now}",
    "nav_quotes": "报价与采购",
    "quotes_title": "报价与采购",
    "quotes_recent": "最近的报价",
    "quote_status": "状态",
    "valid_until": "有效期至",
    "won_order": "成交订单",
    "win_rates": "本月报价成交（按人）",
    "quoted": "报价",
    "won": "成交",
    "win_rate": "成交率",
    "shortages": "缺货（已预留超过库存与在途）",
    "no_shortages": "没有缺货",
    "on_hand": "库存",
    "reserved": "已预留",
    "on_order": "在途",
    "short": "缺",
    "waiting": "等货订单",
    "purchases_open": "待到货的采购单",
    "expected": "预计到货",
    "received": "已到",
    "supplier": "供应商",
    "none": "暂无",
}

_DENIED = {
    "missing": ("需要看板链接", "看板只对本公司同事开放。请在群里发送 /看板 获取链接（有效 12 小时）。"),
    "session": ("登录已失效", "看板登录已过期或无效。请在群里发送 /看板 获取新链接。"),
    "expired": ("链接已过期", "这个看板链接已经过期。请在群里发送 /看板 获取新链接。"),
    "forged": ("链接无效", "这个看板链接校验不通过（可能被改动过，或不是本系统发出的）。请在群里发送 /看板 获取链接。"),
    "left": ("无法打开看板", "这个链接的主人已不在本系统的在职人员中。请在群里发送 /看板 获取自己的链接。"),
    "off": ("看板未开启", "看板暂不可用，请联系管理员。"),
}

_SOURCES = {"message": "消息", "card": "卡片", "api": "接口", "cli": "命令行", "scheduler": "定时任务"}
_CHANGE_STATUS: dict[str, str] = {ChangeStatus.PENDING: "待审批", ChangeStatus.APPLIED: "已生效",
                                   ChangeStatus.REJECTED: "已驳回", ChangeStatus.WITHDRAWN: "已撤回"}
_BUCKETS = {"current": "未到期", "d1_30": "逾期 1-30 天", "d31_60": "逾期 31-60 天", "d61_90": "逾期 61-90 天",
            "d90_plus": "逾期 90 天以上"}


def labels() -> dict[str, str]:
    """Fixed page words (titles, headings, table heads)."""
    return dict(_LABELS)


def denied(reason: str) -> tuple[str, str]:
    """(heading, explanation) of the page shown instead of the dashboard."""
    return _DENIED.get(reason, _DENIED["missing"])


def money(value: Decimal | None) -> str:
    """¥1,234.50 (as in chat)."""
    return _money(value)


def event_text(event: AuditEvent) -> str:
    """What an audit event did, in the words of the /查单 history."""
    return history_text(event)


def source_label(source: str) -> str:
    """消息 / 卡片 / 接口 …"""
    return _SOURCES.get(source, source)


def change_status(status: str) -> str:
    """已生效 / 待审批 / 已驳回 / 已撤回."""
    return _CHANGE_STATUS.get(status, status)


def diff_rows(diff: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(field, before, after) rows of a change request, e.g. ("A100 数量", "20", "30")."""
    rows = []
    for row in diff:
        label = FIELD_LABELS.get(str(row.get("field")), str(row.get("field")))
        prefix = f"{row['sku']} " if row.get("sku") else ""
        before, after = row.get("before"), row.get("after")
        rows.append((prefix + label, "—" if before in (None, "") else str(before),
                     "—" if after in (None, "") else str(after)))
    return rows


def late(days: int) -> str:
    """The delivery-overdue badge."""
    return f"逾期 {days} 天"


def pay_late(days: int) -> str:
    """The payment-overdue badge."""
    return f"回款逾期 {days} 天"


def bucket_label(key: str) -> str:
    """An aging bucket's name."""
    return _BUCKETS.get(key, key)


def days(n: int) -> str:
    """``12 天``."""
    return f"{n} 天"


# ---- /看板 ----------------------------------------------------------------------------------
def link_reply(url: str, expires: datetime, hours: int) -> str:
    """The reply carrying the link (the expiry is shown in the business zone)."""
    return (f"订单看板：{url}\n链接 {hours} 小时内有效（到 {expires:%m-%d %H:%M}），只供你本人使用，请勿转发。"
            "过期后再发 /看板 获取新链接。")


def link_sent_privately(name: str) -> str:
    """The group reply when the link went to the person's 1:1 chat."""
    return f"{name}，看板链接已私聊发给你（链接只供本人使用，不在群里公开）。"


def board_off() -> str:
    """When the server has no dashboard configured."""
    return "看板暂未开启，请联系管理员。"
