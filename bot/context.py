"""The context a handler receives: who, where, the clock, replies and notifications.

Passed explicitly (no contextvars). Replies and notifications go into the event's
:class:`storage.outgoing.Outbox` (``ctx.reply``, ``ctx.send``, ``ctx.update_card`` are thin
calls on it) and are written with the commit of the handler's change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from bot.config import Settings
from bot.events import CardAction, ChatMessage, ChatRef
from bot.outbound import Message, MessageKind
from storage import inbox
from storage.db import Database, UnitOfWork
from storage.outgoing import Outbox, Target
from storage.services.base import Provenance, Rules


class CommandInfo(Protocol):
    """A registered command as help and suggestions see it (``bot.routing.CommandSpec`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...
    @property
    def roles(self) -> frozenset[str] | None: ...
    @property
    def usage(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def example(self) -> str: ...


class DispatcherLike(Protocol):
    """What a context, its handler and a directory handler may use of the dispatcher (``bot.dispatch``).

    A protocol, so that this module (and ``bot.routing``) need not import the dispatcher that imports them.
    """

    @property
    def db(self) -> Database: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def instance_id(self) -> str:
        """Who holds this instance's inbox leases."""
    @property
    def specs(self) -> Sequence[CommandInfo]: ...
    @property
    def by_name(self) -> Mapping[str, CommandInfo]: ...
    @property
    def board_link(self) -> Callable[[str, str], Awaitable[tuple[str, datetime]]] | None: ...
    @property
    def statement_link(self) -> Callable[[str, str, int, date, date], Awaitable[tuple[str, datetime]]] | None: ...
    @property
    def quote_link(self) -> Callable[[int, date], Awaitable[tuple[str, datetime]]] | None: ...

    def wake_sender(self) -> None:
        """Tell the outbox sender there is work."""


@dataclass(frozen=True)
class PersonInfo:
    """The registered person behind an actor."""

    id: int
    platform: str
    user_id: str
    name: str
    roles: frozenset[str]


@dataclass
class Context:
    """Everything a handler may use; one per inbound event."""

    inbound: ChatMessage | CardAction
    person: PersonInfo
    settings: Settings
    db: Database
    clock: Callable[[], datetime]
    dispatcher: DispatcherLike
    replies: list[Message] = field(default_factory=list)
    #: notifications and card updates for the next commit (replies join them when it writes)
    outbox: Outbox = field(default_factory=Outbox)
    _flushed_replies: int = 0
    #: replies written by a commit that held (the rest may describe work a failed transaction undid)
    _committed_replies: int = 0
    inbox_done: bool = False
    #: the inbox row exists (committed before processing); when False the first write transaction
    #: of this event inserts it, so that row, effect and mark commit together
    inbox_recorded: bool = True
    #: the command declared that it changes nothing (see ``CommandSpec.read_only``)
    read_only: bool = False

    # ---- time -------------------------------------------------------------------------
    def now(self) -> datetime:
        """Now, aware, in the business time zone."""
        return self.clock().astimezone(self.settings.tz)

    def today(self) -> date:
        """Today in the business time zone."""
        return self.now().date()

    # ---- who and where ---------------------------------------------------------------
    @property
    def chat(self) -> ChatRef:
        """Where the event came from."""
        return self.inbound.chat

    @property
    def prov(self) -> Provenance:
        """Provenance for audit events."""
        return Provenance(
            person_id=self.person.id, platform=self.person.platform, user_id=self.person.user_id,
            name=self.person.name, roles=self.person.roles, chat_platform=self.chat.platform,
            chat_id=self.chat.chat_id, source="card" if isinstance(self.inbound, CardAction) else "message",
            source_ref=self.inbound.event_id,
        )

    @property
    def rules(self) -> Rules:
        """Approval thresholds."""
        return Rules(self.settings.approval_t1, self.settings.approval_t2)

    # ---- output ----------------------------------------------------------------------
    def reply(self, message: Message | str) -> None:
        """Answer in the chat the event came from."""
        self.replies.append(Message.plain(message) if isinstance(message, str) else message)

    def send(self, platform: str, chat_id: str, chat_type: str, message: Message,
             event_key: str | None = None) -> None:
        """Send to another chat (a notification or a card); written with the next commit."""
        self.outbox.send(Target(platform, chat_id, chat_type), message, event_key)

    def update_card(self, card_key: str, message: Message) -> None:
        """Update every delivered copy of the card ``card_key``, in every chat it went to."""
        self.outbox.update_card(card_key, message)

    def update_cards(self, platform: str, chat_id: str, chat_type: str, message: Message) -> None:
        """Update every copy of ``message.card_key`` delivered to that chat."""
        if message.card_key is not None:
            self.outbox.update_card(message.card_key, message, Target(platform, chat_id, chat_type))

    def uow(self) -> UnitOfWork:
        """A unit of work whose commit also writes this event's outbox rows and marks it done.

        For a read-only command, a reader: replies wait for the dispatcher's closing write.

        An event answered in its own request (the local adapter) is recorded at the end of this
        transaction, so a repeated message id is refused only there and its transaction rolled
        back: the body must do nothing outside the transaction (no HTTP call, no file, no cache
        filled before the commit) that a repeat would then do twice.
        """
        if self.read_only:
            return self.db.reader()
        uow = self.db.uow()
        uow.before_commit.append(self._flush)
        uow.after_commit.append(self._committed)
        # the sender is woken only when a row waits for it (local replies are delivered in the commit)
        uow.after_commit.append(lambda: self.dispatcher.wake_sender() if uow.outbox_pending else None)
        return uow

    async def _flush(self, uow: UnitOfWork) -> None:
        """Last in the transaction: the replies and notifications, and the event's inbox row marked done
        (inserted DONE when it was not recorded before: one statement instead of an insert and an update)."""
        now = self.clock()
        await self._take_pending().write(uow, now)
        if self.inbox_done:
            return
        inbound = self.inbound
        if self.inbox_recorded:
            await inbox.mark_done(uow, inbound.platform, inbound.event_id, now)
        else:
            await inbox.insert_done(uow, inbound.platform, inbound.event_id, inbound.to_dict(), now,
                                    self.dispatcher.instance_id)
        uow.after_commit.append(self._done)  # only once the commit holds

    def _done(self) -> None:
        self.inbox_done = self.inbox_recorded = True

    def _committed(self) -> None:
        self._committed_replies = self._flushed_replies

    def _take_pending(self) -> Outbox:
        """The replies not written yet (merged, first) and the notifications, to write in one commit."""
        taken = Outbox()
        here = Target(self.chat.platform, self.chat.chat_id, self.chat.chat_type)
        for m in merge_replies(self.replies[self._flushed_replies:]):
            taken.send(here, m, reply_to=self.inbound.event_id, reply_hints=self.inbound.reply_hints)
        self._flushed_replies = len(self.replies)
        taken.extend(self.outbox)
        return taken

    @property
    def has_pending(self) -> bool:
        """Whether replies or notifications wait to be written."""
        return len(self.outbox) > 0 or len(self.replies) > self._flushed_replies

    def discard_pending(self) -> None:
        """Forget notifications of a failed transaction (replies stay: they explain the failure)."""
        self.outbox.discard()

    def discard_uncommitted(self) -> None:
        """Forget notifications and every reply no commit has written: after a conflict or an unexpected
        error nothing of the failed transaction happened, so a reply it had prepared ("已新增…") would be
        false next to the error."""
        self.outbox.discard()
        del self.replies[self._committed_replies:]
        self._flushed_replies = self._committed_replies


def merge_replies(messages: list[Message]) -> list[Message]:
    """The text replies of one commit as one message (cards stay apart).

    Some reply channels take exactly one message per inbound event (a WeCom
    AI-bot ``response_url`` answers once), so a warning and the answer written
    together must travel together.
    """
    texts = [m for m in messages if m.card is None]
    if len(texts) < 2:
        return messages
    mentions = tuple(dict.fromkeys(x for m in texts for x in m.mentions))
    kind: MessageKind = "markdown" if any(m.kind == "markdown" for m in texts) else "text"
    merged = Message(kind=kind, text="\n\n".join(m.text for m in texts), mentions=mentions)
    return [merged, *(m for m in messages if m.card is not None)]
