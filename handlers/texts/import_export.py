"""Chinese texts of ``gendan import`` / ``gendan export``: column headers, status words, the report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from storage.services.exporter import Sheet
from storage.services.import_report import Issue, Report
from storage.vocab import STATE_LABELS, State

#: accepted column headers per kind and field, best first (compared without spaces, case and a
#: trailing "(元)"-style note; a leading * marking a required column is ignored too)
HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "name": ("客户名称", "客户", "名称", "客户名", "公司名称", "name", "customer", "customer name"),
        "contact": ("联系人", "contact"),
        "phone": ("电话", "联系电话", "手机", "手机号", "phone", "tel", "mobile"),
        "address": ("地址", "收货地址", "address"),
        "credit_limit": ("信用额度", "额度", "credit limit", "credit_limit", "credit"),
        "payment_terms": ("付款方式", "付款条件", "账期", "payment terms", "payment_terms", "terms"),
    },
    "products": {
        "sku": ("产品编码", "sku", "编码", "货号", "型号", "code", "product code"),
        "name": ("产品名称", "名称", "品名", "name", "product name"),
        "unit": ("单位", "unit"),
        "price": ("单价", "价格", "售价", "price", "unit price"),
        "floor_price": ("底价", "最低价", "floor price", "floor_price", "floor"),
        "stock": ("库存", "库存数量", "stock", "inventory"),
    },
    "orders": {
        "ref": ("订单号", "单号", "订单编号", "order no", "order_no", "order", "ref"),
        "customer": ("客户", "客户名称", "customer"),
        "product": ("产品", "产品编码", "sku", "编码", "产品名称", "品名", "product"),
        "qty": ("数量", "qty", "quantity"),
        "unit": ("单位", "unit"),
        "unit_price": ("单价", "价格", "unit price", "unit_price", "price"),
        "due": ("交期", "交货日期", "交货期", "due", "due date", "due_date"),
        "ordered": ("下单日期", "订单日期", "日期", "order date", "order_date", "date", "created"),
        "owner": ("负责人", "业务员", "销售", "owner", "sales"),
        "state": ("状态", "订单状态", "status", "state"),
        "shipped": ("已发数量", "已发", "已发货", "shipped", "shipped qty"),
        "paid": ("已回款", "回款", "已收款", "已收", "paid"),
    },
}
#: columns a file must have
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("name",), "products": ("sku",), "orders": ("ref", "customer", "product", "qty", "unit_price"),
}

FIELD_LABELS = {
    "name": "名称", "contact": "联系人", "phone": "电话", "address": "地址", "credit_limit": "信用额度",
    "payment_terms": "付款方式", "sku": "产品编码", "unit": "单位", "price": "单价", "floor_price": "底价",
    "stock": "库存", "ref": "订单号", "customer": "客户", "product": "产品", "qty": "数量", "unit_price": "单价",
    "due": "交期", "ordered": "下单日期", "owner": "负责人", "state": "状态", "shipped": "已发数量",
    "paid": "已回款", "amount": "金额",
}  # fmt: skip
KIND_LABELS = {"customers": "客户", "products": "产品", "orders": "历史订单"}

#: 状态 words besides the labels of storage.vocab (and the English codes, any case)
STATE_WORDS: dict[str, State] = {
    **{label: State(code) for code, label in STATE_LABELS.items()},
    "确认": State.CONFIRMED, "进行中": State.CONFIRMED, "执行中": State.CONFIRMED, "生产中": State.CONFIRMED,
    "待发货": State.CONFIRMED, "部分发货": State.CONFIRMED, "已发货": State.CONFIRMED, "待回款": State.CONFIRMED,
    "完成": State.COMPLETED, "已结清": State.COMPLETED, "暂停": State.ON_HOLD, "已暂停": State.ON_HOLD,
    "已挂起": State.ON_HOLD, "关闭": State.CLOSED, "作废": State.CANCELLED, "取消": State.CANCELLED,
    "已取消": State.CANCELLED,
}  # fmt: skip

#: date words in cells: 2026年12月15日
YEAR, MONTH, DAY = "年", "月", "日"

#: what the report offers when a 状态 is not understood
ALLOWED_STATES = ("已确认", "挂起", "已完成", "已关闭", "已作废")

ISSUES = {
    # the file
    "no_file": "找不到文件「{path}」",
    "bad_format": "不支持的文件类型「{suffix}」：请用 .xlsx 或 .csv（.xls 请在 Excel 里另存为 .xlsx）",
    "unreadable": "读不了这个文件：{reason}",
    "empty": "文件里没有表头，也没有数据",
    "missing_column": "缺少「{field}」列（可用的表头：{aliases}）",
    "unknown_columns": "这些列没有用到：{columns}",
    "twice_column": "「{field}」有两列：「{first}」和「{second}」，用了「{first}」",
    # cells
    "not_number": "{field}「{value}」不是数字",
    "not_date": "{field}「{value}」不是日期（写成 2026-12-15 或 2026/12/15）",
    "unknown_state": "状态「{value}」不认识（可写：{allowed}）",
    "missing": "缺少{field}",
    "too_long": "{field}太长（最多 {limit} 个字）",
    "negative": "{field}「{value}」不能是负数",
    "not_positive": "{field}「{value}」要大于 0",
    "too_precise": "{field}「{value}」最多 3 位小数",
    "too_large": "{field}「{value}」太大了，请检查",
    "duplicate": "{field}「{value}」和第{first}行重复",
    # orders
    "conflict": "订单「{ref}」的{field}「{value}」和第{first}行的「{first_value}」不一致",
    "unknown_customer": "客户「{value}」不存在：请先导入客户（按名称完全一致匹配）",
    "unknown_owner": "负责人「{value}」找不到：他要先和机器人说过话，或写成 平台:用户ID",
    "ambiguous_owner": "负责人「{value}」有 {count} 个同名的人：请写成 平台:用户ID",
    "over_shipped": "已发数量 {shipped} 超过了数量 {qty}",
    "duplicate_line": "订单「{ref}」里产品「{value}」和第{first}行重复",
    "over_paid": "订单「{ref}」已回款 {paid} 超过了订单金额 {amount}",
    "state_not_importable": "状态「{value}」不能导入：历史订单只能是 已确认、挂起、已完成、已关闭 或 已作废",
    "cancelled_with_activity": "订单「{ref}」已作废，却有发货或回款",
    "completed_not_settled": "订单「{ref}」标为已完成，但没有全部发货或还有 {balance} 元未回款",
    # the order import as a whole
    "abandoned_import_stuck": "之前一次中断的订单导入（{batches}）撤销不了，所以这次没有导入：{cause}。"
                              "请把错误发给管理员处理（服务日志里有详细原因），处理好后再导入",
    "concurrent_import": "同时有另一个导入在导入同样的订单号：这次导入已全部撤销。等那个导入结束后再导入一次"
                         "（已导入的订单会跳过）",
    "undone_meanwhile": "导入进行中被另一个进程当作中断的导入撤销了，这次没有导入任何订单：请重新导入",
    # notes
    "free_product": "产品「{value}」不在产品目录里，按文字记录（不关联产品、不扣库存）",
    "linked_lines": "新产品「{value}」：订单 {orders} 里写着它的行已关联到产品库，之后发货会扣库存",
    "no_owner": "{count} 个订单没有负责人（第{rows}行）：导入时加 --owner 张三（这些订单都归张三），"
                "或在文件里加一列「负责人」（也可叫「业务员」）写上每个订单的负责人",
    "settled": "订单「{ref}」已全部发货并回清款，状态按「已完成」导入（文件里是「{value}」）",
}

ROW = "第{row}行：{text}"
#: rows named in a file-level error (the rest are "…")
ROWS_SHOWN = 10
LIST_SEP = "、"
SUMMARY = "{kind}：共 {rows} 行，新增 {created}，更新 {updated}，不变 {unchanged}"
SUMMARY_ORDERS = "{kind}：共 {rows} 行，新增订单 {created}，已导入过（跳过）{unchanged}"
DONE = "已导入。"
DRY_RUN_OK = "试运行：没有问题，以上是正式导入的结果；没有写入任何数据。去掉 --dry-run 正式导入。"
DRY_RUN_ERRORS = "试运行：有 {count} 个错误；没有写入任何数据。"
FAILED = "有 {count} 个错误，整个文件都没有导入（全部改好后重新导入）。"
ERRORS_TITLE = "错误："
NOTES_TITLE = "提示："
PROGRESS = "导入"
#: who an imported order's history names: the file, not the login that ran the import
IMPORT_ACTOR = "导入 {file}"
EXPORTED = "已导出 {orders} 个订单、{lines} 行明细到 {path}"
BAD_CLI_DATE = "日期「{value}」看不懂：请写成 2026-12-15"

ORDER_SHEET = Sheet("订单", ("单号", "状态", "阶段", "客户", "负责人", "金额", "已收", "待收", "交期", "下单时间",
                           "外部订单号"))
LINE_SHEET = Sheet("明细", ("单号", "行号", "产品编码", "品名", "数量", "单位", "单价", "金额", "已发数量"))


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, State):
        return STATE_LABELS.get(value, value.value)
    return str(value)


def issue_text(issue: Issue) -> str:
    """One issue as a line: 第5行：单价「abc」不是数字."""
    params = {k: _shown(v) for k, v in issue.params.items()}
    if "field" in params:
        params["field"] = FIELD_LABELS.get(params["field"], params["field"])
    if "rows" in params:
        rows = [str(r) for r in issue.params["rows"]]
        params["rows"] = LIST_SEP.join(rows[:ROWS_SHOWN]) + ("…" if len(rows) > ROWS_SHOWN else "")
    if "orders" in params:
        params["orders"] = LIST_SEP.join(f"#{no}" for no in issue.params["orders"])
    text = ISSUES[issue.code].format(**params)
    return ROW.format(row=issue.row, text=text) if issue.row else text


def render(report: Report) -> str:
    """The whole report: summary, errors, notes, and what happened."""
    template = SUMMARY_ORDERS if report.kind == "orders" else SUMMARY
    out = [template.format(kind=KIND_LABELS[report.kind], rows=report.rows, created=report.created,
                           updated=report.updated, unchanged=report.unchanged)]
    for title, issues in ((ERRORS_TITLE, report.errors), (NOTES_TITLE, report.notes)):
        if issues:
            out.append(title)
            out += ["  " + issue_text(i) for i in sorted(issues, key=lambda i: i.row)]
    if report.dry_run:
        out.append(DRY_RUN_ERRORS.format(count=len(report.errors)) if report.errors else DRY_RUN_OK)
    else:
        out.append(FAILED.format(count=len(report.errors)) if report.errors else DONE)
    return "\n".join(out)
