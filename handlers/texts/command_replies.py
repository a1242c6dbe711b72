"""Each chat command's own replies (orders, approvals, state changes, customers, admin …): short,
phone-sized, naming the order. What several commands and the dispatcher share is ``shared_replies``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from handlers.texts.shared_replies import money, qty, roles_text
from storage.vocab import ROLE_LABELS, STATE_LABELS

# ---- approvals ---------------------------------------------------------------------------


def no_pending_step(no: int, state: str) -> str:
    return f"#{no} 当前没有待审批的步骤（状态：{STATE_LABELS.get(state, state)}）。"


def decided(no: int, approve: bool, comment: str | None, state: str, waiting_role: str | None = None,
            stand_in: str | None = None) -> str:
    text = f"#{no} 已{'通过' if approve else '驳回'}" + (f"：{comment}" if comment else "")
    if stand_in:
        text += f"（管理员代{ROLE_LABELS.get(stand_in, stand_in)}审批，已记入记录）"
    if waiting_role:
        return text + f"，等待{ROLE_LABELS.get(waiting_role, waiting_role)}审批。"
    return text + f"，当前状态「{STATE_LABELS.get(state, state)}」。"


def change_lapsed(no: int, why: str) -> str:
    from handlers.texts.notices import notice_obsolete

    return f"#{no} 的变更已失效（{notice_obsolete(why)}），未做修改；如仍需要请重新 /变更 #{no}。"


def reject_needs_reason(no: int) -> str:
    return f"驳回需要写理由：/审批 #{no} 驳回 理由"


def ask_reject_reason(no: int) -> str:
    return f"请直接回复驳回 #{no} 的理由（10 分钟内有效），或发送 /审批 #{no} 驳回 理由。"


def no_approver(no: int, role: str) -> str:
    from handlers.texts.orders import vacant_warning

    return vacant_warning(no, role)


def vacant_role_to_admin(no: int, customer: str, amount: Decimal, role: str) -> str:
    """To each admin, 1:1: an order's approval needs a role nobody holds."""
    from handlers.texts.orders import vacant_warning

    return f"#{no} {customer} {money(amount)} 已提交审批。\n" + vacant_warning(no, role)


def shipped_unpaid(no: int, terms: str) -> str:
    """Shipped although the terms ask for payment first and nothing is paid (it went ahead)."""
    return f"⚠️ #{no} 付款方式是「{terms}」，但还没有任何回款：请确认已收款或已获准先发货。"


# ---- orders and fulfilment ---------------------------------------------------------------


def withdrawn(no: int) -> str:
    return f"#{no} 已撤回为草稿，可 /补充 修改后 /提交。"


def change_head(no: int, applied: bool, version: int) -> str:
    return f"#{no} 变更{f'已生效（v{version}）' if applied else '已提交审批'}："


def query_is_not_a_number(text: str) -> str:
    """/查单 with a customer name or a list word instead of an order number."""
    return f"/查单 要写单号，如 #12。按客户或条件找订单请发：/订单 {text}"


def no_orders() -> str:
    return "没有符合条件的订单。"


def warehouse_told() -> str:
    return "已通知仓库。"


def no_line(product: str, skus: Iterable[str]) -> str:
    return f"订单里没有产品「{product}」。订单产品：{'、'.join(skus)}"


def shipped(no: int, seq: int, amount: Decimal, carrier: str | None, tracking: str | None) -> str:
    logistics = " ".join(p for p in (carrier, tracking) if p)
    return f"#{no} 第{seq}批已发货 {money(amount)}" + (f"（{logistics}）" if logistics else "")


def signed(no: int) -> str:
    return f"#{no} 已记录客户签收。"


def paid(no: int, amount: Decimal, balance: Decimal) -> str:
    return f"#{no} 回款 {money(amount)} 已记录，待收 {money(balance)}。"


# ---- state changes, follow-ups, admin ----------------------------------------------------


def needs_reason(name: str) -> str:
    return f"/{name} 需要写原因。"


def state_changed(no: int, verb: str, state: str) -> str:
    return f"#{no} 已{verb}，当前状态「{STATE_LABELS[state]}」。"


def follow_up_empty() -> str:
    return "跟进内容不能为空。"


def followed_up(no: int, text: str) -> str:
    return f"#{no} 已记录跟进：{text}"


def user_unknown(ref: str) -> str:
    return f"找不到用户「{ref}」：请对方先和我说一句话（任意命令），或写 平台:ID，如 wecom:zhangsan。"


def user_ambiguous(ref: str, ids: Iterable[str]) -> str:
    return f"「{ref}」对应多人：{'、'.join(ids)}，请写 平台:ID。"


def last_admin() -> str:
    return "不能取消最后一位管理员的管理员角色：请先给另一个人 /角色 … 管理员。"


def roles_now(name: str, roles: Iterable[str]) -> str:
    return f"{name} 的角色：{roles_text(roles)}"


def subscriptions(topics: list[str]) -> str:
    return f"本群订阅的通知：{'、'.join(topics) if topics else '无'}"


def bound(masked: str, has_secret: bool) -> str:
    return f"已绑定本群推送机器人：{masked}" + ("（含加签密钥）" if has_secret else "")


def unbound() -> str:
    return "已解除本群的推送机器人。"


# ---- help --------------------------------------------------------------------------------


def help_nothing(no: int, state: str) -> str:
    return f"#{no}（{STATE_LABELS.get(state, state)}）：你现在没有可做的操作，可 /查单 #{no} 查看。"


def help_actions(no: int, state: str, commands: list[str]) -> str:
    rows = "\n".join(f"· {c}" for c in commands)
    return f"#{no}（{STATE_LABELS.get(state, state)}）你现在可以：\n{rows}"


def help_command(name: str, aliases: Iterable[str], summary: str, usage: str, example: str,
                 roles: Iterable[str] | None) -> str:
    alias_list = list(aliases)
    head = f"/{name}" + (f"（别名：{'、'.join('/' + a for a in alias_list)}）" if alias_list else "")
    who = f"\n权限：{roles_text(roles)}" if roles else ""
    return f"{head}：{summary}\n格式：{usage}\n例如：{example}{who}"


def help_all(rows: list[tuple[str, str]], my_roles: Iterable[str]) -> str:
    body = "\n".join(f"{usage}　{summary}" for usage, summary in rows)
    return f"可用命令（/帮助 命令 查看详情）：\n{body}\n你的角色：{roles_text(my_roles)}"


# ---- customers, stock, reminders, after-sales --------------------------------------------


def customer_add_forbidden() -> str:
    return "只有销售或管理员可以新增客户。"


def customer_exists(name: str) -> str:
    return f"客户「{name}」已存在。"


def customer_added(name: str) -> str:
    return f"已新增客户「{name}」。"


def customer_list(names: list[str]) -> str:
    return "客户：" + ("、".join(names) if names else "还没有客户")


def customer_unknown(name: str) -> str:
    return f"没有客户「{name}」。新增：/客户 新增 {name}"


def customer_card(name: str, contact: str | None, phone: str | None, address: str | None, terms: str | None,
                  credit: Decimal | None, open_orders: int, balance: Decimal) -> str:
    return "\n".join([
        f"客户：{name}", f"联系人：{contact or '—'} {phone or ''}".rstrip(), f"地址：{address or '—'}",
        f"付款方式：{terms or '款到发货'}　信用额度：{money(credit) if credit else '不限'}",
        f"进行中订单 {open_orders} 张，未收 {money(balance)}"])


def no_products() -> str:
    return "没有找到产品。产品可用 /入库 产品 数量 建立，或用 gendan import products 导入。"


def stock_rows(rows: list[tuple[str, str, Decimal, str | None]]) -> str:
    return "\n".join(f"{sku}{'(' + name + ')' if name else ''}：{qty(stock)}{unit or ''}"
                     for sku, name, stock, unit in rows)


def stocked_in(sku: str, amount: Decimal, stock: Decimal, created: bool, linked: Iterable[int] = ()) -> str:
    text = f"{sku} 入库 {qty(amount)}，现有库存 {qty(stock)}" + ("（新产品已建档）" if created else "")
    nos = " ".join(f"#{no}" for no in linked)
    return text + (f"\n{linked_lines(sku, nos)}" if nos else "")


def linked_lines(sku: str, nos: str) -> str:
    """Open orders whose free-text line named a product just created."""
    return f"订单 {nos} 里的 {sku} 已关联到产品库，之后发货会扣库存。"


def reminder_set(when: datetime, order_no: int | None, for_me: bool, text: str) -> str:
    who = "你" if for_me else f"#{order_no} 的负责人"
    return f"好的，{when:%Y-%m-%d %H:%M} 提醒{who}：{text}"


def ticket_opened(no: int, ticket: int, text: str) -> str:
    return f"#{no} 已建售后工单 T{ticket}：{text}"


def ticket_forbidden() -> str:
    return "只有客服可以更新售后工单状态。"


def ticket_unknown(ticket: int) -> str:
    return f"没有售后工单 T{ticket}。"


def ticket_updated(no: int, ticket: int, status: str, note: str | None) -> str:
    return f"#{no} 售后 T{ticket} → {status}" + (f"：{note}" if note else "")


# ---- reports -----------------------------------------------------------------------------


def report(label: str, start: date, end: date, orders: int, sales: Decimal, shipped_amount: Decimal,
           collected: Decimal, overdue: int, people: list[tuple[str, int, Decimal, Decimal, Decimal]]) -> str:
    rows = [f"📊 {label}（{start:%m-%d}~{end:%m-%d}）",
            f"成交 {orders} 单 {money(sales)}｜发货 {money(shipped_amount)}｜回款 {money(collected)}",
            f"当前逾期未发货 {overdue} 单"]
    rows += [f"· {name}：成交 {n} 单 {money(s)}，发货 {money(sh)}，回款 {money(c)}" for name, n, s, sh, c in people]
    return "\n".join(rows)


def statement(customer: str, start: date, end: date, opening: Decimal, shipped_amount: Decimal,
              collected: Decimal, closing: Decimal, shipments: list[tuple[date, int, int, Decimal]],
              payments: list[tuple[date, int, Decimal, str | None]]) -> str:
    rows = [f"🧾 {customer} 对账单 {start:%Y-%m-%d}~{end:%Y-%m-%d}",
            f"期初应收 {money(opening)}｜本期发货 {money(shipped_amount)}｜本期回款 {money(collected)}"
            f"｜期末应收 {money(closing)}"]
    rows += [f"· {d:%m-%d} 发货 #{no} 第{seq}批 {money(a)}" for d, no, seq, a in shipments]
    rows += [f"· {d:%m-%d} 回款 #{no} {money(a)}{'（' + m + '）' if m else ''}" for d, no, a, m in payments]
    return "\n".join(rows)


def customer_missing(name: str) -> str:
    return f"没有客户「{name}」。"


# ---- staff -------------------------------------------------------------------------------


def handover_to_you(left: str, nos: list[int]) -> str:
    return f"👤 {left} 已离职，其进行中的订单 {'、'.join(f'#{n}' for n in nos)} 已转给你负责。"


def handover_in_group(nos: list[int], successor: str, left: str) -> str:
    return f"👤 {'、'.join(f'#{n}' for n in nos)} 负责人变更为 {successor}（{left} 已离职）"
