"""Digests: the leading text messages of a rate-limited chat merged into one message that fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from bot.outbound import Mention, Message
from bot.transport import Delivery

#: a digest must fit every platform's message size (WeCom robot markdown takes 4,096 bytes)
DIGEST_MAX_BYTES = 3800

T = TypeVar("T")


def fit_digest(render: Callable[[list[str]], str], texts: list[tuple[T, Delivery]]) -> list[tuple[T, Delivery]]:
    """The longest prefix whose digest (``render`` of its texts) fits the platforms' message size
    (always at least one)."""
    chosen = texts[:1]
    for pair in texts[1:]:
        candidate = [*chosen, pair]
        if len(render([d.message.text for _, d in candidate]).encode()) > DIGEST_MAX_BYTES:
            break
        chosen = candidate
    return chosen


def digest_message(render: Callable[[list[str]], str], messages: list[Message]) -> Message:
    """One markdown message of ``messages``' texts, mentioning everyone they mention."""
    mentions: dict[tuple[str, str], Mention] = {}
    for m in messages:
        for mention in m.mentions:
            mentions[(mention.platform, mention.user_id)] = mention
    return Message(kind="markdown", text=render([m.text for m in messages]), mentions=tuple(mentions.values()))
