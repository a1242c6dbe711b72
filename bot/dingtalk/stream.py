"""DingTalk Stream mode: the robot's messages and card clicks over an outbound WebSocket.

No public URL is needed: the bot asks the gateway for a connection
(``POST {dingtalk_api_base}/v1.0/gateway/connections/open`` with the AppKey, the
AppSecret and the topics it wants), then opens the returned endpoint with the
single-use ticket. Frames are translated by the same pure functions as the HTTP
callbacks (:mod:`bot.dingtalk.inbound`), so both modes give the same event ids and
dedupe against each other, and go to the same sink. Replies never go back over the
socket; they leave through the outbox (sessionWebhook or OpenAPI).

Order of work for a CALLBACK frame: verify and translate, ``sink.submit`` (inbox
insert; the dispatcher runs the command in a background task), then the ack. An
inbox failure sends no ack, so DingTalk redelivers. Reconnects:

* SYSTEM ``disconnect``: DingTalk stops delivering on that socket although TCP stays
  up for a while, so a new connection (new ticket) is opened at once, *before* the
  old one is closed (warm);
* a socket that carried no frame for ``Timings.idle`` seconds (DingTalk's own pings
  included), or a wall-clock jump, is dead (:class:`bot.longconn.Watchdog`);
* a dropped socket reconnects at once if it had been up for ``Timings.proven_after``,
  else after the backoff (1 s doubling to 60 s, jittered), inside DingTalk's redelivery
  window of about a minute;
* the gateway refusing the credentials (4xx) is ``auth_failed``: one ERROR line, then
  slow retries (``auth_retry`` doubling to ``auth_retry_max``) with a WARNING each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import platform
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.config import Settings
from bot.dingtalk.inbound import PayloadError, action_from_card_callback, message_from_robot
from bot.dingtalk.stream_frames import (
    CALLBACK,
    DISCONNECT,
    PING,
    SYSTEM,
    TOPIC_CARD,
    TOPIC_ROBOT,
    Frame,
    FrameError,
    ack,
    callback_ack,
    open_body,
    parse_frame,
)
from bot.dingtalk.trust import InboundTrust
from bot.events import Inbound
from bot.longconn import Backoff, Connections, ConnectionStatus, Watchdog
from bot.transport import InboundSink, Transport

log = logging.getLogger("gendan.dingtalk.stream")

OPEN_PATH = "/v1.0/gateway/connections/open"
UA = f"gendan/dingtalk-stream Python/{platform.python_version()}"


@dataclass(frozen=True)
class Timings:
    """Every wait of the connection, in seconds (tests shrink them)."""

    #: no frame at all for this long means the socket is dead
    idle: float = 60.0
    #: a wall-clock jump this much bigger than the monotonic clock's means we slept
    jump: float = 30.0
    #: WebSocket ping interval (aiohttp closes the socket if no pong within half of it)
    heartbeat: float = 30.0
    #: gateway open plus WebSocket handshake
    open_timeout: float = 10.0
    #: our close handshake on a socket we leave
    close_timeout: float = 2.0
    first_retry: float = 1.0
    max_retry: float = 60.0
    #: first wait after the gateway refused the credentials, and its cap
    auth_retry: float = 60.0
    auth_retry_max: float = 600.0
    #: a socket up this long has proved itself: a drop then reconnects at once
    proven_after: float = 30.0


#: what :func:`add_long_connection` uses; tests replace it
TIMINGS = Timings()


class _Refused(Exception):
    """The gateway refused the credentials or the request (4xx): retrying soon will not help."""


class _Unavailable(Exception):
    """The gateway is down, slow or answered nonsense: retry with the normal backoff."""


class _Socket:
    """One open WebSocket and the task reading it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, timings: Timings) -> None:
        self.ws = ws
        self.opened = time.monotonic()
        self.watchdog = Watchdog(timings.idle, timings.jump)
        #: set on SYSTEM disconnect: open a new connection, then close this one
        self.leave = asyncio.Event()
        self.reason = ""
        self.task: asyncio.Task[None] | None = None
        #: clear while a frame is being handled, so that a socket we leave finishes it first
        self.idle = asyncio.Event()
        self.idle.set()

    def up_for(self) -> float:
        return time.monotonic() - self.opened

    async def wait(self, stop: asyncio.Event) -> str:
        """``"stop"``, ``"leave"`` (DingTalk asked us to go) or ``"lost"`` (the reader ended)."""
        assert self.task is not None
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.leave.wait())}
        try:
            await asyncio.wait({self.task, *waiters}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if stop.is_set():
            return "stop"
        if self.task.done():
            return "lost"
        return "leave"

    async def close(self, timeout: float) -> None:
        """Close the socket and wait for its reader (cancelled if it does not end in time).

        A frame being handled is finished first: its ack still goes out on this socket.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), timeout)
        if self.task is not None and not self.task.done():
            _done, pending = await asyncio.wait({self.task}, timeout=timeout)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


class StreamConnection:
    """The Stream connection of one app robot (a :class:`bot.longconn.LongConnection`)."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings, sink: InboundSink, *,
                 timings: Timings = TIMINGS, name: str = "dingtalk") -> None:
        self.status = ConnectionStatus(name)
        self._session = session
        self._sink = sink
        self._t = timings
        self._open_url = settings.dingtalk_api_base.rstrip("/") + OPEN_PATH
        self._client_id = settings.dingtalk_app_key
        self._secret = settings.dingtalk_app_secret
        self._trust = InboundTrust(settings)
        self._backoff = Backoff(timings.first_retry, timings.max_retry)
        self._auth_backoff = Backoff(timings.auth_retry, timings.auth_retry_max)
        self._auth_logged = ""

    # ---- the loop -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve frames, reconnect on loss; return soon after ``stop`` is set."""
        current: _Socket | None = None
        try:
            while not stop.is_set():
                if current is None:
                    current = await self._connect(stop, warm=False)
                    if current is None:
                        return
                outcome = await current.wait(stop)
                if outcome == "stop":
                    return
                if outcome == "leave":
                    log.info("dingtalk stream: DingTalk asked us to reconnect; opening a new connection first")
                    fresh = await self._connect(stop, warm=True)
                    await current.close(self._t.close_timeout)
                    current = fresh
                    continue
                reason = current.reason or "connection closed"
                proven = current.up_for() >= self._t.proven_after
                await current.close(self._t.close_timeout)
                current = None
                self.status.set("backoff", reason)
                if proven:
                    self._backoff.reset()
                    log.warning("dingtalk stream lost (%s); reconnecting now", reason)
                    continue
                wait = self._backoff.next()
                log.warning("dingtalk stream lost (%s); reconnecting in %.1f s", reason, wait)
                if await _sleep(stop, wait):
                    return
        finally:
            if current is not None:
                await current.close(self._t.close_timeout)

    async def _connect(self, stop: asyncio.Event, *, warm: bool) -> _Socket | None:
        """A new open socket, retrying with backoff; None once ``stop`` is set."""
        while not stop.is_set():
            # also when warm: the old socket no longer delivers, and the new one counts as a reconnect
            self.status.set("connecting")
            try:
                async with asyncio.timeout(self._t.open_timeout):
                    endpoint, ticket = await self._open()
                    ws = await self._session.ws_connect(
                        URL(f"{endpoint}?ticket={quote(ticket, safe='')}", encoded=True),
                        heartbeat=self._t.heartbeat or None,
                        timeout=aiohttp.ClientWSTimeout(ws_close=self._t.close_timeout),
                    )
            except _Refused as exc:
                wait = self._auth_backoff.next()
                self.status.set("auth_failed", str(exc))
                if str(exc) != self._auth_logged:
                    self._auth_logged = str(exc)
                    log.error("dingtalk stream: the gateway refused AppKey %s (%s); check GENDAN_DINGTALK_APP_KEY "
                              "and GENDAN_DINGTALK_APP_SECRET; retrying in %.0f s", self._client_id, exc, wait)
                else:
                    log.warning("dingtalk stream: still refused (%s); retrying in %.0f s", exc, wait)
            except (_Unavailable, aiohttp.ClientError, OSError, TimeoutError) as exc:
                wait = self._backoff.next()
                reason = str(exc) if isinstance(exc, _Unavailable) else f"connect failed: {type(exc).__name__}"
                self.status.set("backoff", reason)
                log.warning("dingtalk stream: %s; retrying in %.1f s", reason, wait)
            else:
                sock = _Socket(ws, self._t)
                sock.task = asyncio.create_task(self._serve(sock), name="dingtalk-stream-reader")
                self._auth_backoff.reset()
                self._auth_logged = ""
                self.status.set("connected")
                log.info("dingtalk stream connected%s", " (warm reconnect)" if warm else "")
                return sock
            if await _sleep(stop, wait):
                return None
        return None

    async def _open(self) -> tuple[str, str]:
        """``POST .../gateway/connections/open`` → (endpoint, ticket)."""
        body = open_body(self._client_id, self._secret.get_secret_value(), UA)
        try:
            async with self._session.post(self._open_url, json=body) as resp:
                status, text = resp.status, await resp.text()
        except (aiohttp.ClientError, OSError) as exc:
            raise _Unavailable(f"gateway unreachable: {type(exc).__name__}") from exc
        try:
            data: Any = json.loads(text) if text.strip() else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        if 400 <= status < 500 and status not in (408, 429):
            code = str(data.get("code", ""))[:80]
            raise _Refused(f"HTTP {status} {code}".strip())
        if status >= 300:
            raise _Unavailable(f"gateway answered HTTP {status}")
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not (isinstance(endpoint, str) and endpoint.startswith(("ws://", "wss://"))
                and isinstance(ticket, str) and ticket):
            raise _Unavailable("gateway answer without endpoint and ticket")
        return endpoint, ticket

    # ---- one socket -----------------------------------------------------------------

    async def _serve(self, sock: _Socket) -> None:
        """Read frames until the socket closes or the watchdog calls it dead."""
        check = max(0.05, min(5.0, self._t.idle / 4))
        ws = sock.ws
        while True:
            try:
                # one deadline for the whole receive: aiohttp restarts its own receive timeout after
                # every ping/pong, so with WebSocket keepalives flowing a zombie would never be seen
                async with asyncio.timeout(check):
                    msg = await ws.receive()
            except TimeoutError:
                if sock.watchdog.dead():
                    sock.reason = f"dead socket: {sock.watchdog.reason}"
                    return
                continue
            if msg.type == aiohttp.WSMsgType.TEXT:
                sock.watchdog.note()
                sock.idle.clear()
                try:
                    await self._on_frame(sock, msg.data)
                except Exception:  # a bug on one frame must not end the connection
                    self.status.frames_bad += 1
                    log.exception("dingtalk stream: frame handling failed")
                finally:
                    sock.idle.set()
                if sock.watchdog.dead():  # only a clock jump can fire right after a frame
                    sock.reason = f"dead socket: {sock.watchdog.reason}"
                    return
            elif msg.type == aiohttp.WSMsgType.BINARY:
                sock.watchdog.note()
                self.status.frames_in += 1
                self.status.frames_bad += 1
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                sock.reason = f"socket closed ({ws.close_code})" if msg.type != aiohttp.WSMsgType.ERROR \
                    else f"socket error: {type(msg.data).__name__}"
                return

    async def _send(self, sock: _Socket, frame: str) -> None:
        try:
            await sock.ws.send_str(frame)
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            # the reader sees the close; an unacked frame is redelivered and deduped
            log.warning("dingtalk stream: ack not sent (%s)", type(exc).__name__)
            return
        self.status.frames_out += 1
        self.status.acks += 1

    async def _on_frame(self, sock: _Socket, raw: str) -> None:
        self.status.frames_in += 1
        try:
            frame = parse_frame(raw)
        except FrameError as exc:
            self.status.frames_bad += 1
            log.warning("dingtalk stream: unusable frame (%s)", exc)
            return
        if frame.type == SYSTEM:
            if frame.topic not in (PING, DISCONNECT):
                self.status.frames_bad += 1
                log.info("dingtalk stream: unknown SYSTEM topic %r acked", frame.topic[:80])
            if frame.message_id:
                await self._send(sock, ack(frame.message_id, frame.data or "{}"))
            if frame.topic == DISCONNECT:
                sock.leave.set()
            return
        if frame.type == CALLBACK and frame.topic in (TOPIC_ROBOT, TOPIC_CARD):
            answer = await self._callback(frame)
            if answer is not None and frame.message_id:
                await self._send(sock, answer)
            return
        # EVENT frames (not subscribed) and topics we never asked for: acked "no handler", counted
        self.status.frames_bad += 1
        log.info("dingtalk stream: no handler for %s %r", frame.type[:20] or "(no type)", frame.topic[:80])
        if frame.message_id:
            await self._send(sock, callback_ack(frame.message_id, None, code=404, message="no handler"))

    async def _callback(self, frame: Frame) -> str | None:
        """The ack for a robot message or card click, after the inbox took it; None: do not ack."""
        event: Inbound
        try:
            data = frame.data_object()
            if frame.topic == TOPIC_ROBOT:
                refusal = self._trust.robot_refusal(data)
                if refusal is not None:
                    # acked so DingTalk does not keep redelivering; nothing is recorded or run
                    log.warning("dingtalk stream: message %s refused: %s", frame.message_id[:64], refusal)
                    return callback_ack(frame.message_id, None, message="refused")
                event = self._trust.screen(message_from_robot(data))
                response: Any = "OK"
            else:
                event = action_from_card_callback(data)
                response = {}  # the card is updated later through PUT /v1.0/card/instances
        except (FrameError, PayloadError) as exc:
            self.status.frames_bad += 1
            log.warning("dingtalk stream: unusable %s frame (%s)", frame.topic, exc)
            return callback_ack(frame.message_id, None, code=400, message="bad request")
        try:
            await self._sink.submit(event)
        except Exception:
            log.exception("dingtalk stream: could not record event %s; not acking so DingTalk redelivers",
                          event.event_id)
            return None
        return callback_ack(frame.message_id, response)


async def _sleep(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop``; True if stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


def add_long_connection(connections: Connections, transports: dict[str, Transport], session: aiohttp.ClientSession,
                        settings: Settings, sink: InboundSink, **kwargs: Any) -> None:
    """Register the Stream connection when ``GENDAN_DINGTALK_MODE=stream`` and the app keys are set.

    ``transports`` is unused: replies leave through the HTTP APIs, never over the socket.
    """
    if settings.dingtalk_mode != "stream":
        return
    if not settings.dingtalk_on:
        log.warning("GENDAN_DINGTALK_MODE=stream but GENDAN_DINGTALK_APP_KEY/_APP_SECRET are not set: "
                    "the DingTalk Stream connection is off")
        return
    connections.add(StreamConnection(session, settings, sink, timings=kwargs.get("timings", TIMINGS)))
