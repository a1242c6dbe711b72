"""Every refusal answers in Chinese with what was wrong and the right form, and changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import Bot, assert_unchanged, fingerprint


async def confirmed_order(bot: Bot, text: str = "/下单 华为 A100×10@300 交期12-15") -> None:
    reply = await bot.text("u1", text)
    assert "自动确认" in reply, reply


async def assert_refused(bot: Bot, user: str, text: str, *expected: str, chat: str = "g1") -> str:
    before = await fingerprint(bot.db)
    reply = await bot.text(user, text, chat=chat)
    for part in expected:
        assert part in reply, f"{part!r} not in {reply!r}"
    await assert_unchanged(bot.db, before, text)
    return reply


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        ("u1", "/下单", ["正确格式：/下单"]),
        ("u1", "/下单 华为 A100×0@300 交期12-15", ["正确格式"]),
        ("u1", "/下单 华为 A100×-5@300 交期12-15", ["正确格式"]),
        ("u1", "/下单 华为 A100×5@0 交期12-15", ["正确格式"]),
        ("u1", "/下单 华为 A100×5@300 交期2020-01-01", ["正确格式"]),
        ("w1", "/下单 华为 A100×5@300 交期12-15", ["没有权限", "销售"]),
        ("u1", "/发货 #1", ["没有权限", "仓库"]),
        ("u1", "/回款 #1 100", ["没有权限", "财务"]),
        ("u1", "/生产 #1", ["没有权限", "生产"]),
        ("u1", "/挂起 #1 客户要求", ["没有权限", "主管"]),
        ("m1", "/重开 #1 误操作", ["没有权限", "管理员"]),
        ("w1", "/发货 #99", ["没有找到订单 #99"]),
        ("w1", "/发货", ["正确格式：/发货"]),
        ("f1", "/回款 #1", ["正确格式：/回款"]),
        ("f1", "/回款 #1 100000", ["#1", "超过待收余额"]),
        ("w1", "/发货 #1 A100 11", ["#1", "只剩 10 未发"]),
        ("w1", "/发货 #1 Z999 1", ["没有产品「Z999」"]),
        ("u2", "/变更 #1 交期 12-20", ["#1", "下单人本人"]),
        ("u1", "/变更 #1 交期 12-15", ["#1", "没有需要变更"]),
        ("u1", "/提交 #1", ["#1", "已确认"]),
        ("u1", "/撤回 #1", ["#1", "当前状态是「已确认」", "不能/撤回", "只在 待审批 时可以"]),
        ("m1", "/恢复 #1", ["#1", "挂起"]),
        ("u1", "/作废 #1 不要了", ["#1", "主管"]),
        ("u1", "/签收 #1", ["#1", "还没有发货"]),
        ("u1", "/审批 #1 通过", ["没有权限"]),
        ("m1", "/审批 #1 通过", ["#1", "没有待审批"]),
        ("m1", "/审批 #1 驳回", ["理由"]),
        ("u1", "/不存在的命令", ["没有「/不存在的命令」"]),
        ("u1", "/我的", ["没有「/我的」", "/订单 我的"]),
        ("u1", "/下担 华为 A100×2@300 交期12-15", ["没有「/下担」", "/下单 华为 A100×2@300 交期12-15"]),
        ("u1", "/查单 华为", ["/订单 华为", "正确格式：/查单"]),
        ("u2", "/审批 #1 通过", ["没有权限", "/角色 local:u2 +主管"]),
        ("admin", "/审批 #1 通过", ["#1", "没有待审批"]),
        ("admin", "/角色 nobody 主管", ["找不到用户"]),
        ("admin", "/订阅 天气", ["正确格式：/订阅"]),
        ("admin", "/绑定 http://example.com/hook", ["正确格式：/绑定"]),
        ("u1", "/补充 #1 交期 12-20", ["#1", "已确认"]),
        ("u1", "/查单 #abc", ["正确格式：/查单"]),
        ("u1", "/售后 T99 已解决", ["客服"]),
        ("s1", "/售后 T99 已解决", ["没有售后工单 T99"]),
    ],
)
async def test_refused_and_unchanged(team: Bot, user: str, text: str, expected: list[str]) -> None:
    await confirmed_order(team)
    await assert_refused(team, user, text, *expected, chat=user if user == "admin" else "g1")


async def test_shipping_more_than_stock(team: Bot) -> None:
    await team.text("w1", "/入库 A100 5", chat="wh")
    await confirmed_order(team)
    await assert_refused(team, "w1", "/发货 #1", "#1", "库存只有 5", "不够发 10")
    assert "第1批已发货" in await team.text("w1", "/发货 #1 A100 5")


async def test_cancel_after_shipment_refused(team: Bot) -> None:
    await confirmed_order(team)
    await team.text("w1", "/发货 #1 A100 2")
    await assert_refused(team, "m1", "/作废 #1 客户不要了", "#1", "已有发货或回款", "/关闭")


async def test_cancel_after_payment_refused(team: Bot) -> None:
    await confirmed_order(team)
    await team.text("f1", "/回款 #1 100")
    await assert_refused(team, "m1", "/作废 #1 客户不要了", "已有发货或回款")


async def test_no_shipping_or_payment_on_hold(team: Bot) -> None:
    await confirmed_order(team)
    assert "挂起" in await team.text("m1", "/挂起 #1 客户资金紧张")
    await assert_refused(team, "w1", "/发货 #1", "#1", "挂起", "不能/发货")
    await assert_refused(team, "f1", "/回款 #1 100", "#1", "挂起")
    assert "已确认" in await team.text("m1", "/恢复 #1")


async def test_overpayment_then_exact_balance(team: Bot) -> None:
    await confirmed_order(team)
    await assert_refused(team, "f1", "/回款 #1 3000.01", "超过待收余额 ¥3,000")
    assert "待收 ¥0" in await team.text("f1", "/回款 #1 3000")


async def test_close_writes_off_and_reopen_restores(team: Bot) -> None:
    await confirmed_order(team)
    await team.text("f1", "/回款 #1 1000")
    assert "已关闭" in await team.text("m1", "/关闭 #1 客户只要一部分")
    order = await team.api("/orders/1")
    assert order["state"] == "CLOSED" and order["balance"] == "0.00"
    assert "已确认" in await team.text("admin", "/重开 #1 误关", chat="admin")
    assert (await team.api("/orders/1"))["balance"] == "2000.00"


async def test_owner_cancels_draft_and_admin_reopens(team: Bot) -> None:
    assert "草稿" in await team.text("u1", "/下单 华为 A100×10")
    assert "已作废" in await team.text("u1", "/作废 #1 重复了")
    assert "草稿" in await team.text("admin", "/重开 #1 不是重复", chat="admin")


async def test_withdraw_only_before_any_approval(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×500@300 交期12-15")  # manager then boss
    assert "草稿" in await team.text("u1", "/撤回 #1")
    cards = [m for m in await team.sent("m1") if m["card"]]
    assert cards[-1]["card"]["closed"] is True
    await team.text("u1", "/提交 #1")
    assert "等待老板审批" in await team.text("m1", "/审批 #1 通过", chat="m1")
    await assert_refused(team, "u1", "/撤回 #1", "#1", "已有人审批通过")


async def test_help_for_an_order_lists_only_my_actions(team: Bot) -> None:
    await confirmed_order(team)
    reply = await team.text("w1", "/帮助 #1")
    assert "/发货 #1" in reply and "/回款" not in reply
    reply = await team.text("u1", "/帮助 #1")
    assert "/变更 #1" in reply and "/发货" not in reply


async def test_admin_names_someone_who_has_not_spoken(team: Bot) -> None:
    assert "主管" in await team.text("admin", "/角色 local:m9 主管", chat="admin")
    await team.text("u1", "/下单 华为 A100×50@300 交期12-15")
    assert [m for m in await team.sent("m9") if m["card"]], "the new 主管 gets the approval card"


async def test_same_product_twice_in_one_shipment_counts_once(team: Bot) -> None:
    await confirmed_order(team)  # A100 × 10
    await assert_refused(team, "w1", "/发货 #1 A100 6 A100 6", "#1", "只剩 10 未发", "不能发 12")
    assert "第1批已发货" in await team.text("w1", "/发货 #1 A100 5 A100 5")
    assert (await team.api("/orders/1"))["lines"][0]["shipped_qty"] == "10"


async def test_same_product_twice_in_one_order_is_refused(team: Bot) -> None:
    await assert_refused(team, "u1", "/下单 华为 XYZ×20@300 XYZ×5@200 交期12-15", "XYZ", "两次")


async def test_amounts_beyond_a_ledger_are_refused(team: Bot) -> None:
    await assert_refused(team, "u1", "/下单 华为 A100×99999999@99999999 交期12-15", "太大")


async def test_stock_in_never_guesses_a_product(team: Bot) -> None:
    await team.text("w1", "/入库 A100 5", chat="wh")
    assert "新产品已建档" in await team.text("w1", "/入库 A1 7", chat="wh")
    assert "A100：5" in await team.text("w1", "/库存 A100", chat="wh")


async def test_admin_stands_in_only_for_a_vacant_role(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×500@300 交期12-15")  # 主管 then 老板; both roles are held
    await assert_refused(team, "admin", "/审批 #1 通过", "#1", "目前由 王经理 担任主管", chat="admin")
    await assert_refused(team, "admin", "/审批 #1 驳回 太贵", "#1", "目前由 王经理 担任主管", chat="admin")


async def test_help_for_an_order_offers_approval_only_to_who_decides_now(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×500@300 交期12-15")  # 主管 then 老板
    assert "/审批" in await team.text("m1", "/帮助 #1", chat="m1")
    assert "/审批" not in await team.text("b1", "/帮助 #1", chat="b1")  # the 老板 step is not open yet
    assert "/审批" not in await team.text("u1", "/帮助 #1")  # nobody approves their own order
