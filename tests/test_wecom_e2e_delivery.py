"""WeCom end to end, delivery side: forged callbacks, redelivery, tokens, busy API, robot limits, leavers.

The real app against the fake WeCom server, with genuine encrypted callbacks;
see ``tests/fakes/wecom_harness.py``.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.transport import MAX_BACKOFF
from bot.wecom import AIBOT_PATH, APP_PATH
from storage.models import Order, OutboxMessage, Person
from tests.conftest import Clock, fingerprint
from tests.fakes import wecom_signing as ws
from tests.fakes.wecom_harness import ADMIN, World, delete_user_xml, now_ts, open_world

SMALL_ORDER = "/下单 小米 A100×2@300 交期12-15"
BIG_ORDER = "/下单 华为 A100×20@600 交期12-15"


@pytest.fixture
async def world(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[World]:
    async with open_world(db_url, clock) as w:
        yield w


async def test_forged_or_stale_callbacks_are_refused_and_change_nothing(world: World) -> None:
    w = world
    await w.say("zhangsan", SMALL_ORDER)
    before, inbox, calls = await fingerprint(w.db), await w.inbox(), len(w.fake.calls)
    plain = ws.text_xml(BIG_ORDER, user="zhangsan", msg_id="7199999999999999999")

    query, body = ws.app_post(plain, timestamp=now_ts(), nonce="forged")
    bad_signature = ({**query, "msg_signature": "0" * 40}, body)
    wrong_key = ws.app_post(plain, timestamp=now_ts(), key=ws.OTHER_AES_KEY)  # signed right, wrong AES key
    truncated = (query, body[: len(body) // 2])
    cut_cipher = (query, body.replace("]]></Encrypt>", "", 1).replace("<![CDATA[", "", 2))
    old = ws.app_post(plain, timestamp=str(int(time.time()) - 3600))
    aibot_query, aibot_body = ws.aibot_post(ws.aibot_text(f"@跟单助手 {BIG_ORDER}"), timestamp=now_ts())
    cases = {
        "bad signature": (APP_PATH, *bad_signature, 403),
        "wrong key": (APP_PATH, *wrong_key, 400),
        "truncated body": (APP_PATH, *truncated, 400),
        "mangled envelope": (APP_PATH, *cut_cipher, 400),
        "old timestamp": (APP_PATH, *old, 403),
        "aibot bad signature": (AIBOT_PATH, {**aibot_query, "msg_signature": "f" * 40}, aibot_body, 403),
        "aibot truncated": (AIBOT_PATH, aibot_query, aibot_body[:-20], 400),
        "app body on aibot path": (AIBOT_PATH, query, body, 400),
    }
    for name, (path, q, b, status) in cases.items():
        assert await w.post(path, q, b) == status, name
        assert await w.inbox() == inbox, name
        assert await fingerprint(w.db) == before, name
    assert len(w.fake.calls) == calls  # nobody was answered
    # the genuine callback still works afterwards
    assert await w.post(APP_PATH, query, body) == 200
    assert len(await w.orders()) == 2


async def test_the_same_callback_four_times_makes_one_order(world: World) -> None:
    w = world
    query, body = ws.app_post(ws.text_xml(SMALL_ORDER, user="zhangsan", msg_id="7000000000000004444"),
                              timestamp=now_ts(), nonce="retry")
    for _ in range(4):  # the delivery and WeCom's three retries, before and after processing
        assert await w.post(APP_PATH, query, body, settle=False) == 200
    await w.settle()
    assert await w.post(APP_PATH, query, body) == 200
    assert len(await w.orders()) == 1
    assert await w.inbox() == 1
    assert len(w.sent_to("zhangsan")) == 1
    # the AI bot redelivers by msgid too
    for _ in range(4):
        status, _code = await w.group_say("wangwu", SMALL_ORDER, msgid="CAIQ-same")
        assert status == 200
    assert len(await w.orders()) == 2
    assert len(w.fake.accepted("aibot/response")) == 1


async def test_token_expiring_mid_run_is_refreshed_once(world: World) -> None:
    w = world
    await w.say("zhangsan", SMALL_ORDER)
    assert len(w.fake.calls_to("gettoken")) == 1
    w.fake.expire_tokens()
    await w.say("zhangsan", SMALL_ORDER.replace("×2", "×3"))
    assert len(w.fake.calls_to("gettoken")) == 2
    assert [c.errcode for c in w.fake.calls_to("message/send")] == [0, 42001, 0]
    replies = w.texts_to("zhangsan")
    assert len(replies) == 2 and replies[1].startswith("#2 小米 金额 ¥900")
    assert await w.outbox_status() == {"SENT": 2}


async def _due(w: World) -> OutboxMessage:
    async with w.db.uow() as uow:
        return (await uow.session.execute(select(OutboxMessage))).scalar_one()


async def test_system_busy_for_a_while_still_delivers_exactly_once(world: World, clock: Clock) -> None:
    w = world
    w.fake.fail("message/send", -1, times=6)
    await w.say("zhangsan", SMALL_ORDER)
    waits = []
    for _ in range(6):
        row = await _due(w)
        assert row.status == "PENDING"
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        clock.advance(seconds=waits[-1] - 0.5)
        await w.settle()  # not due yet: nothing is sent
        assert (await _due(w)).attempts == row.attempts
        clock.advance(seconds=0.5)
        await w.settle()
    # the wait doubles from WeCom's 2 s hint (with at most 10 % jitter), up to the outbox's cap
    for n, wait in enumerate(waits[:6]):
        if 2.2 * 2**n < MAX_BACKOFF:
            assert 2.0 * 2**n <= wait <= 2.2 * 2**n, waits
        else:
            assert MAX_BACKOFF / 2 <= wait <= MAX_BACKOFF, waits
    row = await _due(w)
    assert (row.status, row.attempts) == ("SENT", 6)
    assert [c.errcode for c in w.fake.calls_to("message/send")] == [-1] * 6 + [0]
    assert len(w.texts_to("zhangsan")) == 1
    await w.settle()
    assert len(w.fake.calls_to("message/send")) == 7


ORDER_NOTICE = re.compile(r"#(\d+) 新订单")


async def test_a_burst_of_fifty_notifications_respects_the_group_robot_limit(world: World, clock: Clock) -> None:
    w = world
    hook = f"{w.fake.url}/cgi-bin/webhook/send?key=burstKey0123456789"
    await w.group_say(ADMIN, f"/绑定 {hook}")
    await w.group_say(ADMIN, "/订阅 新订单")
    for _ in range(50):
        clock.advance(seconds=1)
        assert await w.say("zhangsan", SMALL_ORDER) == 200
    for _ in range(10):  # let the robot's minutes pass
        clock.advance(seconds=30)
        await w.settle()
    assert "PENDING" not in await w.outbox_status()

    calls = w.fake.calls_to("webhook/send")
    assert all(c.errcode == 0 for c in calls), [c.errcode for c in calls]  # never over the fake's limit
    times = [c.at for c in calls]
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) <= 20
    contents = [c.json[c.json["msgtype"]]["content"] for c in calls]
    assert "已绑定本群推送机器人" in contents[0] and "key=burs****6789" in contents[0]
    assert contents[1] == "本群订阅的通知：新订单"
    notices = [int(n) for text in contents for n in ORDER_NOTICE.findall(text)]
    assert sorted(notices) == list(range(1, 51))  # every order once: nothing dropped, nothing twice
    assert any("条通知（合并发送）" in text for text in contents)
    assert len(calls) < 52


async def test_delete_user_hands_the_leavers_open_orders_to_their_manager(world: World) -> None:
    w = world
    for user in ("mgr1", "mgr2"):
        await w.say(user, "/帮助")
        await w.say(ADMIN, f"/角色 {user} 主管")
    await w.say("lisi", BIG_ORDER)
    await w.say("lisi", SMALL_ORDER)
    await w.say("zhangsan", SMALL_ORDER)
    async with w.db.uow() as uow:  # lisi reports to mgr2 (not the first 主管)
        mgr2 = (await uow.session.execute(select(Person.id).where(Person.user_id == "mgr2"))).scalar_one()
        await uow.session.execute(update(Person).where(Person.user_id == "lisi").values(manager_id=mgr2))

    event = delete_user_xml("lisi", w.created())
    for _ in range(4):  # redelivered: handled once
        assert await w.app_event(event) == 200
    owners = {o.no: (o.owner.user_id if o.owner else None) for o in await _orders_with_owner(w)}
    assert owners == {1: "mgr2", 2: "mgr2", 3: "zhangsan"}
    assert w.texts_to("mgr2")[-1] == "👤 lisi 已离职，其进行中的订单 #1、#2 已转给你负责。"
    assert sum("已离职" in t for t in w.texts_to("mgr2")) == 1
    async with w.db.uow() as uow:
        lisi = (await uow.session.execute(select(Person).where(Person.user_id == "lisi"))).scalar_one()
        assert lisi.active is False


async def _orders_with_owner(w: World) -> list[Order]:
    from sqlalchemy.orm import selectinload

    async with w.db.uow() as uow:
        stmt = select(Order).options(selectinload(Order.owner)).order_by(Order.no)
        return list((await uow.session.execute(stmt)).scalars())
