"""``changes._proposed``: the content after a change and its diff, without a database (the pure part of
the change chain; mutation testing runs it for every mutant of changes.py's pure functions)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from storage import lifecycle
from storage.models import Order, OrderLine
from storage.services.changes import ChangeInput, LineChange, _proposed

D = Decimal


def order() -> Order:
    return Order(no=1, customer_id=None, due_date=date(2026, 12, 15), payment_terms="月结30天", note=None,
                 address="深圳", contact=None, amount=D("3500.00"),
                 lines=[OrderLine(line_no=1, sku="A100", name="", qty=D("10.000"), unit=None, unit_price=D("300.00"),
                                  shipped_qty=D("4.000")),
                        OrderLine(line_no=2, sku="B200", name="", qty=D("5.000"), unit=None, unit_price=None,
                                  shipped_qty=D(0))])


def test_quantity_and_price_changes_with_their_diff() -> None:
    after, diff = _proposed(order(), ChangeInput(lines=(LineChange("a100", qty=D("20.0"), unit_price=D("350.50")),)))
    assert set(after) == {"customer_id", "customer", "due_date", "payment_terms", "note", "address", "contact",
                          "amount", "lines"}
    assert diff == [
        {"field": "qty", "sku": "A100", "before": "10", "after": "20", "controlled": True},
        {"field": "unit_price", "sku": "A100", "before": "300.00", "after": "350.50", "controlled": True},
    ]
    assert after["lines"][0]["qty"] == "20" and after["lines"][0]["unit_price"] == "350.50"
    assert after["amount"] == "7010.00"  # 20 × 350.50; the unpriced line counts as nothing


def test_fields_and_what_needs_approval() -> None:
    after, diff = _proposed(order(), ChangeInput(due_date=date(2026, 12, 20), note="加急", address="深圳"))
    assert diff == [
        {"field": "due_date", "before": "2026-12-15", "after": "2026-12-20", "controlled": True},
        {"field": "note", "before": None, "after": "加急", "controlled": False},
    ]  # the same address is no change
    assert after["due_date"] == "2026-12-20" and after["amount"] == "3000.00"
    assert _proposed(order(), ChangeInput(lines=(LineChange("A100", qty=D(10)),)))[1] == []


def test_no_such_line() -> None:
    with pytest.raises(lifecycle.Refused) as exc:
        _proposed(order(), ChangeInput(lines=(LineChange("Z999", qty=D(1)),)))
    assert (exc.value.code, exc.value.params) == ("no_such_line", {"sku": "Z999"})


def test_never_below_what_was_shipped() -> None:
    after, _ = _proposed(order(), ChangeInput(lines=(LineChange("A100", qty=D(4)),)))  # exactly what was shipped
    assert after["lines"][0]["qty"] == "4"
    with pytest.raises(lifecycle.Refused) as exc:
        _proposed(order(), ChangeInput(lines=(LineChange("A100", qty=D("3.5")),)))
    assert (exc.value.code, exc.value.params) == ("qty_below_shipped", {"sku": "A100", "shipped": "4"})
