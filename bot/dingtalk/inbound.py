"""DingTalk payloads → neutral inbound events (pure functions, no I/O).

The robot message JSON is the same in HTTP and Stream mode,
and a card click is the same JSON in a Stream frame's ``data`` and (presumably)
in an HTTP card callback, so a future Stream connection feeds these functions
unchanged. Unknown keys are ignored; missing essential keys raise
:class:`PayloadError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bot.events import Actor, CardAction, ChatMessage, ChatRef, DirectoryEvent

PLATFORM = "dingtalk"
#: Card open-space ids look like ``dtv1.card//IM_GROUP.<openConversationId>``.
_SPACE_PREFIX = "dtv1.card//"


class PayloadError(ValueError):
    """A payload that lacks what we need to act on it (answered 400, nothing submitted)."""


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PayloadError(f"{key} has the wrong type")


def _required(data: Mapping[str, Any], key: str) -> str:
    value = _str(data, key)
    if not value:
        raise PayloadError(f"missing {key}")
    return value


def _message_text(body: Mapping[str, Any]) -> str:
    msgtype = body.get("msgtype")
    if msgtype == "text":
        text = body.get("text")
        return _str(text, "content") if isinstance(text, Mapping) else ""
    content = body.get("content")
    if msgtype == "richText" and isinstance(content, Mapping):
        parts = content.get("richText")
        if isinstance(parts, list):
            return "".join(
                p["text"] for p in parts if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            )
    # Pictures, audio, files: no text; the dispatcher answers with its hint.
    return ""


def message_from_robot(body: Mapping[str, Any]) -> ChatMessage:
    """Translate one robot message (HTTP callback body or Stream ``data``) into a ChatMessage.

    ``senderStaffId`` is the corp userId; it is empty for outside users and before
    the robot is published, so ``senderId`` is the fallback. For a 1:1 chat the
    chat id is that same user id (the OpenAPI sends 1:1 messages by userId).
    """
    if not isinstance(body, Mapping):
        raise PayloadError("body is not an object")
    msg_id = _required(body, "msgId")
    user_id = _str(body, "senderStaffId") or _required(body, "senderId")
    is_group = _str(body, "conversationType") == "2"
    conversation_id = _str(body, "conversationId")
    if is_group and not conversation_id:
        raise PayloadError("missing conversationId")
    chat = ChatRef(
        platform=PLATFORM,
        chat_id=conversation_id if is_group else user_id,
        chat_type="group" if is_group else "single",
        title=_str(body, "conversationTitle"),
    )
    actor = Actor(
        platform=PLATFORM,
        user_id=user_id,
        name=_str(body, "senderNick"),
        # The sender's own corp: for outside members of an external group it differs
        # from the robot's corp, and their staff id only means something in it.
        tenant=_str(body, "senderCorpId") or _str(body, "chatbotCorpId"),
    )
    expires = _str(body, "sessionWebhookExpiredTime")
    hints: dict[str, Any] = {
        "session_webhook": _str(body, "sessionWebhook"),
        "session_webhook_expires_ms": int(expires) if expires.isdigit() else 0,
        "conversation_id": conversation_id,
        "robot_code": _str(body, "robotCode"),
        # Lets the transport use the sessionWebhook only for replies to this same chat.
        "chat_id": chat.chat_id,
        # A reply in a group @mentions the sender, as the official SDK's reply_text does.
        "sender_id": user_id,
        "sender_name": actor.name,
    }
    return ChatMessage(
        platform=PLATFORM,
        event_id=msg_id,
        chat=chat,
        actor=actor,
        # DingTalk removes the "@robot" text but leaves the space before it.
        text=_message_text(body).strip(),
        # In a group the robot only receives messages that @mention it.
        mentioned_bot=is_group,
        reply_hints=hints,
    )


def _decode_json_field(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value:
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            raise PayloadError("card callback content is not JSON") from exc
        if isinstance(decoded, Mapping):
            return decoded
    return {}


def click_payload(data: Mapping[str, Any]) -> tuple[str, str]:
    """The (payload, typed text) of a card click: ``params.action``, else the first actionId.

    Our card data binds each button's callback parameter ``action`` to the packed
    :class:`~bot.outbound.ActionData` string (see ``render.card_data``); templates
    whose buttons only carry an action id still work when that id is the payload.
    """
    # Newer payloads put the click in ``content``, older ones in ``value``.
    content = _decode_json_field(data.get("content")) or _decode_json_field(data.get("value"))
    private = content.get("cardPrivateData")
    private = private if isinstance(private, Mapping) else {}
    params = private.get("params")
    params = params if isinstance(params, Mapping) else {}
    payload = params.get("action") or params.get("payload")
    if not payload:
        ids = private.get("actionIds")
        payload = ids[0] if isinstance(ids, list) and ids else None
    if not isinstance(payload, str) or not payload:
        raise PayloadError("card click carries no action")
    text = params.get("reason") or params.get("text") or ""
    return payload, text if isinstance(text, str) else ""


def action_from_card_callback(data: Mapping[str, Any], *, event_id: str | None = None) -> CardAction:
    """Translate a card click (Stream frame ``data`` or HTTP card callback body) into a CardAction.

    ``userId`` is the clicker (userIdType 1: staff id); the core re-checks their
    role, never trusting the button parameters for authorisation. ``event_id``
    defaults to a digest of card, clicker and click content, so a redelivered
    click dedupes; a Stream connection may pass the frame's ``messageId`` instead.
    """
    if not isinstance(data, Mapping):
        raise PayloadError("body is not an object")
    out_track_id = _required(data, "outTrackId")
    user_id = _required(data, "userId")
    payload, text = click_payload(data)
    space_type = _str(data, "spaceType").upper()
    space_id = _str(data, "spaceId")
    if space_id.startswith(_SPACE_PREFIX):
        space_id = space_id[len(_SPACE_PREFIX) :].split(".", 1)[-1]
    if space_type == "IM_GROUP" and space_id:
        chat = ChatRef(platform=PLATFORM, chat_id=space_id, chat_type="group")
    else:
        chat = ChatRef(platform=PLATFORM, chat_id=user_id, chat_type="single")
    if event_id is None:
        digest = hashlib.sha256(f"{out_track_id}\n{user_id}\n{payload}\n{text}".encode()).hexdigest()[:24]
        event_id = f"card:{digest}"
    return CardAction(
        platform=PLATFORM,
        event_id=event_id,
        chat=chat,
        actor=Actor(platform=PLATFORM, user_id=user_id, tenant=_str(data, "corpId")),
        payload=payload,
        text=text.strip(),
        card_ref={"out_track_id": out_track_id},
    )


def event_type(event: Mapping[str, Any]) -> str:
    """The ``EventType`` of a decrypted subscription event (``check_url``, ``user_leave_org`` …)."""
    value = event.get("EventType") if isinstance(event, Mapping) else None
    return value if isinstance(value, str) else ""


def directory_events(event: Mapping[str, Any]) -> list[DirectoryEvent]:
    """``user_leave_org`` → one DirectoryEvent per user; any other event type → ``[]``.

    The event carries no id of its own, so the id is built from the corp, the
    event time and the user: a retried push gives the same id and dedupes.
    """
    if event_type(event) != "user_leave_org":
        return []
    users = event.get("UserId")
    if isinstance(users, str):
        users = [users]
    if not isinstance(users, list):
        raise PayloadError("user_leave_org without UserId")
    corp = _str(event, "CorpId")
    stamp = _str(event, "TimeStamp")
    return [
        DirectoryEvent(
            platform=PLATFORM,
            event_id=f"user_leave_org:{corp}:{stamp}:{uid}",
            kind="user_left",
            user_id=uid,
            tenant=corp,
        )
        for uid in users
        if isinstance(uid, str) and uid
    ]
