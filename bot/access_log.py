"""Access log lines without query strings: signed links (``?t=…``) must never reach a log."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class AccessLogger(AbstractAccessLogger):
    """``remote METHOD /path status seconds`` (the path without its query)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one line per request."""
        self.logger.info("%s %s %s %s %.3fs", request.remote, request.method, request.path, response.status, time)
