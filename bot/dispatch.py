"""The dispatcher: every inbound event takes one path, inbox → context → handler → outbox.

1. inbox: recorded under this instance's lease before the ack (``storage/inbox.py``; leases: ``bot/recovery.py``),
   concurrent events in one INSERT and one commit (``inbox.Recorder``, a ``storage.db.GroupCommit``);
2. context: sender and chat registered (``bot/identity.py``), a ``Context`` made (``bot/context.py``);
3. handler: limits, lookup, role gate, run (``bot/registry.py``); errors → replies (``bot/error_replies.py``);
4. outbox: replies and notifications go into the event's ``Outbox`` (``storage/outgoing.py``: ``send``,
   ``update_card``, the only way messages leave), written with the commit and the inbox's done mark, sent by
   ``bot/sender.py``; an event whose handler committed nothing closes in a group commit with the others closing
   at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.context import Context
from bot.error_replies import error_reply
from bot.events import CardAction, ChatMessage, DirectoryEvent, Inbound, inbound_from_dict
from bot.identity import Identities
from bot.logs import EVENT_ID
from bot.outbound import Message
from bot.recovery import Leases
from bot.registry import Registry
from storage import inbox
from storage.db import Database, GroupCommit
from storage.inbox import AlreadyProcessed, AlreadyRecorded

log = logging.getLogger("gendan.dispatch")

#: handlers running at once per instance: the rest wait their turn (leases renewed), so that a burst
#: never takes every database connection and the acks of new events (inbox inserts) still get one
#: at once; WeCom re-sends what is not acked within 5 s. Only the handler holds a slot: an event
#: waiting for its closing write waits in that group commit, which takes one connection for the
#: whole batch (holding the slot through it left 8 reads a time waiting on commits: −30 % req/s)
MAX_CONCURRENT_EVENTS = 8


class Dispatcher(Registry):
    """The registry plus the processing of inbound events; one per app (no global state)."""

    def __init__(self, db: Database, settings: Settings, texts: Any,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(settings, texts, clock or (lambda: datetime.now(UTC)))
        self.db = db
        self._tasks: set[asyncio.Task[Any]] = set()
        self.leases = Leases(db, self.clock)
        #: inbox rows of concurrent events go in together (one INSERT, one commit, every ack after it)
        self.inbox = inbox.Recorder(db)
        #: the closing writes of events whose handlers committed nothing, grouped the same way
        self._closing: GroupCommit[inbox.Closing, bool | None] = GroupCommit(
            lambda items: inbox.close_batch(db, items, self.clock()), "inbox-closing")
        self.identities = Identities(db, settings)
        self._wake: Callable[[], None] = lambda: None
        #: called with the seconds each event took (the metrics histogram); set by the composition root
        self.on_processed: Callable[[float], None] = lambda _seconds: None
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_EVENTS)
        self._recovering = asyncio.Lock()
        #: (platform, user id) → (signed dashboard URL, expiry); set by the composition root (bot.app)
        self.board_link: Callable[[str, str], Awaitable[tuple[str, datetime]]] | None = None
        #: (platform, user id, customer id, first day, last day) → (signed /对账 workbook URL, expiry); set by bot.app
        self.statement_link: Callable[[str, str, int, date, date], Awaitable[tuple[str, datetime]]] | None = None
        #: (quote no, last valid day) → (signed quotation sheet URL, expiry); set by bot.app
        self.quote_link: Callable[[int, date], Awaitable[tuple[str, datetime]]] | None = None

    @property
    def instance_id(self) -> str:
        """Who holds this instance's inbox leases (unique per process)."""
        return self.leases.instance_id

    # ---- wiring ----------------------------------------------------------------------
    def set_sender_wake(self, wake: Callable[[], None]) -> None:
        """Called after every commit that may have written outbox rows."""
        self._wake = wake

    def wake_sender(self) -> None:
        """Tell the outbox sender there is work."""
        self._wake()

    # ---- 1. inbox ----------------------------------------------------------------------
    async def record(self, inbound: Inbound) -> bool:
        """Insert into the inbox under this instance's lease; False when this platform event id was seen before."""
        fresh = await self.inbox.record(inbound.platform, inbound.event_id, inbound.to_dict(), self.clock(),
                                        self.instance_id)
        if not fresh:
            log.info("duplicate inbound %s:%s ignored", inbound.platform, inbound.event_id)
        return fresh

    async def submit(self, inbound: Inbound) -> bool:
        """Record durably, then process in a tracked background task (adapters ack right after)."""
        if not await self.record(inbound):
            return False
        self._start(inbound)
        return True

    def _start(self, inbound: Inbound) -> None:
        key = self.leases.hold(inbound)
        task = asyncio.create_task(self.process(inbound), name=f"inbound:{inbound.event_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _t: self.leases.drop(key))

    async def handle(self, inbound: Inbound) -> list[Message] | None:
        """Process now and answer; the replies, or None for a duplicate (local adapter, CLI, link pages).

        The caller answers only after this returns, so nothing needs to be durable earlier: the
        inbox row is inserted, already done, at the end of the event's own write transaction, with
        its effect and its outbox rows (one commit instead of three; a repeated id fails on the
        inbox's unique key there and the whole transaction rolls back). A crash before that
        commit leaves nothing, and the caller, never answered, sends again.
        """
        if isinstance(inbound, DirectoryEvent):
            if not await self.record(inbound):
                return None
            return await self._timed(inbound, recorded=True)
        return await self._timed(inbound, recorded=False)

    async def keep_recovering(self, stop: asyncio.Event, every: float = 5.0) -> None:
        """Renew our leases and take over expired ones, now and every ``every`` seconds, until ``stop``.

        The first pass runs at once, so what a killed instance left is picked up within one
        lease (15 s) of its death, not minutes later. Stopped by an event rather than
        cancelled: a cancelled database call would leave the driver's worker finishing it
        after the loop is gone.
        """
        while not stop.is_set():
            try:
                await self.leases.renew()
                await self.recover()
            except Exception:
                log.exception("inbox recovery failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def drain(self) -> None:
        """Wait for every background task (shutdown, tests)."""
        await self.inbox.close()
        await self._closing.close()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def recover(self, older_than: timedelta = timedelta(minutes=2),
                      give_up_after: timedelta = timedelta(hours=1)) -> int:
        """Process inbox events whose lease ran out (their instance died); returns how many.

        Events older than ``give_up_after`` are marked FAILED instead: a week-old /发货 must not
        run by surprise after the person has surely retried (see :meth:`Leases.take_over`).
        """
        # one pass at a time: the background loop's pass and one asked for meanwhile (at start, in a
        # test) would otherwise split the events between them, and the second return before the
        # first has processed what it took
        async with self._recovering:
            return await self._recover(older_than, give_up_after)

    async def _recover(self, older_than: timedelta, give_up_after: timedelta) -> int:
        taken = await self.leases.take_over(older_than, give_up_after)
        for replay in taken:
            log.info("replaying inbound event %s", replay.id)
            event = inbound_from_dict(replay.payload)
            key = self.leases.hold(event)
            try:
                await self.process(event)
            finally:
                self.leases.drop(key)
        return len(taken)

    # ---- 2. context, 3. handler -------------------------------------------------------
    async def process(self, inbound: Inbound) -> list[Message]:
        """Run a recorded event through its handler; always ends with the inbox row marked."""
        return await self._timed(inbound, recorded=True) or []

    async def _timed(self, inbound: Inbound, *, recorded: bool) -> list[Message] | None:
        """Process (a few handlers at a time) with the event's id on every log line, and count its latency."""
        started = time.monotonic()
        token = EVENT_ID.set(f"{inbound.platform}:{inbound.event_id}")
        try:
            if isinstance(inbound, DirectoryEvent):
                async with self._slots:
                    await self._directory(inbound)
                return []
            return await self._process(inbound, recorded=recorded)
        finally:
            EVENT_ID.reset(token)
            self.on_processed(time.monotonic() - started)

    async def _process(self, inbound: ChatMessage | CardAction, *, recorded: bool) -> list[Message] | None:
        """The replies, or None when the event turned out to be another processor's (or a duplicate)."""
        key = self.leases.hold(inbound)
        ctx: Context | None = None
        try:
            async with self._slots:
                ctx = await self._context(inbound)
                ctx.inbox_recorded = recorded
                await self.route(ctx)
        except AlreadyRecorded:
            log.info("duplicate inbound %s:%s ignored", inbound.platform, inbound.event_id)
            return None
        except AlreadyProcessed:
            # another processor took over our lease and committed first: its effect and replies stand
            log.info("inbound %s was processed elsewhere; dropping this run", inbound.event_id)
            return []
        except Exception as exc:  # one error path for every handler
            if ctx is None:
                log.exception("inbound %s failed before routing", inbound.event_id)
                if not recorded:
                    await self._keep_for_recovery(inbound)
                return []
            error_reply(ctx, exc, self.texts)
        finally:
            self.leases.drop(key)
        finished = await self._finish(ctx)
        if finished is None:
            return None
        return ctx.replies if finished else []

    async def _keep_for_recovery(self, inbound: ChatMessage | CardAction) -> None:
        """An event processed without a prior inbox row could not be settled: record it now, so that
        the recovery pass runs it again once our (unrenewed) lease runs out, as for any other event."""
        try:
            await self.record(inbound)
        except Exception:
            log.exception("could not keep inbound %s for recovery", inbound.event_id)

    async def _context(self, inbound: ChatMessage | CardAction) -> Context:
        return Context(inbound=inbound, person=await self.identities.person(inbound), settings=self.settings,
                       db=self.db, clock=self.clock, dispatcher=self)

    # ---- 4. outbox ---------------------------------------------------------------------
    async def _finish(self, ctx: Context) -> bool | None:
        """Write what is left (replies after the last commit) and mark the inbox row.

        An event whose handler committed nothing (a read, a refusal, an error) closes in a
        group commit with the others closing now: its inbox row (inserted, or marked done)
        and its replies in one transaction shared by the batch. False if the event was
        settled by another processor, None if it turned out a duplicate.
        """
        if ctx.inbox_done and not ctx.has_pending:
            return True  # the handler's own commit wrote everything: no transaction for nothing
        inbound = ctx.inbound
        try:
            outbox = ctx._take_pending()
            needs_sender = outbox.needs_sender
            if ctx.inbox_done:  # replies written after the handler's commit: they go alone
                async with self._slots, self.db.uow() as uow:  # a connection of its own: bounded as handlers are
                    await outbox.write(uow, self.clock())
                outcome: bool | None = True
            else:
                outcome = await self._closing.submit(inbox.Closing(
                    inbound.platform, inbound.event_id, outbox.items,
                    None if ctx.inbox_recorded else inbound.to_dict(), self.instance_id))
        except Exception:
            log.exception("could not record the outcome of %s", inbound.event_id)
            if not ctx.inbox_recorded:
                await self._keep_for_recovery(inbound)
            return True
        if outcome is None:
            log.info("duplicate inbound %s:%s ignored", inbound.platform, inbound.event_id)
            return None
        if not outcome:
            log.info("inbound %s was processed elsewhere; its replies stand, not ours", inbound.event_id)
            return False
        ctx.inbox_done = ctx.inbox_recorded = True
        if needs_sender:
            self.wake_sender()
        return True

    async def _directory(self, event: DirectoryEvent) -> None:
        error = None
        try:
            for handler in self.directory:
                await handler(self, event)
        except Exception as exc:
            log.exception("directory event %s failed", event.event_id)
            error = repr(exc)
        with contextlib.suppress(AlreadyProcessed):  # a second run of a contact event changes nothing
            async with self.db.uow() as uow:
                await inbox.mark_done(uow, event.platform, event.event_id, self.clock(), error=error)
