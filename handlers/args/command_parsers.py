"""The argument parser each chat command declares when it registers (``@router.command(…, parse=…)``).

Each is a grammar of this package bound to what it needs from the :class:`~bot.commands.ParseContext`
(today, now, the catalogue's units); the router runs it and answers arguments that were not
understood. Commands with several modes (``/报价`` lists, shows, decides or creates) parse into
one value per mode; a mode only some roles may use is left unparsed for everybody else
(:class:`Unparsed`), so they hear which role it needs rather than how to write it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from bot.commands import ArgError, ArgParser, ParseContext
from handlers.args import quotes as quote_args
from handlers.args.admin import parse_bind, parse_roles, parse_topics
from handlers.args.customer import is_customer_add, parse_customer_add, parse_stock_in
from handlers.args.misc import parse_after_sales, parse_approval, parse_list_filter, parse_reasoned, parse_reminder
from handlers.args.models import (
    ChangeArgs,
    CustomerArgs,
    ListFilter,
    OrderFields,
    PaymentArgs,
    ReminderArgs,
    ShipArgs,
    TicketOpen,
    TicketUpdate,
)
from handlers.args.order import parse_change, parse_new_order, parse_supplement
from handlers.args.payment import parse_payment
from handlers.args.periods import parse_report_period, parse_statement
from handlers.args.refs import split_order_ref
from handlers.args.ship import parse_ship
from handlers.args.tokens import catalogue_units
from handlers.texts import command_replies as msg
from handlers.texts import quotes as quote_texts
from storage.vocab import Role

T = TypeVar("T")


def on_text(grammar: Callable[[str], T]) -> ArgParser[T]:
    """A grammar that needs nothing but the text."""
    return ArgParser(lambda text, _context: grammar(text))


def on_day(grammar: Callable[[str, date], T]) -> ArgParser[T]:
    """A grammar that reads relative dates (``12-15``, ``下周五``) against today."""
    return ArgParser(lambda text, context: grammar(text, context.today))


def with_units(parser: ArgParser[T]) -> ArgParser[T]:
    """The same grammar, also accepting the catalogue's units after a quantity (``3樘``)."""

    def read(text: str, context: ParseContext) -> T:
        with catalogue_units(context.units):
            return parser(text, context)

    return ArgParser(read, units=True)


@dataclass(frozen=True)
class Unparsed:
    """A mode the person's roles do not allow: not parsed (the handler says which role it needs)."""


def _holds(context: ParseContext, *roles: str) -> bool:
    return any(role in context.roles for role in roles)


# ---- orders ---------------------------------------------------------------------------------------
def order_no(text: str) -> int:
    """An order reference (``#12``, ``12号单``) followed by nothing that matters."""
    return split_order_ref(text)[0]


ORDER_REF: ArgParser[int] = on_text(order_no)
NEW_ORDER: ArgParser[OrderFields] = with_units(on_day(parse_new_order))
SUPPLEMENT: ArgParser[tuple[int, OrderFields]] = with_units(on_day(parse_supplement))
CHANGE: ArgParser[tuple[int, ChangeArgs]] = with_units(on_day(parse_change))


def order_query(text: str) -> int:
    """``/查单 #12``; a name (``/查单 华为``) is pointed to ``/订单``."""
    words = text.strip()
    if words and not any(ch.isdigit() or ch == "#" for ch in words):
        raise ArgError(msg.query_is_not_a_number(words))
    return order_no(text)


def _names_an_order(text: str) -> bool:
    """``/订单 #12`` shows the order card (people type it for /查单)."""
    try:
        split_order_ref(text)
    except ArgError:
        return False
    return not text.isdigit()


def order_list(text: str) -> int | ListFilter:
    """``/订单 [我的|待审批|逾期|本周|客户名]``, or an order number (then it is ``/查单``)."""
    return order_query(text) if _names_an_order(text.strip()) else parse_list_filter(text)


ORDER_QUERY: ArgParser[int] = on_text(order_query)
ORDER_LIST: ArgParser[int | ListFilter] = on_text(order_list)

# ---- fulfilment -----------------------------------------------------------------------------------
SHIP: ArgParser[ShipArgs] = with_units(on_text(parse_ship))
PAYMENT: ArgParser[PaymentArgs] = on_day(parse_payment)


# ---- state changes with reasons, follow-ups, admin ------------------------------------------------
@dataclass(frozen=True)
class Reasoned:
    """``/挂起 #12 原因``: the order and the reason (None when none was written)."""

    no: int
    reason: str | None


@dataclass(frozen=True)
class QuoteWithdrawal:
    """``/作废 Q12 [原因]``: a quote, not an order (quotes have their own numbers)."""

    no: int
    reason: str


def reasoned(name: str, needs_reason: bool, quotes_too: bool = False) -> ArgParser[Reasoned | QuoteWithdrawal]:
    """``/<name> #12 [原因]`` (the reason required when ``needs_reason``); ``quotes_too``: ``Q12`` is a quote."""

    def read(text: str) -> Reasoned | QuoteWithdrawal:
        if quotes_too and quote_args.names_a_quote(text):
            return QuoteWithdrawal(*quote_args.split_quote_ref(text))
        no, reason = parse_reasoned(text)
        if needs_reason and not reason:
            raise ArgError(msg.needs_reason(name))
        return Reasoned(no, reason)

    return on_text(read)


def follow_up(text: str) -> tuple[int, str]:
    """``/跟进 #12 内容`` (the text is required)."""
    no, note = parse_reasoned(text)
    if not note:
        raise ArgError(msg.follow_up_empty())
    return no, note


FOLLOW_UP: ArgParser[tuple[int, str]] = on_text(follow_up)
ROLES: ArgParser[tuple[str, tuple[str, ...], tuple[str, ...]]] = on_text(parse_roles)
TOPICS: ArgParser[tuple[str, ...]] = on_text(parse_topics)
BIND: ArgParser[tuple[str, str | None]] = on_text(parse_bind)


# ---- customers, stock, reminders, after-sales, reports --------------------------------------------
@dataclass(frozen=True)
class CustomerQuery:
    """``/客户 [名字]``: one customer's card, or the list when ``name`` is empty."""

    name: str


def customer(text: str, context: ParseContext) -> CustomerArgs | CustomerQuery | Unparsed:
    """``/客户 新增 名字 …`` (销售 and 管理员 only) or ``/客户 [名字]``."""
    if not is_customer_add(text):
        return CustomerQuery(text.strip())
    if not _holds(context, Role.SALES, Role.ADMIN):
        return Unparsed()
    return parse_customer_add(text)


CUSTOMER: ArgParser[CustomerArgs | CustomerQuery | Unparsed] = ArgParser(customer)
STOCK_IN: ArgParser[tuple[str, Decimal]] = with_units(on_text(parse_stock_in))
REMINDER: ArgParser[ReminderArgs] = ArgParser(lambda text, context: parse_reminder(text, context.now))
AFTER_SALES: ArgParser[TicketOpen | TicketUpdate] = on_text(parse_after_sales)
REPORT_PERIOD: ArgParser[tuple[str, date, date]] = on_day(parse_report_period)
STATEMENT: ArgParser[tuple[str, date, date]] = on_day(parse_statement)


# ---- quotes and purchasing ------------------------------------------------------------------------
@dataclass(frozen=True)
class ListThem:
    """``/报价`` or ``/采购`` alone, or with ``列表``: the list."""


@dataclass(frozen=True)
class QuoteDecision:
    """``/报价 Q12`` (show it: ``approve`` None) or ``/报价 Q12 通过|驳回 理由`` (a 主管 decides)."""

    no: int
    approve: bool | None = None
    reason: str | None = None


def quote(text: str, context: ParseContext) -> ListThem | QuoteDecision | quote_args.QuoteArgs | Unparsed:
    """``/报价 [列表]``, ``/报价 Q12 [通过|驳回 理由]``, or a new quote (销售 only)."""
    if quote_args.is_list(text):
        return ListThem()
    if quote_args.names_a_quote(text):
        no, rest = quote_args.split_quote_ref(text)
        if not rest:
            return QuoteDecision(no)
        _, approve, reason = parse_approval(f"#{no} {rest}")
        if not approve and not reason:
            raise ArgError(quote_texts.reject_needs_reason(no))
        return QuoteDecision(no, approve, reason)
    if not _holds(context, Role.SALES):
        return Unparsed()
    return quote_args.parse_quote(text, context.today)


def purchase(text: str, context: ParseContext) -> ListThem | quote_args.PurchaseArgs | Unparsed:
    """``/采购 [列表]``, or a new purchase order (采购 only)."""
    if quote_args.is_list(text):
        return ListThem()
    if not _holds(context, Role.PURCHASING):
        return Unparsed()
    return quote_args.parse_purchase(text, context.today)


QUOTE: ArgParser[ListThem | QuoteDecision | quote_args.QuoteArgs | Unparsed] = with_units(ArgParser(quote))
DEAL: ArgParser[quote_args.DealArgs] = with_units(on_day(quote_args.parse_deal))
PURCHASE: ArgParser[ListThem | quote_args.PurchaseArgs | Unparsed] = with_units(ArgParser(purchase))
ARRIVAL: ArgParser[tuple[int, Decimal | None]] = with_units(on_text(quote_args.parse_arrival))
