"""The async WeCom client against the fake WeCom server (no network beyond 127.0.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.transport import PermanentError, TransientError
from bot.wecom.client import WeComClient, WeComPermanentError, WeComTransientError, mask_key, webhook_key
from tests.fakes.wecom_server import CORP_ID, SECRET, FakeWeCom


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def make_client(fake: FakeWeCom, session: aiohttp.ClientSession, **kw: object) -> WeComClient:
    options: dict[str, object] = {"corp_id": CORP_ID, "secret": SECRET, "agent_id": "1000002", "timeout": 10.0}
    options.update(kw)
    return WeComClient(session, api_base=fake.url, **options)  # type: ignore[arg-type]


async def test_gettoken_goes_to_api_base_and_is_cached(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = make_client(fake, session)
    await client.send_text("zhangsan", "你好")
    await client.send_markdown("zhangsan", "**好**")
    assert len(fake.calls_to("gettoken")) == 1
    assert fake.calls_to("gettoken")[0].query == {"corpid": CORP_ID, "corpsecret": SECRET}
    sends = fake.calls_to("message/send")
    assert [c.json["msgtype"] for c in sends] == ["text", "markdown"]
    assert sends[0].json == {
        "touser": "zhangsan",
        "agentid": 1000002,
        "msgtype": "text",
        "text": {"content": "你好"},
    }


async def test_api_base_with_trailing_cgi_bin(fake: FakeWeCom, session: aiohttp.ClientSession) -> None:
    client = WeComClient(
        session, api_base=fake.url + "/cgi-bin/", corp_id=CORP_ID, secret=SECRET, agent_id="1"
    )
    await client.send_text("u", "x")
    assert len(fake.calls_to("message/send")) == 1


async def test_concurrent_callers_share_one_gettoken(fake: FakeWeCom, session: aiohttp.ClientSession) -> None:
    fake.slow("gettoken", 0.05)
    client = make_client(fake, session)
    await asyncio.gather(*(client.send_text(f"u{i}", "x") for i in range(10)))
    assert len(fake.calls_to("gettoken")) == 1
    assert len(fake.calls_to("message/send")) == 10


async def test_token_expiring_mid_run_is_refreshed_once(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = make_client(fake, session)
    await client.send_text("u", "before")
    fake.expire_tokens()
    # Several concurrent callers hit 42001 with the same old token: one refresh only.
    await asyncio.gather(*(client.send_text("u", f"after{i}") for i in range(5)))
    assert len(fake.calls_to("gettoken")) == 2
    sends = fake.calls_to("message/send")
    ok = [c for c in sends if c.query["access_token"] in fake.valid_tokens]
    assert sorted(c.json["text"]["content"] for c in ok) == [f"after{i}" for i in range(5)]
    assert len(sends) == 1 + 5 + 5  # before, five rejected, five retried


async def test_token_refreshed_before_its_stated_expiry(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    now = [1000.0]
    client = make_client(fake, session, clock=lambda: now[0])
    await client.send_text("u", "x")
    now[0] += 7200 - 300 + 1  # inside the safety margin
    await client.send_text("u", "y")
    assert len(fake.calls_to("gettoken")) == 2


async def test_a_token_rejected_forever_stops_after_one_retry(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    fake.reject_all_tokens = True
    client = make_client(fake, session)
    with pytest.raises(WeComPermanentError) as info:
        await client.send_text("u", "x")
    assert info.value.errcode == 40014
    assert isinstance(info.value, PermanentError)
    assert len(fake.calls_to("gettoken")) == 2
    assert len(fake.calls_to("message/send")) == 2


async def test_system_busy_is_transient_then_succeeds(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    fake.fail("message/send", -1, times=2)
    client = make_client(fake, session)
    for _ in range(2):
        with pytest.raises(WeComTransientError) as info:
            await client.send_text("u", "x")
        assert isinstance(info.value, TransientError)
        assert info.value.errcode == -1
        assert info.value.retry_after is not None and info.value.retry_after > 0
    answer = await client.send_text("u", "x")
    assert answer["errcode"] == 0


@pytest.mark.parametrize(("errcode", "min_wait"), [(45009, 60.0), (45033, 1.0)])
async def test_limits_are_transient_with_a_backoff_hint(
    fake: FakeWeCom, session: aiohttp.ClientSession, errcode: int, min_wait: float
) -> None:
    fake.fail("message/send", errcode)
    with pytest.raises(TransientError) as info:
        await make_client(fake, session).send_text("u", "x")
    assert info.value.retry_after is not None and info.value.retry_after >= min_wait


async def test_gettoken_busy_is_transient(fake: FakeWeCom, session: aiohttp.ClientSession) -> None:
    fake.fail("gettoken", -1)
    client = make_client(fake, session)
    with pytest.raises(TransientError):
        await client.send_text("u", "x")
    await client.send_text("u", "x")


@pytest.mark.parametrize("errcode", [40001, 48002, 60020, 81013, 40008, 45002])
async def test_other_errcodes_are_permanent(
    fake: FakeWeCom, session: aiohttp.ClientSession, errcode: int
) -> None:
    fake.fail("message/send", errcode)
    with pytest.raises(WeComPermanentError) as info:
        await make_client(fake, session).send_text("u", "x")
    assert info.value.errcode == errcode


async def test_wrong_secret_is_permanent_and_never_echoed(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = make_client(fake, session, secret="not-the-secret-xyz")
    with pytest.raises(WeComPermanentError) as info:
        await client.send_text("u", "x")
    assert info.value.errcode == 40001
    assert "not-the-secret-xyz" not in str(info.value)


async def test_http_500_is_transient(fake: FakeWeCom, session: aiohttp.ClientSession) -> None:
    fake.fail_http("message/send", 500)
    with pytest.raises(TransientError):
        await make_client(fake, session).send_text("u", "x")


async def test_timeout_is_transient_and_hides_the_url(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = make_client(fake, session, timeout=0.2)
    await client.access_token()
    fake.slow("message/send", 1.0)
    with pytest.raises(TransientError) as info:
        await client.send_text("u", "x")
    assert "access_token" not in str(info.value)


async def test_unreachable_host_is_transient(session: aiohttp.ClientSession) -> None:
    client = WeComClient(
        session, api_base="http://127.0.0.1:9", corp_id="c", secret="s", agent_id="1", timeout=1.0
    )
    with pytest.raises(TransientError) as info:
        await client.send_text("u", "x")
    assert "corpsecret" not in str(info.value)


async def test_app_not_configured(fake: FakeWeCom, session: aiohttp.ClientSession) -> None:
    client = WeComClient(session, api_base=fake.url)
    assert not client.app_configured
    with pytest.raises(PermanentError):
        await client.send_text("u", "x")
    assert fake.calls == []


async def test_template_card_send_returns_a_response_code(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = make_client(fake, session)
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "t"},
        "task_id": "gd1_a",
        "button_list": [],
    }
    answer = await client.send_template_card("mgr1", card)
    code = answer["response_code"]
    sent = fake.calls_to("message/send")[0].json
    assert sent["enable_duplicate_check"] == 1
    assert sent["template_card"] == card
    await client.update_template_card(code, ["mgr1"], replace_name="已同意")
    body = fake.calls_to("message/update_template_card")[0].json
    assert body == {
        "userids": ["mgr1"],
        "agentid": 1000002,
        "response_code": code,
        "button": {"replace_name": "已同意"},
    }
    with pytest.raises(WeComPermanentError):  # single use
        await client.update_template_card(code, ["mgr1"], replace_name="已同意")


async def test_webhook_takes_only_the_key_and_posts_to_api_base(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = WeComClient(session, api_base=fake.url)  # no app keys needed for webhooks
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    await client.webhook_send(url, {"msgtype": "text", "text": {"content": "hi"}})
    call = fake.calls_to("webhook/send")[0]
    assert call.query == {"key": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"}
    assert call.json == {"msgtype": "text", "text": {"content": "hi"}}


async def test_webhook_over_20_per_minute_is_transient(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = WeComClient(session, api_base=fake.url)
    for i in range(20):
        await client.webhook_send("KEY1", {"msgtype": "text", "text": {"content": str(i)}})
    with pytest.raises(TransientError) as info:
        await client.webhook_send("KEY1", {"msgtype": "text", "text": {"content": "21"}})
    assert info.value.retry_after is not None and info.value.retry_after >= 60
    await client.webhook_send("KEY2", {"msgtype": "text", "text": {"content": "other robot"}})


async def test_aibot_response_url_is_rebased_and_one_shot(
    fake: FakeWeCom, session: aiohttp.ClientSession
) -> None:
    client = WeComClient(session, api_base=fake.url)
    url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=R%2B1"
    await client.aibot_respond(url, {"msgtype": "markdown", "markdown": {"content": "ok"}})
    call = fake.calls_to("aibot/response")[0]
    assert call.query == {"response_code": "R+1"}
    with pytest.raises(PermanentError):
        await client.aibot_respond(url, {"msgtype": "markdown", "markdown": {"content": "again"}})


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123_X", "abc-123_X"),
        ("  abc123  ", "abc123"),
    ],
)
def test_webhook_key(value: str, key: str) -> None:
    assert webhook_key(value) == key


@pytest.mark.parametrize("value", ["", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "a b", "k;rm"])
def test_webhook_key_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        webhook_key(value)


def test_mask_key() -> None:
    assert mask_key("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa") == "693a…5aaa"
    assert "abc" not in mask_key("abcdef")
