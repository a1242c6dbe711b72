"""Platform-neutral outbound messages and cards, and typed button payloads.

Handlers decide *what* a message or card shows with these types; each platform
adapter decides *how* it is encoded (``render_card`` in ``bot/wecom`` and
``bot/dingtalk``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal, Self, TypeVar

MessageKind = Literal["text", "markdown", "card"]


@dataclass(frozen=True)
class Button:
    """A card button; ``action`` is an :class:`ActionData` packed string."""

    label: str
    action: str
    #: "primary" for the positive choice, "danger" for the negative one
    style: Literal["primary", "danger", "default"] = "default"


@dataclass(frozen=True)
class Card:
    """An interactive card (e.g. an approval card with 通过 / 驳回)."""

    title: str
    body: str
    buttons: tuple[Button, ...] = ()
    #: a closed card shows its outcome and no longer takes presses
    closed: bool = False
    #: short key/value lines shown as a table where the platform supports it
    fields: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the local adapter's ``Card``)."""
        return {
            "title": self.title,
            "body": self.body,
            "buttons": [{"label": b.label, "action": b.action, "style": b.style} for b in self.buttons],
            "closed": self.closed,
            "fields": [list(f) for f in self.fields],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Card:
        """Inverse of :meth:`to_dict`."""
        return cls(
            title=data["title"],
            body=data["body"],
            buttons=tuple(Button(**b) for b in data.get("buttons", [])),
            closed=bool(data.get("closed", False)),
            fields=tuple((str(k), str(v)) for k, v in data.get("fields", [])),
        )


@dataclass(frozen=True)
class Mention:
    """A person to @mention in a group message."""

    platform: str
    user_id: str
    name: str = ""


@dataclass(frozen=True)
class Message:
    """One message to one chat.

    ``text`` is always a complete plain-text rendering, so a platform or a digest
    that cannot show markdown or cards still shows everything.
    """

    kind: MessageKind
    text: str
    card: Card | None = None
    mentions: tuple[Mention, ...] = ()
    #: groups the copies of one card (e.g. every approver's copy of one approval
    #: step) so that all of them can be updated after a decision
    card_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored in the outbox."""
        return {
            "kind": self.kind,
            "text": self.text,
            "card": self.card.to_dict() if self.card else None,
            "mentions": [asdict(m) for m in self.mentions],
            "card_key": self.card_key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Inverse of :meth:`to_dict`."""
        card = data.get("card")
        return cls(
            kind=data["kind"],
            text=data["text"],
            card=Card.from_dict(card) if card else None,
            mentions=tuple(Mention(**m) for m in data.get("mentions", [])),
            card_key=data.get("card_key"),
        )

    @classmethod
    def plain(cls, text: str, *mentions: Mention) -> Message:
        """A text message."""
        return cls(kind="text", text=text, mentions=tuple(mentions))


class ActionDataError(ValueError):
    """A button payload that does not unpack (forged, truncated or from an old version)."""


A = TypeVar("A", bound="ActionData")


@dataclass(frozen=True)
class ActionData:
    """Base of typed button payloads, packed as ``prefix:field1:field2``.

    Subclasses set ``prefix`` and declare str/int fields. Packing checks that no
    value contains the separator and that the result fits the platforms' limits
    (WeCom ``key`` takes 1024 bytes, DingTalk ``actionId`` less; we keep 64).
    """

    prefix: ClassVar[str]
    SEP: ClassVar[str] = ":"
    MAX_LEN: ClassVar[int] = 64
    #: int fields are database ids: 1 .. the largest 32-bit integer (PostgreSQL ``integer``)
    MAX_INT: ClassVar[int] = 2_147_483_647
    #: str fields that take only known values, e.g. ``{"decision": frozenset({"ok", "no"})}``
    CHOICES: ClassVar[dict[str, frozenset[str]]] = {}

    def pack(self) -> str:
        """Encode as the opaque string a button carries."""
        parts = [self.prefix]
        for f in fields(self):
            value = str(getattr(self, f.name))
            if self.SEP in value:
                raise ActionDataError(f"separator in {f.name}")
            parts.append(value)
        packed = self.SEP.join(parts)
        if len(packed.encode()) > self.MAX_LEN:
            raise ActionDataError("payload too long")
        return packed

    @classmethod
    def matches(cls, packed: str) -> bool:
        """Whether ``packed`` was made by this payload type."""
        return packed.split(cls.SEP, 1)[0] == cls.prefix

    @classmethod
    def unpack(cls, packed: str) -> Self:
        """Decode; raises :class:`ActionDataError` on anything malformed."""
        if len(packed.encode()) > cls.MAX_LEN:
            raise ActionDataError("payload too long")
        parts = packed.split(cls.SEP)
        own = fields(cls)
        if parts[0] != cls.prefix or len(parts) != len(own) + 1:
            raise ActionDataError("wrong payload shape")
        values: dict[str, Any] = {}
        for f, raw in zip(own, parts[1:], strict=True):
            if f.type in ("int", int):
                # str.isdigit() accepts "²" and other Unicode digits that int() then refuses
                if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 0 < int(raw) <= cls.MAX_INT:
                    raise ActionDataError(f"{f.name} is not an id")
                values[f.name] = int(raw)
            else:
                allowed = cls.CHOICES.get(f.name)
                if allowed is not None and raw not in allowed:
                    raise ActionDataError(f"{f.name} is not one of the known values")
                values[f.name] = raw
        return cls(**values)
