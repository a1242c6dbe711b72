"""kill -9 in the middle of a burst of 200 signed AI-bot callbacks, against a real server process.

The platform re-sends what was not acknowledged (as WeCom does), so in the end every one of the
200 messages has exactly one order and exactly one answer, all out within 30 s of the restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.wecom import AIBOT_PATH
from storage.db import Database
from storage.models import InboxEvent, Order
from tests.conftest import BACKENDS, fresh_pg_database
from tests.fakes import wecom_signing as ws
from tests.fakes.wecom_harness import BOT_NAME, now_ts
from tests.fakes.wecom_server import FakeWeCom

#: slow: a real process started twice per database, and a 30 s promise that a machine loaded by
#: other suites must not turn into a flaky failure of ``make test``; ``make test-slow`` runs it
pytestmark = pytest.mark.slow

BURST = 200
KILL_AFTER_ACKS = 70
#: the promise: every effect and answer out within this long of the restart
RECOVERY = 30.0
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL a separate process can use alone: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'kill9.db'}"
        return
    async with fresh_pg_database("kill9") as url:
        yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m bot serve`` in its own process."""

    def __init__(self, database_url: str, api_base: str, log: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "GENDAN_DATABASE_URL": database_url, "GENDAN_HOST": "127.0.0.1",
                    "GENDAN_PORT": str(self.port), "GENDAN_LOCAL_ENABLED": "false",
                    "GENDAN_WECOM_AIBOT_TOKEN": ws.AIBOT_TOKEN, "GENDAN_WECOM_AIBOT_AES_KEY": ws.AIBOT_AES_KEY,
                    "GENDAN_WECOM_API_BASE": api_base,
                    # one busy group of 200 people: this test is about crashes, not the flood limits
                    "GENDAN_RATE_CHAT_PER_MINUTE": "100000", "GENDAN_RATE_PERSON_PER_MINUTE": "100000"}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> float:
        """Start and wait until /healthz answers; returns the monotonic time of the start."""
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, self.log.read_text()[-3000:]
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            return started
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("server did not start: " + self.log.read_text()[-3000:])

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def first_answer(fake: FakeWeCom, since: float) -> float:
    """Seconds from ``since`` (monotonic, like the fake's clock) to the first answer accepted after it."""
    return min((c.at for c in fake.accepted("aibot/response") if c.at >= since), default=since - 1) - since


def callback(i: int) -> tuple[dict[str, str], bytes]:
    payload = ws.aibot_text(f"@{BOT_NAME}\u2005/下单 甲{i:03d}乙 A100×1@10 交期12-15", msgid=f"burst-{i}",
                            user=f"sales{i}")
    payload["chatid"] = "wrkBURST"
    payload["response_url"] = f"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=R{i}"
    query, body = ws.aibot_post(payload, timestamp=now_ts(), nonce=f"n{i}")
    return query, body.encode()


async def post(http: aiohttp.ClientSession, port: int, i: int) -> bool:
    """One callback; True when the server acknowledged it."""
    query, body = callback(i)
    try:
        async with http.post(f"http://127.0.0.1:{port}{AIBOT_PATH}", params=query, data=body) as resp:
            return resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def test_kill_9_during_a_burst_loses_nothing_acknowledged_and_doubles_nothing(
        database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeWeCom() as fake:
        first = Server(database_url, fake.url, tmp_path / "first.log")
        second = Server(database_url, fake.url, tmp_path / "second.log")
        try:
            await first.start()
            acked: set[int] = set()
            gate = asyncio.Semaphore(16)
            killed = asyncio.Event()

            async def one(i: int, http: aiohttp.ClientSession) -> None:
                async with gate:
                    if killed.is_set():
                        return
                    if await post(http, first.port, i):
                        acked.add(i)
                        if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                            killed.set()
                            first.kill9()

            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
                await asyncio.gather(*(one(i, http) for i in range(BURST)))
            assert killed.is_set() and len(acked) >= KILL_AFTER_ACKS
            restarted = await second.start()
            ready = time.monotonic() - restarted
            # WeCom re-sends what was not acknowledged (and may re-send what was: nothing may double)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
                results = await asyncio.gather(*(post(http, second.port, i) for i in range(BURST)))
            assert all(results)
            answered: dict[str, int] = {}
            deadline = restarted + RECOVERY
            resent = time.monotonic() - restarted
            while time.monotonic() < deadline + 5:
                answered = {}
                for call in fake.accepted("aibot/response"):
                    code = call.query.get("response_code", "")
                    answered[code] = answered.get(code, 0) + 1
                if len(answered) == BURST:
                    break
                await asyncio.sleep(0.2)
            all_out = time.monotonic() - restarted
            with capsys.disabled():
                print(f"\nkill -9 after {len(acked)} acks: all {BURST} answered {all_out:.1f} s after the restart "
                      f"(serving again after {ready:.1f} s, re-sent callbacks acked after {resent:.1f} s; "
                      f"first answer after the restart at {first_answer(fake, restarted):.1f} s)")
            assert sorted(answered) == sorted(f"R{i}" for i in range(BURST)), \
                f"missing: {sorted(set(f'R{i}' for i in range(BURST)) - set(answered))[:10]}"
            assert set(answered.values()) == {1}
            assert all_out <= RECOVERY, f"{all_out:.1f} s"
            db = Database(database_url)
            try:
                async with db.uow() as uow:
                    orders = (await uow.session.execute(select(func.count()).select_from(Order))).scalar_one()
                    done = (await uow.session.execute(select(func.count()).select_from(InboxEvent).where(
                        InboxEvent.status == "DONE"))).scalar_one()
            finally:
                await db.dispose()
            odd = [str(c.json)[:300] for c in fake.accepted("aibot/response") if "已自动确认" not in str(c.json)]
            assert (orders, done) == (BURST, BURST), odd[:3]
            for call in fake.accepted("aibot/response"):
                assert "#" in str(call.json), call.json
        finally:
            first.stop()
            second.stop()
