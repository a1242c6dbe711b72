"""Soak (``make test-slow``): two server processes on one PostgreSQL database under mixed commands,
a kill -9 every two minutes and a platform outage in the middle. 0 lost, 0 doubled, RSS flat.

``GENDAN_SOAK_SECONDS`` sets the length (default 600); kills come every two minutes, or at a
third of a shorter run, so that every run has kills on both sides of the outage.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Order
from tests.conftest import PG_URL, fresh_pg_database
from tests.fakes import wecom_signing as ws
from tests.fakes.wecom_harness import BOT_NAME, now_ts
from tests.fakes.wecom_server import FakeWeCom
from tests.test_kill9 import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                       reason="several instances need PostgreSQL: set GENDAN_TEST_DATABASE_URL"),
]

SECONDS = float(os.environ.get("GENDAN_SOAK_SECONDS", "600"))
KILL_EVERY = min(120.0, SECONDS / 3)
OUTAGE = min(45.0, SECONDS / 4)
RATE = 5.0  # messages per second, over both instances
DRAIN = 90.0  # after the load stops: a minute past the last retry's cap, and then some
#: RSS may grow this much over a process's life after its warm-up (caches fill; a leak grows on)
RSS_SLACK_MB = 40.0


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with fresh_pg_database("soak") as url:
        yield url


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def message(n: int, orders_so_far: int) -> tuple[str, bool]:
    """The n-th command of the mix, and whether it creates an order."""
    kind = n % 4
    if kind in (0, 1):
        return f"/下单 丙{n:06d}丁 A100×{1 + n % 5}@{10 + n % 7} 交期12-15", True
    if kind == 2 and orders_so_far:
        return f"/查单 #{random.randint(1, orders_so_far)}", False
    return "/帮助", False


async def test_soak_two_instances_kill_9_and_an_outage(database_url: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeWeCom() as fake:
        servers = [Server(database_url, fake.url, tmp_path / f"{name}.log") for name in ("a", "b")]
        try:
            for s in servers:
                await s.start()
            acked: dict[str, bool] = {}  # response code → creates an order
            pending: list[tuple[int, str, bool]] = []  # not acknowledged yet: the platform re-sends
            rss: dict[int, list[float]] = {}
            counter = itertools.count()
            started = time.monotonic()
            outage_at = started + SECONDS / 2 - OUTAGE / 2
            fake.outage("aibot/response", outage_at, outage_at + OUTAGE)
            next_kill = started + KILL_EVERY
            kills = 0
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
                while time.monotonic() - started < SECONDS:
                    if time.monotonic() >= next_kill:
                        victim = servers[kills % 2]
                        victim.kill9()
                        kills += 1
                        await victim.start()
                        next_kill += KILL_EVERY
                    n = next(counter)
                    text_, creates = message(n, sum(acked.values()))
                    batch = [*pending, (n, text_, creates)]
                    pending = []
                    for m, body_text, makes in batch:
                        server = servers[m % 2]
                        if await send(http, server, m, body_text):
                            acked[f"S{m}"] = makes
                        else:
                            pending.append((m, body_text, makes))
                    for s in servers:
                        if s.proc is not None and s.proc.poll() is None:
                            rss.setdefault(s.proc.pid, []).append(rss_mb(s.proc.pid))
                    await asyncio.sleep(1 / RATE)
                for _ in range(20):  # what the last kill left unacknowledged is re-sent
                    if not pending:
                        break
                    retry, pending = pending, []
                    for m, body_text, makes in retry:
                        if await send(http, servers[(m + 1) % 2], m, body_text):
                            acked[f"S{m}"] = makes
                        else:
                            pending.append((m, body_text, makes))
                    await asyncio.sleep(1)
            assert not pending
            deadline = time.monotonic() + DRAIN
            while time.monotonic() < deadline:
                if len(answered(fake)) >= len(acked):
                    break
                await asyncio.sleep(0.5)
            counts = answered(fake)
            lost = sorted(set(acked) - set(counts))
            doubled = sorted(code for code, k in counts.items() if k > 1)
            db = Database(database_url)
            try:
                async with db.uow() as uow:
                    orders = (await uow.session.execute(select(func.count()).select_from(Order))).scalar_one()
            finally:
                await db.dispose()
            growth = {pid: samples[-1] - samples[len(samples) // 4] for pid, samples in rss.items()
                      if len(samples) >= 20}
            with capsys.disabled():
                print(f"\nsoak {SECONDS:.0f} s: {len(acked)} commands acknowledged ({sum(acked.values())} orders), "
                      f"{kills} kill -9, outage {OUTAGE:.0f} s; lost {len(lost)}, doubled {len(doubled)}; "
                      f"RSS growth per process life after warm-up (MB): "
                      f"{', '.join(f'{g:+.1f}' for g in growth.values())}")
            assert kills >= 2
            assert lost == [] and doubled == []
            assert orders == sum(acked.values())
            assert growth and max(growth.values()) <= RSS_SLACK_MB, growth
        finally:
            for s in servers:
                s.stop()


async def send(http: aiohttp.ClientSession, server: Server, n: int, body_text: str) -> bool:
    if server.proc is None or server.proc.poll() is not None:
        return False
    payload = ws.aibot_text(f"@{BOT_NAME}\u2005{body_text}", msgid=f"soak-{n}", user=f"sales{n % 40}")
    payload["chatid"] = f"wrkSOAK{n % 8}"
    payload["response_url"] = f"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=S{n}"
    query, body = ws.aibot_post(payload, timestamp=now_ts(), nonce=f"n{n}-{secrets.token_hex(3)}")
    try:
        async with http.post(f"http://127.0.0.1:{server.port}/wecom/aibot", params=query,
                             data=body.encode()) as resp:
            return resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


def answered(fake: FakeWeCom) -> dict[str, int]:
    out: dict[str, int] = {}
    for call in fake.accepted("aibot/response"):
        code = call.query.get("response_code", "")
        out[code] = out.get(code, 0) + 1
    return out
