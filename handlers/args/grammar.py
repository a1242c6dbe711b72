"""The order grammar shared by ``/下单``, ``/补充`` and ``/变更``.

A message is read line by line; each line is split into free text (备注, 地址) and
structured text. Structured text is tokenised and read left to right: keywords
(``客户 交期 付款 联系人 产品 数量 单价``, with or without ``=``/``:``), order lines
(``A100×20@300``, ``A100 20台 300元``, ``A100 数量20 单价300``), keyword-less dates and
payment terms. In ``/下单`` the leading words of the first line are the customer.
Words that fit nowhere are refused with a quote, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from handlers.args.dates import match_date, parse_date
from handlers.args.fields import PAYTERM_RE, line_segments
from handlers.args.numbers import looks_like_money, parse_money, parse_qty, try_number
from handlers.args.tokens import ArgError, clip, prep
from handlers.args.words import (
    Tok,
    is_date_word,
    is_name,
    is_qty_word,
    order_tokens,
    split_px,
    strip_due_suffix,
    unknown_hint,
)
from handlers.texts import parse as t

__all__ = ["DraftLine", "OrderReader"]


@dataclass
class DraftLine:
    """An order line while it is being read."""

    product: str
    qty: Decimal | None = None
    unit: str | None = None
    price: Decimal | None = None


class OrderReader:
    """Reads order fields; ``values`` and ``lines`` hold the result after :meth:`read`."""

    def __init__(self, today: date, *, positional_customer: bool, change: bool = False) -> None:
        self.today = today
        self.positional = positional_customer
        self.change = change
        self.values: dict[str, str] = {}
        self.due: date | None = None
        self.lines: list[DraftLine] = []
        self.multiline = False
        #: 数量/单价 written before any product ("单价=260 数量=30 产品=C300"), and the keyword seen
        self.early: DraftLine | None = None
        self.early_kw = ""

    # -- driver ---------------------------------------------------------------------------
    def read(self, text: str) -> None:
        """Read the whole message (already without the order reference)."""
        rows = prep(text).split("\n")
        self.multiline = len(rows) > 1
        i = 0
        while i < len(rows):
            segments = line_segments(rows[i])
            for k, (field, value) in enumerate(segments):
                if not field:
                    self._read_plain(value, leading=self.positional and i == 0 and k == 0, at_start=k == 0)
                    continue
                if field == "note" and k == len(segments) - 1:
                    while i + 1 < len(rows) and not self._starts_field(rows[i + 1]):
                        i += 1
                        value = f"{value}\n{rows[i]}" if value else rows[i]
                self._set(field, value, frag=t.FIELD_LABELS[field])
            i += 1
        if self.early is not None:
            raise ArgError(t.QTY_WITHOUT_PRODUCT.format(kw=self.early_kw))

    def _add_line(self, line: DraftLine) -> None:
        """Append a line; 数量/单价 written before the first product belong to it."""
        early, self.early = self.early, None
        if early is not None:
            if early.qty is not None:
                self._set_qty(line, early.qty, early.unit)
            if early.price is not None:
                self._set_price(line, early.price)
        self.lines.append(line)

    def _starts_field(self, row: str) -> bool:
        """Whether a line after 备注 starts something else (a keyword, an order line, a date)."""
        toks = order_tokens(row, change=self.change)
        if not toks or toks[0][0] is not None or is_date_word(toks[0][1]):
            return True
        return self._line_at(toks, 0) is not None

    def _line_at(self, toks: list[Tok], j: int) -> tuple[DraftLine, int, str] | None:
        """An order line starting at token j: (line, next index, "px" | "name")."""
        field, word = toks[j]
        if field is not None:
            return None
        px = split_px(word)
        if px is not None:
            line = DraftLine(px[0], px[1], px[2])
            return line, self._attrs(toks, j + 1, line, after_qty=True), "px"
        if "×" in word or "*" in word:
            raise ArgError(t.QTY_NOT_NUMBER.format(frag=clip(word)))
        if j + 1 >= len(toks) or not is_name(word):
            return None
        next_field, next_word = toks[j + 1]
        follows = next_field in ("qty", "price") or (
            next_field is None
            and (is_qty_word(next_word) or looks_like_money(next_word) or next_word.startswith("@"))
        )
        if not follows:
            return None
        line = DraftLine(word)
        return line, self._attrs(toks, j + 1, line, after_qty=False), "name"

    # -- line attributes ----------------------------------------------------------------------
    def _value(self, toks: list[Tok], k: int) -> str:
        if k + 1 >= len(toks) or toks[k + 1][0] is not None:
            raise ArgError(t.FIELD_EMPTY.format(field=toks[k][1]))
        return toks[k + 1][1]

    def _set_qty(self, line: DraftLine, text: str | Decimal, unit: str | None = None) -> None:
        if line.qty is not None:
            raise ArgError(t.LINE_TWICE.format(frag=clip(line.product), what=t.FIELD_LABELS["qty"]))
        line.qty, line.unit = parse_qty(text) if isinstance(text, str) else (text, unit)

    def _set_price(self, line: DraftLine, text: str | Decimal) -> None:
        if line.price is not None:
            raise ArgError(t.LINE_TWICE.format(frag=clip(line.product), what=t.FIELD_LABELS["price"]))
        line.price = parse_money(text) if isinstance(text, str) else text

    @staticmethod
    def _block_qty(toks: list[Tok], k: int) -> bool:
        """``A100 5块``: 块 right after a product is its unit (the price comes after a quantity).

        Unless a quantity follows (``A100 300块 20台`` keeps 300块 as the price).
        """
        word = toks[k][1]
        if not word.endswith("块") or try_number(word[:-1]) is None:
            return False
        if k + 1 < len(toks):
            field, after = toks[k + 1]
            if field == "qty" or (field is None and is_qty_word(after)):
                return False
        return True

    def _attrs(self, toks: list[Tok], k: int, line: DraftLine, *, after_qty: bool) -> int:
        """Read quantity and price after a product; returns the first index not used."""
        while k < len(toks):
            field, word = toks[k]
            if field in ("qty", "price"):
                value = self._value(toks, k)
                if field == "qty":
                    self._set_qty(line, value)
                else:
                    self._set_price(line, value)
                k, after_qty = k + 2, field == "qty"
                continue
            if field is not None:
                break
            if word.startswith("@"):
                self._set_price(line, word[1:])
            elif line.qty is None and (is_qty_word(word) or self._block_qty(toks, k)):
                self._set_qty(line, word)
                k, after_qty = k + 1, True
                continue
            elif line.price is None and (
                looks_like_money(word) or (after_qty and try_number(word) is not None)
            ):
                self._set_price(line, word)  # "A100 20 300": a bare number right after the quantity
            else:
                break
            k, after_qty = k + 1, False
        return k

    # -- structured text ----------------------------------------------------------------------
    def _read_plain(self, text: str, *, leading: bool, at_start: bool) -> None:
        toks = order_tokens(text, change=self.change)
        pending: list[str] = []
        j = 0
        while j < len(toks):
            field, word = toks[j]
            if field is not None:
                # like a bare date, a due date does not end the leading customer words
                flushed = self._flush(pending, leading)
                leading = leading if field == "due" else flushed
                j = self._keyword(toks, j)
                continue
            start = self._line_at(toks, j)
            # the first word of /下单 is the customer even when a quantity follows ("华为 20台")
            if start is not None and not (leading and not pending and start[2] == "name"):
                line, next_j, _ = start
                if pending and not leading and at_start and self.multiline and j == len(pending):
                    line.product = " ".join([*pending, line.product])  # "螺丝 M8 100个" on its own line
                    pending.clear()
                leading = self._flush(pending, leading)
                self._add_line(line)
                j = next_j
                continue
            if is_date_word(word):
                self._flush(pending, leading)  # a date does not end the leading customer words
                self._set_due(word)
            elif PAYTERM_RE.fullmatch(word):
                self._flush(pending, leading)
                self._set("pay", word, frag=word)
            elif is_name(word):
                pending.append(word)
            else:
                raise ArgError(
                    t.NOT_UNDERSTOOD.format(frag=clip(" ".join([*pending, word]))) + unknown_hint(word)
                )
            j += 1
        self._flush(pending, leading)

    def _flush(self, pending: list[str], leading: bool) -> bool:
        """Leading words are the customer; elsewhere they were not understood. Returns False."""
        if pending and leading:
            self._set("customer", " ".join(pending), frag=" ".join(pending))
        elif pending:
            raise ArgError(t.NOT_UNDERSTOOD.format(frag=clip(" ".join(pending))) + t.HINT_FREE_TEXT)
        pending.clear()
        return False

    def _phrase(self, toks: list[Tok], j: int) -> tuple[str, int]:
        """The words after a keyword up to the next keyword, order line or date."""
        words = [self._value(toks, j)]
        k = j + 2
        while k < len(toks) and toks[k][0] is None and not is_date_word(toks[k][1]):
            if self._line_at(toks, k) is not None:
                break
            words.append(toks[k][1])
            k += 1
        return " ".join(words), k

    def _keyword(self, toks: list[Tok], j: int) -> int:
        field, word = toks[j]
        assert field is not None
        if field in ("customer", "pay", "contact"):
            if field == "customer" and self.change:
                raise ArgError(t.CHANGE_NO_CUSTOMER)
            value, k = self._phrase(toks, j)
            self._set(field, value, frag=value)
            return k
        if field == "due":
            self._set_due(self._value(toks, j), dotted=True)
            return j + 2
        if field == "product":
            line = DraftLine(self._value(toks, j))
            self._add_line(line)
            return self._attrs(toks, j + 2, line, after_qty=False)
        if field in ("qty", "price"):
            if self.change and not self.lines:
                raise ArgError(t.CHANGE_NEEDS_PRODUCT)
            if not self.lines:
                # before any product: kept for the next one ("单价=260 数量=30 产品=C300")
                if self.early is None:
                    self.early, self.early_kw = DraftLine(word), word
                return self._attrs(toks, j, self.early, after_qty=False)
            return self._attrs(toks, j, self.lines[-1], after_qty=False)
        # 备注/地址 glued inside structured text ("A100×20,备注加急"): the rest is theirs
        self._set(field, " ".join(w for _, w in toks[j + 1 :]), frag=word)
        return len(toks)

    # -- values -------------------------------------------------------------------------------
    def _set(self, field: str, value: str, *, frag: str) -> None:
        value = value.strip()
        if not value:
            raise ArgError(t.FIELD_EMPTY.format(field=t.FIELD_LABELS[field]))
        if field in self.values:
            raise ArgError(t.FIELD_TWICE.format(field=t.FIELD_LABELS[field], frag=clip(frag)))
        self.values[field] = value

    def _set_due(self, text: str, *, dotted: bool = False) -> None:
        if self.due is not None:
            raise ArgError(t.FIELD_TWICE.format(field=t.FIELD_LABELS["due"], frag=clip(text)))
        text = strip_due_suffix(text)  # 交货 12月15日前
        if not dotted and match_date(text) is None:
            raise ArgError(t.NOT_A_DATE.format(frag=clip(text)))
        self.due = parse_date(text, self.today)
