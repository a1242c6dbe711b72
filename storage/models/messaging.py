"""The inbox (inbound dedupe and replay), the outbox (durable sends), sent card copies,
the local adapter's mailbox, conversational prompts and key/value settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class InboxStatus(StrEnum):
    """Where an inbound event stands: ``PENDING`` → ``DONE`` / ``FAILED`` (stored as these strings)."""

    PENDING = "PENDING"
    DONE = "DONE"
    #: its handler failed (a contact event), or it expired before it could be processed
    FAILED = "FAILED"


class OutboxStatus(StrEnum):
    """Where an outgoing message stands: ``PENDING`` → ``SENDING`` → ``SENT`` / ``MERGED`` / ``PARKED``."""

    #: waiting for its turn (``next_attempt_at``), the first time or after a failed try
    PENDING = "PENDING"
    #: claimed by a sender (``claimed_by``, under a lease)
    SENDING = "SENDING"
    SENT = "SENT"
    #: delivered inside another row's digest, or replaced by a card's decided version (``merged_into``)
    MERGED = "MERGED"
    #: undeliverable (refused for good, or too many tries); an admin may retry it: ``gendan outbox``
    PARKED = "PARKED"


#: outbox statuses of rows still to be delivered: a chat's later rows wait behind its earliest one
UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
#: outbox statuses of rows that will not be tried again (``sent_at`` set)
SETTLED = (OutboxStatus.SENT, OutboxStatus.MERGED, OutboxStatus.PARKED)


class InboxEvent(Base):
    """An inbound platform event, recorded before the ack; unique per platform event id."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index("ix_inbox_status", "status", "received_at"),
        Index("ix_inbox_lease", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(160))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: an :class:`InboxStatus`
    status: Mapped[str] = mapped_column(String(8), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    #: the instance working on the event, and until when (renewed while it works); see storage.inbox
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message to send (or a card copy to update), written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "platform", "chat_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    chat_type: Mapped[str] = mapped_column(String(8))
    #: send / update
    op: Mapped[str] = mapped_column(String(8), default="send")
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: notification event key; (event_key, platform, chat) is sent once
    event_key: Mapped[str | None] = mapped_column(String(96))
    #: copies of one card share a key so that all can be updated after a decision
    card_key: Mapped[str | None] = mapped_column(String(96), index=True)
    reply_to: Mapped[str | None] = mapped_column(String(160))
    reply_hints: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: an :class:`OutboxStatus`
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the sender holding a SENDING row, and until when (renewed while it sends); see storage.outbox
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    merged_into: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RateSlot(Base):
    """One send counted against a chat's rate limit, shared by every instance (see storage.outbox)."""

    __tablename__ = "rate_slots"
    __table_args__ = (Index("ix_rate_slots_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class SentCard(Base):
    """A delivered card copy and the platform's handle to update it later."""

    __tablename__ = "sent_cards"
    __table_args__ = (Index("ix_sent_cards_key", "card_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_key: Mapped[str] = mapped_column(String(96))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    ref: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LocalMessage(Base):
    """What the bot delivered to a chat of the local adapter (``GET /local/sent``)."""

    __tablename__ = "local_messages"
    __table_args__ = (Index("ix_local_messages_chat", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(128))
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    card_key: Mapped[str | None] = mapped_column(String(96), index=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Prompt(Base):
    """The bot asked a person a question (e.g. a reject reason); their next plain message answers it."""

    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("person_id", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyValue(Base):
    """Small persistent settings (e.g. the generated link-signing key)."""

    __tablename__ = "kv"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
