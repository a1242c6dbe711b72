"""Signed approval links: tokens, the link key, link_for, the transport's link source, nonce pruning."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import SETTINGS
from bot.dingtalk import DingTalkClient, DingTalkTransport
from bot.dingtalk.render import LinkFor
from bot.outbound import Button, Card, Message
from bot.transport import Delivery
from handlers.cards import ApprovalAction
from storage.db import Database
from storage.models import KeyValue
from tests.conftest import Clock, make_settings
from tests.fakes.dingtalk_app import dingtalk_app
from tests.fakes.dingtalk_server import FakeDingTalk, dingtalk_settings
from web import approval_pages as al
from web.sealed_tokens import seal

KEY = b"k" * 32


def _claims(clock: Clock, **over: Any) -> al.LinkClaims:
    values: dict[str, Any] = {"action": "ap:7:ok", "platform": "dingtalk", "user_id": "mgr01",
                              "expires": int(clock().timestamp()) + 60, "nonce": "abcdefghijklmnopqrstuv"}
    values.update(over)
    return al.LinkClaims(**values)


def test_token_round_trip_and_expiry_boundary(clock: Clock) -> None:
    claims = _claims(clock)
    token = al.sign_token(KEY, claims)
    assert al.verify_token(KEY, token, clock()) == claims
    assert al.verify_token(KEY, token, clock() + timedelta(seconds=59)) == claims
    for later in (60, 61, 3600):
        with pytest.raises(al.LinkRejected) as exc:
            al.verify_token(KEY, token, clock() + timedelta(seconds=later))
        assert exc.value.reason == "expired"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),   # signature changed
    lambda t: "e" + t[1:],                                 # payload changed
    lambda t: t.split(".")[0],                             # signature dropped
    lambda t: t + "=",                                     # non-canonical signature
    lambda t: t.replace(".", ".."),
    lambda t: "x" * 3000,
    lambda t: "中文.签名",
])
def test_any_change_makes_a_token_forged(clock: Clock, mangle: Any) -> None:
    token = al.sign_token(KEY, _claims(clock))
    with pytest.raises(al.LinkRejected) as exc:
        al.verify_token(KEY, mangle(token), clock())
    assert exc.value.reason == "forged"


def test_other_keys_and_bad_shapes_are_forged(clock: Clock) -> None:
    token = al.sign_token(KEY, _claims(clock))
    for key in (b"other-key", b""):
        with pytest.raises(al.LinkRejected, match="forged"):
            al.verify_token(key, token, clock())
    with pytest.raises(al.LinkRejected, match="missing"):
        al.verify_token(KEY, "", clock())
    # correctly MACed bodies that are not our claims (a future format, a bug) are refused too
    for payload in ([2, "ap:7:ok", "dingtalk", "mgr01", 9_999_999_999, "n"], {"a": 1}, [1, "x", "y", "", 9, "n"]):
        with pytest.raises(al.LinkRejected, match="forged"):
            al.verify_token(KEY, seal(KEY, al.PURPOSE, payload), clock())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        al.sign_token(b"", _claims(clock))


def test_the_approval_pattern_matches_the_card_payload() -> None:
    for decision in ("ok", "no"):
        packed = ApprovalAction(12345, decision).pack()
        match = al.APPROVAL_ACTION.fullmatch(packed)
        assert match and match[1] == "12345" and match[2] == decision


def _delivery(chat_type: str = "single", chat_id: str = "mgr01") -> Delivery:
    card = Card("订单审批 #1", "body", (Button("通过", "ap:1:ok", "primary"), Button("驳回", "ap:1:no", "danger")))
    return Delivery(1, "dingtalk", chat_id, chat_type, Message("card", "t", card))  # type: ignore[arg-type]


def test_link_for_binds_the_approver_and_a_fresh_nonce(clock: Clock) -> None:
    settings = dingtalk_settings(public_url="https://bot.example.com/gendan/")
    link_for = al.make_link_for(settings, KEY, clock=clock)
    delivery = _delivery()
    first, second = (link_for(delivery.message.card.buttons[0], delivery) for _ in range(2))  # type: ignore[union-attr]
    assert first.startswith("https://bot.example.com/gendan/approve?t=") and first != second
    claims = al.verify_token(KEY, first.split("t=", 1)[1], clock())
    assert (claims.action, claims.platform, claims.user_id) == ("ap:1:ok", "dingtalk", "mgr01")
    assert claims.expires == int((clock() + al.TOKEN_TTL).timestamp())
    # a group copy binds nobody: the bare page only explains /审批
    group = _delivery("group", "cidGROUP==")
    assert link_for(group.message.card.buttons[0], group) == "https://bot.example.com/gendan/approve"  # type: ignore[union-attr]


async def test_link_key_prefers_settings_and_else_persists_one(db: Database) -> None:
    configured = make_settings(db.url, secret_key="explicit")
    assert await al.link_key(db, configured) == b"explicit"
    bare = make_settings(db.url)  # an API token is set: it must not become the signing key
    assert bare.signing_key == b""
    first = await al.LinkKeys(db, bare)()
    assert len(first) == 32
    assert await al.LinkKeys(db, bare)() == first == await al.link_key(db, bare)
    async with db.uow() as uow:
        assert (await uow.session.get(KeyValue, al.KEY_NAME)) is not None


async def test_transport_resolves_the_link_source_only_for_cards(clock: Clock) -> None:
    resolved: list[int] = []
    async with FakeDingTalk() as fake, aiohttp.ClientSession() as session:
        settings = dingtalk_settings(fake.url)

        async def source() -> LinkFor:
            resolved.append(1)
            return al.make_link_for(settings, KEY, clock=clock)

        transport = DingTalkTransport(DingTalkClient(session, settings), settings, link_source=source)
        await transport.send(Delivery(2, "dingtalk", "mgr01", "single", Message.plain("hello")))
        assert resolved == []
        await transport.send(_delivery())
        assert resolved == [1]
        param = fake.calls_to("/v1.0/robot/oToMessages/batchSend")[-1].msg_param
        assert param["actionURL1"].startswith("https://bot.example.com/approve?t=")
        assert al.verify_token(KEY, param["actionURL2"].split("t=", 1)[1], clock()).action == "ap:1:no"


async def test_used_nonces_are_pruned_once_their_links_expire(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        await h.register(("mgr01", "王经理", "主管"))

        async def approve_latest() -> str:
            await h.say("sales01", "/下单 华为 A100×20@600 交期12-15", name="张三")
            cards = [c for c in h.fake.calls_to("/v1.0/robot/oToMessages/batchSend")
                     if c.json["msgKey"].startswith("sampleActionCard")]
            url = cards[-1].msg_param["actionURL1"]
            token = url.split("t=", 1)[1]
            resp = await h.client.post("/approve", data={"t": token})
            assert resp.status == 200
            return al.verify_token(await al.link_key(h.db, h.app[SETTINGS]), token, clock()).nonce

        async def used() -> set[str]:
            async with h.db.uow() as uow:
                keys = (await uow.session.execute(select(KeyValue.key))).scalars().all()
            return {k.removeprefix(al.USED_PREFIX) for k in keys if k.startswith(al.USED_PREFIX)}

        old = await approve_latest()
        assert await used() == {old}
        clock.advance(hours=73)
        new = await approve_latest()
        assert await used() == {new}


async def test_a_link_signed_with_the_api_token_is_forged(db: Database) -> None:
    """The API token is handed to integrations: it must not sign links (the key is random, in kv)."""
    settings = make_settings(db.url)
    key = await al.link_key(db, settings)
    assert key != b"test-token" and b"test-token" not in key
