"""DingTalk approvals end to end, both ways: template cards with HTTP click callbacks, and signed
links followed as a manager's phone would (GET the page, POST the confirmation).

The real app runs against the fake DingTalk server; link tokens are whatever the bot put
behind the ActionCard buttons it sent to the fake.
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from storage.models import Approval, AuditEvent, Order
from tests.conftest import Clock, fingerprint
from tests.fakes.dingtalk_app import PUBLIC_URL, SALES_GROUP, DingTalkHarness, dingtalk_app
from web.approval_pages import LinkClaims, sign_token

ORDER = "/下单 华为 A100×20@600 交期12-15"
MANAGERS = (("mgr01", "王经理", "主管"), ("mgr02", "钱经理", "主管"))
TEMPLATE = "tpl-approval-1.schema"


async def _order(h: DingTalkHarness, text: str = ORDER) -> int:
    reply = await h.say("sales01", text, name="张三")
    match = re.search(r"#(\d+)", reply[0])
    assert match and "已提交审批" in reply[0], reply
    return int(match[1])


async def _state(h: DingTalkHarness, no: int) -> str:
    async with h.db.uow() as uow:
        return (await uow.session.execute(select(Order.state).where(Order.no == no))).scalar_one()


# ---- template cards: createAndDeliver per approver, click callback, update for everyone ------


async def test_card_template_click_decides_and_updates_every_copy(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock, dingtalk_card_template_id=TEMPLATE) as h:
        await h.register(*MANAGERS)
        no = await _order(h)
        created = h.fake.calls_to("/v1.0/card/instances/createAndDeliver")
        assert sorted(c.json["openSpaceId"] for c in created) == ["dtv1.card//IM_ROBOT.mgr01",
                                                                   "dtv1.card//IM_ROBOT.mgr02"]
        assert all(c.json["cardTemplateId"] == TEMPLATE and c.json["callbackType"] == "HTTP" for c in created)
        assert len(h.fake.calls_to("/v1.0/card/callbacks/register")) == 1
        cards = {c.json["openSpaceId"].rsplit(".", 1)[1]: c.json["outTrackId"] for c in created}
        params = h.fake.cards[cards["mgr01"]]["cardData"]["cardParamMap"]
        assert params["btn1_label"] == "通过" and params["closed"] == "false"
        ok = params["btn1_action"]

        # the owner pressing a copy of the card (forwarded, say) is refused and changes nothing
        before = await fingerprint(h.db)
        resp = await h.click(cards["mgr01"], "sales01", ok)
        assert resp.status == 200
        await h.settle()
        assert await fingerprint(h.db) == before and await _state(h, no) == "PENDING_APPROVAL"

        resp = await h.click(cards["mgr01"], "mgr01", ok)
        assert resp.status == 200 and await resp.json() == {}
        await h.settle()
        await h.settle()
        assert await _state(h, no) == "CONFIRMED"
        updates = h.fake.calls_to("/v1.0/card/instances")
        assert sorted(u.json["outTrackId"] for u in updates if u.method == "PUT") == sorted(cards.values())
        for out_track_id in cards.values():
            final = h.fake.cards[out_track_id]["cardData"]["cardParamMap"]
            assert final["closed"] == "true" and final["btn1_action"] == ""
            assert "王经理" in final["body"] and "通过" in final["title"]
        # the decider hears back 1:1; the owner is told in the group the order came from
        assert any(f"#{no} 已通过" in t for t in h.to("single", "mgr01"))
        assert any(f"#{no}" in t and "审批通过" in t for t in h.to("group", SALES_GROUP))
        async with h.db.uow() as uow:
            event = (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "approve"))).scalar_one()
            assert (event.actor_platform, event.actor_user_id, event.source) == ("dingtalk", "mgr01", "card")


# ---- signed links: what a manager's phone does -------------------------------------------------


def _links(h: DingTalkHarness, user: str) -> dict[str, str]:
    """The button links of the last ActionCard sent 1:1 to ``user``: label → path?query."""
    sends = [c for c in h.fake.calls_to("/v1.0/robot/oToMessages/batchSend")
             if c.json["userIds"] == [user] and c.json["msgKey"].startswith("sampleActionCard")]
    assert sends, f"no action card for {user}"
    param = sends[-1].msg_param
    out = {}
    for n in range(1, 6):
        if f"actionURL{n}" in param:
            url = param[f"actionURL{n}"]
            assert url.startswith(f"{PUBLIC_URL}/approve?t=")
            parts = urlsplit(url)
            out[param[f"actionTitle{n}"]] = f"{parts.path}?{parts.query}"
    return out


def _form_token(page: str) -> str:
    match = re.search(r'name="t" value="([^"]+)"', page)
    assert match, page
    return html.unescape(match[1])


async def _open(h: DingTalkHarness, link: str) -> tuple[int, str]:
    resp = await h.client.get(link)
    return resp.status, await resp.text()


async def _confirm(h: DingTalkHarness, token: str, reason: str | None = None) -> tuple[int, str]:
    form = {"t": token} if reason is None else {"t": token, "reason": reason}
    resp = await h.client.post("/approve", data=form)
    assert resp.headers["Content-Type"].startswith("text/html")
    return resp.status, await resp.text()


async def test_signed_link_approval_from_a_phone(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        await h.register(*MANAGERS)
        no = await _order(h)
        assert not h.fake.calls_to("/v1.0/card/instances/createAndDeliver")
        links = _links(h, "mgr01")
        assert set(links) == {"通过", "驳回"}

        before = await fingerprint(h.db)
        status, page = await _open(h, links["通过"])
        assert status == 200 and f"确认通过 #{no}" in page and "华为" in page and "王经理" in page
        assert "<textarea" not in page  # approving needs no reason
        status, again = await _open(h, links["通过"])  # link previews, reloads: still nothing happens
        assert status == 200 and await fingerprint(h.db) == before

        status, page = await _confirm(h, _form_token(again))
        assert status == 200 and f"#{no} 已通过" in page, page
        await h.settle()
        await h.settle()
        assert await _state(h, no) == "CONFIRMED"
        async with h.db.uow() as uow:
            event = (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "approve"))).scalar_one()
            assert (event.actor_platform, event.actor_user_id, event.source) == ("dingtalk", "mgr01", "card")
            assert (event.source_ref or "").startswith("link:")
        # link cards cannot be edited in place: the other approver gets the closed card anew
        closed = [t for t in h.to("single", "mgr02") if "通过" in t and "王经理" in t]
        assert closed, h.to("single", "mgr02")
        # and mgr02's own, now pointless, link says what happened instead of offering a button
        status, page = await _open(h, _links(h, "mgr02")["通过"])
        assert status == 200 and "已通过" in page and 'name="t"' not in page


async def test_signed_link_rejection_requires_a_reason(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        await h.register(*MANAGERS)
        no = await _order(h)
        status, page = await _open(h, _links(h, "mgr02")["驳回"])
        assert status == 200 and f"确认驳回 #{no}" in page and "<textarea" in page
        token = _form_token(page)
        before = await fingerprint(h.db)
        status, page = await _confirm(h, token, reason="   ")
        assert status == 400 and "理由" in page and await fingerprint(h.db) == before
        status, page = await _confirm(h, token, reason="价格太低，<b>请重新报价</b>")
        assert status == 200 and f"#{no} 已驳回" in page and "&lt;b&gt;" in page and "<b>" not in page
        await h.settle()
        assert await _state(h, no) == "REJECTED"
        async with h.db.uow() as uow:
            step = (await uow.session.execute(select(Approval))).scalar_one()
            assert step.comment == "价格太低，<b>请重新报价</b>" and step.decider is not None
            assert step.decider.user_id == "mgr02"


def _tamper_user(token: str, user: str) -> str:
    body, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data[3] = user
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + mac


async def test_forged_reused_and_expired_links_change_nothing(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        await h.register(*MANAGERS)
        first = await _order(h)
        token = _form_token((await _open(h, _links(h, "mgr01")["通过"]))[1])
        body, mac = token.split(".")
        flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
        claims = LinkClaims(f"ap:{first}:ok", "dingtalk", "mgr01", int(clock().timestamp()) + 3600, "n" * 22)
        forged = {
            "someone else's name in a genuine token": _tamper_user(token, "sales01"),
            "a changed signature": f"{body}.{flipped}",
            "signed with another key": sign_token(b"not-our-key", claims),
            "no signature": body,
            "garbage": "%%%.",
        }
        before = await fingerprint(h.db)
        for what, fake_token in forged.items():
            status, page = await _confirm(h, fake_token)
            assert status == 403 and "链接无效" in page, what
            status, page = await _open(h, f"/approve?t={fake_token}")
            assert status == 403, what
        status, page = await _confirm(h, "")
        assert status == 400 and "不带审批凭据" in page
        await h.settle()
        assert await fingerprint(h.db) == before and await _state(h, first) == "PENDING_APPROVAL"

        # reused: the first use decides, the second is refused and changes nothing
        status, _ = await _confirm(h, token)
        assert status == 200 and await _state(h, first) == "CONFIRMED"
        await h.settle()
        after_use = await fingerprint(h.db)
        status, page = await _confirm(h, token)
        assert status == 409 and "已经用过" in page
        status, page = await _open(h, _links(h, "mgr01")["通过"])
        assert status == 409
        await h.settle()
        assert await fingerprint(h.db) == after_use

        # expired: 72 hours later a fresh order's genuine link no longer works
        second = await _order(h, "/下单 腾讯 A100×30@500 交期12-20")
        links = _links(h, "mgr01")
        token = _form_token((await _open(h, links["通过"]))[1])
        clock.advance(hours=72, seconds=1)
        before = await fingerprint(h.db)
        status, page = await _open(h, links["通过"])
        assert status == 410 and "已过期" in page
        status, page = await _confirm(h, token)
        assert status == 410 and "已过期" in page
        await h.settle()
        assert await fingerprint(h.db) == before and await _state(h, second) == "PENDING_APPROVAL"
