"""DingTalk Stream mode: the robot's messages and card clicks over an outbound WebSocket.

Placeholder until the connection lands: :func:`add_long_connection` registers nothing.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.config import Settings
from bot.longconn import Connections
from bot.transport import InboundSink, Transport


def add_long_connection(connections: Connections, transports: dict[str, Transport], session: aiohttp.ClientSession,
                        settings: Settings, sink: InboundSink, **kwargs: Any) -> None:
    """Register the Stream connection when ``GENDAN_DINGTALK_MODE=stream`` and the app keys are set."""
    return None
