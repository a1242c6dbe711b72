"""WeCom AI-bot long-connection frames (pure functions, no I/O).

Every frame in both directions is one JSON text message ``{cmd, headers: {req_id}, body}``;
WeCom's answer to a frame we sent (subscribe, ping, reply, push) carries no ``cmd``, the
same ``req_id`` and ``errcode``/``errmsg``. The command names and body shapes follow
WeCom's official Node SDK (``WecomTeam/aibot-node-sdk``, ``src/types/api.ts`` and
``src/ws.ts``) and the Python SDK built from it; ``docs/long-connections.md`` lists what
no document confirms.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND = "aibot_send_msg"
#: the event WeCom sends to the older connection when a newer one subscribes for the same bot
DISCONNECTED_EVENT = "disconnected_event"
CALLBACKS = frozenset({MSG_CALLBACK, EVENT_CALLBACK})


class BadFrame(ValueError):
    """Not a frame of the documented shape."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame; ``cmd`` is empty for WeCom's answers to our frames."""

    cmd: str
    req_id: str
    body: dict[str, Any] = field(default_factory=dict)
    errcode: int | None = None
    errmsg: str = ""

    @property
    def is_answer(self) -> bool:
        """WeCom's answer (ack) to a frame we sent."""
        return not self.cmd

    @property
    def event_type(self) -> str:
        """``body.event.eventtype`` of an event callback, else ``""``."""
        event = self.body.get("event")
        return str(event.get("eventtype", "")) if isinstance(event, dict) else ""


def parse(raw: str | bytes) -> Frame:
    """Decode one WebSocket message; :class:`BadFrame` for anything else."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadFrame("frame is not JSON") from None
    if not isinstance(data, dict):
        raise BadFrame("frame is not an object")
    headers = data.get("headers")
    req_id = headers.get("req_id") if isinstance(headers, dict) else None
    if not isinstance(req_id, str) or not req_id:
        raise BadFrame("frame without headers.req_id")
    cmd = data.get("cmd") or ""
    if not isinstance(cmd, str):
        raise BadFrame("cmd is not a string")
    body = data.get("body")
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadFrame("body is not an object")
    errcode: int | None = None
    if "errcode" in data:
        try:
            errcode = int(data["errcode"])
        except (TypeError, ValueError):
            raise BadFrame("errcode is not a number") from None
    elif not cmd:
        raise BadFrame("answer without errcode")
    return Frame(cmd, req_id, body, errcode, str(data.get("errmsg", ""))[:120])


def encode(cmd: str, req_id: str, body: dict[str, Any] | None = None) -> str:
    """One frame as the text WeCom expects (UTF-8 JSON, Chinese kept as is)."""
    frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
    if body is not None:
        frame["body"] = body
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def new_req_id(cmd: str) -> str:
    """A fresh ``req_id`` in the SDK's ``{cmd}_{ms}_{random}`` form (its answers are matched by it)."""
    return f"{cmd}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def subscribe_body(bot_id: str, secret: str) -> dict[str, Any]:
    """``aibot_subscribe`` body: the bot's id and secret (the only credential; never log it)."""
    return {"bot_id": bot_id, "secret": secret}
