"""The fakes refuse bodies over WeCom's documented sizes (45002), and what we render always fits.

HTTP: message/send text/markdown 2048 bytes, webhook text 2048 / markdown 4096, AI-bot
response_url 20480. WebSocket: ``aibot_respond_msg`` / ``aibot_send_msg`` content 20480.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from bot.outbound import Message
from bot.transport import Delivery
from bot.wecom import frames, render
from bot.wecom.client import WeComClient
from bot.wecom.longconn import AibotConnection
from bot.wecom.transport import WeComTransport
from tests.fakes.wecom_server import CONTENT_TOO_LARGE, CORP_ID, SECRET, FakeWeCom
from tests.fakes.wecom_ws_harness import FAST, until
from tests.fakes.wecom_ws_server import BOT_ID, BOT_SECRET, FakeWeComWS

LONG = "长" * 8000  # 24,000 bytes


class _Sink:
    async def submit(self, inbound: Any) -> bool:
        return True


@pytest.mark.parametrize(("path", "body", "query"), [
    ("message/send", {"touser": "u", "agentid": 1, "msgtype": "text", "text": {"content": "长" * 683}}, "token"),
    ("message/send", {"touser": "u", "agentid": 1, "msgtype": "markdown", "markdown": {"content": "a" * 2049}},
     "token"),
    ("webhook/send", {"msgtype": "text", "text": {"content": "a" * 2049}}, "key"),
    ("webhook/send", {"msgtype": "markdown", "markdown": {"content": "a" * 4097}}, "key"),
    ("aibot/response", {"msgtype": "markdown", "markdown": {"content": "a" * 20481}}, "code"),
])
async def test_http_fake_refuses_oversized_content(path: str, body: dict[str, Any], query: str) -> None:
    async with FakeWeCom() as fake, aiohttp.ClientSession() as session:
        client = WeComClient(session, api_base=fake.url, corp_id=CORP_ID, secret=SECRET, agent_id="1")
        params = {"token": {"access_token": await client.access_token()}, "key": {"key": "k1"},
                  "code": {"response_code": "c1"}}[query]
        async with session.post(f"{fake.url}/cgi-bin/{path}", params=params, json=body) as resp:
            assert (await resp.json())["errcode"] == CONTENT_TOO_LARGE
        # one byte less is fine
        kind = body["msgtype"]
        body[kind]["content"] = body[kind]["content"][:-1]
        async with session.post(f"{fake.url}/cgi-bin/{path}", params=params, json=body) as resp:
            answer = await resp.json()
            assert answer["errcode"] != CONTENT_TOO_LARGE


async def test_rendered_long_messages_fit_every_http_channel() -> None:
    async with FakeWeCom() as fake, aiohttp.ClientSession() as session:
        client = WeComClient(session, api_base=fake.url, corp_id=CORP_ID, secret=SECRET, agent_id="1")
        for kind in ("text", "markdown"):
            message = Message(kind=kind, text=LONG)  # type: ignore[arg-type]
            await client.send_message("u1", render.app_message(message))
            await client.webhook_send("k1", render.webhook_message(message))
        await client.aibot_respond("https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=c9",
                                   render.aibot_message(Message.plain(LONG), "t1"))
        assert all(c.errcode == 0 for c in fake.calls)


async def test_ws_fake_refuses_oversized_content_and_what_we_render_fits() -> None:
    async with FakeWeComWS() as fake, aiohttp.ClientSession() as session:
        conn = AibotConnection(session, fake.url, BOT_ID, BOT_SECRET, _Sink(), timing=FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(conn.run(stop))
        try:
            await until(lambda: conn.connected, "connected")
            too_big = {"chatid": "g1", "msgtype": "markdown", "markdown": {"content": "a" * 20481}}
            answer = await conn.request(frames.SEND, too_big, check=False)
            assert answer.errcode == 45002
            req = await fake.deliver(fake.text("u1", "hi"))
            too_big_reply = {"msgtype": "stream", "stream": {"id": "s", "finish": True, "content": "a" * 20481}}
            assert (await conn.request(frames.RESPOND, too_big_reply, req_id=req, check=False)).errcode == 45002
            transport = WeComTransport(WeComClient(session, api_base="http://127.0.0.1:9"))
            transport.attach_ws(conn)
            d = Delivery(1, "wecom", "g1", "group", Message.plain(LONG),
                         reply_hints={"ws_req_id": req, "ws_req_at": time.time()})
            await transport.send(d)  # the answer on req_id, cut to 20480 bytes
            await transport.send(Delivery(2, "wecom", "g1", "group", Message(kind="markdown", text=LONG)))
            assert [s.cmd for s in fake.accepted] == ["aibot_respond_msg", "aibot_send_msg"]
        finally:
            stop.set()
            await task
