"""``WeComTransport``: delivers outbox rows to WeCom (implements :class:`bot.transport.Transport`).

Routing (one function, :meth:`WeComTransport.route`, shared by ``send`` and
``rate_limit`` so that the limit always matches the channel used):

* a 1:1 chat answering an AI-bot message → that message's ``response_url``;
  any other 1:1 chat → the self-built app's ``message/send`` (cards as
  ``template_card`` with buttons; the returned ``card_ref`` keeps the response_code);
* a group → its bound 群机器人 webhook (``Delivery.webhook``), else the AI bot's
  ``response_url`` from ``reply_hints`` (once, within its hour), else
  :class:`~bot.transport.PermanentError`: WeCom offers no other way into a group.

Queueing and merging under the rate limit are the outbox's job, not this module's.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, Literal

from bot.outbound import Message
from bot.transport import CardExpired, Delivery, PermanentError, RateLimit
from bot.wecom import render
from bot.wecom.client import TOKEN_ERRORS, WeComClient, WeComPermanentError, WeComTransientError

log = logging.getLogger("gendan.wecom.transport")

Route = Literal["app", "webhook", "aibot"]
#: 群机器人: 20 messages per minute per robot (brief §2.4)
WEBHOOK_LIMIT = RateLimit(20, 60.0)
#: each member gets at most 30 app messages per minute; WeCom drops the rest silently
APP_LIMIT = RateLimit(30, 60.0)
#: errcodes that mean "our configuration is wrong", not "this card copy is stale"
CONFIG_ERRORS = frozenset({40001, 48002, 60020} | TOKEN_ERRORS)
_RESPONSE_URL_TTL = 3600.0
#: longest wait between two tries of one outbox row (the outbox's own cap)
MAX_RETRY_AFTER = 600.0


def backed_off(exc: WeComTransientError, attempts: int) -> WeComTransientError:
    """``exc`` with its wait doubled per earlier attempt of the row, capped, plus up to 10 % jitter.

    The client's hint (2 s for "system busy", 60 s for a frequency limit) suits a
    first retry. The outbox takes the hint as the whole backoff, so a fixed hint
    would spend its 12 attempts within half a minute of a longer outage (brief
    §4.3: exponential backoff with jitter).
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

    # ---- routing ---------------------------------------------------------------------

    def _usable_response_url(self, delivery: Delivery) -> str | None:
        url = delivery.reply_hints.get("response_url")
        if not isinstance(url, str) or not url or url in self._used_urls:
            return None
        expires = delivery.reply_hints.get("response_url_expires_at")
        if isinstance(expires, int | float) and self._clock() >= expires:
            return None
        return url

    def route(self, delivery: Delivery) -> Route | None:
        """Which WeCom channel this delivery would use, or None when there is none."""
        if delivery.chat_type == "single":
            if self._usable_response_url(delivery):
                return "aibot"
            return "app" if self._client.app_configured else None
        if delivery.webhook is not None:
            return "webhook"
        return "aibot" if self._usable_response_url(delivery) else None

    def rate_limit(self, delivery: Delivery) -> RateLimit | None:
        """20/min for a group robot, 30/min per person for the app, none for a response_url."""
        route = self.route(delivery)
        if route == "webhook":
            return WEBHOOK_LIMIT
        if route == "app":
            return APP_LIMIT
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
