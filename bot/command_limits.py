"""Per-person and per-chat command rate limits: a runaway script or a pasted flood meets one
friendly reply, not a queue of work in front of everyone else.

The windows are per instance and in memory (a limit against floods, not an accounting): with
several instances behind a balancer a flood is spread over them and each holds its share.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import Literal

#: at most this many keys are remembered; past it the oldest windows are dropped (a flood of
#: fresh sender ids cannot grow memory without bound)
MAX_KEYS = 20_000
PERIOD = 60.0

Scope = Literal["person", "chat"]


@dataclass(frozen=True)
class Verdict:
    """Over a limit: which one, how long until a slot frees, and whether to say so (once per window)."""

    scope: Scope
    limit: int
    wait: int
    tell: bool


class CommandLimits:
    """Sliding one-minute windows of accepted commands per person and per chat."""

    def __init__(self, per_person: int, per_chat: int) -> None:
        self.per = {"person": per_person, "chat": per_chat}
        self._seen: collections.OrderedDict[tuple[str, ...], collections.deque[float]] = collections.OrderedDict()
        #: key → when the refusal was last told (one reply per window, then silence)
        self._told: dict[tuple[str, ...], float] = {}

    def check(self, person: tuple[str, str], chat: tuple[str, str], now: float) -> Verdict | None:
        """Count one command at ``now`` (seconds) if both windows have room; else say which is full."""
        keys: list[tuple[Scope, tuple[str, ...]]] = [("person", ("p", *person)), ("chat", ("c", *chat))]
        for scope, key in keys:
            window = self._window(key, now)
            if len(window) >= self.per[scope]:
                wait = max(1, math.ceil(window[0] + PERIOD - now))
                told = self._told.get(key)
                tell = told is None or now - told >= PERIOD
                if tell:
                    self._told[key] = now
                return Verdict(scope, self.per[scope], wait, tell)
        for _, key in keys:
            self._window(key, now).append(now)
        return None

    def _window(self, key: tuple[str, ...], now: float) -> collections.deque[float]:
        window = self._seen.get(key)
        if window is None:
            window = self._seen[key] = collections.deque()
            while len(self._seen) > MAX_KEYS:
                old, _ = self._seen.popitem(last=False)
                self._told.pop(old, None)
        else:
            self._seen.move_to_end(key)
        while window and window[0] <= now - PERIOD:
            window.popleft()
        return window
