"""What every long connection shares: status for ``/healthz`` and ``/metrics``, backoff, a watchdog.

The WeCom AI-bot WebSocket (``bot.wecom.longconn``) and the DingTalk Stream
connection (``bot.dingtalk.stream``) are adapters like the HTTP callbacks: they
translate frames into :mod:`bot.events` and hand them to the same
:class:`~bot.transport.InboundSink`. What they have in common lives here, so that
both reconnect, report and give up the same way:

* :class:`ConnectionStatus`: the state a person or a probe reads (connected, since,
  reconnects, last error) and the frame/ack counters ``/metrics`` exports;
* :class:`Backoff`: 1 s doubling to 60 s with jitter, reset once a connection has
  proved itself, so that a bad secret retries slowly instead of crash-looping;
* :class:`Watchdog`: a socket that has carried no application frame for a while, or a
  wall-clock jump (a laptop or VM waking up), means the connection is dead even
  when TCP and WebSocket pings still look fine;
* :class:`Connections`: starts each configured connection as a tracked task and
  stops them by an event on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

log = logging.getLogger("gendan.longconn")

State = Literal["idle", "connecting", "connected", "backoff", "evicted", "auth_failed", "stopped"]


@dataclass
class ConnectionStatus:
    """Live state of one long connection (mutated only by its own task)."""

    name: str
    state: State = "idle"
    #: when ``state`` last changed
    since: datetime | None = None
    #: when the current connection became ready (None while not connected)
    connected_since: datetime | None = None
    #: connections opened after the first one
    reconnects: int = 0
    last_error: str = ""
    frames_in: int = 0
    frames_out: int = 0
    acks: int = 0
    #: frames that could not be used (bad JSON, unknown shape); counted, never fatal
    frames_bad: int = 0
    _opened: int = field(default=0, repr=False)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)

    def set(self, state: State, error: str | None = None) -> None:
        """Move to ``state``; ``error`` (no secrets!) replaces the last error when given."""
        changed = state != self.state
        if changed:
            self.state = state
            self.since = self.clock()
        if error is not None:
            self.last_error = error
        if state == "connected":
            if changed:  # a second set("connected") on the same connection is not a reconnect
                self.connected_since = self.since
                self._opened += 1
                if self._opened > 1:
                    self.reconnects += 1
        else:
            self.connected_since = None

    @property
    def connected(self) -> bool:
        """Whether frames flow now."""
        return self.state == "connected"

    def as_dict(self) -> dict[str, object]:
        """The ``/healthz`` view."""
        return {
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "connected_since": self.connected_since.isoformat() if self.connected_since else None,
            "reconnects": self.reconnects,
            "last_error": self.last_error or None,
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "acks": self.acks,
            "frames_bad": self.frames_bad,
        }


class Backoff:
    """Exponential backoff with jitter: ``first`` doubling up to ``cap`` seconds.

    ``reset()`` after a connection has been up for a while, not merely opened: a
    server that accepts and drops at once must not make us hammer it every second.
    """

    def __init__(self, first: float = 1.0, cap: float = 60.0, factor: float = 2.0, jitter: float = 0.25,
                 rng: Callable[[], float] = random.random) -> None:
        self.first = first
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self._rng = rng
        self._attempt = 0

    def next(self) -> float:
        """The wait before the next attempt (grows with each call until :meth:`reset`)."""
        base = min(self.cap, self.first * self.factor ** self._attempt)
        self._attempt += 1
        # jitter spreads many instances (or bots) so they do not reconnect in lockstep
        return max(0.0, base * (1.0 - self.jitter + 2 * self.jitter * self._rng()))

    def reset(self) -> None:
        """The connection proved itself: start again from ``first``."""
        self._attempt = 0

    @property
    def attempts(self) -> int:
        """Waits handed out since the last reset."""
        return self._attempt


class Watchdog:
    """Decides that a connection is dead although its socket still looks open.

    ``note()`` on every frame the server sends (keepalives included). ``dead()`` is
    true when no frame came for ``idle`` seconds, or when the wall clock moved by more
    than ``jump`` seconds beyond the monotonic clock since the last check (the machine
    slept: every socket it had is stale, and the server has long dropped it).
    """

    def __init__(self, idle: float = 60.0, jump: float = 30.0, *,
                 monotonic: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.idle = idle
        self.jump = jump
        self._monotonic = monotonic
        self._wall = wall
        self._last_frame = monotonic()
        self._check_mono = monotonic()
        self._check_wall = wall()
        self.reason = ""

    def note(self) -> None:
        """A frame arrived."""
        self._last_frame = self._monotonic()

    def dead(self) -> bool:
        """Whether to drop the connection now (``reason`` says why)."""
        mono, wall = self._monotonic(), self._wall()
        drift = abs((wall - self._check_wall) - (mono - self._check_mono))
        self._check_mono, self._check_wall = mono, wall
        if drift > self.jump:
            self.reason = f"wall clock jumped by {drift:.0f}s"
            return True
        if mono - self._last_frame > self.idle:
            self.reason = f"no frame for {mono - self._last_frame:.0f}s"
            return True
        return False


class LongConnection(Protocol):
    """One platform connection that keeps itself open until ``stop`` is set."""

    status: ConnectionStatus

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve frames, reconnect on loss; return soon after ``stop`` is set."""
        ...


class Connections:
    """The configured long connections of one server: started with it, stopped with it."""

    def __init__(self) -> None:
        self._items: list[LongConnection] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    def add(self, connection: LongConnection) -> None:
        """Register a connection (before :meth:`start`)."""
        self._items.append(connection)

    def __iter__(self) -> Iterator[LongConnection]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def statuses(self) -> Iterable[ConnectionStatus]:
        """Every connection's status."""
        return [c.status for c in self._items]

    def start(self) -> None:
        """Run every connection as a tracked task."""
        self._stop.clear()
        for conn in self._items:
            task = asyncio.create_task(self._guard(conn), name=f"longconn:{conn.status.name}")
            self._tasks.append(task)

    async def _guard(self, conn: LongConnection) -> None:
        # run() handles its own errors; this only keeps a bug in it from dying silently
        while not self._stop.is_set():
            try:
                await conn.run(self._stop)
                return
            except Exception:
                log.exception("long connection %s crashed; restarting in 5 s", conn.status.name)
                conn.status.set("backoff", "internal error (see log)")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 5.0)

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask every connection to close, wait up to ``timeout`` s, then cancel what is left."""
        self._stop.set()
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(self._tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for conn in self._items:
            conn.status.set("stopped")

    def health(self) -> dict[str, dict[str, object]]:
        """``{name: status}`` for ``/healthz``."""
        return {c.status.name: c.status.as_dict() for c in self._items}
