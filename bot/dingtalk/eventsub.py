"""Encrypted event subscription (事件订阅) crypto, on top of dingtalk-sdk's ``DingTalkCrypto``.

DingTalk POSTs ``{"encrypt": "<base64 AES-CBC>"}`` with ``signature``, ``timestamp`` and
``nonce`` in the query; the signature is SHA1 over the sorted token, timestamp,
nonce and ciphertext. Every answer must be the encrypted string ``success``
(``{msg_signature, timeStamp, nonce, encrypt}``), for the URL check too.

dingtalk-sdk compares the signature with ``!=`` and does not validate the
padding, so we check the signature ourselves in constant time first; only a
ciphertext that carries a valid signature (made with the secret token) reaches
its decryptor. ``dingtalk`` is imported lazily: it fails to import without its
``cryptography`` extra, and then only this endpoint is affected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from bot.dingtalk.signing import CallbackRejected

SUCCESS = "success"


def event_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """SHA1 hex over the sorted parts, as DingTalk (and ``DingTalkSigner``) computes it."""
    parts = sorted(p.encode() for p in (token, timestamp, nonce, encrypt))
    return hashlib.sha1(b"".join(parts)).hexdigest()  # SHA1 is what the protocol mandates


class EventCrypto:
    """Decrypts event-subscription bodies and encrypts the ``success`` answer.

    ``owner_key`` is the receive id embedded in every ciphertext: the app's AppKey
    for an enterprise-internal app (the corpId for legacy apps).
    """

    def __init__(self, token: str, aes_key: str, owner_key: str) -> None:
        if not token or len(aes_key) != 43:
            raise ValueError("event subscription needs a token and a 43-character AES key")
        from dingtalk.crypto import DingTalkCrypto  # lazy: needs the cryptography extra

        self._token = token
        self._crypto: Any = DingTalkCrypto(token, aes_key, owner_key)

    def decrypt(self, signature: str | None, timestamp: str | None, nonce: str | None, body: bytes) -> Any:
        """Verify and decrypt one request; returns the decoded JSON event.

        Raises :class:`CallbackRejected` for a bad signature, body or ciphertext.
        """
        if not signature or not timestamp or not nonce:
            raise CallbackRejected("missing signature, timestamp or nonce")
        try:
            encrypt = json.loads(body)["encrypt"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CallbackRejected("body is not an encrypted event") from exc
        if not isinstance(encrypt, str) or not encrypt:
            raise CallbackRejected("body is not an encrypted event")
        expected = event_signature(self._token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise CallbackRejected("bad event signature")
        try:
            plain = self._crypto.decrypt_encrypt_str(signature, timestamp, nonce, encrypt)
            return json.loads(plain)
        except Exception as exc:  # the SDK raises bare Exceptions, struct.error, ValueError …
            raise CallbackRejected("event does not decrypt") from exc

    def encrypt(self, text: str, timestamp: str, nonce: str) -> dict[str, str]:
        """The signed, encrypted answer body for ``text`` (normally ``success``)."""
        result: dict[str, str] = self._crypto.encrypt_message(text, nonce=nonce, timestamp=timestamp)
        return {k: str(v) for k, v in result.items()}

    def success(self, timestamp: str, nonce: str) -> dict[str, str]:
        """The answer DingTalk expects for every event, the URL check included."""
        return self.encrypt(SUCCESS, timestamp, nonce)
