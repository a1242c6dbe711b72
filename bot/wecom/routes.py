"""HTTP callbacks: ``GET, POST /wecom/callback`` (self-built app) and ``GET, POST /wecom/aibot`` (AI bot).

Per request: read at most 1 MiB (else 413), verify signature and timestamp,
decrypt, translate, ``await sink.submit(event)``, ack. Anything wrong with what
the client sent is a 4xx, is logged as a WARNING without secrets, and submits
nothing. The ack is an empty 200 (WeCom's docs say "empty string";
whether ``success`` is also accepted is UNCONFIRMED, so we never rely on it).

AI-bot replies are *not* sent as passive encrypted replies: the route acks at
once and the outbox answers through the message's ``response_url`` (valid for an
hour). A passive reply for an ordinary message must be a ``stream`` reply, whose
refresh protocol would keep the request open on work the dispatcher does in the
background; ``WeComCrypto.encrypt_json_reply`` exists should that change.

Dedupe is the sink's job (WeCom re-delivers after 5 s, up to 3 more times): each
delivery is submitted with the same ``event_id``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from aiohttp import web

from bot.config import Settings
from bot.events import Inbound
from bot.transport import InboundSink
from bot.wecom.crypto import DEFAULT_MAX_SKEW, CallbackRejected, WeComCrypto
from bot.wecom.inbound import MalformedPayload, parse_aibot_message, parse_app_message, parse_xml

log = logging.getLogger("gendan.wecom.routes")

APP_PATH = "/wecom/callback"
AIBOT_PATH = "/wecom/aibot"
MAX_BODY = 1024 * 1024
_CHUNK = 64 * 1024


def wecom_app_configured(settings: Settings) -> bool:
    """The app callback can be served: corp id, Token and EncodingAESKey are set."""
    return bool(
        settings.wecom_corp_id
        and settings.wecom_token.get_secret_value()
        and settings.wecom_aes_key.get_secret_value()
    )


def wecom_aibot_configured(settings: Settings) -> bool:
    """The AI-bot callback can be served: its Token and EncodingAESKey are set."""
    return bool(
        settings.wecom_aibot_token.get_secret_value() and settings.wecom_aibot_aes_key.get_secret_value()
    )


class _BodyTooLarge(Exception):
    pass


async def _read_limited(request: web.Request, limit: int = MAX_BODY) -> bytes:
    # Read the stream ourselves so the limit holds whatever client_max_size the
    # application was built with.
    if request.content_length is not None and request.content_length > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _app_envelope(body: bytes) -> str:
    try:
        root = parse_xml(body)
    except MalformedPayload as exc:
        raise CallbackRejected(str(exc)) from None
    encrypted = root.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise CallbackRejected("envelope without Encrypt")
    return encrypted


def _aibot_envelope(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        raise CallbackRejected("envelope is not JSON") from None
    encrypted = data.get("encrypt") if isinstance(data, dict) else None
    if not isinstance(encrypted, str) or not encrypted:
        raise CallbackRejected("envelope without encrypt")
    return encrypted


class _Callback:
    """One callback path: its crypto, how to open its envelope and how to translate it."""

    def __init__(
        self,
        kind: str,
        crypto: WeComCrypto,
        sink: InboundSink,
        envelope: Callable[[bytes], str],
        translate: Callable[[str], Inbound | None],
    ) -> None:
        self._kind = kind
        self._crypto = crypto
        self._sink = sink
        self._envelope = envelope
        self._translate = translate

    def _reject(self, request: web.Request, exc: CallbackRejected) -> web.Response:
        # Only the reason and the peer: never the query (signature), body or keys.
        log.warning("wecom %s callback rejected: %s (peer %s)", self._kind, exc.reason, request.remote)
        return web.Response(status=exc.status, text=exc.reason)

    @staticmethod
    def _params(request: web.Request, *names: str) -> list[str]:
        values = [request.query.get(n, "") for n in names]
        if not all(values):
            raise CallbackRejected("missing query parameters")
        return values

    async def get(self, request: web.Request) -> web.Response:
        """URL verification: echo the decrypted ``echostr`` verbatim (no quotes, no newline)."""
        try:
            sig, ts, nonce, echostr = self._params(request, "msg_signature", "timestamp", "nonce", "echostr")
            plain = self._crypto.verify_url(sig, ts, nonce, echostr)
        except CallbackRejected as exc:
            return self._reject(request, exc)
        log.info("wecom %s URL verification answered", self._kind)
        return web.Response(body=plain.encode(), content_type="text/plain")

    async def post(self, request: web.Request) -> web.Response:
        """Verify, decrypt, translate, submit; then the empty 200 ack."""
        try:
            body = await _read_limited(request)
        except _BodyTooLarge:
            log.warning("wecom %s callback rejected: body over 1 MiB (peer %s)", self._kind, request.remote)
            return web.Response(status=413, text="body too large")
        try:
            sig, ts, nonce = self._params(request, "msg_signature", "timestamp", "nonce")
            plain = self._crypto.decrypt(sig, ts, nonce, self._envelope(body))
            try:
                event = self._translate(plain)
            except MalformedPayload as exc:
                raise CallbackRejected(str(exc)) from None
        except CallbackRejected as exc:
            return self._reject(request, exc)
        if event is not None:
            try:
                fresh = await self._sink.submit(event)
            except Exception:
                # Our failure, not the client's: a 5xx makes WeCom deliver again later.
                log.exception("wecom %s event %s could not be recorded", self._kind, event.event_id)
                return web.Response(status=503, text="try again")
            log.debug("wecom %s event %s submitted (new=%s)", self._kind, event.event_id, fresh)
        return web.Response(status=200, body=b"")


def _add(app: web.Application, path: str, callback: _Callback) -> None:
    app.router.add_get(path, callback.get)
    app.router.add_post(path, callback.post)


def setup_routes(
    app: web.Application,
    sink: InboundSink,
    settings: Settings,
    *,
    max_skew: float | None = DEFAULT_MAX_SKEW,
    clock: Callable[[], float] = time.time,
) -> None:
    """Register the WeCom callback routes whose keys are configured (and only those).

    Raises ``ValueError`` at start-up for a malformed EncodingAESKey. ``max_skew``
    is the accepted ``timestamp`` skew in seconds; ``clock`` returns Unix seconds.
    """
    corp_id = settings.wecom_corp_id
    if wecom_app_configured(settings):
        app_crypto = WeComCrypto(
            settings.wecom_token.get_secret_value(),
            settings.wecom_aes_key.get_secret_value(),
            corp_id,
            max_skew=max_skew,
            clock=clock,
        )
        _add(
            app,
            APP_PATH,
            _Callback("app", app_crypto, sink, _app_envelope, lambda p: parse_app_message(p, corp_id)),
        )
    if wecom_aibot_configured(settings):
        # Internal AI bots encrypt with an empty receive id.
        aibot_crypto = WeComCrypto(
            settings.wecom_aibot_token.get_secret_value(),
            settings.wecom_aibot_aes_key.get_secret_value(),
            "",
            max_skew=max_skew,
            clock=clock,
        )
        _add(
            app,
            AIBOT_PATH,
            _Callback(
                "aibot",
                aibot_crypto,
                sink,
                _aibot_envelope,
                lambda p: parse_aibot_message(p, corp_id, clock()),
            ),
        )
