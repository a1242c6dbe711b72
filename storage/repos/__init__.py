"""Repositories: every query the layers above ``storage/`` need, reached through the unit of work.

``async with db.uow() as uow: order = await uow.orders.by_no(7)``: one repository per
aggregate, each a thin object over the unit of work's session (made on access, so it costs
nothing to have many). Outside ``storage/`` no module imports SQLAlchemy or touches
``uow.session``; ``tests/test_layering.py`` checks it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repos.activity import ActivityRepository
from storage.repos.agenda import AgendaRepository
from storage.repos.approvals import ApprovalRepository
from storage.repos.catalog import CatalogRepository
from storage.repos.orders import OrderRepository
from storage.repos.pages import PageRepository
from storage.repos.people import PersonRepository
from storage.repos.quotes import QuoteRepository

__all__ = ["Repositories"]


class Repositories:
    """Mixed into ``storage.db.UnitOfWork``: one property per repository."""

    @property
    def session(self) -> AsyncSession:
        raise NotImplementedError

    @property
    def orders(self) -> OrderRepository:
        """Orders: look-ups by number, search with a filter, history, follow-ups."""
        return OrderRepository(self.session)


    @property
    def people(self) -> PersonRepository:
        """People, roles, chats and subscriptions: look-ups by platform reference."""
        return PersonRepository(self.session)


    @property
    def catalog(self) -> CatalogRepository:
        """Customers, products, units and stock."""
        return CatalogRepository(self.session)


    @property
    def activity(self) -> ActivityRepository:
        """Reminders, after-sales tickets and the questions the bot asked (prompts)."""
        return ActivityRepository(self.session)


    @property
    def quotes(self) -> QuoteRepository:
        """Quotations, purchase orders, reservations and shortages."""
        return QuoteRepository(self.session)


    @property
    def approvals(self) -> ApprovalRepository:
        """Approval steps and change requests."""
        return ApprovalRepository(self.session)


    @property
    def agenda(self) -> AgendaRepository:
        """What the scheduler reads: what is due, late, unpaid or waiting, per rule."""
        return AgendaRepository(self.session)


    @property
    def pages(self) -> PageRepository:
        """Read models of the web surface: REST API, dashboard, statements, approval pages."""
        return PageRepository(self.session)
