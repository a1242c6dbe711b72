"""The baseline: a bare aiohttp server answering ``POST /local/message`` like gendan does, doing nothing else.

``python -m bench.bare --port P``. It reads and validates the JSON body and answers a reply of the
same shape and size as a real ``/查单`` answer, so the ratio to it measures what gendan adds.
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web

REPLY = {"replies": [{"chat": "g1", "kind": "text", "card": None,
                      "text": "#1 已确认·待生产 | 已发 0% · 已收 0% · 交期 12-15\n客户：华为　负责人：张三\n"
                              "· A100 ×2 @¥300 = ¥600\n金额 ¥600 · 已收 ¥0 · 待收 ¥600"}]}


async def message(request: web.Request) -> web.Response:
    """Parse the body as the local adapter does, answer the fixed reply."""
    body = json.loads(await request.read())
    if not isinstance(body, dict) or "text" not in body:
        return web.json_response({"error": "invalid body"}, status=400)
    return web.json_response(REPLY)


def main() -> None:
    """Entry point."""
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    app = web.Application()
    app.router.add_post("/local/message", message)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
