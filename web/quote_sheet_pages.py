"""``GET /quotes/{no}?t=…`` (a printable quotation page) and ``GET /quotes/{no}.xlsx?t=…`` (its workbook).

A quotation is for the customer: the salesperson receives the signed link privately and forwards
it. The token binds the quote number and an expiry (30 days after the last valid day), MACed under
its own purpose subkey of the link key (``web.sealed_tokens``), so no other signed link opens it and it
opens no other quote. A quote withdrawn or turned down is no longer shown. Words come from
``handlers/texts/quotes.py``; the markup is ``web/templates/quote.html`` (autoescaped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader

from bot.config import Settings
from handlers.texts import quotes as texts
from storage.db import Database
from storage.services import quote_sheet
from storage.services.statement_xlsx import XLSX_TYPE
from storage.vocab import QuoteStatus
from web.sealed_tokens import Rejected, check_expiry, seal, unseal
from web.statement_download import content_disposition

_PURPOSE = b"gendan quote sheet v1"
MAX_TOKEN = 512
#: a customer may look at a quote again for a while after it lapsed (the page says so)
KEEP_AFTER = timedelta(days=30)
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
_STATUS = {"missing": 401, "expired": 401, "forged": 403, "closed": 410, "not_found": 404}
#: statuses whose sheet is never shown (not approved, turned down, withdrawn)
HIDDEN = frozenset({QuoteStatus.PENDING_APPROVAL, QuoteStatus.REJECTED, QuoteStatus.WITHDRAWN})

#: what ``Dispatcher.quote_link`` holds: (quote no, last valid day) → (URL of the page, expiry)
QuoteLink = Callable[[int, date], Awaitable[tuple[str, datetime]]]


def sign(key: bytes, no: int, expires: int) -> str:
    """A sealed quote-sheet token."""
    return seal(key, _PURPOSE, [1, "quote", no, expires])


def verify(key: bytes, token: str | None, now: datetime, no: int) -> None:
    """Accept a genuine, unexpired token signed for exactly ``Q<no>``; :class:`Rejected` otherwise."""
    match unseal(key, _PURPOSE, token, MAX_TOKEN):
        case [1, "quote", int(signed), int(expires)] if signed == no:
            check_expiry(expires, now)
        case _:
            raise Rejected("forged")


def link_maker(settings: Settings, keys: Callable[[], Awaitable[bytes]]) -> QuoteLink:
    """The ``Dispatcher.quote_link`` callable: ``GENDAN_PUBLIC_URL/quotes/{no}?t=…``."""
    base = f"{settings.public_url.rstrip('/')}/quotes"

    async def make(no: int, valid_until: date) -> tuple[str, datetime]:
        expires = datetime.combine(valid_until + KEEP_AFTER, time(23, 59), settings.tz).astimezone(UTC)
        return f"{base}/{no}?t={sign(await keys(), no, int(expires.timestamp()))}", expires

    return make


class _Sheets:
    def __init__(self, db: Database, settings: Settings, keys: Callable[[], Awaitable[bytes]],
                 clock: Callable[[], datetime]) -> None:
        self._db, self._settings, self._keys, self._clock = db, settings, keys, clock
        env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
        self._template = env.get_template("quote.html")

    def _denied(self, reason: str) -> web.Response:
        return web.Response(text=texts.sheet_denied(reason), status=_STATUS.get(reason, 403),
                            charset="utf-8", headers=_HEADERS)

    async def _sheet(self, request: web.Request) -> quote_sheet.QuoteSheet | web.Response:
        no = int(request.match_info["no"])
        try:
            verify(await self._keys(), request.query.get("t"), self._clock(), no)
        except Rejected as exc:
            return self._denied(exc.reason)
        async with self._db.reader() as uow:
            sheet = await quote_sheet.collect(uow, no, self._settings.company_name, self._settings.tz)
        if sheet is None:
            return self._denied("not_found")
        if sheet.status in HIDDEN:
            return self._denied("closed")
        return sheet

    async def page(self, request: web.Request) -> web.Response:
        """The printable page."""
        sheet = await self._sheet(request)
        if isinstance(sheet, web.Response):
            return sheet
        today = self._clock().astimezone(self._settings.tz).date()
        layout = texts.SHEET_LAYOUT
        values: dict[str, Any] = {
            "t": texts.SHEET_PAGE, "sheet": sheet, "layout": layout,
            "header": list(zip(layout.labels, quote_sheet.header_values(sheet), strict=True)),
            "status": texts.sheet_status(sheet.status, sheet.valid_until, today),
            "xlsx": f"/quotes/{sheet.no}.xlsx?t={request.query.get('t', '')}",
        }
        return web.Response(text=self._template.render(**values), content_type="text/html", charset="utf-8",
                            headers=_HEADERS)

    async def workbook(self, request: web.Request) -> web.StreamResponse:
        """The .xlsx download."""
        sheet = await self._sheet(request)
        if isinstance(sheet, web.Response):
            return sheet
        layout = texts.SHEET_LAYOUT
        data = await asyncio.to_thread(quote_sheet.render, sheet, layout)
        disposition = content_disposition(quote_sheet.filename(sheet, layout), f"quote-Q{sheet.no}.xlsx")
        return web.Response(body=data, content_type=XLSX_TYPE, headers={**_HEADERS, "Content-Disposition": disposition})


def setup_routes(app: web.Application, db: Database, settings: Settings, keys: Callable[[], Awaitable[bytes]], *,
                 clock: Callable[[], datetime]) -> None:
    """Register ``GET /quotes/{no}`` and ``GET /quotes/{no}.xlsx``."""
    route = _Sheets(db, settings, keys, clock)
    app.router.add_get(r"/quotes/{no:\d{1,9}}", route.page)
    app.router.add_get(r"/quotes/{no:\d{1,9}}.xlsx", route.workbook)
