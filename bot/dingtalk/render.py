"""Neutral Message / Card → DingTalk bodies (pure functions).

Three encodings exist and each sender needs its own:

* *webhook bodies* (``{"msgtype": …}``) for a sessionWebhook reply and a custom robot;
  they support real @mentions through ``at.atUserIds`` plus ``@userId`` in the text;
* *msgKey / msgParam* for the robot OpenAPI; it has no ``at`` field, so mentions
  are shown as plain ``@name`` text only;
* *card-platform cardData* for ``GENDAN_DINGTALK_CARD_TEMPLATE_ID``.

Without a template a card becomes an ActionCard whose buttons are links made by the
core's ``link_for(button, delivery)`` (signed approval pages on GENDAN_PUBLIC_URL).

**Template contract** (what the card built in DingTalk's card builder binds to; every
value is a string, as the card platform requires): ``title``, ``body`` (markdown),
``fields`` (markdown lines), ``fields_json`` (``[{"label","value"}]``), ``markdown``
(title + body + fields in one block, for a one-component template), ``closed`` and
``status`` (``"true"``/``"false"``, ``"closed"``/``"open"``), ``buttons``
(``[{"label","action","style"}]`` for a loop component) and ``btn{N}_label`` /
``btn{N}_action`` / ``btn{N}_style`` for N = 1…4 (``""`` when absent). A button's
"回传请求" must send the parameter ``action`` = ``${btnN_action}``; that string is the
CardAction payload on the way back (see ``inbound.click_payload``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

from bot.outbound import Button, Card, Mention, Message
from bot.transport import Delivery

log = logging.getLogger("gendan.dingtalk.render")

LinkFor = Callable[[Button, Delivery], str]

#: sampleActionCard2…5 carry 2 to 5 buttons.
MAX_LINK_BUTTONS = 5
#: Template slots ``btn1_…`` … ``btn4_…`` (always all sent, so an update blanks old buttons).
MAX_TEMPLATE_BUTTONS = 4


def _title(text: str, limit: int = 40) -> str:
    # Markdown titles only show in the notification preview; the first line is the gist.
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = first.lstrip("#").strip()
    return first[:limit] or "通知"


def _mention_ids(message: Message) -> list[str]:
    return [m.user_id for m in message.mentions if m.platform in ("dingtalk", "") and m.user_id]


def _with_mentions(text: str, tokens: list[str]) -> str:
    missing = [t for t in tokens if t not in text]
    return f"{text} {' '.join(missing)}" if missing else text


def with_sender_mention(delivery: Delivery) -> Message:
    """A reply in a group @mentions the person it answers (``at.atUserIds`` and ``@userId`` in the
    text, which DingTalk shows as their name), as the official SDK's ``reply_text`` does; in a busy
    group an unaddressed answer is easily taken for someone else's."""
    message = delivery.message
    hints = delivery.reply_hints
    sender = hints.get("sender_id")
    if delivery.chat_type != "group" or not isinstance(sender, str) or not sender \
            or hints.get("chat_id") != delivery.chat_id or message.card is not None:
        return message
    if any(m.user_id == sender for m in message.mentions):
        return message
    mention = Mention("dingtalk", sender, str(hints.get("sender_name") or ""))
    return dataclasses.replace(message, mentions=(mention, *message.mentions))


def card_markdown(card: Card) -> str:
    """The card as one markdown block: bold title, body, key/value lines, outcome."""
    lines = [f"### {card.title}", "", card.body]
    if card.fields:
        lines.append("")
        lines.extend(f"- **{key}**: {value}" for key, value in card.fields)
    return "\n".join(lines).strip()


def _fields_markdown(card: Card) -> str:
    return "\n".join(f"**{key}**: {value}" for key, value in card.fields)


def _buttons(card: Card, limit: int) -> tuple[Button, ...]:
    if card.closed:
        return ()
    if len(card.buttons) > limit:
        log.warning("card %r has %d buttons; DingTalk shows %d", card.title, len(card.buttons), limit)
    return card.buttons[:limit]


# ---- webhook bodies (sessionWebhook, custom robot) ------------------------------------


def webhook_body(message: Message, delivery: Delivery, link_for: LinkFor | None) -> dict[str, Any]:
    """The ``{"msgtype": …}`` body for a sessionWebhook reply or a custom-robot push."""
    ids = _mention_ids(message)
    at = {"atUserIds": ids, "isAtAll": False}
    if message.card is not None:
        card = message.card
        text = _with_mentions(card_markdown(card), [f"@{i}" for i in ids])
        buttons = _buttons(card, MAX_LINK_BUTTONS) if link_for else ()
        if buttons and link_for is not None:
            action: dict[str, Any] = {"title": card.title, "text": text, "btnOrientation": "0"}
            if len(buttons) == 1:
                action["singleTitle"] = buttons[0].label
                action["singleURL"] = link_for(buttons[0], delivery)
            else:
                action["btns"] = [{"title": b.label, "actionURL": link_for(b, delivery)} for b in buttons]
            # actionCard does not render @mentions, but the ids still notify in most clients.
            return {"msgtype": "actionCard", "actionCard": action, "at": at}
        return {"msgtype": "markdown", "markdown": {"title": card.title, "text": text}, "at": at}
    text = _with_mentions(message.text, [f"@{i}" for i in ids])
    if message.kind == "markdown":
        return {"msgtype": "markdown", "markdown": {"title": _title(message.text), "text": text}, "at": at}
    return {"msgtype": "text", "text": {"content": text}, "at": at}


# ---- robot OpenAPI msgKey / msgParam ---------------------------------------------------


def _display_mentions(message: Message) -> list[str]:
    return [f"@{m.name or m.user_id}" for m in message.mentions if m.user_id]


def openapi_message(
    message: Message, delivery: Delivery, link_for: LinkFor | None
) -> tuple[str, dict[str, str]]:
    """``(msgKey, msgParam)`` for ``groupMessages/send`` and ``oToMessages/batchSend``."""
    shown = _display_mentions(message)
    if message.card is not None:
        card = message.card
        text = _with_mentions(card_markdown(card), shown)
        buttons = _buttons(card, MAX_LINK_BUTTONS) if link_for else ()
        if not buttons or link_for is None:
            return "sampleMarkdown", {"title": card.title, "text": text}
        if len(buttons) == 1:
            return "sampleActionCard", {
                "title": card.title,
                "text": text,
                "singleTitle": buttons[0].label,
                "singleURL": link_for(buttons[0], delivery),
            }
        param = {"title": card.title, "text": text}
        for n, button in enumerate(buttons, start=1):
            param[f"actionTitle{n}"] = button.label
            param[f"actionURL{n}"] = link_for(button, delivery)
        return f"sampleActionCard{len(buttons)}", param
    text = _with_mentions(message.text, shown)
    if message.kind == "markdown":
        return "sampleMarkdown", {"title": _title(message.text), "text": text}
    return "sampleText", {"content": text}


# ---- card platform ---------------------------------------------------------------------


def card_param_map(card: Card) -> dict[str, str]:
    """``cardParamMap`` for our approval template (all values strings; see module docstring)."""
    buttons = _buttons(card, MAX_TEMPLATE_BUTTONS)
    params = {
        "title": card.title,
        "body": card.body,
        "fields": _fields_markdown(card),
        "fields_json": json.dumps([{"label": k, "value": v} for k, v in card.fields], ensure_ascii=False),
        "markdown": card_markdown(card),
        "closed": "true" if card.closed else "false",
        "status": "closed" if card.closed else "open",
        "buttons": json.dumps(
            [{"label": b.label, "action": b.action, "style": b.style} for b in buttons], ensure_ascii=False
        ),
    }
    for n in range(1, MAX_TEMPLATE_BUTTONS + 1):
        button = buttons[n - 1] if n <= len(buttons) else None
        params[f"btn{n}_label"] = button.label if button else ""
        params[f"btn{n}_action"] = button.action if button else ""
        params[f"btn{n}_style"] = button.style if button else ""
    return params


def card_data(card: Card) -> dict[str, Any]:
    """The ``cardData`` object for createAndDeliver and card updates."""
    return {"cardParamMap": card_param_map(card)}
