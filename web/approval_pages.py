"""Signed approval links: the DingTalk approval path without a card template.

Without ``GENDAN_DINGTALK_CARD_TEMPLATE_ID`` each approver gets an ActionCard 1:1 whose
通过 / 驳回 buttons open ``GENDAN_PUBLIC_URL/approve?t=<token>``. A tap carries no DingTalk
identity, so the token is the whole credential: it binds the button's action string, the
approver (the 1:1 chat it was delivered to), an expiry and a nonce, MACed with HMAC-SHA256
under a purpose subkey of the link key (``settings.signing_key``, else a key kept in ``kv``).
``GET /approve`` only shows a confirmation page (link previews open URLs, so a GET never
decides); ``POST /approve`` checks MAC (constant time), expiry and single use (the nonce is
recorded in ``kv`` first), then hands the dispatcher a CardAction from the *bound* approver;
nothing in the request names a person, and the handler re-checks role and state as for a
card press. Page words come from ``handlers.texts.links``; the markup is
``web/templates/approve.html``.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader

from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.events import Actor, CardAction, ChatRef
from bot.outbound import Button
from bot.transport import Delivery
from handlers.texts import links as texts
from storage.conflicts import DuplicateRow
from storage.db import Database
from storage.vocab import ApprovalStatus
from web.sealed_tokens import Rejected, check_expiry, seal, unseal

#: how long a link stays usable; an approver away for a weekend still finds it working
TOKEN_TTL = timedelta(hours=72)
#: ``kv`` key of the generated key (used only when no secret is configured)
KEY_NAME = "signing_key"
#: ``kv`` keys of used nonces; the value is the link's expiry, so stale rows can be pruned
USED_PREFIX = "used-link:"
MAX_TOKEN = 2048
PURPOSE = b"gendan approval link v1"
#: the packed form of ``handlers.cards.ApprovalAction`` (tests check the two agree)
APPROVAL_ACTION = re.compile(r"ap:(\d{1,18}):(ok|no)")
#: what the DingTalk transport puts behind an ActionCard button (``bot.dingtalk.render.LinkFor``, same shape)
LinkFor = Callable[[Button, Delivery], str]
#: HTTP status per refusal: a forged link is forbidden, an old one gone, a reused one a conflict
_STATUS = {"missing": 400, "forged": 403, "expired": 410, "used": 409, "gone": 404,
           "reason_required": 400, "too_long": 400}
#: no caching, no referrer (the token is in the URL), no framing, no scripts
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                       "frame-ancestors 'none'"}


@dataclass(frozen=True)
class LinkClaims:
    """What a token binds."""

    action: str
    platform: str
    user_id: str
    expires: int  # epoch seconds
    nonce: str


LinkRejected = Rejected  # ``reason``: missing, forged or expired


def sign_token(key: bytes, claims: LinkClaims) -> str:
    """A sealed approval-link token."""
    return seal(key, PURPOSE, [1, claims.action, claims.platform, claims.user_id, claims.expires, claims.nonce])


def verify_token(key: bytes, token: str | None, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token; :class:`LinkRejected` otherwise (use is checked apart)."""
    match unseal(key, PURPOSE, token, MAX_TOKEN):
        case [1, str(action), str(platform), str(user_id), int(expires), str(nonce)] if (
                user_id and nonce and APPROVAL_ACTION.fullmatch(action)):  # we link approval buttons only
            claims = LinkClaims(action, platform, user_id, expires, nonce)
        case _:
            raise LinkRejected("forged")
    check_expiry(claims.expires, now)
    return claims


def make_link_for(settings: Settings, key: bytes, *, clock: Callable[[], datetime],
                  ttl: timedelta = TOKEN_TTL) -> LinkFor:
    """The ``link_for(button, delivery)`` the DingTalk transport puts behind ActionCard buttons."""
    page = f"{settings.public_url.rstrip('/')}/approve"

    def link_for(button: Button, delivery: Delivery) -> str:
        if delivery.chat_type != "single" or not APPROVAL_ACTION.fullmatch(button.action):
            # A group copy has no single approver to bind: the bare page explains /审批 instead.
            return page
        claims = LinkClaims(button.action, delivery.platform, delivery.chat_id,
                            int((clock() + ttl).timestamp()), secrets.token_urlsafe(16))
        return f"{page}?t={sign_token(key, claims)}"

    return link_for


async def link_key(db: Database, settings: Settings) -> bytes:
    """``settings.signing_key``, else this database's generated key (created on first use)."""
    if settings.signing_key:
        return settings.signing_key
    for _ in range(3):
        try:
            async with db.uow() as uow:
                stored = await uow.pages.kv(KEY_NAME)
                if stored is not None:
                    return base64.urlsafe_b64decode(stored + "=" * (-len(stored) % 4))
                fresh = secrets.token_bytes(32)
                await uow.pages.add_kv(KEY_NAME, base64.urlsafe_b64encode(fresh).decode().rstrip("="))
            return fresh
        except DuplicateRow:
            continue  # another instance created it at the same moment: read theirs
    raise RuntimeError("could not load or create the link key")


class LinkKeys:
    """The link key, loaded once per process; also the transport's async source of ``link_for``."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._key: bytes | None = None

    async def __call__(self) -> bytes:
        """The key (from settings, or loaded or created in ``kv`` on first call; racing first calls agree)."""
        if self._key is None:
            self._key = await link_key(self.db, self.settings)
        return self._key

    def link_source(self, clock: Callable[[], datetime]) -> Callable[[], Awaitable[LinkFor]]:
        """For ``DingTalkTransport(link_source=…)``: the key may live in the database, so it is async."""

        async def source() -> LinkFor:
            return make_link_for(self.settings, await self(), clock=clock)

        return source


class _Pages:
    """``GET`` and ``POST /approve``."""

    def __init__(self, dispatcher: Dispatcher, settings: Settings, keys: Callable[[], Awaitable[bytes]]) -> None:
        self._dispatcher = dispatcher
        self._db = dispatcher.db
        self._tz = settings.tz
        self._keys = keys
        env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
        self._template = env.get_template("approve.html")

    def _page(self, status: int, heading: str, **values: Any) -> web.Response:
        html = self._template.render(t=texts.labels(), heading=heading, action_url="approve",
                                     max_reason=texts.MAX_REASON, **values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                            headers=_HEADERS)

    def _refused(self, reason: str) -> web.Response:
        heading, text = texts.refusal(reason)
        return self._page(_STATUS.get(reason, 400), heading, error=text)

    async def _consume(self, claims: LinkClaims) -> bool:
        """Record the nonce durably; False when it was recorded before (a reused link)."""
        now = int(self._dispatcher.clock().timestamp())  # links past expiry are refused: forget their nonces
        try:
            async with self._db.uow() as uow:
                await uow.pages.prune_kv(USED_PREFIX, f"{now:012d}")
                await uow.pages.add_kv(USED_PREFIX + claims.nonce, f"{claims.expires:012d}")
        except DuplicateRow:
            return False
        return True

    async def _still_pending(self, claims: LinkClaims) -> bool:
        _, approval_id, _ = claims.action.split(":")
        async with self._db.uow() as uow:
            step = await uow.approvals.step(int(approval_id), fresh=False)
            return step is not None and step.status == ApprovalStatus.PENDING

    async def _release(self, claims: LinkClaims) -> None:
        async with self._db.uow() as uow:
            await uow.pages.delete_kv(USED_PREFIX + claims.nonce)

    async def _confirm(self, claims: LinkClaims, token: str, status: int = 200, error: str = "",
                       reason: str = "") -> web.Response:
        """The confirmation page (read only), or why the link is spent, or what became of the approval."""
        _, approval_id, decision = claims.action.split(":")  # verify_token checked the shape
        async with self._db.reader() as uow:
            if await uow.pages.kv(USED_PREFIX + claims.nonce) is not None:
                return self._refused("used")
            person = await uow.people.by_ref(claims.platform, claims.user_id)
            view = await uow.pages.approval_view(int(approval_id))
            if view is None:
                return self._refused("gone")
            order, step, diff = view.order, view.step, view.diff
            if step.status != ApprovalStatus.PENDING:
                heading, text = texts.decided(order, step, self._tz)
                return self._page(200, heading, message=text)
            return self._page(status, texts.confirm_heading(order, decision), summary=texts.summary(order, step, diff),
                              approver=texts.approver(person, claims.user_id), token=token, decision=decision,
                              error=error, reason=reason)

    async def show(self, request: web.Request) -> web.Response:
        """``GET /approve?t=…``: the confirmation page; changes nothing."""
        token = request.query.get("t")
        try:
            claims = verify_token(await self._keys(), token, self._dispatcher.clock())
        except LinkRejected as exc:
            return self._refused(exc.reason)
        return await self._confirm(claims, token or "")

    async def decide(self, request: web.Request) -> web.Response:
        """``POST /approve`` (form ``t``, ``reason``): verify, spend the link, decide as the bound approver."""
        form = await request.post()
        token, reason = form.get("t"), form.get("reason", "")
        if not isinstance(token, str) or not isinstance(reason, str):
            return self._refused("missing")
        try:
            claims = verify_token(await self._keys(), token, self._dispatcher.clock())
        except LinkRejected as exc:
            return self._refused(exc.reason)
        rejecting = claims.action.endswith(":no")
        reason = reason.strip() if rejecting else ""
        if rejecting and (not reason or len(reason) > texts.MAX_REASON):
            why = "reason_required" if not reason else "too_long"
            return await self._confirm(claims, token, 400, texts.refusal(why)[1], reason)
        if claims.platform != "dingtalk":
            # links are DingTalk's approval channel; other platforms decide on cards or with /审批
            return self._refused("forged")
        if not await self._consume(claims):
            return self._refused("used")
        # a fresh event id per use: the nonce row above is what makes a link single-use
        replies = await self._dispatcher.handle(CardAction(
            platform=claims.platform, event_id=f"link:{claims.nonce}:{secrets.token_hex(4)}",
            actor=Actor(claims.platform, claims.user_id), chat=ChatRef(claims.platform, claims.user_id, "single"),
            payload=claims.action, text=reason))
        if replies is None or await self._still_pending(claims):
            # nothing was decided (a concurrent change won, or an error): the link stays usable
            await self._release(claims)
        return self._page(200, texts.labels()["result_title"],
                          message=texts.result_text([m.text for m in replies or []]))


def setup_routes(app: web.Application, dispatcher: Dispatcher, settings: Settings,
                 key_provider: Callable[[], Awaitable[bytes]]) -> None:
    """Register ``GET /approve`` (confirmation page) and ``POST /approve`` (the decision)."""
    pages = _Pages(dispatcher, settings, key_provider)
    app.router.add_get("/approve", pages.show)
    app.router.add_post("/approve", pages.decide)
