"""People, roles, tenants and chats."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError

from storage.db import UnitOfWork
from storage.models import Chat, ChatSubscription, Person, PersonRole, Tenant
from storage.repos.people import select_by_ref
from storage.vocab import Role

T = TypeVar("T")


async def get_or_create(uow: UnitOfWork, stmt: Select[Any], make: Callable[[], T]) -> tuple[T, bool]:
    """The row ``stmt`` finds, or a new one from ``make``; safe when two transactions race.

    The insert runs in a savepoint: on PostgreSQL the loser of a race waits for the winner's
    commit, fails on the unique key, and then reads the winner's row.
    """
    found = (await uow.session.execute(stmt)).scalar_one_or_none()
    if found is not None:
        return found, False
    try:
        async with uow.session.begin_nested():
            obj = make()
            uow.session.add(obj)
            await uow.session.flush()
        return obj, True
    except IntegrityError:
        return (await uow.session.execute(stmt.execution_options(populate_existing=True))).scalar_one(), False


async def tenant_for(uow: UnitOfWork, platform: str, org_id: str) -> Tenant:
    """The tenant row of a platform organisation, created on first sight."""
    org_id = org_id or platform
    stmt = select(Tenant).where(Tenant.platform == platform, Tenant.org_id == org_id)
    found, _ = await get_or_create(uow, stmt, lambda: Tenant(platform=platform, org_id=org_id, name=org_id))
    return found


async def register(
    uow: UnitOfWork,
    platform: str,
    user_id: str,
    name: str,
    *,
    tenant: str = "",
    default_roles: Iterable[str] = (),
    admins: frozenset[tuple[str, str]] = frozenset(),
) -> Person:
    """Get or create the person; keep their display name fresh; make configured admins admin."""
    ten = await tenant_for(uow, platform, tenant)

    def make() -> Person:
        return Person(platform=platform, user_id=user_id, name=name, tenant_id=ten.id,
                      roles=[PersonRole(role=r) for r in sorted(set(default_roles))])

    person, created = await get_or_create(uow, select_by_ref(platform, user_id), make)
    if not created and name and person.name != name:
        person.name = name
    if not person.active:
        person.active = True
        person.left_at = None
    if (platform, user_id) in admins and Role.ADMIN not in person.role_names:
        person.roles.append(PersonRole(role=Role.ADMIN))
        await uow.session.flush()
    return person


async def set_roles(
    uow: UnitOfWork, person: Person, grant: Iterable[str], revoke: Iterable[str], by: int | None
) -> tuple[frozenset[str], frozenset[str]]:
    """Grant and revoke roles; returns (before, after)."""
    before = person.role_names
    for role in grant:
        if role not in person.role_names:
            person.roles.append(PersonRole(role=role, granted_by=by))
    drop = set(revoke)
    person.roles = [r for r in person.roles if r.role not in drop]
    await uow.session.flush()
    return before, person.role_names


async def find_people(uow: UnitOfWork, ref: str, platform: str | None = None) -> list[Person]:
    """People matching a reference: ``platform:user_id``, a user id, or a name (exact first)."""
    ref = ref.strip().lstrip("@")
    if ":" in ref:
        plat, uid = ref.split(":", 1)
        found_one = await uow.people.by_ref(plat, uid)
        return [found_one] if found_one is not None else []
    stmt = select(Person).where(or_(Person.user_id == ref, Person.name == ref))
    found = list((await uow.session.execute(stmt)).scalars())
    if platform and len(found) > 1:
        same = [p for p in found if p.platform == platform]
        found = same or found
    return found


def is_qualified_id(ref: str) -> bool:
    """``platform:user_id`` (e.g. ``wecom:zhangsan``) rather than a name."""
    platform, sep, user_id = ref.lstrip("@").partition(":")
    return bool(sep and user_id) and platform in ("local", "wecom", "dingtalk")


async def holders_of(uow: UnitOfWork, role: str) -> list[Person]:
    """Active people holding ``role``, stable order."""
    stmt = (
        select(Person)
        .join(PersonRole)
        .where(PersonRole.role == role, Person.active.is_(True))
        .order_by(Person.id)
    )
    return list((await uow.session.execute(stmt)).scalars().unique())


async def person(uow: UnitOfWork, person_id: int) -> Person:
    """Load a person by primary key."""
    return await uow.session.get_one(Person, person_id)


async def chat_for(
    uow: UnitOfWork, platform: str, chat_id: str, chat_type: str = "group", title: str = ""
) -> Chat:
    """The chat row, created on first sight."""
    stmt = select(Chat).where(Chat.platform == platform, Chat.chat_id == chat_id)
    found, created = await get_or_create(
        uow, stmt, lambda: Chat(platform=platform, chat_id=chat_id, chat_type=chat_type, title=title,
                                subscriptions=[]))
    if not created and title and found.title != title:
        found.title = title
    return found


async def subscribed_chats(uow: UnitOfWork, topic: str) -> list[Chat]:
    """Groups that subscribed to a topic."""
    from storage.models import ChatSubscription

    stmt = select(Chat).join(ChatSubscription).where(ChatSubscription.topic == topic).order_by(Chat.id)
    return list((await uow.session.execute(stmt)).scalars().unique())


#: built once: every operation that tells groups runs it (a statement built per call cost more than running it)
_SUBSCRIBERS = (select(ChatSubscription.topic, Chat.platform, Chat.chat_id, Chat.chat_type)
                .join(Chat, Chat.id == ChatSubscription.chat_pk)
                .where(ChatSubscription.topic.in_(bindparam("topics", expanding=True))).order_by(Chat.id))


async def subscribers(uow: UnitOfWork, topics: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
    """The groups subscribed to each of ``topics``, as (platform, chat id, chat type) in chat order.

    One statement for every topic an operation's events name (instead of one, plus the chats'
    subscriptions, per event), and plain rows: nothing for the session to track.
    """
    wanted = sorted(set(topics))
    out: dict[str, list[tuple[str, str, str]]] = {topic: [] for topic in wanted}
    if not wanted:
        return out
    for topic, platform, chat_id, chat_type in (await uow.session.execute(_SUBSCRIBERS, {"topics": wanted})).all():
        out[topic].append((platform, chat_id, chat_type))
    return out


async def count_people(uow: UnitOfWork) -> int:
    """How many people are registered."""
    return int((await uow.session.execute(select(func.count(Person.id)))).scalar_one())


def mark_left(person: Person, now: datetime) -> None:
    """A person left the organisation: keep the row (history), mark inactive."""
    person.active = False
    person.left_at = now
