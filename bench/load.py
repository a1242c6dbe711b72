"""A closed-loop HTTP load generator, run in its own process: ``python -m bench.load URL BODY.json``.

``--conns`` clients each send one request, wait for its answer and send the next, for
``--seconds``; prints one JSON line: requests, errors, req/s, p50/p90/p99 latency in ms.
Each request body is the JSON file's object with ``msg_id`` made unique, so the server's
dedupe never turns the load into no-ops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp


async def _client(session: aiohttp.ClientSession, url: str, body: dict[str, Any], n: int, stop_at: float,
                  lat: list[float], errors: list[int]) -> None:
    seq = 0
    while time.perf_counter() < stop_at:
        seq += 1
        payload = dict(body, msg_id=f"load-{n}-{seq}-{time.time_ns()}")
        t0 = time.perf_counter()
        try:
            async with session.post(url, json=payload) as resp:
                await resp.read()
                if resp.status != 200:
                    errors.append(resp.status)
        except aiohttp.ClientError:
            errors.append(0)
        lat.append((time.perf_counter() - t0) * 1000)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def run(url: str, body: dict[str, Any], conns: int, seconds: float) -> dict[str, Any]:
    """Drive ``url`` with ``conns`` closed-loop clients for ``seconds``."""
    lat: list[float] = []
    errors: list[int] = []
    connector = aiohttp.TCPConnector(limit=conns)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(*(_client(session, url, body, n, stop_at, lat, errors) for n in range(conns)))
        elapsed = time.perf_counter() - start
    return {"requests": len(lat), "errors": len(errors), "rps": len(lat) / elapsed,
            "p50": _pct(lat, 0.50), "p90": _pct(lat, 0.90), "p99": _pct(lat, 0.99)}


def main() -> None:
    """Entry point."""
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("body")
    p.add_argument("--conns", type=int, default=32)
    p.add_argument("--seconds", type=float, default=8.0)
    args = p.parse_args()
    with open(args.body, encoding="utf-8") as fh:
        body = json.load(fh)
    print(json.dumps(asyncio.run(run(args.url, body, args.conns, args.seconds))))


if __name__ == "__main__":
    main()
