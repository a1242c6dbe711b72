"""Texts of quotations (报价) and purchasing (采购): parser errors, help, replies, notices, cards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from handlers.texts.help import HelpArgs
from handlers.texts.shared_replies import money, qty, short_date
from storage.services.exporter import Sheet
from storage.services.quote_sheet import SheetLayout
from storage.vocab import PURCHASE_STATUS_LABELS, QUOTE_EXPIRED_LABEL, QUOTE_STATUS_LABELS, PurchaseStatus, QuoteStatus

# ---- command names (people type them; registered by name) -------------------------------------
QUOTE = "报价"
DEAL = "成交"
PURCHASE = "采购"
ARRIVAL = "到货"

# ---- parser errors ------------------------------------------------------------------------------
MISSING_QUOTE_REF = "请写报价单号，如 Q12"
NOT_A_QUOTE_REF = "「{frag}」不是报价单号：报价单号以 Q 开头，如 Q12（订单号 #12 是另一套编号）"
QUOTE_NOT_ORDER = "报价不写订单号：/报价 客户 产品×数量@单价 …；已有订单请用 /查单 #单号"
QUOTE_NO_CUSTOMER = "报价要写客户：/报价 客户 产品×数量@单价 …"
QUOTE_NO_LINES = "报价要写产品、数量和单价，如 A100×20@300"
BAD_VALIDITY = "「{frag}」看不懂：有效期写天数（1–365），如 有效期10天"
PURCHASE_MISSING = "请写要采购的产品和数量，如 /采购 A100 50 华强 12-20"
PURCHASE_USAGE = "没看懂「{frag}」：要写 产品 数量 [供应商] [预计到货日期]，如 A100 50 华强 12-20"
ARRIVAL_MISSING = "请写采购单号，如 /到货 P3 或 /到货 P3 20"
ARRIVAL_USAGE = "没看懂「{frag}」：要写 采购单号 [数量]，如 P3 20"
QTY_NOT_POSITIVE = "「{frag}」的数量要大于 0"

# ---- help -----------------------------------------------------------------------------------
HELP: dict[str, tuple[str, str, str]] = {
    QUOTE: ("/报价 客户 产品×数量@单价 … [有效期N天] [备注 …] | /报价 列表 | /报价 Q单号",
            "报价（低于底价需主管审批后才能发给客户）；列表；查看报价",
            "/报价 华为 A100×20@300 有效期10天"),
    DEAL: ("/成交 Q单号 [交期…] [产品×新数量] [产品 单价 新价]", "报价转为订单（按订单的审批规则）",
           "/成交 Q12 交期12-20 A100×30"),
    PURCHASE: ("/采购 产品 数量 [供应商] [预计到货日期] | /采购 列表", "采购申请（P单号）；列表",
               "/采购 A100 50 华强 12-20"),
    ARRIVAL: ("/到货 P单号 [数量]", "采购到货入库（可部分到货），通知等货的订单负责人", "/到货 P3 20"),
}


def help_of(name: str) -> HelpArgs:
    """Keyword arguments for ``Router.command``: usage, summary, example."""
    usage, summary, example = HELP[name]
    return {"usage": usage, "summary": summary, "example": example}


# ---- quotations ----------------------------------------------------------------------------
WARNING_LABELS = {"below_floor": "低于底价", "over_credit": "超信用额度"}


def status_label(status: str, valid_until: date, today: date) -> str:
    """有效 / 已过期 / 已成交 …"""
    if status == QuoteStatus.OPEN and today > valid_until:
        return QUOTE_EXPIRED_LABEL
    return QUOTE_STATUS_LABELS.get(status, status)


def lines_text(lines: Iterable[Any]) -> str:
    """One row per quoted line."""
    return "\n".join(f"  {ln.sku}{'(' + ln.name + ')' if ln.name else ''} × {qty(ln.qty)}{ln.unit or ''}"
                     f" @ {money(ln.unit_price)} = {money(ln.line_amount)}" for ln in lines)


def quote_head(q: Any, today: date) -> str:
    """Q12 华为 ¥6,000｜有效期至 12-04｜有效."""
    return (f"Q{q.no} {q.customer.name} {money(q.amount)}｜有效期至 {short_date(q.valid_until, today)}"
            f"｜{status_label(q.status, q.valid_until, today)}")


def warnings_text(warnings: Iterable[str]) -> str:
    """⚠️ 低于底价、超信用额度 ("" when none)."""
    found = [WARNING_LABELS.get(w, w) for w in warnings]
    return f"⚠️ {'、'.join(found)}" if found else ""


def quote_created(q: Any, today: date, new_customer: str | None, free: tuple[str, ...]) -> str:
    """Reply to /报价."""
    rows = [quote_head(q, today), lines_text(q.lines)]
    warn = warnings_text(q.warnings)
    if warn:
        rows.append(warn)
    if q.status == QuoteStatus.PENDING_APPROVAL:
        rows.append("单价低于底价，已提交主管审批；通过后才能发给客户。")
    else:
        rows.append(f"客户确认后 /成交 Q{q.no}。")
    if new_customer:
        rows.append(f"新客户「{new_customer}」已建档。")
    if free:
        rows.append(f"产品 {'、'.join(free)} 不在产品库，按自由文本记录。")
    return "\n".join(rows)


def quote_card_text(q: Any, today: date, order_no: int | None) -> str:
    """/报价 Q12."""
    rows = [quote_head(q, today), lines_text(q.lines), f"负责人：{q.owner.label}"]
    if q.due_date:
        rows.append(f"交期：{short_date(q.due_date, today)}")
    if q.payment_terms:
        rows.append(f"付款方式：{q.payment_terms}")
    if q.note:
        rows.append(f"备注：{q.note}")
    warn = warnings_text(q.warnings)
    if warn:
        rows.append(warn)
    if order_no is not None:
        rows.append(f"已成交：订单 #{order_no}")
    if q.reason:
        rows.append(f"原因：{q.reason}")
    if q.status == QuoteStatus.OPEN and today > q.valid_until:
        rows.append(f"已过期，不能成交；请重新 /报价 {q.customer.name} …")
    return "\n".join(rows)


def quote_list(rows: list[str]) -> str:
    """/报价 列表."""
    return "\n".join(rows) if rows else "还没有报价。/报价 客户 产品×数量@单价 … 新建。"


def sales_only() -> str:
    return "新建报价需要「销售」角色；查看报价：/报价 列表 或 /报价 Q单号。"


def quote_not_found(no: int) -> str:
    return f"没有找到报价 Q{no}。发送 /报价 列表 查看。"


def quote_withdrawn(no: int) -> str:
    return f"Q{no} 已作废。"


def deal_done(qno: int, order_text: str) -> str:
    return f"Q{qno} 已成交，转为订单：\n{order_text}"


def refused(code: str, p: dict[str, Any]) -> str | None:
    """Why a quote action was refused (None: not a quote refusal)."""
    no = f"Q{p.get('no')}"
    status = QUOTE_STATUS_LABELS.get(str(p.get("status", "")), "")
    texts = {
        "quote_no_lines": lambda: QUOTE_NO_LINES,
        "quote_unpriced": lambda: f"报价的每一行都要有单价：{'、'.join(p.get('skus', []))} 没有单价"
                                  "（写成 A100×20@300，或先给产品设定价格）。",
        "quote_stale": lambda: f"状态已变化：{no} 当前是「{status}」，不在待审批。",
        "quote_not_owner": lambda: f"{no} 只有报价人本人（作废也可由主管）可以操作。",
        "quote_closed": lambda: f"{no} 已是「{status}」，不能再操作；需要的话请重新 /报价。",
        "quote_won": lambda: f"{no} 已成交为订单 #{p.get('order_no')}，请用 /查单 #{p.get('order_no')}。",
        "quote_pending": lambda: f"{no} 低于底价，还在等主管审批，通过后才能成交。",
        "quote_expired": lambda: f"{no} 已于 {p.get('valid_until')} 过期，不能成交；"
                                 "请重新 /报价 客户 产品×数量@单价 …，客户确认新报价后再 /成交。",
        "quote_no_line": lambda: f"{no} 没有产品「{p.get('sku')}」（报价里有：{'、'.join(p.get('skus', []))}）；"
                                 "成交只能改报价里的数量和单价，新产品请重新报价。",
        "self_approval": lambda: f"{no} 是你自己的报价，不能自己审批。",
        "not_approver": lambda: f"{no} 需要「主管」审批，你没有该角色。",
    }
    make = texts.get(code)
    return make() if make else None


def win_rates(rows: list[tuple[str, int, Decimal, int, Decimal, Decimal]]) -> str:
    """The quotation part of /报表: quoted vs won per person, and the win rate."""
    out = ["报价成交："]
    for name, quoted, quoted_amount, won, won_amount, rate in rows:
        out.append(f"· {name}：报价 {quoted} 张 {money(quoted_amount)}，成交 {won} 张 {money(won_amount)}，"
                   f"成交率 {rate * 100:.0f}%")
    return "\n".join(out)


# ---- quote approval card ----------------------------------------------------------------------
APPROVE_LABEL = "通过"
REJECT_LABEL = "驳回"


def approval_title(q: Any) -> str:
    return f"报价审批 Q{q.no} {money(q.amount)}"


def approval_body(q: Any) -> str:
    below = [f"{ln.sku} 报 {money(ln.unit_price)}，底价 {money(ln.floor_price)}" for ln in q.lines
             if ln.floor_price is not None and ln.unit_price < ln.floor_price]
    # the text form is in the card itself: where buttons can only open a page (a DingTalk robot
    # without a card template), the 主管 answers with it
    return "\n".join([f"客户：{q.customer.name}", f"报价人：{q.owner.label}", lines_text(q.lines),
                      "低于底价：" + "；".join(below), f"也可回复 /报价 Q{q.no} 通过 或 /报价 Q{q.no} 驳回 理由"])


def approval_plain(title: str, body: str, no: int) -> str:
    return f"{title}\n{body}"


def decided_card(q: Any, who: str, approve: bool) -> tuple[str, str]:
    outcome = "通过" if approve else "驳回"
    return f"报价审批 Q{q.no}：{outcome}", f"{who} {outcome}" + (f"\n理由：{q.reason}" if q.reason else "")


def quote_decided(no: int, approve: bool, comment: str | None) -> str:
    return f"Q{no} 已{'通过，报价人可以发给客户' if approve else '驳回'}" + (f"：{comment}" if comment else "") + "。"


def quote_decided_notice(no: int, approve: bool, who: str, comment: str | None) -> str:
    if approve:
        return f"✅ Q{no} 报价审批通过（{who}），报价单链接见私聊，可以发给客户了。"
    return f"❌ Q{no} 报价被驳回（{who}）：{comment or '未填理由'}。可调整价格后重新 /报价。"


def reject_needs_reason(no: int) -> str:
    return f"驳回需要写理由：/报价 Q{no} 驳回 理由"


def ask_reject_reason(no: int) -> str:
    return f"请直接回复驳回 Q{no} 的理由（10 分钟内有效），或发送 /报价 Q{no} 驳回 理由。"


def no_approver(no: int) -> str:
    return f"⚠️ Q{no} 目前没有人担任「主管」，请管理员用 /角色 指定。"


# ---- reminders --------------------------------------------------------------------------------
def expiring(no: int, customer: str, amount: Decimal, valid_until: date, days_left: int) -> str:
    when = "今天" if days_left <= 0 else "明天"
    return f"⏰ 报价 Q{no}｜{customer} {money(amount)} {when}（{valid_until:%m-%d}）到期，跟进客户或 /成交 Q{no}"


# ---- purchasing -------------------------------------------------------------------------------
def shortage_items(items: list[dict[str, Any]]) -> str:
    """A100 缺 20（#12 #15）, one per product."""
    return "\n".join(f"{i['sku']} 缺 {i['short']}{i.get('unit') or ''}（{' '.join(f'#{n}' for n in i['orders'])}）"
                     for i in items)


def shortage_notice(items: list[dict[str, Any]]) -> str:
    return "📉 缺货，需要采购：\n" + shortage_items(items) + "\n采购：/采购 产品 数量 [供应商] [预计到货日期]"


def shortage_card_line(rows: list[tuple[str, Decimal]]) -> str:
    return "缺货：" + "、".join(f"{sku} 缺 {qty(n)}" for sku, n in rows)


def purchase_told() -> str:
    return "已通知采购。"


def purchase_created(no: int, sku: str, amount: Decimal, unit: str | None, supplier: str | None,
                     expected: date | None) -> str:
    extra = (f"｜{supplier}" if supplier else "") + (f"｜预计 {expected:%m-%d} 到货" if expected else "")
    return f"P{no} 采购 {sku} {qty(amount)}{unit or ''}{extra}。到货后 /到货 P{no} [数量]。"


def purchase_row(p: Any, today: date) -> str:
    late = p.status == PurchaseStatus.OPEN and p.expected_date is not None and p.expected_date < today
    expected = f"｜预计 {short_date(p.expected_date, today)}" if p.expected_date else ""
    return (f"P{p.no} {p.product.sku} {qty(p.received_qty)}/{qty(p.qty)}{p.product.unit or ''}"
            f"{'｜' + p.supplier if p.supplier else ''}{expected}"
            f"｜{'已逾期' if late else PURCHASE_STATUS_LABELS.get(p.status, p.status)}")


def purchasing_only() -> str:
    return "新建采购单需要「采购」角色（管理员用 /角色 指定）；查看：/采购 列表。"


def purchase_list(rows: list[str]) -> str:
    return "\n".join(rows) if rows else "没有采购单。"


def purchase_not_found(no: int) -> str:
    return f"没有找到采购单 P{no}。发送 /采购 列表 查看。"


def purchase_product_unknown(name: str) -> str:
    return f"产品库里没有「{name}」：采购只针对产品库里的产品（/库存 查看，/入库 建档）。"


def arrived(no: int, sku: str, amount: Decimal, stock: Decimal, complete: bool, remaining: Decimal,
            served: list[tuple[int, Decimal | None]]) -> str:
    """``served``: the orders this arrival served, each with what it still lacks (None: nothing)."""
    head = f"P{no} {sku} 到货 {qty(amount)}，现有库存 {qty(stock)}"
    tail = "，已全部到货。" if complete else f"，还差 {qty(remaining)}。"
    ready = [f"#{n}" for n, short in served if short is None]
    partly = [f"#{n} 还缺 {qty(short)}" for n, short in served if short is not None]
    lines = ([f"可以发货的订单：{' '.join(ready)}"] if ready else []) + \
            ([f"到了一部分的订单：{'，'.join(partly)}"] if partly else [])
    return head + tail + "".join(f"\n{line}" for line in lines) + ("（已通知负责人）" if lines else "")


def arrival_notice(order_no: int, sku: str, stock: Decimal, short: Decimal | None = None) -> str:
    """To the owner of an order the arrival served; ``short``: what it still lacks (served in part)."""
    if short is not None:
        return (f"📦 #{order_no} 等的 {sku} 到了一部分（库存 {qty(stock)}），还缺 {qty(short)}："
                f"可以先发一部分，或等齐再发。")
    return f"📦 #{order_no} 等的 {sku} 已到货（库存 {qty(stock)}），可以安排发货了。"


def purchase_refused(code: str, p: dict[str, Any]) -> str | None:
    texts = {
        "purchase_done": lambda: f"P{p.get('no')} 已全部到货，不能再收货。",
        "over_purchase": lambda: f"P{p.get('no')} 只差 {qty(p['remaining'])}，不能到货 {qty(p['qty'])}。",
        "bad_qty": lambda: f"{p.get('sku')} 的数量必须大于 0。",
    }
    make = texts.get(code)
    return make() if make else None


def purchase_overdue(no: int, sku: str, expected: date, days: int, waiting: list[int]) -> str:
    tail = f"，等货订单 {' '.join(f'#{n}' for n in waiting)}" if waiting else ""
    return f"🚚 采购 P{no} {sku} 预计 {expected:%m-%d} 到货，已逾期 {days} 天{tail}"


def stock_rows(rows: list[tuple[str, str, Decimal, str | None, Decimal, Decimal]]) -> str:
    """/库存: on hand, reserved, on order."""
    out = []
    for sku, name, on_hand, unit, held, coming in rows:
        row = f"{sku}{'(' + name + ')' if name else ''}：{qty(on_hand)}{unit or ''}"
        if held or coming:
            row += f"｜预留 {qty(held)}｜在途 {qty(coming)}｜可用 {qty(on_hand - held)}"
        out.append(row)
    return "\n".join(out)


# ---- the quotation sheet (page and .xlsx) ------------------------------------------------------
SHEET_LAYOUT = SheetLayout(
    title="报价单",
    labels=("公司", "客户", "报价单号", "报价日期", "有效期至", "付款方式", "备注", "合计（元）", "联系人"),
    lines=Sheet("明细", ("产品编码", "名称", "数量", "单位", "单价（元）", "金额（元）")),
    filename="报价单-Q{no}-{customer}.xlsx",
)
SHEET_PAGE = {"terms": "以上价格在有效期内有效；交期以双方确认的订单为准。", "print": "打印", "download": "下载 Excel"}
_SHEET_DENIED = {"missing": "链接不完整，请向销售索取报价单链接。", "forged": "链接无效。",
                 "expired": "链接已过期，请向销售索取新的报价单。", "closed": "该报价已失效，请联系销售重新报价。",
                 "not_found": "没有这张报价单。"}


def sheet_denied(reason: str) -> str:
    """Why a quotation sheet is not shown (names no customer and no amount)."""
    return _SHEET_DENIED.get(reason, _SHEET_DENIED["forged"])


def sheet_status(status: str, valid_until: date, today: date) -> str:
    """The line under the sheet's title."""
    if status == QuoteStatus.WON:
        return "已成交"
    if today > valid_until:
        return f"已于 {valid_until.isoformat()} 过期"
    return f"有效期至 {valid_until.isoformat()}"


def sheet_private(qno: int, customer: str, url: str) -> str:
    xlsx = url.replace(f"/quotes/{qno}?", f"/quotes/{qno}.xlsx?")
    return f"📄 Q{qno}（{customer}）报价单，可转发给客户：\n{url}\nExcel：{xlsx}"


def sheet_sent_privately() -> str:
    return "报价单链接已私聊发给你。"
