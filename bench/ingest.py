"""Ingest benchmark: commands through ``POST /local/message`` and the WeCom AI-bot callback, beside a bare handler.

Each figure is measured in the same run as the bare aiohttp handler (``bench/bare.py``) and
reported as a ratio to it, so the machine's speed cancels out. The server is the real
``gendan serve`` in its own process (SQLite file, or a fresh PostgreSQL database), the load
generator (``bench/load.py``) another process, 32 connections.

Two variants: ``local`` (the JSON answer carries the reply) and ``wecom`` (signed, encrypted
AI-bot callbacks, acked with an empty 200; the reply leaves through the outbox to the message's
``response_url``, which points at :class:`bench.aibot.Receiver` in this process). For ``wecom``
the figure also says how many replies arrived and how long after the load stopped the last one
did (the drain time).

Goals (issue: one message, one transaction): read ≥ 25 % of the bare handler, write ≥ 10 %,
p99 < 50 ms for both, no error answers, server RSS < 250 MB; for ``wecom`` also one reply per
acknowledged callback and none twice.
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import aibot

READ = "/查单 #1"
WRITE = "/下单 华为 A100×2@300 B200×1@150 交期12-15"
READ_GOAL, WRITE_GOAL, P99_GOAL_MS, RSS_GOAL_MB = 0.25, 0.10, 50.0, 250.0
VARIANTS = ("local", "wecom")


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
    variant: str = "local"
    #: wecom: callbacks acknowledged, replies that reached the receiver, replies refused as a second use
    acked: int = 0
    replies: int = 0
    duplicates: int = 0
    #: wecom: seconds from the end of the load to the last reply (negative: all came during the load)
    drain_s: float = 0.0
    #: wecom: callbacks the generator had to encrypt during the run (0 when the pre-made ones sufficed)
    live: int = 0
    #: CPU time of the server process per answered request, in ms (wecom: the drain included); unlike
    #: req/s it hardly depends on what else the machine runs
    cpu_ms: float = 0.0

    @property
    def ratio(self) -> float:
        """Throughput as a share of the bare handler's."""
        return self.rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def ok(self) -> bool:
        """Every goal met."""
        delivered = self.variant != "wecom" or (self.replies == self.acked and self.duplicates == 0)
        return (self.ratio >= self.goal and self.p99 < P99_GOAL_MS and self.errors == 0
                and self.rss_mb < RSS_GOAL_MB and delivered)


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


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _per_event_ms(cpu_s: float, events: int) -> float:
    return cpu_s * 1000 / events if events else 0.0


async def _load(url: str, body: dict[str, Any], conns: int, seconds: float, *extra: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(body, fh, ensure_ascii=False)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.load", url, fh.name, "--conns", str(conns), "--seconds", str(seconds),
            *extra, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
    finally:
        os.unlink(fh.name)
    return dict(json.loads(out))


def _body(text_: str) -> dict[str, Any]:
    return {"user": "u1", "name": "张三", "chat": "g1", "chat_type": "group", "text": text_}


def _bodies(rps: float, seconds: float) -> int:
    """How many AI-bot callbacks to encrypt ahead of a run expected at ``rps`` (with a margin)."""
    return int(rps * seconds * 1.5) + 1000


async def _bare(conns: int, seconds: float, variant: str = "local", command: str = READ) -> float:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.bare", "--port", str(port)])
    extra: tuple[str, ...] = ()
    try:
        await _wait_up(f"http://127.0.0.1:{port}/", proc)
        if variant == "local":
            url, body = f"http://127.0.0.1:{port}/local/message", _body(READ)
            await _load(url, body, conns, 1.0)  # warm up
        else:
            url, body = f"http://127.0.0.1:{port}{aibot.PATH}", {"text": command}
            warm = await _load(url, body, conns, 1.0, "--aibot", "warm", "--bodies", "5000")
            extra = ("--aibot", "bare", "--bodies", str(_bodies(warm["rps"], seconds)))
        got = await _load(url, body, conns, seconds, *extra)
        if got["errors"]:
            raise RuntimeError(f"the bare {variant} handler answered {got['errors']} errors")
        return float(got["rps"])
    finally:
        proc.terminate()
        proc.wait(10)


async def _post_aibot(url: str, command: str, code: str) -> None:
    query, body = aibot.callback(command, f"bench-{code}", code)
    async with aiohttp.ClientSession() as session, \
            session.post(f"{url}{aibot.PATH}?{query}", data=body) as resp:
        assert resp.status == 200, await resp.text()


async def _aibot_order(url: str, receiver: aibot.Receiver) -> int:
    """Place the order the read figure looks up, through a callback; check both answers reach the receiver."""
    await _post_aibot(url, WRITE, "setup.1")
    await receiver.wait("setup", 1, quiet=30.0)
    number = aibot.order_number(receiver.contents.get("setup.1", ""))
    if number is None:
        raise RuntimeError(f"the set-up /下单 was not answered with an order: {receiver.contents}")
    await _post_aibot(url, f"/查单 #{number}", "setup.2")
    await receiver.wait("setup", 2, quiet=30.0)
    if "华为" not in receiver.contents.get("setup.2", ""):  # a refusal would not name the customer
        raise RuntimeError(f"/查单 #{number} was not answered with the order: {receiver.contents}")
    return number


async def _wecom_figure(backend: str, url: str, proc: subprocess.Popen[bytes], receiver: aibot.Receiver,
                        tag: str, command: str, goal: float, conns: int, seconds: float) -> IngestResult:
    bare = await _bare(conns, seconds, "wecom", command)
    cpu = _cpu_s(proc.pid)
    got = await _load(url + aibot.PATH, {"text": command}, conns, seconds,
                      "--aibot", tag, "--bodies", str(_bodies(bare, seconds)))
    rss = _rss_mb(proc.pid)
    await receiver.wait(tag, int(got["ok"]))
    cpu = _cpu_s(proc.pid) - cpu
    return IngestResult(backend, command.split()[0], got["rps"], bare, got["p50"], got["p99"], got["errors"],
                        max(rss, _rss_mb(proc.pid)), goal, "wecom", acked=int(got["ok"]),
                        replies=receiver.replies[tag], duplicates=receiver.duplicates[tag],
                        drain_s=receiver.last.get(tag, got["ended"]) - got["ended"], live=int(got.get("live", 0)),
                        cpu_ms=_per_event_ms(cpu, int(got["ok"])))


async def _gendan(backend: str, db_url: str, conns: int, seconds: float,
                  variants: tuple[str, ...] = VARIANTS) -> list[IngestResult]:
    port = _free_port()
    async with aibot.Receiver() as receiver:
        env = dict(os.environ, GENDAN_DATABASE_URL=db_url, GENDAN_PORT=str(port), GENDAN_HOST="127.0.0.1",
                   GENDAN_LOCAL_ENABLED="true", GENDAN_ADMINS="local:boss", GENDAN_APPROVAL_T1="1000000",
                   GENDAN_APPROVAL_T2="2000000", GENDAN_SECRET_KEY="bench-" + secrets.token_hex(8),
                   GENDAN_WECOM_CORP_ID=aibot.CORP_ID, GENDAN_WECOM_AIBOT_TOKEN=aibot.TOKEN,
                   GENDAN_WECOM_AIBOT_AES_KEY=aibot.AES_KEY, GENDAN_WECOM_API_BASE=receiver.url,
                   # one load generator is one person typing hundreds of commands a second: the
                   # per-person and per-chat flood limits would answer nearly all of it with silence
                   GENDAN_RATE_PERSON_PER_MINUTE=str(10**9), GENDAN_RATE_CHAT_PER_MINUTE=str(10**9))
        with tempfile.TemporaryDirectory() as cwd:  # no gendan.toml / .env of the developer's
            subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, cwd=cwd, check=True,
                           stdout=subprocess.DEVNULL)
            proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=cwd,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            try:
                await _wait_up(url + "/healthz", proc)
                results = []
                if "local" in variants:
                    async with aiohttp.ClientSession() as session, \
                            session.post(url + "/local/message", json=_body(WRITE)) as resp:  # order #1
                        assert resp.status == 200, await resp.text()
                    for command, goal in ((READ, READ_GOAL), (WRITE, WRITE_GOAL)):
                        bare = await _bare(conns, seconds)
                        cpu = _cpu_s(proc.pid)
                        # every answer must be the command's own (an order's "#n …"), not a refusal
                        got = await _load(url + "/local/message", _body(command), conns, seconds,
                                          "--expect", '"text": "#')
                        cpu = _cpu_s(proc.pid) - cpu
                        results.append(IngestResult(backend, command.split()[0], got["rps"], bare, got["p50"],
                                                    got["p99"], got["errors"], _rss_mb(proc.pid), goal,
                                                    cpu_ms=_per_event_ms(cpu, int(got["ok"]))))
                if "wecom" in variants:
                    number = await _aibot_order(url, receiver)
                    for tag, command, goal in (("read", f"/查单 #{number}", READ_GOAL), ("write", WRITE, WRITE_GOAL)):
                        results.append(await _wecom_figure(backend, url, proc, receiver, tag, command, goal,
                                                           conns, seconds))
                return results
            finally:
                proc.terminate()
                proc.wait(20)


async def run_ingest(pg_url: str | None, sqlite: bool = True, conns: int = 32, seconds: float = 8.0,
                     variants: tuple[str, ...] = VARIANTS) -> list[IngestResult]:
    """Every ingest figure: SQLite (a temporary file) and PostgreSQL (a fresh database) when given."""
    results: list[IngestResult] = []
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results += await _gendan("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db", conns, seconds, variants)
    if pg_url:
        async with fresh_pg_database(pg_url, "bench") as url:
            results += await _gendan("postgresql", url, conns, seconds, variants)
    return results


@asynccontextmanager
async def fresh_pg_database(pg_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new PostgreSQL database on ``pg_url``'s server, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg_url.rsplit('/', 1)[0]}/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def print_ingest(results: list[IngestResult]) -> None:
    """The table for bench/README.md; ``replies`` and ``drain s`` only for the WeCom rows."""
    print(f"{'variant':<7} {'backend':<11} {'command':<6} {'req/s':>8} {'bare req/s':>10} {'ratio':>7} {'goal':>5} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'RSS MB':>7} {'replies':>13} {'drain s':>7} {'CPU ms':>6}"
          "  result")
    for r in results:
        wecom = r.variant == "wecom"
        replies = f"{r.replies}/{r.acked}" if wecom else "—"
        drain = f"{r.drain_s:.1f}" if wecom else "—"
        notes = [f"{r.duplicates} replies refused as a second use"] if r.duplicates else []
        if r.live:
            notes.append(f"{r.live} callbacks encrypted during the run")
        print(f"{r.variant:<7} {r.backend:<11} {r.command:<6} {r.rps:>8.0f} {r.bare_rps:>10.0f} {r.ratio:>7.1%} "
              f"{r.goal:>5.0%} {r.p50:>7.1f} {r.p99:>7.1f} {r.errors:>6} {r.rss_mb:>7.0f} {replies:>13} {drain:>7} "
              f"{r.cpu_ms:>6.1f}  "
              + " ".join(["ok" if r.ok else "MISSED", *notes]))
