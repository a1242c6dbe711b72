"""Issue 14, item 2: the draft's /补充 hint reuses the person's own values and lists every missing field."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Bot, Clock, fingerprint

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def saturday(team: Bot, clock: Clock) -> Bot:
    clock.set(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    return team


async def test_hint_keeps_quantity_and_lists_every_missing_field(saturday: Bot) -> None:
    reply = await saturday.text("u1", "/下单 小米 A100 10台")
    assert reply == ("#1 小米 金额 ¥0\n· A100 ×10台 @—\n交期 未定\n已存为草稿，还缺：单价、交期。\n"
                     "补齐：/补充 #1 A100×10台@单价 交期 月-日\n"
                     "新客户「小米」已建档。\n产品 A100 不在产品库，按自由文本记录（不管库存）。")
    # the hint sent as it is: refused, nothing stored (no invented price or date)
    before = await fingerprint(saturday.db)
    refused = await saturday.text("u1", "/补充 #1 A100×10台@单价 交期 月-日")
    assert refused.startswith("没看懂金额「单价」"), refused
    assert await fingerprint(saturday.db) == before
    # filled in: the quantity stays 10
    done = await saturday.text("u1", "/补充 #1 A100×10台@300 交期 12-20")
    assert done.startswith("#1 小米 金额 ¥3,000\n· A100 ×10台 @¥300 = ¥3,000\n交期 12-20\n"
                           "金额低于审批线，已自动确认。"), done


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("/下单 小米", "补齐：/补充 #1 产品×数量@单价 交期 月-日"),
        ("/下单 A100×2@300 交期12-20", "补齐：/补充 #1 客户 名称"),
        ("/下单 小米 A100×2@300 B200 3台 C300×1", "补齐：/补充 #1 B200×3台@单价 C300×1@单价 交期 月-日"),
    ],
)
async def test_hint_for_each_missing_field(saturday: Bot, text: str, hint: str) -> None:
    reply = await saturday.text("u1", text)
    assert hint in reply.split("\n"), reply
