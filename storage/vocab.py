"""The domain's enumerations and their Chinese labels.

Labels are vocabulary shown next to codes (the API's ``stage_label``, cards);
sentences live in ``handlers/texts``.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Stored order state."""

    DRAFT = "DRAFT"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    REJECTED = "REJECTED"
    CONFIRMED = "CONFIRMED"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class Stage(StrEnum):
    """Computed progress of a CONFIRMED order."""

    PREPARING = "PREPARING"
    IN_PRODUCTION = "IN_PRODUCTION"
    READY = "READY"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"


class Role(StrEnum):
    """What a person may do (a person may hold several)."""

    SALES = "sales"
    MANAGER = "manager"
    BOSS = "boss"
    PRODUCTION = "production"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    SERVICE = "service"
    PURCHASING = "purchasing"
    ADMIN = "admin"


class Action(StrEnum):
    """Everything that can be done to an order."""

    EDIT = "EDIT"
    SUBMIT = "SUBMIT"
    WITHDRAW = "WITHDRAW"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CHANGE = "CHANGE"
    START_PRODUCTION = "START_PRODUCTION"
    FINISH_PRODUCTION = "FINISH_PRODUCTION"
    SHIP = "SHIP"
    SIGN = "SIGN"
    PAY = "PAY"
    HOLD = "HOLD"
    RESUME = "RESUME"
    CLOSE = "CLOSE"
    CANCEL = "CANCEL"
    REOPEN = "REOPEN"
    FOLLOW_UP = "FOLLOW_UP"


STATE_LABELS: dict[str, str] = {
    State.DRAFT: "草稿",
    State.PENDING_APPROVAL: "待审批",
    State.REJECTED: "已驳回",
    State.CONFIRMED: "已确认",
    State.ON_HOLD: "挂起",
    State.COMPLETED: "已完成",
    State.CLOSED: "已关闭",
    State.CANCELLED: "已作废",
}

STAGE_LABELS: dict[str, str] = {
    Stage.PREPARING: "待备货",
    Stage.IN_PRODUCTION: "生产中",
    Stage.READY: "待发货",
    Stage.PARTIALLY_SHIPPED: "部分发货",
    Stage.AWAITING_PAYMENT: "已发货待回款",
}

ROLE_LABELS: dict[str, str] = {
    Role.SALES: "销售",
    Role.MANAGER: "主管",
    Role.BOSS: "老板",
    Role.PRODUCTION: "生产",
    Role.WAREHOUSE: "仓库",
    Role.FINANCE: "财务",
    Role.SERVICE: "客服",
    Role.PURCHASING: "采购",
    Role.ADMIN: "管理员",
}

#: the command a person types for each action (help and refusals name them)
ACTION_COMMANDS: dict[str, str] = {
    Action.EDIT: "/补充",
    Action.SUBMIT: "/提交",
    Action.WITHDRAW: "/撤回",
    Action.APPROVE: "/审批 通过",
    Action.REJECT: "/审批 驳回",
    Action.CHANGE: "/变更",
    Action.START_PRODUCTION: "/生产",
    Action.FINISH_PRODUCTION: "/完工",
    Action.SHIP: "/发货",
    Action.SIGN: "/签收",
    Action.PAY: "/回款",
    Action.HOLD: "/挂起",
    Action.RESUME: "/恢复",
    Action.CLOSE: "/关闭",
    Action.CANCEL: "/作废",
    Action.REOPEN: "/重开",
    Action.FOLLOW_UP: "/跟进",
}

class Topic(StrEnum):
    """A notification topic a group subscribes to (stored as these words, typed in /订阅)."""

    NEW_ORDER = "新订单"
    APPROVAL = "审批"
    PRODUCTION = "生产"
    SHIPPING = "发货"
    PAYMENT = "回款"
    OVERDUE = "逾期"
    SERVICE = "售后"
    DAILY = "日报"


DEFAULT_PAYMENT_TERMS = "款到发货"
#: payment terms that mean "paid before it ships" (shipping such an order with nothing paid is warned about)
PREPAY_WORDS = ("款到发货", "款到", "预付", "先款", "现款", "全款")


def is_prepayment(terms: str | None) -> bool:
    """Whether payment terms ask for payment before shipping (``款到发货``, ``预付30%`` …)."""
    return bool(terms) and any(word in (terms or "") for word in PREPAY_WORDS)


class QuoteStatus(StrEnum):
    """Stored quotation status (an OPEN quote past its last valid day is shown as expired)."""

    PENDING_APPROVAL = "PENDING_APPROVAL"
    OPEN = "OPEN"
    REJECTED = "REJECTED"
    WON = "WON"
    WITHDRAWN = "WITHDRAWN"


QUOTE_STATUS_LABELS: dict[str, str] = {
    QuoteStatus.PENDING_APPROVAL: "待审批",
    QuoteStatus.OPEN: "有效",
    QuoteStatus.REJECTED: "已驳回",
    QuoteStatus.WON: "已成交",
    QuoteStatus.WITHDRAWN: "已作废",
}
#: the label of an OPEN quote whose last valid day has passed
QUOTE_EXPIRED_LABEL = "已过期"

class PurchaseStatus(StrEnum):
    """Stored purchase order status."""

    OPEN = "OPEN"
    #: received in full
    RECEIVED = "RECEIVED"


PURCHASE_STATUS_LABELS: dict[str, str] = {PurchaseStatus.OPEN: "待到货", PurchaseStatus.RECEIVED: "已到货"}


class ApprovalStatus(StrEnum):
    """Stored status of one approval step: WAITING (a later step) → PENDING (active) → decided or cancelled."""

    WAITING = "WAITING"
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class ChangeStatus(StrEnum):
    """Stored status of a change request: PENDING → APPLIED / REJECTED / WITHDRAWN."""

    PENDING = "PENDING"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class ReminderStatus(StrEnum):
    """Stored status of a reminder: PENDING → SENT / CANCELLED."""

    PENDING = "PENDING"
    SENT = "SENT"
    CANCELLED = "CANCELLED"


class TicketStatus(StrEnum):
    """Stored status of an after-sales ticket: OPEN → IN_PROGRESS → RESOLVED."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    RESOLVED = "RESOLVED"
