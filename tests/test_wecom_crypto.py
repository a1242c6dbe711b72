"""WeCom callback crypto: the official vector, wechatpy interop, and every way to fail closed."""

from __future__ import annotations

import base64
import contextlib
import struct

import pytest
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.enterprise import WeChatCrypto

from bot.events import ChatMessage
from bot.wecom.crypto import CallbackRejected, WeComCrypto, signature
from bot.wecom.inbound import parse_app_message
from tests.fakes import wecom_signing as ws

# Official test vector (加解密方案说明, path/91144).
V_TOKEN = "QDG6eK"
V_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
V_CORP = "wx5823bf96d3bd56c7"
V_POST_SIG = "477715d11cdb4164915debcba66cb864d751f3e6"
V_POST_TS = "1409659813"
V_POST_NONCE = "1372623149"
V_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
    "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwG"
    "c2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9"
    "EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0"
    "lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
V_GET_SIG = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
V_GET_TS = "1409659589"
V_GET_NONCE = "263014780"
V_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="

NOW = 1_700_000_000.0
TS = str(int(NOW))


def app_crypto(**kw: object) -> WeComCrypto:
    return WeComCrypto(ws.TOKEN, ws.AES_KEY, ws.CORP_ID, clock=lambda: NOW, **kw)  # type: ignore[arg-type]


def test_official_vector_post_decrypts_to_the_documented_text_message() -> None:
    crypto = WeComCrypto(V_TOKEN, V_KEY, V_CORP, max_skew=None)
    plain = crypto.decrypt(V_POST_SIG, V_POST_TS, V_POST_NONCE, V_ENCRYPT)
    event = parse_app_message(plain, V_CORP)
    assert isinstance(event, ChatMessage)
    assert event.event_id == "4561255354251345929"
    assert event.actor.user_id == "mycreate"
    assert event.text == "hello"
    assert event.actor.tenant == V_CORP
    assert xmltodict.parse(plain)["xml"]["AgentID"] == "218"


def test_official_vector_url_check_echoes_the_documented_value() -> None:
    crypto = WeComCrypto(V_TOKEN, V_KEY, V_CORP, max_skew=None)
    assert crypto.verify_url(V_GET_SIG, V_GET_TS, V_GET_NONCE, V_ECHOSTR) == "1616140317555161061"


def test_official_vector_is_stale_under_the_default_window() -> None:
    crypto = WeComCrypto(V_TOKEN, V_KEY, V_CORP)
    with pytest.raises(CallbackRejected) as info:
        crypto.decrypt(V_POST_SIG, V_POST_TS, V_POST_NONCE, V_ENCRYPT)
    assert info.value.status == 403


def test_signature_matches_the_vector_and_wechatpy() -> None:
    assert signature(V_TOKEN, V_POST_TS, V_POST_NONCE, V_ENCRYPT) == V_POST_SIG
    assert signature("a", "b", "c", "d") == ws.sign("a", "b", "c", "d")


@pytest.mark.parametrize("receive_id", [ws.CORP_ID, ""])
def test_wechatpy_encrypted_callbacks_decrypt(receive_id: str) -> None:
    query, encrypted = ws.encrypt("<xml>你好 +/=</xml>", timestamp=TS, receive_id=receive_id)
    crypto = WeComCrypto(ws.TOKEN, ws.AES_KEY, receive_id, clock=lambda: NOW)
    assert crypto.decrypt(query["msg_signature"], TS, "n1", encrypted) == "<xml>你好 +/=</xml>"


@pytest.mark.parametrize("receive_id", [ws.CORP_ID, ""])
def test_url_check_roundtrip(receive_id: str) -> None:
    q = ws.url_check("echo-1234567890", timestamp=TS, receive_id=receive_id)
    crypto = WeComCrypto(ws.TOKEN, ws.AES_KEY, receive_id, clock=lambda: NOW)
    assert (
        crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]) == "echo-1234567890"
    )


def test_our_xml_reply_decrypts_with_wechatpy() -> None:
    reply = app_crypto().encrypt_xml_reply("<xml><MsgType>text</MsgType></xml>", nonce="abc", timestamp=TS)
    env = xmltodict.parse(reply)["xml"]
    plain = WeChatCrypto(ws.TOKEN, ws.AES_KEY, ws.CORP_ID).decrypt_message(
        reply, env["MsgSignature"], TS, "abc"
    )
    assert plain == "<xml><MsgType>text</MsgType></xml>"


def test_our_json_reply_decrypts_with_wechatpy() -> None:
    import json

    crypto = WeComCrypto(ws.AIBOT_TOKEN, ws.AIBOT_AES_KEY, "", clock=lambda: NOW)
    reply = json.loads(crypto.encrypt_json_reply('{"msgtype":"stream"}'))
    assert set(reply) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    plain = WeChatCrypto(ws.AIBOT_TOKEN, ws.AIBOT_AES_KEY, "").decrypt_message(
        {"Encrypt": reply["encrypt"]}, reply["msgsignature"], str(reply["timestamp"]), reply["nonce"]
    )
    assert plain == '{"msgtype":"stream"}'


def test_bad_signature_is_403() -> None:
    _, encrypted = ws.encrypt("<xml/>", timestamp=TS)
    forged = "0" * 40
    with pytest.raises(CallbackRejected) as info:
        app_crypto().decrypt(forged, TS, "n1", encrypted)
    assert info.value.status == 403
    assert info.value.reason == "bad signature"


@pytest.mark.parametrize("skew", [-301, 301, 100_000])
def test_timestamp_outside_window(skew: int) -> None:
    ts = str(int(NOW) + skew)
    query, encrypted = ws.encrypt("<xml/>", timestamp=ts)
    with pytest.raises(CallbackRejected, match="window"):
        app_crypto().decrypt(query["msg_signature"], ts, "n1", encrypted)


def test_window_is_configurable() -> None:
    ts = str(int(NOW) - 1000)
    query, encrypted = ws.encrypt("<xml/>", timestamp=ts)
    assert app_crypto(max_skew=3600).decrypt(query["msg_signature"], ts, "n1", encrypted) == "<xml/>"


@pytest.mark.parametrize("ts", ["", "abc", "-5", "1.5", "9" * 30])
def test_malformed_timestamp(ts: str) -> None:
    with pytest.raises(CallbackRejected):
        app_crypto().decrypt("x" * 40, ts, "n1", "AAAA")


def test_wrong_aes_key_with_a_valid_signature_is_rejected_cleanly() -> None:
    # The attacker knows the Token (signature valid) but not the key.
    query, encrypted = ws.encrypt("<xml>secret</xml>", timestamp=TS, key=ws.OTHER_AES_KEY)
    with pytest.raises(CallbackRejected):
        app_crypto().decrypt(query["msg_signature"], TS, "n1", encrypted)


def test_wrong_receive_id_is_403() -> None:
    query, encrypted = ws.encrypt("<xml/>", timestamp=TS, receive_id="wwothercorp")
    with pytest.raises(CallbackRejected) as info:
        app_crypto().decrypt(query["msg_signature"], TS, "n1", encrypted)
    assert info.value.reason == "receive id mismatch"


def test_aibot_receiver_refuses_app_ciphertext() -> None:
    query, encrypted = ws.encrypt("<xml/>", timestamp=TS)  # receive id = corp id
    crypto = WeComCrypto(ws.TOKEN, ws.AES_KEY, "", clock=lambda: NOW)
    with pytest.raises(CallbackRejected):
        crypto.decrypt(query["msg_signature"], TS, "n1", encrypted)


@pytest.mark.parametrize("cut", [4, 16, 24, 44])
def test_truncated_ciphertext(cut: int) -> None:
    _, encrypted = ws.encrypt("<xml>" + "x" * 100 + "</xml>", timestamp=TS)
    short = encrypted[:cut]
    sig = ws.sign(ws.TOKEN, TS, "n1", short)
    with pytest.raises(CallbackRejected):
        app_crypto().decrypt(sig, TS, "n1", short)


def _raw_encrypt(plain: bytes, key43: str = ws.AES_KEY) -> str:
    key = base64.b64decode(key43 + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


@pytest.mark.parametrize(
    "tail",
    [
        bytes([0]) * 32,  # pad value 0
        bytes([33]) * 32,  # pad value above the 32-byte block
        bytes([7]) * 31 + bytes([8]),  # pad bytes disagree
    ],
)
def test_invalid_padding_is_rejected(tail: bytes) -> None:
    body = b"<xml/>"
    head = b"R" * 16 + struct.pack(">I", len(body)) + body + ws.CORP_ID.encode()
    head += b"\x00" * (-len(head) % 32)
    encrypted = _raw_encrypt(head + tail)
    with pytest.raises(CallbackRejected, match="padding"):
        app_crypto().decrypt(ws.sign(ws.TOKEN, TS, "n1", encrypted), TS, "n1", encrypted)


def test_length_field_beyond_the_plaintext_is_rejected() -> None:
    plain = b"R" * 16 + struct.pack(">I", 10_000) + b"<xml/>"
    plain += bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    encrypted = _raw_encrypt(plain)
    with pytest.raises(CallbackRejected, match="length"):
        app_crypto().decrypt(ws.sign(ws.TOKEN, TS, "n1", encrypted), TS, "n1", encrypted)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_any_signed_garbage_fails_with_callback_rejected_only(blob: bytes) -> None:
    encrypted = base64.b64encode(blob).decode()
    sig = ws.sign(ws.TOKEN, TS, "n1", encrypted)
    # Anything else (struct.error, IndexError, UnicodeDecodeError …) fails the test.
    with contextlib.suppress(CallbackRejected):
        app_crypto().decrypt(sig, TS, "n1", encrypted)


@pytest.mark.parametrize("key", ["", "short", "!" * 43, "a" * 42, "a" * 44])
def test_bad_encoding_aes_key_is_a_config_error(key: str) -> None:
    with pytest.raises(ValueError):
        WeComCrypto(ws.TOKEN, key, ws.CORP_ID)


def test_empty_token_is_a_config_error() -> None:
    with pytest.raises(ValueError):
        WeComCrypto("", ws.AES_KEY, ws.CORP_ID)
