"""A body shorter than its Content-Length is not waited on forever: 408, never a 5xx, others unaffected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from storage.db import Database
from tests.conftest import Clock, make_settings

DEADLINE = 2.0


@pytest.fixture
async def client(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[TestClient[Any, Any]]:
    url, kwargs = db_url
    app = create_app(make_settings(url, body_timeout=DEADLINE), clock=clock, run_sender=False,
                     db=Database(url, **kwargs))
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


async def raw(port: int, head: bytes, parts: list[bytes], gap: float = 0.0) -> bytes:
    """Send a request by hand (``parts`` of the body, ``gap`` seconds apart) and read the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        for part in parts:
            await asyncio.sleep(gap)
            writer.write(part)
            await writer.drain()
        # generous: the point is that an answer comes at all, not how fast
        return await asyncio.wait_for(reader.read(), timeout=DEADLINE + 30)
    finally:
        writer.close()


def head(length: int) -> bytes:
    return (f"POST /local/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()


async def test_a_body_shorter_than_its_content_length_is_answered_408(client: TestClient[Any, Any]) -> None:
    port = client.server.port
    assert port is not None
    started = time.monotonic()
    answer = await raw(port, head(100), [b'{"user": "u1", "te'])
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started >= DEADLINE * 0.9  # it did wait for the promised bytes first
    # the server is fine meanwhile and afterwards
    resp = await client.get("/healthz")
    assert resp.status == 200


async def test_other_requests_are_served_while_one_body_hangs(client: TestClient[Any, Any]) -> None:
    port = client.server.port
    assert port is not None
    hanging = asyncio.ensure_future(raw(port, head(1000), [b"{"]))
    for _ in range(3):
        resp = await client.post("/local/message", json={"user": "u1", "chat": "u1", "text": "/帮助"})
        assert resp.status == 200 and "可用命令" in (await resp.json())["replies"][0]["text"]
    assert (await hanging).startswith(b"HTTP/1.1 408")


async def test_a_body_that_arrives_in_pieces_within_the_deadline_is_served(client: TestClient[Any, Any]) -> None:
    port = client.server.port
    assert port is not None
    body = '{"user": "u1", "chat": "u1", "text": "/帮助"}'.encode()
    answer = await raw(port, head(len(body)), [body[:10], body[10:]], gap=0.05)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert "可用命令".encode() in answer
