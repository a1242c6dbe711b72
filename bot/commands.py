"""Command recognition: one normalisation step for phone-typed text, the command word, and what an
argument grammar receives and raises.

Pure functions (no I/O). The dispatcher calls :func:`parse_command` on every chat
message; the per-command argument grammars live in ``handlers.args``, all of them
start from the same :func:`normalize`, and each command declares its grammar as an
:class:`ArgParser` when it registers (``bot.routing``), which runs it with a
:class:`ParseContext` and turns an :class:`ArgError` into the "not understood" reply.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

__all__ = ["ArgError", "ArgParser", "CommandText", "ParseContext", "normalize", "parse_command", "strip_mentions"]

T = TypeVar("T")


def _translation_table() -> dict[int, str]:
    # Full-width ASCII (U+FF01..U+FF5E) maps to ASCII by a fixed offset. The
    # full-width comma is left alone: it is a separator for every grammar (never a
    # decimal mark) and notes, addresses and reasons read better with it kept.
    table = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F) if cp != 0xFF0C}
    table[0xFFE5] = "¥"  # full-width yen sign, the usual RMB sign on phones
    spaces = (0x09, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)
    table.update({cp: " " for cp in spaces})
    # WeCom puts U+2005 after a mention and some keyboards add zero-width marks
    table.update({cp: "" for cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x7F)})
    table.update({cp: "\n" for cp in (0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029)})
    table.update({cp: "-" for cp in (0x2013, 0x2212, 0xFE63)})
    table.update({cp: "×" for cp in (0x2715, 0x2716)})
    table[0x301C] = "~"
    for cp in range(0x20):  # remaining C0 controls carry no meaning in chat text
        table.setdefault(cp, "" if cp != 0x0A else "\n")
    return table


_TABLE = _translation_table()
_SPACES_RE = re.compile(r" {2,}")


def normalize(text: str) -> str:
    """Fold what phones produce into one canonical form (idempotent).

    Full-width letters, digits and punctuation become ASCII (``／＃＠：（）０-９Ａ-Ｚ``),
    ``￥`` becomes ``¥``, every kind of space becomes one ASCII space, line endings
    become ``\\n``; each line is trimmed, runs of spaces collapse and blank lines go.
    ``×`` and the Chinese comma ``，`` are kept as they are.
    """
    folded = text.replace("\r\n", "\n").translate(_TABLE)
    lines = (_SPACES_RE.sub(" ", line).strip(" ") for line in folded.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class CommandText:
    """A recognised command: the word after the slash and the rest of the message."""

    #: the command word as matched (an entry of ``names``, normalised), without the slash
    name: str
    #: the normalised rest, stripped, line breaks kept
    args: str
    #: the original message text
    raw: str


_MENTION_RE = re.compile(r"@[^\s/@]*")
_NAME_TOKEN_RE = re.compile(r"\S+")


def _is_ascii_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def strip_mentions(text: str, bot_names: Collection[str] = ()) -> tuple[str, bool]:
    """Remove the @mentions in front of a message; return the rest (normalised) and
    whether the bot was among them.

    With no ``bot_names`` every leading mention counts as the bot's (the platforms
    only deliver group messages that @ the robot). A bot name may contain spaces.
    """
    rest = normalize(text)
    names = sorted((normalize(n) for n in bot_names if n.strip()), key=len, reverse=True)
    mentioned = False
    while rest.startswith("@"):
        for name in names:
            end = 1 + len(name)
            # "@跟单助手助理" is somebody else: the name must end at a space, "/" or punctuation
            if rest[1:end].lower() == name.lower() and (end == len(rest) or not rest[end].isalnum()):
                rest, mentioned = rest[end:], True
                break
        else:
            match = _MENTION_RE.match(rest)
            assert match is not None  # the pattern always matches the leading "@"
            rest = rest[match.end() :]
            mentioned = mentioned or not names
        rest = rest.lstrip(" \n")
    return rest, mentioned


@functools.lru_cache(maxsize=4096)
def _folded_name(entry: str) -> tuple[str, str]:
    """A command name normalised, and its lower-case form (asked for every name on every message)."""
    name = normalize(entry)
    return name, name.lower()


@functools.lru_cache(maxsize=16)
def _by_first_char(names: tuple[str, ...]) -> dict[str, tuple[tuple[str, str], ...]]:
    """``names`` folded and grouped by their first (lower-case) character: a message is matched against
    the few names that can start it, not against all of them (a tenth of a command's frame did that)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for entry in names:
        name, lowered = _folded_name(entry)
        if name:
            groups.setdefault(lowered[0], []).append((name, lowered))
    return {first: tuple(group) for first, group in groups.items()}


def _match_name(rest: str, names: Collection[str]) -> tuple[str, int] | None:
    """The longest entry of ``names`` that ``rest`` starts with, and its length.

    ``names`` as a tuple (the registry's) is grouped once by first character; any other collection
    is folded entry by entry."""
    best: tuple[str, int] | None = None
    folded = rest.lower()
    candidates = (_by_first_char(names).get(folded[:1], ()) if isinstance(names, tuple)
                  else (_folded_name(entry) for entry in names))
    for name, lowered in candidates:
        size = len(name)
        if not name or not folded.startswith(lowered):
            continue
        # "/helpme" is not "/help me"; Chinese names may be glued to their arguments
        if _is_ascii_word_char(name[-1]) and size < len(rest) and _is_ascii_word_char(rest[size]):
            continue
        if best is None or size > best[1]:
            best = (name, size)
    return best


def parse_command(
    text: str, names: Collection[str] = (), bot_names: Collection[str] = ()
) -> CommandText | None:
    """Recognise ``/命令 参数`` (also ``／``, after optional @mentions); None if not a command.

    The name is the longest entry of ``names`` the text after the slash starts with
    (so ``/发货#12`` and ``/下单华为 …`` work); ASCII names match case-insensitively.
    When no entry matches, the first whitespace-delimited word is returned so that
    the dispatcher can answer "unknown command". Never raises.
    """
    body, _ = strip_mentions(text, bot_names)
    if not body.startswith("/"):
        return None
    rest = body[1:].lstrip(" ")
    if not rest or rest[0] == "\n":
        return None
    matched = _match_name(rest, names)
    if matched is None:
        token = _NAME_TOKEN_RE.match(rest)
        assert token is not None  # rest is non-empty and does not start with whitespace
        name, size = token.group(), token.end()
    else:
        name, size = matched
    # "/下单：华为" — a colon or comma right after the name only separates
    args = rest[size:].strip().lstrip(":,，").strip()
    return CommandText(name=name, args=args, raw=text)


class ArgError(Exception):
    """Arguments that were not understood; ``reason`` is the Chinese reply text.

    The reason quotes the offending fragment; the dispatcher appends the usage.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class ParseContext:
    """What an argument grammar may know besides the text; filled by the router, read by pure grammars."""

    #: now, aware, in the business time zone (relative dates and times: 明天, 下午3点)
    now: datetime
    #: the units the product catalogue uses (``樘``): filled only for a parser that declares ``units``
    units: tuple[str, ...] = ()
    #: the roles of the person typing: a mode that only some roles may use is not parsed for others
    #: (they hear that they lack the role, as before, rather than how to write what they cannot do)
    roles: frozenset[str] = frozenset()

    @property
    def today(self) -> date:
        """Today in the business time zone."""
        return self.now.date()


@dataclass(frozen=True)
class ArgParser(Generic[T]):
    """A command's argument grammar as it registers: (args text, parse context) → value, or :class:`ArgError`."""

    read: Callable[[str, ParseContext], T]
    #: the grammar accepts the catalogue's units after a quantity: the router reads them before parsing
    units: bool = False

    def __call__(self, text: str, context: ParseContext) -> T:
        return self.read(text, context)
