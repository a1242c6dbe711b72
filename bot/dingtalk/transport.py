"""``DingTalkTransport``: delivers outbox rows to DingTalk chats.

Route precedence for a message (documented decision):

1. **sessionWebhook** when the row answers an inbound message of the *same chat*
   (``reply_hints["chat_id"]``), the hook is on a configured DingTalk host
   (``bot.dingtalk.trust``; checked again here because inbox rows recorded before
   that check existed are replayed too) and valid for at least ``session_margin_ms``
   more: free, no token, and it supports real @mentions. An expired hook (300001)
   falls through to 2–4.
2. Groups: the **app robot OpenAPI** (``groupMessages/send``, ``openConversationId`` =
   chat id) when the app robot is configured. It has no hard 20/min ban and is the
   only route for cards. If it refuses the group for good (e.g. the app robot is not a
   member) and a custom robot is bound, the message goes there instead.
3. Groups without the app robot: the **bound custom robot** (``Delivery.webhook``), signed.
4. 1:1 chats: ``oToMessages/batchSend`` to ``userIds=[chat_id]``.

Cards: with ``GENDAN_DINGTALK_CARD_TEMPLATE_ID`` and the app robot, ``createAndDeliver``
(updatable; returns ``{"out_track_id"}``); otherwise an ActionCard whose buttons are
``link_for`` links (not updatable: ``update_card`` raises CardExpired and the core
sends a new card). Without ``link_for`` a card degrades to markdown, and people
answer with ``/审批``. ``link_source`` is the async alternative to ``link_for``: the
link key may live in the database, so the composition root passes
``web.approval_pages.LinkKeys(...).link_source(clock)`` and the transport resolves it on
the first card it renders.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.config import Settings
from bot.dingtalk.client import DingTalkClient, SessionExpired
from bot.dingtalk.render import LinkFor, card_data, openapi_message, webhook_body, with_sender_mention
from bot.dingtalk.signing import card_api_secret, card_callback_key, now_ms
from bot.dingtalk.trust import InboundTrust
from bot.outbound import Card
from bot.transport import CardExpired, Delivery, PermanentError, RateLimit

log = logging.getLogger("gendan.dingtalk.transport")

#: DingTalk robots take 20 messages per minute per group; the outbox queues.
GROUP_RATE_LIMIT = RateLimit(20, 60.0)
#: Do not start a sessionWebhook reply this close to the hook's expiry.
SESSION_MARGIN_MS = 120_000
#: The callbackRouteKey our HTTP card callback URL is registered under.
CARD_ROUTE_KEY = "gendan-card"


class DingTalkTransport:
    """Implements :class:`bot.transport.Transport` for ``platform="dingtalk"``."""

    platform = "dingtalk"

    def __init__(
        self,
        client: DingTalkClient,
        settings: Settings,
        link_for: LinkFor | None = None,
        *,
        clock_ms: Callable[[], int] = now_ms,
        session_margin_ms: int = SESSION_MARGIN_MS,
        link_source: Callable[[], Awaitable[LinkFor | None]] | None = None,
    ) -> None:
        self._client = client
        self._link_for = link_for
        self._link_source = link_source
        self._clock_ms = clock_ms
        self._margin = session_margin_ms
        self._app_robot = settings.dingtalk_on
        self._template_id = settings.dingtalk_card_template_id
        self._stream = settings.dingtalk_mode == "stream"
        self._trust = InboundTrust(settings)
        secret = settings.dingtalk_app_secret.get_secret_value()
        self._callback_url = (
            f"{settings.public_url.rstrip('/')}/dingtalk/card?k={card_callback_key(secret)}" if secret else ""
        )
        self._api_secret = card_api_secret(secret) if secret else ""
        self._callback_registered = False
        self._register_lock = asyncio.Lock()

    def rate_limit(self, delivery: Delivery) -> RateLimit | None:
        """20 per minute for any group (both robot kinds); none for 1:1 chats."""
        return GROUP_RATE_LIMIT if delivery.chat_type == "group" else None

    async def send(self, delivery: Delivery) -> dict[str, Any] | None:
        """Send one row; returns ``{"out_track_id"}`` for a template card, else None."""
        card = delivery.message.card
        if card is not None and self._template_id and self._app_robot:
            return await self._send_template_card(delivery, card)
        await self._send_message(delivery, await self._links(delivery))
        return None

    async def _links(self, delivery: Delivery) -> LinkFor | None:
        """``link_for``, resolving ``link_source`` only for cards (plain text needs no key)."""
        if self._link_for is not None or self._link_source is None or delivery.message.card is None:
            return self._link_for
        return await self._link_source()

    async def update_card(self, delivery: Delivery) -> dict[str, Any] | None:
        """Update a template card in place; CardExpired when that is not possible."""
        out_track_id = (delivery.card_ref or {}).get("out_track_id")
        card = delivery.message.card
        if not out_track_id or card is None or not self._template_id or not self._app_robot:
            raise CardExpired("no updatable DingTalk card")
        try:
            await self._client.update_card(str(out_track_id), card_data(card))
        except PermanentError as exc:
            raise CardExpired(str(exc)) from exc
        return {"out_track_id": out_track_id}

    # ---- messages -------------------------------------------------------------------

    def _live_session(self, delivery: Delivery) -> str | None:
        hints = delivery.reply_hints
        url = hints.get("session_webhook")
        expires = hints.get("session_webhook_expires_ms")
        if not isinstance(url, str) or not url or not isinstance(expires, int):
            return None
        if hints.get("chat_id", delivery.chat_id) != delivery.chat_id:
            return None
        if not self._trust.session_webhook_trusted(url):
            log.warning("delivery %s: sessionWebhook on a foreign host ignored; using the OpenAPI", delivery.id)
            return None
        return url if expires - self._clock_ms() > self._margin else None

    async def _send_message(self, delivery: Delivery, link_for: LinkFor | None) -> None:
        delivery = dataclasses.replace(delivery, message=with_sender_mention(delivery))
        session_url = self._live_session(delivery)
        if session_url is not None:
            try:
                await self._client.send_by_session(
                    session_url, webhook_body(delivery.message, delivery, link_for)
                )
                return
            except SessionExpired:
                log.info("sessionWebhook expired for delivery %s; using the OpenAPI", delivery.id)
        if delivery.chat_type == "single":
            if not self._app_robot:
                raise PermanentError("DingTalk app robot not configured: cannot send 1:1")
            msg_key, msg_param = openapi_message(delivery.message, delivery, link_for)
            await self._client.send_single([delivery.chat_id], msg_key, msg_param)
            return
        if self._app_robot:
            msg_key, msg_param = openapi_message(delivery.message, delivery, link_for)
            try:
                await self._client.send_group(delivery.chat_id, msg_key, msg_param)
                return
            except PermanentError as exc:
                if delivery.webhook is None:
                    raise
                log.warning("group send refused (%s); using the bound custom robot", exc)
        if delivery.webhook is None:
            raise PermanentError("no DingTalk route to this group (no app robot, no bound robot)")
        await self._client.send_webhook(
            delivery.webhook, webhook_body(delivery.message, delivery, link_for)
        )

    # ---- template cards -------------------------------------------------------------

    async def _ensure_callback_registered(self) -> None:
        # HTTP-mode clicks go to the URL registered under callbackRouteKey; register
        # once per process (forceUpdate keeps it idempotent across restarts).
        if self._callback_registered:
            return
        async with self._register_lock:
            if self._callback_registered:
                return
            await self._client.register_card_callback(CARD_ROUTE_KEY, self._callback_url, self._api_secret)
            self._callback_registered = True

    def _space_fields(self, delivery: Delivery) -> dict[str, Any]:
        """Where a card goes: a group (``IM_GROUP``) or the robot's 1:1 chat (``IM_ROBOT``)."""
        robot_code = self._client.robot_code
        if delivery.chat_type == "single":
            return {
                "openSpaceId": f"dtv1.card//IM_ROBOT.{delivery.chat_id}",
                "imRobotOpenSpaceModel": {"supportForward": False},
                "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot_code},
            }
        deliver: dict[str, Any] = {"robotCode": robot_code}
        at = {m.user_id: m.name or m.user_id for m in delivery.message.mentions if m.user_id}
        if at:
            deliver["atUserIds"] = at
        return {
            "openSpaceId": f"dtv1.card//IM_GROUP.{delivery.chat_id}",
            # An approval card is per approver; forwarding it would only confuse.
            "imGroupOpenSpaceModel": {"supportForward": False},
            "imGroupOpenDeliverModel": deliver,
        }

    async def _send_template_card(self, delivery: Delivery, card: Card) -> dict[str, Any]:
        # Deterministic per outbox row, so a retry after a lost answer reuses the id
        # instead of delivering a second copy.
        digest = hashlib.sha256(f"{delivery.chat_id}\n{delivery.message.card_key}".encode()).hexdigest()[:12]
        out_track_id = f"gendan-{delivery.id}-{digest}"
        body: dict[str, Any] = {
            "cardTemplateId": self._template_id,
            "outTrackId": out_track_id,
            "cardData": card_data(card),
            "userIdType": 1,
        }
        if self._stream:
            body["callbackType"] = "STREAM"
        else:
            await self._ensure_callback_registered()
            body["callbackType"] = "HTTP"
            body["callbackRouteKey"] = CARD_ROUTE_KEY
        body.update(self._space_fields(delivery))
        data = await self._client.create_and_deliver(body)
        result = data.get("result")
        results = result.get("deliverResults") if isinstance(result, dict) else None
        if (
            isinstance(results, list)
            and results
            and not any(isinstance(r, dict) and r.get("success") for r in results)
        ):
            raise PermanentError("card created but not delivered")
        return {"out_track_id": out_track_id}
