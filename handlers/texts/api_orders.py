"""Chinese texts of ``POST /api/v1/orders`` (web/rest_order_create.py): refusals per field, the owner's notice."""

from __future__ import annotations

INVALID = "订单未创建：请求有误，请按 details 逐项修改"
REFUSED = "订单未创建"
NOT_JSON = "请求体不是 UTF-8 编码的 JSON 对象"
UNKNOWN_FIELD = "不认识的字段"
NOT_TEXT = "应为字符串"
EMPTY = "不能为空"
TOO_LONG = "太长（最多 {n} 个字符）"
NOT_LIST = "应为数组，每项一个产品行"
NOT_OBJECT = "应为对象，如 {\"sku\": \"A100\", \"qty\": \"20\", \"unit_price\": \"300\"}"
TOO_MANY_LINES = "产品行太多（最多 {n} 行）"
NOT_QTY_OR_TEXT = "应为数字或字符串，如 \"20\" 或 \"20台\""
UNKNOWN_UNIT = "「{unit}」不是认识的单位"
UNIT_CONFLICT = "数量里的单位「{given}」与 unit「{unit}」不一致"
QTY_NOT_POSITIVE = "数量要大于 0"
PRICE_NOT_POSITIVE = "单价要大于 0"
TEXT_AND_FIELDS = "text 与结构化字段（{fields}）只能二选一"
NOT_ORDER_TEXT = "text 只能是 /下单 的内容，不能是「/{name}」"
OWNER_FORMAT = "应为 平台:用户ID，如 wecom:zhangsan"
OWNER_UNKNOWN = "没有这个人（或已离职）：{owner}"
OWNER_NOT_SALES = "{name} 没有「销售」角色，不能做订单负责人"
ORDER_EMPTY = "没有客户也没有产品，什么都没建"

# the OpenAPI document's descriptions and examples of the body (they quote the chat's words)
DOC_BODY = "Either the fields or text (what follows /下单), not both. Numbers and dates as in chat."
DOC_OWNER = "platform:user_id of a person holding 销售"
DOC_TEXT = "what follows /下单"
DOC_TEXT_EXAMPLE = "华为 A100×20@300 交期12-15"
DOC_DUE_EXAMPLES = ("2026-12-15", "下周五")
DOC_QTY = "as in chat: 20, \"20台\", \"二十个\""
DOC_PRICE = "as in chat: 300, \"¥300\", \"1.5万\""
DOC_SUMMARY = "Create an order with the same validation as /下单"
DOC_STATEMENT = "Reconciliation statement (as /对账); Accept: {xlsx} gives the workbook"


def via_api(ref: str | None) -> str:
    """The first line of what the owner hears in their 1:1 chat about an order made through the API."""
    return f"🔗 系统接口为你创建了订单（外部单号 {ref}）：" if ref else "🔗 系统接口为你创建了订单："
