"""Import error handling: every problem is reported by row (or for the file) in Chinese, and a file with
any error imports nothing at all (the database fingerprint is unchanged)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from handlers.import_export_cli import run_import
from storage.db import Database
from storage.services.import_report import Kind
from tests.conftest import assert_unchanged, fingerprint
from tests.test_import_export import CUSTOMERS, NOW, PRODUCTS, TZ, csv_file, setup_catalog, xlsx


async def refused(db: Database, kind: Kind, path: Path, *lines: str) -> str:
    """Import ``path``: it must fail with each of ``lines`` in the report and change nothing."""
    before = await fingerprint(db)
    text, status = await run_import(db, kind, path, dry_run=False, now=NOW, tz=TZ, stream=io.StringIO())
    assert status == 1, text
    for line in lines:
        assert line in text, f"{line!r} not in {text!r}"
    await assert_unchanged(db, before, f"import of {path.name}")
    return text


@pytest.mark.parametrize(("rows", "lines"), [
    ([["华" * 129, "王工"]], ["第2行：名称太长（最多 128 个字）"]),
    ([["华为", "王" * 65]], ["第2行：联系人太长（最多 64 个字）"]),
    ([["华为", None, None, None, -5]], ["第2行：信用额度「-5」不能是负数"]),
    ([["华为", None, None, None, 10**12]], ["第2行：信用额度「1000000000000」太大了，请检查"]),
    ([["华为", None, None, None, "9999亿9999万"]], []),  # just under the limit: fine (see below)
    ([[None, "王工", 138]], ["第2行：缺少名称"]),
    ([["华为"], ["小米"], ["华为"]], ["第4行：名称「华为」和第2行重复"]),
], ids=["long-name", "long-contact", "negative", "huge", "largest", "missing-name", "duplicate-name"])
async def test_customer_rows(db: Database, tmp_path: Path, rows: list[list[Any]], lines: list[str]) -> None:
    path = xlsx(tmp_path / "c.xlsx", [CUSTOMERS[0], *rows, CUSTOMERS[1]])
    if not lines:
        text, status = await run_import(db, "customers", path, dry_run=False, now=NOW, tz=TZ, stream=io.StringIO())
        assert status == 0 and "新增 2" in text, text
        return
    await refused(db, "customers", path, *lines, "有 1 个错误，整个文件都没有导入")


@pytest.mark.parametrize(("rows", "lines"), [
    ([["C" * 65, "电缆", "米", 8]], ["第2行：产品编码太长（最多 64 个字）"]),
    ([["C300", "电缆", "米", -8]], ["第2行：单价「-8」不能是负数"]),
    ([["C300", "电缆", "米", "20000亿"]], ["第2行：单价「20000亿」太大了，请检查"]),
    ([[None, "电缆", "米", 8]], ["第2行：缺少产品编码"]),
    ([["C300", "电缆", "米", 8], ["c300", "电缆2", "米", 9]], ["第3行：产品编码「c300」和第2行重复"]),
], ids=["long-sku", "negative-price", "huge-price", "missing-sku", "duplicate-sku-any-case"])
async def test_product_rows(db: Database, tmp_path: Path, rows: list[list[Any]], lines: list[str]) -> None:
    await refused(db, "products", xlsx(tmp_path / "p.xlsx", [PRODUCTS[0], *rows]), *lines)


@pytest.mark.parametrize(("rows", "lines"), [
    ([["H-9", "华为技术", "A100", -1, 100, "2026-12-15"]], ["第2行：数量「-1」"]),
    ([["H-9", "华为技术", "A100", 1, 100, "2026-12-15", None, "张三", "已确认", 0, -5]],
     ["第2行：已回款「-5」不能是负数"]),
    ([["H-9", "华为技术", "A100", 1, 100, "2026-12-15", None, "张三", "已确认", 0, 10**13]],
     ["第2行：已回款「10000000000000」太大了，请检查"]),
    ([["H-9", "不存在的客户", "A100", 1, 100, "2026-12-15", None, "张三"]],
     ["第2行：客户「不存在的客户」不存在：请先导入客户"]),
    ([["H-9", "华为技术", "A100", 1, 100, "2026-12-15", None, "张三", "随便"]], ["第2行：状态「随便」不认识"]),
    ([["H-9", "华为技术", "A100", 1, 100, "2026-12-15", None, "张三", "已确认", 5]],
     ["第2行：已发数量 5 超过了数量 1"]),
], ids=["negative-qty", "negative-paid", "huge-paid", "unknown-customer", "unknown-state", "over-shipped"])
async def test_order_rows(db: Database, tmp_path: Path, rows: list[list[Any]], lines: list[str]) -> None:
    from tests.test_import_export import ORDER_HEAD

    await setup_catalog(db, tmp_path)
    await refused(db, "orders", xlsx(tmp_path / "o.xlsx", [ORDER_HEAD, *rows]), *lines)


async def test_unreadable_xlsx(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    await refused(db, "customers", path, "读不了这个文件：")


async def test_undecodable_csv(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("客户名称\n华为\n".encode() + b"\xff\xfe\xfd\n")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("gb18030")
    await refused(db, "customers", path, "读不了这个文件：")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b",,,\n , ,\n"], ids=["empty", "blank-lines", "blank-cells"])
async def test_empty_file(db: Database, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    await refused(db, "customers", path, "文件里没有表头，也没有数据")


async def test_empty_workbook(db: Database, tmp_path: Path) -> None:
    await refused(db, "products", xlsx(tmp_path / "empty.xlsx", []), "文件里没有表头，也没有数据")


async def test_missing_file(db: Database, tmp_path: Path) -> None:
    await refused(db, "products", tmp_path / "nowhere.csv", "找不到文件")


async def test_a_header_only_file_imports_nothing_without_error(db: Database, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "head.csv", [CUSTOMERS[0]], "utf-8")
    before = await fingerprint(db)
    text, status = await run_import(db, "customers", path, dry_run=False, now=NOW, tz=TZ, stream=io.StringIO())
    assert status == 0 and "共 0 行" in text, text
    await assert_unchanged(db, before)


@pytest.mark.parametrize(("rows", "lines"), [
    ([[None, "华为技术", "A100", 1, 100, "2026-12-15"]], ["第2行：缺少订单号"]),
    ([["H" * 65, "华为技术", "A100", 1, 100, "2026-12-15"]], ["第2行：订单号太长（最多 64 个字）"]),
    ([["H-9", None, "A100", 1, 100, "2026-12-15", None, "张三"]], ["第2行：缺少客户"]),
    ([["H-9", "华为技术", "A100", 1, 100, "2026-12-15", None, "张三"],
      ["H-9", "小米", "B200", 1, 100, "2026-12-15"]], ["第3行：订单「H-9」的客户「小米」和第2行的「华为技术」不一致"]),
    ([["H-9", "华为技术", None, None, None, "2026-12-15", None, "张三"]],
     ["第2行：缺少产品", "第2行：缺少数量", "第2行：缺少单价"]),
    ([["H-9", "华为技术", "A100", 10**7, 10**6, "2026-12-15", None, "张三"]], ["第2行：金额「10000000000000」太大了"]),
    ([["H-9", "华为技术", "A100", 1, 100, "2026-12-15", None, "张三"],
      ["H-9", None, "a100", 2, 100, None]], ["第3行：订单「H-9」里产品「a100」和第2行重复"]),
    ([["H-9", "华为技术", "A100", 1, 100, "2026-12-15", None, "没这人"]], ["第2行：负责人「没这人」找不到"]),
], ids=["no-ref", "long-ref", "no-customer", "conflicting-head", "no-line-fields", "huge-line", "duplicate-line",
        "unknown-owner"])
async def test_more_order_rows(db: Database, tmp_path: Path, rows: list[list[Any]], lines: list[str]) -> None:
    from tests.test_import_export import ORDER_HEAD

    await setup_catalog(db, tmp_path)
    await refused(db, "orders", xlsx(tmp_path / "o.xlsx", [ORDER_HEAD, *rows]), *lines)


async def test_an_order_without_an_owner_takes_the_customers(db: Database, tmp_path: Path) -> None:
    from sqlalchemy import select, update

    from storage.models import Customer, Order, Person
    from tests.test_import_export import ORDER_HEAD

    await setup_catalog(db, tmp_path)
    async with db.uow() as uow:
        u1 = (await uow.session.execute(select(Person))).scalar_one()
        await uow.session.execute(update(Customer).values(owner_id=u1.id))
    path = xlsx(tmp_path / "o.xlsx", [ORDER_HEAD, ["H-9", "华为技术", "A100", 1, 100, "2026-12-15"]])
    text, status = await run_import(db, "orders", path, dry_run=False, now=NOW, tz=TZ, stream=io.StringIO())
    assert status == 0, text
    async with db.uow() as uow:
        order = (await uow.session.execute(select(Order))).scalar_one()
    assert order.owner_id == u1.id and order.state == "CONFIRMED"
    path = xlsx(tmp_path / "o2.xlsx", [ORDER_HEAD, ["H-10", "小米", "A100", 1, 100, "2026-12-15"]])
    async with db.uow() as uow:
        await uow.session.execute(update(Customer).where(Customer.name == "小米").values(owner_id=None))
    await refused(db, "orders", path, "1 个订单没有负责人（第2行）：导入时加 --owner")
