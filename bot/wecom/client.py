"""A small async WeCom API client on aiohttp.

Written instead of wrapping wechatpy's client, which is synchronous, hard-codes
the gettoken host and retries token errors without bound. Every call, gettoken
included, goes to ``api_base`` (``GENDAN_WECOM_API_BASE``) so tests and proxies
see all traffic. Errors map onto the outbox's vocabulary: :class:`WeComTransientError`
(retry later, with a ``retry_after`` hint) and :class:`WeComPermanentError`.

Secrets (corp secret, access token, webhook key) travel in query strings, so no
URL and no aiohttp exception text is ever logged or put into an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.config import Settings
from bot.transport import PermanentError, TransientError

log = logging.getLogger("gendan.wecom.client")

#: invalid / missing / expired access_token: refresh and retry once
TOKEN_ERRORS = frozenset({40014, 41001, 42001})
#: system busy, frequency limit, concurrency limit → seconds to wait before retrying
BUSY_ERRORS: Mapping[int, float] = {-1: 2.0, 45009: 60.0, 45033: 5.0}
#: refresh this long before WeCom's stated expiry (it may also end a token early)
TOKEN_MARGIN = 300.0


class WeComPermanentError(PermanentError):
    """WeCom refused the call for good; ``errcode`` is WeCom's (None for HTTP-level failures)."""

    def __init__(self, message: str, errcode: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


class WeComTransientError(TransientError):
    """WeCom is busy or unreachable; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None = None, errcode: int | None = None) -> None:
        super().__init__(message, retry_after)
        self.errcode = errcode


def webhook_key(url_or_key: str) -> str:
    """The ``key`` of a 群机器人 webhook, from the URL an admin pasted or from a bare key.

    Raises ``ValueError`` when there is no key; the key is the only credential of
    the robot, so callers must keep and show it masked.
    """
    value = url_or_key.strip()
    if "://" in value:
        keys = parse_qs(urlsplit(value).query).get("key", [])
        value = keys[0] if keys else ""
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise ValueError("not a WeCom webhook URL or key")
    return value


def mask_key(key: str) -> str:
    """Show a webhook key as ``abcd…wxyz`` for replies and logs."""
    return f"{key[:4]}…{key[-4:]}" if len(key) > 10 else "…"


class WeComClient:
    """WeCom server API: access token, ``message/send``, card updates, group webhook, AI-bot response_url."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str,
        corp_id: str = "",
        secret: str = "",
        agent_id: str = "",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        base = api_base.rstrip("/")
        self._base = base if base.endswith("/cgi-bin") else base + "/cgi-bin"
        self._corp_id = corp_id
        self._secret = secret
        self._agent_id = agent_id
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        # Single flight: concurrent callers that find no valid token wait for one
        # gettoken instead of each calling it (gettoken is rate-limited).
        self._token_lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls, session: aiohttp.ClientSession, settings: Settings, timeout: float = 10.0
    ) -> WeComClient:
        """A client for ``GENDAN_WECOM_*`` settings (webhook and response_url work without the app keys)."""
        return cls(
            session,
            api_base=settings.wecom_api_base,
            corp_id=settings.wecom_corp_id,
            secret=settings.wecom_secret.get_secret_value(),
            agent_id=settings.wecom_agent_id,
            timeout=timeout,
        )

    @property
    def app_configured(self) -> bool:
        """Whether app calls (token, message/send) are possible."""
        return bool(self._corp_id and self._secret and self._agent_id)

    # ---- access token ----------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid access token, fetched once for concurrent callers and cached until near expiry."""
        if self._token and self._clock() < self._expires_at:
            return self._token
        async with self._token_lock:
            if self._token and self._clock() < self._expires_at:
                return self._token
            if not self.app_configured:
                raise WeComPermanentError(
                    "WeCom self-built app is not configured (corp id, secret, agent id)"
                )
            data = await self._request(
                "GET", "gettoken", params={"corpid": self._corp_id, "corpsecret": self._secret}
            )
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeComTransientError("gettoken answered without a token", 5.0)
            expires_in = float(data.get("expires_in") or 7200)
            self._token = token
            self._expires_at = self._clock() + max(expires_in - TOKEN_MARGIN, expires_in / 2)
            log.info("wecom access token refreshed (valid %.0f s)", expires_in)
            return token

    def _invalidate(self, token: str) -> None:
        # Only drop the token this caller used: if another coroutine already
        # refreshed it, keep the new one (no second gettoken).
        if self._token == token:
            self._token = None

    async def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """Call an access-token API; refresh the token and retry once on 40014/41001/42001."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self._request(
                    method, path, params={**(params or {}), "access_token": token}, body=body
                )
            except WeComPermanentError as exc:
                if exc.errcode not in TOKEN_ERRORS:
                    raise
                self._invalidate(token)
                if attempt == 2:
                    # A fresh token rejected again: configuration or platform trouble,
                    # not something more retries fix (wechatpy recursed forever here).
                    raise
                log.warning("wecom token rejected (errcode %s); refreshing once", exc.errcode)
        raise AssertionError("unreachable")

    # ---- raw request -----------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None, url: str = ""
    ) -> dict[str, Any]:
        target = url or f"{self._base}/{path}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self._session.request(
                method, target, params=params, data=data, headers=headers, timeout=self._timeout
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except TimeoutError:
            raise WeComTransientError(f"wecom {path}: timeout", 5.0) from None
        except aiohttp.ClientError as exc:
            # str(exc) may contain the URL with its token or key: name the type only.
            raise WeComTransientError(f"wecom {path}: {type(exc).__name__}", 5.0) from None
        if status >= 500 or status == 429:
            raise WeComTransientError(f"wecom {path}: HTTP {status}", 10.0)
        if status >= 400:
            raise WeComPermanentError(f"wecom {path}: HTTP {status}")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise WeComTransientError(f"wecom {path}: answer is not JSON", 10.0) from None
        if not isinstance(answer, dict):
            raise WeComTransientError(f"wecom {path}: answer is not an object", 10.0)
        try:
            errcode = int(answer.get("errcode") or 0)
        except (TypeError, ValueError):
            raise WeComTransientError(f"wecom {path}: errcode is not a number", 10.0) from None
        if errcode == 0:
            return answer
        # Branch on errcode only: errmsg wording changes and carries a hint URL.
        errmsg = str(answer.get("errmsg", ""))[:80]
        if errcode in BUSY_ERRORS:
            raise WeComTransientError(
                f"wecom {path}: errcode {errcode} {errmsg}", BUSY_ERRORS[errcode], errcode
            )
        raise WeComPermanentError(f"wecom {path}: errcode {errcode} {errmsg}", errcode)

    # ---- APIs ------------------------------------------------------------------------

    def _agentid(self) -> int:
        if not self.app_configured:
            raise WeComPermanentError("WeCom self-built app is not configured (corp id, secret, agent id)")
        try:
            return int(self._agent_id)
        except ValueError:
            raise WeComPermanentError("GENDAN_WECOM_AGENT_ID must be a number") from None

    async def send_message(self, touser: str, message: dict[str, Any]) -> dict[str, Any]:
        """``message/send`` to ``touser`` (``"a|b"``); ``message`` holds ``msgtype`` and its body.

        The answer includes ``response_code`` for interactive template cards.
        """
        body = {"touser": touser, "agentid": self._agentid(), **message}
        return await self.call("POST", "message/send", body=body)

    async def send_text(self, touser: str, content: str) -> dict[str, Any]:
        """Send a text message through the app."""
        return await self.send_message(touser, {"msgtype": "text", "text": {"content": content}})

    async def send_markdown(self, touser: str, content: str) -> dict[str, Any]:
        """Send a markdown message through the app."""
        return await self.send_message(touser, {"msgtype": "markdown", "markdown": {"content": content}})

    async def send_template_card(self, touser: str, card: dict[str, Any]) -> dict[str, Any]:
        """Send a template card; duplicate check on, so a retried send does not post twice."""
        return await self.send_message(
            touser,
            {
                "msgtype": "template_card",
                "template_card": card,
                "enable_duplicate_check": 1,
                "duplicate_check_interval": 1800,
            },
        )

    async def update_template_card(
        self,
        response_code: str,
        userids: list[str],
        *,
        template_card: dict[str, Any] | None = None,
        replace_name: str | None = None,
    ) -> dict[str, Any]:
        """``message/update_template_card`` with a single-use ``response_code``."""
        body: dict[str, Any] = {
            "userids": userids,
            "agentid": self._agentid(),
            "response_code": response_code,
        }
        if template_card is not None:
            body["template_card"] = template_card
        else:
            body["button"] = {"replace_name": replace_name or ""}
        return await self.call("POST", "message/update_template_card", body=body)

    async def webhook_send(self, url_or_key: str, message: dict[str, Any]) -> dict[str, Any]:
        """Post to a group's 群机器人; only the key is taken from the bound URL, the host is ``api_base``."""
        try:
            key = webhook_key(url_or_key)
        except ValueError:
            raise WeComPermanentError("bound WeCom webhook has no key") from None
        return await self._request("POST", "webhook/send", params={"key": key}, body=message)

    async def aibot_respond(self, response_url: str, message: dict[str, Any]) -> dict[str, Any]:
        """Answer an AI-bot message through its one-shot ``response_url`` (plain JSON body)."""
        parts = urlsplit(response_url)
        if not parts.path.startswith("/cgi-bin/"):
            raise WeComPermanentError("response_url is not a WeCom API path")
        # Keep path and query (the response_code), swap the host for api_base.
        target = self._base + parts.path[len("/cgi-bin") :] + (f"?{parts.query}" if parts.query else "")
        return await self._request("POST", "aibot/response", body=message, url=target)
