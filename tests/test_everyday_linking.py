"""Issue 14, item 9: creating a product links the open orders' free-text lines that name its code."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Bot
from tests.test_import_export import do_import, xlsx


async def test_stock_in_links_open_lines_so_shipping_moves_stock(team: Bot) -> None:
    reply = await team.text("u1", "/下单 华为 A100×20@300 B200×5@1200 交期12-15")  # ¥12,000: 主管
    assert "产品 A100、B200 不在产品库" in reply, reply
    assert "已自动确认" in await team.text("u1", "/下单 小米 a100×2@300 交期12-15")
    assert "已自动确认" in await team.text("u1", "/下单 小米 A100×1@300 交期12-15")
    assert "已作废" in await team.text("m1", "/作废 #3 重复")  # a finished order is left as it was
    assert await team.text("w1", "/入库 A100 100", chat="wh") == (
        "A100 入库 100，现有库存 100（新产品已建档）\n订单 #1 #2 里的 A100 已关联到产品库，之后发货会扣库存。")
    assert await team.text("w1", "/入库 A100 5", chat="wh") == "A100 入库 5，现有库存 105"  # exists: nothing to link
    assert "已通过" in await team.text("m1", "/审批 #1 通过", chat="m1")
    assert "第1批已发货" in await team.text("w1", "/发货 #1 A100 8")
    assert "第1批已发货" in await team.text("w1", "/发货 #2")
    # 95 on hand; #1's 12 still to ship are reserved for it
    assert await team.text("w1", "/库存 A100", chat="wh") == "A100：95｜预留 12｜在途 0｜可用 83"
    order = await team.api("/orders/3")
    assert order["state"] == "CANCELLED"
    history = await team.text("u1", "/查单 #1")
    assert "关联产品 A100" in history, history


async def test_product_import_links_open_lines(team: Bot, tmp_path: Path) -> None:
    await team.text("u1", "/下单 华为 B200×5@120 交期12-15")
    products = [["产品编码", "产品名称", "单位", "单价", "底价", "库存"], ["B200", "控制器", "个", 120, None, 30]]
    text, status = await do_import(team.db, "products", xlsx(tmp_path / "p.xlsx", products))
    assert status == 0, text
    assert "第2行：新产品「B200」：订单 #1 里写着它的行已关联到产品库，之后发货会扣库存" in text, text
    assert "第1批已发货" in await team.text("w1", "/发货 #1 B200 2")
    assert (await team.text("w1", "/库存 B200", chat="wh")).startswith("B200(控制器)：28"), "stock moved"
