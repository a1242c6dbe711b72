"""WeCom 智能机器人 (AI bot) long connection: one WebSocket per bot, no public URL needed.

Placeholder until the connection lands: :func:`add_long_connection` registers nothing.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.config import Settings
from bot.longconn import Connections
from bot.transport import InboundSink, Transport


def aibot_ws_configured(settings: Settings) -> bool:
    """The long connection can be opened: the bot's id and secret are set."""
    return bool(settings.wecom_aibot_id and settings.wecom_aibot_secret.get_secret_value())


def add_long_connection(connections: Connections, transports: dict[str, Transport], session: aiohttp.ClientSession,
                        settings: Settings, sink: InboundSink, **kwargs: Any) -> None:
    """Register the AI-bot WebSocket when ``GENDAN_WECOM_AIBOT_ID`` and ``_SECRET`` are set."""
    return None
