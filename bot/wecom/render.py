"""Neutral :class:`~bot.outbound.Message` / :class:`~bot.outbound.Card` → WeCom JSON bodies.

Pure functions; no I/O. Field names and limits follow WeCom's docs for the group robot and template cards.
Text is cut to the byte limits WeCom enforces (``45002`` otherwise, a permanent
failure), so a long digest loses its tail rather than the whole message.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bot.outbound import Card, Message

#: ``text.content`` / ``markdown.content`` limit for message/send and webhook text (utf-8 bytes)
MAX_TEXT_BYTES = 2048
#: webhook ``markdown.content`` allows 4096 bytes
MAX_WEBHOOK_MARKDOWN_BYTES = 4096
MAX_BUTTONS = 6
MAX_ROWS = 6
MAX_TITLE_CHARS = 36
MAX_SUBTITLE_CHARS = 112
MAX_TASK_ID_BYTES = 128
#: WeCom button styles are 1..4; 1 is the emphasised (blue) one, 2 the plain one
_STYLE = {"primary": 1, "danger": 2, "default": 2}
#: shown on the greyed-out buttons of a closed card that names no outcome itself
DEFAULT_CLOSED_LABEL = "已处理"


class RenderError(ValueError):
    """The neutral message cannot be expressed as a WeCom body (e.g. duplicate button keys)."""


def truncate_bytes(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes, on a character boundary, marking the cut."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - len("…".encode())].decode("utf-8", errors="ignore") + "…"


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def task_id_for(delivery_id: int, *parts: str) -> str:
    """A ``task_id`` unique per card copy, stable across retries of the same outbox row.

    Stability lets ``enable_duplicate_check`` drop a retried send; the digest of the
    recipient and content keeps ids apart should the outbox ids ever restart.
    Only ``[0-9a-zA-Z_-@]`` is allowed, at most 128 bytes.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
    return f"gd{delivery_id}_{digest}"


def closed_label(card: Card) -> str:
    """Text for the greyed-out button of a closed card: its first button's label, else 已处理."""
    return _cut(card.buttons[0].label, 16) if card.buttons else DEFAULT_CLOSED_LABEL


def render_template_card(card: Card, task_id: str) -> dict[str, Any]:
    """A ``button_interaction`` template card; a closed card gets ``replace_text`` (greyed buttons)."""
    if len(task_id.encode()) > MAX_TASK_ID_BYTES:
        raise RenderError("task_id longer than 128 bytes")
    keys = [b.action for b in card.buttons]
    if len(set(keys)) != len(keys):
        raise RenderError("button actions must be unique within a card")
    if len(card.buttons) > MAX_BUTTONS:
        raise RenderError("WeCom cards take at most 6 buttons")
    rows = card.fields[:MAX_ROWS]
    # Rows beyond the sixth would be dropped by WeCom; keep them in the subtitle.
    extra = "".join(f"\n{k}：{v}" for k, v in card.fields[MAX_ROWS:])
    body: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": _cut(card.title, MAX_TITLE_CHARS)},
        "task_id": task_id,
    }
    subtitle = (card.body + extra).strip()
    if subtitle:
        body["sub_title_text"] = _cut(subtitle, MAX_SUBTITLE_CHARS)
    if rows:
        body["horizontal_content_list"] = [{"keyname": k, "value": v or "-"} for k, v in rows]
    buttons = [{"text": b.label, "style": _STYLE[b.style], "key": b.action} for b in card.buttons]
    if card.closed:
        # button_list is required for this card type; a closed card that has none
        # gets one placeholder, shown greyed out with replace_text.
        label = closed_label(card)
        body["replace_text"] = label
        if not buttons:
            buttons = [{"text": label, "style": 2, "key": f"closed:{task_id}"}]
    elif not buttons:
        raise RenderError("an open WeCom card needs at least one button")
    body["button_list"] = buttons
    return body


def card_as_markdown(card: Card) -> str:
    """A card shown where WeCom takes no interactive card (group webhook, closed-card resend)."""
    lines = [f"**{card.title}**"]
    if card.body:
        lines.append(card.body)
    lines.extend(f"> {k}：{v}" for k, v in card.fields)
    return "\n".join(lines)


def _wecom_mentions(message: Message) -> list[str]:
    return [m.user_id for m in message.mentions if m.platform == "wecom" and m.user_id]


def with_mentions(text: str, message: Message) -> str:
    """Append ``<@userid>`` for each WeCom mention the text does not already carry."""
    tags = [f"<@{uid}>" for uid in _wecom_mentions(message) if f"<@{uid}>" not in text]
    return f"{text}\n{' '.join(tags)}" if tags else text


def app_message(message: Message) -> dict[str, Any]:
    """Body fields for ``message/send`` (1:1 through the app) for a text or markdown message."""
    if message.kind == "markdown":
        return {"msgtype": "markdown", "markdown": {"content": truncate_bytes(message.text, MAX_TEXT_BYTES)}}
    if message.kind == "card" and message.card is not None:
        content = truncate_bytes(card_as_markdown(message.card), MAX_TEXT_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    return {"msgtype": "text", "text": {"content": truncate_bytes(message.text, MAX_TEXT_BYTES)}}


def webhook_message(message: Message) -> dict[str, Any]:
    """Body for a group 群机器人 webhook; cards become markdown (webhooks take no button cards)."""
    if message.kind == "text":
        body: dict[str, Any] = {"content": truncate_bytes(message.text, MAX_TEXT_BYTES)}
        mentions = _wecom_mentions(message)
        if mentions:
            body["mentioned_list"] = mentions
        return {"msgtype": "text", "text": body}
    text = card_as_markdown(message.card) if message.kind == "card" and message.card else message.text
    content = truncate_bytes(with_mentions(text, message), MAX_WEBHOOK_MARKDOWN_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def aibot_message(message: Message, task_id: str) -> dict[str, Any]:
    """Body for an AI-bot ``response_url``: markdown, or a template card with buttons."""
    if message.kind == "card" and message.card is not None and not message.card.closed:
        return {"msgtype": "template_card", "template_card": render_template_card(message.card, task_id)}
    text = card_as_markdown(message.card) if message.kind == "card" and message.card else message.text
    content = truncate_bytes(with_mentions(text, message), MAX_TEXT_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


#: AI-bot ``stream.content`` limit (official SDK types: at most 20480 utf-8 bytes); also used for
#: ``aibot_send_msg`` markdown, whose own limit no document states
MAX_AIBOT_BYTES = 20480


def _aibot_text(message: Message) -> str:
    text = card_as_markdown(message.card) if message.kind == "card" and message.card else message.text
    return truncate_bytes(with_mentions(text, message), MAX_AIBOT_BYTES)


def ws_reply(message: Message, task_id: str, stream_id: str) -> dict[str, Any]:
    """Body of ``aibot_respond_msg``: a finished ``stream`` (markdown), or a template card with buttons.

    A plain ``markdown`` type is not among the documented reply bodies; one finished
    stream is how the SDKs answer with a complete text.
    """
    if message.kind == "card" and message.card is not None and not message.card.closed:
        return {"msgtype": "template_card", "template_card": render_template_card(message.card, task_id)}
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": _aibot_text(message)}}


def ws_welcome(message: Message) -> dict[str, Any]:
    """Body of ``aibot_respond_welcome_msg`` (text is the documented welcome type)."""
    return {"msgtype": "text", "text": {"content": truncate_bytes(message.text, MAX_AIBOT_BYTES)}}


def ws_push(chat_id: str, message: Message, task_id: str) -> dict[str, Any]:
    """Body of ``aibot_send_msg`` (proactive): markdown or a template card; ``chatid`` is the userid for 1:1."""
    if message.kind == "card" and message.card is not None and not message.card.closed:
        return {"chatid": chat_id, "msgtype": "template_card",
                "template_card": render_template_card(message.card, task_id)}
    return {"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": _aibot_text(message)}}


def ws_card_update(card: Card, task_id: str, userid: str) -> dict[str, Any]:
    """Body of ``aibot_respond_update_msg``: the pressing user's copy replaced (same ``task_id``)."""
    body: dict[str, Any] = {"response_type": "update_template_card",
                            "template_card": render_template_card(card, task_id)}
    if userid:
        body["userids"] = [userid]
    return body
