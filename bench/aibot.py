"""The WeCom AI-bot side of the ingest benchmark: genuine signed callbacks, and a receiver for the replies.

Callbacks are encrypted with wechatpy's ``PrpCrypto`` and signed here (``sha1`` of the sorted
token, timestamp, nonce and ciphertext), so the server's own ``bot.wecom.crypto`` checks a
second implementation, as it would check WeCom. Each callback is a group message
``@跟单助手 <command>`` with its own ``msgid`` and its own ``response_url``, whose
``response_code`` names the figure it belongs to (``<tag>.<n>``).

:class:`Receiver` stands in for WeCom's API (``GENDAN_WECOM_API_BASE``): it accepts the replies
the bot posts to ``/cgi-bin/aibot/response?response_code=…``, answers each code once (a second
use is refused as WeCom does, and counted), and records per tag how many arrived and when the
last one did.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections import defaultdict
from typing import Any

from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

TOKEN = "benchAibotToken"
AES_KEY = "benchAibotKey0123456789abcdefghijklmnopqrst"  # 43 letters and digits, like WeCom's
CORP_ID = "wwbenchcorp"
PATH = "/wecom/aibot"
GROUP = "wrkBENCHGROUP"
USER = "benchsales"
BOT_NAME = "跟单助手"
RESPONSE_URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code="
#: an internal AI bot encrypts with an empty receive id
_RECEIVE_ID = ""
_prp = PrpCrypto(WeChatCrypto(TOKEN, AES_KEY, _RECEIVE_ID).key)


def payload(text: str, msgid: str, code: str) -> dict[str, Any]:
    """A decrypted AI-bot group text message: ``@跟单助手 text`` (WeCom puts U+2005 after a mention)."""
    return {"msgid": msgid, "aibotid": "AIBOTBENCH", "chatid": GROUP, "chattype": "group",
            "from": {"userid": USER}, "response_url": RESPONSE_URL + code, "msgtype": "text",
            "text": {"content": f"@{BOT_NAME}\u2005{text}"}}


def sign(timestamp: str, nonce: str, encrypted: str) -> str:
    """WeCom's callback signature."""
    return hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce, encrypted])).encode()).hexdigest()


def callback(text: str, msgid: str, code: str) -> tuple[str, bytes]:
    """``(query string, body)`` of one signed, encrypted ``POST /wecom/aibot`` carrying ``text``."""
    encrypted = _prp.encrypt(json.dumps(payload(text, msgid, code), ensure_ascii=False), _RECEIVE_ID).decode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = f"msg_signature={sign(timestamp, nonce, encrypted)}&timestamp={timestamp}&nonce={nonce}"
    return query, json.dumps({"encrypt": encrypted}).encode()


def tag_of(code: str) -> str:
    """The figure a response_code belongs to."""
    return code.split(".", 1)[0]


class Receiver:
    """WeCom's ``aibot/response`` on 127.0.0.1: counts replies per tag (run with ``async with``)."""

    def __init__(self) -> None:
        self.replies: dict[str, int] = defaultdict(int)
        self.duplicates: dict[str, int] = defaultdict(int)
        self.last: dict[str, float] = {}  # tag -> time.monotonic() of the latest reply
        self.contents: dict[str, str] = {}  # code -> reply text, kept for the set-up codes only
        self.url = ""
        self._used: set[str] = set()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/cgi-bin/aibot/response", self._response)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _response(self, request: web.Request) -> web.Response:
        code = request.query.get("response_code", "")
        body = await request.read()
        tag = tag_of(code)
        if not code or code in self._used:
            self.duplicates[tag] += 1
            return web.json_response({"errcode": 40099, "errmsg": "response_code used"})
        self._used.add(code)
        self.replies[tag] += 1
        self.last[tag] = time.monotonic()
        if tag == "setup":
            self.contents[code] = json.dumps(json.loads(body), ensure_ascii=False)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def wait(self, tag: str, expected: int, quiet: float = 20.0, limit: float = 600.0) -> None:
        """Until ``expected`` replies of ``tag`` arrived, none came for ``quiet`` s, or ``limit`` s passed."""
        start = last_change = time.monotonic()
        seen = self.replies[tag]
        while self.replies[tag] < expected:
            now = time.monotonic()
            if self.replies[tag] != seen:
                seen, last_change = self.replies[tag], now
            if now - last_change > quiet or now - start > limit:
                return
            await asyncio.sleep(0.05)


def order_number(reply: str) -> int | None:
    """The ``#N`` a ``/下单`` answer names."""
    found = re.search(r"#(\d+)", reply)
    return int(found.group(1)) if found else None
