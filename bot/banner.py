"""The start banner of ``gendan serve``: what is on, where, and for what is off, why.

An operator reads it once, right after start, to see whether the keys they set took
effect; a URL that would answer 404 or 403 because its keys are empty must not be
listed as if it worked.
"""

from __future__ import annotations

from bot.config import Settings
from bot.wecom import aibot_ws_configured, wecom_aibot_configured, wecom_app_configured


def _row(label: str, on: bool, detail: str) -> str:
    return f"  {label:<23}{'on ' if on else 'off'}  {detail}"


def banner_lines(settings: Settings) -> list[str]:
    """The lines to print at start (English: they are for whoever runs the server)."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"跟单助手 listening on {base}"]
    if settings.local_adapter_on:
        lines.append(_row("web console", True, f"{base}/console"))
        lines.append(_row("local adapter", True, f"POST {base}/local/message, GET {base}/local/sent?chat=…"))
    else:
        lines.append(_row("local adapter", False, "not on a loopback host (set GENDAN_LOCAL_ENABLED=true to force)"))
    lines.append(_row("health", True, f"{base}/healthz   metrics: {base}/metrics"))
    api_on = bool(settings.api_token.get_secret_value())
    lines.append(_row("REST API", api_on, f"{base}/api/v1/orders" if api_on else "set GENDAN_API_TOKEN"))
    lines.append(_row("WeCom long connection", aibot_ws_configured(settings),
                      f"AI bot {settings.wecom_aibot_id} via {settings.wecom_ws_url}" if aibot_ws_configured(settings)
                      else "set GENDAN_WECOM_AIBOT_ID and GENDAN_WECOM_AIBOT_SECRET (no public URL needed)"))
    lines.append(_row("WeCom app callback", wecom_app_configured(settings),
                      f"{base}/wecom/callback" if wecom_app_configured(settings)
                      else "set GENDAN_WECOM_CORP_ID, GENDAN_WECOM_TOKEN and GENDAN_WECOM_AES_KEY"))
    lines.append(_row("WeCom AI-bot callback", wecom_aibot_configured(settings),
                      f"{base}/wecom/aibot" if wecom_aibot_configured(settings)
                      else "set GENDAN_WECOM_AIBOT_TOKEN and GENDAN_WECOM_AIBOT_AES_KEY"))
    if not settings.dingtalk_on:
        lines.append(_row("DingTalk", False, "set GENDAN_DINGTALK_APP_KEY and GENDAN_DINGTALK_APP_SECRET"))
    elif settings.dingtalk_mode == "stream":
        lines.append(_row("DingTalk Stream", True, f"robot messages and card clicks via {settings.dingtalk_api_base}"))
    else:
        lines.append(_row("DingTalk callbacks", True,
                          f"{base}/dingtalk/callback  {base}/dingtalk/card  {base}/dingtalk/event"
                          "  (no public URL? GENDAN_DINGTALK_MODE=stream)"))
    return lines
