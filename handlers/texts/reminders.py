"""Texts of the scheduler: reminder lines, merged reminders, the daily digest, the weekly report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from handlers.texts.shared_replies import money
from storage.vocab import ROLE_LABELS

WEEKDAYS = "一二三四五六日"
#: lines shown per digest section before "等 N 张"
SECTION_MAX = 10
#: lines listed in one merged reminder message
MERGED_MAX = 30


def _day(d: date) -> str:
    return f"{d.month}-{d.day}"


def _cust(customer: str) -> str:
    return f"｜{customer}" if customer else ""


def approval(no: int, role: str, hours: int, customer: str, amount: Decimal, escalated: bool) -> str:
    """An approval has waited (``escalated``: sent to the approver's manager)."""
    who = ROLE_LABELS.get(role, role)
    if escalated:
        return f"🚨 #{no} 待{who}审批已超过 24 小时，仍未处理{_cust(customer)} {money(amount)}"
    return (f"⏳ #{no} 待你审批（{who}），已等待 {hours} 个工作小时{_cust(customer)} {money(amount)}。"
            f"回复 /审批 #{no} 通过")


def delivery_soon(no: int, due: date, days_left: int, customer: str) -> str:
    """交期 is near and goods remain to ship."""
    when = "今天" if days_left <= 0 else ("明天" if days_left == 1 else f"还有 {days_left} 天")
    return f"📦 #{no} 交期 {_day(due)}（{when}），尚未发完{_cust(customer)}"


def delivery_overdue(no: int, due: date, days: int, customer: str, owner: str) -> str:
    """交期 has passed (in the order's group, owner @mentioned)."""
    return f"⚠️ #{no} 交期 {_day(due)} 已过 {days} 天，尚未发完{_cust(customer)}。@{owner} 请跟进"


def delivery_escalation(no: int, due: date, days: int, customer: str, owner: str) -> str:
    """A delivery 7+ days late, to the 主管."""
    return f"🚨 #{no} 交期 {_day(due)} 已逾期 {days} 天（负责人 {owner}）{_cust(customer)}"


def payment_overdue(no: int, due: date, days: int, balance: Decimal, customer: str) -> str:
    """Payment is late (owner, daily)."""
    return f"💰 #{no} 回款逾期 {days} 天（应收日 {_day(due)}），待收 {money(balance)}{_cust(customer)}"


def payment_escalation(no: int, days: int, balance: Decimal, customer: str, owner: str) -> str:
    """Payment 15+ days late, to the 主管."""
    return f"🚨 #{no} 回款逾期 {days} 天，待收 {money(balance)}（负责人 {owner}）{_cust(customer)}"


def payment_dunning(no: int, days: int, balance: Decimal, customer: str, owner: str) -> str:
    """Payment 30+ days late: on finance's dunning list."""
    return f"📕 催收：#{no} {customer or ''} 逾期 {days} 天，待收 {money(balance)}（负责人 {owner}）"


def visit(ticket_no: int, order_no: int) -> str:
    """回访 after a resolved ticket."""
    return f"📞 售后 T{ticket_no}（#{order_no}）已解决 3 天，请回访客户并记录：/跟进 #{order_no} 回访情况"


def custom(text: str, order_no: int | None) -> str:
    """A /提醒 reminder."""
    return f"⏰ 提醒{f'（#{order_no}）' if order_no is not None else ''}：{text}"


def merged(lines: Sequence[str]) -> str:
    """Several reminders to one chat in one message (phone-sized: the rest is counted, not listed)."""
    if len(lines) == 1:
        return lines[0]
    shown = [f"· {line}" for line in lines[:MERGED_MAX]]
    if len(lines) > MERGED_MAX:
        shown.append(f"…另有 {len(lines) - MERGED_MAX} 条，发 /订单 逾期 查看全部")
    return f"⏰ {len(lines)} 条提醒\n" + "\n".join(shown)


def _section(title: str, lines: Sequence[str]) -> list[str]:
    if not lines:
        return []
    shown = [f"  {line}" for line in lines[:SECTION_MAX]]
    if len(lines) > SECTION_MAX:
        shown.append(f"  …等 {len(lines)} 张")
    return [f"{title}（{len(lines)}）", *shown]


def digest(today: date, approvals: Sequence[str], overdue: Sequence[str], deliveries: Sequence[str]) -> str:
    """The 09:00 working-day digest of one person."""
    head = f"☀️ 今日待办（{_day(today)} 周{WEEKDAYS[today.weekday()]}）"
    body = (_section("待我审批", approvals) + _section("我的逾期", overdue)
            + _section("今日交货", deliveries))
    return "\n".join([head, *body])


def digest_approval(no: int, customer: str, amount: Decimal) -> str:
    """A digest line: an approval waiting for me."""
    return f"#{no} {customer} {money(amount)}".replace("  ", " ")


def digest_late_delivery(no: int, days: int, customer: str) -> str:
    """A digest line: my order late for delivery."""
    return f"#{no} 交期逾期 {days} 天{_cust(customer)}"


def digest_late_payment(no: int, days: int, balance: Decimal) -> str:
    """A digest line: my order late for payment."""
    return f"#{no} 回款逾期 {days} 天，待收 {money(balance)}"


def digest_delivery(no: int, customer: str, owner: str | None) -> str:
    """A digest line: to deliver today."""
    return f"#{no} {customer}" + (f"（{owner}）" if owner else "")


def weekly(start: date, end: date, sales: Decimal, orders: int, shipped: Decimal, collected: Decimal,
           overdue: int, people: Sequence[tuple[str, Decimal, int, Decimal, Decimal]]) -> str:
    """The Monday report: last week's sales, shipped, collected, and the orders overdue now."""
    lines = [f"📊 上周周报（{_day(start)} ~ {_day(end)}）",
             f"销售 {money(sales)}（{orders} 单）｜发货 {money(shipped)}｜回款 {money(collected)}",
             f"当前交期逾期 {overdue} 单"]
    for name, p_sales, p_orders, p_shipped, p_collected in people:
        lines.append(f"· {name}：销售 {money(p_sales)}（{p_orders} 单） 发货 {money(p_shipped)} "
                     f"回款 {money(p_collected)}")
    return "\n".join(lines)
