"""``WeComTransport``: delivers outbox rows to WeCom (implements :class:`bot.transport.Transport`).

Routing (one function, :meth:`WeComTransport.route`, shared by ``send`` and
``rate_limit`` so that the limit always matches the channel used):

* a 1:1 chat answering an AI-bot message → that message's ``response_url``;
  any other 1:1 chat → the self-built app's ``message/send`` (cards as
  ``template_card`` with buttons; the returned ``card_ref`` keeps the response_code);
* a group → its bound 群机器人 webhook (``Delivery.webhook``), else the AI bot's
  ``response_url`` from ``reply_hints`` (once, within its hour), else the AI bot's
  long connection (``aibot_send_msg``), else :class:`~bot.transport.PermanentError`;
* "ws", the AI-bot long connection (:mod:`bot.wecom.longconn`): first for an answer to a
  message that came over it (``aibot_respond_msg`` on that message's ``req_id``, once,
  within :data:`WS_REPLY_WINDOW`; a refused or spent ``req_id`` falls back to a push), and
  as the last way into a group or to a person when the app is not configured
  (``aibot_send_msg``). While the socket is down it raises a transient error, so the
  outbox keeps the row and tries again later.

A card pressed in a long-connection chat is updated with ``aibot_respond_update_msg`` on
the press's ``req_id`` within 5 s; other copies raise :class:`~bot.transport.CardExpired`
and the outbox sends a fresh message instead.

Queueing and merging under the rate limit are the outbox's job, not this module's.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from bot.outbound import Message
from bot.transport import CardExpired, Delivery, PermanentError, RateLimit
from bot.wecom import frames, render
from bot.wecom.client import TOKEN_ERRORS, WeComClient, WeComPermanentError, WeComTransientError

if TYPE_CHECKING:
    from bot.wecom.longconn import AibotConnection

log = logging.getLogger("gendan.wecom.transport")

Route = Literal["app", "webhook", "aibot", "ws"]
#: 群机器人: 20 messages per minute per robot
WEBHOOK_LIMIT = RateLimit(20, 60.0)
#: each member gets at most 30 app messages per minute; WeCom drops the rest silently
APP_LIMIT = RateLimit(30, 60.0)
#: errcodes that mean "our configuration is wrong", not "this card copy is stale"
CONFIG_ERRORS = frozenset({40001, 48002, 60020} | TOKEN_ERRORS)
#: proactive ``aibot_send_msg`` per chat: WeCom documents no limit for it; the group robot's
#: 20 per minute is the closest documented figure for a bot posting into a chat
WS_PUSH_LIMIT = RateLimit(20, 60.0)
#: an answer on a message's req_id: the SDKs refresh a stream for up to 6 minutes; keep a margin
WS_REPLY_WINDOW = 300.0
#: a welcome or a card update must follow its event within 5 s (a second of margin)
WS_EVENT_WINDOW = 4.0
_RESPONSE_URL_TTL = 3600.0
#: longest wait between two tries of one outbox row (the outbox's own cap)
MAX_RETRY_AFTER = 600.0


def backed_off(exc: WeComTransientError, attempts: int) -> WeComTransientError:
    """``exc`` with its wait doubled per earlier attempt of the row, capped, plus up to 10 % jitter.

    The client's hint (2 s for "system busy", 60 s for a frequency limit) suits a
    first retry. The outbox takes the hint as the whole backoff, so a fixed hint
    would spend its 12 attempts within half a minute of a longer outage (WeCom
    advises exponential backoff with jitter).
    """
    base = exc.retry_after or 2.0
    wait = base * 2 ** min(attempts, 16) * random.uniform(1.0, 1.1)
    return WeComTransientError(str(exc), min(MAX_RETRY_AFTER, wait), exc.errcode)


class WeComTransport:
    """Send and update WeCom messages for the outbox sender."""

    platform = "wecom"

    def __init__(self, client: WeComClient, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._clock = clock
        # response_url is one-shot: remember the ones used (per process; a second
        # instance would get an errcode from WeCom instead, also a PermanentError).
        self._used_urls: dict[str, float] = {}
        self._ws: AibotConnection | None = None
        # a req_id takes one answer; later rows of the same message are pushed
        self._used_req_ids: dict[str, float] = {}

    def attach_ws(self, connection: AibotConnection) -> None:
        """Use the AI-bot long connection for replies to its messages and as a push channel."""
        self._ws = connection

    # ---- routing ---------------------------------------------------------------------

    def _usable_response_url(self, delivery: Delivery) -> str | None:
        url = delivery.reply_hints.get("response_url")
        if not isinstance(url, str) or not url or url in self._used_urls:
            return None
        expires = delivery.reply_hints.get("response_url_expires_at")
        if isinstance(expires, int | float) and self._clock() >= expires:
            return None
        return url

    def _ws_req_id(self, delivery: Delivery) -> str | None:
        """The req_id this delivery can answer on over the long connection, if any."""
        req_id = delivery.reply_hints.get("ws_req_id")
        at = delivery.reply_hints.get("ws_req_at")
        if not isinstance(req_id, str) or not req_id or req_id in self._used_req_ids:
            return None
        window = WS_EVENT_WINDOW if delivery.reply_hints.get("welcome") else WS_REPLY_WINDOW
        if not isinstance(at, int | float) or self._clock() - at > window:
            return None
        return req_id

    def route(self, delivery: Delivery) -> Route | None:
        """Which WeCom channel this delivery would use, or None when there is none."""
        ws = self._ws
        if ws is not None and ws.connected and self._ws_req_id(delivery):
            return "ws"
        if delivery.chat_type == "single":
            if self._usable_response_url(delivery):
                return "aibot"
            if self._client.app_configured:
                return "app"
            return "ws" if ws is not None else None
        if delivery.webhook is not None:
            return "webhook"
        if self._usable_response_url(delivery):
            return "aibot"
        return "ws" if ws is not None else None

    def rate_limit(self, delivery: Delivery) -> RateLimit | None:
        """20/min for a group robot or an AI-bot push, 30/min per person for the app, none for answers."""
        route = self.route(delivery)
        if route == "webhook":
            return WEBHOOK_LIMIT
        if route == "app":
            return APP_LIMIT
        if route == "ws" and self._ws_req_id(delivery) is None:
            return WS_PUSH_LIMIT
        return None

    # ---- send ------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> dict[str, Any] | None:
        """Deliver one message; for an app card return ``{"channel","response_code","task_id","userid"}``.

        Always a new message, also for an ``op="update"`` row: the outbox calls
        :meth:`update_card` for updates and ``send`` only as the fallback when a
        copy cannot be updated (or none was stored), so delegating back to
        ``update_card`` here would raise :class:`CardExpired` again.
        """
        try:
            return await self._send(delivery)
        except WeComTransientError as exc:
            raise backed_off(exc, delivery.attempts) from None

    async def _send(self, delivery: Delivery) -> dict[str, Any] | None:
        route = self.route(delivery)
        message = delivery.message
        try:
            if route == "app":
                return await self._send_app(delivery, message)
            if route == "webhook" and delivery.webhook is not None:
                await self._client.webhook_send(delivery.webhook.url, render.webhook_message(message))
                return None
            url = self._usable_response_url(delivery)
            if route == "aibot" and url is not None:
                return await self._send_aibot(delivery, message, url)
            if route == "ws":
                return await self._send_ws(delivery, message)
        except render.RenderError as exc:
            raise PermanentError(f"cannot render for WeCom: {exc}") from None
        if delivery.chat_type == "single":
            raise PermanentError("WeCom self-built app is not configured: cannot message a person")
        raise PermanentError(
            f"WeCom group {delivery.chat_id} has no push channel: an admin must bind its 群机器人 "
            "webhook with /绑定 (an AI-bot response_url answers one message, once, within an hour)"
        )

    async def _send_app(self, delivery: Delivery, message: Message) -> dict[str, Any] | None:
        card = message.card
        if message.kind == "card" and card is not None and not card.closed:
            task_id = self._task_id(delivery)
            answer = await self._client.send_template_card(
                delivery.chat_id, render.render_template_card(card, task_id)
            )
            self._check_recipient(delivery, answer)
            return {
                "channel": "app",
                "response_code": str(answer.get("response_code", "")),
                "task_id": task_id,
                "userid": delivery.chat_id,
            }
        answer = await self._client.send_message(delivery.chat_id, render.app_message(message))
        self._check_recipient(delivery, answer)
        return None

    @staticmethod
    def _check_recipient(delivery: Delivery, answer: dict[str, Any]) -> None:
        # message/send succeeds (errcode 0) even when the recipient is outside the
        # app's visible range; it only lists them in "invaliduser".
        invalid = str(answer.get("invaliduser") or "").split("|")
        if delivery.chat_id in invalid:
            raise PermanentError(f"WeCom user {delivery.chat_id} is outside the app's visible range")

    async def _send_aibot(self, delivery: Delivery, message: Message, url: str) -> dict[str, Any] | None:
        task_id = self._task_id(delivery)
        body = render.aibot_message(message, task_id)
        try:
            await self._client.aibot_respond(url, body)
        except WeComPermanentError:
            self._mark_used(url)  # refused for good: do not try this url again
            raise
        self._mark_used(url)
        if body["msgtype"] == "template_card":
            # No later-update API for AI-bot cards: no response_code, update → CardExpired.
            return {"channel": "aibot", "task_id": task_id}
        return None

    async def _send_ws(self, delivery: Delivery, message: Message) -> dict[str, Any] | None:
        ws = self._ws
        assert ws is not None  # route() returns "ws" only with a connection
        task_id = self._task_id(delivery)
        req_id = self._ws_req_id(delivery)
        if req_id is not None:
            welcome = bool(delivery.reply_hints.get("welcome"))
            body = render.ws_welcome(message) if welcome else render.ws_reply(message, task_id, f"gd{delivery.id}")
            try:
                await ws.request(frames.RESPOND_WELCOME if welcome else frames.RESPOND, body, req_id=req_id)
            except WeComPermanentError as exc:
                self._mark_req_used(req_id)
                if welcome:
                    raise  # a welcome belongs to its 5 s window; pushed later it would only puzzle
                log.info("wecom ai bot refused the answer on its req_id (errcode %s); pushing it", exc.errcode)
            else:
                self._mark_req_used(req_id)
                return self._ws_ref(body, task_id, delivery)
        body = render.ws_push(delivery.chat_id, message, task_id)
        await ws.request(frames.SEND, body)
        return self._ws_ref(body, task_id, delivery)

    @staticmethod
    def _ws_ref(body: dict[str, Any], task_id: str, delivery: Delivery) -> dict[str, Any] | None:
        if body.get("msgtype") != "template_card":
            return None
        # no req_id: only a press brings one, and only the pressed copy can be updated with it
        return {"channel": "aibot_ws", "task_id": task_id,
                "userid": delivery.chat_id if delivery.chat_type == "single" else ""}

    def _mark_req_used(self, req_id: str) -> None:
        now = self._clock()
        self._used_req_ids = {r: t for r, t in self._used_req_ids.items() if now - t < WS_REPLY_WINDOW * 2}
        self._used_req_ids[req_id] = now

    def _mark_used(self, url: str) -> None:
        now = self._clock()
        self._used_urls = {u: t for u, t in self._used_urls.items() if now - t < _RESPONSE_URL_TTL}
        self._used_urls[url] = now

    @staticmethod
    def _task_id(delivery: Delivery) -> str:
        card = delivery.message.card
        return render.task_id_for(
            delivery.id, delivery.chat_id, delivery.message.card_key or "", card.title if card else ""
        )

    # ---- update ----------------------------------------------------------------------

    async def update_card(self, delivery: Delivery) -> dict[str, Any] | None:
        """Update one app card copy with its single-use response_code; :class:`CardExpired` if impossible."""
        try:
            return await self._update_card(delivery)
        except WeComTransientError as exc:
            raise backed_off(exc, delivery.attempts) from None

    async def _update_card(self, delivery: Delivery) -> dict[str, Any] | None:
        ref = delivery.card_ref or {}
        if ref.get("channel") == "aibot_ws":
            return await self._update_ws(delivery, ref)
        code = ref.get("response_code")
        card = delivery.message.card
        if ref.get("channel", "app") != "app" or not code:
            raise CardExpired("this WeCom card copy has no usable response_code")
        if card is None:
            raise PermanentError("update without a card")
        task_id = str(ref.get("task_id") or self._task_id(delivery))
        userid = str(ref.get("userid") or delivery.chat_id)
        try:
            template = render.render_template_card(card, task_id)
        except render.RenderError as exc:
            raise PermanentError(f"cannot render for WeCom: {exc}") from None
        try:
            await self._client.update_template_card(str(code), [userid], template_card=template)
        except WeComPermanentError as exc:
            if exc.errcode in CONFIG_ERRORS or exc.errcode is None:
                raise
            if not card.closed:
                raise CardExpired(f"WeCom refused the card update (errcode {exc.errcode})") from None
            # Which errcode marks a used or expired code is UNCONFIRMED, and so is the
            # full-card form with replace_text; the documented minimal form greys the
            # buttons out with one label. If that fails too, the copy is beyond update.
            log.info("wecom full card update refused (errcode %s); trying replace_name", exc.errcode)
            try:
                await self._client.update_template_card(
                    str(code), [userid], replace_name=render.closed_label(card)
                )
            except WeComPermanentError as exc2:
                if exc2.errcode in CONFIG_ERRORS or exc2.errcode is None:
                    raise
                raise CardExpired(f"WeCom card copy cannot be updated (errcode {exc2.errcode})") from None
        # The code is spent; a further update of this copy needs a click's fresh code.
        return {"channel": "app", "task_id": task_id, "userid": userid}

    async def _update_ws(self, delivery: Delivery, ref: dict[str, Any]) -> dict[str, Any] | None:
        """The pressed copy, on its press's req_id within 5 s; any other copy cannot be updated."""
        req_id, at, ws = ref.get("req_id"), ref.get("req_at"), self._ws
        if (not isinstance(req_id, str) or not req_id or req_id in self._used_req_ids
                or not isinstance(at, int | float) or self._clock() - at > WS_EVENT_WINDOW
                or ws is None or not ws.connected):
            raise CardExpired("this WeCom AI-bot card copy can only be replaced by a new message")
        card = delivery.message.card
        if card is None:
            raise PermanentError("update without a card")
        task_id = str(ref.get("task_id") or self._task_id(delivery))
        userid = str(ref.get("userid") or "")
        try:
            body = render.ws_card_update(card, task_id, userid)
        except render.RenderError as exc:
            raise PermanentError(f"cannot render for WeCom: {exc}") from None
        self._mark_req_used(req_id)
        try:
            await ws.request(frames.RESPOND_UPDATE, body, req_id=req_id)
        except WeComPermanentError as exc:
            raise CardExpired(f"WeCom refused the card update (errcode {exc.errcode})") from None
        return {"channel": "aibot_ws", "task_id": task_id, "userid": userid}
