"""DingTalk end to end: the real app against the fake DingTalk server, requests genuinely signed.

Messages, replies (sessionWebhook and its OpenAPI fallback), verification failures,
redelivery, throttling, a notification burst through a bound custom robot, and a
person leaving the organisation. Approvals are in ``test_dingtalk_e2e_approval.py``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from bot.outbound import Message
from storage.models import InboxEvent, Order, OutboxMessage, Person
from storage.outbox import Envelope
from storage.outgoing import write_all
from tests.conftest import Clock, fingerprint
from tests.fakes.dingtalk_app import NOTIFY_GROUP, ROBOT_TOKEN, SALES_GROUP, DingTalkHarness, dingtalk_app
from tests.fakes.dingtalk_server import APP_KEY, APP_SECRET
from tests.fakes.dingtalk_signing import (
    decrypt_answer,
    encrypt_event,
    now_ms,
    random_aes_key,
    sign,
    signed_headers,
)

ORDER = "/下单 华为 A100×20@600 交期12-15"
SMALL = "/下单 小米 A100×2@300 交期12-15"
OTHER_GROUP = "cidOTHER=="
THROTTLED = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}


async def test_group_order_is_answered_through_the_session_webhook(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        body = h.message("sales01", SMALL, name="张三")
        resp = await h.post_message(body)
        assert resp.status == 200 and await resp.json() == {}
        await h.settle()
        replies = h.to("session", f"s-{body['msgId']}")
        assert len(replies) == 1 and "#1 小米" in replies[0] and "已自动确认" in replies[0]
        # the reply @mentions the sender, as the official SDK's reply does (DingTalk shows @userId as
        # the name), nobody else, and never went through the paid OpenAPI
        [call] = h.fake.calls_to("/robot/sendBySession")
        assert call.json["at"] == {"atUserIds": ["sales01"], "isAtAll": False}
        assert replies[0].endswith(" @sales01"), replies[0]
        assert not h.fake.calls_to("/v1.0/robot/groupMessages/send")
        async with h.db.uow() as uow:
            order = (await uow.session.execute(select(Order))).scalar_one()
            assert (order.origin_platform, order.origin_chat_id, order.state) == ("dingtalk", SALES_GROUP,
                                                                                  "CONFIRMED")
            assert order.owner.user_id == "sales01" and order.owner.name == "张三"


async def test_expired_session_webhook_falls_back_to_the_openapi(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        # 1. the hook looks alive but DingTalk says 300001 "session 不存在": the group OpenAPI takes over
        body = h.message("sales01", SMALL, name="张三")
        h.fake.expire_session(f"s-{body['msgId']}")
        assert (await h.post_message(body)).status == 200
        await h.settle()
        assert len(h.fake.calls_to("/robot/sendBySession")) == 1
        group = h.to("group", SALES_GROUP)
        assert len(group) == 1 and "#1 小米" in group[0]
        assert group[0].endswith(" @张三"), group[0]  # the OpenAPI has no at field: the name as text
        # 2. a 1:1 message whose hook expired by the clock: not even tried, batchSend to the user
        body = h.message("sales01", "/查单 #1", group=None, expires_ms=now_ms() - 1000)
        assert (await h.post_message(body)).status == 200
        await h.settle()
        assert len(h.fake.calls_to("/robot/sendBySession")) == 1
        single = h.to("single", "sales01")
        assert len(single) == 1 and single[0].startswith("#1 ")


async def test_bad_sign_and_old_timestamp_are_refused_and_change_nothing(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        before = await fingerprint(h.db)
        stale = str(now_ms() - 2 * 3_600_000)
        attempts = [
            {**signed_headers(APP_SECRET), "sign": sign(str(now_ms()), "not-the-app-secret")},
            {"timestamp": stale, "sign": sign(stale, APP_SECRET), "Content-Type": "application/json"},
            {"Content-Type": "application/json"},
        ]
        for n, headers in enumerate(attempts):
            resp = await h.post_message(h.message("sales01", ORDER, msg_id=f"bad{n}=="), headers=headers)
            assert resp.status == 403, (n, await resp.text())
        await h.settle()
        assert await fingerprint(h.db) == before
        async with h.db.uow() as uow:
            assert (await uow.session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0
            assert (await uow.session.execute(select(func.count()).select_from(Person))).scalar_one() == 0
        assert h.sent() == []


async def test_the_same_msg_id_three_times_makes_one_order(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        body = h.message("sales01", SMALL, name="张三", msg_id="msgDUP==")
        for _ in range(3):  # DingTalk redelivers with fresh signatures; each one is genuine
            resp = await h.post_message(body)
            assert resp.status == 200
        await h.settle()
        await h.settle()
        assert await h.order_count() == 1
        assert len(h.to("session", "s-msgDUP==")) == 1


def _robot_texts(h: DingTalkHarness, accepted: bool) -> list[str]:
    if accepted:
        bodies = [b for _, _, b in h.fake.robot_deliveries]
    else:
        bodies = [c.json for c in h.fake.calls_to("/robot/send")]
    return [b["text"]["content"] if b["msgtype"] == "text" else b["markdown"]["text"] for b in bodies]


async def test_throttled_custom_robot_is_retried_and_delivers_once(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        await h.bind_notify_group()
        h.fake.fail_next("/robot/send", 200, THROTTLED)
        await h.say("sales01", SMALL, name="张三")
        async with h.db.uow() as uow:
            # the group's later notices (if any) wait behind the throttled one: per-chat order
            row = (await uow.session.execute(select(OutboxMessage).where(
                OutboxMessage.chat_id == NOTIFY_GROUP, OutboxMessage.status == "PENDING")
                .order_by(OutboxMessage.id).limit(1))).scalar_one()
            assert row.attempts == 1 and "130101" in (row.last_error or "")
            # a throttled custom robot is banned for 10 minutes: no retry before that
            assert (row.next_attempt_at - clock()).total_seconds() >= 599
        throttled = row.message["text"]
        assert "#1" in throttled and throttled not in _robot_texts(h, accepted=True)
        await h.settle()
        assert _robot_texts(h, accepted=False).count(throttled) == 1
        clock.advance(seconds=601)
        await h.settle()
        await h.settle()
        assert _robot_texts(h, accepted=False).count(throttled) == 2
        assert _robot_texts(h, accepted=True).count(throttled) == 1
        async with h.db.uow() as uow:
            statuses = (await uow.session.execute(select(OutboxMessage.status).where(
                OutboxMessage.chat_id == NOTIFY_GROUP))).scalars().all()
        assert set(statuses) == {"SENT"}


async def test_throttled_session_reply_is_retried_and_delivers_once(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        body = h.message("sales01", SMALL, name="张三")
        h.fake.fail_next("/robot/sendBySession", 200, THROTTLED)
        assert (await h.post_message(body)).status == 200
        await h.settle()
        await h.settle()  # not due yet: nothing new
        assert len(h.fake.calls_to("/robot/sendBySession")) == 1
        clock.advance(seconds=61)
        await h.settle()
        calls = h.fake.calls_to("/robot/sendBySession")
        assert len(calls) == 2 and calls[0].json == calls[1].json
        assert not h.fake.calls_to("/v1.0/robot/groupMessages/send")
        async with h.db.uow() as uow:
            statuses = (await uow.session.execute(select(OutboxMessage.status))).scalars().all()
        assert statuses == ["SENT"]


def _max_in_window(times: list[int], window_ms: int = 60_000) -> int:
    return max((sum(1 for u in times if t <= u < t + window_ms) for t in times), default=0)


async def _burst(h: DingTalkHarness, clock: Clock, orders: int) -> None:
    for n in range(1, orders + 1):
        await h.say("sales01", f"/下单 客户{n:02d} A100×1@100 交期12-15", name="张三")
        clock.advance(seconds=2)
    for _ in range(10):  # let the queue drain, a minute at a time
        clock.advance(seconds=61)
        await h.settle()


async def test_notification_burst_respects_the_robot_limit_and_drops_nothing(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        await h.bind_notify_group()
        await _burst(h, clock, 50)
        async with h.db.uow() as uow:
            rows = (await uow.session.execute(select(OutboxMessage).where(
                OutboxMessage.chat_id == NOTIFY_GROUP, OutboxMessage.reply_to.is_(None))
                .order_by(OutboxMessage.id))).scalars().all()
        notices = [r.message["text"] for r in rows]
        assert len(notices) >= 50 and {r.status for r in rows} <= {"SENT", "MERGED"}
        for n in range(1, 51):
            assert any(re.search(rf"#{n}(?!\d)", text) for text in notices), n
        deliveries = h.fake.robot_deliveries
        assert all(token == ROBOT_TOKEN for _, token, _ in deliveries)
        # the fake enforces DingTalk's own limit too: every call it got was accepted
        assert len(h.fake.calls_to("/robot/send")) == len(deliveries)
        assert _max_in_window([t for t, _, _ in deliveries]) <= 20
        assert len(deliveries) < len(notices), "expected some notifications merged into digests"
        delivered = "\n".join(h.to("robot", ROBOT_TOKEN))
        for text in notices:
            assert text in delivered, text
        assert "合并发送" in delivered


async def test_user_leave_org_reassigns_open_orders(db_url: Any, clock: Clock) -> None:
    token, aes_key = "event-token", random_aes_key()
    async with dingtalk_app(db_url, clock, dingtalk_token=token, dingtalk_aes_key=aes_key) as h:
        await h.register(("mgr01", "王经理", "主管"))
        await h.say("sales01", ORDER, name="张三")
        await h.say("sales01", SMALL, name="张三", group=OTHER_GROUP)
        event = {"EventType": "user_leave_org", "CorpId": "dingcorp1", "TimeStamp": str(now_ms()),
                 "UserId": ["sales01"]}
        query, body = encrypt_event(event, token=token, aes_key=aes_key, owner_key=APP_KEY)
        for _ in range(2):  # DingTalk re-pushes until it reads "success"; the second push changes nothing
            resp = await h.client.post("/dingtalk/event", params=query, data=body,
                                       headers={"Content-Type": "application/json"})
            assert resp.status == 200
            answer = await resp.json()
            assert decrypt_answer(answer, token=token, aes_key=aes_key, owner_key=APP_KEY) == "success"
            await h.settle()
        async with h.db.uow() as uow:
            orders = (await uow.session.execute(select(Order).order_by(Order.no))).scalars().all()
            assert [o.owner.user_id for o in orders] == ["mgr01", "mgr01"]
            leaver = (await uow.session.execute(select(Person).where(Person.user_id == "sales01"))).scalar_one()
            assert leaver.active is False
        told = h.to("single", "mgr01")
        handover = [t for t in told if "已离职" in t]
        assert len(handover) == 1 and "#1" in handover[0] and "#2" in handover[0]
        for group, no in ((SALES_GROUP, "#1"), (OTHER_GROUP, "#2")):
            told = [t for t in h.to("group", group) if "负责人变更为" in t]
            assert len(told) == 1 and no in told[0] and "王经理" in told[0], (group, told)


async def test_a_backlog_too_big_for_one_digest_still_arrives(db_url: Any, clock: Clock) -> None:
    async with dingtalk_app(db_url, clock) as h:
        await h.bind_notify_group()
        # a backlog (e.g. after an outage): 300 notifications of ~350 bytes wait for one group
        texts = [f"📦 #{n} 备注：" + "客户要求分批发货并附带质检报告。" * 6 for n in range(1, 301)]
        async with h.db.uow() as uow:
            await write_all(uow, [Envelope("dingtalk", NOTIFY_GROUP, "group", Message.plain(t).to_dict())
                                  for t in texts], clock())
        for _ in range(60):
            await h.settle()
            clock.advance(seconds=61)
        delivered = "\n".join(_robot_texts(h, accepted=True))
        assert all(t in delivered for t in texts)
