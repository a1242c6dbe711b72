"""Platform-neutral inbound events: what an adapter hands to the dispatcher.

Adapters translate a platform payload into one of these frozen dataclasses and
nothing more; handlers never see a platform payload.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChatType = Literal["group", "single"]


@dataclass(frozen=True)
class Actor:
    """The person who sent a message or pressed a button, as the platform names them."""

    platform: str
    user_id: str
    name: str = ""
    #: platform organisation (WeCom corp id, DingTalk corp id, "local")
    tenant: str = ""


@dataclass(frozen=True)
class ChatRef:
    """Where a message came from and where its replies go.

    For a 1:1 chat ``chat_id`` is the user's id on that platform.
    """

    platform: str
    chat_id: str
    chat_type: ChatType = "group"
    title: str = ""


@dataclass(frozen=True)
class ChatMessage:
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
        return {"type": "message", **asdict(self)}


@dataclass(frozen=True)
class CardAction:
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
        return {"type": "action", **asdict(self)}


@dataclass(frozen=True)
class DirectoryEvent:
    """A platform contact change the product cares about (a person left the organisation)."""

    platform: str
    event_id: str
    kind: Literal["user_left"]
    user_id: str
    tenant: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the inbox table."""
        return {"type": "directory", **asdict(self)}


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
