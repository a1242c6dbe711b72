"""The approval-link pages' less travelled answers: a spent link, an approval that is gone or already
decided, a change's diff on the page, a missing token, an over-long reason, a link of another platform.
Each answer is checked by status and text, and none of them changes anything."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import SETTINGS
from handlers.texts import links as texts
from storage.models import Approval, KeyValue
from tests.conftest import Bot, Clock, assert_unchanged, fingerprint
from web import approval_pages as al


async def token(team: Bot, clock: Clock, action: str, user: str = "m1", platform: str = "dingtalk",
                nonce: str = "n" * 22) -> str:
    key = await al.LinkKeys(team.db, team.app[SETTINGS])()
    claims = al.LinkClaims(action=action, platform=platform, user_id=user,
                           expires=int((clock() + timedelta(hours=1)).timestamp()), nonce=nonce)
    return al.sign_token(key, claims)


async def page(team: Bot, method: str, **data: Any) -> tuple[int, str]:
    if method == "GET":
        resp = await team.client.get("/approve", params=data)
    else:
        resp = await team.client.post("/approve", data=data)
    return resp.status, html.unescape(await resp.text())


async def first_step(team: Bot) -> int:
    async with team.db.uow() as uow:
        return (await uow.session.execute(select(Approval.id).order_by(Approval.id))).scalars().first() or 0


async def test_a_spent_link_a_gone_approval_and_a_decided_one(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    step = await first_step(team)
    gone = await token(team, clock, "ap:999:ok")
    before = await fingerprint(team.db)
    status, body = await page(team, "GET", t=gone)
    assert status == 404 and texts.refusal("gone")[1] in body
    await assert_unchanged(team.db, before, "a link to a gone approval")
    spent = await token(team, clock, f"ap:{step}:ok", nonce="s" * 22)
    async with team.db.uow() as uow:
        uow.session.add(KeyValue(key=al.USED_PREFIX + "s" * 22, value="1"))
    before = await fingerprint(team.db)
    status, body = await page(team, "GET", t=spent)
    assert status == 409 and texts.refusal("used")[1] in body
    await assert_unchanged(team.db, before, "a spent link")
    assert "等待老板" not in await team.text("m1", "/审批 #1 通过", chat="m1")
    status, body = await page(team, "GET", t=await token(team, clock, f"ap:{step}:no"))
    assert status == 200 and "#1" in body and "通过" in body  # what became of it, not a form to decide
    assert 'name="reason"' not in body


async def test_a_change_approval_page_shows_the_diff(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("u1", "/变更 #1 A100 数量 50")
    async with team.db.uow() as uow:
        step = (await uow.session.execute(select(Approval).where(Approval.change_request_id.is_not(None)))
                ).scalar_one()
    status, body = await page(team, "GET", t=await token(team, clock, f"ap:{step.id}:ok"))
    assert status == 200 and "10 → 50" in body


async def test_posts_without_a_token_with_a_long_reason_or_from_another_platform(team: Bot, clock: Clock) -> None:
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    step = await first_step(team)
    reject = await token(team, clock, f"ap:{step}:no")
    local = await token(team, clock, f"ap:{step}:ok", platform="local")
    before = await fingerprint(team.db)  # after the link key was made
    status, body = await page(team, "POST", reason="x")
    assert status == 400 and texts.refusal("missing")[1] in body
    status, body = await page(team, "POST", t=reject, reason="太" * 501)
    assert status == 400 and texts.refusal("too_long")[1] in body and "太" * 501 in body  # kept for editing
    status, body = await page(team, "POST", t=local)
    assert status == 403 and texts.refusal("forged")[1] in body  # links are DingTalk's channel only
    await assert_unchanged(team.db, before, "refused link posts")
