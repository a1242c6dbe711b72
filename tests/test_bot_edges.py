"""Small edges of the bot package: the never-5xx middleware turns a handler bug into a 400 with a
reference; settings' host and day rules; inbound events rebuilt from the inbox, odd ones refused."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import never_5xx
from bot.config import load_settings
from bot.events import Actor, CardAction, ChatMessage, ChatRef, DirectoryEvent, inbound_from_dict


async def test_a_handler_bug_is_a_400_with_a_reference_never_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise KeyError("bug")

    async def not_found(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    app = web.Application(middlewares=[never_5xx])
    app.router.add_get("/broken", broken)
    app.router.add_get("/missing", not_found)
    caplog.set_level(logging.ERROR)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/broken")
        body = await resp.json()
        assert resp.status == 400 and body["error"] == "request could not be processed"
        assert re.fullmatch(r"\w{6}", body["ref"]), body
        assert any(body["ref"] in r.getMessage() and r.exc_info for r in caplog.records)
        assert (await client.get("/missing")).status == 404  # HTTP answers pass through


@pytest.mark.parametrize(("host", "local"), [("localhost", True), ("127.0.0.1", True), ("::1", True),
                                             ("0.0.0.0", False), ("gendan.example.com", False)])
def test_the_local_adapter_is_on_only_for_a_loopback_host(host: str, local: bool) -> None:
    assert load_settings(host=host).local_adapter_on is local


@pytest.mark.parametrize(("days", "weekdays"), [("1-5", {1, 2, 3, 4, 5}), ("1,3, 5,", {1, 3, 5}),
                                                ("6-7,1", {1, 6, 7})])
def test_working_days(days: str, weekdays: set[int]) -> None:
    assert load_settings(working_days=days).working_weekdays == frozenset(weekdays)


@pytest.mark.parametrize("days", ["", ",", "8", "0"])
def test_working_days_refused(days: str) -> None:
    with pytest.raises(ValueError, match="GENDAN_WORKING_DAYS"):
        _ = load_settings(working_days=days).working_weekdays


def test_quiet_hours_may_be_off() -> None:
    assert load_settings(quiet_hours=" ").quiet_window is None
    assert load_settings().quiet_window is not None


def test_inbound_events_round_trip_through_the_inbox_form() -> None:
    chat, actor = ChatRef("local", "g1", "group"), Actor("local", "u1", "张三")
    message = ChatMessage("local", "m-1", chat, actor, "/帮助")
    assert inbound_from_dict(message.to_dict()) == message
    directory = DirectoryEvent("wecom", "d-1", "left", "zhangsan")  # type: ignore[call-arg]
    assert inbound_from_dict(directory.to_dict()) == directory
    with pytest.raises(ValueError, match="unknown inbound type 'telepathy'"):
        inbound_from_dict({**message.to_dict(), "type": "telepathy"})


def test_the_inbox_form_is_plain_data_copied_from_the_event() -> None:
    """What ``dataclasses.asdict`` gave (the form the inbox has always stored), without sharing containers."""
    from dataclasses import asdict

    hints = {"response_url": "https://x", "nested": {"list": [1, {"deep": "v"}], "pair": ("a", "b")}}
    message = ChatMessage("wecom", "m-2", ChatRef("wecom", "g1", "group", "群"), Actor("wecom", "u1", "张三", "corp"),
                          "/查单 #1", mentioned_bot=True, reply_hints=hints)
    action = CardAction("dingtalk", "a-1", ChatRef("dingtalk", "u2", "single"), Actor("dingtalk", "u2"), "approve:1",
                        card_ref={"ids": [1, 2]})
    for event, kind in ((message, "message"), (action, "action")):
        assert event.to_dict() == {"type": kind, **asdict(event)}
        assert inbound_from_dict(event.to_dict()) == event
    stored = message.to_dict()
    stored["reply_hints"]["nested"]["list"].append(3)  # the stored form is a copy: the event is unchanged
    assert message.reply_hints["nested"]["list"] == [1, {"deep": "v"}]


def test_deeply_nested_hints_are_kept_as_they_are() -> None:
    deep: Any = "\u200b零宽"
    for _ in range(12):
        deep = {"x": deep}
    message = ChatMessage("local", "m-2", ChatRef("local", "g1", "group"), Actor("local", "u1", "张三"), "x",
                          reply_hints={"deep": deep})
    inner = message.reply_hints["deep"]
    for _ in range(9):
        inner = inner["x"]
    assert inner["x"]["x"]["x"] == "\u200b零宽"  # beyond the depth limit: untouched
