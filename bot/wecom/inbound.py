"""Decrypted WeCom payloads → platform-neutral events (and nothing more).

Two shapes arrive: XML from the self-built app callback and JSON from
the AI bot callback. Anything the product does not act on (images,
``enter_agent``, stream refreshes, feedback …) translates to ``None``: the route
acks it and submits nothing. ``enter_chat`` becomes a message only where a welcome
can answer it (the long connection). A ``voice`` message counts as the text WeCom
recognised in it.

XML is parsed with ``xmltodict`` and ``disable_entities=True`` (expat underneath):
any ``<!ENTITY>`` declaration is refused, so neither XXE nor entity expansion can
happen. The outer POST envelope is attacker-controlled and parsed *before* the
signature check, so the same safe parser is used for it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict

from bot.events import Actor, CardAction, ChatMessage, ChatRef, DirectoryEvent, Inbound

PLATFORM = "wecom"
#: a response_url may be called once within one hour; keep a margin
RESPONSE_URL_TTL = 3600.0 - 60.0
#: leading @mentions before the command; WeCom puts U+2005 (four-per-em space) after
#: a mention, which ``\s`` matches; a slash ends a mention typed without a space
_LEADING_MENTIONS = re.compile(r"^\s*(?:@[^\s/／]+\s*)+")


class MalformedPayload(ValueError):
    """The payload is not the XML/JSON shape WeCom sends."""


def parse_xml(data: str | bytes) -> dict[str, Any]:
    """Parse one ``<xml>…</xml>`` document into a dict, refusing DTDs and entities."""
    try:
        doc = xmltodict.parse(
            data,
            disable_entities=True,
            # xmltodict turns one repeated element into a dict; keep these as lists.
            force_list=("SelectedItem", "OptionId"),
        )
    except (ExpatError, ValueError) as exc:  # ValueError: "entities are disabled"
        raise MalformedPayload(f"malformed XML ({type(exc).__name__})") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise MalformedPayload("missing <xml> root")
    return root


def _text(root: dict[str, Any], key: str) -> str:
    value = root.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedPayload(f"<{key}> is not text")
    return value.strip()


def _required(root: dict[str, Any], key: str) -> str:
    value = _text(root, key)
    if not value:
        raise MalformedPayload(f"<{key}> missing")
    return value


def parse_app_message(plaintext: str, corp_id: str) -> Inbound | None:
    """Translate a decrypted self-built-app XML message or event."""
    root = parse_xml(plaintext)
    msg_type = _required(root, "MsgType").lower()
    user = _text(root, "FromUserName")
    tenant = corp_id or _text(root, "ToUserName")
    if msg_type == "text":
        user = _required(root, "FromUserName")
        # The app only ever receives 1:1 messages, so the chat is the user
        # and every message is addressed to the bot.
        return ChatMessage(
            platform=PLATFORM,
            event_id=_required(root, "MsgId"),
            chat=ChatRef(PLATFORM, user, "single"),
            actor=Actor(PLATFORM, user, tenant=tenant),
            text=_text(root, "Content"),
            mentioned_bot=True,
        )
    if msg_type != "event":
        return None
    event = _text(root, "Event").lower()
    created = _text(root, "CreateTime")
    if event == "template_card_event":
        user = _required(root, "FromUserName")
        key = _required(root, "EventKey")
        task_id = _text(root, "TaskId")
        return CardAction(
            platform=PLATFORM,
            # Events carry no MsgId; the documented dedupe key is user + CreateTime, plus
            # TaskId and EventKey for card clicks.
            event_id=f"card:{user}:{created}:{task_id}:{key}",
            chat=ChatRef(PLATFORM, user, "single"),
            actor=Actor(PLATFORM, user, tenant=tenant),
            payload=key,
            card_ref={
                "channel": "app",
                "response_code": _text(root, "ResponseCode"),
                "task_id": task_id,
                "userid": user,
            },
        )
    if event == "change_contact" and _text(root, "ChangeType") == "delete_user":
        user_id = _required(root, "UserID")
        return DirectoryEvent(
            platform=PLATFORM,
            event_id=f"contact:delete_user:{user_id}:{created}",
            kind="user_left",
            user_id=user_id,
            tenant=tenant,
        )
    return None


def strip_leading_mentions(text: str) -> str:
    """Drop the @mentions in front of a group message (``@跟单助手 /下单 …`` → ``/下单 …``)."""
    return _LEADING_MENTIONS.sub("", text, count=1).strip()


def parse_aibot_message(plaintext: str, corp_id: str, now: float) -> Inbound | None:
    """Translate a decrypted AI-bot JSON message or event; ``now`` stamps the response_url expiry."""
    try:
        data = json.loads(plaintext)
    except ValueError:
        raise MalformedPayload("AI bot payload is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedPayload("AI bot payload is not an object")
    return parse_aibot_payload(data, corp_id, now)


def parse_aibot_payload(data: dict[str, Any], corp_id: str, now: float, *,
                        enter_chat_text: str | None = None) -> Inbound | None:
    """Translate one AI-bot message or event object (the HTTP plaintext, or a long-connection frame body).

    ``enter_chat_text``: what a person opening the bot's 1:1 chat is taken to have typed
    (the long connection answers ``enter_chat`` with a welcome); None ignores the event.
    """
    msg_type = str(data.get("msgtype", ""))
    sender = data.get("from")
    user = str(sender.get("userid", "")) if isinstance(sender, dict) else ""
    msgid = str(data.get("msgid", ""))
    if not msgid or not user:
        if msg_type in ("text", "mixed", "voice", "event"):
            raise MalformedPayload("msgid or from.userid missing")
        return None
    group = data.get("chattype") == "group"
    chat_id = str(data.get("chatid", "")) if group else user
    if not chat_id:
        raise MalformedPayload("group message without chatid")
    chat = ChatRef(PLATFORM, chat_id, "group" if group else "single")
    tenant = (sender.get("corpid") if isinstance(sender, dict) else None) or corp_id
    actor = Actor(PLATFORM, user, tenant=str(tenant))
    hints: dict[str, Any] = {}
    if isinstance(data.get("response_url"), str) and data["response_url"]:
        hints = {"response_url": data["response_url"], "response_url_expires_at": now + RESPONSE_URL_TTL}
    if msg_type in ("text", "mixed", "voice"):
        text = _aibot_text(data)
        return ChatMessage(
            platform=PLATFORM,
            event_id=msgid,
            chat=chat,
            actor=actor,
            # In groups the bot only receives messages that @-mention it, and the
            # mention is part of the content.
            text=strip_leading_mentions(text) if group else text.strip(),
            mentioned_bot=True,
            reply_hints=hints,
        )
    if msg_type != "event":
        return None
    event = data.get("event")
    if not isinstance(event, dict):
        return None
    if event.get("eventtype") == "enter_chat" and enter_chat_text is not None:
        return ChatMessage(platform=PLATFORM, event_id=msgid, chat=chat, actor=actor, text=enter_chat_text,
                           mentioned_bot=True, reply_hints={**hints, "welcome": True})
    if event.get("eventtype") != "template_card_event":
        return None
    click = event.get("template_card_event")
    if not isinstance(click, dict):
        # The SDK's types put event_key/task_id on the event itself; the doc nests them.
        click = event
    if not click.get("event_key"):
        raise MalformedPayload("template_card_event without event_key")
    return CardAction(
        platform=PLATFORM,
        event_id=msgid,
        chat=chat,
        actor=actor,
        payload=str(click["event_key"]),
        # No later-update API exists for AI-bot cards, so no response_code.
        card_ref={"channel": "aibot", "task_id": str(click.get("task_id", ""))},
        reply_hints=hints,
    )


def _aibot_text(data: dict[str, Any]) -> str:
    if data.get("msgtype") in ("text", "voice"):
        # a voice message carries WeCom's recognised text in voice.content: taken as typed
        text = data.get(str(data["msgtype"]))
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str):
            raise MalformedPayload(f"{data['msgtype']}.content missing")
        return content
    # "mixed": text and images interleaved; commands live in the text items.
    mixed = data.get("mixed")
    items = mixed.get("msg_item") if isinstance(mixed, dict) else None
    if not isinstance(items, list):
        raise MalformedPayload("mixed.msg_item missing")
    parts = []
    for item in items:
        if isinstance(item, dict) and item.get("msgtype") == "text":
            text = item.get("text")
            if isinstance(text, dict) and isinstance(text.get("content"), str):
                parts.append(text["content"])
    return "\n".join(parts)
