"""Signed dashboard links and session cookies (``/看板`` → ``GET /board?t=…`` → cookie → ``/board/``).

A token binds a person (platform + user id) and an expiry, MACed with HMAC-SHA256 under a
subkey of the link key (``web.approval_pages.LinkKeys``: ``settings.signing_key``, else a key
kept in ``kv``). Each use has its own subkey, derived from the link key and a purpose string,
so an approval-link token is never a board token and a board link is never a session cookie
(nor the other way round). Verification compares MACs in constant time and checks the expiry.
A board link is not single use: the person may open it on a second device until it expires.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from bot.config import Settings
from web.sealed_tokens import Rejected, check_expiry, seal, unseal

#: how long a /看板 link (and the session it opens) stays valid: a working day, not a week
LINK_TTL = timedelta(hours=12)
#: the session cookie's name; its path is ``/board``
COOKIE = "gendan_board"
MAX_TOKEN = 1024
Kind = Literal["link", "session"]
_PURPOSES: dict[Kind, bytes] = {"link": b"gendan board link v1", "session": b"gendan board session v1"}

#: what ``Dispatcher.board_link`` holds: (platform, user id) → (URL, expiry)
BoardLink = Callable[[str, str], Awaitable[tuple[str, datetime]]]


@dataclass(frozen=True)
class BoardClaims:
    """Who a link or session belongs to, and until when (epoch seconds)."""

    platform: str
    user_id: str
    expires: int

    @property
    def expires_at(self) -> datetime:
        """The expiry as an aware UTC datetime."""
        return datetime.fromtimestamp(self.expires, UTC)


BoardRejected = Rejected  # ``reason``: missing, forged or expired


def sign(key: bytes, kind: Kind, claims: BoardClaims) -> str:
    """A sealed ``kind`` token (a /看板 link or a session cookie)."""
    return seal(key, _PURPOSES[kind], [1, kind, claims.platform, claims.user_id, claims.expires])


def verify(key: bytes, kind: Kind, token: str | None, now: datetime) -> BoardClaims:
    """The claims of a genuine, unexpired ``kind`` token; :class:`BoardRejected` otherwise."""
    match unseal(key, _PURPOSES[kind], token, MAX_TOKEN):
        case [1, str(k), str(platform), str(user_id), int(expires)] if k == kind and platform and user_id:
            claims = BoardClaims(platform, user_id, expires)
        case _:
            raise BoardRejected("forged")
    check_expiry(claims.expires, now)
    return claims


def link_maker(settings: Settings, keys: Callable[[], Awaitable[bytes]], clock: Callable[[], datetime],
               ttl: timedelta = LINK_TTL) -> BoardLink:
    """The ``Dispatcher.board_link`` callable: a signed ``GENDAN_PUBLIC_URL/board?t=…`` for one person."""
    page = f"{settings.public_url.rstrip('/')}/board"

    async def make(platform: str, user_id: str) -> tuple[str, datetime]:
        claims = BoardClaims(platform, user_id, int((clock() + ttl).timestamp()))
        return f"{page}?t={sign(await keys(), 'link', claims)}", claims.expires_at

    return make


# ---- /对账 workbook links ------------------------------------------------------------------
# A statement link names more than a person: the customer and the period are signed too, so a
# link for 华为 in November opens exactly that workbook and nothing else. Its own purpose string
# keeps it apart from board links, sessions and approval links.
_STATEMENT_PURPOSE = b"gendan statement link v1"

#: what ``Dispatcher.statement_link`` holds: (platform, user id, customer id, first day, last day) → (URL, expiry)
StatementLink = Callable[[str, str, int, date, date], Awaitable[tuple[str, datetime]]]


@dataclass(frozen=True)
class StatementClaims:
    """Who asked for which customer's statement of which period, and until when (epoch seconds)."""

    platform: str
    user_id: str
    customer_id: int
    start: date
    end: date
    expires: int

    @property
    def expires_at(self) -> datetime:
        """The expiry as an aware UTC datetime."""
        return datetime.fromtimestamp(self.expires, UTC)


def sign_statement(key: bytes, claims: StatementClaims) -> str:
    """A sealed statement-download token."""
    return seal(key, _STATEMENT_PURPOSE, [1, "statement", claims.platform, claims.user_id, claims.customer_id,
                                          claims.start.isoformat(), claims.end.isoformat(), claims.expires])


def verify_statement(key: bytes, token: str | None, now: datetime, customer_id: int, start: date,
                     end: date) -> StatementClaims:
    """The claims of a genuine, unexpired statement token signed for exactly this customer and period.

    :class:`BoardRejected` otherwise: ``missing``, ``forged`` (bad MAC, or signed for another
    customer or period) or ``expired``.
    """
    try:
        match unseal(key, _STATEMENT_PURPOSE, token, MAX_TOKEN):
            case [1, "statement", str(platform), str(user_id), int(cid), str(first), str(last), int(expires)] \
                    if platform and user_id:
                claims = StatementClaims(platform, user_id, cid, date.fromisoformat(first),
                                         date.fromisoformat(last), expires)
            case _:
                raise BoardRejected("forged")
    except ValueError as exc:  # a date that does not parse
        raise BoardRejected("forged") from exc
    if (claims.customer_id, claims.start, claims.end) != (customer_id, start, end):
        raise BoardRejected("forged")
    check_expiry(claims.expires, now)
    return claims


def statement_link_maker(settings: Settings, keys: Callable[[], Awaitable[bytes]], clock: Callable[[], datetime],
                         ttl: timedelta = LINK_TTL) -> StatementLink:
    """The ``Dispatcher.statement_link`` callable: ``GENDAN_PUBLIC_URL/statements/{id}.xlsx?from=&to=&t=…``."""
    base = f"{settings.public_url.rstrip('/')}/statements"

    async def make(platform: str, user_id: str, customer_id: int, start: date, end: date) -> tuple[str, datetime]:
        claims = StatementClaims(platform, user_id, customer_id, start, end, int((clock() + ttl).timestamp()))
        token = sign_statement(await keys(), claims)
        return f"{base}/{customer_id}.xlsx?from={start.isoformat()}&to={end.isoformat()}&t={token}", claims.expires_at

    return make
