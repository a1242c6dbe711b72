"""Unit tests of what every long connection shares (``bot/longconn.py``): status, backoff, watchdog, Connections."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.longconn import Backoff, Connections, ConnectionStatus, Watchdog


class FakeTime:
    """A monotonic and a wall clock the test moves (together, or the wall alone: a machine that slept)."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_800_000_000.0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def test_backoff_doubles_from_one_second_to_sixty_and_resets() -> None:
    backoff = Backoff(rng=lambda: 0.5)  # the middle of the jitter band: no jitter
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.attempts == 8
    backoff.reset()
    assert backoff.next() == 1


@pytest.mark.parametrize(("rng", "expected"), [(0.0, 0.75), (1.0, 1.25)])
def test_backoff_jitter_stays_within_a_quarter(rng: float, expected: float) -> None:
    assert Backoff(rng=lambda: rng).next() == pytest.approx(expected)
    assert Backoff(first=60, rng=lambda: rng).next() == pytest.approx(60 * expected)


def test_backoff_jitter_spreads_instances() -> None:
    waits = {round(Backoff().next(), 6) for _ in range(20)}
    assert len(waits) > 1 and all(0.75 <= w <= 1.25 for w in waits)


def test_watchdog_idle_counts_from_the_last_frame() -> None:
    t = FakeTime()
    dog = Watchdog(idle=60, jump=30, monotonic=lambda: t.mono, wall=lambda: t.wall)
    t.advance(59)
    assert not dog.dead()
    dog.note()
    t.advance(59)
    assert not dog.dead()
    t.advance(2)
    assert dog.dead() and dog.reason == "no frame for 61s"


def test_watchdog_sees_a_wall_clock_jump_at_once() -> None:
    t = FakeTime()
    dog = Watchdog(idle=60, jump=30, monotonic=lambda: t.mono, wall=lambda: t.wall)
    t.advance(1)
    assert not dog.dead()
    t.wall += 3600  # the laptop slept an hour; the monotonic clock did not move
    assert dog.dead()
    assert dog.reason == "wall clock jumped by 3600s"


def test_watchdog_ignores_small_drift() -> None:
    t = FakeTime()
    dog = Watchdog(idle=60, jump=30, monotonic=lambda: t.mono, wall=lambda: t.wall)
    for _ in range(10):
        t.advance(1)
        t.wall += 2  # NTP slewing, a few seconds
        dog.note()
        assert not dog.dead()


def test_status_counts_reconnects_and_reports() -> None:
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    status = ConnectionStatus("x", clock=lambda: now[0])
    status.set("connecting")
    status.set("connected")
    status.set("connected")  # the same connection reported twice is not a reconnect
    assert status.connected and status.reconnects == 0
    assert status.connected_since == now[0]
    now[0] += timedelta(seconds=5)
    status.set("backoff", "socket closed")
    assert status.connected_since is None and not status.connected
    status.set("connected", "")
    assert status.reconnects == 1 and status.last_error == ""
    status.frames_bad = 2
    view = status.as_dict()
    assert view["state"] == "connected" and view["reconnects"] == 1 and view["frames_bad"] == 2
    assert view["last_error"] is None and view["since"] == "2026-12-01T00:00:05+00:00"


class _Conn:
    def __init__(self, crash: bool = False) -> None:
        self.status = ConnectionStatus("dummy")
        self.crash = crash
        self.runs = 0

    async def run(self, stop: asyncio.Event) -> None:
        self.runs += 1
        if self.crash:
            raise RuntimeError("bug")
        self.status.set("connected")
        await stop.wait()


async def test_connections_start_and_stop_by_event() -> None:
    connections = Connections()
    conn = _Conn()
    connections.add(conn)
    assert len(connections) == 1 and list(connections.statuses) == [conn.status]
    connections.start()
    await asyncio.sleep(0)
    assert connections.health()["dummy"]["state"] == "connected"
    await connections.stop(timeout=1)
    assert conn.status.state == "stopped" and conn.runs == 1


async def test_a_crashing_connection_is_reported_and_stopped_promptly() -> None:
    connections = Connections()
    conn = _Conn(crash=True)
    connections.add(conn)
    connections.start()
    for _ in range(10):
        await asyncio.sleep(0)
    assert conn.status.state == "backoff" and conn.status.last_error == "internal error (see log)"
    loop = asyncio.get_running_loop()
    started = loop.time()
    await connections.stop(timeout=4.5)  # the 5 s pause before a restart watches the stop event
    assert loop.time() - started < 4  # well short of the 5 s pause it interrupts
    assert conn.status.state == "stopped"
