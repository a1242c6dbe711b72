"""aiohttp routes for DingTalk HTTP mode: robot messages, card clicks, subscription events.

Each route verifies first, translates, hands the event to the sink (which records
it durably and schedules the work) and acks at once; replies go out later through
the outbox. Anything wrong with a request is a 4xx with nothing submitted: 403 for
failed verification or a message for another robot (``bot.dingtalk.trust``), 400 for
an unusable body, 413 over 1 MiB. A sessionWebhook on a foreign host is dropped
(the reply goes through the OpenAPI). Warnings name the reason and the peer, never a secret or a signature.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.dingtalk.eventsub import EventCrypto
from bot.dingtalk.inbound import (
    PayloadError,
    action_from_card_callback,
    directory_events,
    event_type,
    message_from_robot,
)
from bot.dingtalk.signing import (
    CallbackRejected,
    card_api_secret,
    card_callback_key,
    now_ms,
    token_matches,
    verify_callback,
)
from bot.dingtalk.trust import InboundTrust
from bot.events import Inbound
from bot.transport import InboundSink

log = logging.getLogger("gendan.dingtalk.routes")

MAX_BODY = 1024 * 1024


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The request body, or 413 past ``limit`` (checked before and while reading)."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def _reject(request: web.Request, route: str, reason: str, status: int) -> web.Response:
    log.warning("dingtalk %s rejected from %s: %s", route, request.remote, reason)
    return web.json_response({"error": reason}, status=status)


def _json_object(body: bytes) -> Mapping[str, Any]:
    data = json.loads(body)
    if not isinstance(data, Mapping):
        raise PayloadError("body is not an object")
    return data


class _DingTalkRoutes:
    """The three handlers, sharing settings, the sink, the clock and the event crypto."""

    def __init__(self, sink: InboundSink, settings: Settings, clock_ms: Callable[[], int]) -> None:
        self._sink = sink
        self._secret = settings.dingtalk_app_secret.get_secret_value()
        self._clock_ms = clock_ms
        self._trust = InboundTrust(settings)
        self._card_key = card_callback_key(self._secret) if self._secret else ""
        self._card_api_secret = card_api_secret(self._secret) if self._secret else ""
        self._crypto: EventCrypto | None = None
        token = settings.dingtalk_token.get_secret_value()
        aes_key = settings.dingtalk_aes_key.get_secret_value()
        if token and aes_key:
            try:
                self._crypto = EventCrypto(token, aes_key, settings.dingtalk_app_key)
            except Exception as exc:  # a bad key or a missing crypto extra must not stop the server
                log.error("dingtalk event subscription disabled: %s", type(exc).__name__)

    async def _submit(self, events: list[Inbound]) -> web.Response | None:
        try:
            for event in events:
                await self._sink.submit(event)
        except Exception:
            # Our own failure (e.g. the database): 503 so the platform may retry.
            log.exception("dingtalk: could not record inbound event")
            return web.json_response({"error": "unavailable"}, status=503)
        return None

    async def callback(self, request: web.Request) -> web.StreamResponse:
        """``POST /dingtalk/callback``: a robot message, signed with the AppSecret headers."""
        try:
            verify_callback(
                request.headers.get("timestamp"),
                request.headers.get("sign"),
                self._secret,
                now=self._clock_ms(),
            )
        except CallbackRejected as exc:
            return _reject(request, "callback", exc.reason, 403)
        # The signature covers only the headers, so check it before reading the body.
        body = await read_body(request)
        try:
            data = _json_object(body)
            message = message_from_robot(data)
        except (ValueError, PayloadError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return _reject(request, "callback", f"bad body: {type(exc).__name__}", 400)
        refusal = self._trust.robot_refusal(data)
        if refusal is not None:
            return _reject(request, "callback", refusal, 403)
        message = self._trust.screen(message)
        failed = await self._submit([message])
        # An empty JSON object: no synchronous reply (the reply goes out via the outbox).
        return failed or web.json_response({})

    def _card_authentic(self, request: web.Request) -> str | None:
        """None when authentic, else the reason.

        How DingTalk authenticates HTTP card callbacks is UNCONFIRMED, so
        either proof is accepted: the secret ``k`` of the URL we registered (only
        DingTalk learns it, over the authenticated API), or ``timestamp``/``sign``
        headers made with the AppSecret or with the apiSecret we registered.
        """
        if not self._secret:
            return "app secret not configured"
        if token_matches(request.query.get("k"), self._card_key):
            return None
        reason = "no valid key or signature"
        for secret in (self._secret, self._card_api_secret):
            try:
                verify_callback(
                    request.headers.get("timestamp"),
                    request.headers.get("sign"),
                    secret,
                    now=self._clock_ms(),
                )
                return None
            except CallbackRejected as exc:
                reason = exc.reason
        return reason

    async def card(self, request: web.Request) -> web.StreamResponse:
        """``POST /dingtalk/card``: a card button click in HTTP callback mode."""
        reason = self._card_authentic(request)
        if reason is not None:
            return _reject(request, "card", reason, 403)
        body = await read_body(request)
        try:
            data = _json_object(body)
            # Accept the Stream-style envelope too ({"data": "<json>"}), in case HTTP mode wraps it.
            if "outTrackId" not in data and isinstance(data.get("data"), str | Mapping):
                inner = data["data"]
                data = _json_object(inner.encode()) if isinstance(inner, str) else inner
            action = action_from_card_callback(data)
        except (ValueError, PayloadError) as exc:
            return _reject(request, "card", f"bad body: {type(exc).__name__}", 400)
        failed = await self._submit([action])
        # The card is updated later through PUT /v1.0/card/instances, not in this answer.
        return failed or web.json_response({})

    async def event(self, request: web.Request) -> web.StreamResponse:
        """``POST /dingtalk/event``: encrypted event subscription (URL check, ``user_leave_org``)."""
        body = await read_body(request)
        if self._crypto is None:
            return _reject(request, "event", "event subscription not configured", 403)
        query = request.query
        timestamp, nonce = query.get("timestamp"), query.get("nonce")
        signature = query.get("signature") or query.get("msg_signature")
        try:
            decrypted = self._crypto.decrypt(signature, timestamp, nonce, body)
        except CallbackRejected as exc:
            return _reject(request, "event", exc.reason, 403)
        try:
            if not isinstance(decrypted, Mapping):
                raise PayloadError("event is not an object")
            events: list[Inbound] = list(directory_events(decrypted))
        except PayloadError as exc:
            return _reject(request, "event", f"bad event: {exc}", 400)
        if event_type(decrypted) == "check_url":
            log.info("dingtalk event subscription URL check answered")
        failed = await self._submit(events)
        if failed is not None:
            return failed
        # Every event, the URL check included, is answered with the encrypted "success";
        # unknown event types too, so that DingTalk does not keep re-pushing them.
        assert timestamp is not None and nonce is not None  # decrypt() checked them
        return web.json_response(self._crypto.success(timestamp, nonce))


def setup_routes(
    app: web.Application,
    sink: InboundSink,
    settings: Settings,
    *,
    clock_ms: Callable[[], int] = now_ms,
) -> None:
    """Register ``POST /dingtalk/callback``, ``/dingtalk/card`` and ``/dingtalk/event`` on ``app``."""
    routes = _DingTalkRoutes(sink, settings, clock_ms)
    app.router.add_post("/dingtalk/callback", routes.callback)
    app.router.add_post("/dingtalk/card", routes.card)
    app.router.add_post("/dingtalk/event", routes.event)
