"""WeCom (企业微信) adapter: callback crypto, inbound translation, API client, rendering, transport.

Wiring (see ``bot/app.py``)::

    from bot.wecom import WeComClient, WeComTransport, setup_routes
    setup_routes(app, sink, settings)            # only configured callbacks are registered
    transport = WeComTransport(WeComClient.from_settings(session, settings))
"""

from bot.wecom.client import WeComClient, WeComPermanentError, WeComTransientError, mask_key, webhook_key
from bot.wecom.crypto import CallbackRejected, WeComCrypto
from bot.wecom.longconn_setup import add_long_connection, aibot_ws_configured
from bot.wecom.routes import AIBOT_PATH, APP_PATH, setup_routes, wecom_aibot_configured, wecom_app_configured
from bot.wecom.transport import WeComTransport

__all__ = [
    "AIBOT_PATH",
    "APP_PATH",
    "CallbackRejected",
    "WeComClient",
    "WeComCrypto",
    "WeComPermanentError",
    "WeComTransientError",
    "WeComTransport",
    "add_long_connection",
    "aibot_ws_configured",
    "mask_key",
    "setup_routes",
    "webhook_key",
    "wecom_aibot_configured",
    "wecom_app_configured",
]
