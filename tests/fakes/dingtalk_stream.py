"""The Stream half of the fake DingTalk: the gateway open endpoint and the ``/connect`` WebSocket.

Mounted on :class:`tests.fakes.dingtalk_server.FakeDingTalk` (same port, same call log).
``POST /v1.0/gateway/connections/open`` checks clientId, clientSecret and the two
CALLBACK subscriptions and hands out a single-use ticket (with ``+``, ``/`` and ``=``
in it, so a ticket that is not URL-encoded arrives mangled and is refused).
``GET /connect?ticket=`` refuses unknown and reused tickets with HTTP 401. Tests
push frames as DingTalk would and read what the bot sent back (acks), each with
the monotonic time it arrived.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.fakes.dingtalk_server import FakeDingTalk

OPEN_PATH = "/v1.0/gateway/connections/open"
TOPIC_ROBOT = "/v1.0/im/bot/messages/get"
TOPIC_CARD = "/v1.0/card/instances/callback"
WANTED = [{"type": "CALLBACK", "topic": TOPIC_ROBOT}, {"type": "CALLBACK", "topic": TOPIC_CARD}]


@dataclass
class FakeSocket:
    """One bot connection to the fake."""

    no: int
    ticket: str
    ws: web.WebSocketResponse
    request: web.Request
    opened_at: float = field(default_factory=time.monotonic)
    closed_at: float | None = None
    #: what the bot sent: (monotonic arrival time, decoded frame or the raw text)
    received: list[tuple[float, Any]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.closed_at is None


async def until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class FakeStream:
    """Gateway plus sockets; reach it as ``fake.stream``."""

    def __init__(self, fake: FakeDingTalk) -> None:
        self.fake = fake
        self.sockets: list[FakeSocket] = []
        #: tickets handed out and not yet used
        self.unused_tickets: set[str] = set()
        #: tickets presented to /connect that were refused
        self.refused_tickets: list[str] = []
        #: message id -> monotonic time the fake pushed it
        self.pushed_at: dict[str, float] = {}
        self._ids = itertools.count(1)

    def mount(self, app: web.Application) -> None:
        """Add the gateway routes to the fake's application."""
        app.router.add_post(OPEN_PATH, self._open)
        app.router.add_get("/connect", self._connect)

    async def close(self) -> None:
        """Close every socket still open (before the fake stops listening)."""
        for sock in self.sockets:
            if sock.open:
                await sock.ws.close()

    # ---- endpoints ------------------------------------------------------------------

    async def _open(self, request: web.Request) -> web.Response:
        call, failed = await self.fake._record(request)
        if failed:
            return failed
        body = call.json or {}
        if body.get("clientId") != self.fake.app_key or body.get("clientSecret") != self.fake.app_secret:
            return web.json_response({"code": "invalidClientIdOrSecret", "message": "clientId or secret is wrong",
                                      "requestid": "r"}, status=401)
        subs = body.get("subscriptions")
        if not isinstance(subs, list) or any(s not in subs for s in WANTED):
            return web.json_response({"code": "invalidParameter.subscriptions", "message": "x"}, status=400)
        ticket = f"tk+{next(self._ids)}/{secrets.token_urlsafe(8)}="
        self.unused_tickets.add(ticket)
        endpoint = self.fake.url.replace("http://", "ws://", 1) + "/connect"
        return web.json_response({"endpoint": endpoint, "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.unused_tickets:
            self.refused_tickets.append(ticket)
            return web.json_response({"code": "invalidTicket"}, status=401)
        self.unused_tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sock = FakeSocket(len(self.sockets) + 1, ticket, ws, request)
        self.sockets.append(sock)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        frame: Any = json.loads(msg.data)
                    except ValueError:
                        frame = msg.data
                    sock.received.append((time.monotonic(), frame))
        finally:
            sock.closed_at = time.monotonic()
        return ws

    # ---- scripting ------------------------------------------------------------------

    def live(self) -> FakeSocket:
        """The newest open socket."""
        open_ = [s for s in self.sockets if s.open]
        assert open_, "no open stream socket"
        return open_[-1]

    async def wait_sockets(self, n: int, timeout: float = 30.0) -> FakeSocket:
        """Wait until ``n`` sockets have been opened; returns the n-th."""
        await until(lambda: len(self.sockets) >= n, timeout, f"stream socket #{n}")
        return self.sockets[n - 1]

    async def push(self, frame: dict[str, Any] | str, sock: FakeSocket | None = None) -> FakeSocket:
        """Send a frame (a dict, or raw text for malformed frames) on ``sock`` or the newest socket."""
        sock = sock or self.live()
        if isinstance(frame, dict):
            mid = frame.get("headers", {}).get("messageId")
            if mid:
                self.pushed_at[mid] = time.monotonic()
        await sock.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))
        return sock

    def frame(self, kind: str, topic: str, data: Any, message_id: str | None = None) -> dict[str, Any]:
        """A server frame; ``data`` is JSON-encoded unless already a string."""
        return {
            "specVersion": "1.0",
            "type": kind,
            "headers": {"appId": "app-1", "connectionId": "c-1", "contentType": "application/json",
                        "messageId": message_id or f"mid-{next(self._ids)}", "time": str(int(time.time() * 1000)),
                        "topic": topic},
            "data": data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
        }

    async def robot(self, body: dict[str, Any], message_id: str | None = None,
                    sock: FakeSocket | None = None) -> str:
        """Push a robot message; returns the frame's messageId."""
        frame = self.frame("CALLBACK", TOPIC_ROBOT, body, message_id)
        await self.push(frame, sock)
        return str(frame["headers"]["messageId"])

    async def card(self, data: dict[str, Any], message_id: str | None = None) -> str:
        """Push a card click; returns the frame's messageId."""
        frame = self.frame("CALLBACK", TOPIC_CARD, data, message_id)
        await self.push(frame)
        return str(frame["headers"]["messageId"])

    async def system(self, topic: str, data: Any = None, sock: FakeSocket | None = None) -> str:
        """Push a SYSTEM frame (``ping``, ``disconnect``); returns its messageId."""
        frame = self.frame("SYSTEM", topic, data if data is not None else {})
        await self.push(frame, sock)
        return str(frame["headers"]["messageId"])

    def acks(self, message_id: str) -> list[tuple[FakeSocket, float, dict[str, Any]]]:
        """Every ack the bot sent for ``message_id``: (socket, arrival time, frame)."""
        return [(s, t, f) for s in self.sockets for t, f in s.received
                if isinstance(f, dict) and f.get("headers", {}).get("messageId") == message_id]

    async def ack_for(self, message_id: str, timeout: float = 30.0) -> tuple[FakeSocket, float, dict[str, Any]]:
        """Wait for the bot's ack of ``message_id``."""
        found = await until(lambda: self.acks(message_id), timeout, f"ack of {message_id}")
        return found[0]  # type: ignore[no-any-return]

    def drop(self, sock: FakeSocket) -> None:
        """Cut the TCP connection under ``sock`` (no close frame)."""
        transport = sock.request.transport
        assert transport is not None
        transport.abort()
