"""Every user-facing Chinese error string of the argument parser (``handlers.args``).

Each says what was not understood, quoting the fragment in 「」; the dispatcher
appends the command's usage and example. ``{frag}`` is always a clipped quote of
what the user typed. Keep them phone-sized.
"""

from __future__ import annotations

FIELD_LABELS = {
    "customer": "客户", "due": "交期", "note": "备注", "pay": "付款方式", "address": "地址",
    "contact": "联系人", "product": "产品", "qty": "数量", "price": "单价", "method": "方式",
    "paid_on": "日期",
}  # fmt: skip
CUSTOMER_LABELS = {"name": "客户名", "contact": "联系人", "phone": "电话", "address": "地址"}

# -- generic --------------------------------------------------------------------------------
NOT_UNDERSTOOD = "没看懂「{frag}」"
HINT_FREE_TEXT = "：产品写成 A100×20@300，其他内容写在「备注 」后面"
HINT_PRICE_NEEDS_LINE = "：单价要跟在产品和数量后面，如 A100×20@300"
HINT_QTY_NEEDS_PRODUCT = "：数量前要写产品，如 A100 20台"
HINT_BLOCK = "：数量前要写产品，如 A100 5块；单价跟在数量后面，如 A100 20台 300块"
HINT_SHIP = "：可写 产品 数量、物流公司、单号，如 A100 8台 顺丰 SF1234567890"
HINT_PAYMENT = "：可写 金额、方式、日期，如 2万 转账 11-28"
FIELD_EMPTY = "「{field}」后面要写内容"
FIELD_TWICE = "{field}写了两次：「{frag}」"

# -- numbers --------------------------------------------------------------------------------
NOT_A_NUMBER = "没看懂「{frag}」：要写数字，如 20、1,200、1.5万、两百"
NUMBER_TOO_BIG = "「{frag}」太大了，请检查"
NOT_A_MONEY = "没看懂金额「{frag}」：如 300、300元、¥1,200、2万"
NOT_A_QTY = "没看懂数量「{frag}」：如 20、20台、二十个"
QTY_NOT_NUMBER = "没看懂「{frag}」：数量要写数字，如 A100×20"
QTY_NOT_POSITIVE = "「{frag}」的数量要大于 0"
PRICE_NOT_POSITIVE = "「{frag}」的单价要大于 0"
AMOUNT_NOT_POSITIVE = "金额「{frag}」要大于 0"

# -- dates and times ------------------------------------------------------------------------
NOT_A_DATE = "没看懂日期「{frag}」：可写 12-15、12月15日、15号、下周五、月底"
INVALID_DATE = "「{frag}」不是有效日期"
PAST_DATE = "「{frag}」是 {date}，已经过去了"
MONTH_DAY_PASSED = "「{frag}」已过（今天 {today}）；要写明年的日期请写 {full}"
FUTURE_DATE = "「{frag}」是 {date}，还没到"
DATE_TOO_FAR = "「{frag}」太远了，请检查"
NOT_A_TIME = "没看懂时间「{frag}」：可写 明天上午10点、下午3点半、30分钟后、下周一9点"
NEED_CLOCK = "「{frag}」要写几点，如 明天下午3点"
BAD_TIME = "「{frag}」不是有效时间"
TIME_PAST = "时间已过：「{frag}」是 {when}"
TIME_PAST_TRY_PM = "；下午请写「下午{frag}」，明天请写「明天{frag}」"
TIME_EXTRA = "没看懂时间后面的「{frag}」"
BAD_MONTH = "「{frag}」不是有效月份"
FUTURE_MONTH = "「{frag}」还没到"
RANGE_REVERSED = "「{frag}」开始日期晚于结束日期"

# -- order references -----------------------------------------------------------------------
MISSING_ORDER_REF = "要写单号，如 #12"
BAD_ORDER_REF = "没看懂单号「{frag}」：如 #12"

# -- /下单 /补充 /变更 --------------------------------------------------------------------------
ORDER_EMPTY = "没有客户也没有产品，什么都没建"
NOTHING_TO_SUPPLEMENT = "没有要补充的内容"
NOTHING_TO_CHANGE = "没有要变更的内容"
LINE_NO_QTY = "「{frag}」缺数量，如 {frag}×20"
LINE_TWICE = "「{frag}」的{what}写了两次"
QTY_WITHOUT_PRODUCT = "「{kw}」没有对应的产品：要写产品，如 产品=A100 数量=20"
CHANGE_NEEDS_PRODUCT = "改数量或单价要写哪个产品，如 A100 数量 30"
CHANGE_LINE_EMPTY = "「{frag}」要改成什么？如 {frag} 数量 30 或 {frag} 单价 280"
CHANGE_NO_CUSTOMER = "变更不能改客户；换客户请作废后重新下单"

# -- /发货 /回款 --------------------------------------------------------------------------------
SHIP_TWO_CARRIERS = "写了两家物流：「{a}」「{b}」"
SHIP_TWO_TRACKINGS = "写了两个单号：「{a}」「{b}」"
SHIP_BAD_TRACKING = "没看懂单号「{frag}」：如 单号 SF1234567890"
PAYMENT_NO_AMOUNT = "要写金额，如 /回款 #12 20000"
PAYMENT_TWO_AMOUNTS = "写了两个金额：「{frag}」；日期请写 11-28 或 日期 11.28"

# -- /提醒 /售后 /订单 /审批 -------------------------------------------------------------------------
REMINDER_MISSING = "要写时间和内容，如 /提醒 明天上午10点 催客户付款"
REMINDER_NO_TEXT = "要写提醒什么（{when}）"
TICKET_NO_STATUS = "「{frag}」要写状态：处理中 或 已解决"
TICKET_NO_TEXT = "要写 #{no} 的问题，如 /售后 #{no} 屏幕有坏点"
LIST_BAD_FILTER = "没看懂「{frag}」：可写 我的、待审批、逾期、本周 或客户名；查单请用 /查单 #12"
APPROVAL_MISSING = "要写 通过 或 驳回"
APPROVAL_NO_DECISION = "没看懂「{frag}」：要写 通过 或 驳回 [理由]"

# -- /客户 /入库 /对账 /报表 -----------------------------------------------------------------------
CUSTOMER_NO_NAME = "要写客户名，如 /客户 新增 华为技术 张三 13800138000"
STOCK_MISSING = "要写产品和数量，如 /入库 A100 100台"
STOCK_USAGE = "没看懂「{frag}」：要写 产品 数量，如 A100 100台"
STATEMENT_NO_CUSTOMER = "要写客户，如 /对账 华为 11月"
REPORT_BAD_PERIOD = "没看懂「{frag}」：可写 本周、上周、本月、上月、今年"

# -- /订阅 /角色 /绑定 -------------------------------------------------------------------------
TOPICS_MISSING = "要写事件：{valid}，或 全部"
TOPIC_UNKNOWN = "没有「{frag}」这个事件；可选：{valid}，或 全部"
ROLES_MISSING = "要写用户和角色，如 /角色 @张三 主管"
ROLES_NONE = "要写给「{user}」的角色，如 主管、财务；取消用 -仓库"
ROLE_UNKNOWN = "没有「{frag}」这个角色；可选：{valid}"
ROLES_CONFLICT = "同一个角色又加又取消：{frag}"
BIND_MISSING = "要写机器人的 webhook 地址"
BIND_TWO_URLS = "只能写一个 webhook 地址"
BIND_BAD_URL = (
    "「{frag}」不是群机器人地址：企业微信是 …/cgi-bin/webhook/send?key=…，钉钉是 …/robot/send?access_token=…"
)
BIND_BAD_SECRET = "没看懂「{frag}」：加签密钥以 SEC 开头"
BIND_WECOM_SECRET = "企业微信群机器人不用加签密钥，只写地址即可"
