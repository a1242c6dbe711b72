"""Sealed tokens: ``<base64url JSON payload>.<base64url HMAC-SHA256>`` under a purpose subkey.

One mechanism for every signed link (approval links, dashboard links and sessions, statement
downloads). Each use passes its own purpose string; the MAC key is derived from the link key and
that purpose, so a token made for one use never opens another. Verification is constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any

_B64 = re.compile(r"[A-Za-z0-9_-]+")


class Rejected(Exception):
    """A token that must not act: ``reason`` is ``missing``, ``forged`` or ``expired``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(key: bytes, purpose: bytes, body: str) -> str:
    subkey = hmac.new(key, purpose, hashlib.sha256).digest()
    return _b64(hmac.new(subkey, body.encode(), hashlib.sha256).digest())


def seal(key: bytes, purpose: bytes, payload: list[Any]) -> str:
    """Sign ``payload`` (a JSON list) for ``purpose``."""
    if not key:
        raise ValueError("empty link key")
    body = _b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{body}.{_mac(key, purpose, body)}"


def unseal(key: bytes, purpose: bytes, token: str | None, max_len: int) -> Any:
    """The payload of a genuine token for ``purpose``; :class:`Rejected` ("missing"/"forged") otherwise."""
    if not token:
        raise Rejected("missing")
    body, _, mac = token.partition(".")
    if (not key or len(token) > max_len or not _B64.fullmatch(body) or not _B64.fullmatch(mac)
            or not hmac.compare_digest(_mac(key, purpose, body).encode(), mac.encode())):
        raise Rejected("forged")
    try:
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise Rejected("forged") from exc


def check_expiry(expires: int, now: datetime) -> None:
    """Raise :class:`Rejected` ("expired") once ``expires`` (epoch seconds) has passed."""
    if expires <= int(now.timestamp()):
        raise Rejected("expired")
