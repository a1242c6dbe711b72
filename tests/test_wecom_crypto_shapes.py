"""Encrypted WeCom bodies that are genuinely signed but wrong inside: not base64, a plaintext too short to
hold a length, a message that is not UTF-8. Each is refused with a 400, never half-read."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wecom.crypto import CallbackRejected, WeComCrypto, signature

TOKEN, KEY, CORP = "tok", "a" * 43, "corp123"
NOW = 1_800_000_000


def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, KEY, CORP, clock=lambda: NOW)


def sealed(plain: bytes) -> str:
    """``plain`` padded (PKCS#7 to 32 bytes) and AES-encrypted as WeCom does, base64."""
    key = base64.b64decode(KEY + "=")
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def refused(encrypted: str) -> CallbackRejected:
    ts, nonce = str(NOW), "n1"
    with pytest.raises(CallbackRejected) as exc:
        crypto().decrypt(signature(TOKEN, ts, nonce, encrypted), ts, nonce, encrypted)
    return exc.value


def test_the_round_trip_works() -> None:
    c = crypto()
    encrypted = c.encrypt("<xml>你好</xml>")
    assert c.decrypt(signature(TOKEN, str(NOW), "n", encrypted), str(NOW), "n", encrypted) == "<xml>你好</xml>"


@pytest.mark.parametrize(("encrypted", "reason"), [
    ("not base64 at all!", "ciphertext is not base64"),
    (sealed(b"r" * 16 + b"ab"), "plaintext too short"),
    (sealed(b"r" * 16 + struct.pack(">I", 2) + b"\xff\xfe" + CORP.encode()), "message is not UTF-8"),
])
def test_signed_but_wrong_inside(encrypted: str, reason: str) -> None:
    exc = refused(encrypted)
    assert reason in str(exc)
    assert exc.status == 400
