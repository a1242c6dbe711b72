"""Tenants (platform organisations), people and their roles, chats and subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, UTCDateTime, utcnow


class Tenant(Base):
    """A platform organisation this deployment serves (a WeCom corp, a DingTalk org, or ``local``)."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("platform", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Person(Base):
    """Somebody who spoke to the bot (registered the first time they speak)."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64), default="")
    #: who this person reports to (escalations, reassignment when they leave)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    roles: Mapped[list[PersonRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="person"
    )

    @property
    def role_names(self) -> frozenset[str]:
        """The person's role values (``sales``, ``manager`` …)."""
        return frozenset(r.role for r in self.roles)

    @property
    def label(self) -> str:
        """A display name: the name when known, else the user id."""
        return self.name or self.user_id


class PersonRole(Base):
    """One role held by one person."""

    __tablename__ = "person_roles"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_by: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    person: Mapped[Person] = relationship(back_populates="roles")


class Chat(Base):
    """A group or 1:1 chat the bot has seen, with its bound push robot and subscriptions."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    chat_type: Mapped[str] = mapped_column(String(8), default="group")
    title: Mapped[str] = mapped_column(String(128), default="")
    #: a group push robot bound with /绑定 (a secret: never echoed in full)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    subscriptions: Mapped[list[ChatSubscription]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="chat"
    )

    @property
    def topics(self) -> frozenset[str]:
        """Notification topics this chat subscribed to."""
        return frozenset(s.topic for s in self.subscriptions)


class ChatSubscription(Base):
    """A notification topic (新订单 审批 生产 发货 回款 逾期 售后 日报) a group receives."""

    __tablename__ = "chat_subscriptions"
    # every notification looks up the groups of its topics: by topic, not by the primary key's chat first
    __table_args__ = (Index("ix_chat_subscriptions_topic", "topic", "chat_pk"),)

    chat_pk: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(16), primary_key=True)

    chat: Mapped[Chat] = relationship(back_populates="subscriptions")
