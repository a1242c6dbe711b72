"""DingTalk HMAC signatures: the robot callback header check and the custom-robot 加签.

Both robot kinds use the same algorithm:
``base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}"))``. The callback
uses the app's AppSecret and sends the result in the ``sign`` header; the custom
robot uses its ``SEC…`` secret and puts the result, URL-encoded once, in the query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from yarl import URL

#: DingTalk rejects (and we reject) timestamps more than one hour off.
MAX_SKEW_MS = 3_600_000

Clock = Callable[[], int]


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (the unit of every DingTalk timestamp)."""
    return time.time_ns() // 1_000_000


class CallbackRejected(Exception):
    """An inbound request failed verification; ``reason`` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def dingtalk_sign(timestamp_ms: str, secret: str) -> str:
    """The raw base64 signature of ``timestamp_ms`` with ``secret`` (not URL-encoded)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def verify_callback(
    timestamp: str | None,
    sign: str | None,
    secret: str,
    *,
    now: int | None = None,
    max_skew_ms: int = MAX_SKEW_MS,
) -> None:
    """Check a robot callback's ``timestamp``/``sign`` headers; raise :class:`CallbackRejected`.

    The window is checked as well as the MAC, as the docs require, so a captured
    header pair stops working after an hour. The header pair does not cover the
    body (a protocol property we cannot change); dedupe on ``msgId`` limits replays.
    """
    if not secret:
        # An empty key would make every signature computable by anyone.
        raise CallbackRejected("app secret not configured")
    if not timestamp or not sign:
        raise CallbackRejected("missing timestamp or sign header")
    if not timestamp.isdigit() or len(timestamp) > 16:
        raise CallbackRejected("malformed timestamp")
    current = now_ms() if now is None else now
    if abs(current - int(timestamp)) > max_skew_ms:
        raise CallbackRejected("timestamp outside the allowed window")
    expected = dingtalk_sign(timestamp, secret)
    # compare_digest on bytes: it refuses non-ASCII str, which a client may send.
    if not hmac.compare_digest(expected.encode(), sign.encode("utf-8", "replace")):
        raise CallbackRejected("bad signature")


def signed_webhook_url(url: str, secret: str | None, *, now: int | None = None) -> URL:
    """A custom-robot webhook URL with ``timestamp`` and ``sign`` appended (加签).

    yarl encodes the raw base64 exactly once (``+`` → ``%2B``, ``=`` → ``%3D``);
    encoding it ourselves as well would give ``310000 sign not match``.
    Without a secret (a keyword-secured robot) the URL is returned unchanged.
    """
    base = URL(url)
    if not secret:
        return base
    timestamp = str(now_ms() if now is None else now)
    return base.extend_query(timestamp=timestamp, sign=dingtalk_sign(timestamp, secret))


def derive_token(secret: str, purpose: str) -> str:
    """A stable URL-safe token derived from ``secret`` for ``purpose`` (e.g. a callback URL key)."""
    mac = hmac.new(secret.encode(), f"gendan-dingtalk:{purpose}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time check of a derived token."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def card_callback_key(app_secret: str) -> str:
    """The ``k`` query token of our registered HTTP card-callback URL (a capability URL)."""
    return derive_token(app_secret, "card-callback-url")


def card_api_secret(app_secret: str) -> str:
    """The ``apiSecret`` we register for HTTP card callbacks (and accept as a ``sign`` key)."""
    return derive_token(app_secret, "card-api-secret")
