"""DingTalkClient against the fake DingTalk server: token, sends, error mapping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.dingtalk.client import DingTalkClient, SessionExpired
from bot.transport import GroupWebhook, PermanentError, TransientError
from tests.fakes.dingtalk_server import FakeDingTalk, dingtalk_settings


class Clock:
    """A settable monotonic clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(fake: FakeDingTalk, session: aiohttp.ClientSession, clock: Clock) -> DingTalkClient:
    return DingTalkClient(session, dingtalk_settings(fake.url), timeout=10.0, clock=clock)


# ---- access token -----------------------------------------------------------------------


async def test_token_is_cached_and_fetched_once_under_concurrency(
    fake: FakeDingTalk, client: DingTalkClient
) -> None:
    tokens = await asyncio.gather(*(client.access_token() for _ in range(10)))
    assert set(tokens) == {"at-1"}
    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 1
    assert fake.calls[0].json == {"appKey": "dingappkey", "appSecret": "app-secret-for-tests"}


async def test_token_refreshed_before_expiry(
    fake: FakeDingTalk, client: DingTalkClient, clock: Clock
) -> None:
    fake.token_expire_in = 7200
    assert await client.access_token() == "at-1"
    clock.now += 7200 - 301  # still outside the 5-minute renewal margin
    assert await client.access_token() == "at-1"
    clock.now += 2
    assert await client.access_token() == "at-2"


async def test_refused_token_is_refreshed_and_call_retried_once(
    fake: FakeDingTalk, client: DingTalkClient
) -> None:
    await client.send_group("cid1", "sampleText", {"content": "a"})
    fake.revoke_tokens()
    await client.send_group("cid1", "sampleText", {"content": "b"})
    sends = fake.calls_to("/v1.0/robot/groupMessages/send")
    assert [c.headers["x-acs-dingtalk-access-token"] for c in sends] == ["at-1", "at-1", "at-2"]
    assert sends[-1].msg_param == {"content": "b"}


async def test_token_refused_twice_is_permanent(fake: FakeDingTalk, client: DingTalkClient) -> None:
    fake.fail_next("/v1.0/robot/groupMessages/send", 401, {"code": "InvalidAuthentication"}, times=2)
    with pytest.raises(PermanentError):
        await client.send_group("cid1", "sampleText", {"content": "a"})


async def test_wrong_app_secret_is_permanent(fake: FakeDingTalk, session: aiohttp.ClientSession) -> None:
    bad = DingTalkClient(session, dingtalk_settings(fake.url, dingtalk_app_secret="wrong"))
    with pytest.raises(PermanentError) as info:
        await bad.access_token()
    assert "wrong" not in str(info.value)


# ---- robot OpenAPI ----------------------------------------------------------------------


async def test_group_send_body(fake: FakeDingTalk, client: DingTalkClient) -> None:
    key = await client.send_group(
        "cidGROUP1==", "sampleMarkdown", {"title": "订单", "text": "**#12** 已发货"}
    )
    assert key.startswith("pqk-")
    call = fake.calls_to("/v1.0/robot/groupMessages/send")[0]
    assert call.json["robotCode"] == "dingappkey"  # robot code defaults to the AppKey
    assert call.json["openConversationId"] == "cidGROUP1=="
    assert call.json["msgKey"] == "sampleMarkdown"
    assert isinstance(call.json["msgParam"], str)
    assert call.msg_param == {"title": "订单", "text": "**#12** 已发货"}


async def test_separate_robot_code(fake: FakeDingTalk, session: aiohttp.ClientSession) -> None:
    c = DingTalkClient(session, dingtalk_settings(fake.url, dingtalk_robot_code="robotX"))
    await c.send_single(["u1"], "sampleText", {"content": "hi"})
    call = fake.calls_to("/v1.0/robot/oToMessages/batchSend")[0]
    assert call.json["robotCode"] == "robotX"
    assert call.json["userIds"] == ["u1"]


async def test_flow_controlled_recipient_is_transient(fake: FakeDingTalk, client: DingTalkClient) -> None:
    fake.flow_controlled_users.add("u1")
    with pytest.raises(TransientError):
        await client.send_single(["u1"], "sampleText", {"content": "hi"})


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, {"code": "Throttling", "message": "too many"}, TransientError),
        (403, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"}, TransientError),
        (500, {"code": "ServiceUnavailable"}, TransientError),
        (503, "", TransientError),
        (400, {"code": "invalidParameter.msgKey.invalid", "message": "bad"}, PermanentError),
        (404, {"code": "robot.notInGroup"}, PermanentError),
    ],
)
async def test_error_mapping(
    fake: FakeDingTalk, client: DingTalkClient, status: int, body: object, error: type[Exception]
) -> None:
    fake.fail_next("/v1.0/robot/groupMessages/send", status, body)
    with pytest.raises(error):
        await client.send_group("cid1", "sampleText", {"content": "a"})
    # The next call goes through: nothing sticks.
    await client.send_group("cid1", "sampleText", {"content": "a"})


async def test_retry_after_is_passed_on(fake: FakeDingTalk, client: DingTalkClient) -> None:
    fake.fail_next("/v1.0/robot/groupMessages/send", 429, {}, headers={"Retry-After": "7"})
    with pytest.raises(TransientError) as info:
        await client.send_group("cid1", "sampleText", {"content": "a"})
    assert info.value.retry_after == 7.0


async def test_network_error_and_timeout_are_transient(session: aiohttp.ClientSession) -> None:
    closed = DingTalkClient(session, dingtalk_settings("http://127.0.0.1:9"), timeout=1.0)
    with pytest.raises(TransientError):
        await closed.send_group("cid1", "sampleText", {"content": "a"})

    async def slow(request: aiohttp.web.Request) -> aiohttp.web.Response:
        await asyncio.sleep(1)
        return aiohttp.web.json_response({})

    app = aiohttp.web.Application()
    app.router.add_post("/v1.0/oauth2/accessToken", slow)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        hung = DingTalkClient(session, dingtalk_settings(url), timeout=0.2)
        with pytest.raises(TransientError):
            await hung.access_token()
    finally:
        await runner.cleanup()


# ---- cards ------------------------------------------------------------------------------


async def test_card_create_and_update(fake: FakeDingTalk, client: DingTalkClient) -> None:
    await client.create_and_deliver(
        {
            "cardTemplateId": "tpl.schema",
            "outTrackId": "o1",
            "cardData": {"cardParamMap": {"status": "open"}},
            "openSpaceId": "dtv1.card//IM_ROBOT.u1",
        }
    )
    await client.update_card("o1", {"cardParamMap": {"status": "closed"}})
    assert fake.cards["o1"]["cardData"]["cardParamMap"] == {"status": "closed"}
    update = fake.calls_to("/v1.0/card/instances")[0]
    assert update.method == "PUT"
    assert update.json["cardUpdateOptions"]["updateCardDataByKey"] is True
    with pytest.raises(PermanentError):
        await client.update_card("unknown", {"cardParamMap": {}})


async def test_card_success_false_is_permanent(fake: FakeDingTalk, client: DingTalkClient) -> None:
    fake.fail_next("/v1.0/card/instances/createAndDeliver", 200, {"success": False, "result": None})
    with pytest.raises(PermanentError):
        await client.create_and_deliver({"outTrackId": "o2"})


# ---- webhooks ---------------------------------------------------------------------------


async def test_session_webhook_reply_and_expiry(fake: FakeDingTalk, client: DingTalkClient) -> None:
    url = fake.add_session("s1")
    body = {"msgtype": "text", "text": {"content": "好的"}, "at": {"atUserIds": ["u1"]}}
    await client.send_by_session(url, body)
    assert fake.calls_to("/robot/sendBySession")[0].json == body
    assert not fake.calls_to("/v1.0/oauth2/accessToken")  # no token needed
    fake.expire_session("s1")
    with pytest.raises(SessionExpired):
        await client.send_by_session(url, body)


async def test_custom_robot_signed_send(fake: FakeDingTalk, client: DingTalkClient) -> None:
    url = fake.add_robot("tok", "SECabc")
    await client.send_webhook(
        GroupWebhook(url=url, secret="SECabc"), {"msgtype": "text", "text": {"content": "x"}}
    )
    call = fake.calls_to("/robot/send")[0]
    assert call.query["access_token"] == "tok" and call.query["sign"]
    with pytest.raises(PermanentError, match="310000"):
        await client.send_webhook(GroupWebhook(url=url, secret="SECwrong"), {"msgtype": "text", "text": {}})


async def test_custom_robot_throttled_then_succeeds(fake: FakeDingTalk, client: DingTalkClient) -> None:
    # The fake checks the 加签 window against its clock too, so start it at real time.
    now = [time.time_ns() // 1_000_000]
    fake.clock_ms = lambda: now[0]
    hook = GroupWebhook(url=fake.add_robot("tok", "SECabc"), secret="SECabc")
    body = {"msgtype": "text", "text": {"content": "x"}}
    for _ in range(20):
        await client.send_webhook(hook, body)
    with pytest.raises(TransientError) as info:
        await client.send_webhook(hook, body)
    assert "130101" in str(info.value)
    assert info.value.retry_after == 600.0
    now[0] += 60_000
    await client.send_webhook(hook, body)


async def test_unknown_webhook_token_is_permanent(fake: FakeDingTalk, client: DingTalkClient) -> None:
    with pytest.raises(PermanentError, match="300001"):
        await client.send_webhook(
            GroupWebhook(url=f"{fake.url}/robot/send?access_token=nope"), {"msgtype": "text"}
        )
