"""Wiring of the WeCom AI-bot long connection: whether it is configured, and its registration.

The connection itself (subscribe, read, intake, heartbeat, requests) is :mod:`bot.wecom.longconn`;
this module hands it to the app's connections and to the WeCom transport that sends over it.
"""

from __future__ import annotations

from typing import Any

import aiohttp

import bot.wecom.longconn as longconn
from bot.config import Settings
from bot.longconn import Connections
from bot.transport import InboundSink, Transport
from bot.wecom.transport import WeComTransport


def aibot_ws_configured(settings: Settings) -> bool:
    """The long connection can be opened: the bot's id and secret are set."""
    return bool(settings.wecom_aibot_id and settings.wecom_aibot_secret.get_secret_value())


def add_long_connection(connections: Connections, transports: dict[str, Transport], session: aiohttp.ClientSession,
                        settings: Settings, sink: InboundSink, **kwargs: Any) -> None:
    """Register the AI-bot WebSocket when ``GENDAN_WECOM_AIBOT_ID`` and ``_SECRET`` are set.

    The connection is handed to the WeCom transport (when it is ours, not a test's fake) so
    that replies and pushes can leave over it. ``kwargs`` may carry ``timing`` (else the
    module's ``DEFAULT_TIMING``, which tests replace).
    """
    if not aibot_ws_configured(settings):
        return
    conn = longconn.AibotConnection(session, settings.wecom_ws_url, settings.wecom_aibot_id,
                                    settings.wecom_aibot_secret.get_secret_value(), sink,
                                    corp_id=settings.wecom_corp_id,
                                    timing=kwargs.get("timing") or longconn.DEFAULT_TIMING)
    connections.add(conn)
    transport = transports.get("wecom")
    if isinstance(transport, WeComTransport):
        transport.attach_ws(conn)
