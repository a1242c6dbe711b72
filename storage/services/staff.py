"""When an employee leaves: their open orders go to their manager (or an admin); nothing is orphaned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage.db import UnitOfWork
from storage.domain_events import Reassigned
from storage.models import Customer, Order, Person
from storage.services import people
from storage.services.base import Provenance, audit
from storage.vocab import Role, State

OPEN_STATES = (State.DRAFT, State.PENDING_APPROVAL, State.REJECTED, State.CONFIRMED, State.ON_HOLD)


@dataclass
class Handover:
    """Who left, who takes over, and which orders moved."""

    left: Person
    successor: Person | None
    orders: list[Order]


async def successor_for(uow: UnitOfWork, person: Person) -> Person | None:
    """Their manager if set and active, else the first active 主管, else the first active admin."""
    if person.manager_id is not None:
        manager = await uow.session.get(Person, person.manager_id)
        if manager is not None and manager.active and manager.id != person.id:
            return manager
    for role in (Role.MANAGER, Role.ADMIN):
        for candidate in await people.holders_of(uow, role):
            if candidate.id != person.id:
                return candidate
    return None


async def person_left(uow: UnitOfWork, platform: str, user_id: str, now: datetime
                      ) -> tuple[Handover | None, list[tuple[Order, Reassigned]]]:
    """Mark the person inactive and move their open orders and customers to the successor."""
    person = await uow.people.by_ref(platform, user_id)
    if person is None:
        return None, []
    people.mark_left(person, now)
    successor = await successor_for(uow, person)
    orders = list((await uow.session.execute(
        select(Order).where(Order.owner_id == person.id, Order.state.in_(OPEN_STATES)).order_by(Order.no)
        .with_for_update())).scalars())
    events: list[tuple[Order, Reassigned]] = []
    if successor is None:
        return Handover(person, None, orders), events
    prov = Provenance(person_id=successor.id, platform=platform, user_id="system", name="系统",
                      roles=frozenset(), source="directory", source_ref=f"left:{user_id}")
    for order in orders:
        order.owner_id = successor.id
        order.owner = successor
        order.updated_at = now
        audit(uow, prov, "reassign", order, now, summary=f"{person.label}→{successor.label}",
              before={"owner": person.user_id}, after={"owner": successor.user_id})
        events.append((order, Reassigned(order.id, order.no, leaver=person.label, successor=successor.label)))
    for customer in (await uow.session.execute(select(Customer).where(Customer.owner_id == person.id))).scalars():
        customer.owner_id = successor.id
    return Handover(person, successor, orders), events
