"""Async DingTalk HTTP client on aiohttp: access token, robot OpenAPI, cards, webhooks.

Every call goes to ``settings.dingtalk_api_base`` (v1.0 gateway) or to a URL that
DingTalk gave us (sessionWebhook) or an admin bound (custom robot), so tests point
it at a fake server. Errors map onto the transport contract: throttling, HTTP
429/5xx and network failures raise :class:`TransientError`; anything else the
platform refuses raises :class:`PermanentError`. URLs carrying credentials
(webhook ``access_token``, ``session``) are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from bot.config import Settings
from bot.dingtalk.signing import signed_webhook_url
from bot.transport import GroupWebhook, PermanentError, TransientError

log = logging.getLogger("gendan.dingtalk.client")

#: Legacy-style errcodes that mean "slow down": 130101 "send too fast, exceed 20 times
#: per minute" and 410100 (rate-limited in the newer table, UNCONFIRMED).
THROTTLE_ERRCODES = frozenset({130101, 410100})
#: A custom robot over its limit is throttled for 10 minutes.
WEBHOOK_THROTTLE_SECONDS = 600.0
#: 300001: "token is not exist" / "session 不存在" (an expired sessionWebhook).
SESSION_GONE_ERRCODE = 300001
#: Renew the access token this long before DingTalk says it expires (as dingtalk-stream does).
TOKEN_MARGIN_SECONDS = 300.0


class SessionExpired(PermanentError):
    """The sessionWebhook no longer exists; the caller falls back to the OpenAPI."""


def _throttle_code(code: str) -> bool:
    # v1.0 flow-control codes are strings such as "Forbidden.AccessDenied.QpsLimitForApi";
    # match on the family rather than a list we could not confirm.
    lowered = code.lower()
    return any(word in lowered for word in ("qpslimit", "throttl", "flowcontrol", "ratelimit", "toofrequent"))


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


class DingTalkClient:
    """One app robot's calls; share one per process (the token cache lives here)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._api_base = settings.dingtalk_api_base.rstrip("/")
        self._app_key = settings.dingtalk_app_key
        self._app_secret = settings.dingtalk_app_secret
        #: robotCode defaults to the AppKey, which is what internal app robots use.
        self.robot_code = settings.dingtalk_robot_code or settings.dingtalk_app_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        # Single flight: concurrent senders wait for one refresh instead of each asking.
        self._token_lock = asyncio.Lock()

    # ---- access token ---------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid v1.0 access token, fetched once and shared until shortly before expiry."""
        if self._token and self._clock() < self._token_expires:
            return self._token
        async with self._token_lock:
            if self._token and self._clock() < self._token_expires:
                return self._token
            body = {"appKey": self._app_key, "appSecret": self._app_secret.get_secret_value()}
            try:
                data = await self._request("POST", f"{self._api_base}/v1.0/oauth2/accessToken", body, "token")
            except _HttpError as exc:  # a wrong AppKey/AppSecret: retrying will not help
                raise PermanentError(str(exc)) from exc
            token = data.get("accessToken")
            expire_in = data.get("expireIn", 7200)
            if not isinstance(token, str) or not token or not isinstance(expire_in, int):
                raise PermanentError("accessToken answer without a token")
            margin = min(TOKEN_MARGIN_SECONDS, expire_in / 2)
            self._token, self._token_expires = token, self._clock() + expire_in - margin
            return token

    def invalidate_token(self, token: str) -> None:
        """Forget ``token`` (if still cached) after DingTalk called it invalid."""
        if self._token == token:
            self._token = None

    # ---- transport helpers ----------------------------------------------------------

    async def _request(
        self,
        method: str,
        url: str | URL,
        body: Mapping[str, Any],
        what: str,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send JSON and return the decoded JSON object; map status and network errors."""
        try:
            async with self._session.request(
                method, url, json=body, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                status = response.status
                retry_after = _retry_after(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"dingtalk {what}: {type(exc).__name__}") from exc
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {"result": data}
        if status == 429:
            raise TransientError(f"dingtalk {what}: HTTP 429", retry_after=retry_after)
        if status >= 500:
            raise TransientError(f"dingtalk {what}: HTTP {status}", retry_after=retry_after)
        if status >= 400:
            code = str(data.get("code", ""))
            message = f"dingtalk {what}: HTTP {status} {code} {data.get('message', '')}".strip()
            if _throttle_code(code):
                raise TransientError(message, retry_after=retry_after)
            raise _HttpError(message, status, code)
        return data

    async def api(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Call a v1.0 endpoint with the token header; refresh the token once if it is refused."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self._request(
                    method, f"{self._api_base}{path}", body, path, {"x-acs-dingtalk-access-token": token}
                )
            except _HttpError as exc:
                token_refused = exc.status == 401 or "authentication" in exc.code.lower()
                if token_refused and attempt == 1:
                    log.info("dingtalk token refused on %s; refreshing", path)
                    self.invalidate_token(token)
                    continue
                raise PermanentError(str(exc)) from exc
        raise AssertionError("unreachable")

    async def _post_webhook(self, url: str | URL, body: Mapping[str, Any], what: str) -> None:
        # Webhooks answer HTTP 200 with {"errcode", "errmsg"}; 0 means delivered.
        try:
            data = await self._request("POST", url, body, what)
        except _HttpError as exc:
            raise PermanentError(str(exc)) from exc
        errcode = data.get("errcode", 0)
        if errcode in (0, "0"):
            return
        message = f"dingtalk {what}: errcode {errcode} {data.get('errmsg', '')}".strip()
        if errcode in THROTTLE_ERRCODES:
            raise TransientError(message, retry_after=WEBHOOK_THROTTLE_SECONDS if what == "webhook" else 60.0,
                                 firm=what == "webhook")
        if what == "sessionWebhook" and errcode == SESSION_GONE_ERRCODE:
            raise SessionExpired(message)
        raise PermanentError(message)

    # ---- sending --------------------------------------------------------------------

    async def send_by_session(self, session_webhook: str, body: Mapping[str, Any]) -> None:
        """Reply through an inbound message's sessionWebhook (no token; about 90 minutes of life)."""
        await self._post_webhook(session_webhook, body, "sessionWebhook")

    async def send_webhook(self, webhook: GroupWebhook, body: Mapping[str, Any]) -> None:
        """Push through a bound custom robot, signing the URL (加签) when it has a secret."""
        await self._post_webhook(signed_webhook_url(webhook.url, webhook.secret), body, "webhook")

    async def send_group(self, open_conversation_id: str, msg_key: str, msg_param: Mapping[str, Any]) -> str:
        """``/v1.0/robot/groupMessages/send``; returns the processQueryKey."""
        data = await self.api(
            "POST",
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": self.robot_code,
                "openConversationId": open_conversation_id,
                "msgKey": msg_key,
                # msgParam is a JSON *string*.
                "msgParam": json.dumps(msg_param, ensure_ascii=False),
            },
        )
        return str(data.get("processQueryKey", ""))

    async def send_single(self, user_ids: list[str], msg_key: str, msg_param: Mapping[str, Any]) -> str:
        """``/v1.0/robot/oToMessages/batchSend`` to staff ids; returns the processQueryKey.

        A flow-controlled recipient is a TransientError, an invalid one a PermanentError
        (we always send to one user, so "some of them" does not arise).
        """
        data = await self.api(
            "POST",
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": self.robot_code,
                "userIds": user_ids,
                "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False),
            },
        )
        if data.get("flowControlledStaffIdList"):
            raise TransientError("dingtalk batchSend: recipient flow-controlled", retry_after=60.0)
        if data.get("invalidStaffIdList"):
            raise PermanentError("dingtalk batchSend: invalid staff id")
        return str(data.get("processQueryKey", ""))

    async def _card_call(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        data = await self.api(method, path, body)
        if data.get("success") is False:
            raise PermanentError(f"dingtalk {path}: success=false")
        return data

    async def create_and_deliver(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1.0/card/instances/createAndDeliver`` (body built by the transport)."""
        return await self._card_call("POST", "/v1.0/card/instances/createAndDeliver", body)

    async def update_card(
        self,
        out_track_id: str,
        card_data: Mapping[str, Any],
        *,
        private_data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``PUT /v1.0/card/instances``: replace the named keys of a delivered card."""
        body: dict[str, Any] = {
            "outTrackId": out_track_id,
            "cardData": card_data,
            "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
        }
        if private_data is not None:
            body["privateData"] = private_data
        return await self._card_call("PUT", "/v1.0/card/instances", body)

    async def register_card_callback(self, route_key: str, callback_url: str, api_secret: str) -> None:
        """``POST /v1.0/card/callbacks/register``: where HTTP-mode card clicks are sent."""
        await self._card_call(
            "POST",
            "/v1.0/card/callbacks/register",
            {
                "callbackRouteKey": route_key,
                "callbackUrl": callback_url,
                "apiSecret": api_secret,
                "forceUpdate": True,
            },
        )


class _HttpError(Exception):
    """A 4xx answer, kept apart so :meth:`DingTalkClient.api` can spot a refused token."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
