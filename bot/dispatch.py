"""The dispatcher: the command/action registry and the processing of inbound events.

Inbound flow: ``submit`` (or ``handle``) records the event in the inbox (unique
per platform event id, so a platform retry changes nothing), then the event is
processed: person and chat registered, command parsed and looked up, role gate,
handler run, errors turned into replies. One error path for every handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot import commands, instances
from bot.command_limits import CommandLimits
from bot.config import Settings
from bot.context import Context, PersonInfo
from bot.errors import InputError, UserError, error_ref
from bot.events import CardAction, ChatMessage, DirectoryEvent, Inbound, inbound_from_dict
from bot.logs import EVENT_ID
from bot.outbound import ActionDataError, Message
from bot.routing import ActionSpec, CommandSpec, DirectoryHandler, FallbackHandler, Router
from storage import inbox
from storage.conflicts import WriteConflict
from storage.db import Database
from storage.inbox import AlreadyProcessed, AlreadyRecorded
from storage.lifecycle import Refused
from storage.outbox import enqueue
from storage.services import people

log = logging.getLogger("gendan.dispatch")

#: how long another instance's change of roles or people may go unseen here (seconds)
IDENTITY_TTL = 5.0
IDENTITY_CACHE_SIZE = 10_000
#: events processed at once per instance: the rest wait their turn (leases renewed), so that a burst
#: never takes every database connection and the acks of new events (inbox inserts) still get one
#: at once; WeCom re-sends what is not acked within 5 s
MAX_CONCURRENT_EVENTS = 8
#: longest text read as a command: a long order or a pasted list fits; a pasted novel is
#: refused before any parsing (every grammar is linear, but the loop is shared by everyone)
MAX_COMMAND_CHARS = 4000

class Dispatcher:
    """Registry plus the processing of inbound events; one per app (no global state)."""

    def __init__(self, db: Database, settings: Settings, texts: Any,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.texts = texts
        self.clock = clock or (lambda: datetime.now(UTC))
        self.by_name: dict[str, CommandSpec] = {}
        self.specs: list[CommandSpec] = []
        self.actions: list[ActionSpec] = []
        self.fallbacks: list[FallbackHandler] = []
        self.directory: list[DirectoryHandler] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        #: who holds inbox leases: unique per process, so a restarted server is a new holder
        self.instance_id = instances.new_instance_id()
        #: identity of recent senders: key → (identity version, monotonic time, person)
        self._identity: dict[tuple[str, ...], tuple[int, float, PersonInfo]] = {}
        #: (platform, event id) of the events this instance is processing: their leases are renewed
        self._inflight: set[tuple[str, str]] = set()
        self._wake: Callable[[], None] = lambda: None
        self.limits = CommandLimits(settings.rate_person_per_minute, settings.rate_chat_per_minute)
        #: called with the seconds each event took (the metrics histogram); set by the composition root
        self.on_processed: Callable[[float], None] = lambda _seconds: None
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_EVENTS)
        #: (platform, user id) → (signed dashboard URL, expiry); set by the composition root (bot.app)
        self.board_link: Callable[[str, str], Awaitable[tuple[str, datetime]]] | None = None
        #: (platform, user id, customer id, first day, last day) → (signed /对账 workbook URL, expiry); set by bot.app
        self.statement_link: Callable[[str, str, int, date, date], Awaitable[tuple[str, datetime]]] | None = None
        #: (quote no, last valid day) → (signed quotation sheet URL, expiry); set by bot.app
        self.quote_link: Callable[[int, date], Awaitable[tuple[str, datetime]]] | None = None

    # ---- wiring ----------------------------------------------------------------------
    def include_routers(self, *routers: Router) -> None:
        """Register every command, alias and action of the routers."""
        for router in routers:
            for spec in router.commands:
                self.specs.append(spec)
                for key in (spec.name, *spec.aliases):
                    if key.lower() in self.by_name:
                        raise ValueError(f"command name {key!r} registered twice")
                    self.by_name[key.lower()] = spec
            self.actions.extend(router.actions)
            self.fallbacks.extend(router.fallbacks)
            self.directory.extend(router.directory)

    def set_sender_wake(self, wake: Callable[[], None]) -> None:
        """Called after every commit that may have written outbox rows."""
        self._wake = wake

    def wake_sender(self) -> None:
        """Tell the outbox sender there is work."""
        self._wake()

    # ---- intake ----------------------------------------------------------------------
    async def record(self, inbound: Inbound) -> bool:
        """Insert into the inbox under this instance's lease; False when this platform event id was seen before."""
        fresh = await inbox.record(self.db, inbound.platform, inbound.event_id, inbound.to_dict(), self.clock(),
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
        key = (inbound.platform, inbound.event_id)
        self._inflight.add(key)
        task = asyncio.create_task(self.process(inbound), name=f"inbound:{inbound.event_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _t: self._inflight.discard(key))

    async def handle(self, inbound: Inbound) -> list[Message] | None:
        """Process now and answer; the replies, or None for a duplicate (local adapter, CLI, link pages).

        The caller answers only after this returns, so nothing needs to be durable earlier: the
        inbox row is inserted by the event's own write transaction, together with its effect,
        its outbox rows and the done mark (one commit instead of three). A crash before that
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
                await inbox.renew(self.db, self.instance_id, list(self._inflight), self.clock())
                await self.recover()
            except Exception:
                log.exception("inbox recovery failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def drain(self) -> None:
        """Wait for every background task (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def recover(self, older_than: timedelta = timedelta(minutes=2),
                      give_up_after: timedelta = timedelta(hours=1)) -> int:
        """Process inbox events whose lease ran out (their instance died); returns how many.

        Events this instance is working on keep a renewed lease and are never taken; those of a
        process of this machine that is gone (killed, then restarted) are taken at once; events
        recorded before leases existed are taken once older than ``older_than``. Events older
        than ``give_up_after`` are marked FAILED instead: a week-old /发货 must not run by
        surprise after the person has surely retried.
        """
        dead = instances.dead_holders(await inbox.lease_holders(self.db, self.clock()), self.instance_id)
        taken = await inbox.take_over(self.db, self.instance_id, self.clock(), unleased_after=older_than,
                                      give_up_after=give_up_after, dead=dead)
        for replay in taken:
            log.info("replaying inbound event %s", replay.id)
            event = inbound_from_dict(replay.payload)
            key = (event.platform, event.event_id)
            self._inflight.add(key)
            try:
                await self.process(event)
            finally:
                self._inflight.discard(key)
        return len(taken)

    # ---- processing ------------------------------------------------------------------
    async def process(self, inbound: Inbound) -> list[Message]:
        """Run a recorded event through its handler; always ends with the inbox row marked."""
        return await self._timed(inbound, recorded=True) or []

    async def _timed(self, inbound: Inbound, *, recorded: bool) -> list[Message] | None:
        """Process (a few events at a time) with the event's id on every log line, and count its latency."""
        async with self._slots:
            started = time.monotonic()
            token = EVENT_ID.set(f"{inbound.platform}:{inbound.event_id}")
            try:
                if isinstance(inbound, DirectoryEvent):
                    await self._directory(inbound)
                    return []
                return await self._process(inbound, recorded=recorded)
            finally:
                EVENT_ID.reset(token)
                self.on_processed(time.monotonic() - started)

    async def _process(self, inbound: ChatMessage | CardAction, *, recorded: bool) -> list[Message] | None:
        """The replies, or None when the event turned out to be another processor's (or a duplicate)."""
        key = (inbound.platform, inbound.event_id)
        self._inflight.add(key)
        ctx: Context | None = None
        try:
            ctx = await self._context(inbound)
            ctx.inbox_recorded = recorded
            await self._route(ctx)
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
            self._error_reply(ctx, exc)
        finally:
            self._inflight.discard(key)
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
        info = self._known(inbound)
        if info is None:
            info = await self._register(inbound)
        return Context(inbound=inbound, person=info, settings=self.settings, db=self.db, clock=self.clock,
                       dispatcher=self)

    @staticmethod
    def _identity_key(inbound: ChatMessage | CardAction) -> tuple[str, ...]:
        a, c = inbound.actor, inbound.chat
        return (a.platform, a.user_id, a.name, a.tenant, c.platform, c.chat_id, c.chat_type, c.title)

    def _known(self, inbound: ChatMessage | CardAction) -> PersonInfo | None:
        """The person of a recent event from the same sender in the same chat, if nothing changed since.

        Registration is a write transaction; repeating it for every message of a busy chat
        is what made a read-only /查单 queue behind every writer. A change made in this
        process (roles, names, people who left) moves the database's identity version and so
        empties the cache at once; one made by another instance is seen within the TTL.
        """
        hit = self._identity.get(self._identity_key(inbound))
        if hit is None:
            return None
        version, at, info = hit
        if version != self.db.identity_version or time.monotonic() - at > IDENTITY_TTL:
            return None
        return info

    async def _register(self, inbound: ChatMessage | CardAction) -> PersonInfo:
        actor = inbound.actor
        version = self.db.identity_version
        async with self.db.uow() as uow:
            person = await people.register(
                uow, actor.platform, actor.user_id, actor.name, tenant=actor.tenant,
                default_roles=[r.strip() for r in self.settings.default_roles.split(",") if r.strip()],
                admins=self.settings.admin_ids,
            )
            await people.chat_for(uow, inbound.chat.platform, inbound.chat.chat_id, inbound.chat.chat_type,
                                  inbound.chat.title)
            info = PersonInfo(person.id, person.platform, person.user_id, person.name or actor.name,
                              person.role_names)
        if len(self._identity) >= IDENTITY_CACHE_SIZE:
            self._identity.clear()  # crude, but bounded; a cold entry costs one transaction
        # stamped with the version read *before* the transaction: a change committed meanwhile
        # (this one included) makes the entry stale at once rather than hiding behind it
        self._identity[self._identity_key(inbound)] = (version, time.monotonic(), info)
        return info

    async def _route(self, ctx: Context) -> None:
        inbound = ctx.inbound
        if isinstance(inbound, CardAction):
            if self._over_limit(ctx):
                return
            await self._action(ctx, inbound)
            return
        addressed = inbound.mentioned_bot or inbound.chat.chat_type == "single" or inbound.text.lstrip()[:1] in "/／"
        if len(inbound.text) > MAX_COMMAND_CHARS:
            if addressed:
                ctx.reply(self.texts.too_long(len(inbound.text), MAX_COMMAND_CHARS))
            return
        lines = inbound.text.count("\n") + 1
        if lines > self.settings.command_max_lines:
            if addressed:
                ctx.reply(self.texts.too_many_lines(lines, self.settings.command_max_lines))
            return
        if addressed and self._over_limit(ctx):
            return
        cmd = commands.parse_command(inbound.text, self.by_name.keys())
        if cmd is None:
            for fallback in self.fallbacks:
                if await fallback(ctx):
                    return
            if inbound.mentioned_bot or inbound.chat.chat_type == "single":
                ctx.reply(self.texts.not_a_command())
            return
        spec = self.by_name.get(cmd.name.lower())
        if spec is None:
            ctx.reply(self.texts.unknown_command(cmd.name, cmd.args, self.specs))
            return
        if spec.roles is not None and not (spec.roles & ctx.person.roles):
            ctx.reply(self.texts.no_role(spec, ctx.person.roles, f"{ctx.person.platform}:{ctx.person.user_id}"))
            return
        ctx.read_only = spec.read_only
        try:
            await spec.handler(ctx, cmd)
        except InputError as err:
            # not understood: show the right form; a refusal (plain UserError) explains itself
            ctx.discard_pending()
            ctx.reply(self.texts.with_usage(err, spec))

    def _over_limit(self, ctx: Context) -> bool:
        """Whether the sender or the chat is over its command rate; says so once per minute."""
        inbound = ctx.inbound
        verdict = self.limits.check((inbound.actor.platform, inbound.actor.user_id),
                                    (inbound.chat.platform, inbound.chat.chat_id), self.clock().timestamp())
        if verdict is None:
            return False
        log.info("inbound %s over the %s command rate (%s/min)", inbound.event_id, verdict.scope, verdict.limit)
        if verdict.tell:
            ctx.reply(self.texts.too_fast(verdict.scope, verdict.limit, verdict.wait))
        return True

    async def _action(self, ctx: Context, inbound: CardAction) -> None:
        for spec in self.actions:
            if spec.data_type.matches(inbound.payload):
                try:
                    data = spec.data_type.unpack(inbound.payload)
                except ActionDataError:
                    break
                await spec.handler(ctx, data)
                return
        ctx.reply(self.texts.bad_action())

    def _error_reply(self, ctx: Context, exc: Exception) -> None:
        ctx.discard_pending()
        if isinstance(exc, UserError):
            ctx.reply(self.texts.unchanged(exc.text))
        elif isinstance(exc, Refused):
            ctx.reply(self.texts.unchanged(self.texts.refused(exc.code, exc.params, None)))
        elif isinstance(exc, WriteConflict):
            # a concurrent change to the same order won; nothing of ours was written
            log.info("conflict on %s: %s", ctx.inbound.event_id, exc)
            ctx.discard_uncommitted()
            ctx.reply(self.texts.conflict())
        else:
            ctx.discard_uncommitted()
            ref = error_ref()
            log.exception("handler failed (event %s, ref %s)", ctx.inbound.event_id, ref)
            ctx.reply(self.texts.internal_error(ref))

    async def _finish(self, ctx: Context) -> bool | None:
        """Write what is left (replies after the last commit) and mark the inbox row.

        False if the event was settled by another processor, None if it turned out a duplicate.
        """
        if ctx.inbox_done and not ctx.has_pending:
            return True  # the handler's own commit wrote everything: no transaction for nothing
        try:
            async with self.db.uow() as uow:
                await ctx._record(uow)
                enqueue(uow, ctx._take_pending(), self.clock())
                if not ctx.inbox_done:
                    await inbox.mark_done(uow, ctx.inbound.platform, ctx.inbound.event_id, self.clock())
                    ctx.inbox_done = True
            if uow.outbox_pending:
                self.wake_sender()
        except AlreadyRecorded:
            log.info("duplicate inbound %s:%s ignored", ctx.inbound.platform, ctx.inbound.event_id)
            return None
        except AlreadyProcessed:
            log.info("inbound %s was processed elsewhere; its replies stand, not ours", ctx.inbound.event_id)
            return False
        except Exception:
            log.exception("could not record the outcome of %s", ctx.inbound.event_id)
            if not ctx.inbox_recorded:
                await self._keep_for_recovery(ctx.inbound)
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
