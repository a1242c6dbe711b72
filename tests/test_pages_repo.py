"""``uow.pages``: the web surface's queries and its few writes (external refs, link kv rows)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from storage.conflicts import DuplicateRow
from storage.repos.pages import OrderFilter, Page, QuoteFilter
from tests.conftest import Bot


async def test_searches_page_newest_first_and_count_all(team: Bot) -> None:
    for i in range(3):
        assert "#" in await team.text("u1", f"/下单 华为 A100×{i + 1}@10 交期12-15")
    await team.text("u2", "/下单 小米 B200×1@10 交期12-15")
    async with team.db.reader() as uow:
        rows, total = await uow.pages.search_orders(OrderFilter(), Page(1, 2))
        assert total == 4 and [o.no for o in rows] == [4, 3]
        rows, total = await uow.pages.search_orders(OrderFilter(), Page(2, 3))
        assert total == 4 and [o.no for o in rows] == [1]
        rows, total = await uow.pages.search_orders(OrderFilter(customer="小米"), Page())
        assert total == 1 and rows[0].customer is not None and rows[0].customer.name == "小米"
        rows, total = await uow.pages.search_orders(OrderFilter(owner="u1", state="CONFIRMED"), Page())
        assert total == 3
        # the stage is computed: filtered in SQL (storage.stage_sql), paged all the same
        rows, total = await uow.pages.search_orders(OrderFilter(stage="PREPARING"), Page(1, 1))
        assert total == 4 and [o.no for o in rows] == [4]
        assert (await uow.orders.by_no(2, lock=False)) is not None and await uow.orders.by_no(99, lock=False) is None
        assert (await uow.pages.order_events(rows[0].id))[0].action == "create"
        customers, total = await uow.pages.search_customers("华", Page())
        assert total == 1
        balances = await uow.pages.open_balances([c.id for c in customers] + [999])
        assert balances == {customers[0].id: Decimal("60.00")}
        quotes, total = await uow.pages.search_quotes(QuoteFilter(date(2026, 12, 1), status="EXPIRED"), Page())
        assert (quotes, total) == ([], 0)
        assert (await uow.people.by_ref("local", "u1")) is not None and await uow.people.by_ref("local", "x") is None


async def test_external_ref_and_kv_collisions_are_storage_exceptions(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×1@10 交期12-15")
    await team.text("u1", "/下单 华为 A100×2@10 交期12-15")
    async with team.db.uow() as uow:
        first = await uow.orders.by_no(1, lock=False)
        assert first is not None
        await uow.pages.set_external_ref(first, "REF-1")
    with pytest.raises(DuplicateRow):
        async with team.db.uow() as uow:
            second = await uow.orders.by_no(2, lock=False)
            assert second is not None
            await uow.pages.set_external_ref(second, "REF-1")
    async with team.db.reader() as uow:
        found = await uow.pages.order_by_external_ref("REF-1")
        assert found is not None and found.no == 1

    async with team.db.uow() as uow:
        await uow.pages.add_kv("used-link:a", "000000000010")
        await uow.pages.add_kv("used-link:b", "000000000020")
    with pytest.raises(DuplicateRow):
        async with team.db.uow() as uow:
            await uow.pages.add_kv("used-link:a", "000000000099")
    async with team.db.uow() as uow:
        assert await uow.pages.kv("used-link:a") == "000000000010"
        await uow.pages.prune_kv("used-link:", "000000000015")
    async with team.db.uow() as uow:
        assert await uow.pages.kv("used-link:a") is None and await uow.pages.kv("used-link:b") == "000000000020"
        await uow.pages.delete_kv("used-link:b")
    async with team.db.reader() as uow:
        assert await uow.pages.kv("used-link:b") is None
