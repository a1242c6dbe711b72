"""WeCom 智能机器人 (AI bot) long connection: one WebSocket per bot, no public URL needed.

The bot opens ``wss://openws.work.weixin.qq.com`` (``GENDAN_WECOM_WS_URL``) itself and
authenticates with ``aibot_subscribe {bot_id, secret}``; nothing else is sent before that
is answered with errcode 0. Then, per connection:

* a reader takes every frame off the socket at once and never waits for the database:
  callbacks go into a bounded intake queue (in arrival order), answers to our frames
  resolve the request that waits for them;
* the intake task translates a callback with the same parse functions as the HTTP
  AI-bot callback (the frame body is that callback's JSON), adds the frame's ``req_id``
  to the reply hints and submits it to the inbox (deduplicated by ``msgid``, as over
  HTTP). A frame counts as acknowledged (``acks``) once it is in the inbox;
* a ``ping`` every 30 s; the :class:`~bot.longconn.Watchdog` drops a socket that carried
  no frame for 60 s, and drops it at once after a wall-clock jump.

A lost connection is reopened with :class:`~bot.longconn.Backoff` (1 s doubling to 60 s,
jitter). A refused subscribe (wrong id or secret) is one ERROR line per attempt, state
``auth_failed``, and slow retries (60 s doubling to 15 min). ``disconnected_event`` means
another connection subscribed for the same bot: state ``evicted``, a WARNING, and a long
wait (10 min doubling to 1 h) instead of evicting it back at once.

Replies and pushes leave through the outbox: :class:`~bot.wecom.transport.WeComTransport`
calls :meth:`AibotConnection.request`, which raises a transient error while the socket is
down so that the outbox retries later.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

import bot.wecom.frames as frames
from bot.events import CardAction, DirectoryEvent, Inbound
from bot.longconn import Backoff, ConnectionStatus, Watchdog
from bot.transport import InboundSink
from bot.wecom.client import BUSY_ERRORS, WeComPermanentError, WeComTransientError
from bot.wecom.inbound import MalformedPayload, parse_aibot_payload

log = logging.getLogger("gendan.wecom.longconn")

NAME = "wecom_aibot"
#: what a person opening the bot's 1:1 chat (``enter_chat``) is answered with
WELCOME_COMMAND = "/帮助"
_MAX_FRAME = 4 * 1024 * 1024
Outcome = Literal["stopped", "lost", "auth_failed", "evicted"]


@dataclass(frozen=True)
class Timing:
    """Every interval of the connection in seconds (tests shrink them)."""

    heartbeat: float = 30.0
    #: no frame at all (pongs and acks count) for this long: the socket is dead
    idle: float = 60.0
    #: wall clock moved this much more than the monotonic clock: the machine slept
    clock_jump: float = 30.0
    watchdog_every: float = 1.0
    ack_timeout: float = 5.0
    connect_timeout: float = 10.0
    #: a connection up this long has proved itself: the next loss backs off from the start
    stable_after: float = 60.0
    first_backoff: float = 1.0
    max_backoff: float = 60.0
    auth_first: float = 60.0
    auth_max: float = 900.0
    evicted_first: float = 600.0
    evicted_max: float = 3600.0
    submit_tries: int = 3


#: tests replace this (``monkeypatch.setattr``) before the app starts
DEFAULT_TIMING = Timing()


class NotConnected(WeComTransientError):
    """The long connection is down (or not yet subscribed); the outbox retries later."""


class AibotConnection:
    """The long connection of one AI bot (implements :class:`bot.longconn.LongConnection`)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, bot_id: str, secret: str, sink: InboundSink, *,
                 corp_id: str = "", timing: Timing = DEFAULT_TIMING, clock: Callable[[], float] = time.time) -> None:
        self.status = ConnectionStatus(NAME)
        self.timing = timing
        self._session = session
        self._url = url
        self._bot_id = bot_id
        self._secret = secret
        self._sink = sink
        self._corp_id = corp_id
        self._clock = clock
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[frames.Frame]] = {}
        self._send_lock = asyncio.Lock()
        self._backoff = Backoff(timing.first_backoff, timing.max_backoff)
        self._auth_backoff = Backoff(timing.auth_first, timing.auth_max)
        self._evicted_backoff = Backoff(timing.evicted_first, timing.evicted_max)

    @property
    def connected(self) -> bool:
        """Subscribed and frames flowing: replies and pushes can leave now."""
        return self._ws is not None and self.status.connected

    # ---- the loop --------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve, reconnect; return soon after ``stop`` is set."""
        while not stop.is_set():
            outcome = await self._session_once(stop)
            if outcome == "stopped" or stop.is_set():
                break
            if outcome == "auth_failed":
                wait = self._auth_backoff.next()
                log.info("wecom ai bot: next subscribe attempt in %.0f s", wait)
            elif outcome == "evicted":
                wait = self._evicted_backoff.next()
                log.warning("wecom ai bot: another connection holds bot %s (a second `gendan serve` with the same "
                            "GENDAN_WECOM_AIBOT_ID?); run one per bot. Trying again in %.0f s", self._bot_id, wait)
            else:
                wait = self._backoff.next()
                self.status.set("backoff")
                log.info("wecom ai bot: reconnecting in %.1f s", wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        self.status.set("stopped")

    async def _session_once(self, stop: asyncio.Event) -> Outcome:
        self.status.set("connecting")
        try:
            # our own limit for the handshake; once open, only the watchdog decides a socket is dead
            ws = await asyncio.wait_for(self._session.ws_connect(
                self._url, heartbeat=None, autoping=True, max_msg_size=_MAX_FRAME,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
            ), self.timing.connect_timeout)
            async with ws:
                return await self._serve(ws, stop)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # the type only: aiohttp's text may carry the URL (no secret there, but keep logs lean)
            self.status.set("backoff", f"connect failed: {type(exc).__name__}")
            log.warning("wecom ai bot: connection failed (%s)", type(exc).__name__)
            return "lost"
        finally:
            self._ws = None
            self._fail_pending()

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> Outcome:
        if not await self._subscribe(ws):
            return "auth_failed"
        self._ws = ws
        self.status.set("connected", "")
        self._auth_backoff.reset()
        self._evicted_backoff.reset()
        opened = time.monotonic()
        log.info("wecom ai bot: subscribed, long connection up")
        watchdog = Watchdog(self.timing.idle, self.timing.clock_jump)
        intake: asyncio.Queue[frames.Frame] = asyncio.Queue(maxsize=1000)
        tasks = {
            asyncio.create_task(self._read(ws, watchdog, intake), name="wecom-ws-read"): "read",
            asyncio.create_task(self._intake(intake), name="wecom-ws-intake"): "intake",
            asyncio.create_task(self._heartbeat(), name="wecom-ws-ping"): "ping",
            asyncio.create_task(self._watch(watchdog), name="wecom-ws-watchdog"): "watchdog",
            asyncio.create_task(stop.wait(), name="wecom-ws-stop"): "stop",
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            first = next(iter(done))
            result = first.result() if not first.cancelled() and first.exception() is None else None
            if first.exception() is not None:
                log.error("wecom ai bot: %s task failed", tasks[first], exc_info=first.exception())
        finally:
            # stop reading first, then let frames already taken off the socket reach the inbox
            self._ws = None
            for task, role in tasks.items():
                if role != "intake":
                    task.cancel()
            await self._finish_intake(intake, tasks)
            with contextlib.suppress(Exception):
                await ws.close()
        if time.monotonic() - opened >= self.timing.stable_after:
            self._backoff.reset()
        if tasks[first] == "stop":
            return "stopped"
        if result == "evicted":
            self.status.set("evicted", "another connection subscribed for this bot")
            return "evicted"
        self.status.set("backoff", str(result or tasks[first]))
        return "lost"

    async def _finish_intake(self, intake: asyncio.Queue[frames.Frame], tasks: dict[asyncio.Task[Any], str]) -> None:
        task = next(t for t, role in tasks.items() if role == "intake")
        if not task.done():
            try:
                await asyncio.wait_for(intake.put(_END), 10.0)
                await asyncio.wait_for(task, 10.0)  # cancels the task when the inbox hangs
            except TimeoutError:
                log.warning("wecom ai bot: frames still queued at disconnect are left to WeCom's re-delivery")
            except Exception:
                log.exception("wecom ai bot: intake failed")
        # children's outcomes (cancelled, failed) are results here; our own cancellation still propagates
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        req_id = frames.new_req_id(frames.SUBSCRIBE)
        await ws.send_str(frames.encode(frames.SUBSCRIBE, req_id, frames.subscribe_body(self._bot_id, self._secret)))
        self.status.frames_out += 1
        deadline = time.monotonic() + self.timing.ack_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            msg = await ws.receive(timeout=remaining)
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raise ConnectionResetError("closed during subscribe")
            self.status.frames_in += 1
            try:
                frame = frames.parse(msg.data)
            except frames.BadFrame:
                self.status.frames_bad += 1
                continue
            if frame.is_answer and frame.req_id == req_id:
                break
        if frame.errcode == 0:
            return True
        # once per attempt, and attempts are minutes apart: clear without flooding the log
        error = f"subscribe refused: errcode {frame.errcode} {frame.errmsg}".strip()
        self.status.set("auth_failed", error)
        log.error("wecom ai bot: %s; check GENDAN_WECOM_AIBOT_ID and GENDAN_WECOM_AIBOT_SECRET "
                  "(智能机器人 → API 模式 → 长连接)", error)
        return False

    # ---- per-connection tasks --------------------------------------------------------

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, watchdog: Watchdog,
                    intake: asyncio.Queue[frames.Frame]) -> str:
        while True:
            msg = await ws.receive()
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return f"socket closed ({msg.type.name.lower()})"
            watchdog.note()
            self.status.frames_in += 1
            try:
                frame = frames.parse(msg.data)
            except frames.BadFrame as exc:
                self.status.frames_bad += 1
                log.warning("wecom ai bot: unusable frame ignored (%s)", exc)
                continue
            if frame.is_answer:
                future = self._pending.get(frame.req_id)
                if future is not None and not future.done():
                    future.set_result(frame)
                continue
            if frame.cmd == frames.EVENT_CALLBACK and frame.event_type == frames.DISCONNECTED_EVENT:
                return "evicted"
            if frame.cmd not in frames.CALLBACKS:
                self.status.frames_bad += 1
                log.info("wecom ai bot: frame with unknown cmd %r ignored", frame.cmd[:40])
                continue
            await intake.put(frame)  # waits only when 1000 frames are queued (back-pressure)

    async def _intake(self, intake: asyncio.Queue[frames.Frame]) -> str:
        while True:
            frame = await intake.get()
            if frame is _END:
                return "intake closed"
            if not await self._submit(frame):
                # not recorded: WeCom must deliver it again, so this connection has to go
                return "inbox unavailable"

    async def _submit(self, frame: frames.Frame) -> bool:
        try:
            event = self.translate(frame)
        except MalformedPayload as exc:
            self.status.frames_bad += 1
            log.warning("wecom ai bot: callback %s ignored: %s", frame.cmd, exc)
            return True
        if event is None:
            return True
        for attempt in range(1, self.timing.submit_tries + 1):
            try:
                fresh = await self._sink.submit(event)
            except Exception:
                log.exception("wecom ai bot: event %s could not be recorded (try %s)", event.event_id, attempt)
                await asyncio.sleep(0.5 * attempt)
                continue
            self.status.acks += 1
            log.debug("wecom ai bot: event %s submitted (new=%s)", event.event_id, fresh)
            return True
        return False

    def translate(self, frame: frames.Frame) -> Inbound | None:
        """A callback frame → an inbound event whose replies can answer on the frame's ``req_id``."""
        now = self._clock()
        event = parse_aibot_payload(frame.body, self._corp_id, now, enter_chat_text=WELCOME_COMMAND)
        if event is None or isinstance(event, DirectoryEvent):
            return None
        if isinstance(event, CardAction):
            # a press's req_id answers with the card update (aibot_respond_update_msg), so it goes
            # into the card handle; text replies to the press are pushed
            ref = {**event.card_ref, "channel": "aibot_ws", "req_id": frame.req_id, "req_at": now,
                   "userid": event.actor.user_id}
            return dataclasses.replace(event, card_ref=ref)
        return dataclasses.replace(event, reply_hints={**event.reply_hints, "ws_req_id": frame.req_id,
                                                       "ws_req_at": now})

    async def _heartbeat(self) -> str:
        while True:
            await asyncio.sleep(self.timing.heartbeat)
            try:
                # the answer is a frame like any other: it feeds the watchdog; its errcode is not ours to judge
                await self.request(frames.PING, None, check=False)
            except WeComTransientError as exc:
                log.info("wecom ai bot: ping unanswered (%s)", exc)

    async def _watch(self, watchdog: Watchdog) -> str:
        while True:
            await asyncio.sleep(self.timing.watchdog_every)
            if watchdog.dead():
                log.warning("wecom ai bot: connection considered dead (%s); reconnecting", watchdog.reason)
                return f"dead: {watchdog.reason}"

    # ---- requests --------------------------------------------------------------------

    async def request(self, cmd: str, body: dict[str, Any] | None, *, req_id: str | None = None,
                      check: bool = True) -> frames.Frame:
        """Send one frame and wait for WeCom's answer (same ``req_id``).

        Raises :class:`NotConnected` while the socket is down, :class:`WeComTransientError`
        for a missing answer or a busy errcode, :class:`WeComPermanentError` for any other
        non-zero errcode (unless ``check`` is false).
        """
        ws = self._ws
        if ws is None or not self.status.connected:
            raise NotConnected("wecom ai bot long connection is down", 5.0)
        req_id = req_id or frames.new_req_id(cmd)
        # one frame in flight at a time: two frames with one req_id would share one answer
        async with self._send_lock:
            if self._ws is not ws:
                raise NotConnected("wecom ai bot long connection was replaced", 5.0)
            future: asyncio.Future[frames.Frame] = asyncio.get_running_loop().create_future()
            self._pending[req_id] = future
            try:
                await ws.send_str(frames.encode(cmd, req_id, body))
                self.status.frames_out += 1
                answer = await asyncio.wait_for(future, self.timing.ack_timeout)
            except TimeoutError:
                raise WeComTransientError(f"wecom {cmd}: no answer within {self.timing.ack_timeout:.0f} s",
                                          5.0) from None
            except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
                raise NotConnected(f"wecom {cmd}: {type(exc).__name__}", 5.0) from None
            finally:
                self._pending.pop(req_id, None)
        if check and answer.errcode:
            if answer.errcode in BUSY_ERRORS:
                raise WeComTransientError(f"wecom {cmd}: errcode {answer.errcode} {answer.errmsg}",
                                          BUSY_ERRORS[answer.errcode], answer.errcode)
            raise WeComPermanentError(f"wecom {cmd}: errcode {answer.errcode} {answer.errmsg}", answer.errcode)
        return answer

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NotConnected("wecom ai bot long connection lost", 5.0))
        self._pending.clear()


#: marks the end of a connection's intake queue
_END = frames.Frame(cmd="", req_id="")
