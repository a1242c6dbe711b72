"""The DingTalk HTTP routes: verification, translation, submit, ack. Requests are really signed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.dingtalk.routes import MAX_BODY, setup_routes
from bot.dingtalk.signing import card_api_secret, card_callback_key
from bot.events import CardAction, ChatMessage, DirectoryEvent, Inbound
from tests.fakes.dingtalk_server import APP_KEY, APP_SECRET, dingtalk_settings
from tests.fakes.dingtalk_signing import (
    card_click,
    decrypt_answer,
    encrypt_event,
    now_ms,
    random_aes_key,
    robot_message,
    signed_headers,
)

EVENT_TOKEN = "event-token"
AES_KEY = random_aes_key()


class RecordingSink:
    """Records what the routes submit; dedupe is the real sink's job, but it reports repeats."""

    def __init__(self) -> None:
        self.submitted: list[Inbound] = []
        self.fail = False

    async def submit(self, inbound: Inbound) -> bool:
        if self.fail:
            raise RuntimeError("database down")
        seen = any(e.event_id == inbound.event_id for e in self.submitted)
        self.submitted.append(inbound)
        return not seen


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


Factory = Callable[..., Any]


@pytest.fixture
async def make_client(sink: RecordingSink) -> AsyncIterator[Factory]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def factory(**settings: Any) -> TestClient[web.Request, web.Application]:
        app = web.Application()
        values = {"dingtalk_token": EVENT_TOKEN, "dingtalk_aes_key": AES_KEY, **settings}
        setup_routes(app, sink, dingtalk_settings(**values))
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for c in clients:
        await c.close()


@pytest.fixture
async def client(make_client: Factory) -> TestClient[web.Request, web.Application]:
    c: TestClient[web.Request, web.Application] = await make_client()
    return c


def body(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


# ---- /dingtalk/callback -----------------------------------------------------------------


async def test_signed_callback_is_submitted_and_acked(
    client: TestClient[Any, Any], sink: RecordingSink
) -> None:
    resp = await client.post(
        "/dingtalk/callback", data=body(robot_message()), headers=signed_headers(APP_SECRET)
    )
    assert resp.status == 200
    assert await resp.json() == {}
    (event,) = sink.submitted
    assert isinstance(event, ChatMessage)
    assert event.event_id == "msgABC==" and event.text == "/下单 客户A 10件"


@pytest.mark.parametrize(
    "headers",
    [
        signed_headers("wrong secret"),
        signed_headers(APP_SECRET, now_ms() - 2 * 3_600_000),
        signed_headers(APP_SECRET, now_ms() + 2 * 3_600_000),
        {"Content-Type": "application/json"},
        {**signed_headers(APP_SECRET), "sign": "AAAA"},
    ],
    ids=["bad-sign", "two-hours-old", "future", "unsigned", "garbled"],
)
async def test_bad_callbacks_rejected(
    client: TestClient[Any, Any],
    sink: RecordingSink,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="gendan.dingtalk"):
        resp = await client.post("/dingtalk/callback", data=body(robot_message()), headers=headers)
    assert resp.status == 403
    assert sink.submitted == []
    assert "rejected" in caplog.text
    assert APP_SECRET not in caplog.text
    assert headers.get("sign", "-") not in caplog.text


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b"\xff\xfe",
        body({"msgtype": "text"}),
        body({**robot_message(), "msgId": {"nested": 1}}),
    ],
    ids=["malformed", "array", "not-utf8", "no-msgid", "odd-types"],
)
async def test_signed_but_unusable_body_is_400(
    client: TestClient[Any, Any], sink: RecordingSink, raw: bytes
) -> None:
    resp = await client.post("/dingtalk/callback", data=raw, headers=signed_headers(APP_SECRET))
    assert resp.status == 400
    assert sink.submitted == []


async def test_same_msg_id_three_times_submitted_each_time(
    client: TestClient[Any, Any], sink: RecordingSink
) -> None:
    for _ in range(3):
        resp = await client.post(
            "/dingtalk/callback", data=body(robot_message()), headers=signed_headers(APP_SECRET)
        )
        assert resp.status == 200
    assert [e.event_id for e in sink.submitted] == ["msgABC=="] * 3


async def test_oversized_body_is_413(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    big = io.BytesIO(b"{" + b" " * MAX_BODY + b"}")
    resp = await client.post("/dingtalk/callback", data=big, headers=signed_headers(APP_SECRET))
    assert resp.status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(20):
            yield b" " * 65536

    resp = await client.post("/dingtalk/callback", data=chunks(), headers=signed_headers(APP_SECRET))
    assert resp.status == 413
    assert sink.submitted == []


async def test_sink_failure_is_503_not_a_crash(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    sink.fail = True
    resp = await client.post(
        "/dingtalk/callback", data=body(robot_message()), headers=signed_headers(APP_SECRET)
    )
    assert resp.status == 503


async def test_unconfigured_app_rejects_everything(make_client: Factory, sink: RecordingSink) -> None:
    c = await make_client(dingtalk_app_key="", dingtalk_app_secret="", dingtalk_token="", dingtalk_aes_key="")
    resp = await c.post("/dingtalk/callback", data=body(robot_message()), headers=signed_headers(""))
    assert resp.status == 403
    resp = await c.post("/dingtalk/card", data=body(card_click("a:1")), params={"k": card_callback_key("")})
    assert resp.status == 403
    resp = await c.post("/dingtalk/event", data=b"{}")
    assert resp.status == 403
    assert sink.submitted == []


# ---- /dingtalk/card ---------------------------------------------------------------------


async def test_card_click_with_registered_url_key(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    resp = await client.post(
        "/dingtalk/card",
        data=body(card_click("appr:12:approve")),
        params={"k": card_callback_key(APP_SECRET)},
    )
    assert resp.status == 200
    (action,) = sink.submitted
    assert isinstance(action, CardAction)
    assert action.payload == "appr:12:approve" and action.actor.user_id == "mgr01"
    assert action.card_ref == {"out_track_id": "gendan-7-abc"}


@pytest.mark.parametrize(
    "secret", [APP_SECRET, card_api_secret(APP_SECRET)], ids=["app-secret", "api-secret"]
)
async def test_card_click_with_signed_headers(
    client: TestClient[Any, Any], sink: RecordingSink, secret: str
) -> None:
    resp = await client.post("/dingtalk/card", data=body(card_click("a:1")), headers=signed_headers(secret))
    assert resp.status == 200
    assert len(sink.submitted) == 1


async def test_card_click_in_stream_style_envelope(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    wrapped = {"data": json.dumps(card_click("a:2"))}
    resp = await client.post("/dingtalk/card", data=body(wrapped), headers=signed_headers(APP_SECRET))
    assert resp.status == 200
    assert isinstance(sink.submitted[0], CardAction) and sink.submitted[0].payload == "a:2"


@pytest.mark.parametrize(
    ("params", "headers", "raw", "status"),
    [
        ({}, {}, body(card_click("a:1")), 403),
        ({"k": "guess"}, {}, body(card_click("a:1")), 403),
        ({}, signed_headers(APP_SECRET, now_ms() - 7_200_000), body(card_click("a:1")), 403),
        ({"k": card_callback_key(APP_SECRET)}, {}, b"{bad", 400),
        ({"k": card_callback_key(APP_SECRET)}, {}, body({"outTrackId": "o"}), 400),
    ],
    ids=["unsigned", "wrong-key", "old-sign", "malformed", "no-clicker"],
)
async def test_bad_card_clicks(
    client: TestClient[Any, Any],
    sink: RecordingSink,
    params: dict[str, str],
    headers: dict[str, str],
    raw: bytes,
    status: int,
) -> None:
    resp = await client.post("/dingtalk/card", data=raw, params=params, headers=headers)
    assert resp.status == status
    assert sink.submitted == []


# ---- /dingtalk/event --------------------------------------------------------------------


def decrypted(answer: dict[str, str]) -> str:
    return decrypt_answer(answer, token=EVENT_TOKEN, aes_key=AES_KEY, owner_key=APP_KEY)


async def test_event_url_check(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    query, raw = encrypt_event(
        {"EventType": "check_url"}, token=EVENT_TOKEN, aes_key=AES_KEY, owner_key=APP_KEY
    )
    resp = await client.post("/dingtalk/event", data=raw, params=query)
    assert resp.status == 200
    answer = await resp.json()
    assert decrypted(answer) == "success"
    assert answer["timeStamp"] == query["timestamp"] and answer["nonce"] == query["nonce"]
    assert sink.submitted == []


async def test_event_user_leave_org(client: TestClient[Any, Any], sink: RecordingSink) -> None:
    event = {
        "EventType": "user_leave_org",
        "UserId": ["u9"],
        "CorpId": "dingcorp1",
        "TimeStamp": "1700000000000",
    }
    query, raw = encrypt_event(event, token=EVENT_TOKEN, aes_key=AES_KEY, owner_key=APP_KEY)
    resp = await client.post("/dingtalk/event", data=raw, params=query)
    assert resp.status == 200
    assert decrypted(await resp.json()) == "success"
    (left,) = sink.submitted
    assert isinstance(left, DirectoryEvent)
    assert (left.kind, left.user_id, left.tenant) == ("user_left", "u9", "dingcorp1")


async def test_event_other_types_acked_without_submit(
    client: TestClient[Any, Any], sink: RecordingSink
) -> None:
    event = {"EventType": "user_add_org", "UserId": ["u1"], "CorpId": "c"}
    query, raw = encrypt_event(event, token=EVENT_TOKEN, aes_key=AES_KEY, owner_key=APP_KEY)
    resp = await client.post("/dingtalk/event", data=raw, params=query)
    assert resp.status == 200
    assert sink.submitted == []


@pytest.mark.parametrize("tamper", ["signature", "nonce", "body", "token", "missing"])
async def test_bad_events_rejected(client: TestClient[Any, Any], sink: RecordingSink, tamper: str) -> None:
    token = "other-token" if tamper == "token" else EVENT_TOKEN
    event = {"EventType": "user_leave_org", "UserId": ["u9"], "CorpId": "c", "TimeStamp": "1"}
    query, raw = encrypt_event(event, token=token, aes_key=AES_KEY, owner_key=APP_KEY)
    if tamper == "signature":
        query["signature"] = "0" * 40
    elif tamper == "nonce":
        query["nonce"] = "changed"
    elif tamper == "body":
        raw = b"not json"
    elif tamper == "missing":
        query = {}
    resp = await client.post("/dingtalk/event", data=raw, params=query)
    assert resp.status == 403
    assert sink.submitted == []


async def test_event_with_broken_aes_key_is_disabled_not_fatal(make_client: Factory) -> None:
    c = await make_client(dingtalk_aes_key="too-short")
    resp = await c.post("/dingtalk/event", data=b"{}")
    assert resp.status == 403
    # The other routes still work.
    resp = await c.post("/dingtalk/callback", data=body(robot_message()), headers=signed_headers(APP_SECRET))
    assert resp.status == 200
