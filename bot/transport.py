"""The two seams between the core and a platform adapter.

* :class:`InboundSink` is what an adapter's HTTP route (or long connection) hands
  verified, translated events to. ``submit`` records the event durably in the
  inbox (deduplicated by platform + event id) and schedules the work; the
  adapter answers the platform's ack right after it returns.
* :class:`Transport` is what the outbox sender calls to deliver one stored
  message to one chat of one platform.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.events import ChatType, Inbound
from bot.outbound import Message


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` messages per ``period`` seconds to one chat."""

    count: int
    period: float


@dataclass(frozen=True)
class Delivery:
    """One outbox row, ready to be sent (``op="send"``) or to update a card copy (``op="update"``)."""

    id: int
    platform: str
    chat_id: str
    chat_type: ChatType
    message: Message
    op: Literal["send", "update"] = "send"
    #: hints from the inbound event this answers (sessionWebhook, response_url …)
    reply_hints: dict[str, Any] = field(default_factory=dict)
    #: for ``op="update"``: what :meth:`Transport.send` returned for that copy
    card_ref: dict[str, Any] | None = None
    #: the chat's bound group robot, if an admin bound one (``/绑定``)
    webhook: GroupWebhook | None = None
    attempts: int = 0


@dataclass(frozen=True)
class GroupWebhook:
    """A group push robot bound by ``/绑定``: WeCom 群机器人 or DingTalk custom robot."""

    url: str
    secret: str | None = None


class TransientError(Exception):
    """The platform is busy or unreachable; try again later (with backoff)."""

    def __init__(self, message: str, retry_after: float | None = None, *, firm: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        #: the platform bans the sender until ``retry_after`` (a throttle penalty): an earlier try
        #: only prolongs the ban, so the outbox waits it out instead of capping the wait
        self.firm = firm


class PermanentError(Exception):
    """The platform refused the message for good (bad target, bad body); do not retry."""


class CardExpired(Exception):
    """A card copy can no longer be updated in place; the sender sends a new card instead."""


class Transport(Protocol):
    """Delivers outbox rows for one platform."""

    platform: str

    def rate_limit(self, delivery: Delivery) -> RateLimit | None:
        """The limit that applies to this delivery's chat, or None for none."""
        ...

    async def send(self, delivery: Delivery) -> dict[str, Any] | None:
        """Send; return a reference to the sent card (kept for later updates) or None."""
        ...

    async def update_card(self, delivery: Delivery) -> dict[str, Any] | None:
        """Update the card copy ``delivery.card_ref`` in place; raise :class:`CardExpired` if it cannot."""
        ...


class InboundSink(Protocol):
    """Where adapters hand verified inbound events."""

    async def submit(self, inbound: Inbound) -> bool:
        """Record durably and schedule processing; False if this event id was seen before."""
        ...


#: longest wait between two tries of a row: delivery resumes within this (plus a pass) of the
#: platform's return, whatever a platform's busy hint or the attempt count says
MAX_BACKOFF = 30.0


def backoff(attempts: int, hint: float | None = None) -> float:
    """Seconds before the next try: the platform's hint (its own backoff) or 2^attempts, capped.

    A wait of our own, and one cut down to the cap, gets jitter (the upper half of the
    wait), so that many chats that failed together do not all retry in the same second
    when the platform comes back; a hint below the cap is the transport's, jitter included.
    """
    if hint is not None and hint < MAX_BACKOFF:
        return hint
    base = MAX_BACKOFF if hint is not None else min(MAX_BACKOFF, 2.0 ** min(attempts, 16))
    return base * random.uniform(0.5, 1.0)
