"""A deadline for the request body: a client that promises more bytes than it sends is answered 408.

aiohttp waits for a body as long as the client keeps the connection open, so a body shorter
than its Content-Length (a broken proxy, or a slow-loris attack) would hold a handler and its
socket forever. The deadline covers receiving the body only: once every byte has arrived the
handler runs as long as it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger("gendan.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def body_deadline(seconds: float) -> Any:
    """Middleware: the whole body must arrive within ``seconds`` of the request's headers, else 408."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        content = request.content
        if not request.body_exists or content.is_eof():
            return await handler(request)
        arrived = asyncio.Event()
        content.on_eof(arrived.set)
        work = asyncio.ensure_future(handler(request))
        body = asyncio.ensure_future(arrived.wait())
        try:
            await asyncio.wait({work, body}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            body.cancel()
        if work.done() or arrived.is_set():
            return await work
        # the handler is still waiting for bytes that did not come: nothing of its work has begun
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        log.warning("request %s %s from %s: body not received within %.0f s", request.method, request.path,
                    request.remote, seconds)
        return web.json_response({"error": f"request body not received within {seconds:g} s"}, status=408,
                                 headers={"Connection": "close"})

    return middleware
