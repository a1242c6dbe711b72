"""Issue 14, items 11 and 12: an order import names every problem in one pass, and one fix for a missing
负责人 column; an imported order's history names the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.db import Database
from tests.conftest import fingerprint
from tests.test_import_export import do_import, setup_catalog, xlsx

HEAD_NO_OWNER: list[Any] = ["订单号", "客户", "产品", "数量", "单价", "交期"]
DUE = "2026-12-15"


async def test_no_owner_column_is_one_message_saying_what_to_do(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    rows = [HEAD_NO_OWNER] + [[f"N-{i}", "华为技术", "A100", 1, 100, DUE] for i in range(1, 13)]
    before = await fingerprint(db)
    path = xlsx(tmp_path / "无负责人.xlsx", rows)
    text, status = await do_import(db, "orders", path)
    assert status == 1
    assert text.splitlines() == [
        "历史订单：共 12 行，新增订单 0，已导入过（跳过）0",
        "错误：",
        "  12 个订单没有负责人（第2、3、4、5、6、7、8、9、10、11…行）：导入时加 --owner 张三（这些订单都归张三），"
        "或在文件里加一列「负责人」（也可叫「业务员」）写上每个订单的负责人",
        "有 1 个错误，整个文件都没有导入（全部改好后重新导入）。",
    ]
    assert await fingerprint(db) == before
    # either fix works
    text, status = await do_import(db, "orders", path, owner="张三")
    assert status == 0 and "新增订单 12" in text, text
    rows = [[*HEAD_NO_OWNER, "业务员"]] + [[f"M-{i}", "小米", "A100", 1, 100, DUE, "张三"] for i in range(1, 3)]
    text, status = await do_import(db, "orders", xlsx(tmp_path / "业务员.xlsx", rows))
    assert status == 0 and "新增订单 2" in text, text


async def test_every_problem_of_every_row_in_one_pass(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    head = [*HEAD_NO_OWNER, "负责人", "状态", "已回款"]
    rows = [
        head,
        # an unknown customer no longer hides the payment that exceeds the amount
        ["P-1", "不存在公司", "A100", 1, 100, DUE, "张三", None, 500],  # 2
        # an unreadable cell on one line no longer hides an unknown owner on the order
        ["P-2", "华为技术", "A100", "abc", 100, DUE, "无名氏", None, None],  # 3
        ["P-2", None, "B200", 1, 100, None, None, None, None],  # 4
        # an unknown owner no longer hides a missing due date
        ["P-3", "华为技术", "A100", 1, 100, None, "无名氏", None, None],  # 5
    ]
    text, status = await do_import(db, "orders", xlsx(tmp_path / "p.xlsx", rows))
    assert status == 1
    assert text.splitlines()[1:] == [
        "错误：",
        "  第2行：客户「不存在公司」不存在：请先导入客户（按名称完全一致匹配）",
        "  第2行：订单「P-1」已回款 500 超过了订单金额 100",
        "  第3行：数量「abc」不是数字",
        "  第3行：负责人「无名氏」找不到：他要先和机器人说过话，或写成 平台:用户ID",
        "  第5行：负责人「无名氏」找不到：他要先和机器人说过话，或写成 平台:用户ID",
        "  第5行：缺少交期",
        "有 6 个错误，整个文件都没有导入（全部改好后重新导入）。",
    ]
    # fixing exactly what was reported is enough: nothing new turns up
    fixed = [
        head,
        ["P-1", "华为技术", "A100", 1, 100, DUE, "张三", None, 50],
        ["P-2", "华为技术", "A100", 2, 100, DUE, "张三", None, None],
        ["P-2", None, "B200", 1, 100, None, None, None, None],
        ["P-3", "华为技术", "A100", 1, 100, DUE, "张三", None, None],
    ]
    text, status = await do_import(db, "orders", xlsx(tmp_path / "p.xlsx", fixed))
    assert status == 0 and "新增订单 3" in text, text
