"""Argument grammars of every command (pure: no I/O, no database).

Use as ``from handlers import args``; each ``parse_*`` takes the normalised text after
the command word and returns frozen dataclasses, or raises :class:`ArgError` whose
``reason`` (Chinese) quotes what was not understood. The accepted forms and the
ambiguity rules are in the README ("Command language").
"""

from __future__ import annotations

from handlers.args.admin import ROLE_WORDS, TOPICS, parse_bind, parse_roles, parse_topics
from handlers.args.customer import is_customer_add, parse_customer_add, parse_stock_in
from handlers.args.dates import parse_date, parse_past_date
from handlers.args.misc import (
    parse_after_sales,
    parse_approval,
    parse_list_filter,
    parse_reasoned,
    parse_reminder,
)
from handlers.args.models import (
    TICKET_RESOLVED,
    ChangeArgs,
    CustomerArgs,
    LineArg,
    LineChange,
    ListFilter,
    OrderFields,
    PaymentArgs,
    ReminderArgs,
    ShipArgs,
    TicketOpen,
    TicketUpdate,
)
from handlers.args.numbers import QTY_UNITS, parse_money, parse_number, parse_qty
from handlers.args.order import parse_change, parse_new_order, parse_supplement
from handlers.args.payment import PAYMENT_METHODS, parse_payment
from handlers.args.periods import parse_report_period, parse_statement
from handlers.args.refs import parse_order_ref, split_order_ref
from handlers.args.ship import CARRIERS, parse_ship
from handlers.args.times import parse_when
from handlers.args.tokens import ArgError, catalogue_units

__all__ = [
    "CARRIERS",
    "PAYMENT_METHODS",
    "QTY_UNITS",
    "ROLE_WORDS",
    "TICKET_RESOLVED",
    "TOPICS",
    "ArgError",
    "ChangeArgs",
    "CustomerArgs",
    "LineArg",
    "LineChange",
    "ListFilter",
    "OrderFields",
    "PaymentArgs",
    "ReminderArgs",
    "ShipArgs",
    "TicketOpen",
    "TicketUpdate",
    "catalogue_units",
    "is_customer_add",
    "parse_after_sales",
    "parse_approval",
    "parse_bind",
    "parse_change",
    "parse_customer_add",
    "parse_date",
    "parse_list_filter",
    "parse_money",
    "parse_new_order",
    "parse_number",
    "parse_order_ref",
    "parse_past_date",
    "parse_payment",
    "parse_qty",
    "parse_reasoned",
    "parse_reminder",
    "parse_report_period",
    "parse_roles",
    "parse_ship",
    "parse_statement",
    "parse_stock_in",
    "parse_supplement",
    "parse_topics",
    "parse_when",
    "split_order_ref",
]
