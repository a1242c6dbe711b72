"""People, roles, chats and subscriptions: look-ups by platform reference."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from storage.models import Chat, ChatSubscription, Person


def select_by_ref(platform: str, user_id: str) -> Select[Person]:
    """The one query for "the person ``platform:user_id``" (also the look-up of a get-or-create)."""
    return select(Person).where(Person.platform == platform, Person.user_id == user_id)


#: built once: loader options made per call cost more than the look-up (every /下单 loads its owner so)
_WITH_ROLES = (joinedload(Person.roles),)


class PersonRepository:
    """People, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_ref(self, platform: str, user_id: str) -> Person | None:
        """The person a platform knows as ``user_id`` (``wecom:zhangsan``), or None."""
        return (await self.session.execute(select_by_ref(platform, user_id))).scalar_one_or_none()

    async def by_id(self, person_id: int) -> Person:
        """The person with this primary key (it exists: a row refers to it)."""
        return await self.session.get_one(Person, person_id)

    def held(self, person_id: int) -> Person | None:
        """The person if this session holds them already (no statement), else None."""
        found = self.session.identity_map.get(identity_key(Person, person_id))
        return found if isinstance(found, Person) else None

    async def with_roles(self, person_id: int) -> Person:
        """:meth:`by_id` with the roles joined: one statement instead of two (none if the session holds it)."""
        return await self.session.get_one(Person, person_id, options=_WITH_ROLES)

    @staticmethod
    def subscribe(chat: Chat, topics: Iterable[str]) -> list[str]:
        """Add the topics the chat does not have yet; its topics afterwards, sorted."""
        for topic in topics:
            if topic not in chat.topics:
                chat.subscriptions.append(ChatSubscription(topic=topic))
        return sorted({s.topic for s in chat.subscriptions})

    @staticmethod
    def unsubscribe(chat: Chat, topics: Iterable[str]) -> list[str]:
        """Drop these topics from the chat; its topics afterwards, sorted."""
        drop = set(topics)
        chat.subscriptions = [s for s in chat.subscriptions if s.topic not in drop]
        return sorted({s.topic for s in chat.subscriptions})
