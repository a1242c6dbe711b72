"""Platform-neutral inbound events: what an adapter hands to the dispatcher.

Adapters translate a platform payload into one of these frozen dataclasses and
nothing more; handlers never see a platform payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

ChatType = Literal["group", "single"]

#: characters no text from outside may carry into storage: C0 controls other than tab and line
#: breaks, DEL, lone surrogates (not encodable as UTF-8) and Unicode non-characters. PostgreSQL
#: refuses U+0000 in text and JSON outright, so an id or a name carrying it would fail every
#: transaction of its event; one character class keeps the scan linear in the input.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
    + "]"
)


def clean_text(value: str) -> str:
    """``value`` without the characters that must never be stored (see ``_UNSAFE``)."""
    return _UNSAFE.sub("", value)


def _clean_json(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if depth > 8:  # adapters build these hints themselves; deeper means something odd: keep as is
        return value
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v, depth + 1) for v in value]
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # ``dataclasses.fields`` builds its tuple anew on every call; every event asks twice (clean, serialise)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data: events and their parts as dicts, containers copied (as ``asdict``)."""
    if is_dataclass(value) and not isinstance(value, type):  # an event's part, or any dataclass (as asdict)
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


class _Cleaned:
    """Mixin: every str field (and every string inside dict fields) is passed through :func:`clean_text`.

    Applied at construction, so whatever adapter built the event (HTTP callback, long
    connection, local adapter, inbox replay), nothing unsafe reaches the database.
    """

    def __post_init__(self) -> None:
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if isinstance(value, str):
                cleaned: Any = clean_text(value)
            elif isinstance(value, dict):
                cleaned = _clean_json(value)
            else:
                continue
            if cleaned != value:
                object.__setattr__(self, name, cleaned)


@dataclass(frozen=True)
class Actor(_Cleaned):
    """The person who sent a message or pressed a button, as the platform names them."""

    platform: str
    user_id: str
    name: str = ""
    #: platform organisation (WeCom corp id, DingTalk corp id, "local")
    tenant: str = ""


@dataclass(frozen=True)
class ChatRef(_Cleaned):
    """Where a message came from and where its replies go.

    For a 1:1 chat ``chat_id`` is the user's id on that platform.
    """

    platform: str
    chat_id: str
    chat_type: ChatType = "group"
    title: str = ""


@dataclass(frozen=True)
class ChatMessage(_Cleaned):
    """A text message typed by a person in a group or a 1:1 chat."""

    platform: str
    event_id: str
    chat: ChatRef
    actor: Actor
    text: str
    mentioned_bot: bool = False
    #: adapter-specific reply hints (e.g. a DingTalk sessionWebhook or a WeCom response_url).
    #: Opaque to handlers; kept so the outbox can answer through the cheapest channel.
    reply_hints: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the inbox table (so a crash can replay the event)."""
        return {"type": "message", **_plain(self)}


@dataclass(frozen=True)
class CardAction(_Cleaned):
    """A press on a card button; ``payload`` is the opaque string the button carried."""

    platform: str
    event_id: str
    chat: ChatRef
    actor: Actor
    payload: str
    #: free text typed with the press (some platforms let a button ask for input)
    text: str = ""
    #: platform card handle so the pressed copy can be updated in place
    card_ref: dict[str, Any] = field(default_factory=dict)
    reply_hints: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the inbox table."""
        return {"type": "action", **_plain(self)}


@dataclass(frozen=True)
class DirectoryEvent(_Cleaned):
    """A platform contact change the product cares about (a person left the organisation)."""

    platform: str
    event_id: str
    kind: Literal["user_left"]
    user_id: str
    tenant: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the inbox table."""
        return {"type": "directory", **_plain(self)}


Inbound = ChatMessage | CardAction | DirectoryEvent


def inbound_from_dict(data: dict[str, Any]) -> Inbound:
    """Rebuild an inbound event from :meth:`to_dict` output (inbox replay)."""
    data = dict(data)
    kind = data.pop("type")
    if kind == "directory":
        return DirectoryEvent(**data)
    data["chat"] = ChatRef(**data["chat"])
    data["actor"] = Actor(**data["actor"])
    if kind == "message":
        return ChatMessage(**data)
    if kind == "action":
        return CardAction(**data)
    raise ValueError(f"unknown inbound type {kind!r}")
