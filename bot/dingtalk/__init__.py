"""DingTalk (钉钉) adapter: verification, payload translation, rendering, HTTP client, transport, Stream.

Wiring (in ``bot/app.py``)::

    client = DingTalkClient(session, settings)
    transport = DingTalkTransport(client, settings, link_for)  # or link_source=<async link_for factory>
    setup_routes(app, sink, settings)
    add_long_connection(connections, transports, session, settings, sink)  # GENDAN_DINGTALK_MODE=stream

Nothing here imports ``handlers`` or ``storage``.
"""

from bot.dingtalk.client import DingTalkClient, SessionExpired
from bot.dingtalk.routes import setup_routes
from bot.dingtalk.signing import CallbackRejected
from bot.dingtalk.stream import add_long_connection
from bot.dingtalk.transport import DingTalkTransport

__all__ = [
    "CallbackRejected",
    "DingTalkClient",
    "DingTalkTransport",
    "SessionExpired",
    "add_long_connection",
    "setup_routes",
]
