"""REST API refusals and filters the flows leave out, and the local adapter's transport when the outbox
sender (not the command's own commit) delivers: a card stored, then updated in place."""

from __future__ import annotations

from typing import Any

import pytest

from bot.local import LocalTransport
from bot.outbound import Button, Card, Message
from bot.transport import Delivery
from storage.db import Database
from tests.conftest import Bot

AUTH = {"Authorization": "Bearer test-token"}


async def get(team: Bot, path: str, **params: Any) -> tuple[int, Any]:
    resp = await team.client.get(f"/api/v1{path}", params=params, headers=AUTH)
    return resp.status, await resp.json()


@pytest.mark.parametrize(("params", "error"), [
    ({"page": "x"}, "page and size must be integers"),
    ({"size": "1.5"}, "page and size must be integers"),
    ({"state": "DONE"}, "unknown state 'DONE'"),
    ({"stage": "SHIPPING"}, "unknown stage 'SHIPPING'"),
])
async def test_bad_list_parameters_are_400s(team: Bot, params: dict[str, str], error: str) -> None:
    assert await get(team, "/orders", **params) == (400, {"error": error})


async def test_list_filters_by_customer_and_owner(team: Bot) -> None:
    await team.text("u1", "/下单 华为 A100×10@300 交期12-15")
    await team.text("u2", "/下单 小米 A100×10@300 交期12-15")
    status, body = await get(team, "/orders", customer="小米")
    assert status == 200 and [o["no"] for o in body["items"]] == [2]
    status, body = await get(team, "/orders", customer="1")  # a customer id
    assert [o["customer"]["name"] for o in body["items"]] == ["华为"]
    status, body = await get(team, "/orders", owner="u1")
    assert [o["no"] for o in body["items"]] == [1] and body["total"] == 1
    status, body = await get(team, "/orders", owner="nobody")
    assert body["items"] == [] and body["total"] == 0


@pytest.mark.parametrize("path", ["/orders/99", "/orders/abc", "/orders/99/events", "/orders/x/events"])
async def test_unknown_orders_are_404s(team: Bot, path: str) -> None:
    assert await get(team, path) == (404, {"error": "no such order"})


async def test_local_transport_stores_and_updates_a_card(db: Database) -> None:
    transport = LocalTransport(db)
    assert transport.rate_limit(Delivery(1, "local", "m1", "single", Message.plain("x"))) is None
    card = Card(title="审批 #1", body="¥30,000", buttons=(Button("通过", "ap:1:ok"),))
    ref = await transport.send(Delivery(1, "local", "m1", "single",
                                        Message(kind="text", text="审批", card=card, card_key="approval:1")))
    assert ref is not None and isinstance(ref["local_id"], int)
    closed = Card(title="审批 #1", body="已通过", buttons=(), closed=True)
    done = Message(kind="text", text="已通过", card=closed, card_key="approval:1")
    assert await transport.update_card(Delivery(2, "local", "m1", "single", done, op="update", card_ref=ref)) == ref
    from sqlalchemy import select

    from storage.models import LocalMessage

    async with db.uow() as uow:
        [row] = list((await uow.session.execute(select(LocalMessage))).scalars())
    assert row.id == ref["local_id"] and row.closed and row.message["text"] == "已通过"
    assert row.card_key == "approval:1"
