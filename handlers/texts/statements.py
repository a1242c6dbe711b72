"""Chinese texts of the /对账 workbook: its sheets and columns, the download link, refusals.

Used by ``web/statement_download.py`` and ``web/rest_reports.py`` (the workbook's :data:`LAYOUT`)
and by ``/对账``.
"""

from __future__ import annotations

from datetime import datetime

from storage.services.exporter import Sheet
from storage.services.statement_xlsx import StatementLayout

LAYOUT = StatementLayout(
    summary=Sheet("对账汇总", ("项目", "内容")),
    labels=("客户", "对账期间", "期初应收", "本期发货", "本期回款", "期末应收"),
    orders=Sheet("订单", ("单号", "下单日期", "状态", "负责人", "金额", "已收", "待收", "交期")),
    shipments=Sheet("发货", ("发货日期", "单号", "批次", "发货金额", "物流公司", "运单号")),
    payments=Sheet("回款", ("回款日期", "单号", "回款金额", "方式")),
    period="{start} 至 {end}",
    filename="对账单_{customer}_{start}_{end}.xlsx",
)

_DENIED = {
    "missing": "缺少下载凭证。请在群里重新发送 /对账 获取链接。",
    "expired": "下载链接已过期。请重新发送 /对账 获取新链接。",
    "forged": "下载链接无效（链接不完整或被改动过）。请重新发送 /对账 获取链接。",
    "left": "链接的申请人已不在公司或已没有对账权限，链接已失效。",
    "not_found": "没有这个客户。",
}


def denied(reason: str) -> str:
    """The text shown instead of the workbook (it names no customer and no amount)."""
    return _DENIED.get(reason, _DENIED["forged"])


def link_line(url: str, expires: datetime, hours: int) -> str:
    """The download link under the /对账 summary (the expiry is shown in the business zone)."""
    return (f"📎 Excel 对账单：{url}\n链接 {hours} 小时内有效（到 {expires:%m-%d %H:%M}），只供你本人使用，"
            "请勿转发。")


def link_private(customer: str, line: str) -> str:
    """The 1:1 message carrying the link when /对账 was asked in a group."""
    return f"🧾 {customer} 对账单\n{line}"


def link_sent_privately(name: str) -> str:
    """The line under the group's /对账 summary when the link went to the asker's 1:1 chat."""
    return f"📎 Excel 对账单的下载链接已私聊发给 {name}（只供本人使用，不在群里公开）。"
