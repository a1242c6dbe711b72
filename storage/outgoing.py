"""The outbox API: the one way messages leave.

Every message (a reply, a notification, a card, a card update, a reminder, a digest) is put into
an :class:`Outbox` with :meth:`Outbox.send` or :meth:`Outbox.update_card` and written by
:meth:`Outbox.write` (or :func:`write_all` for a group commit's many) in the unit of work of the
change that caused it, so a row exists iff its change does. ``bot.sender`` delivers the rows.
Nothing else constructs outbox rows (``tests/test_outbox_api.py`` checks it).

The API is platform-neutral: a target is a (platform, chat id, chat type) triple and a message is
anything with ``to_dict()`` and ``card_key`` (``bot.outbound.Message``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, update

from storage.db import UnitOfWork
from storage.models import LocalMessage, OutboxMessage
from storage.models.messaging import OutboxStatus
from storage.outbox import Envelope, card_chats

_OUTBOX_INSERT = insert(cast(Table, OutboxMessage.__table__))
_MAILBOX_INSERT = insert(cast(Table, LocalMessage.__table__))

#: the local adapter's mailbox is a table of this database: its messages are delivered in the
#: transaction that writes them, with no claim, send and settle round trips
LOCAL_PLATFORM = "local"


@dataclass(frozen=True)
class Target:
    """A chat to send to."""

    platform: str
    chat_id: str
    chat_type: str


class Payload(Protocol):
    """What the outbox stores of a message (``bot.outbound.Message`` is one)."""

    @property
    def card_key(self) -> str | None: ...

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the row."""


@dataclass(frozen=True)
class CardUpdate:
    """An update of every copy of a card, whichever chats it went to (resolved when written)."""

    card_key: str
    message: dict[str, Any]


#: a message waiting in an outbox
Outgoing = Envelope | CardUpdate


class Outbox:
    """Messages waiting for the commit of the change that caused them, in the order they were put."""

    def __init__(self) -> None:
        self._items: list[Outgoing] = []

    def send(self, target: Target, message: Payload, key: str | None = None, *, reply_to: str | None = None,
             reply_hints: dict[str, Any] | None = None) -> None:
        """Send ``message`` to ``target``; ``key`` is the notification's idempotency key (recorded with the
        row, so that "told once" checks find it); ``reply_to`` the inbound event this answers."""
        self._items.append(Envelope(target.platform, target.chat_id, target.chat_type, message.to_dict(),
                                    event_key=key, reply_to=reply_to, reply_hints=dict(reply_hints or {}),
                                    card_key=message.card_key))

    def update_card(self, card_key: str, message: Payload, target: Target | None = None) -> None:
        """Replace every delivered copy of the card ``card_key`` with ``message`` (e.g. its decided version):
        in every chat it was sent to, or only in ``target``."""
        if target is None:
            self._items.append(CardUpdate(card_key, message.to_dict()))
        else:
            self._items.append(Envelope(target.platform, target.chat_id, target.chat_type, message.to_dict(),
                                        op="update", card_key=card_key))

    def __len__(self) -> int:
        return len(self._items)

    @property
    def needs_sender(self) -> bool:
        """Whether a row of these waits for the sender once written (local rows are delivered in the commit)."""
        return any(isinstance(i, CardUpdate) or i.platform != LOCAL_PLATFORM for i in self._items)

    @property
    def items(self) -> tuple[Outgoing, ...]:
        """The waiting messages, in order (for a write by someone else, e.g. a group commit)."""
        return tuple(self._items)

    def take(self) -> Outbox:
        """Hand every waiting message over to a new outbox (written by someone else, e.g. a group commit)."""
        taken = Outbox()
        taken._items, self._items = self._items, []
        return taken

    def extend(self, other: Outbox) -> None:
        """Put ``other``'s messages after these (``other`` is left empty)."""
        self._items.extend(other.take()._items)

    def discard(self) -> None:
        """Forget every waiting message (its transaction failed)."""
        self._items = []

    async def write(self, uow: UnitOfWork, now: datetime) -> None:
        """Write the waiting messages in ``uow``, so they exist iff its change does."""
        await write_all(uow, self._items, now)


async def write_all(uow: UnitOfWork, messages: Iterable[Outgoing], now: datetime) -> None:
    """Write ``messages`` (of one outbox or many: a group commit's batch) in ``uow``, in one INSERT.

    Rows for the local adapter are written as SENT and put into its mailbox before the commit;
    every other row waits for the sender, and ``uow.outbox_pending`` tells the caller to wake it.
    """
    envelopes: list[Envelope] = []
    chats: dict[str, list[tuple[str, str, str]]] = {}
    for item in messages:
        if isinstance(item, Envelope):
            envelopes.append(item)
            continue
        if item.card_key not in chats:
            chats[item.card_key] = await card_chats(uow, item.card_key)
        envelopes += [Envelope(p, c, t, item.message, op="update", card_key=item.card_key)
                      for p, c, t in chats[item.card_key]]
    await _enqueue(uow, envelopes, now)


async def _enqueue(uow: UnitOfWork, envelopes: list[Envelope], now: datetime) -> None:
    """Insert the rows in ``uow`` now: one Core INSERT for all of them (no ORM objects, no flush).

    Written as rows rather than ORM objects because every command ends here: the unit of work's
    flush of a reply and its mailbox copy cost more than the rest of a read's own statements.
    """
    if not envelopes:
        return
    uow.writing("outbox rows")
    local: list[Envelope] = []
    rows = []
    for env in envelopes:
        is_local = env.platform == LOCAL_PLATFORM
        rows.append({"platform": env.platform, "chat_id": env.chat_id, "chat_type": env.chat_type, "op": env.op,
                     "message": env.message, "event_key": env.event_key, "reply_to": env.reply_to,
                     "reply_hints": env.reply_hints, "card_key": env.card_key or env.message.get("card_key"),
                     "status": OutboxStatus.SENT if is_local else OutboxStatus.PENDING, "next_attempt_at": now,
                     "created_at": now, "sent_at": now if is_local else None})
        if is_local:
            local.append(env)
        else:
            uow.outbox_pending = True
    await uow.session.execute(_OUTBOX_INSERT, rows)
    if local:
        async def deliver(u: UnitOfWork) -> None:
            await _deliver_local(u, local)

        uow.before_commit.append(deliver)


async def _deliver_local(uow: UnitOfWork, envelopes: list[Envelope]) -> None:
    """Put the local adapter's messages into its mailbox, in order: new ones in one INSERT per run of
    them, an update of a card it holds in place (inserted when the card never arrived there)."""
    pending: list[dict[str, Any]] = []
    for env in envelopes:
        card = env.message.get("card")
        closed = bool(isinstance(card, dict) and card.get("closed"))
        card_key = env.card_key or env.message.get("card_key")
        if env.op == "update" and card_key:
            if pending:  # the card may be one of them
                await uow.session.execute(_MAILBOX_INSERT, pending)
                pending = []
            result = await uow.session.execute(
                update(LocalMessage).where(LocalMessage.chat_id == env.chat_id, LocalMessage.card_key == card_key)
                .values(message=env.message, closed=closed))
            if result.rowcount:  # type: ignore[attr-defined]
                continue  # else the card never arrived here: the decided version takes its place
        pending.append({"chat_id": env.chat_id, "message": env.message, "card_key": card_key, "closed": closed})
    if pending:
        await uow.session.execute(_MAILBOX_INSERT, pending)
