"""The local adapter: the same dispatcher, permissions and database over plain JSON on HTTP.

It is how a new user tries the product without a WeCom or DingTalk account,
how ``gendan chat`` talks, and how tests drive it (interfaces.md §5).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.dispatch import Dispatcher
from bot.events import Actor, CardAction, ChatMessage, ChatRef
from bot.outbound import Message
from bot.sender import OutboxSender
from bot.transport import Delivery, RateLimit
from storage import outbox
from storage.db import Database

PLATFORM = "local"


class LocalMessageIn(BaseModel):
    """Body of ``POST /local/message``."""

    user: str = Field(min_length=1, max_length=128)
    name: str = Field(default="", max_length=64)
    chat: str = Field(default="", max_length=128)
    chat_type: str = Field(default="group", pattern="^(group|single)$")
    text: str = Field(max_length=8000)
    msg_id: str | None = Field(default=None, max_length=128)


class LocalActionIn(BaseModel):
    """Body of ``POST /local/action``."""

    user: str = Field(min_length=1, max_length=128)
    name: str = Field(default="", max_length=64)
    chat: str = Field(default="", max_length=128)
    action: str = Field(min_length=1, max_length=256)
    text: str = Field(default="", max_length=2000)


def message_json(chat: str, message: Message, closed: bool | None = None) -> dict[str, Any]:
    """The interface's ``Message`` JSON."""
    card = message.card.to_dict() if message.card else None
    if card is not None and closed is not None:
        card["closed"] = closed or card["closed"]
    return {"chat": chat, "kind": message.kind, "text": message.text, "card": card}


class LocalTransport:
    """Delivers to the ``local_messages`` table."""

    platform = PLATFORM

    def __init__(self, db: Database) -> None:
        self.db = db

    def rate_limit(self, delivery: Delivery) -> RateLimit | None:
        """No limit locally."""
        return None

    async def send(self, delivery: Delivery) -> dict[str, Any] | None:
        """Store the message."""
        row_id = await outbox.store_local(self.db, delivery.chat_id, delivery.message.to_dict(),
                                          delivery.message.card_key,
                                          closed=bool(delivery.message.card and delivery.message.card.closed))
        return {"local_id": row_id}

    async def update_card(self, delivery: Delivery) -> dict[str, Any] | None:
        """Replace the stored card copy in place."""
        assert delivery.card_ref is not None
        await outbox.replace_local(self.db, int(delivery.card_ref["local_id"]), delivery.message.to_dict(),
                                   closed=bool(delivery.message.card and delivery.message.card.closed))
        return delivery.card_ref


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid JSON: {exc}"}),
                                 content_type="application/json") from exc


def _bad(exc: ValidationError) -> web.HTTPBadRequest:
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "error": e["msg"]} for e in exc.errors()]
    return web.HTTPBadRequest(text=json.dumps({"error": "invalid body", "details": errors}, ensure_ascii=False),
                              content_type="application/json")


def setup_routes(app: web.Application, dispatcher: Dispatcher, sender: OutboxSender, db: Database) -> None:
    """Register ``/local/message``, ``/local/action`` and ``/local/sent``."""

    async def post_message(request: web.Request) -> web.Response:
        try:
            body = LocalMessageIn.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise _bad(exc) from exc
        chat = body.chat or body.user
        chat_type = "single" if chat == body.user else body.chat_type
        event = ChatMessage(
            platform=PLATFORM, event_id=body.msg_id or "m-" + secrets.token_hex(8),
            chat=ChatRef(PLATFORM, chat, "group" if chat_type == "group" else "single"),
            actor=Actor(PLATFORM, body.user, body.name, tenant=PLATFORM), text=body.text,
            mentioned_bot="@" in body.text.split("/", 1)[0],
        )
        replies = await dispatcher.handle(event)
        await _deliver(sender)
        return web.json_response({"replies": [message_json(chat, m) for m in replies or []],
                                  "duplicate": replies is None}, dumps=_dumps)

    async def post_action(request: web.Request) -> web.Response:
        try:
            body = LocalActionIn.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise _bad(exc) from exc
        chat = body.chat or body.user
        event = CardAction(
            platform=PLATFORM, event_id="a-" + secrets.token_hex(8),
            chat=ChatRef(PLATFORM, chat, "single" if chat == body.user else "group"),
            actor=Actor(PLATFORM, body.user, body.name, tenant=PLATFORM), payload=body.action, text=body.text,
        )
        replies = await dispatcher.handle(event)
        await _deliver(sender)
        return web.json_response({"replies": [message_json(chat, m) for m in replies or []]}, dumps=_dumps)

    async def get_sent(request: web.Request) -> web.Response:
        chat = request.query.get("chat", "")
        if not chat:
            raise web.HTTPBadRequest(text='{"error": "chat is required"}', content_type="application/json")
        await _deliver(sender)
        rows = await outbox.local_mailbox(db, chat)
        out = [message_json(chat, Message.from_dict(r.message), r.closed) for r in rows]
        return web.json_response({"messages": out}, dumps=_dumps)

    app.router.add_post("/local/message", post_message)
    app.router.add_post("/local/action", post_action)
    app.router.add_get("/local/sent", get_sent)


async def _deliver(sender: OutboxSender) -> None:
    # Local messages are in the mailbox once their command commits. Without a running sender
    # (tests, `gendan chat`) deliver the other platforms' rows now, as a person would expect.
    if not sender.running:
        await sender.flush()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
