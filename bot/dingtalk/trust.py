"""What an inbound DingTalk body may claim: whose robot it is for, and where replies may go.

Both checks apply the same way to HTTP callbacks and Stream frames:

* ``robotCode``: a robot message names the robot it was sent to. Ours is
  ``GENDAN_DINGTALK_ROBOT_CODE``, or the AppKey (an internal app robot's robotCode
  is its AppKey). A message for another robot is refused. ``chatbotCorpId`` and
  ``chatbotUserId`` are encrypted ids we cannot know in advance, so they are not
  compared; card clicks carry no robot field at all.
* ``sessionWebhook``: the body tells us where to POST the reply, without any
  authentication of its own. It is used only when it points at the DingTalk hosts
  we are configured for (``dingtalk_oapi_base`` / ``dingtalk_api_base``: same scheme,
  host and port); anything else would let whoever can inject a body make the bot
  POST order data to a server of their choice. Such a hint is dropped and the reply
  goes through the OpenAPI instead.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from yarl import URL

from bot.config import Settings
from bot.events import ChatMessage

log = logging.getLogger("gendan.dingtalk.trust")

Origin = tuple[str, str, int]


def origin(url: str) -> Origin | None:
    """``(scheme, host, port)`` of ``url``, or None when it has no host."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return None
    if not parsed.host or parsed.scheme not in ("http", "https"):
        return None
    return parsed.scheme, parsed.host.lower(), parsed.port or (443 if parsed.scheme == "https" else 80)


class InboundTrust:
    """The configured robot codes and DingTalk hosts, and the checks against them."""

    def __init__(self, settings: Settings) -> None:
        self.robot_codes = frozenset(c for c in (settings.dingtalk_robot_code, settings.dingtalk_app_key) if c)
        self.origins = frozenset(
            o for o in (origin(settings.dingtalk_oapi_base), origin(settings.dingtalk_api_base)) if o
        )

    def robot_refusal(self, body: Mapping[str, Any]) -> str | None:
        """Why a robot message is not for us, or None (also when it names no robot)."""
        code = body.get("robotCode")
        if code is None or code == "" or not self.robot_codes:
            return None
        if not isinstance(code, str) or code not in self.robot_codes:
            return "robotCode is not this app's robot"
        return None

    def session_webhook_trusted(self, url: str) -> bool:
        """Whether ``url`` is on one of the configured DingTalk hosts."""
        found = origin(url)
        return found is not None and found in self.origins

    def screen(self, message: ChatMessage) -> ChatMessage:
        """``message`` without its sessionWebhook hint when that hook is on a foreign host."""
        url = message.reply_hints.get("session_webhook")
        if not isinstance(url, str) or not url or self.session_webhook_trusted(url):
            return message
        found = origin(url)
        # the host only: the query carries the session credential
        log.warning("dingtalk message %s: sessionWebhook on foreign host %s ignored; replying via the OpenAPI",
                    message.event_id, found[1] if found else "(none)")
        hints = {**message.reply_hints, "session_webhook": "", "session_webhook_expires_ms": 0}
        return dataclasses.replace(message, reply_hints=hints)
