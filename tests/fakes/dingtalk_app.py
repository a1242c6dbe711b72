"""End-to-end harness: the real app (``bot.app.create_app``) wired to the fake DingTalk server.

Everything DingTalk would do is done over HTTP with genuinely signed requests
(``tests/fakes/dingtalk_signing.py``); everything the bot sends lands in the fake,
which records it. The outbox is driven by hand: :meth:`DingTalkHarness.settle`
waits for the dispatcher's background work and flushes the sender once.

With ``dingtalk_mode="stream"`` the app opens its Stream connection to the fake
at start-up; :meth:`DingTalkHarness.connected` waits for it and
:meth:`DingTalkHarness.stream_say` speaks over the socket (``fake.stream``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from sqlalchemy import func, select

from bot.app import CONNECTIONS, DB, DISPATCHER, SENDER, create_app
from bot.dingtalk.signing import card_callback_key
from bot.longconn import ConnectionStatus
from storage.db import Database
from storage.models import Order
from tests.conftest import Clock, make_settings
from tests.fakes.dingtalk_server import APP_KEY, APP_SECRET, Call, FakeDingTalk
from tests.fakes.dingtalk_signing import card_click, robot_message, signed_headers
from tests.fakes.dingtalk_stream import FakeSocket, until

ADMIN = "admin01"
SALES_GROUP = "cidSALES=="
NOTIFY_GROUP = "cidNOTIFY=="
ROBOT_TOKEN = "robot-token-1"
ROBOT_SECRET = "SECa1b2c3d4e5f6a7b8c9d0"
PUBLIC_URL = "https://bot.example.com"


@dataclass(frozen=True)
class Sent:
    """One message the bot delivered, whatever the route: where to and its visible text."""

    route: str
    target: str
    text: str
    call: Call


def _body_text(body: dict[str, Any]) -> str:
    for key in ("text", "markdown", "actionCard"):
        part = body.get(key)
        if isinstance(part, dict):
            return str(part.get("content") or part.get("text") or "")
    return ""


def _param_text(param: dict[str, Any]) -> str:
    return str(param.get("content") or param.get("text") or "")


class DingTalkHarness:
    """A running app plus the fake; create with :func:`dingtalk_app`."""

    def __init__(self, app: Application, client: TestClient[Any, Any], fake: FakeDingTalk, clock: Clock) -> None:
        self.app = app
        self.client = client
        self.fake = fake
        self.clock = clock
        self._ids = itertools.count(1)

    @property
    def db(self) -> Database:
        return self.app[DB]

    async def settle(self) -> int:
        """Finish the background processing, then one outbox pass; returns rows settled."""
        await self.app[DISPATCHER].drain()
        return await self.app[SENDER].flush()

    async def post_message(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> ClientResponse:
        """POST a robot message to /dingtalk/callback, signed now unless ``headers`` are given."""
        return await self.client.post("/dingtalk/callback", data=json.dumps(body, ensure_ascii=False),
                                      headers=headers or signed_headers(APP_SECRET))

    def message(self, user: str, text: str, *, group: str | None = SALES_GROUP, name: str = "",
                msg_id: str | None = None, expires_ms: int | None = None) -> dict[str, Any]:
        """A robot message body from ``user`` (1:1 when ``group`` is None) with a live sessionWebhook."""
        msg_id = msg_id or f"msg{next(self._ids)}=="
        body = robot_message(" " + text, msg_id=msg_id, group=group is not None, staff_id=user,
                             session_webhook=self.fake.add_session(f"s-{msg_id}"), expires_ms=expires_ms,
                             conversation_id=group or "")
        body["senderNick"] = name or user
        return body

    async def say(self, user: str, text: str, **kwargs: Any) -> list[str]:
        """Send like a person would, settle, and return the texts the bot answered on that message's session."""
        body = self.message(user, text, **kwargs)
        resp = await self.post_message(body)
        assert resp.status == 200, await resp.text()
        await self.settle()
        return [s.text for s in self.sent() if s.route == "session" and s.target == f"s-{body['msgId']}"]

    async def click(self, out_track_id: str, user: str, action: str, reason: str | None = None) -> ClientResponse:
        """A card click as DingTalk POSTs it to the callback URL we registered."""
        registered = self.fake.calls_to("/v1.0/card/callbacks/register")
        assert registered, "no card callback URL was registered"
        url = registered[-1].json["callbackUrl"]
        assert url.startswith(PUBLIC_URL) and f"k={card_callback_key(APP_SECRET)}" in url
        body = card_click(action, out_track_id=out_track_id, user_id=user, space_type="IM_ROBOT",
                          space_id=f"dtv1.card//IM_ROBOT.{user}", reason=reason)
        return await self.client.post(url[len(PUBLIC_URL):], json=body)

    # ---- Stream mode ------------------------------------------------------------------

    @property
    def status(self) -> ConnectionStatus:
        """The DingTalk Stream connection's live status."""
        return next(s for s in self.app[CONNECTIONS].statuses if s.name == "dingtalk")

    async def connected(self, sockets: int = 1, timeout: float = 30.0) -> FakeSocket:
        """Wait until the fake has seen ``sockets`` connections and the bot reports the newest ready."""
        sock = await self.fake.stream.wait_sockets(sockets, timeout)
        await until(lambda: self.status.connected and len(self.fake.stream.sockets) == sockets, timeout,
                    "the bot to report the stream connected")
        return sock

    async def stream_push(self, body: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        """Push a robot message over the socket and wait for its ack (returned)."""
        mid = await self.fake.stream.robot(body, message_id)
        return (await self.fake.stream.ack_for(mid))[2]

    async def stream_say(self, user: str, text: str, **kwargs: Any) -> list[str]:
        """Like :meth:`say`, over the Stream socket."""
        body = self.message(user, text, **kwargs)
        ack = await self.stream_push(body)
        assert ack["code"] == 200, ack
        await self.settle()
        return [s.text for s in self.sent() if s.route == "session" and s.target == f"s-{body['msgId']}"]

    def sent(self) -> list[Sent]:
        """Every message the fake accepted or refused, flattened to (route, target, text)."""
        out: list[Sent] = []
        for call in self.fake.calls:
            if call.path == "/robot/sendBySession":
                out.append(Sent("session", call.query.get("session", ""), _body_text(call.json), call))
            elif call.path == "/robot/send":
                out.append(Sent("robot", call.query.get("access_token", ""), _body_text(call.json), call))
            elif call.path == "/v1.0/robot/groupMessages/send":
                out.append(Sent("group", call.json["openConversationId"], _param_text(call.msg_param), call))
            elif call.path == "/v1.0/robot/oToMessages/batchSend":
                out.append(Sent("single", call.json["userIds"][0], _param_text(call.msg_param), call))
            elif call.path == "/v1.0/card/instances/createAndDeliver":
                params = call.json["cardData"]["cardParamMap"]
                out.append(Sent("card", call.json["openSpaceId"], params["markdown"], call))
        return out

    def to(self, route: str, target: str) -> list[str]:
        """Texts sent over ``route`` to ``target``."""
        return [s.text for s in self.sent() if s.route == route and s.target == target]

    async def order_count(self) -> int:
        async with self.db.uow() as uow:
            return int((await uow.session.execute(select(func.count()).select_from(Order))).scalar_one())

    async def register(self, *people: tuple[str, str, str]) -> None:
        """(user, name, role) each say hello 1:1; the admin gives them the role."""
        await self.say(ADMIN, "/帮助", group=None, name="管理员")
        for user, name, role in people:
            await self.say(user, "/帮助", group=None, name=name)
            reply = await self.say(ADMIN, f"/角色 dingtalk:{user} {role}", group=None)
            assert any("角色" in r for r in reply), reply


    async def bind_notify_group(self) -> None:
        """The admin binds a signed custom robot to NOTIFY_GROUP and subscribes it to every topic.

        The app robot then may not post there (removed after the binding, say), so every
        push to that group has to go through the custom robot and its 20-per-minute limit.
        """
        webhook = self.fake.add_robot(ROBOT_TOKEN, ROBOT_SECRET)
        reply = await self.say(ADMIN, f"/绑定 {webhook} {ROBOT_SECRET}", group=NOTIFY_GROUP)
        assert any("已绑定" in r for r in reply), reply
        reply = await self.say(ADMIN, "/订阅 全部", group=NOTIFY_GROUP)
        assert any("本群订阅" in r for r in reply), reply
        self.fake.groups_without_app_robot.add(NOTIFY_GROUP)


@asynccontextmanager
async def dingtalk_app(db_url: tuple[str, dict[str, Any]], clock: Clock, **overrides: Any
                       ) -> AsyncIterator[DingTalkHarness]:
    """Start the fake and the real app (no background sender) pointed at it."""
    url, kwargs = db_url
    async with FakeDingTalk(rate_clock_ms=lambda: int(clock().timestamp() * 1000)) as fake:
        values: dict[str, Any] = {
            "dingtalk_app_key": APP_KEY, "dingtalk_app_secret": APP_SECRET, "dingtalk_api_base": fake.url,
            "dingtalk_oapi_base": fake.url, "public_url": PUBLIC_URL, "admins": f"dingtalk:{ADMIN}",
            "local_enabled": False,
        }
        values.update(overrides)
        app = create_app(make_settings(url, **values), clock=clock, db=Database(url, **kwargs), run_sender=False)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield DingTalkHarness(app, client, fake, clock)
        finally:
            await client.close()
