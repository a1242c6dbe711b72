"""Ingest benchmark: commands through ``POST /local/message`` at 32 connections, beside a bare handler.

Each figure is measured in the same run as the bare aiohttp handler (``bench/bare.py``) and
reported as a ratio to it, so the machine's speed cancels out. The server is the real
``gendan serve`` in its own process (SQLite file, or a fresh PostgreSQL database), the load
generator (``bench/load.py``) another process.

Goals (issue: one message, one transaction): read ≥ 25 % of the bare handler, write ≥ 10 %,
p99 < 50 ms for both, no error answers, server RSS < 250 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

READ = "/查单 #1"
WRITE = "/下单 华为 A100×2@300 B200×1@150 交期12-15"
READ_GOAL, WRITE_GOAL, P99_GOAL_MS, RSS_GOAL_MB = 0.25, 0.10, 50.0, 250.0


@dataclass
class IngestResult:
    """One command on one backend beside the bare handler."""

    backend: str
    command: str
    rps: float
    bare_rps: float
    p50: float
    p99: float
    errors: int
    rss_mb: float
    goal: float

    @property
    def ratio(self) -> float:
        """Throughput as a share of the bare handler's."""
        return self.rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def ok(self) -> bool:
        """Every goal met."""
        return (self.ratio >= self.goal and self.p99 < P99_GOAL_MS and self.errors == 0
                and self.rss_mb < RSS_GOAL_MB)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _load(url: str, body: dict[str, Any], conns: int, seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(body, fh, ensure_ascii=False)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.load", url, fh.name, "--conns", str(conns), "--seconds", str(seconds),
            stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
    finally:
        os.unlink(fh.name)
    return dict(json.loads(out))


def _body(text_: str) -> dict[str, Any]:
    return {"user": "u1", "name": "张三", "chat": "g1", "chat_type": "group", "text": text_}


async def _bare(conns: int, seconds: float) -> float:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.bare", "--port", str(port)])
    try:
        await _wait_up(f"http://127.0.0.1:{port}/", proc)
        await _load(f"http://127.0.0.1:{port}/local/message", _body(READ), conns, 1.0)  # warm up
        return float((await _load(f"http://127.0.0.1:{port}/local/message", _body(READ), conns, seconds))["rps"])
    finally:
        proc.terminate()
        proc.wait(10)


async def _gendan(backend: str, db_url: str, conns: int, seconds: float) -> list[IngestResult]:
    port = _free_port()
    env = dict(os.environ, GENDAN_DATABASE_URL=db_url, GENDAN_PORT=str(port), GENDAN_HOST="127.0.0.1",
               GENDAN_LOCAL_ENABLED="true", GENDAN_ADMINS="local:boss", GENDAN_APPROVAL_T1="1000000",
               GENDAN_APPROVAL_T2="2000000", GENDAN_SECRET_KEY="bench-" + secrets.token_hex(8))
    with tempfile.TemporaryDirectory() as cwd:  # no gendan.toml / .env of the developer's
        subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL)
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            await _wait_up(url + "/healthz", proc)
            async with aiohttp.ClientSession() as session, \
                    session.post(url + "/local/message", json=_body(WRITE)) as resp:  # order #1
                assert resp.status == 200, await resp.text()
            results = []
            for command, goal in ((READ, READ_GOAL), (WRITE, WRITE_GOAL)):
                bare = await _bare(conns, seconds)
                got = await _load(url + "/local/message", _body(command), conns, seconds)
                results.append(IngestResult(backend, command.split()[0], got["rps"], bare, got["p50"], got["p99"],
                                            got["errors"], _rss_mb(proc.pid), goal))
            return results
        finally:
            proc.terminate()
            proc.wait(20)


async def run_ingest(pg_url: str | None, sqlite: bool = True, conns: int = 32,
                     seconds: float = 8.0) -> list[IngestResult]:
    """Every ingest figure: SQLite (a temporary file) and PostgreSQL (a fresh database) when given."""
    results: list[IngestResult] = []
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results += await _gendan("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db", conns, seconds)
    if pg_url:
        name = "bench_" + secrets.token_hex(4)
        admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            base = pg_url.rsplit("/", 1)[0]
            results += await _gendan("postgresql", f"{base}/{name}", conns, seconds)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    return results


def print_ingest(results: list[IngestResult]) -> None:
    """The table for bench/README.md."""
    print(f"{'backend':<11} {'command':<6} {'req/s':>8} {'bare req/s':>10} {'ratio':>7} {'goal':>5} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'RSS MB':>7}  result")
    for r in results:
        print(f"{r.backend:<11} {r.command:<6} {r.rps:>8.0f} {r.bare_rps:>10.0f} {r.ratio:>7.1%} {r.goal:>5.0%} "
              f"{r.p50:>7.1f} {r.p99:>7.1f} {r.errors:>6} {r.rss_mb:>7.0f}  {'ok' if r.ok else 'MISSED'}")
