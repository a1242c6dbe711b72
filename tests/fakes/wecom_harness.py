"""The real app (``bot.app.create_app``) wired to :class:`FakeWeCom`, driven by genuine encrypted callbacks.

Callbacks are built by wechatpy (``tests/fakes/wecom_signing.py``) and POSTed to the
app's ``/wecom/callback`` and ``/wecom/aibot``; every answer the bot gives is read
back from what the fake WeCom server recorded. The test clock drives the
dispatcher, the outbox (``next_attempt_at``), the outbox's rate window and the
fake's webhook limiter, so a minute passes when the test says so. Callback
``timestamp``s use the real wall clock, as the routes check them against it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import DISPATCHER, SENDER, create_app
from bot.wecom import AIBOT_PATH, APP_PATH
from storage.db import Database
from storage.models import InboxEvent, Order, OutboxMessage
from tests.conftest import Clock, make_settings
from tests.fakes import wecom_signing as ws
from tests.fakes.wecom_server import FakeWeCom

AGENT_ID = "1000002"
ADMIN = "admin1"
GROUP = "wrkGROUP1"
BOT_NAME = "跟单助手"


def wecom_settings(url: str, api_base: str) -> dict[str, Any]:
    """The ``GENDAN_WECOM_*`` keys (as Settings fields) for an app talking to ``api_base``."""
    return {
        "wecom_corp_id": ws.CORP_ID,
        "wecom_secret": FakeWeCom().secret,
        "wecom_agent_id": AGENT_ID,
        "wecom_token": ws.TOKEN,
        "wecom_aes_key": ws.AES_KEY,
        "wecom_aibot_token": ws.AIBOT_TOKEN,
        "wecom_aibot_aes_key": ws.AIBOT_AES_KEY,
        "wecom_api_base": api_base,
        "admins": f"wecom:{ADMIN}",
        "local_enabled": False,
    }


def now_ts() -> str:
    """A fresh callback timestamp (the routes accept 5 minutes of skew against the wall clock)."""
    return str(int(time.time()))


class World:
    """One app, one fake WeCom, one test clock."""

    def __init__(self, client: TestClient[web.Request, web.Application], app: web.Application,
                 fake: FakeWeCom, clock: Clock) -> None:
        self.client = client
        self.app = app
        self.fake = fake
        self.clock = clock
        self._ids = itertools.count(1)

    @property
    def db(self) -> Database:
        """The app's database."""
        return self.app[DISPATCHER].db

    # ---- callbacks -------------------------------------------------------------------

    async def post(self, path: str, query: dict[str, str], body: str, settle: bool = True) -> int:
        """POST one callback; then let the dispatcher finish and the outbox send (unless ``settle``)."""
        resp = await self.client.post(path, params=query, data=body.encode())
        assert resp.status != 200 or await resp.read() == b"", "the ack must be an empty 200"
        if settle:
            await self.settle()
        return resp.status

    async def app_event(self, plaintext: str, settle: bool = True, **kw: Any) -> int:
        """An encrypted self-built-app callback carrying ``plaintext`` XML."""
        query, body = ws.app_post(plaintext, timestamp=kw.pop("timestamp", now_ts()), nonce=self.nonce(), **kw)
        return await self.post(APP_PATH, query, body, settle)

    async def say(self, user: str, text: str, *, msg_id: str | None = None, settle: bool = True) -> int:
        """``user`` writes ``text`` to the app in their 1:1 chat."""
        return await self.app_event(ws.text_xml(text, user=user, msg_id=msg_id or self.msg_id()), settle)

    async def click(self, user: str, key: str, *, task_id: str, code: str, settle: bool = True) -> int:
        """``user`` presses the button ``key`` on their copy ``task_id``; WeCom issues the click's code."""
        return await self.app_event(click_xml(key, user=user, task_id=task_id, code=code,
                                              created=self.created()), settle)

    async def group_say(self, user: str, text: str, *, chat: str = GROUP, msgid: str | None = None,
                        settle: bool = True) -> tuple[int, str]:
        """``user`` writes ``@跟单助手 text`` in a group; returns (status, the message's response_code)."""
        code = f"RESP{next(self._ids)}"
        payload = ws.aibot_text(f"@{BOT_NAME}\u2005{text}", msgid=msgid or f"CAIQ-{next(self._ids)}", user=user)
        payload["chatid"] = chat
        payload["response_url"] = f"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code={code}"
        query, body = ws.aibot_post(payload, timestamp=now_ts(), nonce=self.nonce())
        return await self.post(AIBOT_PATH, query, body, settle), code

    def nonce(self) -> str:
        """A nonce unique within the test."""
        return f"n{next(self._ids)}"

    def msg_id(self) -> str:
        """A WeCom-style numeric MsgId unique within the test."""
        return str(7_100_000_000_000_000_000 + next(self._ids))

    def created(self) -> str:
        """A CreateTime unique within the test (events are deduplicated on it)."""
        return str(1_800_000_000 + next(self._ids))

    # ---- running ---------------------------------------------------------------------

    async def settle(self) -> None:
        """Finish every background task, then one outbox pass."""
        await self.app[DISPATCHER].drain()
        await self.app[SENDER].flush()

    # ---- what WeCom received ---------------------------------------------------------

    def sent_to(self, user: str) -> list[dict[str, Any]]:
        """Bodies of the accepted ``message/send`` calls addressed to ``user``."""
        return [c.json for c in self.fake.accepted("message/send") if user in str(c.json["touser"]).split("|")]

    def texts_to(self, user: str) -> list[str]:
        """Text/markdown contents sent to ``user`` through the app."""
        out = []
        for body in self.sent_to(user):
            kind = body["msgtype"]
            if kind in ("text", "markdown"):
                out.append(str(body[kind]["content"]))
        return out

    def cards_to(self, user: str) -> list[dict[str, Any]]:
        """Template cards sent to ``user`` through the app."""
        return [b["template_card"] for b in self.sent_to(user) if b["msgtype"] == "template_card"]

    def aibot_answers(self, code: str) -> list[dict[str, Any]]:
        """Bodies posted to the response_url of the AI-bot message that carried ``code``."""
        return [c.json for c in self.fake.accepted("aibot/response") if c.query.get("response_code") == code]

    async def count(self, model: Any, *where: Any) -> int:
        """``SELECT count(*)`` of a model's table."""
        async with self.db.uow() as uow:
            return int((await uow.session.execute(select(func.count()).select_from(model).where(*where)))
                       .scalar_one())

    async def orders(self) -> list[Order]:
        """Every order, by number."""
        async with self.db.uow() as uow:
            return list((await uow.session.execute(select(Order).order_by(Order.no))).scalars())

    async def inbox(self) -> int:
        """Rows in the inbox table."""
        return await self.count(InboxEvent)

    async def outbox_status(self) -> dict[str, int]:
        """Outbox rows per status."""
        async with self.db.uow() as uow:
            rows = await uow.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            return {str(s): int(n) for s, n in rows}


def button_key(card: dict[str, Any], label: str) -> str:
    """The key of the button labelled ``label`` on a rendered template card."""
    return str(next(b["key"] for b in card["button_list"] if b["text"] == label))


def click_xml(key: str, *, user: str, task_id: str, code: str, created: str) -> str:
    """A decrypted ``template_card_event``, as WeCom sends it for a button press."""
    return (
        f"<xml><ToUserName><![CDATA[{ws.CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>{AGENT_ID}</AgentID></xml>"
    )


def delete_user_xml(user: str, created: str) -> str:
    """A decrypted ``change_contact`` / ``delete_user`` event."""
    return (
        f"<xml><ToUserName><![CDATA[{ws.CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[delete_user]]></ChangeType>"
        f"<UserID><![CDATA[{user}]]></UserID></xml>"
    )


@asynccontextmanager
async def open_world(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[World]:
    """Start the fake WeCom and the real app on 127.0.0.1; both use ``clock``'s seconds."""

    def seconds() -> float:
        return clock.now.timestamp()

    url, kwargs = db_url
    async with FakeWeCom(clock=seconds) as fake:
        settings = make_settings(url, **wecom_settings(url, fake.url))
        app = create_app(settings, clock=clock, db=Database(url, **kwargs), run_sender=False)
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield World(client, app, fake, clock)
        finally:
            await client.close()
