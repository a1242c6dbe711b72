"""What ``/metrics`` reads of the database: queue depths and ages (outbox, inbox, due reminders).

One snapshot is a handful of aggregate queries over indexed status columns, read in one
reader transaction at scrape time. Times come back timezone-aware (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.db import UnitOfWork
from storage.models import InboxEvent, OutboxMessage, Reminder
from storage.models.messaging import InboxStatus, OutboxStatus
from storage.vocab import ReminderStatus


@dataclass(frozen=True)
class QueueHealth:
    """Queue depths and the oldest waiting item of each queue, at one moment."""

    #: outbox rows by status (only statuses that have rows)
    outbox: dict[str, int]
    #: when the oldest message still to be delivered (PENDING or SENDING) was written
    oldest_undelivered: datetime | None
    #: inbox events by status, PENDING and FAILED only (only statuses that have rows)
    inbox: dict[str, int]
    #: when the oldest PENDING reminder already due fell due
    oldest_due_reminder: datetime | None


def _aware(at: datetime | None) -> datetime | None:
    """SQLite's aggregates bypass the column type: a naive value is stored UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


async def queue_health(uow: UnitOfWork, now: datetime) -> QueueHealth:
    """The queues at ``now`` (reminders due at ``now`` count as due)."""
    outbox = {status: int(count) for status, count in await uow.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))}
    oldest = (await uow.session.execute(select(func.min(OutboxMessage.created_at)).where(
        OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING))))).scalar_one()
    inbox = {status: int(count) for status, count in await uow.session.execute(
        select(InboxEvent.status, func.count()).where(InboxEvent.status.in_((InboxStatus.PENDING, InboxStatus.FAILED)))
        .group_by(InboxEvent.status))}
    due = (await uow.session.execute(select(func.min(Reminder.due_at)).where(
        Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now))).scalar_one()
    return QueueHealth(outbox, _aware(oldest), inbox, _aware(due))
