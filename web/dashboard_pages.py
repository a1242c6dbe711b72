"""The web dashboard: ``GET /board?t=…`` opens a session; ``/board/`` kanban, order pages, sales.

Access needs a signed link from ``/看板`` (``web.signed_links``): the link is exchanged for an
HttpOnly, SameSite=Lax session cookie of the same expiry, and every ``/board/*`` page wants
that cookie (whose person must still be active) or ``Authorization: Bearer $GENDAN_API_TOKEN``.
Anything else gets a 401/403 page that only says how to get a link. Pages are server-rendered
(``web/templates/board/``, autoescaped), charts are inline SVG, and the pages load nothing,
not even a script: the Content-Security-Policy forbids it. Words come from
``handlers.texts.board``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.config import Settings
from handlers.texts import board as texts
from storage.db import Database
from storage.services import dashboard, purchasing, receivables, sales_grid, shortage_board
from storage.services import quotes as quote_svc
from storage.vocab import QUOTE_EXPIRED_LABEL, QUOTE_STATUS_LABELS, STAGE_LABELS, STATE_LABELS
from web import signed_links as tokens

#: no caching, no referrer (a link carries its token), no framing, no scripts, nothing from elsewhere
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                       "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"}
#: the refusal's HTTP status: no or lapsed credentials are 401, a forged link or a departed person 403
_STATUS = {"missing": 401, "session": 401, "expired": 401, "forged": 403, "left": 403, "off": 403}
#: months shown on the sales page by default (this one and the eleven before)
DEFAULT_MONTHS = 12
MAX_MONTHS = 60
#: orders per page of a kanban column's full list
COLUMN_PAGE = 50
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def hbars(rows: list[tuple[str, Decimal]], fmt: Callable[[Decimal], str]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (viewBox 400 wide, 28 per row) for the SVG template."""
    top = max((v for _, v in rows), default=Decimal(0))
    bars = [{"y": i * 28, "w": round(float(v / top) * 200, 1) if top > 0 and v > 0 else 0, "label": label,
             "value": fmt(v)} for i, (label, v) in enumerate(rows)]
    return {"height": max(28, 28 * len(rows)), "bars": bars}


def sales_period(query: Any, today: date) -> tuple[date, date]:
    """``?from=&to=`` (ISO dates); the last :data:`DEFAULT_MONTHS` months when absent or unusable."""
    year, month = divmod(today.year * 12 + today.month - DEFAULT_MONTHS, 12)
    first = date(year, month + 1, 1)
    try:
        start = date.fromisoformat(query.get("from", "")) if query.get("from") else first
        end = date.fromisoformat(query.get("to", "")) if query.get("to") else today
    except ValueError:
        return first, today
    try:
        if end < start or len(dashboard.months_between(start, end)) > MAX_MONTHS:
            return first, today
    except (ValueError, OverflowError):  # e.g. 9999-12: no month after it
        return first, today
    return start, end


class _Board:
    """The routes; one per app."""

    def __init__(self, db: Database, settings: Settings, keys: Callable[[], Awaitable[bytes]],
                 clock: Callable[[], datetime], payment_due: dashboard.PaymentDue) -> None:
        self._db, self._keys, self._clock, self._due = db, keys, clock, payment_due
        self._tz: tzinfo = settings.tz
        self._api_token = settings.api_token.get_secret_value()
        self._secure = settings.public_url.startswith("https:")
        # behind a proxy the app may live under a path prefix: the cookie must follow it
        self._cookie_path = urlsplit(settings.public_url).path.rstrip("/") + "/board"
        env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates" / "board"), autoescape=True,
                          undefined=StrictUndefined)
        env.filters["local"] = lambda at: at.astimezone(self._tz).strftime("%Y-%m-%d %H:%M")
        env.filters["money"] = texts.money
        env.filters["qty"] = lambda value: f"{value.normalize():f}"
        env.globals.update(fx=texts, state_labels=STATE_LABELS, stage_labels=STAGE_LABELS,
                           column_of=dashboard.column_key)
        self._env = env

    def _today(self) -> date:
        return self._clock().astimezone(self._tz).date()

    def _page(self, name: str, status: int = 200, **values: Any) -> web.Response:
        t = texts.labels()
        html = self._env.get_template(name).render(t=t, now=self._clock(), **values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS)

    def _denied(self, reason: str, *, forget: bool = False) -> web.Response:
        heading, text = texts.denied(reason)
        resp = self._page("denied.html", _STATUS.get(reason, 401), heading=heading, message=text, base="")
        if forget:
            resp.del_cookie(tokens.COOKIE, path=self._cookie_path)
        return resp

    async def _active(self, claims: tokens.BoardClaims) -> bool:
        """Whether the person the token names is still with the company (a departed person's link dies)."""
        async with self._db.reader() as uow:
            person = await uow.people.by_ref(claims.platform, claims.user_id)
        return person is not None and person.active

    def _bearer_ok(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        return bool(self._api_token) and hmac.compare_digest(given.encode(), f"Bearer {self._api_token}".encode())

    async def _refusal(self, request: web.Request) -> web.Response | None:
        """None when the request may see the board; else the page that says why not."""
        if self._bearer_ok(request):
            return None
        cookie = request.cookies.get(tokens.COOKIE)
        if not cookie:
            return self._denied("missing")
        try:
            claims = tokens.verify(await self._keys(), "session", cookie, self._clock())
        except tokens.BoardRejected:
            return self._denied("session", forget=True)
        if not await self._active(claims):
            return self._denied("left", forget=True)
        return None

    def guarded(self, handler: Handler) -> Handler:
        """``handler`` behind the cookie-or-bearer check."""

        async def run(request: web.Request) -> web.StreamResponse:
            refused = await self._refusal(request)
            return refused if refused is not None else await handler(request)

        return run

    async def open_link(self, request: web.Request) -> web.StreamResponse:
        """``GET /board?t=…``: a genuine link becomes a session cookie, then off to the kanban."""
        token = request.query.get("t")
        if not token:
            refused = await self._refusal(request)
            return refused if refused is not None else _redirect()
        try:
            claims = tokens.verify(await self._keys(), "link", token, self._clock())
        except tokens.BoardRejected as exc:
            return self._denied(exc.reason)
        if not await self._active(claims):
            return self._denied("left")
        session = tokens.sign(await self._keys(), "session", claims)
        resp = _redirect()
        resp.set_cookie(tokens.COOKIE, session, path=self._cookie_path, httponly=True, samesite="Lax",
                        secure=self._secure, max_age=max(0, claims.expires - int(self._clock().timestamp())))
        return resp

    async def kanban(self, request: web.Request) -> web.StreamResponse:
        """``GET /board/``: open orders in columns by state and stage."""
        async with self._db.reader() as uow:
            board = await dashboard.kanban(uow, self._today(), self._tz, self._due)
            return self._page("kanban.html", board=board, base="")

    async def column(self, request: web.Request) -> web.StreamResponse:
        """``GET /board/columns/{key}?page=N``: every order of one kanban column, a page at a time."""
        key = request.match_info["key"]
        raw = request.query.get("page", "1")
        page = int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1
        if key not in dashboard.COLUMNS:
            return self._page("denied.html", 404, heading=texts.labels()["not_found"], message="", base="../")
        async with self._db.reader() as uow:
            col = await dashboard.column_page(uow, key, page, COLUMN_PAGE, self._today(), self._tz, self._due)
            pages = max(1, -(-col.total // COLUMN_PAGE))
            return self._page("column.html", col=col, page=page, pages=pages, base="../")

    async def order(self, request: web.Request) -> web.StreamResponse:
        """``GET /board/orders/{no}``: lines, progress, audit timeline, change diffs."""
        raw = request.match_info["no"].lstrip("#")
        async with self._db.reader() as uow:
            detail = await dashboard.order_detail(uow, int(raw), self._today(), self._tz, self._due) \
                if raw.isdigit() and len(raw) < 12 else None
            if detail is None:
                return self._page("denied.html", 404, heading=texts.labels()["not_found"], message="",
                                  base="../")
            return self._page("order.html", d=detail, o=detail.order, base="../")

    async def sales(self, request: web.Request) -> web.StreamResponse:
        """``GET /board/sales``: sales by person and by month, receivables aging, overdue lists."""
        today = self._today()
        start, end = sales_period(request.query, today)
        async with self._db.reader() as uow:
            rep, months = await sales_grid.sales_grid(uow, start, end, self._tz)
            recv = await receivables.receivables(uow, today, self._tz, self._due)
            people = sorted(rep.by_person.values(), key=lambda p: (-p.sales, p.name))
            money = texts.money
            return self._page(
                "sales.html", rep=rep, people=people, months=months, recv=recv, start=start, end=end, base="",
                buckets=[key for key, _, _ in dashboard.BUCKETS],
                month_chart=hbars([(f"{m.month:%Y-%m}", m.sales) for m in months], money),
                person_chart=hbars([(p.name, p.sales) for p in people], money))


    async def quotes(self, request: web.Request) -> web.StreamResponse:
        """``GET /board/quotes``: recent quotations, this month's win rates, shortages and open purchases."""
        today = self._today()
        async with self._db.reader() as uow:
            recent = await quote_svc.recent(uow, 50)
            rates = await quote_svc.win_rates(uow, today.replace(day=1), today, self._tz)
            short = await shortage_board.short_products(uow)
            open_purchases = await purchasing.open_purchases(uow)
            return self._page("quotes.html", base="", quotes=recent, today=today, short=short,
                              purchases=open_purchases,
                              rates=sorted(rates.values(), key=lambda r: (-r.quoted_amount, r.name)),
                              quote_status=lambda q: QUOTE_EXPIRED_LABEL if quote_svc.expired(q, today)
                              else QUOTE_STATUS_LABELS.get(q.status, q.status))


def _redirect() -> web.Response:
    # relative: under a path prefix "/x/board" leads to "/x/board/"
    return web.Response(status=303, headers={**_HEADERS, "Location": "board/"})


def setup_routes(app: web.Application, db: Database, settings: Settings, key_provider: Callable[[], Awaitable[bytes]],
                 *, clock: Callable[[], datetime], payment_due: dashboard.PaymentDue) -> None:
    """Register ``GET /board`` (link → cookie) and the pages under ``/board/``."""
    board = _Board(db, settings, key_provider, clock, payment_due)
    app.router.add_get("/board", board.open_link)
    app.router.add_get("/board/", board.guarded(board.kanban))
    app.router.add_get("/board/orders/{no}", board.guarded(board.order))
    app.router.add_get("/board/columns/{key}", board.guarded(board.column))
    app.router.add_get("/board/sales", board.guarded(board.sales))
    app.router.add_get("/board/quotes", board.guarded(board.quotes))
