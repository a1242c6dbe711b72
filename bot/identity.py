"""Who sent an event: the sender and the chat registered, and recent senders remembered.

Step two of the dispatcher's path (see ``bot.dispatch``): before a context is made, the
event's person is looked up, or registered with their chat in one short write transaction.
"""

from __future__ import annotations

import time

from bot.config import Settings
from bot.context import PersonInfo
from bot.events import CardAction, ChatMessage
from storage.db import Database
from storage.services import people

#: how long another instance's change of roles or people may go unseen here (seconds)
IDENTITY_TTL = 5.0
IDENTITY_CACHE_SIZE = 10_000


class Identities:
    """The person behind each event's sender; one per dispatcher."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        #: identity of recent senders: key → (identity version, monotonic time, person)
        self.cache: dict[tuple[str, ...], tuple[int, float, PersonInfo]] = {}

    async def person(self, inbound: ChatMessage | CardAction) -> PersonInfo:
        """The registered person of the event's sender (registered now, with the chat, if need be)."""
        info = self._known(inbound)
        if info is None:
            info = await self._register(inbound)
        return info

    @staticmethod
    def _key(inbound: ChatMessage | CardAction) -> tuple[str, ...]:
        a, c = inbound.actor, inbound.chat
        return (a.platform, a.user_id, a.name, a.tenant, c.platform, c.chat_id, c.chat_type, c.title)

    def _known(self, inbound: ChatMessage | CardAction) -> PersonInfo | None:
        """The person of a recent event from the same sender in the same chat, if nothing changed since.

        Registration is a write transaction; repeating it for every message of a busy chat
        is what made a read-only /查单 queue behind every writer. A change made in this
        process (roles, names, people who left) moves the database's identity version and so
        empties the cache at once; one made by another instance is seen within the TTL.
        """
        hit = self.cache.get(self._key(inbound))
        if hit is None:
            return None
        version, at, info = hit
        if version != self.db.identity_version or time.monotonic() - at > IDENTITY_TTL:
            return None
        return info

    async def _register(self, inbound: ChatMessage | CardAction) -> PersonInfo:
        actor = inbound.actor
        version = self.db.identity_version
        async with self.db.uow() as uow:
            person = await people.register(
                uow, actor.platform, actor.user_id, actor.name, tenant=actor.tenant,
                default_roles=[r.strip() for r in self.settings.default_roles.split(",") if r.strip()],
                admins=self.settings.admin_ids,
            )
            await people.chat_for(uow, inbound.chat.platform, inbound.chat.chat_id, inbound.chat.chat_type,
                                  inbound.chat.title)
            info = PersonInfo(person.id, person.platform, person.user_id, person.name or actor.name,
                              person.role_names)
        if len(self.cache) >= IDENTITY_CACHE_SIZE:
            self.cache.clear()  # crude, but bounded; a cold entry costs one transaction
        # stamped with the version read *before* the transaction: a change committed meanwhile
        # (this one included) makes the entry stale at once rather than hiding behind it
        self.cache[self._key(inbound)] = (version, time.monotonic(), info)
        return info
