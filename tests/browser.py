"""A headless Chromium driven over the DevTools protocol (for the few checks only a browser can make).

Used only when a Chromium binary is installed; tests skip (saying so) otherwise. Nothing is
fetched from the internet: the browser opens the test server on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

BINARIES = ("chromium", "chromium-browser", "google-chrome", "headless_shell")
#: generous: CI is a loaded 2-core machine
DEADLINE = 30.0


def chromium() -> str | None:
    """The path of a Chromium binary, if one is installed."""
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


class Page:
    """One tab: navigate, evaluate JavaScript, wait for a condition, take a screenshot."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: str) -> None:
        self.ws = ws
        self.session = session
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command in this tab; its result."""
        msg_id = next(self._ids) + 1000
        await self.ws.send_json({"id": msg_id, "sessionId": self.session, "method": method, "params": params})
        async with asyncio.timeout(DEADLINE):
            while True:
                msg = json.loads((await self.ws.receive()).data)
                if msg.get("id") == msg_id:
                    if "error" in msg:
                        raise RuntimeError(f"{method}: {msg['error']}")
                    return dict(msg.get("result", {}))

    async def js(self, expression: str) -> Any:
        """Evaluate (promises awaited) and return the value."""
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def until(self, expression: str) -> Any:
        """Poll ``expression`` until it is truthy (at most ``DEADLINE`` seconds)."""
        async with asyncio.timeout(DEADLINE):
            while not (value := await self.js(expression)):
                await asyncio.sleep(0.1)
            return value

    async def open(self, url: str) -> None:
        """Navigate and wait until the page has loaded."""
        await self.send("Page.navigate", url=url)
        await asyncio.sleep(0.2)
        await self.until(f"document.readyState === 'complete' && location.href.startsWith({json.dumps(url[:20])})")


@contextlib.asynccontextmanager
async def phone(binary: str, width: int = 390, height: int = 844) -> AsyncIterator[Page]:
    """A headless Chromium with one phone-sized tab."""
    with tempfile.TemporaryDirectory() as profile:
        proc = await asyncio.create_subprocess_exec(
            binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            assert proc.stderr is not None
            async with asyncio.timeout(DEADLINE):
                while True:
                    line = (await proc.stderr.readline()).decode()
                    if not line:
                        raise RuntimeError("Chromium exited before it listened")
                    found = re.search(r"DevTools listening on (ws://\S+)", line)
                    if found:
                        break
            async with aiohttp.ClientSession() as http, http.ws_connect(found[1], max_msg_size=0) as ws:
                await ws.send_json({"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}})
                target = await _answer(ws, 1)
                await ws.send_json({"id": 2, "method": "Target.attachToTarget",
                                    "params": {"targetId": target["targetId"], "flatten": True}})
                page = Page(ws, (await _answer(ws, 2))["sessionId"])
                await page.send("Page.enable")
                await page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                                deviceScaleFactor=2, mobile=True)
                yield page
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def _answer(ws: aiohttp.ClientWebSocketResponse, msg_id: int) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE):
        while True:
            msg = json.loads((await ws.receive()).data)
            if msg.get("id") == msg_id:
                return dict(msg["result"])
