"""``/下单``, ``/补充`` and ``/变更``: order fields from the shared order grammar."""

from __future__ import annotations

from datetime import date

from handlers.args.grammar import DraftLine, OrderReader
from handlers.args.models import ChangeArgs, LineArg, LineChange, OrderFields
from handlers.args.refs import split_order_ref
from handlers.args.tokens import ArgError, clip
from handlers.texts import parse as t

__all__ = ["parse_change", "parse_new_order", "parse_supplement"]


def _check_line(line: DraftLine, *, need_qty: bool) -> None:
    if need_qty and line.qty is None:
        raise ArgError(t.LINE_NO_QTY.format(frag=clip(line.product)))
    if line.qty is not None and line.qty <= 0:
        raise ArgError(t.QTY_NOT_POSITIVE.format(frag=clip(line.product)))
    if line.price is not None and line.price <= 0:
        raise ArgError(t.PRICE_NOT_POSITIVE.format(frag=clip(line.product)))


def _fields(reader: OrderReader) -> OrderFields:
    lines = []
    for line in reader.lines:
        _check_line(line, need_qty=True)
        assert line.qty is not None
        lines.append(LineArg(product=line.product, qty=line.qty, unit=line.unit, unit_price=line.price))
    get = reader.values.get
    return OrderFields(
        customer=get("customer"),
        lines=tuple(lines),
        due_date=reader.due,
        note=get("note"),
        payment_terms=get("pay"),
        address=get("address"),
        contact=get("contact"),
    )


def parse_new_order(args: str, today: date) -> OrderFields:
    """``/下单`` in any of its forms and mixes.

    ``华为 A100×20@300 B200×5@1200 交期12-15 备注 加急``;
    ``客户=华为 产品=A100 数量=20 单价=300 交期=2026-12-15``;
    ``华为技术\\nA100 20台 单价300\\nB200 5台 1200元\\n交期 下周五``.
    ArgError when there is neither a customer nor a line, when a quantity or price is
    not above zero, for a past due date, and for any word that fits nowhere.
    """
    reader = OrderReader(today, positional_customer=True)
    reader.read(args)
    fields = _fields(reader)
    if fields.customer is None and not fields.lines:
        raise ArgError(t.ORDER_EMPTY)
    return fields


def parse_supplement(args: str, today: date) -> tuple[int, OrderFields]:
    """``/补充 #12 客户 华为 交期 12-15 A100×20@300 备注 … 付款方式 月结30天 地址 … 联系人 …``.

    Same grammar as ``/下单`` except that a customer needs its keyword (客户).
    """
    no, rest = split_order_ref(args)
    reader = OrderReader(today, positional_customer=False)
    reader.read(rest)
    fields = _fields(reader)
    if fields == OrderFields():
        raise ArgError(t.NOTHING_TO_SUPPLEMENT)
    return no, fields


def parse_change(args: str, today: date) -> tuple[int, ChangeArgs]:
    """``/变更 #12 交期 12-20 A100 数量 30``; also ``A100 数量 20→30``, ``交期改到12-20``,
    ``A100 单价 280``, ``A100×30``, ``备注 …``, ``地址 …``, ``联系人 …``, ``付款方式 …``.

    A quantity or price change must name its product; the customer cannot be changed;
    ArgError when there is nothing to change.
    """
    no, rest = split_order_ref(args)
    reader = OrderReader(today, positional_customer=False, change=True)
    reader.read(rest)
    changes = []
    for line in reader.lines:
        if line.qty is None and line.price is None:
            raise ArgError(t.CHANGE_LINE_EMPTY.format(frag=clip(line.product)))
        _check_line(line, need_qty=False)
        changes.append(LineChange(product=line.product, qty=line.qty, unit_price=line.price))
    get = reader.values.get
    result = ChangeArgs(
        due_date=reader.due,
        lines=tuple(changes),
        note=get("note"),
        address=get("address"),
        contact=get("contact"),
        payment_terms=get("pay"),
    )
    if result == ChangeArgs():
        raise ArgError(t.NOTHING_TO_CHANGE)
    return no, result
