"""WeCom callback signing and AES framing (加解密方案).

Verification order matters: the signature and the timestamp are checked before a
single byte is decrypted, and every structural check of the plaintext is strict,
because wechatpy's own ``PrpCrypto.decrypt`` neither validates the PKCS#7 padding
nor fails cleanly on a wrong key (it raises ``struct.error``/``IndexError``). The
AES-CBC primitive comes from ``cryptography``; the framing is ours so that every
failure becomes one :class:`CallbackRejected`. The tests check this module
against wechatpy's ``WeChatCrypto`` and the official test vector.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import struct
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: WeCom pads to 32-byte blocks (not AES's 16), so the pad value is 1..32.
_PAD_BLOCK = 32
_RANDOM_LEN = 16
_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")
_ALNUM = string.ascii_letters + string.digits
#: default accepted clock skew for the ``timestamp`` query parameter (nothing in the
#: protocol stops replays, so reject anything older than 5 minutes)
DEFAULT_MAX_SKEW = 300.0


class CallbackRejected(Exception):
    """A callback failed verification or decoding; answer 4xx and process nothing.

    ``reason`` is safe to log (never contains key material or the payload).
    ``status`` is 403 for authentication failures and 400 for malformed input.
    """

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """``sha1(sort(token, timestamp, nonce, encrypt))`` as lowercase hex."""
    parts = sorted(p.encode() for p in (token, timestamp, nonce, encrypted))
    return hashlib.sha1(b"".join(parts)).hexdigest()


class WeComCrypto:
    """Verify, decrypt and encrypt WeCom callbacks for one receiver.

    ``receive_id`` is the corp id for a self-built app and ``""`` for an internal
    AI bot. ``clock`` returns Unix seconds (injectable for
    tests); ``max_skew`` of ``None`` disables the timestamp check (only the
    official test vector, from 2014, needs that).
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receive_id: str,
        *,
        max_skew: float | None = DEFAULT_MAX_SKEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Validate here instead of relying on wechatpy's ``assert`` (gone under -O):
        # a bad key is a configuration error that must surface at start-up.
        if not token:
            raise ValueError("WeCom callback Token is empty")
        if not _KEY_RE.fullmatch(encoding_aes_key):
            raise ValueError("WeCom EncodingAESKey must be 43 characters from [A-Za-z0-9]")
        key = base64.b64decode(encoding_aes_key + "=")
        self._token = token
        self._key = key
        self._iv = key[:16]
        self._receive_id = receive_id.encode()
        self._max_skew = max_skew
        self._clock = clock

    # ---- inbound -------------------------------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Check a GET URL verification and return the decrypted ``echostr`` to echo verbatim."""
        return self.decrypt(msg_signature, timestamp, nonce, echostr)

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Verify the signature and timestamp, then decrypt ``encrypted`` to the message text."""
        self._check_timestamp(timestamp)
        expected = signature(self._token, timestamp, nonce, encrypted)
        # Constant-time comparison: a byte-by-byte ``!=`` leaks how much of a forged
        # signature matched.
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise CallbackRejected("bad signature", 403)
        return self._open(encrypted)

    def _check_timestamp(self, timestamp: str) -> None:
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise CallbackRejected("malformed timestamp", 400)
        if self._max_skew is not None and abs(self._clock() - int(timestamp)) > self._max_skew:
            raise CallbackRejected("timestamp outside the accepted window", 403)

    def _open(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackRejected("ciphertext is not base64", 400) from None
        # AES needs whole 16-byte blocks; WeCom's 32-byte padding is checked below.
        if len(raw) < _PAD_BLOCK or len(raw) % 16:
            raise CallbackRejected("ciphertext length is not a whole number of blocks", 400)
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        # Strict PKCS#7 check: a wrong key or a tampered block almost never yields a
        # valid pad, so this is where "valid signature, wrong AESKey" is caught.
        if not 1 <= pad <= _PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackRejected("bad padding (wrong EncodingAESKey?)", 400)
        content = plain[_RANDOM_LEN:-pad]
        if len(content) < 4:
            raise CallbackRejected("plaintext too short", 400)
        (msg_len,) = struct.unpack(">I", content[:4])
        if msg_len > len(content) - 4:
            raise CallbackRejected("message length exceeds the plaintext", 400)
        msg = content[4 : 4 + msg_len]
        receive_id = content[4 + msg_len :]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise CallbackRejected("receive id mismatch", 403)
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackRejected("message is not UTF-8", 400) from None

    # ---- outbound (passive replies) -----------------------------------------------

    def encrypt(self, text: str) -> str:
        """AES-encrypt ``text`` with this receiver's id and return base64 (``msg_encrypt``)."""
        # 16 random alphanumerics from ``secrets``, like the official samples (wechatpy
        # uses ``random.sample``, which is predictable).
        prefix = "".join(secrets.choice(_ALNUM) for _ in range(_RANDOM_LEN)).encode()
        body = text.encode()
        plain = prefix + struct.pack(">I", len(body)) + body + self._receive_id
        pad = _PAD_BLOCK - len(plain) % _PAD_BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def _envelope(self, text: str, nonce: str | None, timestamp: str | None) -> tuple[str, str, str, str]:
        nonce = nonce or secrets.token_hex(8)
        timestamp = timestamp or str(int(self._clock()))
        encrypted = self.encrypt(text)
        return encrypted, signature(self._token, timestamp, nonce, encrypted), timestamp, nonce

    def encrypt_xml_reply(self, text: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        """Passive reply body for the self-built app."""
        encrypted, sig, timestamp, nonce = self._envelope(text, nonce, timestamp)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

    def encrypt_json_reply(self, text: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        """Passive reply body for the AI bot: ``{encrypt, msgsignature, timestamp, nonce}``."""
        encrypted, sig, timestamp, nonce = self._envelope(text, nonce, timestamp)
        return json.dumps(
            {"encrypt": encrypted, "msgsignature": sig, "timestamp": int(timestamp), "nonce": nonce}
        )
