"""DingTalk Stream wire format (pure functions, no I/O).

Server frames are JSON objects::

    {"specVersion": "1.0", "type": "SYSTEM" | "EVENT" | "CALLBACK",
     "headers": {"messageId", "topic", "contentType", "time", "appId", "connectionId", ...},
     "data": "<JSON string>"}

Every frame with a ``messageId`` is answered with an ack frame::

    {"code": 200, "headers": {"contentType": "application/json", "messageId": <same>},
     "message": "OK", "data": "<JSON string>"}

SYSTEM ``ping`` echoes ``data``; a CALLBACK answers ``{"response": ...}`` in ``data``.
Codes: 200 OK, 400 bad request, 404 no handler, 500 internal error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TOPIC_ROBOT = "/v1.0/im/bot/messages/get"
TOPIC_CARD = "/v1.0/card/instances/callback"
#: what the connection asks for when it is opened: robot messages and card clicks
SUBSCRIPTIONS: tuple[dict[str, str], ...] = (
    {"type": "CALLBACK", "topic": TOPIC_ROBOT},
    {"type": "CALLBACK", "topic": TOPIC_CARD},
)
SYSTEM, CALLBACK, EVENT = "SYSTEM", "CALLBACK", "EVENT"
PING, DISCONNECT = "ping", "disconnect"


class FrameError(ValueError):
    """A frame that is not a JSON object of the documented shape."""


@dataclass(frozen=True)
class Frame:
    """One server frame; ``data`` is still the raw JSON string."""

    type: str
    topic: str
    message_id: str
    data: str

    def data_object(self) -> Mapping[str, Any]:
        """``data`` decoded; FrameError unless it is a JSON object."""
        try:
            value = json.loads(self.data) if self.data else None
        except ValueError as exc:
            raise FrameError("data is not JSON") from exc
        if not isinstance(value, Mapping):
            raise FrameError("data is not an object")
        return value


def parse_frame(raw: str) -> Frame:
    """Decode one text frame; FrameError when it is not usable at all."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise FrameError("frame is not JSON") from exc
    if not isinstance(value, Mapping):
        raise FrameError("frame is not an object")
    headers = value.get("headers")
    headers = headers if isinstance(headers, Mapping) else {}
    data = value.get("data", "")
    if isinstance(data, Mapping):  # tolerate an inline object; the documented form is a string
        data = json.dumps(data, ensure_ascii=False)
    kind, topic, message_id = value.get("type"), headers.get("topic"), headers.get("messageId")
    return Frame(
        type=kind if isinstance(kind, str) else "",
        topic=topic if isinstance(topic, str) else "",
        message_id=message_id if isinstance(message_id, str) else "",
        data=data if isinstance(data, str) else "",
    )


def ack(message_id: str, data: str, *, code: int = 200, message: str = "OK") -> str:
    """The ack frame for ``message_id`` (``data`` is already a JSON string)."""
    return json.dumps(
        {
            "code": code,
            "headers": {"contentType": "application/json", "messageId": message_id},
            "message": message,
            "data": data,
        },
        ensure_ascii=False,
    )


def callback_ack(message_id: str, response: Any = None, *, code: int = 200, message: str = "OK") -> str:
    """The ack of a CALLBACK frame: ``data`` is ``{"response": response}`` as a JSON string."""
    return ack(message_id, json.dumps({"response": response}, ensure_ascii=False), code=code, message=message)


def open_body(client_id: str, client_secret: str, ua: str) -> dict[str, Any]:
    """The body of ``POST /v1.0/gateway/connections/open``."""
    return {
        "clientId": client_id,
        "clientSecret": client_secret,
        "subscriptions": [dict(s) for s in SUBSCRIPTIONS],
        "ua": ua,
        # The official SDK sends the host's outbound address, or "" when it cannot find
        # one; finding it needs a socket trick we would rather not do on the event loop.
        "localIp": "",
    }
