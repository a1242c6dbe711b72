"""A closed-loop HTTP load generator, run in its own process: ``python -m bench.load URL BODY.json``.

``--conns`` clients each send one request, wait for its answer and send the next, for
``--seconds``; prints one JSON line: requests, errors, req/s, p50/p90/p99 latency in ms, and
``ended`` (``time.monotonic()``, one clock for every process of the machine, when the last
answer came). Each request body is the JSON file's object with ``msg_id`` made unique, so the
server's dedupe never turns the load into no-ops.

``--aibot TAG``: the JSON file is ``{"text": …}`` and every request is a signed, encrypted WeCom
AI-bot callback carrying it, with a fresh ``msgid`` and the response_code ``TAG.<n>``. ``--bodies``
of them are encrypted before the clock starts, so that the generator's own CPU stays out of the
figure; should the run need more, the rest are encrypted on the way and counted as ``live``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp
from yarl import URL

from bench import aibot

#: one request: (URL, body bytes, Content-Type)
Request = tuple[URL, bytes, str]


class _Aibot:
    """Pre-encrypted AI-bot callbacks, handed out once each."""

    def __init__(self, url: str, text: str, tag: str, bodies: int) -> None:
        self._url, self._text, self._tag = url, text, tag
        self._n = 0
        self.live = 0
        self._ready: deque[Request] = deque(self._make() for _ in range(bodies))

    def _make(self) -> Request:
        self._n += 1
        query, body = aibot.callback(self._text, f"bench-{self._tag}-{self._n}", f"{self._tag}.{self._n}")
        return URL(f"{self._url}?{query}", encoded=True), body, "application/json"

    def __call__(self) -> Request:
        if self._ready:
            return self._ready.popleft()
        self.live += 1
        return self._make()


def _local(url: str, body: dict[str, Any]) -> Callable[[], Request]:
    target = URL(url)
    seq = iter(range(1, 1 << 62))

    def make() -> Request:
        payload = dict(body, msg_id=f"load-{next(seq)}-{time.time_ns()}")
        return target, json.dumps(payload, ensure_ascii=False).encode(), "application/json"

    return make


async def _client(session: aiohttp.ClientSession, make: Callable[[], Request], stop_at: float,
                  lat: list[float], errors: list[int], expect: bytes = b"") -> None:
    while time.perf_counter() < stop_at:
        url, body, content_type = make()
        t0 = time.perf_counter()
        try:
            async with session.post(url, data=body, headers={"Content-Type": content_type}) as resp:
                answer = await resp.read()
                if resp.status != 200:
                    errors.append(resp.status)
                elif expect and expect not in answer:
                    errors.append(-1)  # answered, but not what the command answers (a refusal, a limit)
        except (aiohttp.ClientError, TimeoutError):
            errors.append(0)
        lat.append((time.perf_counter() - t0) * 1000)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def run(make: Callable[[], Request], conns: int, seconds: float, expect: bytes = b"") -> dict[str, Any]:
    """Drive the requests ``make`` returns with ``conns`` closed-loop clients for ``seconds``."""
    lat: list[float] = []
    errors: list[int] = []
    connector = aiohttp.TCPConnector(limit=conns)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(*(_client(session, make, stop_at, lat, errors, expect) for _ in range(conns)))
        elapsed = time.perf_counter() - start
        ended = time.monotonic()
    return {"requests": len(lat), "errors": len(errors), "ok": len(lat) - len(errors), "rps": len(lat) / elapsed,
            "p50": _pct(lat, 0.50), "p90": _pct(lat, 0.90), "p99": _pct(lat, 0.99), "ended": ended}


def main() -> None:
    """Entry point."""
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("body")
    p.add_argument("--conns", type=int, default=32)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--aibot", metavar="TAG", help="send WeCom AI-bot callbacks, response_codes TAG.<n>")
    p.add_argument("--bodies", type=int, default=20_000, help="--aibot: callbacks encrypted before the clock")
    p.add_argument("--expect", default="", help="an answer without this text counts as an error")
    args = p.parse_args()
    with open(args.body, encoding="utf-8") as fh:
        body = json.load(fh)
    make: Callable[[], Request] = (_Aibot(args.url, str(body["text"]), args.aibot, args.bodies) if args.aibot
                                   else _local(args.url, body))
    result = asyncio.run(run(make, args.conns, args.seconds, args.expect.encode()))
    if isinstance(make, _Aibot):
        result["live"] = make.live
    print(json.dumps(result))


if __name__ == "__main__":
    main()
