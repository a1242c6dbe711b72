"""Signed links never reach the access log."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.access_log import AccessLogger


def test_query_strings_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.access")
    request = make_mocked_request("GET", "/board?t=SECRET-TOKEN")
    with caplog.at_level(logging.INFO, logger="test.access"):
        AccessLogger(logger, "").log(request, web.Response(status=303), 0.01)
    [line] = [r.getMessage() for r in caplog.records if r.name == "test.access"]
    assert "GET /board 303" in line and "SECRET-TOKEN" not in line
