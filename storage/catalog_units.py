"""The catalogue's units (``樘``, ``箱`` …), kept in process: every /下单, /发货 … parses with them.

Reading them took a transaction of its own before each such command. A change of products
committed by this process moves ``catalog_version`` and so is seen by the very next command;
one made by another process (a second instance, ``gendan import products``) within
``UNITS_TTL`` seconds, as for the identity cache (``bot/identity.py``).
"""

from __future__ import annotations

import re
import time
from weakref import WeakKeyDictionary

from storage.db import Database
from storage.repos.catalog import catalog_version

#: how long another process's change of the catalogue's units may go unseen here (seconds)
UNITS_TTL = 5.0

#: database → (catalogue version, monotonic time, units)
_cache: WeakKeyDictionary[Database, tuple[int, float, tuple[str, ...]]] = WeakKeyDictionary()


#: a word right after a number and not followed by one (``3卡``, ``20kg``; not ``1A2``): perhaps a unit
_AFTER_NUMBER = re.compile(r"\d([^\W\d_]{1,4})(?!\d)")


async def units(db: Database, *, fresh: bool = False) -> tuple[str, ...]:
    """The units the products are sold in, from a recent read if nothing changed since (``fresh``: read now)."""
    version = catalog_version()
    hit = _cache.get(db)
    if not fresh and hit is not None and hit[0] == version and time.monotonic() - hit[1] <= UNITS_TTL:
        return hit[2]
    async with db.reader() as uow:
        found = tuple(await uow.catalog.units())
    # stamped with the version read before the reader: a change committed meanwhile makes it stale at once
    _cache[db] = (version, time.monotonic(), found)
    return found


def is_recent(db: Database, within: float = 0.5) -> bool:
    """Whether the cached units were read from the database in the last ``within`` seconds."""
    hit = _cache.get(db)
    return hit is not None and time.monotonic() - hit[1] <= within


def may_name_unknown_unit(text: str, known: tuple[str, ...]) -> bool:
    """Whether ``text`` has a word right after a number that no known unit begins: perhaps a unit another
    process added within the TTL (a product imported a moment ago). Parsed with stale units, such a line
    would not be refused but read wrongly (``SC-1 3卡`` as a customer's name), so the caller reads the units
    afresh before parsing; a word that is no unit (``12月``) costs that one read, as every command paid before."""
    return any(not any(word.startswith(unit) for unit in known if unit) for word in _AFTER_NUMBER.findall(text))
