"""Who holds a lease: instance ids, and telling a dead local process's leases from a living one's.

A lease normally runs out 15 s after its holder's last renewal. When the holder was a process
on this machine that no longer exists (kill -9, then a restart), there is nothing to wait
for: its leases are taken over at once. An id names its host by a tag of the host name, the
kernel's boot id and the PID namespace, so a PID is only ever looked up where it means the
same process: another machine, another container or an earlier boot never match, and their
leases simply run out.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Iterable
from functools import cache
from pathlib import Path


@cache
def host_tag() -> str:
    """This machine, boot and PID namespace, as a short readable tag (random where they cannot be read)."""
    name = socket.gethostname()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        pid_ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        boot, pid_ns = secrets.token_hex(8), ""  # no way to tell: never matches another process's tag
    digest = hashlib.sha256(f"{name}\0{boot}\0{pid_ns}".encode()).hexdigest()[:8]
    return f"{name[:10]}.{digest}"


def new_instance_id() -> str:
    """A holder id unique per process start: ``tag:pid:random`` (at most 37 characters)."""
    return f"{host_tag()}:{os.getpid()}:{secrets.token_hex(4)}"


def dead_holders(holders: Iterable[str], me: str) -> set[str]:
    """The holders that were processes of this host tag and no longer exist."""
    tag = host_tag()
    dead = set()
    for holder in holders:
        parts = holder.split(":")
        if holder == me or len(parts) != 3 or parts[0] != tag or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid == os.getpid():
            continue  # our own PID with another id: cannot tell, let the lease run out
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(holder)
        except OSError:
            pass  # exists, another user's: alive
    return dead
