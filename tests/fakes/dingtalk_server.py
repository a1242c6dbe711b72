"""A fake DingTalk server (aiohttp on 127.0.0.1, random port) that records every call.

It implements what the bot calls: the v1.0 access token, robot group and 1:1
sends, card createAndDeliver / update / callback registration, the sessionWebhook
and the custom-robot webhook with 加签 checking and its 20 per minute limit
(errcode 130101), and the Stream gateway with its WebSocket (``fake.stream``,
``tests/fakes/dingtalk_stream.py``). Documented size limits are enforced: a
custom-robot or sessionWebhook body over 20000 bytes is errcode 460101, an
OpenAPI ``msgParam`` over 15000 bytes is 400 ``invalidParameter.msgParam.invalid``.
Behaviour is scriptable: token lifetime, token revocation, session expiry, per-path failures, flow-controlled users.

Usage::

    async with FakeDingTalk() as fake:
        settings = Settings(dingtalk_api_base=fake.url, ...)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from tests.fakes.dingtalk_stream import FakeStream

APP_KEY = "dingappkey"
APP_SECRET = "app-secret-for-tests"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    #: bytes of the raw body (what DingTalk's size limits count)
    size: int = 0

    @property
    def msg_param(self) -> Any:
        """The JSON-decoded ``msgParam`` of a robot OpenAPI call."""
        return json.loads(self.json["msgParam"])


@dataclass
class _Failure:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


#: custom robot and sessionWebhook bodies (errcode 460101 beyond)
MAX_WEBHOOK_BYTES = 20_000
#: the OpenAPI's JSON-string ``msgParam``
MAX_MSG_PARAM_BYTES = 15_000
TOO_BIG = {"errcode": 460101, "errmsg": "body 大小不合法，请保持大小在 20000bytes 以内"}


def _too_big(call: Call) -> bool:
    return call.size > MAX_WEBHOOK_BYTES


def _sign(timestamp: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class FakeDingTalk:
    """The fake; start with ``async with`` (or :meth:`start` / :meth:`close`)."""

    def __init__(
        self,
        *,
        app_key: str = APP_KEY,
        app_secret: str = APP_SECRET,
        clock_ms: Callable[[], int] | None = None,
        rate_clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        #: wall clock for the 加签 timestamp window (the bot signs with its real clock)
        self.clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        #: clock of the 20-per-minute window; end-to-end tests tie it to their simulated clock
        self.rate_clock_ms = rate_clock_ms
        self.calls: list[Call] = []
        #: seconds; set low to test refresh
        self.token_expire_in = 7200
        self.valid_tokens: set[str] = set()
        self._token_ids = itertools.count(1)
        self.sessions: dict[str, bool] = {}
        #: custom robots: access_token -> SEC secret (None: no 加签)
        self.robots: dict[str, str | None] = {}
        self.robot_limit = 20
        self._robot_sends: dict[str, deque[int]] = defaultdict(deque)
        self.flow_controlled_users: set[str] = set()
        self.cards: dict[str, dict[str, Any]] = {}
        #: openConversationIds where the app robot may not post (groupMessages/send answers 400)
        self.groups_without_app_robot: set[str] = set()
        #: successful custom-robot sends: (rate-clock ms, access_token, body)
        self.robot_deliveries: list[tuple[int, str, Any]] = []
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.stream = FakeStream(self)

    # ---- lifecycle ------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on 127.0.0.1 (random port); returns the base URL."""
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._oto_send)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._create_card)
        app.router.add_put("/v1.0/card/instances", self._update_card)
        app.router.add_post("/v1.0/card/callbacks/register", self._register_callback)
        app.router.add_post("/robot/sendBySession", self._send_by_session)
        app.router.add_post("/robot/send", self._robot_send)
        self.stream.mount(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        """Stop listening."""
        await self.stream.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- scripting ------------------------------------------------------------------

    def fail_next(
        self, path: str, status: int, body: Any, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` calls to ``path`` with ``status`` and JSON ``body``."""
        for _ in range(times):
            self._failures[path].append(_Failure(status, body, headers or {}))

    def revoke_tokens(self) -> None:
        """Make every issued access token invalid (401 on use)."""
        self.valid_tokens.clear()

    def add_session(self, session: str) -> str:
        """A live sessionWebhook URL."""
        self.sessions[session] = True
        return f"{self.url}/robot/sendBySession?session={session}"

    def expire_session(self, session: str) -> None:
        """Make the sessionWebhook answer ``300001 session 不存在``."""
        self.sessions[session] = False

    def add_robot(self, access_token: str, secret: str | None) -> str:
        """A custom robot's webhook URL (without timestamp/sign)."""
        self.robots[access_token] = secret
        return f"{self.url}/robot/send?access_token={access_token}"

    def calls_to(self, path: str) -> list[Call]:
        """The recorded calls to ``path``."""
        return [c for c in self.calls if c.path == path]

    # ---- handlers -------------------------------------------------------------------

    async def _record(self, request: web.Request) -> tuple[Call, web.Response | None]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        call = Call(request.method, request.path, dict(request.query), dict(request.headers), body, len(raw))
        self.calls.append(call)
        failures = self._failures.get(request.path)
        if failures:
            f = failures.popleft()
            return call, web.json_response(f.body, status=f.status, headers=f.headers)
        return call, None

    def _authorised(self, call: Call) -> web.Response | None:
        if call.headers.get("x-acs-dingtalk-access-token") not in self.valid_tokens:
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "不合法的access_token", "requestid": "r"},
                status=401,
            )
        return None

    async def _access_token(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        if failed:
            return failed
        body = call.json or {}
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "bad secret"}, status=400)
        token = f"at-{next(self._token_ids)}"
        self.valid_tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": self.token_expire_in})

    def _check_robot_call(self, call: Call) -> web.Response | None:
        denied = self._authorised(call)
        if denied:
            return denied
        body = call.json or {}
        if not body.get("robotCode"):
            return web.json_response({"code": "invalidParameter.robotCode.empty", "message": "x"}, status=400)
        try:
            json.loads(body["msgParam"])
        except (KeyError, TypeError, ValueError):
            return web.json_response(
                {"code": "invalidParameter.msgParam.invalid", "message": "x"}, status=400
            )
        if len(body["msgParam"].encode()) > MAX_MSG_PARAM_BYTES:
            return web.json_response(
                {"code": "invalidParameter.msgParam.invalid", "message": "msgParam too long"}, status=400
            )
        return None

    async def _group_send(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        failed = failed or self._check_robot_call(call)
        if failed:
            return failed
        if call.json.get("openConversationId") in self.groups_without_app_robot:
            # Real code UNCONFIRMED; any 4xx other than 401 is a permanent refusal to the bot.
            return web.json_response({"code": "robot.notInGroup", "message": "机器人不在群中"}, status=400)
        return web.json_response({"processQueryKey": f"pqk-{len(self.calls)}"})

    async def _oto_send(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        failed = failed or self._check_robot_call(call)
        if failed:
            return failed
        users = call.json.get("userIds", [])
        return web.json_response(
            {
                "processQueryKey": f"pqk-{len(self.calls)}",
                "invalidStaffIdList": [],
                "flowControlledStaffIdList": [u for u in users if u in self.flow_controlled_users],
            }
        )

    async def _create_card(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        failed = failed or self._authorised(call)
        if failed:
            return failed
        out_track_id = call.json["outTrackId"]
        self.cards[out_track_id] = call.json
        space_type = call.json["openSpaceId"].split("//")[1].split(".")[0]
        return web.json_response(
            {
                "success": True,
                "result": {
                    "outTrackId": out_track_id,
                    "deliverResults": [{"spaceType": space_type, "success": True, "carrierId": "c1"}],
                },
            }
        )

    async def _update_card(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        failed = failed or self._authorised(call)
        if failed:
            return failed
        card = self.cards.get(call.json["outTrackId"])
        if card is None:
            return web.json_response(
                {"code": "invalidParameter.outTrackId.notExist", "message": "x"}, status=400
            )
        card["cardData"]["cardParamMap"].update(call.json["cardData"]["cardParamMap"])
        return web.json_response({"success": True, "result": True})

    async def _register_callback(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        failed = failed or self._authorised(call)
        if failed:
            return failed
        body = call.json
        return web.json_response(
            {"success": True, "result": {"callbackUrl": body["callbackUrl"], "apiSecret": body["apiSecret"]}}
        )

    async def _send_by_session(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        if failed:
            return failed
        if not self.sessions.get(call.query.get("session", "")):
            return web.json_response({"errcode": 300001, "errmsg": "session 不存在"})
        if _too_big(call):
            return web.json_response(TOO_BIG)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _robot_send(self, request: web.Request) -> web.Response:
        call, failed = await self._record(request)
        if failed:
            return failed
        token = call.query.get("access_token", "")
        if _too_big(call):
            return web.json_response(TOO_BIG)
        if token not in self.robots:
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        secret = self.robots[token]
        if secret is not None:
            # aiohttp has already URL-decoded the query once, as DingTalk does.
            timestamp, sign = call.query.get("timestamp", ""), call.query.get("sign", "")
            if not timestamp.isdigit() or abs(self.clock_ms() - int(timestamp)) > 3_600_000:
                return web.json_response({"errcode": 310000, "errmsg": "invalid timestamp"})
            if not hmac.compare_digest(_sign(timestamp, secret), sign):
                return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        sends = self._robot_sends[token]
        now = (self.rate_clock_ms or self.clock_ms)()
        while sends and now - sends[0] >= 60_000:
            sends.popleft()
        if len(sends) >= self.robot_limit:
            return web.json_response(
                {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
            )
        sends.append(now)
        self.robot_deliveries.append((now, token, call.json))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def dingtalk_settings(base_url: str = "http://127.0.0.1:9", **overrides: Any) -> Any:
    """Settings for a DingTalk app robot whose every base URL points at ``base_url``.

    ``.env`` is ignored so a developer's local file cannot change the tests.
    """
    from bot.config import Settings

    values: dict[str, Any] = {
        "dingtalk_app_key": APP_KEY,
        "dingtalk_app_secret": APP_SECRET,
        "dingtalk_robot_code": "",
        "dingtalk_api_base": base_url,
        "dingtalk_oapi_base": base_url,
        "dingtalk_card_template_id": "",
        "dingtalk_mode": "http",
        "public_url": "https://bot.example.com",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
