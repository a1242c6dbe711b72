"""The outbox sender: delivers stored messages with retries, backoff, rate limits and digests.

Rows are claimed in a short transaction (status SENDING, under a lease the pass renews), sent
with no transaction open, then marked in another short transaction: the rows delivered are
settled together (one transaction for up to :data:`SETTLE_EVERY` of them, once the oldest is
:data:`SETTLE_AFTER` old, and at the end of each chat), failures at once. A timer beside the claim
renewer settles them on time while one slow send is under way. A kill -9 re-sends only the rows
delivered and not yet settled: at most about the last second's. A settle that fails is retried; its
rows stay in the next one. A chat's rows go in the
order they were written: one that must wait holds back the rows after it. When more messages
wait for one rate-limited chat than its budget allows (the window lives in the database, so
every instance counts the same sends), the leading text messages are merged into one digest,
so nothing is dropped and the limit holds. What a platform refuses for good is parked.
The queue and every query on it are ``storage/outbox.py``; this module decides and sends.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot import instances
from bot.outbound import Message
from bot.outbox_digest import digest_message, fit_digest
from bot.transport import (
    CardExpired,
    Delivery,
    GroupWebhook,
    PermanentError,
    RateLimit,
    TransientError,
    Transport,
    backoff,
)
from storage import outbox
from storage.db import Database, UnitOfWork
from storage.models import OutboxMessage
from storage.models.messaging import OutboxStatus

log = logging.getLogger("gendan.outbox")

#: a row that keeps failing with transient errors this many times is parked (at the backoff cap,
#: about half a day of an outage); an admin may put it back with ``gendan outbox retry``
MAX_ATTEMPTS = 2000
#: how often a sending pass renews its claims (well inside storage.outbox.CLAIM_LEASE)
RENEW_EVERY = 5.0
#: delivered rows settled in one transaction at most: a kill -9 between a send and its settle makes
#: the row go out again, so the batch stays short (and a chat's batch is settled when it ends)
SETTLE_EVERY = 20
#: seconds a delivered row waits for its settle at most (checked at each send, and by the pass's settle
#: timer while a send is under way): a kill -9 re-sends only what was delivered in about the last second
SETTLE_AFTER = 1.0
#: how often the settle timer looks whether the delivered rows are due (a look is a clock reading)
SETTLE_LOOK_EVERY = 0.25
#: the settle timer's longest wait between two tries while settles fail (seconds)
SETTLE_BACKOFF_MAX = 5.0
#: tries of a settle of delivered rows, this many seconds apart (the renewer keeps their claims alive)
SETTLE_TRIES = 3
SETTLE_PAUSE = 0.2


class OutboxSender:
    """Drains the outbox in the background; ``flush()`` drains now (tests, local adapter)."""

    def __init__(self, db: Database, transports: dict[str, Transport], texts: Any,
                 clock: Callable[[], datetime] | None = None, poll_interval: float = 2.0,
                 owner: str | None = None) -> None:
        self.db = db
        self.transports = transports
        self.texts = texts
        self.clock = clock or (lambda: datetime.now(UTC))
        self.poll_interval = poll_interval
        #: who holds this sender's claims: unique per process, so a restarted server is a new holder
        #: (and a killed one's claims are taken over at once, see bot.instances)
        self.owner = owner or instances.new_instance_id()
        #: called with a delivered row's age in seconds (the metrics histogram)
        self.on_sent: Callable[[float], None] = lambda _age: None
        self._event = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: the rows of this pass delivered and not yet settled, with the card copies they made
        self._delivered: list[OutboxMessage] = []
        self._copies: list[outbox.CardCopy] = []
        self._since = self.clock()  # when the first of them was delivered
        #: one settle at a time: an update must not read the card copies while a settle is under way
        self._settling = asyncio.Lock()
        #: settles of delivered rows that succeeded (the settle timer's back-off ends at the next one)
        self._settles = 0

    def wake(self) -> None:
        """New rows were committed."""
        self._event.set()

    @property
    def running(self) -> bool:
        """Whether the background loop delivers (else callers flush by hand: tests, the CLI)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run the background loop."""
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Stop the loop after the current pass."""
        self._stopping = True
        self._event.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if await self.flush():
                    continue  # settled rows may have unblocked later rows of their chats: look again now
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), self.poll_interval)
            self._event.clear()

    async def flush(self) -> int:
        """One pass over due rows; returns how many rows were settled."""
        async with self._lock:
            await self._settle_delivered()  # rows a failed pass delivered and could not settle
            # most wake-ups and polls find nothing: ask in a reader first, so that an idle sender
            # never takes SQLite's write lock
            async with self.db.reader() as reader:
                dead = instances.dead_holders(await outbox.claim_holders(reader, self.clock()), self.owner)
                if not await outbox.has_due(reader, self.clock(), dead):
                    return 0
            async with self.db.uow() as uow:
                rows = await outbox.claim_due(uow, self.clock(), owner=self.owner, dead=dead)
                webhooks = await self._webhooks(uow, rows)
            if not rows:
                return 0
            by_chat: dict[tuple[str, str], list[OutboxMessage]] = collections.defaultdict(list)
            for row in rows:
                by_chat[(row.platform, row.chat_id)].append(row)
            stop = asyncio.Event()
            renewer = asyncio.create_task(self._renew([r.id for r in rows], stop), name="outbox-renew")
            timer = asyncio.create_task(self._settle_on_time(stop), name="outbox-settle-timer")
            try:
                done = 0
                for key, chat_rows in by_chat.items():
                    try:
                        done += await self._send_chat(key, chat_rows, webhooks.get(key))
                    finally:
                        await self._settle_delivered()
                return done
            finally:
                # stopped, not cancelled: a cancelled database call leaves its driver worker behind
                stop.set()
                await asyncio.gather(renewer, timer)

    async def _renew(self, ids: list[int], stop: asyncio.Event) -> None:
        """Keep the pass's claims alive, so that only a dead sender's rows are taken over."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RENEW_EVERY)
                return
            try:
                await outbox.renew_claims(self.db, self.owner, ids, self.clock())
            except Exception:
                log.exception("outbox claim renewal failed")

    async def _settle_on_time(self, stop: asyncio.Event) -> None:
        """Settle the delivered rows once the oldest is :data:`SETTLE_AFTER` old, also while a slow send
        (up to the HTTP timeout) is under way: the sends' own checks alone would let them wait it out."""
        failures, next_try, settled = 0, 0.0, self._settles
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SETTLE_LOOK_EVERY)
                return
            if failures and self._settles != settled:
                # a send's own settle got through: the database is back, look at the normal pace again
                log.warning("outbox settles of delivered rows work again after %d failed tries", failures)
                failures, next_try = 0, 0.0
            if not self._due_to_settle() or loop.time() < next_try:
                continue
            try:
                await self._settle_delivered()
            except Exception:  # the rows stay for the next settle (the next send's, or this timer's)
                # the database is down: try again after a longer wait each time (up to SETTLE_BACKOFF_MAX)
                # and log one traceback for the outage, not four a second
                if not failures:
                    log.exception("outbox settle of delivered rows failed (retrying with back-off)")
                failures += 1
                next_try = loop.time() + min(SETTLE_LOOK_EVERY * 2 ** min(failures, 8), SETTLE_BACKOFF_MAX)
                settled = self._settles
                continue
            if failures:
                log.warning("outbox settles of delivered rows work again after %d failed tries", failures)
                failures = 0
            settled = self._settles

    async def _webhooks(self, uow: UnitOfWork, rows: list[OutboxMessage]) -> dict[tuple[str, str], GroupWebhook]:
        chats = await outbox.group_webhooks(uow, {(r.platform, r.chat_id) for r in rows if r.chat_type == "group"})
        return {key: GroupWebhook(chat.webhook_url, chat.webhook_secret) for key, chat in chats.items()
                if chat.webhook_url}

    async def _send_chat(self, key: tuple[str, str], rows: list[OutboxMessage],
                         webhook: GroupWebhook | None) -> int:
        """Send one chat's claimed rows in order; a row that must wait holds back the rows after it."""
        transport = self.transports.get(key[0])
        if transport is None:
            await self._settle(rows, OutboxStatus.PARKED, error=f"no transport for platform {key[0]}")
            return len(rows)
        deliveries = [self._delivery(r, webhook) for r in rows]
        limit = transport.rate_limit(deliveries[0])
        slot_key = f"{key[0]}:{key[1]}"
        budget = len(rows)
        taken_at = free_at = self.clock()
        if limit is not None:
            budget, free_at = await outbox.reserve_slots(self.db, slot_key, limit.count, limit.period,
                                                         len(rows), taken_at)
        if limit is not None and budget < len(rows):
            done, used = await self._send_limited(key, transport, rows, deliveries, budget, free_at, limit)
        else:
            done, used = await self._send_in_order(key, transport, rows, deliveries)
        if limit is not None:
            await outbox.release_slots(self.db, slot_key, budget - used, taken_at)
        return done

    async def _send_in_order(self, key: tuple[str, str], transport: Transport, rows: list[OutboxMessage],
                             deliveries: list[Delivery]) -> tuple[int, int]:
        """Send each row; at the first that must be retried, the rest wait for the same moment."""
        done = used = 0
        for i, (row, delivery) in enumerate(zip(rows, deliveries, strict=True)):
            status, retry_in = await self._send_one(key, transport, row, delivery)
            used += delivery.op == "send"
            if status == OutboxStatus.PENDING:
                await self._settle(rows[i + 1:], OutboxStatus.PENDING, retry_in=retry_in)
                return done, used
            done += 1
        return done, used

    async def _send_limited(self, key: tuple[str, str], transport: Transport, rows: list[OutboxMessage],
                            deliveries: list[Delivery], budget: int, free_at: datetime,
                            limit: RateLimit) -> tuple[int, int]:
        """More waiting than the budget: the leading text messages go as one digest, then rows in order."""
        wait = max(1.0, (free_at - self.clock()).total_seconds())
        if budget == 0:
            await self._settle(rows, OutboxStatus.PENDING, retry_in=wait)
            return 0, 0
        pairs = list(zip(rows, deliveries, strict=True))
        lead = 0
        while lead < len(pairs) and pairs[lead][1].message.card is None and pairs[lead][1].op == "send":
            lead += 1
        done = used = 0
        slot = max(1.0, limit.period / limit.count)
        rest = pairs
        if lead > 1:
            chosen = fit_digest(self.texts.digest, pairs[:lead])
            head, merged_rows = chosen[0], [r for r, _ in chosen[1:]]
            digest = digest_message(self.texts.digest, [d.message for _, d in chosen])
            merged = Delivery(head[1].id, head[1].platform, head[1].chat_id, head[1].chat_type, digest,
                              reply_hints=head[1].reply_hints, webhook=head[1].webhook, attempts=head[1].attempts)
            status, retry_in = await self._send_one(key, transport, head[0], merged)
            used += 1
            if status == OutboxStatus.SENT:
                await self._settle(merged_rows, OutboxStatus.MERGED, merged_into=head[0].id)
            elif status == OutboxStatus.PARKED:
                # never mark rows delivered inside a digest that was refused
                await self._settle(merged_rows, OutboxStatus.PARKED, error=f"digest {head[0].id} refused")
            else:
                await self._settle([r for r, _ in pairs[1:]], OutboxStatus.PENDING, retry_in=retry_in)
                return done, used
            done += len(chosen)
            rest = pairs[len(chosen):]
        for i, (row, delivery) in enumerate(rest):
            if used >= budget:
                await self._settle([r for r, _ in rest[i:]], OutboxStatus.PENDING, retry_in=max(slot, wait))
                break
            status, retry_in = await self._send_one(key, transport, row, delivery)
            used += delivery.op == "send"
            if status == OutboxStatus.PENDING:
                await self._settle([r for r, _ in rest[i + 1:]], OutboxStatus.PENDING, retry_in=retry_in)
                break
            done += 1
        return done, used

    def _delivery(self, row: OutboxMessage, webhook: GroupWebhook | None) -> Delivery:
        return Delivery(id=row.id, platform=row.platform, chat_id=row.chat_id,
                        chat_type="group" if row.chat_type == "group" else "single",
                        message=Message.from_dict(row.message), op="update" if row.op == "update" else "send",
                        reply_hints=dict(row.reply_hints or {}), webhook=webhook, attempts=row.attempts)

    async def _send_one(self, key: tuple[str, str], transport: Transport, row: OutboxMessage,
                        delivery: Delivery) -> tuple[OutboxStatus, float]:
        """Deliver one row; returns how it was settled (SENT, PARKED, or PENDING: retry) and the retry wait."""
        if delivery.op == "update" or self._due_to_settle():
            # an update reads the copies of the cards just sent (waiting for a settle under way);
            # and delivered rows wait a second at most
            try:
                await self._settle_delivered()
            except Exception as err:  # still unsettled (kept for the next settle): this row waits
                log.warning("outbox %s waits: settle of the delivered rows failed: %r", row.id, err)
                await self._settle([row], OutboxStatus.PENDING, retry_in=backoff(0))
                return OutboxStatus.PENDING, backoff(0)
        try:
            if delivery.op == "update":
                ref = await self._update(transport, delivery)
            else:
                ref = await transport.send(delivery)
        except TransientError as err:
            wait = err.retry_after if err.firm and err.retry_after else backoff(row.attempts, err.retry_after)
            if row.attempts + 1 >= MAX_ATTEMPTS:
                log.error("outbox %s parked after %s attempts: %s", row.id, row.attempts + 1, err)
                await self._settle([row], OutboxStatus.PARKED, error=str(err), count_attempt=True)
                return OutboxStatus.PARKED, 0.0
            log.warning("outbox %s retry in %.0fs: %s", row.id, wait, err)
            await self._settle([row], OutboxStatus.PENDING, retry_in=wait, error=str(err), count_attempt=True)
            return OutboxStatus.PENDING, wait
        except PermanentError as err:
            # bot removed from the group, person gone, body refused: retrying cannot help
            log.error("outbox %s parked, refused by %s: %s", row.id, row.platform, err)
            await self._settle([row], OutboxStatus.PARKED, error=str(err), count_attempt=True)
            return OutboxStatus.PARKED, 0.0
        except Exception as err:  # an adapter bug must not stop the sender
            log.exception("outbox %s failed", row.id)
            wait = backoff(row.attempts)
            await self._settle([row], OutboxStatus.PENDING, retry_in=wait, error=repr(err), count_attempt=True)
            return OutboxStatus.PENDING, wait
        if not self._delivered:
            self._since = self.clock()
        self._delivered.append(row)
        if ref is not None and delivery.op == "send" and delivery.message.card_key:
            self._copies.append(outbox.CardCopy(delivery.message.card_key, delivery.platform, delivery.chat_id, ref))
        if len(self._delivered) >= SETTLE_EVERY or self._due_to_settle():
            await self._settle_delivered()
        return OutboxStatus.SENT, 0.0

    def _due_to_settle(self) -> bool:
        return bool(self._delivered) and (self.clock() - self._since).total_seconds() >= SETTLE_AFTER

    async def _update(self, transport: Transport, delivery: Delivery) -> dict[str, Any] | None:
        """Update every stored copy of the card in this chat; send a new card where that fails."""
        card_key = delivery.message.card_key
        copies = await outbox.card_copies(self.db, card_key, delivery.platform, delivery.chat_id)
        if not copies:
            # The card never arrived here (its send is still retrying, or failed): the decided
            # version replaces it, so the live one must not arrive after it.
            await outbox.supersede_unsent(self.db, card_key, delivery.platform, delivery.chat_id, delivery.id,
                                          self.clock())
            sent = await transport.send(delivery)
            if sent is not None and card_key:
                await outbox.add_card_copy(self.db, card_key, delivery.platform, delivery.chat_id, sent, self.clock())
            return sent
        ref: dict[str, Any] | None = None
        for copy in copies:
            try:
                ref = await transport.update_card(dataclasses.replace(delivery, op="update", card_ref=copy.ref))
            except CardExpired:
                # the platform no longer lets us edit that copy: send a fresh card instead
                ref = await transport.send(delivery)
                await outbox.replace_card_ref(self.db, copy.id, ref or {})
        return ref

    async def _settle(self, rows: list[OutboxMessage], status: OutboxStatus, *, retry_in: float | None = None,
                      error: str | None = None, merged_into: int | None = None, count_attempt: bool = False) -> None:
        await outbox.settle(self.db, rows, status, self.clock(), retry_in=retry_in, error=error,
                            merged_into=merged_into, count_attempt=count_attempt)

    async def _settle_delivered(self) -> None:
        """Mark the rows delivered so far SENT (one transaction), with the card copies they made."""
        async with self._settling:
            await self._settle_delivered_now()

    async def _settle_delivered_now(self) -> None:
        if not self._delivered:
            return
        rows, self._delivered = self._delivered, []
        copies, self._copies = self._copies, []
        for attempt in range(1, SETTLE_TRIES + 1):
            try:
                ages = await outbox.settle(self.db, rows, OutboxStatus.SENT, self.clock(), cards=copies)
                self._settles += 1
                break
            except Exception as err:
                if attempt == SETTLE_TRIES:
                    # kept (first) for the next settle: a delivered row must not be claimed and sent again
                    self._delivered[:0], self._copies[:0] = rows, copies
                    raise
                log.warning("outbox settle of %s delivered rows failed (%r); trying again", len(rows), err)
                await asyncio.sleep(SETTLE_PAUSE)
        for age in ages:
            self.on_sent(age)
