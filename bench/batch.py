"""Batch-path benchmark: a large ``gendan import orders``, and the dashboard, the REST API and ``gendan export``
at 1,000,000 orders.

Everything goes through the product's outside interfaces: the ``gendan`` CLI as subprocesses (``migrate``,
``grant``, ``import``, ``export``, ``serve``), HTTP (``POST /local/message`` for the ``/看板`` link, the
``/board/…`` pages with the session cookie, ``/api/v1/…`` with ``GENDAN_API_TOKEN``), and plain SQL for the
synthetic history (``bench.data.history_chunks``) and for the lock probe.

Goals (the issue): 100,000 order rows imported in under 60 s while no concurrent writer waits more than 1 s
(a probe writes a tiny transaction every 100 ms during the import and records how long each one waited);
every dashboard page under 300 ms (median of 5 requests after one warm-up) at 1,000,000 orders. The REST
API's order list and search are held to the same 300 ms; ``gendan export`` of one month is reported
without a goal.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import random
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.data import History, history_chunks, load_postgres_chunks, load_sqlite_chunks
from bench.ingest import _free_port, _rss_mb, _wait_up

TZ = ZoneInfo("Asia/Shanghai")  # GENDAN_TIMEZONE's default, which the server uses
IMPORT_GOAL_S = 60.0
PROBE_GOAL_MS = 1000.0
PAGE_GOAL_MS = 300.0
PROBE_EVERY_S = 0.1
REQUESTS = 5
REQUEST_TIMEOUT_S = 600.0
#: a month's export at 1M orders runs for tens of minutes (openpyxl's ``ws.max_row`` per appended row)
EXPORT_TIMEOUT_S = 600.0
OWNER = "local:bench"


@dataclass
class BatchResult:
    """One measured figure; ``error`` set when the measurement failed (then it is no figure)."""

    backend: str
    name: str
    value: float
    unit: str
    goal: float | None
    note: str = ""
    error: str = ""
    max_value: float | None = None

    def __post_init__(self) -> None:
        # a full run takes most of an hour: each figure goes to stderr as soon as it is measured
        print(f"  [batch] {self.backend} {self.name}: "
              + (self.error or f"{self.value:,.1f} {self.unit} {self.note}"), file=sys.stderr, flush=True)

    @property
    def ok(self) -> bool:
        return not self.error and (self.goal is None or self.value < self.goal)


def _cli(env: dict[str, str], cwd: str, *args: str, timeout: float = 7200.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _env(db_url: str, **extra: str) -> dict[str, str]:
    return dict(os.environ, GENDAN_DATABASE_URL=db_url, GENDAN_LOG_FORMAT="text", **extra)


# ---- the files to import ----------------------------------------------------------------------------
@dataclass
class ImportFiles:
    """The generated CSV files and what importing them must produce."""

    customers: Path
    products: Path
    orders: Path
    rows: int
    order_count: int


def write_import_files(folder: Path, rows: int, today: date, seed: int = 5) -> ImportFiles:
    """1,000 customers, 200 products and ``rows`` historic order lines (orders of 1–4 lines), valid per
    docs/import-export.md: settled orders 已完成, open ones 已确认/挂起 with a 交期, 已关闭 half shipped, 已作废
    untouched; quantities whole, prices with cents, 已回款 never above the order's amount."""
    rnd = random.Random(seed)
    customers, products = folder / "客户.csv", folder / "产品.csv"
    with customers.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["客户名称", "联系人", "电话", "付款方式"])
        for i in range(1, 1001):
            w.writerow([f"历史客户{i}", f"联系人{i}", f"139{i:08d}", rnd.choice(("款到发货", "月结30天", "60天"))])
    prices = {}
    with products.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["产品编码", "产品名称", "单位", "单价", "底价", "库存"])
        for i in range(1, 201):
            prices[i] = Decimal(rnd.randint(1000, 200_000)) / 100
            w.writerow([f"H{i:04d}", f"历史产品{i}", "台", f"{prices[i]:.2f}", f"{prices[i] * 8 / 10:.2f}",
                        rnd.randint(0, 500)])
    orders = folder / "历史订单.csv"
    written = count = 0
    with orders.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["订单号", "客户", "产品", "数量", "单价", "交期", "下单日期", "负责人", "状态", "已发数量",
                    "已回款"])
        while written < rows:
            count += 1
            n = min(rnd.randint(1, 4), rows - written)
            ordered = today - timedelta(days=rnd.randint(0, 1000))
            state = rnd.choice(("已完成",) * 7 + ("已确认", "已确认", "挂起", "已关闭", "已作废"))
            due = ordered + timedelta(days=rnd.randint(15, 90))
            customer = f"历史客户{rnd.randint(1, 1000)}"
            lines = []
            for pid in rnd.sample(range(1, 201), n):
                qty = rnd.randint(1, 50)
                shipped = {"已完成": qty, "已关闭": qty // 2, "已作废": 0}.get(state, rnd.choice((0, 0, qty // 2)))
                lines.append((pid, qty, prices[pid], shipped))
            amount = sum((Decimal(q) * p for _, q, p, _ in lines), Decimal(0))
            paid = {"已完成": amount, "已作废": Decimal(0)}.get(state, (amount / 3).quantize(Decimal("0.01")))
            for k, (pid, qty, price, shipped) in enumerate(lines):
                head = k == 0  # order cells once, on the first line (the docs allow either)
                w.writerow([f"H{count:07d}", customer if head else "", f"H{pid:04d}", qty, f"{price:.2f}",
                            due.isoformat() if head else "", ordered.isoformat() if head else "", "",
                            state if head else "", shipped, f"{paid:.2f}" if head else ""])
            written += n
    return ImportFiles(customers, products, orders, written, count)


# ---- the lock probe ---------------------------------------------------------------------------------
class Probe:
    """A tiny write transaction every 100 ms; each one's wall time (waiting included) is recorded."""

    def __init__(self) -> None:
        self.waits_ms: list[float] = []
        self.errors: list[str] = []

    def summary(self) -> tuple[float, float, int]:
        """(max ms, p99 ms, samples)."""
        if not self.waits_ms:
            return 0.0, 0.0, 0
        ordered = sorted(self.waits_ms)
        return ordered[-1], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], len(ordered)


class SqliteProbe(Probe):
    """``BEGIN IMMEDIATE``, one insert into a table of its own, ``COMMIT`` (busy timeout 1 h), in a thread."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("CREATE TABLE IF NOT EXISTS bench_probe (id INTEGER PRIMARY KEY, at REAL NOT NULL)")
        con.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        con = sqlite3.connect(self._path, isolation_level=None, timeout=3600.0)
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    con.execute("BEGIN IMMEDIATE")
                    con.execute("INSERT INTO bench_probe (at) VALUES (?)", (time.time(),))
                    con.execute("COMMIT")
                    self.waits_ms.append((time.perf_counter() - t0) * 1000)
                except sqlite3.Error as exc:
                    self.errors.append(str(exc))
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                self._stop.wait(max(0.0, PROBE_EVERY_S - (time.perf_counter() - t0)))
        finally:
            con.close()


class PostgresProbe(Probe):
    """An insert into a table of its own (autocommit), or with ``counter=True`` the upsert of the order
    counter that creating any order does (``storage.services.base.next_number``), rolled back."""

    def __init__(self, dsn: str, counter: bool = False) -> None:
        super().__init__()
        self._dsn, self._counter = dsn, counter
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        con = await asyncpg.connect(self._dsn)
        await con.execute("CREATE TABLE IF NOT EXISTS bench_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
        self._task = asyncio.create_task(self._run(con))

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self, con: Any) -> None:
        try:
            while not self._stopping.is_set():
                t0 = time.perf_counter()
                try:
                    if self._counter:
                        async with con.transaction():
                            await con.execute(
                                "INSERT INTO counters (name, value) VALUES ('order', 1) ON CONFLICT (name) "
                                "DO UPDATE SET value = counters.value + 1")
                            raise _Undo
                    await con.execute("INSERT INTO bench_probe (at) VALUES (now())")
                except _Undo:
                    pass
                except asyncpg.PostgresError as exc:
                    self.errors.append(str(exc))
                self.waits_ms.append((time.perf_counter() - t0) * 1000)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(),
                                           max(0.0, PROBE_EVERY_S - (time.perf_counter() - t0)))
        finally:
            await con.close()


class _Undo(Exception):
    """Rolls the counter probe's transaction back."""


# ---- part 1: the import -------------------------------------------------------------------------------
async def measure_import(backend: str, db_url: str, rows: int, sqlite_path: str | None,
                         pg_dsn: str | None) -> list[BatchResult]:
    """migrate, grant, customers and products, then the timed order import with the probe(s) writing."""
    res: list[BatchResult] = []
    with tempfile.TemporaryDirectory() as cwd:  # no gendan.toml / .env of the developer's
        env = _env(db_url)
        files = write_import_files(Path(cwd), rows, datetime.now(TZ).date())
        for args in (("migrate",), ("grant", OWNER, "sales"), ("import", "customers", str(files.customers)),
                     ("import", "products", str(files.products))):
            done = await asyncio.to_thread(_cli, env, cwd, *args)
            if done.returncode:
                raise RuntimeError(f"gendan {' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
        probes: list[tuple[str, Probe]] = []
        if sqlite_path:
            probe_s = SqliteProbe(sqlite_path)
            probes.append(("BEGIN IMMEDIATE + insert (own table)", probe_s))
            probe_s.start()
        else:
            assert pg_dsn
            own, counter = PostgresProbe(pg_dsn), PostgresProbe(pg_dsn, counter=True)
            probes += [("insert (own table)", own), ("order-counter upsert, rolled back", counter)]
            await own.start()
            await counter.start()
        t0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "import", "orders", str(files.orders), "--owner", OWNER,
            env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        elapsed = time.perf_counter() - t0
        for _, p in probes:
            if isinstance(p, SqliteProbe):
                await asyncio.to_thread(p.stop)
            elif isinstance(p, PostgresProbe):
                await p.stop()
        found = await _count_orders(sqlite_path, pg_dsn)
        report = out.decode(errors="replace").strip().splitlines()
        error = ""
        if proc.returncode != 0:
            tail = (err.decode(errors="replace").strip().splitlines() or report or [""])[-1]
            error = f"exit {proc.returncode}: {(report[0] if report else tail)[:160]}"
        elif found != files.order_count:
            error = f"{found:,} orders in the database, {files.order_count:,} in the file"
        rate = files.rows / elapsed if elapsed else 0.0
        res.append(BatchResult(backend, f"import {files.rows:,} order rows ({files.order_count:,} orders)", elapsed,
                               "s", IMPORT_GOAL_S, f"{rate:,.0f} rows/s, exit {proc.returncode}, "
                               f"{found:,} orders counted; {_load_avg()}", error))
        for name, p in probes:
            worst, p99, n = p.summary()
            note = f"p99 {p99:,.0f} ms, {n} probes" + (f", {len(p.errors)} failed: {p.errors[0][:60]}"
                                                         if p.errors else "")
            res.append(BatchResult(backend, f"writer blocked (max): {name}", worst, "ms", PROBE_GOAL_MS, note,
                                   "no probe ran" if not n else ""))
    return res


async def _migrate_and_load(backend: str, env: dict[str, str], cwd: str, history: History, now: datetime,
                            sqlite_path: str | None, pg_url: str | None) -> BatchResult:
    """``gendan migrate``, then the history bulk-loaded into the migrated schema (the triggers of the
    migrations run as for any writer): the load's figure."""
    done = await asyncio.to_thread(_cli, env, cwd, "migrate")
    if done.returncode:
        raise RuntimeError(f"gendan migrate exited {done.returncode}: {done.stderr}")
    t0 = time.perf_counter()
    if sqlite_path:
        loaded = await asyncio.to_thread(load_sqlite_chunks, sqlite_path, history_chunks(history, now))
    else:
        assert pg_url
        engine = create_async_engine(pg_url)
        try:
            loaded = await load_postgres_chunks(engine, history_chunks(history, now))
        finally:
            await engine.dispose()
    return BatchResult(backend, f"bulk load {history.orders:,} orders", time.perf_counter() - t0, "s", None,
                       f"{loaded:,} rows; {_load_avg()}")


async def measure_export(backend: str, db_url: str, history: History, sqlite_path: str | None,
                         pg_url: str | None) -> list[BatchResult]:
    """``--part export``: the pages part's history and its one-month export, without serving the pages."""
    now = datetime.now(TZ)
    with tempfile.TemporaryDirectory() as cwd:
        env = _env(db_url)
        res = [await _migrate_and_load(backend, env, cwd, history, now, sqlite_path, pg_url)]
        month_end = now.date().replace(day=1) - timedelta(days=1)
        out = Path(cwd) / "orders.xlsx"
        name = f"gendan export orders (one month, {month_end:%Y-%m})"
        t0 = time.perf_counter()
        try:
            done = await asyncio.to_thread(_cli, env, cwd, "export", "orders", str(out), "--from",
                                           month_end.replace(day=1).isoformat(), "--to", month_end.isoformat(),
                                           timeout=EXPORT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            res.append(BatchResult(backend, name, time.perf_counter() - t0, "s", None,
                                   error=f"did not finish in {EXPORT_TIMEOUT_S:.0f} s (killed)"))
        else:
            size = out.stat().st_size / 1024 if out.exists() else 0
            res.append(BatchResult(backend, name, time.perf_counter() - t0, "s", None,
                                   f"{size:,.0f} KiB; {(done.stdout or done.stderr).strip().split('到 /')[0][:70]}; "
                                   f"{_load_avg()}",
                                   f"exit {done.returncode}: {done.stderr.strip()[-120:]}" if done.returncode else ""))
    return res


async def _count_orders(sqlite_path: str | None, pg_dsn: str | None) -> int:
    sql = "SELECT count(*) FROM orders WHERE external_ref LIKE 'H%'"
    if sqlite_path:
        con = sqlite3.connect(sqlite_path)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    assert pg_dsn
    apg = await asyncpg.connect(pg_dsn)
    try:
        return int(await apg.fetchval(sql))
    finally:
        await apg.close()


# ---- part 2: the dashboard, the API and the export at 1M orders ---------------------------------------
async def _timed(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None,
                 ) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    async with session.get(url, headers=headers, allow_redirects=False) as resp:
        body = await resp.read()
    return (time.perf_counter() - t0) * 1000, resp.status, len(body)


async def _page(session: aiohttp.ClientSession, backend: str, name: str, url: str, requests: int,
                headers: dict[str, str] | None = None) -> BatchResult:
    """One warm-up, then ``requests`` timed requests one after the other: the median (judged) and the max."""
    try:
        times = []
        size = 0
        for i in range(requests + 1):
            ms, status, size = await _timed(session, url, headers)
            if status != 200:
                return BatchResult(backend, name, ms, "ms", PAGE_GOAL_MS, error=f"HTTP {status} ({size} bytes)")
            if i:
                times.append(ms)
        return BatchResult(backend, name, statistics.median(times), "ms", PAGE_GOAL_MS,
                           f"max {max(times):,.0f} ms, {size / 1024:,.0f} KiB", max_value=max(times))
    except (aiohttp.ClientError, TimeoutError) as exc:
        return BatchResult(backend, name, 0.0, "ms", PAGE_GOAL_MS, error=f"{type(exc).__name__}: {exc}"[:120])


async def _board_session(session: aiohttp.ClientSession, base: str) -> None:
    """``/看板`` in the 1:1 chat of a person who exists, follow the link, keep the cookie."""
    body = {"user": OWNER.split(":")[1], "name": "基准", "chat": OWNER.split(":")[1], "text": "/看板"}
    async with session.post(base + "/local/message", json=body) as resp:
        answer = await resp.text()
        if resp.status != 200:
            raise RuntimeError(f"/看板 answered HTTP {resp.status}: {answer[:200]}")
    link = re.search(r"https?://[^\s\"\\]+/board\?t=[A-Za-z0-9._~%-]+", answer)
    if link is None:
        raise RuntimeError(f"/看板 gave no link: {answer[:300]}")
    async with session.get(link.group(0)) as resp:  # the link → cookie → redirect to /board/
        if resp.status != 200 or "gendan_board" not in {c.key for c in session.cookie_jar}:
            raise RuntimeError(f"the /看板 link opened HTTP {resp.status} without a session cookie")


async def measure_pages(backend: str, db_url: str, history: History, requests: int, sqlite_path: str | None,
                        pg_url: str | None) -> list[BatchResult]:
    """Bulk-load the history into the migrated schema, then serve it and time every page."""
    res: list[BatchResult] = []
    now = datetime.now(TZ)
    with tempfile.TemporaryDirectory() as cwd:
        port = _free_port()
        token = "bench-" + secrets.token_hex(12)
        env = _env(db_url, GENDAN_PORT=str(port), GENDAN_HOST="127.0.0.1", GENDAN_LOCAL_ENABLED="true",
                   GENDAN_PUBLIC_URL=f"http://127.0.0.1:{port}", GENDAN_API_TOKEN=token,
                   GENDAN_SECRET_KEY="bench-" + secrets.token_hex(8))
        res.append(await _migrate_and_load(backend, env, cwd, history, now, sqlite_path, pg_url))
        done = await asyncio.to_thread(_cli, env, cwd, "grant", OWNER, "boss")
        if done.returncode:
            raise RuntimeError(f"gendan grant exited {done.returncode}: {done.stderr}")
        month_end = now.date().replace(day=1) - timedelta(days=1)
        out = Path(cwd) / "orders.xlsx"
        t0 = time.perf_counter()
        name = f"gendan export orders (one month, {month_end:%Y-%m})"
        if os.environ.get("GENDAN_BENCH_NO_EXPORT"):  # the pages alone (the export has its own runs)
            res.append(BatchResult(backend, name + ": skipped", 0.0, "s", None, "GENDAN_BENCH_NO_EXPORT is set"))
        else:
            try:
                done = await asyncio.to_thread(_cli, env, cwd, "export", "orders", str(out), "--from",
                                               month_end.replace(day=1).isoformat(), "--to", month_end.isoformat(),
                                               timeout=EXPORT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                res.append(BatchResult(backend, name, time.perf_counter() - t0, "s", None,
                                       error=f"did not finish in {EXPORT_TIMEOUT_S:.0f} s (killed)"))
            else:
                took = time.perf_counter() - t0
                size = out.stat().st_size / 1024 if out.exists() else 0
                said = (done.stdout or done.stderr).strip().split('到 /')[0][:70]
                failed = f"exit {done.returncode}: {done.stderr.strip()[-120:]}" if done.returncode else ""
                res.append(BatchResult(backend, name, took, "s", None, f"{size:,.0f} KiB; {said}", failed))
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            t0 = time.perf_counter()
            await _wait_up(base + "/healthz", proc, timeout=120.0)
            idle = await _wait_idle(proc.pid)
            res.append(BatchResult(backend, "server start until idle (first scheduler tick)",
                                   time.perf_counter() - t0, "s", None,
                                   "" if idle else "still busy after 20 min: pages timed anyway"))
            res += await _pages(backend, base, token, history, requests)
            res.append(BatchResult(backend, "server RSS after the pages", _rss_mb(proc.pid), "MB", None, _load_avg()))
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return res


def _load_avg() -> str:
    """The machine's load average (1, 5, 15 min): the machine is shared, so every part says how busy it was."""
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def _wait_idle(pid: int, quiet_s: float = 3.0, timeout_s: float = 1200.0) -> bool:
    """Wait until the server has used under 5 % of a core for ``quiet_s``: ``gendan serve`` runs the
    scheduler's first tick (plan and deliver over every open order) at start, and the pages are timed
    after it, not against it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = _cpu_seconds(pid)
        await asyncio.sleep(quiet_s)
        if _cpu_seconds(pid) - before < 0.05 * quiet_s:
            return True
    return False


async def _pages(backend: str, base: str, token: str, history: History, requests: int) -> list[BatchResult]:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    api = {"Authorization": f"Bearer {token}"}
    newest = history.orders
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=timeout) as session:
        await _board_session(session, base)
        pages = [("/board/ (kanban)", "/board/"),
                 (f"/board/orders/{newest}", f"/board/orders/{newest}"),
                 ("/board/orders/1 (oldest)", "/board/orders/1"),
                 ("/board/sales (default: 12 months)", "/board/sales"),
                 ("/board/quotes", "/board/quotes")]
        res = [await _page(session, backend, name, base + path, requests) for name, path in pages]
        apis = [("GET /api/v1/orders (first page)", "/api/v1/orders"),
                ("GET /api/v1/orders?page=1000", "/api/v1/orders?page=1000"),
                ("GET /api/v1/orders?state=CONFIRMED", "/api/v1/orders?state=CONFIRMED"),
                ("GET /api/v1/orders?customer=客户17", "/api/v1/orders?customer=客户17"),
                ("GET /api/v1/orders?owner=p7", "/api/v1/orders?owner=p7"),
                ("GET /api/v1/orders?overdue=true", "/api/v1/orders?overdue=true"),
                ("GET /api/v1/orders?stage=READY", "/api/v1/orders?stage=READY"),
                (f"GET /api/v1/orders/{newest}", f"/api/v1/orders/{newest}"),
                ("GET /api/v1/customers?q=客户1", "/api/v1/customers?q=客户1")]
        res += [await _page(session, backend, name, base + path, requests, api) for name, path in apis]
    return res


# ---- both parts on each backend ------------------------------------------------------------------------
async def _fresh_pg(pg_url: str) -> tuple[str, Any]:
    name = "bench_" + secrets.token_hex(4)
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    return f"{pg_url.rsplit('/', 1)[0]}/{name}", admin


async def _drop_pg(admin: Any, url: str) -> None:
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    await admin.dispose()


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def run_batch(pg_url: str | None, sqlite: bool, import_rows: int, history: History,
                    requests: int = REQUESTS, parts: tuple[str, ...] = ("import", "pages")) -> list[BatchResult]:
    """Each part in a fresh database of each backend (SQLite: a temporary file; PostgreSQL: a new database,
    dropped afterwards). A part that fails is one error row in the table, and the rest still runs."""
    results: list[BatchResult] = []

    async def guarded(backend: str, part: str, run: Any) -> None:
        try:
            results.extend(await run)
        except Exception as exc:  # a failed run is an error row, not a crash
            results.append(BatchResult(backend, part, 0.0, "", None, error=f"{type(exc).__name__}: {exc}"[:200]))

    for part in parts:
        if sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                path = f"{tmp}/bench.db"
                url = f"sqlite+aiosqlite:///{path}"
                if part == "import":
                    await guarded("sqlite", "import", measure_import("sqlite", url, import_rows, path, None))
                elif part == "export":
                    await guarded("sqlite", "export", measure_export("sqlite", url, history, path, None))
                else:
                    await guarded("sqlite", "pages", measure_pages("sqlite", url, history, requests, path, None))
        if pg_url:
            url, admin = await _fresh_pg(pg_url)
            try:
                if part == "import":
                    await guarded("postgresql", "import",
                                  measure_import("postgresql", url, import_rows, None, _dsn(url)))
                elif part == "export":
                    await guarded("postgresql", "export", measure_export("postgresql", url, history, None, url))
                else:
                    await guarded("postgresql", "pages",
                                  measure_pages("postgresql", url, history, requests, None, url))
            finally:
                await _drop_pg(admin, url)
    return results


def print_batch(results: list[BatchResult]) -> None:
    """The table for bench/README.md."""
    print(f"{'backend':<11} {'measure':<60} {'value':>10}  {'goal':>9}  result  note")
    for r in results:
        goal = f"< {r.goal:g} {r.unit}" if r.goal is not None else "—"
        verdict = "ERROR" if r.error else (("ok" if r.ok else "MISSED") if r.goal is not None else "")
        value = "—" if r.error and not r.value else f"{r.value:>7,.1f} {r.unit}".strip()
        print(f"{r.backend:<11} {r.name:<60} {value:>10}  {goal:>9}  {verdict:<6}  {r.error or r.note}", flush=True)
