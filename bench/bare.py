"""The baseline: a bare aiohttp server answering the bot's inbound paths like gendan does, doing nothing else.

``python -m bench.bare --port P``. ``POST /local/message`` reads and validates the JSON body and
answers a reply of the same shape and size as a real ``/查单`` answer. ``POST /wecom/aibot`` does
what gendan does to a WeCom AI-bot callback before its own work: checks the signature and the
timestamp, decrypts (with the same ``bot.wecom.crypto`` code), parses the envelope and the message
JSON, and answers what gendan answers, an empty 200 (the reply leaves later through the
``response_url``). So the ratio to it measures what gendan adds.
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web

from bench import aibot
from bot.wecom.crypto import CallbackRejected, WeComCrypto

REPLY = {"replies": [{"chat": "g1", "kind": "text", "card": None,
                      "text": "#1 已确认·待生产 | 已发 0% · 已收 0% · 交期 12-15\n客户：华为　负责人：张三\n"
                              "· A100 ×2 @¥300 = ¥600\n金额 ¥600 · 已收 ¥0 · 待收 ¥600"}]}


async def message(request: web.Request) -> web.Response:
    """Parse the body as the local adapter does, answer the fixed reply."""
    body = json.loads(await request.read())
    if not isinstance(body, dict) or "text" not in body:
        return web.json_response({"error": "invalid body"}, status=400)
    return web.json_response(REPLY)


_crypto = WeComCrypto(aibot.TOKEN, aibot.AES_KEY, "")


async def aibot_callback(request: web.Request) -> web.Response:
    """Verify, decrypt and parse the callback as gendan's route does; answer its empty 200."""
    q = request.query
    try:
        envelope = json.loads(await request.read())
        plain = _crypto.decrypt(q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""),
                                envelope["encrypt"])
        message = json.loads(plain)
    except (CallbackRejected, ValueError, KeyError, TypeError):
        return web.Response(status=400, text="rejected")
    if not isinstance(message, dict) or not message.get("msgid"):
        return web.Response(status=400, text="rejected")
    return web.Response(status=200, body=b"")


def main() -> None:
    """Entry point."""
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    app = web.Application()
    app.router.add_post("/local/message", message)
    app.router.add_post(aibot.PATH, aibot_callback)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
