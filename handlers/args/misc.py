"""Small grammars: ``/审批``, reasons (``/挂起`` …), ``/提醒``, ``/售后``, ``/订单`` filters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from handlers.args.models import ListFilter, ReminderArgs, TicketOpen, TicketUpdate
from handlers.args.refs import leading_explicit_ref, split_order_ref
from handlers.args.times import match_when
from handlers.args.tokens import ArgError, clip, prep
from handlers.texts import parse as t

__all__ = ["parse_after_sales", "parse_approval", "parse_list_filter", "parse_reasoned", "parse_reminder"]

# longest first: 不同意 is not 同意, 不通过 is not 通过
_DECISIONS: tuple[tuple[str, bool], ...] = (
    ("不同意", False), ("不通过", False), ("不批准", False), ("不行", False), ("驳回", False),
    ("拒绝", False), ("否决", False), ("退回", False), ("reject", False), ("no", False),
    ("通过", True), ("同意", True), ("批准", True), ("approve", True), ("ok", True), ("yes", True),
    ("可以", True), ("好的", True),
)  # fmt: skip
_SEPARATORS = " ,，:;。、"


def _reason(text: str) -> str | None:
    cleaned = text.strip().lstrip(_SEPARATORS).strip()
    return cleaned or None


def parse_approval(args: str) -> tuple[int, bool, str | None]:
    """``#12 通过`` / ``#12 同意`` → (12, True, None); ``#12 驳回 价格太低`` → (12, False, "价格太低")."""
    no, rest = split_order_ref(args)
    lowered = rest.lower()
    for word, approve in _DECISIONS:
        if lowered.startswith(word):
            tail = rest[len(word) :]
            # an English word must end there ("no" is not the start of "nothing")
            if word.isascii() and tail[:1].isascii() and tail[:1].isalpha():
                continue
            return no, approve, _reason(tail)
    raise ArgError(t.APPROVAL_NO_DECISION.format(frag=clip(rest)) if rest else t.APPROVAL_MISSING)


def parse_reasoned(args: str) -> tuple[int, str | None]:
    """``#12 客户要求暂停`` → (12, "客户要求暂停"); the reason may be missing (the handler decides)."""
    no, rest = split_order_ref(args)
    return no, _reason(rest)


def parse_reminder(args: str, now: datetime) -> ReminderArgs:
    """``#12 明天上午10点 催客户付款``, ``下午3点半 开会``, ``30分钟后 回电话``, ``下周一9点 周会``.

    The order reference is optional (``#12`` style only, before or right after the
    time); ``now`` is aware in the business zone and so is the result. A time already
    past and a missing content are refused.
    """
    no, rest = leading_explicit_ref(args)
    if not rest:
        raise ArgError(t.REMINDER_MISSING)
    when, text = match_when(rest, now)
    if no is None:
        # "/提醒 明天10点 #12 催款"; a reference later in the content belongs to the content
        no, text = leading_explicit_ref(text)
    text = _reason(text) or ""
    if not text:
        raise ArgError(t.REMINDER_NO_TEXT.format(when=when.strftime("%m-%d %H:%M")))
    return ReminderArgs(order_no=no, when=when, text=text)


_TICKET_RE = re.compile(r"[Tt]\s*(\d{1,9})(?!\d)")
_STATUS_WORDS: dict[str, Literal["处理中", "已解决"]] = {
    "处理中": "处理中", "跟进中": "处理中", "处理": "处理中", "受理": "处理中", "已受理": "处理中",
    "已解决": "已解决", "解决": "已解决", "已完成": "已解决", "完成": "已解决", "已处理": "已解决",
    "已关闭": "已解决", "关闭": "已解决",
}  # fmt: skip
_STATUS_BY_LENGTH = sorted(_STATUS_WORDS, key=len, reverse=True)


def parse_after_sales(args: str) -> TicketOpen | TicketUpdate:
    """``#12 屏幕有坏点`` → TicketOpen; ``T3 已解决 换货完成`` (``t3``, ``Ｔ３``) → TicketUpdate."""
    body = prep(args)
    ticket = _TICKET_RE.match(body)
    if ticket is not None and (
        ticket.end() == len(body) or not body[ticket.end()].isascii() or body[ticket.end()] in _SEPARATORS
    ):
        rest = body[ticket.end() :].strip().lstrip(_SEPARATORS)
        number = int(ticket.group(1))
        for word in _STATUS_BY_LENGTH:
            if rest.startswith(word) and number > 0:
                return TicketUpdate(
                    ticket_no=number, status=_STATUS_WORDS[word], note=_reason(rest[len(word) :])
                )
        raise ArgError(t.TICKET_NO_STATUS.format(frag=clip(body)))
    no, rest = split_order_ref(body)
    text = _reason(rest)
    if text is None:
        raise ArgError(t.TICKET_NO_TEXT.format(no=no))
    return TicketOpen(order_no=no, text=text)


_LIST_WORDS: dict[str, Literal["all", "mine", "pending", "overdue", "week"]] = {
    "": "all", "全部": "all", "所有": "all", "我的": "mine", "我": "mine", "待审批": "pending",
    "待审": "pending", "审批中": "pending", "逾期": "overdue", "超期": "overdue", "延期": "overdue",
    "本周": "week", "这周": "week", "本星期": "week",
}  # fmt: skip


def parse_list_filter(args: str) -> ListFilter:
    """``""`` 全部 → all, 我的 → mine, 待审批 → pending, 逾期 → overdue, 本周 → week, else a customer name."""
    body = prep(args)
    kind = _LIST_WORDS.get(body)
    if kind is not None:
        return ListFilter(kind=kind)
    if body.startswith("#") or "\n" in body:
        raise ArgError(t.LIST_BAD_FILTER.format(frag=clip(body)))
    return ListFilter(kind="customer", customer=body)
