"""The catalogue's units (``樘``, ``箱`` …), kept in process: every /下单, /发货 … parses with them.

Reading them took a transaction of its own before each such command. A change of products
committed by this process moves ``catalog_version`` and so is seen by the very next command;
one made by another process (a second instance, ``gendan import products``) within
``UNITS_TTL`` seconds, as for the identity cache (``bot/identity.py``).
"""

from __future__ import annotations

import time
from weakref import WeakKeyDictionary

from storage.db import Database
from storage.repos.catalog import catalog_version

#: how long another process's change of the catalogue's units may go unseen here (seconds)
UNITS_TTL = 5.0

#: database → (catalogue version, monotonic time, units)
_cache: WeakKeyDictionary[Database, tuple[int, float, tuple[str, ...]]] = WeakKeyDictionary()


async def units(db: Database) -> tuple[str, ...]:
    """The units the products are sold in, from a recent read if nothing changed since."""
    version = catalog_version()
    hit = _cache.get(db)
    if hit is not None and hit[0] == version and time.monotonic() - hit[1] <= UNITS_TTL:
        return hit[2]
    async with db.reader() as uow:
        found = tuple(await uow.catalog.units())
    # stamped with the version read before the reader: a change committed meanwhile makes it stale at once
    _cache[db] = (version, time.monotonic(), found)
    return found
