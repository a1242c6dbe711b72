"""``GET /statements/{customer_id}.xlsx?from=&to=&t=…``: the ``/对账`` workbook behind a signed link.

``/对账`` answers with a link made by ``Dispatcher.statement_link``
(``web.signed_links.statement_link_maker``): the token binds the person who asked, the
customer, the period and an expiry (12 hours). This route checks the MAC in constant time,
that the customer id and period in the URL are exactly the signed ones (another customer or
month is a forged link, 403), the expiry (401), and that the person is still with the company
and still may use ``/对账``. A refusal is a short text that names no customer and no amount.
Words come from ``handlers.texts.statements``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, tzinfo
from urllib.parse import quote

from aiohttp import web

from bot.config import Settings
from handlers.texts import statements as texts
from storage.db import Database
from storage.services import statement_xlsx
from storage.services.statement_xlsx import XLSX_TYPE
from storage.vocab import Role
from web import signed_links as tokens

#: a link carries its token: no caching, no referrer
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
#: no or lapsed credentials are 401, a forged link or a person who may no longer see it 403
_STATUS = {"missing": 401, "expired": 401, "forged": 403, "left": 403, "not_found": 404}
#: who may use /对账 (and so open its workbook)
_ROLES = frozenset({Role.FINANCE.value, Role.SALES.value})


def content_disposition(name: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the real name RFC 5987-encoded in ``filename*``."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def workbook_response(db: Database, tz: tzinfo, customer_id: int, start: date,
                            end: date) -> web.Response | None:
    """The statement workbook as a download; None when there is no such customer."""
    async with db.reader() as uow:
        book = await statement_xlsx.collect(uow, customer_id, start, end, tz)
    if book is None:
        return None
    data = await asyncio.to_thread(statement_xlsx.render, book, texts.LAYOUT)
    fallback = f"statement-{customer_id}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
    disposition = content_disposition(statement_xlsx.filename(book, texts.LAYOUT), fallback)
    return web.Response(body=data, content_type=XLSX_TYPE, headers={**_HEADERS, "Content-Disposition": disposition})


class _Statements:
    """The download route; one per app."""

    def __init__(self, db: Database, settings: Settings, keys: Callable[[], Awaitable[bytes]],
                 clock: Callable[[], datetime]) -> None:
        self._db, self._keys, self._clock = db, keys, clock
        self._tz: tzinfo = settings.tz

    def _denied(self, reason: str) -> web.Response:
        return web.Response(text=texts.denied(reason), status=_STATUS.get(reason, 403), charset="utf-8",
                            headers=_HEADERS)

    async def _may_see(self, claims: tokens.StatementClaims) -> bool:
        """Whether the person the link was made for is still here and still may use /对账."""
        async with self._db.reader() as uow:
            person = await uow.people.by_ref(claims.platform, claims.user_id)
            return person is not None and person.active and bool(person.role_names & _ROLES)

    async def download(self, request: web.Request) -> web.StreamResponse:
        """``GET /statements/{customer_id}.xlsx``: check the link, then send the workbook."""
        token = request.query.get("t")
        if not token:
            return self._denied("missing")
        try:
            customer_id = int(request.match_info["customer_id"])
            start = date.fromisoformat(request.query.get("from", ""))
            end = date.fromisoformat(request.query.get("to", ""))
        except ValueError:
            return self._denied("forged")
        try:
            claims = tokens.verify_statement(await self._keys(), token, self._clock(), customer_id, start, end)
        except tokens.BoardRejected as exc:
            return self._denied(exc.reason)
        if not await self._may_see(claims):
            return self._denied("left")
        resp = await workbook_response(self._db, self._tz, customer_id, start, end)
        return resp if resp is not None else self._denied("not_found")


def setup_routes(app: web.Application, db: Database, settings: Settings, key_provider: Callable[[], Awaitable[bytes]],
                 *, clock: Callable[[], datetime]) -> None:
    """Register ``GET /statements/{customer_id}.xlsx``."""
    route = _Statements(db, settings, key_provider, clock)
    app.router.add_get(r"/statements/{customer_id:\d{1,12}}.xlsx", route.download)
