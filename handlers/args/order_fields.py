"""The fields of an order, defined once: name, label, length limit and the chat's keywords.

``/下单`` reads them from chat text (the keywords), ``POST /api/v1/orders`` takes them as JSON
(the names; ``web/rest_order_input.py`` builds its request models from this list) and the
importer takes them as spreadsheet columns. The limits are the database's column sizes where
the field is stored in a sized column (PostgreSQL refuses longer values; SQLite would keep
them), otherwise a generous bound on free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.texts.shared_replies import FIELD_LABELS

__all__ = ["EXTERNAL_REF_MAX", "LINE_FIELDS", "MAX_LINES", "NEW_ORDER_WORDS", "ORDER_FIELDS", "OWNER_MAX",
           "TEXT_MAX", "OrderField", "order_field"]

#: ``/下单`` and its aliases: the command word an order's text may start with
NEW_ORDER_WORDS = ("下单", "开单", "新订单", "order")
#: most lines one order may have
MAX_LINES = 200
#: ``platform:user_id`` of the owner (people's platform and user id columns, with the colon)
OWNER_MAX = 150
#: an outside system's reference (``orders.external_ref``)
EXTERNAL_REF_MAX = 64
#: what follows ``/下单`` in one text
TEXT_MAX = 5000


@dataclass(frozen=True)
class OrderField:
    """One field of an order or of an order line."""

    #: the attribute of ``OrderFields``/``LineArg`` and the key of the API's JSON body
    name: str
    #: the longest value kept, in characters (None: the chat's parser bounds it)
    max_length: int | None
    #: the chat keywords that introduce it (``交期 12-15``)
    keywords: tuple[str, ...] = ()
    #: the grammar's name for it (``handlers/args/fields.py``'s ``FIELD_WORDS`` values)
    grammar: str | None = None

    @property
    def label(self) -> str:
        """The Chinese label (``handlers.texts.shared_replies.FIELD_LABELS``; else the first keyword)."""
        return FIELD_LABELS.get(self.name) or (self.keywords[0] if self.keywords else self.name)


#: the order's own fields, in the order the API reports their problems
ORDER_FIELDS: tuple[OrderField, ...] = (
    OrderField("customer", 128, ("客户名称", "客户名", "客户"), "customer"),
    OrderField("due_date", 40, ("交期", "交货期", "交货日期", "交货", "到货日期", "到货", "交付日期", "交付"), "due"),
    OrderField("note", 2000, ("备注", "说明"), "note"),
    OrderField("payment_terms", 64, ("付款方式", "付款条件", "付款", "账期", "结算方式", "结算", "支付方式"), "pay"),
    OrderField("address", 500, ("收货地址", "送货地址", "地址"), "address"),
    OrderField("contact", 128, ("联系人", "收货人", "联系方式", "联系电话", "电话"), "contact"),
)
#: the fields of one order line
LINE_FIELDS: tuple[OrderField, ...] = (
    OrderField("sku", 64, ("产品", "品名", "型号", "货品", "商品"), "product"),
    OrderField("qty", None, ("数量", "数目"), "qty"),
    OrderField("unit", 16),
    OrderField("unit_price", None, ("单价", "价格", "价钱"), "price"),
)


def order_field(name: str) -> OrderField:
    """The order or line field called ``name``."""
    return next(f for f in (*ORDER_FIELDS, *LINE_FIELDS) if f.name == name)
