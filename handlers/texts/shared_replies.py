"""What every handler and the dispatcher share: money, quantity and date formats, labels, refusals,
and the dispatcher's own answers (unknown command, no role, usage, conflict …). A command's own
replies are in ``command_replies``; parser errors in ``parse.py``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from handlers.texts import suggest
from storage.vocab import ACTION_COMMANDS, ROLE_LABELS, STAGE_LABELS, STATE_LABELS

FIELD_LABELS = {
    "customer": "客户", "lines": "产品明细", "unit_price": "单价", "due_date": "交期",
    "qty": "数量", "payment_terms": "付款方式", "note": "备注", "address": "地址", "contact": "联系人",
}
REASON_LABELS = {"amount_t1": "金额≥T1", "amount_t2": "金额≥T2", "below_floor": "低于底价", "over_credit": "超信用额度"}


def money(value: Decimal | None) -> str:
    """¥1,234.50 style, dropping .00."""
    if value is None:
        return "—"
    text = f"{value:,.2f}"
    return "¥" + (text[:-3] if text.endswith(".00") else text)


def qty(value: Decimal) -> str:
    """20 rather than 20.000."""
    text = f"{value.normalize():f}"
    return text


def short_date(value: date | None, today: date | None = None) -> str:
    """12-05, zero-padded; 2027-01-29 when ``today`` is given and the year is not this year's."""
    if value is None:
        return "未定"
    if today is not None and value.year != today.year:
        return value.isoformat()
    return f"{value:%m-%d}"


def roles_text(roles: Iterable[str]) -> str:
    """主管、财务."""
    names = [ROLE_LABELS.get(r, r) for r in sorted(roles)]
    return "、".join(names) if names else "无"


def fields_text(names: Iterable[str]) -> str:
    """Missing-field names in Chinese."""
    return "、".join(FIELD_LABELS.get(n, n) for n in names)


# ---- dispatcher --------------------------------------------------------------------------
def not_a_command() -> str:
    """Reply to plain text addressed to the bot."""
    return "我只认识以 / 开头的命令，例如：/下单 华为 A100×20@300 交期12-15\n发送 /帮助 查看全部命令。"


def too_long(length: int, limit: int) -> str:
    """Reply to a message longer than any command may be (nothing of it was read)."""
    return f"这条消息太长（{length} 字），一条命令最多 {limit} 字，未做任何修改。请分几条发送。"


def unknown_command(name: str, args: str = "", specs: Sequence[Any] = ()) -> str:
    """Reply to an unknown command, offering the nearest commands (``specs``: the registered ones)."""
    return suggest.unknown_command(name, args, specs)


def no_role(spec: Any, roles: frozenset[str], who: str = "") -> str:
    """The person lacks the command's role; ``who`` (``platform:user_id``) fills the admin's command."""
    needed = [label for role, label in ROLE_LABELS.items() if role in spec.roles]  # 主管 before 管理员
    fix = f"/角色 {who or '用户'} +{needed[0]}" if needed else "/角色"
    return (f"你没有权限使用 /{spec.name}：需要角色 {roles_text(spec.roles)}，你的角色是 {roles_text(roles)}。\n"
            f"如需开通请管理员发送：{fix}")


def with_usage(err: Any, spec: Any) -> str:
    """A parse or input error followed by the right form and an example."""
    text = f"{err}\n正确格式：{spec.usage}"
    if spec.example:
        text += f"\n例如：{spec.example}"
    return unchanged(text)


def unchanged(text: str) -> str:
    """A refusal, saying that nothing was changed."""
    return text if text.endswith("（未做任何修改）") else text + "\n（未做任何修改）"


def bad_action() -> str:
    """A card button payload we cannot read."""
    return "这个按钮已失效，请发送 /查单 #单号 查看最新状态。"


def conflict(kind: str = "stale") -> str:
    """A concurrent writer won: ``stale`` (the row changed since it was read: an order, a quote),
    ``duplicate`` (someone wrote the same key first: a customer's name, a product's code, a decision) or
    ``busy`` (the database gave this transaction up: a deadlock, or no turn to write in time)."""
    if kind == "duplicate":
        return "状态已变化：刚有人同时提交了相同的内容，你的操作没有生效，请查看最新情况后重试。"
    if kind == "busy":
        return "系统正忙，你的操作没有生效，请稍后重发一次。"
    return "状态已变化：刚有人同时修改了这张单，你的操作没有生效，请查看最新状态后重试。"


def internal_error(ref: str) -> str:
    """An unexpected failure."""
    return f"内部错误 (ref {ref})，操作未生效。请稍后重试，或把编号发给管理员。"


def digest(texts: list[str]) -> str:
    """Several notifications merged into one message (rate limit)."""
    body = "\n\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))
    return f"📋 {len(texts)} 条通知（合并发送）\n\n{body}"


# ---- refusals ------------------------------------------------------------------------------
def refused(code: str, params: dict[str, Any], no: int | None) -> str:
    """Why an action was refused, naming the order and what would be allowed."""
    head = f"#{no} " if no is not None else ""
    ref = f"#{no}" if no is not None else "#单号"  # a command to type next must be typeable as shown
    p = params
    action = ACTION_COMMANDS.get(str(p.get("action", "")), "")
    texts = {
        "bad_state": lambda: f"{head}当前状态是「{STATE_LABELS.get(p.get('state', ''), '')}」，不能{action}"
                             f"（只在 {'、'.join(STATE_LABELS[s] for s in p.get('allowed', []))} 时可以）。",
        "not_allowed": lambda: f"{head}你不能{action}：需要 {_who(p.get('who', []))}。",
        "cancel_after_activity": lambda: f"{head}已有发货或回款，不能作废；可用 /关闭 {ref} 原因 提前结束。",
        "production_already": lambda: f"{head}生产状态已是"
                                      f"「{'已完工' if p.get('production') == 'FINISHED' else '生产中'}」。",
        "nothing_to_ship": lambda: f"{head}已全部发货，没有可发的数量。",
        "nothing_shipped": lambda: f"{head}还没有发货，不能签收。",
        "nothing_to_pay": lambda: f"{head}已全部回款，没有待收金额。",
        "incomplete": lambda: f"{head}信息不完整，还缺：{fields_text(p.get('missing', []))}。"
                              f"用 /补充 {ref} 字段 值 补齐。",
        "self_approval": lambda: f"{head}不能审批自己的订单。",
        "not_approver": lambda: _not_approver(head, str(p.get("role", "")), p.get("holders") or [],
                                              bool(p.get("admin"))),
        "stale": lambda: f"状态已变化：{head}这一步已处理，当前状态「{STATE_LABELS.get(p.get('state', ''), '')}」。",
        "already_approved": lambda: f"{head}已有人审批通过，不能撤回；如需修改请联系主管。",
        "no_such_line": lambda: f"{head}没有产品「{p.get('sku')}」这一行。",
        "qty_below_shipped": lambda: f"{head}{p.get('sku')} 已发 {qty(Decimal(str(p.get('shipped'))))}，数量不能更少。",
        "change_pending": lambda: f"{head}已有一个变更在审批中，请等它处理完。",
        "no_change": lambda: f"{head}和现在的内容一样，没有需要变更的。",
        "amount_below_paid": lambda: f"{head}已回款 {money(p.get('paid'))}，变更后金额不能更低。",
        "bad_qty": lambda: f"{head}{p.get('sku')} 的数量必须大于 0。",
        "over_remaining": lambda: f"{head}{p.get('sku')} 只剩 {qty(p['remaining'])} 未发，不能发 {qty(p['qty'])}。",
        "no_stock": lambda: f"{head}{p.get('sku')} 库存只有 {qty(p['stock'])}，不够发 {qty(p['qty'])}。"
                            "先 /入库 再发货。",
        "duplicate_line": lambda: f"{head}产品「{p.get('sku')}」写了两次，请合并成一行再发。",
        "too_large": lambda: f"{head}数量或金额太大（单笔不超过 1 万亿元），请检查是否多打了 0。",
        "bad_amount": lambda: f"{head}回款金额必须大于 0。",
        "overpay": lambda: f"{head}回款 {money(p.get('amount'))} 超过待收余额 {money(p.get('balance'))}。",
    }
    make = texts.get(code)
    return make() if make else f"{head}操作不允许（{code}）。"


def _not_approver(head: str, role: str, holders: list[str], admin: bool) -> str:
    label = ROLE_LABELS.get(role, role)
    text = f"{head}这一步需要「{label}」审批，你没有该角色。"
    if admin and holders:
        # an admin stands in only while nobody holds the role
        return text + f"目前由 {'、'.join(holders)} 担任{label}，请由他们审批。"
    return text + f"如需由你审批，请管理员发送：/角色 用户 +{label}"


def _who(who: Iterable[str]) -> str:
    names = ["下单人本人" if w == "owner" else ROLE_LABELS.get(w, w) for w in who]
    return " 或 ".join(names)


def order_not_found(no: int) -> str:
    """No such order."""
    return f"没有找到订单 #{no}。发送 /订单 查看最近的订单。"


def candidates(kind: str, text: str, names: list[str]) -> str:
    """Ambiguous customer or product (``kind``: "customer" or "product")."""
    kind = {"customer": "客户", "product": "产品"}.get(kind, kind)
    listed = "、".join(names[:10]) + ("…" if len(names) > 10 else "")
    return f"「{text}」对应多个{kind}：{listed}。请写全名后重试。"


def state_label(state: str, stage: str | None) -> str:
    """已确认·部分发货."""
    label = STATE_LABELS.get(state, state)
    return f"{label}·{STAGE_LABELS[stage]}" if stage else label


def too_many_lines(lines: int, limit: int) -> str:
    """Reply to a message with more lines than any command has (nothing of it was read)."""
    return (f"这条消息有 {lines} 行，一条命令最多 {limit} 行，未做任何修改。"
            "如果是批量录入，请分几条发送，或让管理员用 gendan import 导入表格。")


def too_fast(scope: str, limit: int, wait: int) -> str:
    """Reply once when a person (``scope="person"``) or a chat (``"chat"``) sends commands faster than allowed."""
    who = "你" if scope == "person" else "这个群"
    return (f"{who}发得太快了：每分钟最多 {limit} 条命令。刚才这条和之后 {wait} 秒内的消息不会处理，"
            f"也不会再提示；请 {wait} 秒后再发。")
