"""The REST API's models: the OpenAPI document covers every route, docs/api.md's examples validate, real
answers are exactly the models, and the order's one field list agrees with the chat grammar and the tables."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from handlers.args.fields import FIELD_WORDS
from handlers.args.order_fields import LINE_FIELDS, ORDER_FIELDS, order_field
from storage.models import Customer, Order, OrderLine
from tests.conftest import Bot
from web import rest_api
from web.rest_openapi import schema_name
from web.rest_order_input import NewOrder, NewOrderLine, OrderEnvelope, details
from web.rest_reports import CustomerPage, SalesReport, Statement
from web.rest_schemas import EventList, OrderPage, PurchasePage, QuotePage, ShortageList

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "Bearer test-token"}
TODAY = date(2026, 11, 27)


def _models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for op in rest_api.operations():
        for model in [op.body, *(r.model for r in op.responses.values())]:
            if model is not None:
                found[schema_name(model.__name__)] = model
    return found


def _new_order(body: dict[str, Any]) -> NewOrder:
    OrderEnvelope.model_validate(body)
    return NewOrder.model_validate(body, context={"today": TODAY})


async def test_every_route_of_the_api_is_in_the_document(team: Bot) -> None:
    doc = await (await team.client.get("/api/v1/openapi.json")).json()
    routes = {(r.method.lower(), r.resource.canonical) for r in team.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith(rest_api.PREFIX) and r.method != "HEAD"}
    assert routes and {(m, p) for p, ops in doc["paths"].items() for m in ops} == routes
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (method, path)
            for answer in op["responses"].values():
                for media in answer.get("content", {}).values():
                    ref = media["schema"].get("$ref", "")
                    assert not ref or ref.rsplit("/", 1)[1] in doc["components"]["schemas"], ref
    # the names outside tools know
    assert {"Order", "NewOrder", "Quote", "Purchase"} <= set(doc["components"]["schemas"])
    assert doc == rest_api.openapi_document()


def test_the_examples_in_docs_api_md_validate_against_the_models() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    models = _models()
    examples = re.findall(r"<!-- example: (\w+) -->\s*```json\n(.*?)```", text, re.S)
    assert len(examples) >= 3
    for name, body in examples:
        data = json.loads(body)
        if name == "NewOrder":
            _new_order(data)
        else:
            assert models[name].model_validate(data).model_dump(mode="json", by_alias=True) == data, name
    (curl,) = re.findall(r"-d '(\{.*?\})'", text, re.S)
    fields = _new_order(json.loads(curl)).order_fields()
    assert fields.customer == "华为" and fields.lines[0].qty == 20 and fields.due_date == date(2026, 12, 15)


@pytest.mark.parametrize(("body", "problems"), [
    ({"owner": "local:u1", "lines": [{"sku": "A", "qty": "0"}, {"sku": "B", "qty": "x", "unit": "furlong"}]},
     ["lines[0].qty", "lines[1].qty", "lines[1].unit"]),
    ({"owner": "local:u1", "lines": [{"sku": "A", "qty": "1台", "unit": "箱"}]}, ["lines[0].unit"]),
    ({"owner": "local:u1", "customer": "x" * 129, "contact": "y" * 129}, ["customer", "contact"]),
    ({"owner": "local:u1", "lines": [{"sku": "A", "qty": 1}] * 201}, ["lines"]),
    ({"owner": "local:u1"}, ["customer"]),
])
def test_new_order_problems_name_the_fields_of_the_body(body: dict[str, Any], problems: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        _new_order(body)
    found = details(caught.value)
    assert [d["field"] for d in found] == problems and all(d["message"] for d in found)


async def test_real_answers_are_exactly_the_models(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×5@300 交期12-15")
    await team.text("u1", "/报价 小米 A100×10@300")
    answers: list[tuple[str, type[BaseModel]]] = [
        ("/orders", OrderPage), ("/orders/1/events", EventList), ("/quotes", QuotePage), ("/purchases", PurchasePage),
        ("/shortages", ShortageList), ("/customers", CustomerPage), ("/customers/1/statement", Statement),
        ("/reports/sales?group_by=month", SalesReport)]
    for path, model in answers:
        body = await team.api(path)
        assert model.model_validate(body).model_dump(mode="json", by_alias=True) == body, path


def test_the_order_field_list_agrees_with_the_grammar_and_the_tables() -> None:
    for spec in (*ORDER_FIELDS, *LINE_FIELDS):
        if spec.grammar is not None:
            assert set(spec.keywords) == {w for w, f in FIELD_WORDS.items() if f == spec.grammar}, spec.name
        assert spec.label
    # the API's body has exactly the list's fields, and its line exactly the line's
    assert set(NewOrder.model_fields) - {"owner", "external_ref", "text", "lines"} == {f.name for f in ORDER_FIELDS}
    assert set(NewOrderLine.model_fields) == {f.name for f in LINE_FIELDS}
    assert set(OrderEnvelope.model_fields) == set(NewOrder.model_fields)
    columns = {"customer": Customer.__table__.c.name, "payment_terms": Order.__table__.c.payment_terms,
               "contact": Order.__table__.c.contact, "sku": OrderLine.__table__.c.sku,
               "unit": OrderLine.__table__.c.unit}
    for name, column in columns.items():
        assert order_field(name).max_length == column.type.length, name
