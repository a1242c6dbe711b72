"""This instance's inbox leases: the events it works on, renewed, and the events of dead instances taken over.

Step one's safety net (see ``bot.dispatch``): an event recorded in the inbox is leased to the
instance that received it; while it works the lease is renewed, and when an instance dies its
leases run out and whoever looks next replays the events (``storage/inbox.py`` holds the queries).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot import instances
from bot.events import Inbound
from storage import inbox
from storage.db import Database


class Leases:
    """Which events this instance holds (their leases are renewed) and the take-over of expired ones."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        #: who holds inbox leases: unique per process, so a restarted server is a new holder
        self.instance_id = instances.new_instance_id()
        #: (platform, event id) of the events this instance is processing: their leases are renewed
        self.inflight: set[tuple[str, str]] = set()

    def hold(self, inbound: Inbound) -> tuple[str, str]:
        """Count the event as in flight (its lease is renewed until :meth:`drop`); its key."""
        key = (inbound.platform, inbound.event_id)
        self.inflight.add(key)
        return key

    def drop(self, key: tuple[str, str]) -> None:
        """The event is settled (or left for recovery): stop renewing its lease."""
        self.inflight.discard(key)

    async def renew(self) -> None:
        """Extend the leases of the events in flight."""
        await inbox.renew(self.db, self.instance_id, list(self.inflight), self.clock())

    async def take_over(self, older_than: timedelta, give_up_after: timedelta) -> list[inbox.Replay]:
        """Claim the events whose lease ran out (or whose holder is gone); give up on those too old.

        Events this instance is working on keep a renewed lease and are never taken; those of a
        process of this machine that is gone (killed, then restarted) are taken at once; events
        recorded before leases existed are taken once older than ``older_than``. Events older
        than ``give_up_after`` are marked FAILED instead.
        """
        dead = instances.dead_holders(await inbox.lease_holders(self.db, self.clock()), self.instance_id)
        return await inbox.take_over(self.db, self.instance_id, self.clock(), unleased_after=older_than,
                                     give_up_after=give_up_after, dead=dead)
