"""Approval steps and change requests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class ApprovalRepository:
    """Approval steps and change requests, read and written through one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
