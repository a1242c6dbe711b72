"""A fake WeCom AI-bot long-connection endpoint (aiohttp WebSocket on 127.0.0.1) that records every frame.

It speaks the frames of WeCom's official SDKs: ``{cmd, headers: {req_id}, body}`` in both
directions and ``{headers: {req_id}, errcode, errmsg}`` answers. It checks the bot id and
secret of ``aibot_subscribe`` and refuses anything sent before it, answers ``ping``, takes
``aibot_respond_msg`` / ``_update_msg`` / ``_welcome_msg`` only on a ``req_id`` it delivered
(one answer each), takes ``aibot_send_msg`` with markdown or template_card, and refuses
content over 20480 bytes with 45002.

Scripting: :meth:`deliver` pushes a callback; callbacks not answered yet are delivered
again after the next subscribe (a stand-in for WeCom's re-delivery); ``drop_after``
aborts the TCP connection after that many callbacks; :meth:`evict` sends
``disconnected_event`` and closes; :meth:`go_silent` makes the current connection a
zombie (open, but nothing comes back); ``accepting = False`` refuses new connections.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import WSMsgType, web

BOT_ID = "aibFAKEBOT0001"
BOT_SECRET = "fake-aibot-secret-for-tests"
BOT_NAME = "跟单助手"
#: stand-in for "bot id or secret wrong": the real errcode is not documented
AUTH_ERRCODE = 40001
#: stand-in for "no such req_id / already answered" (undocumented)
BAD_REQ_ID = 40099
CONTENT_TOO_LARGE = 45002
INVALID_MSGTYPE = 40008
MAX_CONTENT_BYTES = 20480
_ANSWER_CMDS = {"aibot_respond_msg", "aibot_respond_update_msg", "aibot_respond_welcome_msg"}


@dataclass
class Sent:
    """A frame the bot sent that the fake accepted (or refused: ``errcode``)."""

    cmd: str
    req_id: str
    body: dict[str, Any]
    errcode: int = 0
    connection: int = 0


@dataclass
class _Conn:
    number: int
    ws: web.WebSocketResponse
    request: web.Request
    sent: int = 0
    #: a zombie: the socket stays open but nothing comes back
    silent: bool = False


class FakeWeComWS:
    """The fake; start with ``async with``. ``url`` is what ``GENDAN_WECOM_WS_URL`` takes."""

    def __init__(self, *, bot_id: str = BOT_ID, secret: str = BOT_SECRET) -> None:
        self.bot_id = bot_id
        self.secret = secret
        self.url = ""
        #: one entry per subscribe attempt: accepted or not
        self.subscribes: list[bool] = []
        self.connections = 0
        self.frames: list[dict[str, Any]] = []
        self.accepted: list[Sent] = []
        self.refused: list[Sent] = []
        #: every callback delivered, by req_id
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.unanswered: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.deliveries: dict[str, int] = {}
        #: refuse new connections (HTTP 503) while false
        self.accepting = True
        self.drop_after: int | None = None
        self.frames_before_subscribe = 0
        self._current: _Conn | None = None
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ---- server ----------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on a random port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/", self._handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self.url

    async def close(self) -> None:
        """Stop listening (open sockets are closed)."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def live(self) -> bool:
        """A subscribed connection is open."""
        return self._current is not None

    async def wait_subscribed(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` subscribes were accepted in total."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: sum(self.subscribes) >= count), timeout)

    async def wait_attempts(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` subscribes (accepted or not) arrived."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.subscribes) >= count), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handler(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            return web.Response(status=503, text="unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        conn = _Conn(self.connections, ws, request)
        subscribed = False
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.frames.append(frame)
                if conn.silent:
                    continue
                cmd, req_id = frame.get("cmd", ""), frame["headers"]["req_id"]
                body = frame.get("body") or {}
                if not subscribed:
                    if cmd != "aibot_subscribe":
                        self.frames_before_subscribe += 1
                        await ws.close()
                        break
                    ok = body.get("bot_id") == self.bot_id and body.get("secret") == self.secret
                    self.subscribes.append(ok)
                    if not ok:
                        await self._answer(ws, req_id, AUTH_ERRCODE, "invalid bot_id or secret")
                        await ws.close()
                        await self._notify()
                        break
                    subscribed = True
                    await self._answer(ws, req_id, 0)
                    self._current = conn
                    await self._notify()
                    for again in list(self.unanswered.values()):
                        await self._push(conn, again)
                    continue
                await self._frame(conn, cmd, req_id, body)
        finally:
            if self._current is conn:
                self._current = None
            await self._notify()
        return ws

    async def _answer(self, ws: web.WebSocketResponse, req_id: str, errcode: int, errmsg: str = "ok") -> None:
        if not ws.closed:
            await ws.send_str(json.dumps({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg}))

    async def _frame(self, conn: _Conn, cmd: str, req_id: str, body: dict[str, Any]) -> None:
        if cmd == "ping":
            await self._answer(conn.ws, req_id, 0)
            return
        sent = Sent(cmd, req_id, body, connection=conn.number)
        sent.errcode = self._check(cmd, req_id, body)
        (self.refused if sent.errcode else self.accepted).append(sent)
        if not sent.errcode and cmd in _ANSWER_CMDS:
            self.unanswered.pop(req_id, None)
        await self._answer(conn.ws, req_id, sent.errcode, "ok" if not sent.errcode else "refused")
        await self._notify()

    def _check(self, cmd: str, req_id: str, body: dict[str, Any]) -> int:
        if cmd in _ANSWER_CMDS:
            if req_id not in self.callbacks:
                return BAD_REQ_ID
            if any(s.req_id == req_id for s in self.accepted):
                return BAD_REQ_ID  # one answer per callback
        elif cmd == "aibot_send_msg":
            if not body.get("chatid"):
                return 40003
            if body.get("msgtype") not in ("markdown", "template_card"):
                return INVALID_MSGTYPE
        else:
            return INVALID_MSGTYPE
        kind = body.get("msgtype")
        part = body.get(kind) if isinstance(kind, str) else None
        content = part.get("content") if isinstance(part, dict) else None
        if isinstance(content, str) and len(content.encode()) > MAX_CONTENT_BYTES:
            return CONTENT_TOO_LARGE
        return 0

    async def _push(self, conn: _Conn, frame: dict[str, Any]) -> None:
        transport = conn.request.transport
        if conn.silent or conn.ws.closed or transport is None or transport.is_closing():
            return
        req_id = frame["headers"]["req_id"]
        self.deliveries[req_id] = self.deliveries.get(req_id, 0) + 1
        await conn.ws.send_str(json.dumps(frame, ensure_ascii=False))
        conn.sent += 1
        if self.drop_after is not None and conn.sent >= self.drop_after:
            self.drop_after = None
            self.drop()

    # ---- scripting -------------------------------------------------------------------

    async def deliver(self, body: dict[str, Any], cmd: str = "aibot_msg_callback", req_id: str | None = None) -> str:
        """Send a callback now (if connected) and keep it for re-delivery until it is answered."""
        req_id = req_id or f"{cmd}_{next(self._ids)}"
        frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
        self.callbacks[req_id] = frame
        self.unanswered[req_id] = frame
        if self._current is not None:
            await self._push(self._current, frame)
        return req_id

    async def redeliver(self, req_id: str) -> None:
        """The same frame once more (WeCom repeats callbacks)."""
        if self._current is not None:
            await self._push(self._current, self.callbacks[req_id])

    def drop_after_next(self, count: int) -> None:
        """Cut the current connection right after ``count`` more callbacks went out on it."""
        self.drop_after = (self._current.sent if self._current else 0) + count

    def go_silent(self) -> None:
        """The current connection stops answering and sending (TCP stays open)."""
        if self._current is not None:
            self._current.silent = True

    def drop(self) -> None:
        """Cut the TCP connection without a close frame."""
        conn, self._current = self._current, None
        if conn is not None and conn.request.transport is not None:
            conn.request.transport.abort()

    async def evict(self) -> None:
        """Another instance subscribed: ``disconnected_event``, then close."""
        conn, self._current = self._current, None
        if conn is None:
            return
        body = {"msgid": f"evt{next(self._ids)}", "create_time": 1, "aibotid": self.bot_id, "msgtype": "event",
                "event": {"eventtype": "disconnected_event"}}
        frame = {"cmd": "aibot_event_callback", "headers": {"req_id": f"evict_{next(self._ids)}"}, "body": body}
        await conn.ws.send_str(json.dumps(frame))
        await conn.ws.close()

    # ---- bodies ----------------------------------------------------------------------

    def text(self, user: str, text: str, *, chat: str | None = None, msgid: str | None = None,
             msgtype: str = "text") -> dict[str, Any]:
        """An ``aibot_msg_callback`` body: in group ``chat`` (mentioning the bot) or 1:1."""
        body: dict[str, Any] = {"msgid": msgid or f"MSG{next(self._ids)}", "aibotid": self.bot_id,
                                "chattype": "group" if chat else "single", "from": {"userid": user},
                                "msgtype": msgtype}
        if chat:
            body["chatid"] = chat
            text = f"@{BOT_NAME}\u2005{text}"
        body[msgtype] = {"content": text}
        return body

    def click(self, user: str, key: str, task_id: str, *, chat: str | None = None) -> dict[str, Any]:
        """An ``aibot_event_callback`` body for a button press."""
        body: dict[str, Any] = {
            "msgid": f"EVT{next(self._ids)}", "create_time": 1_800_000_000, "aibotid": self.bot_id,
            "chattype": "group" if chat else "single", "from": {"userid": user}, "msgtype": "event",
            "event": {"eventtype": "template_card_event",
                      "template_card_event": {"card_type": "button_interaction", "event_key": key,
                                              "task_id": task_id}}}
        if chat:
            body["chatid"] = chat
        return body

    def enter_chat(self, user: str) -> dict[str, Any]:
        """An ``enter_chat`` event body (a person opens the bot's 1:1 chat)."""
        return {"msgid": f"EVT{next(self._ids)}", "create_time": 1_800_000_000, "aibotid": self.bot_id,
                "chattype": "single", "from": {"userid": user}, "msgtype": "event",
                "event": {"eventtype": "enter_chat"}}

    # ---- what the bot sent -----------------------------------------------------------

    def answers(self, req_id: str) -> list[Sent]:
        """Accepted answers on one callback's req_id."""
        return [s for s in self.accepted if s.req_id == req_id]

    def pushes(self, chat: str) -> list[Sent]:
        """Accepted ``aibot_send_msg`` frames to one chat."""
        return [s for s in self.accepted if s.cmd == "aibot_send_msg" and s.body.get("chatid") == chat]

    def texts(self, sent: list[Sent]) -> list[str]:
        """The markdown / stream / text content of frames."""
        out = []
        for s in sent:
            kind = s.body.get("msgtype")
            part = s.body.get(kind) if isinstance(kind, str) else None
            if isinstance(part, dict) and isinstance(part.get("content"), str):
                out.append(part["content"])
        return out
