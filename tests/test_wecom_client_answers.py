"""The WeCom client's reading of odd answers from a server on 127.0.0.1: rate limits and server errors
are transient, client errors permanent, a body that is not a JSON object or carries a non-numeric
errcode is transient, a gettoken without a token is transient; an app without keys never calls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.wecom.client import WeComClient, WeComPermanentError, WeComTransientError


class Answers:
    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b'{"errcode": 0, "access_token": "tok", "expires_in": 7200}'
        self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        return web.Response(status=self.status, body=self.body, content_type="application/json")


@pytest.fixture
async def served() -> AsyncIterator[tuple[Answers, WeComClient]]:
    answers = Answers()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answers.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        client = WeComClient(session, api_base=str(server.make_url("")).rstrip("/"), corp_id="corp",
                             secret="s", agent_id="1000002", timeout=10.0)
        yield answers, client
    await server.close()


@pytest.mark.parametrize(("status", "body", "error", "text"), [
    (429, b"{}", WeComTransientError, "HTTP 429"),
    (502, b"{}", WeComTransientError, "HTTP 502"),
    (404, b"{}", WeComPermanentError, "HTTP 404"),
    (200, b"<html>busy</html>", WeComTransientError, "not JSON"),
    (200, b"[1, 2]", WeComTransientError, "not an object"),
    (200, b'{"errcode": "x1"}', WeComTransientError, "errcode is not a number"),
    (200, b'{"errcode": 0}', WeComTransientError, "without a token"),
])
async def test_odd_answers(served: tuple[Answers, WeComClient], status: int, body: bytes, error: type[Exception],
                           text: str) -> None:
    answers, client = served
    answers.status, answers.body = status, body
    with pytest.raises(error) as exc:
        await client.access_token()
    assert text in str(exc.value)


async def test_a_token_is_fetched_once_and_cached(served: tuple[Answers, WeComClient]) -> None:
    answers, client = served
    assert await client.access_token() == "tok"
    assert await client.access_token() == "tok"
    assert answers.calls == 1


async def test_an_app_without_keys_never_calls(served: tuple[Answers, WeComClient]) -> None:
    answers = served[0]
    async with aiohttp.ClientSession() as session:
        bare = WeComClient(session, api_base="http://127.0.0.1:9", corp_id="corp", secret="", agent_id="",
                           timeout=10.0)
        with pytest.raises(WeComPermanentError, match="not configured"):
            await bare.access_token()
        with pytest.raises(WeComPermanentError, match="not configured"):
            await bare.send_message("zhangsan", {"msgtype": "text"})
        odd = WeComClient(session, api_base="http://127.0.0.1:9", corp_id="corp", secret="s", agent_id="abc",
                          timeout=10.0)
        with pytest.raises(WeComPermanentError, match="must be a number"):
            await odd.send_message("zhangsan", {"msgtype": "text"})
    assert answers.calls == 0


