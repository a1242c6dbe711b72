"""The WeCom callback routes, driven with requests signed and encrypted by wechatpy."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.config import Settings
from bot.events import CardAction, ChatMessage, DirectoryEvent, Inbound
from bot.wecom.routes import AIBOT_PATH, APP_PATH, setup_routes, wecom_aibot_configured, wecom_app_configured
from tests.fakes import wecom_signing as ws

NOW = 1_700_000_000.0
TS = str(int(NOW))


class RecordingSink:
    """Records what the routes submit; dedupe is the real sink's job, not the route's."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[Inbound] = []
        self.fail = fail

    async def submit(self, inbound: Inbound) -> bool:
        if self.fail:
            raise RuntimeError("database down")
        fresh = all(e.event_id != inbound.event_id for e in self.events)
        self.events.append(inbound)
        return fresh


def make_settings(app: bool = True, aibot: bool = True) -> Settings:
    values: dict[str, Any] = {"wecom_corp_id": ws.CORP_ID}
    if app:
        values |= {
            "wecom_token": ws.TOKEN,
            "wecom_aes_key": ws.AES_KEY,
            "wecom_secret": "s",
            "wecom_agent_id": "1",
        }
    if aibot:
        values |= {"wecom_aibot_token": ws.AIBOT_TOKEN, "wecom_aibot_aes_key": ws.AIBOT_AES_KEY}
    return Settings(_env_file=None, **values)


Factory = Callable[..., Any]


@pytest.fixture
async def serve() -> AsyncIterator[Factory]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def factory(
        sink: RecordingSink, settings: Settings | None = None
    ) -> TestClient[web.Request, web.Application]:
        app = web.Application()
        setup_routes(app, sink, settings or make_settings(), clock=lambda: NOW)
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


# ---- URL verification ------------------------------------------------------------------


async def test_app_url_check_echoes_verbatim(serve: Factory) -> None:
    client = await serve(RecordingSink())
    resp = await client.get(APP_PATH, params=ws.url_check("1616140317555161061", timestamp=TS))
    assert resp.status == 200
    assert await resp.read() == b"1616140317555161061"


async def test_aibot_url_check_uses_the_empty_receive_id(serve: Factory) -> None:
    client = await serve(RecordingSink())
    params = ws.url_check("echo+/=", timestamp=TS, token=ws.AIBOT_TOKEN, key=ws.AIBOT_AES_KEY, receive_id="")
    resp = await client.get(AIBOT_PATH, params=params)
    assert resp.status == 200
    assert await resp.read() == b"echo+/="


async def test_url_check_with_a_bad_signature(serve: Factory) -> None:
    client = await serve(RecordingSink())
    params = ws.url_check("x", timestamp=TS) | {"msg_signature": "f" * 40}
    resp = await client.get(APP_PATH, params=params)
    assert resp.status == 403


async def test_url_check_missing_parameters(serve: Factory) -> None:
    client = await serve(RecordingSink())
    resp = await client.get(APP_PATH, params={"timestamp": TS})
    assert resp.status == 400


# ---- app POST --------------------------------------------------------------------------


async def test_text_message_is_submitted_and_acked_empty(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, body = ws.app_post(ws.text_xml("/发货 #12", msg_id="555"), timestamp=TS)
    resp = await client.post(APP_PATH, params=query, data=body)
    assert resp.status == 200
    assert await resp.read() == b""
    [event] = sink.events
    assert isinstance(event, ChatMessage)
    assert event.event_id == "555"
    assert event.text == "/发货 #12"


async def test_card_click_and_contact_event(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    for plain in (ws.card_event_xml("appr:1:yes"), ws.delete_user_xml("lisi")):
        query, body = ws.app_post(plain, timestamp=TS)
        assert (await client.post(APP_PATH, params=query, data=body)).status == 200
    click, left = sink.events
    assert isinstance(click, CardAction) and click.payload == "appr:1:yes"
    assert isinstance(left, DirectoryEvent) and left.user_id == "lisi"


async def test_same_callback_four_times_submits_the_same_event_id(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, body = ws.app_post(ws.text_xml("/下单 华为", msg_id="777"), timestamp=TS)
    for _ in range(4):  # the first delivery plus WeCom's three retries
        assert (await client.post(APP_PATH, params=query, data=body)).status == 200
    assert [e.event_id for e in sink.events] == ["777"] * 4


async def test_ignored_payload_is_acked_without_submitting(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    plain = "<xml><FromUserName>u</FromUserName><MsgType>event</MsgType><Event>enter_agent</Event></xml>"
    query, body = ws.app_post(plain, timestamp=TS)
    assert (await client.post(APP_PATH, params=query, data=body)).status == 200
    assert sink.events == []


def _bad_requests() -> list[tuple[str, Callable[[], tuple[dict[str, str], str]]]]:
    def bad_signature() -> tuple[dict[str, str], str]:
        query, body = ws.app_post(ws.text_xml("x"), timestamp=TS)
        return query | {"msg_signature": "0" * 40}, body

    def wrong_key() -> tuple[dict[str, str], str]:
        return ws.app_post(ws.text_xml("x"), timestamp=TS, key=ws.OTHER_AES_KEY)

    def wrong_corp() -> tuple[dict[str, str], str]:
        return ws.app_post(ws.text_xml("x"), timestamp=TS, receive_id="wwintruder")

    def truncated() -> tuple[dict[str, str], str]:
        query, body = ws.app_post(ws.text_xml("x"), timestamp=TS)
        return query, body[: len(body) // 2]

    def truncated_ciphertext() -> tuple[dict[str, str], str]:
        _, encrypted = ws.encrypt(ws.text_xml("x"), timestamp=TS)
        short = encrypted[:40]
        query = {"msg_signature": ws.sign(ws.TOKEN, TS, "n1", short), "timestamp": TS, "nonce": "n1"}
        return query, f"<xml><Encrypt><![CDATA[{short}]]></Encrypt></xml>"

    def old_timestamp() -> tuple[dict[str, str], str]:
        return ws.app_post(ws.text_xml("x"), timestamp=str(int(NOW) - 3600))

    def malformed_outer() -> tuple[dict[str, str], str]:
        query, _ = ws.app_post(ws.text_xml("x"), timestamp=TS)
        return query, "<xml><Encrypt>"

    def no_encrypt() -> tuple[dict[str, str], str]:
        query, _ = ws.app_post(ws.text_xml("x"), timestamp=TS)
        return query, "<xml><ToUserName>x</ToUserName></xml>"

    def xxe_outer() -> tuple[dict[str, str], str]:
        query, _ = ws.app_post(ws.text_xml("x"), timestamp=TS)
        return (
            query,
            '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>',
        )

    def malformed_inner() -> tuple[dict[str, str], str]:
        return ws.app_post("<xml><MsgType>text", timestamp=TS)  # signed, but not XML

    def missing_params() -> tuple[dict[str, str], str]:
        _, body = ws.app_post(ws.text_xml("x"), timestamp=TS)
        return {"timestamp": TS}, body

    return [
        (f.__name__, f)
        for f in (
            bad_signature,
            wrong_key,
            wrong_corp,
            truncated,
            truncated_ciphertext,
            old_timestamp,
            malformed_outer,
            no_encrypt,
            xxe_outer,
            malformed_inner,
            missing_params,
        )
    ]


@pytest.mark.parametrize(("name", "build"), _bad_requests())
async def test_bad_callbacks_are_4xx_and_submit_nothing(
    serve: Factory,
    caplog: pytest.LogCaptureFixture,
    name: str,
    build: Callable[[], tuple[dict[str, str], str]],
) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, body = build()
    with caplog.at_level(logging.WARNING, logger="gendan.wecom.routes"):
        resp = await client.post(APP_PATH, params=query, data=body)
    assert 400 <= resp.status < 500, name
    assert sink.events == []
    logged = caplog.text
    assert "rejected" in logged
    for secret in (ws.TOKEN, ws.AES_KEY, query.get("msg_signature", "-")):
        assert secret not in logged


async def test_body_over_1_mib_is_413(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, _ = ws.app_post(ws.text_xml("x"), timestamp=TS)
    resp = await client.post(APP_PATH, params=query, data=b"<xml>" + b"a" * (1024 * 1024) + b"</xml>")
    assert resp.status == 413
    assert sink.events == []


async def test_chunked_body_over_1_mib_is_413(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, _ = ws.app_post(ws.text_xml("x"), timestamp=TS)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"a" * 65536

    resp = await client.post(APP_PATH, params=query, data=chunks())
    assert resp.status == 413


async def test_sink_failure_asks_wecom_to_retry(serve: Factory) -> None:
    client = await serve(RecordingSink(fail=True))
    query, body = ws.app_post(ws.text_xml("x"), timestamp=TS)
    resp = await client.post(APP_PATH, params=query, data=body)
    assert resp.status == 503


# ---- AI bot POST -----------------------------------------------------------------------


async def test_aibot_group_message(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, body = ws.aibot_post(ws.aibot_text("@跟单助手\u2005/查单 #12"), timestamp=TS)
    resp = await client.post(AIBOT_PATH, params=query, data=body)
    assert resp.status == 200
    assert await resp.read() == b""
    [event] = sink.events
    assert isinstance(event, ChatMessage)
    assert event.text == "/查单 #12"
    assert event.chat.chat_type == "group"
    assert event.reply_hints["response_url"].endswith("response_code=RESP1")


async def test_aibot_card_click(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, body = ws.aibot_post(ws.aibot_card_event("appr:3:no"), timestamp=TS)
    assert (await client.post(AIBOT_PATH, params=query, data=body)).status == 200
    [event] = sink.events
    assert isinstance(event, CardAction) and event.payload == "appr:3:no"


@pytest.mark.parametrize("body", ["not json", "[]", '{"encrypt": 5}', "{}"])
async def test_aibot_malformed_envelope(serve: Factory, body: str) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, _ = ws.aibot_post(ws.aibot_text("x"), timestamp=TS)
    resp = await client.post(AIBOT_PATH, params=query, data=body)
    assert resp.status == 400
    assert sink.events == []


async def test_aibot_rejects_app_keys(serve: Factory) -> None:
    sink = RecordingSink()
    client = await serve(sink)
    query, body = ws.app_post(ws.text_xml("x"), timestamp=TS)  # app token, key and corp id
    resp = await client.post(AIBOT_PATH, params=query, data=body)
    assert 400 <= resp.status < 500
    assert sink.events == []


# ---- registration ----------------------------------------------------------------------


async def test_unconfigured_paths_are_not_registered(serve: Factory) -> None:
    settings = make_settings(app=False, aibot=True)
    assert not wecom_app_configured(settings)
    assert wecom_aibot_configured(settings)
    client = await serve(RecordingSink(), settings)
    assert (await client.get(APP_PATH)).status == 404
    assert (await client.get(AIBOT_PATH)).status == 400  # registered; parameters missing


def test_nothing_registered_without_keys() -> None:
    app = web.Application()
    setup_routes(app, RecordingSink(), Settings(_env_file=None, wecom_corp_id=ws.CORP_ID))
    assert len(app.router.routes()) == 0


def test_malformed_key_fails_at_start_up() -> None:
    settings = Settings(
        _env_file=None, wecom_corp_id=ws.CORP_ID, wecom_token=SecretStr("t"), wecom_aes_key=SecretStr("short")
    )
    with pytest.raises(ValueError):
        setup_routes(web.Application(), RecordingSink(), settings)
