"""``gendan chat``: one person in one chat of the local adapter, in a terminal.

It shows what that person would see: everything delivered to the chat, and to their own 1:1
chat (approval cards, /看板 and /对账 links), in delivery order, starting with the cards that
are already waiting for them. Card buttons are numbered across the session (``press 1``);
``press <payload>`` (``press ap:3:ok``) still works. Operator-facing, so its own words are English.
"""

from __future__ import annotations

import secrets
from typing import TextIO

from bot.dispatch import Dispatcher
from bot.events import Actor, CardAction, ChatMessage, ChatRef
from bot.local import PLATFORM
from bot.outbound import Message
from bot.sender import OutboxSender
from storage.db import Database
from storage.outbox import delivered


class TerminalChat:
    """Sends lines through the dispatcher and prints what arrives; state is the session's buttons."""

    def __init__(self, db: Database, dispatcher: Dispatcher, sender: OutboxSender, out: TextIO, user: str,
                 name: str = "", chat: str = "") -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.sender = sender
        self.out = out
        self.user = user
        self.chat = chat or user
        self.ref = ChatRef(PLATFORM, self.chat, "single" if self.chat == user else "group")
        self.actor = Actor(PLATFORM, user, name, tenant=PLATFORM)
        #: button number → payload, for ``press N``
        self.buttons: dict[int, str] = {}
        self._seen = 0

    @property
    def chats(self) -> tuple[str, ...]:
        """The chats shown: this one and the person's own 1:1 chat."""
        return (self.chat,) if self.chat == self.user else (self.chat, self.user)

    async def start(self) -> None:
        """The greeting, then the open cards already waiting in these chats."""
        self._print_line(f"跟单助手 terminal chat as {self.user} in {self.chat}. Type /帮助; 'press 1' presses "
                         "button 1 of a card ('press ap:3:ok' also works); Ctrl-D quits.")
        await self.sender.flush()
        async with self.db.reader() as uow:
            rows = await delivered(uow, self.chats)
        waiting = [r for r in rows if r.message.get("card") and not r.closed]
        if waiting:
            self._print_line(f"{len(waiting)} card(s) waiting:")
        for row in waiting:
            self._show(row.chat_id, Message.from_dict(row.message))
        self._seen = max((r.id for r in rows), default=0)

    async def line(self, text: str) -> None:
        """Handle one typed line: a button press or a message; then show what arrived."""
        text = text.strip()
        if not text:
            return
        event: ChatMessage | CardAction
        if text.startswith("press "):
            target, _, rest = text[6:].strip().partition(" ")
            payload = self.buttons.get(int(target), "") if target.isdigit() else target
            if not payload:
                self._print_line(f"no button {target}; the numbers are those shown as [N …]")
                return
            event = CardAction(PLATFORM, "a-" + secrets.token_hex(8), self.ref, self.actor, payload, text=rest)
        else:
            event = ChatMessage(PLATFORM, "m-" + secrets.token_hex(8), self.ref, self.actor, text,
                                mentioned_bot=self.ref.chat_type == "group")
        await self.dispatcher.handle(event)
        await self.show_new()

    async def show_new(self) -> None:
        """Deliver what is queued and print every message these chats received since the last look."""
        await self.sender.flush()
        async with self.db.reader() as uow:
            rows = await delivered(uow, self.chats, self._seen)
        for row in rows:
            self._show(row.chat_id, Message.from_dict(row.message))
            self._seen = row.id

    def _show(self, chat_id: str, message: Message) -> None:
        where = " (1:1)" if chat_id != self.chat else ""
        self._print_line(f"🤖{where} " + message.text.replace("\n", "\n   "))
        if message.card is None or message.card.closed:
            return
        for button in message.card.buttons:
            number = len(self.buttons) + 1
            self.buttons[number] = button.action
            self._print_line(f"   [{number} {button.label}] press {number}   ({button.action})")

    def _print_line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
