"""The floor under every command: a bare handler that also keeps the one promise every command keeps.

gendan answers nothing before the event is durably in its inbox ("inbox before ack"). This
benchmark measures what that promise alone costs, with nothing else of gendan: a server
(``python -m bench.floor --port P --db URL``) whose ``POST /local/message`` parses the body like the
bare handler (``bench/bare.py``), inserts the message into the inbox through gendan's own group
commit (``storage.inbox.Recorder``: concurrent messages share one INSERT and one commit) and answers
the bare handler's reply. No identity, no parsing of the command, no order read, no outbox row.

Measured beside the bare handler in the same run, with the same load generator, on SQLite and on
PostgreSQL, its ratio is about the most any command could reach on this stack (Python, aiohttp,
SQLAlchemy 2 async): a command does this and its own work. ``python -m bench --only floor``.
A diagnostic, no goal: what is left between its ratio and a goal is the budget for a command's own
work. Two caveats: the recorder is what the WeCom AI-bot path runs before its ack, while the local
path writes its inbox row in its closing group commit together with the reply (the same kind of
statement, batched the same way); and the CPU column counts the server process only, so on
PostgreSQL the database server's share of the work is not in it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from bench.bare import REPLY
from bench.ingest import READ, _body, _cpu_s, _free_port, _load, _per_event_ms, _rss_mb, _wait_up, fresh_pg_database
from storage.db import Database
from storage.inbox import Recorder


@dataclass(frozen=True)
class Floor:
    """The durable bare handler on one backend beside the bare one."""

    backend: str
    rps: float
    bare_rps: float
    p50: float
    p99: float
    errors: int
    cpu_ms: float
    bare_cpu_ms: float
    rss_mb: float

    @property
    def ratio(self) -> float:
        """Throughput as a share of the bare handler's."""
        return self.rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def cpu_ratio(self) -> float:
        """The bare handler's server CPU per request over this one's: the ratio a CPU-bound server reaches,
        and a figure that holds on a busy machine, where req/s do not."""
        return self.bare_cpu_ms / self.cpu_ms if self.cpu_ms else 0.0


def app(db_url: str) -> web.Application:
    """The server: the bare handler plus the inbox row, written by gendan's own group commit."""
    db = Database(db_url)
    recorder = Recorder(db)
    owner = f"floor-{os.getpid()}"

    async def message(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if not isinstance(body, dict) or "text" not in body:
            return web.json_response({"error": "invalid body"}, status=400)
        fresh = await recorder.record("local", str(body.get("msg_id", "")), body, datetime.now(UTC), owner)
        if not fresh:
            return web.json_response({"error": "seen before"}, status=409)
        return web.json_response(REPLY)

    async def close(_app: web.Application) -> None:
        await recorder.close()
        await db.dispose()

    application = web.Application()
    application.router.add_post("/local/message", message)
    application.on_cleanup.append(close)
    return application


async def _served(url: str, proc: subprocess.Popen[bytes], conns: int,
                  seconds: float) -> tuple[dict[str, float], float]:
    """One timed run against a started server: the load generator's figures and the server's CPU ms per answer."""
    await _wait_up(url.rsplit("/", 2)[0] + "/", proc)
    await _load(url, _body(READ), conns, 1.0)  # warm up
    cpu = _cpu_s(proc.pid)
    got = await _load(url, _body(READ), conns, seconds, "--expect", '"text": "#')
    return got, _per_event_ms(_cpu_s(proc.pid) - cpu, int(got["ok"]))


async def _bare(conns: int, seconds: float) -> tuple[dict[str, float], float]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.bare", "--port", str(port)])
    try:
        return await _served(f"http://127.0.0.1:{port}/local/message", proc, conns, seconds)
    finally:
        proc.terminate()
        proc.wait(10)


async def _backend(backend: str, db_url: str, conns: int, seconds: float) -> Floor:
    env = dict(os.environ, GENDAN_DATABASE_URL=db_url)
    with tempfile.TemporaryDirectory() as cwd:  # no gendan.toml / .env of the developer's
        subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.floor", "--port", str(port), "--db", db_url])
    try:
        bare, bare_cpu = await _bare(conns, seconds)
        got, cpu = await _served(f"http://127.0.0.1:{port}/local/message", proc, conns, seconds)
        if got["errors"] or bare["errors"]:
            raise RuntimeError(f"error answers: {got['errors']} (floor), {bare['errors']} (bare)")
        return Floor(backend, got["rps"], bare["rps"], got["p50"], got["p99"], int(got["errors"]), cpu, bare_cpu,
                     _rss_mb(proc.pid))
    finally:
        proc.terminate()
        proc.wait(20)


async def run_floor(pg_url: str | None, sqlite: bool = True, conns: int = 32, seconds: float = 8.0) -> list[Floor]:
    """The floor on SQLite (a temporary file) and on PostgreSQL (a fresh database) when given."""
    results: list[Floor] = []
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(await _backend("sqlite", f"sqlite+aiosqlite:///{tmp}/floor.db", conns, seconds))
    if pg_url:
        async with fresh_pg_database(pg_url, "bench_floor") as url:
            results.append(await _backend("postgresql", url, conns, seconds))
    return results


def print_floor(results: list[Floor]) -> None:
    """The table."""
    print(f"{'backend':<11} {'floor req/s':>11} {'bare req/s':>10} {'ratio':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'CPU ms':>6} {'bare CPU ms':>11} {'CPU ratio':>9} {'RSS MB':>6}  "
          f"load {os.getloadavg()[0]:.1f}")
    for r in results:
        print(f"{r.backend:<11} {r.rps:>11.0f} {r.bare_rps:>10.0f} {r.ratio:>7.1%} {r.p50:>7.1f} {r.p99:>7.1f} "
              f"{r.errors:>6} {r.cpu_ms:>6.3f} {r.bare_cpu_ms:>11.3f} {r.cpu_ratio:>9.1%} {r.rss_mb:>6.0f}")


def main() -> None:
    """Entry point of the server."""
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--db", required=True)
    args = p.parse_args()
    web.run_app(app(args.db), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
