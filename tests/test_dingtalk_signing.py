"""DingTalk signatures: the callback header check, the custom-robot 加签 URL, event crypto."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dingtalk.eventsub import EventCrypto
from bot.dingtalk.signing import (
    MAX_SKEW_MS,
    CallbackRejected,
    card_api_secret,
    card_callback_key,
    dingtalk_sign,
    signed_webhook_url,
    token_matches,
    verify_callback,
)
from tests.fakes.dingtalk_signing import decrypt_answer, encrypt_event, random_aes_key, sign

NOW = 1_577_262_236_757
SECRET = "this is secret"
VECTOR = "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="


def test_known_answer_vector() -> None:
    assert dingtalk_sign("1577262236757", SECRET) == VECTOR


@given(st.integers(min_value=0, max_value=10**13), st.text(min_size=1, max_size=40))
def test_sign_matches_independent_implementation(ts: int, secret: str) -> None:
    assert dingtalk_sign(str(ts), secret) == sign(str(ts), secret)


def test_valid_headers_pass() -> None:
    verify_callback(str(NOW), VECTOR, SECRET, now=NOW)


@pytest.mark.parametrize("offset", [MAX_SKEW_MS, -MAX_SKEW_MS, 0])
def test_window_boundary_inclusive(offset: int) -> None:
    ts = str(NOW + offset)
    verify_callback(ts, dingtalk_sign(ts, SECRET), SECRET, now=NOW)


@pytest.mark.parametrize("offset", [MAX_SKEW_MS + 1, -MAX_SKEW_MS - 1, -2 * MAX_SKEW_MS])
def test_outside_window_rejected(offset: int) -> None:
    ts = str(NOW + offset)
    with pytest.raises(CallbackRejected, match="window"):
        verify_callback(ts, dingtalk_sign(ts, SECRET), SECRET, now=NOW)


@pytest.mark.parametrize(
    ("timestamp", "signature", "secret", "reason"),
    [
        (str(NOW), VECTOR.replace("h", "H", 1), SECRET, "bad signature"),
        (str(NOW), VECTOR, "other secret", "bad signature"),
        (str(NOW), "签名", SECRET, "bad signature"),
        (None, VECTOR, SECRET, "missing"),
        (str(NOW), None, SECRET, "missing"),
        ("", "", SECRET, "missing"),
        ("12ab", VECTOR, SECRET, "malformed"),
        ("9" * 40, VECTOR, SECRET, "malformed"),
        (str(NOW), VECTOR, "", "not configured"),
    ],
)
def test_rejections(timestamp: str | None, signature: str | None, secret: str, reason: str) -> None:
    with pytest.raises(CallbackRejected) as info:
        verify_callback(timestamp, signature, secret, now=NOW)
    assert reason in info.value.reason
    assert SECRET not in info.value.reason


def test_webhook_url_carries_encoded_sign_once() -> None:
    url = signed_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=tok", SECRET, now=NOW)
    raw = str(url)
    assert raw.count("sign=") == 1
    assert "sign=hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D" in raw
    assert "%252B" not in raw  # not encoded twice
    assert url.query["access_token"] == "tok"
    assert url.query["timestamp"] == str(NOW)
    assert url.query["sign"] == VECTOR


def test_webhook_url_without_secret_is_unchanged() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=tok"
    assert str(signed_webhook_url(url, None)) == url


def test_derived_tokens_are_stable_and_distinct() -> None:
    assert card_callback_key("s") == card_callback_key("s")
    assert card_callback_key("s") != card_callback_key("t")
    assert card_callback_key("s") != card_api_secret("s")
    assert token_matches(card_callback_key("s"), card_callback_key("s"))
    assert not token_matches(None, card_callback_key("s"))
    assert not token_matches("x", "")


# ---- event subscription crypto ----------------------------------------------------------

TOKEN = "evtoken"
AES_KEY = random_aes_key()
OWNER = "dingappkey"


def test_event_round_trip_and_success_answer() -> None:
    crypto = EventCrypto(TOKEN, AES_KEY, OWNER)
    event = {"EventType": "user_leave_org", "UserId": ["u1"], "CorpId": "dingcorp1", "TimeStamp": "1"}
    query, body = encrypt_event(event, token=TOKEN, aes_key=AES_KEY, owner_key=OWNER)
    assert crypto.decrypt(query["signature"], query["timestamp"], query["nonce"], body) == event
    answer = crypto.success(query["timestamp"], query["nonce"])
    assert answer["timeStamp"] == query["timestamp"] and answer["nonce"] == query["nonce"]
    assert decrypt_answer(answer, token=TOKEN, aes_key=AES_KEY, owner_key=OWNER) == "success"


def test_event_bad_signature_and_tampering_rejected() -> None:
    crypto = EventCrypto(TOKEN, AES_KEY, OWNER)
    query, body = encrypt_event({"EventType": "check_url"}, token=TOKEN, aes_key=AES_KEY, owner_key=OWNER)
    with pytest.raises(CallbackRejected, match="signature"):
        crypto.decrypt("0" * 40, query["timestamp"], query["nonce"], body)
    with pytest.raises(CallbackRejected, match="signature"):
        crypto.decrypt(query["signature"], query["timestamp"], "other", body)
    with pytest.raises(CallbackRejected, match="missing"):
        crypto.decrypt(None, query["timestamp"], query["nonce"], body)
    with pytest.raises(CallbackRejected, match="not an encrypted"):
        crypto.decrypt(query["signature"], query["timestamp"], query["nonce"], b"[1]")


def test_event_for_another_app_rejected() -> None:
    # Signed with our token but encrypted for another receive id: the SDK's id check fires.
    query, body = encrypt_event({"EventType": "check_url"}, token=TOKEN, aes_key=AES_KEY, owner_key="other")
    with pytest.raises(CallbackRejected, match="decrypt"):
        EventCrypto(TOKEN, AES_KEY, OWNER).decrypt(
            query["signature"], query["timestamp"], query["nonce"], body
        )


def test_event_crypto_needs_valid_key() -> None:
    with pytest.raises(ValueError):
        EventCrypto(TOKEN, "short", OWNER)
    with pytest.raises(ValueError):
        EventCrypto("", AES_KEY, OWNER)


def test_encrypted_body_is_json() -> None:
    _, body = encrypt_event({"EventType": "check_url"}, token=TOKEN, aes_key=AES_KEY, owner_key=OWNER)
    assert set(json.loads(body)) == {"encrypt"}
