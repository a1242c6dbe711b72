"""A fake WeCom API server (aiohttp on 127.0.0.1, random port) that records every call.

Written from WeCom's API docs: ``gettoken``, ``message/send`` (returns a
``response_code`` for interactive cards), ``message/update_template_card``
(single-use codes), ``webhook/send`` (20 per minute per key → 45009) and
``aibot/response`` (one call per response_code). Bodies over WeCom's documented sizes
are refused with 45002 (text/markdown 2048 bytes for message/send; webhook text 2048,
markdown 4096; AI-bot reply content 20480). Behaviour is scriptable:
expire the token mid-run, fail a path with an errcode or an HTTP status for the
next N calls, slow a path down.

Usage::

    async with FakeWeCom() as fake:
        client = WeComClient(session, api_base=fake.url, corp_id=fake.corp_id, ...)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

CORP_ID = "wwfakecorp0001"
SECRET = "fake-corp-secret-for-tests"
#: stand-in for "response_code used or expired": the real errcode is UNCONFIRMED
INVALID_RESPONSE_CODE = 40099
#: "invalid parameter", returned for full-card updates when ``reject_full_card_update`` is set
INVALID_PARAMETER = 40058
_INTERACTIVE = {"button_interaction", "vote_interaction", "multiple_interaction"}
#: "content too large" (全局错误码 45002); limits in utf-8 bytes per API and msgtype
CONTENT_TOO_LARGE = 45002
_LIMITS = {
    "message/send": {"text": 2048, "markdown": 2048},
    "webhook/send": {"text": 2048, "markdown": 4096, "markdown_v2": 4096},
    "aibot/response": {"markdown": 20480, "stream": 20480, "text": 20480},
}


def too_large(path: str, body: Any) -> bool:
    """Whether ``body``'s text/markdown content is over WeCom's documented size for ``path``."""
    if not isinstance(body, dict):
        return False
    kind = body.get("msgtype")
    limit = _LIMITS.get(path, {}).get(kind) if isinstance(kind, str) else None
    part = body.get(kind) if isinstance(kind, str) else None
    content = part.get("content") if isinstance(part, dict) else None
    return limit is not None and isinstance(content, str) and len(content.encode()) > limit


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    #: what the fake answered (0 = accepted; -status for a scripted HTTP error)
    errcode: int | None = None
    #: the fake's clock when the call arrived
    at: float = 0.0


class FakeWeCom:
    """The fake; start with ``async with`` (or :meth:`start` / :meth:`close`)."""

    def __init__(
        self,
        *,
        corp_id: str = CORP_ID,
        secret: str = SECRET,
        webhook_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.webhook_per_minute = webhook_per_minute
        self.clock = clock
        self.calls: list[Call] = []
        self.valid_tokens: set[str] = set()
        self.issued_tokens: set[str] = set()
        self.token_expires_in = 7200
        #: every gettoken answers 40014 for calls made with its token (a broken tenant)
        self.reject_all_tokens = False
        #: answer template_card updates with 40058 (only ``button.replace_name`` works)
        self.reject_full_card_update = False
        #: users outside the app's visible range: listed in ``invaliduser``, errcode stays 0
        self.invalid_users: set[str] = set()
        self.response_codes: dict[str, str] = {}  # code -> userid
        self.used_codes: set[str] = set()
        self.used_response_urls: set[str] = set()
        self._failures: dict[str, deque[tuple[int, int]]] = defaultdict(deque)  # path -> (http, errcode)
        #: path -> (start, end) in this fake's clock: busy, then down (see :meth:`outage`)
        self._outages: dict[str, tuple[float, float]] = {}
        self._delays: dict[str, float] = {}
        self._webhook_times: dict[str, deque[float]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- scripting -------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """WeCom ends every issued token early: the next call with one gets 42001."""
        self.valid_tokens.clear()

    def fail(self, path: str, errcode: int, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``path`` (e.g. ``"message/send"``) with ``errcode``."""
        self._failures[path].extend([(200, errcode)] * times)

    def fail_http(self, path: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``path`` with an HTTP error status."""
        self._failures[path].extend([(status, 0)] * times)

    def outage(self, path: str, start: float, end: float) -> None:
        """Between ``start`` and ``end`` (this fake's clock) ``path`` answers errcode -1 (系统繁忙)
        for the first half and HTTP 503 for the second, as WeCom did in a real outage."""
        self._outages[path] = (start, end)

    def slow(self, path: str, seconds: float) -> None:
        """Delay every answer on ``path``."""
        self._delays[path] = seconds

    def issue_response_code(self, userid: str) -> str:
        """A fresh single-use code, as a card click callback would carry."""
        code = f"rc{next(self._ids)}"
        self.response_codes[code] = userid
        return code

    def expire_code(self, code: str) -> None:
        """A response_code WeCom no longer honours (used elsewhere, or past its 72 h)."""
        self.used_codes.add(code)

    def calls_to(self, path: str) -> list[Call]:
        """The recorded calls of one path, oldest first."""
        return [c for c in self.calls if c.path == path]

    def accepted(self, path: str) -> list[Call]:
        """The calls of one path the fake accepted (errcode 0), oldest first."""
        return [c for c in self.calls if c.path == path and c.errcode == 0]

    # ---- server ----------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on a random port of 127.0.0.1; return the base URL (``GENDAN_WECOM_API_BASE``)."""
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/{path:.+}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        raw = await request.read()
        # Read the body whatever the Content-Type.
        body = json.loads(raw) if raw else None
        call = Call(request.method, path, dict(request.query), body, at=self.clock())
        self.calls.append(call)
        if path in self._delays:
            await asyncio.sleep(self._delays[path])
        start, end = self._outages.get(path, (0.0, 0.0))
        if start <= call.at < end:
            if call.at < (start + end) / 2:
                call.errcode = -1
                return self._err(-1, "system busy")
            call.errcode = -503
            return web.Response(status=503, text="service unavailable")
        if self._failures[path]:
            status, errcode = self._failures[path].popleft()
            call.errcode = errcode if status == 200 else -status
            if status != 200:
                return web.Response(status=status, text="upstream trouble")
            return self._err(errcode, "scripted failure")
        handler = {
            "gettoken": self._gettoken,
            "message/send": self._send,
            "message/update_template_card": self._update_card,
            "webhook/send": self._webhook,
            "aibot/response": self._aibot_response,
        }.get(path)
        answer = self._err(404, "unknown api") if handler is None else handler(request, body)
        assert isinstance(answer.body, bytes)
        call.errcode = int(json.loads(answer.body).get("errcode", 0))
        return answer

    @staticmethod
    def _err(errcode: int, errmsg: str) -> web.Response:
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if not token:
            return self._err(41001, "access_token missing")
        if self.reject_all_tokens:
            return self._err(40014, "invalid access_token")
        if token in self.valid_tokens:
            return None
        if token in self.issued_tokens:
            return self._err(42001, "access_token expired")
        return self._err(40014, "invalid access_token")

    def _gettoken(self, request: web.Request, body: Any) -> web.Response:
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
            return self._err(40001, "invalid credential")
        token = f"T{next(self._ids)}"
        self.valid_tokens.add(token)
        self.issued_tokens.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_expires_in}
        )

    def _send(self, request: web.Request, body: Any) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        if not isinstance(body, dict) or not body.get("touser") or not body.get("msgtype"):
            return self._err(40008, "invalid message type")
        if too_large("message/send", body):
            return self._err(CONTENT_TOO_LARGE, "content size out of limit")
        answer: dict[str, Any] = {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "|".join(u for u in str(body["touser"]).split("|") if u in self.invalid_users),
            "invalidparty": "",
            "invalidtag": "",
            "msgid": f"m{next(self._ids)}",
        }
        card = body.get("template_card") if body["msgtype"] == "template_card" else None
        if isinstance(card, dict) and card.get("card_type") in _INTERACTIVE:
            answer["response_code"] = self.issue_response_code(str(body["touser"]))
        return web.json_response(answer)

    def _update_card(self, request: web.Request, body: Any) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        if not isinstance(body, dict):
            return self._err(40008, "invalid body")
        code = body.get("response_code")
        if "template_card" in body and self.reject_full_card_update:
            return self._err(INVALID_PARAMETER, "invalid parameter")
        if code not in self.response_codes or code in self.used_codes:
            return self._err(INVALID_RESPONSE_CODE, "invalid response_code")
        self.used_codes.add(code)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _webhook(self, request: web.Request, body: Any) -> web.Response:
        key = request.query.get("key", "")
        if not key:
            return self._err(93000, "invalid webhook url")
        if too_large("webhook/send", body):
            return self._err(CONTENT_TOO_LARGE, "content size out of limit")
        now = self.clock()
        sent = self._webhook_times[key]
        while sent and now - sent[0] >= 60.0:
            sent.popleft()
        if len(sent) >= self.webhook_per_minute:
            return self._err(45009, "api freq out of limit")
        sent.append(now)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _aibot_response(self, request: web.Request, body: Any) -> web.Response:
        code = request.query.get("response_code", "")
        if not code or code in self.used_response_urls:
            return self._err(INVALID_RESPONSE_CODE, "response_code used")
        if too_large("aibot/response", body):
            return self._err(CONTENT_TOO_LARGE, "content size out of limit")
        self.used_response_urls.add(code)
        return web.json_response({"errcode": 0, "errmsg": "ok"})
