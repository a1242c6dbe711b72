"""The outbox sender: delivers stored messages with retries, backoff, rate limits and digests.

Rows are claimed in a short transaction (status SENDING), sent with no
transaction open, then marked in another short transaction. When more
messages wait for one rate-limited chat than its budget allows, the text
messages are merged into one digest, so nothing is dropped and the limit holds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.outbound import Mention, Message
from bot.transport import (
    CardExpired,
    Delivery,
    GroupWebhook,
    PermanentError,
    RateLimit,
    TransientError,
    Transport,
)
from storage.db import Database
from storage.models import Chat, OutboxMessage, SentCard
from storage.outbox import claim_due, has_due

log = logging.getLogger("gendan.outbox")

MAX_ATTEMPTS = 12
MAX_BACKOFF = 600.0
#: a digest must fit every platform's message size (WeCom robot markdown takes 4,096 bytes)
DIGEST_MAX_BYTES = 3800


class _Window:
    """Send times per chat within the limit's period (per instance; see README)."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(collections.deque)

    def budget(self, key: tuple[str, str], limit: RateLimit, now: float) -> tuple[int, float]:
        """How many may be sent now, and when the next slot frees."""
        q = self.sent[key]
        while q and q[0] <= now - limit.period:
            q.popleft()
        free_at = q[0] + limit.period if q else now
        return max(0, limit.count - len(q)), free_at

    def note(self, key: tuple[str, str], now: float) -> None:
        self.sent[key].append(now)


class OutboxSender:
    """Drains the outbox in the background; ``flush()`` drains now (tests, local adapter)."""

    def __init__(self, db: Database, transports: dict[str, Transport], texts: Any,
                 clock: Callable[[], datetime] | None = None, monotonic: Callable[[], float] | None = None,
                 poll_interval: float = 2.0) -> None:
        self.db = db
        self.transports = transports
        self.texts = texts
        self.clock = clock or (lambda: datetime.now(UTC))
        self.monotonic = monotonic or time.monotonic
        self.poll_interval = poll_interval
        self.window = _Window()
        self._event = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

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
                await self.flush()
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), self.poll_interval)
            self._event.clear()

    async def flush(self) -> int:
        """One pass over due rows; returns how many rows were settled."""
        async with self._lock:
            # most wake-ups and polls find nothing: ask in a reader first, so that an idle sender
            # never takes SQLite's write lock
            async with self.db.reader() as reader:
                if not await has_due(reader, self.clock()):
                    return 0
            async with self.db.uow() as uow:
                rows = await claim_due(uow, self.clock())
                webhooks = await self._webhooks(uow, rows)
            by_chat: dict[tuple[str, str], list[OutboxMessage]] = collections.defaultdict(list)
            for row in rows:
                by_chat[(row.platform, row.chat_id)].append(row)
            done = 0
            for key, chat_rows in by_chat.items():
                done += await self._send_chat(key, chat_rows, webhooks.get(key))
            return done

    async def _webhooks(self, uow: Any, rows: list[OutboxMessage]) -> dict[tuple[str, str], GroupWebhook]:
        keys = {(r.platform, r.chat_id) for r in rows if r.chat_type == "group"}
        out: dict[tuple[str, str], GroupWebhook] = {}
        if not keys:
            return out
        chats = await uow.session.execute(
            select(Chat).where(Chat.chat_id.in_([k[1] for k in keys]), Chat.webhook_url.is_not(None)))
        for chat in chats.scalars():
            if (chat.platform, chat.chat_id) in keys and chat.webhook_url:
                out[(chat.platform, chat.chat_id)] = GroupWebhook(chat.webhook_url, chat.webhook_secret)
        return out

    async def _send_chat(self, key: tuple[str, str], rows: list[OutboxMessage],
                         webhook: GroupWebhook | None) -> int:
        transport = self.transports.get(key[0])
        if transport is None:
            await self._settle(rows, "DEAD", error=f"no transport for platform {key[0]}")
            return len(rows)
        deliveries = [self._delivery(r, webhook) for r in rows]
        limit = transport.rate_limit(deliveries[0])
        if limit is not None:
            budget, free_at = self.window.budget(key, limit, self.monotonic())
            if budget < len(rows):
                return await self._send_limited(key, transport, rows, deliveries, budget, free_at, limit)
        done = 0
        for row, delivery in zip(rows, deliveries, strict=True):
            done += await self._send_one(key, transport, row, delivery) != "RETRY"
        return done

    async def _send_limited(self, key: tuple[str, str], transport: Transport, rows: list[OutboxMessage],
                            deliveries: list[Delivery], budget: int, free_at: float, limit: RateLimit) -> int:
        """More waiting than the budget: merge text messages into one digest; wait for the rest."""
        if budget == 0:
            delay = max(1.0, free_at - self.monotonic())
            await self._settle(rows, "PENDING", retry_in=delay)
            return 0
        pairs = list(zip(rows, deliveries, strict=True))
        texts = [(r, d) for r, d in pairs if d.message.card is None and d.op == "send"]
        others = [(r, d) for r, d in pairs if d.message.card is not None or d.op != "send"]
        done = 0
        slot = max(1.0, limit.period / limit.count)
        if texts:
            chosen = self._fit_digest(texts)
            head, rest, later = chosen[0], chosen[1:], texts[len(chosen):]
            digest = self._digest([d.message for _, d in chosen])
            merged = Delivery(head[1].id, head[1].platform, head[1].chat_id, head[1].chat_type, digest,
                              reply_hints=head[1].reply_hints, webhook=head[1].webhook)
            status = await self._send_one(key, transport, head[0], merged)
            rest_rows = [r for r, _ in rest]
            if status == "SENT":
                await self._settle(rest_rows, "MERGED", merged_into=head[0].id)
                done += 1 + len(rest)
            elif status == "DEAD":
                # never mark rows delivered inside a digest that was refused
                await self._settle(rest_rows, "DEAD", error=f"digest {head[0].id} refused")
                done += 1 + len(rest)
            else:
                await self._settle(rest_rows, "PENDING", retry_in=1.0)
            await self._settle([r for r, _ in later], "PENDING", retry_in=slot)
            budget -= 1
        for row, delivery in others:
            if budget <= 0:
                await self._settle([row], "PENDING", retry_in=slot)
                continue
            done += await self._send_one(key, transport, row, delivery) != "RETRY"
            budget -= 1
        return done

    def _fit_digest(self, texts: list[tuple[OutboxMessage, Delivery]]) -> list[tuple[OutboxMessage, Delivery]]:
        """The longest prefix whose digest fits the platforms' message size (always at least one)."""
        chosen = texts[:1]
        for pair in texts[1:]:
            candidate = [*chosen, pair]
            if len(self.texts.digest([d.message.text for _, d in candidate]).encode()) > DIGEST_MAX_BYTES:
                break
            chosen = candidate
        return chosen

    def _digest(self, messages: list[Message]) -> Message:
        mentions: dict[tuple[str, str], Mention] = {}
        for m in messages:
            for mention in m.mentions:
                mentions[(mention.platform, mention.user_id)] = mention
        text = self.texts.digest([m.text for m in messages])
        return Message(kind="markdown", text=text, mentions=tuple(mentions.values()))

    def _delivery(self, row: OutboxMessage, webhook: GroupWebhook | None) -> Delivery:
        return Delivery(id=row.id, platform=row.platform, chat_id=row.chat_id,
                        chat_type="group" if row.chat_type == "group" else "single",
                        message=Message.from_dict(row.message), op="update" if row.op == "update" else "send",
                        reply_hints=dict(row.reply_hints or {}), webhook=webhook, attempts=row.attempts)

    async def _send_one(self, key: tuple[str, str], transport: Transport, row: OutboxMessage,
                        delivery: Delivery) -> str:
        """Deliver one row; returns how it was settled: "SENT", "DEAD" or "RETRY"."""
        try:
            if delivery.op == "update":
                ref = await self._update(transport, delivery)
            else:
                ref = await transport.send(delivery)
                self.window.note(key, self.monotonic())
        except TransientError as err:
            backoff = err.retry_after or min(MAX_BACKOFF, 2.0 ** row.attempts)
            if row.attempts + 1 >= MAX_ATTEMPTS:
                log.error("outbox %s dead after %s attempts: %s", row.id, row.attempts + 1, err)
                await self._settle([row], "DEAD", error=str(err))
                return "DEAD"
            log.warning("outbox %s retry in %.0fs: %s", row.id, backoff, err)
            await self._settle([row], "PENDING", retry_in=backoff, error=str(err), count_attempt=True)
            return "RETRY"
        except PermanentError as err:
            log.error("outbox %s refused by %s: %s", row.id, row.platform, err)
            await self._settle([row], "DEAD", error=str(err))
            return "DEAD"
        except Exception as err:  # an adapter bug must not stop the sender
            log.exception("outbox %s failed", row.id)
            await self._settle([row], "PENDING", retry_in=min(MAX_BACKOFF, 2.0 ** row.attempts),
                               error=repr(err), count_attempt=True)
            return "RETRY"
        await self._settle([row], "SENT", card_ref=ref, delivery=delivery)
        return "SENT"

    async def _update(self, transport: Transport, delivery: Delivery) -> dict[str, Any] | None:
        """Update every stored copy of the card in this chat; send a new card where that fails."""
        async with self.db.uow() as uow:
            copies = list((await uow.session.execute(select(SentCard).where(
                SentCard.card_key == delivery.message.card_key, SentCard.platform == delivery.platform,
                SentCard.chat_id == delivery.chat_id))).scalars())
        if not copies:
            # The card never arrived here (its send is still retrying, or failed): the decided
            # version replaces it, so the live one must not arrive after it.
            async with self.db.uow() as uow:
                await uow.session.execute(
                    update(OutboxMessage).where(
                        OutboxMessage.card_key == delivery.message.card_key, OutboxMessage.op == "send",
                        OutboxMessage.platform == delivery.platform, OutboxMessage.chat_id == delivery.chat_id,
                        OutboxMessage.status == "PENDING")
                    .values(status="MERGED", merged_into=delivery.id, sent_at=self.clock()))
            sent = await transport.send(delivery)
            if sent is not None and delivery.message.card_key:
                async with self.db.uow() as uow:
                    uow.session.add(SentCard(card_key=delivery.message.card_key, platform=delivery.platform,
                                             chat_id=delivery.chat_id, ref=sent, created_at=self.clock()))
            return sent
        ref: dict[str, Any] | None = None
        for copy in copies:
            try:
                ref = await transport.update_card(_with_ref(delivery, copy.ref))
            except CardExpired:
                # the platform no longer lets us edit that copy: send a fresh card instead
                ref = await transport.send(delivery)
                async with self.db.uow() as uow:
                    fresh = await uow.session.get_one(SentCard, copy.id)
                    fresh.ref = ref or {}
        return ref

    async def _settle(self, rows: list[OutboxMessage], status: str, *, retry_in: float | None = None,
                      error: str | None = None, merged_into: int | None = None,
                      card_ref: dict[str, Any] | None = None, delivery: Delivery | None = None,
                      count_attempt: bool = False) -> None:
        if not rows:
            return
        now = self.clock()
        async with self.db.uow() as uow:
            for row in rows:
                fresh = await uow.session.get_one(OutboxMessage, row.id, populate_existing=True)
                if fresh.status != "SENDING" or fresh.claimed_at != row.claimed_at:
                    # another instance took the row over (our pass outlived the claim): its outcome stands
                    log.warning("outbox %s was reclaimed by another sender; not settling it", row.id)
                    continue
                fresh.status = status
                fresh.last_error = error or fresh.last_error
                if count_attempt:
                    fresh.attempts += 1
                if retry_in is not None:
                    fresh.next_attempt_at = now + timedelta(seconds=retry_in)
                if merged_into is not None:
                    fresh.merged_into = merged_into
                if status in ("SENT", "MERGED", "DEAD"):
                    fresh.sent_at = now
            if card_ref is not None and delivery is not None and delivery.op == "send" \
                    and delivery.message.card_key:
                uow.session.add(SentCard(card_key=delivery.message.card_key, platform=delivery.platform,
                                         chat_id=delivery.chat_id, ref=card_ref, created_at=now))


def _with_ref(delivery: Delivery, ref: dict[str, Any]) -> Delivery:
    return Delivery(delivery.id, delivery.platform, delivery.chat_id, delivery.chat_type, delivery.message,
                    op="update", reply_hints=delivery.reply_hints, card_ref=ref, webhook=delivery.webhook,
                    attempts=delivery.attempts)
