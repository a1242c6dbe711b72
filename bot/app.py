"""Composition root of the server: ``create_app(settings)`` → ``web.Application``.

Owns, through typed ``AppKey``s and a ``cleanup_ctx``: the database, the
shared ``ClientSession``, the dispatcher, the outbox sender and the platform
adapters. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

from bot import dingtalk, local, web_console, wecom
from bot.body_deadline import body_deadline
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.longconn import Connections
from bot.metrics import Metrics, setup_metrics
from bot.sender import OutboxSender
from bot.transport import Transport
from schedules.scheduler import ReminderScheduler
from storage.db import Database
from storage.migrate import upgrade
from storage.services import import_batch
from web import approval_pages, dashboard_pages, quote_sheet_pages, rest_api, signed_links, statement_download

log = logging.getLogger("gendan.app")

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
SENDER = web.AppKey("sender", OutboxSender)
SCHEDULER = web.AppKey("scheduler", ReminderScheduler)
HTTP = web.AppKey("http", aiohttp.ClientSession)
METRICS = web.AppKey("metrics", Metrics)
CONNECTIONS = web.AppKey("connections", Connections)

MAX_BODY = 1024 * 1024


def build_core(settings: Settings, clock: Callable[[], datetime] | None = None,
               db: Database | None = None) -> tuple[Database, Dispatcher]:
    """The database and a dispatcher with every router (also used by the CLI)."""
    import handlers
    from handlers.texts import shared_replies as replies

    db = db or Database(settings.database_url)
    dispatcher = Dispatcher(db, settings, replies, clock=clock)
    dispatcher.include_routers(*handlers.routers())
    return db, dispatcher


@web.middleware
async def never_5xx(request: web.Request, handler: Any) -> web.StreamResponse:
    """Nothing a client sends may produce a 5xx: log the bug, answer 400 with a reference."""
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except web.HTTPException:
        raise
    except Exception:
        from bot.errors import error_ref

        ref = error_ref()
        log.exception("request %s %s failed (ref %s)", request.method, request.path, ref)
        return web.json_response({"error": "request could not be processed", "ref": ref}, status=400)


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None,
               migrate: bool = True, transports: dict[str, Transport] | None = None,
               run_sender: bool = True, run_scheduler: bool | None = None,
               db: Database | None = None) -> web.Application:
    """Build the application; resources open in its cleanup context."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[never_5xx, body_deadline(settings.body_timeout)])
    db, dispatcher = build_core(settings, clock, db)
    sender = OutboxSender(db, dict(transports or {}), dispatcher.texts, clock=clock, owner=dispatcher.instance_id)
    sender.transports.setdefault(local.PLATFORM, local.LocalTransport(db))
    dispatcher.set_sender_wake(sender.wake)
    scheduler = ReminderScheduler(db, settings, clock=clock, wake=sender.wake)
    app[SCHEDULER] = scheduler
    # tests that drive the outbox by hand drive the scheduler by hand too
    start_scheduler = run_sender if run_scheduler is None else run_scheduler
    app[SETTINGS] = settings
    app[DB] = db
    app[DISPATCHER] = dispatcher
    app[SENDER] = sender
    connections = Connections()
    app[CONNECTIONS] = connections
    app[METRICS] = metrics = setup_metrics(app, db, connections, clock=dispatcher.clock)
    dispatcher.on_processed = metrics.command_seconds.observe
    sender.on_sent = metrics.delivery_seconds.observe

    async def resources(app: web.Application) -> AsyncIterator[None]:
        if migrate:
            await upgrade(db.engine)
        await _undo_abandoned_imports(db)
        app[HTTP] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        _platform_transports(sender, app[HTTP], settings)
        # long connections need no public URL; each platform adds its own when its keys are set
        _long_connections(connections, sender, app[HTTP], settings, dispatcher)
        connections.start()
        # replays what a crash left behind, now and every minute (other instances may crash too)
        stop_recovery = asyncio.Event()
        recovery = asyncio.create_task(dispatcher.keep_recovering(stop_recovery), name="inbox-recovery")
        if run_sender:
            sender.start()
        if start_scheduler:
            scheduler.start()
        yield
        # stop hearing new events first, then finish what was heard
        await connections.stop()
        stop_recovery.set()
        await recovery
        if start_scheduler:
            await scheduler.stop()
        await dispatcher.drain()
        if run_sender:
            await sender.stop()
        await app[HTTP].close()
        await db.dispose()

    app.cleanup_ctx.append(resources)
    app.router.add_get("/healthz", _healthz)
    if settings.local_adapter_on:
        local.setup_routes(app, dispatcher, sender, db)
        web_console.setup_routes(app)
    rest_api.setup_routes(app, dispatcher)
    # Platform callbacks: each adapter registers only what its keys configure.
    wecom.setup_routes(app, dispatcher, settings)
    dingtalk.setup_routes(app, dispatcher, settings)
    approval_pages.setup_routes(app, dispatcher, settings, approval_pages.LinkKeys(db, settings))
    _setup_board(app, db, settings, dispatcher)
    return app


def _setup_board(app: web.Application, db: Database, settings: Settings, dispatcher: Dispatcher) -> None:
    """The dashboard pages, and the /看板 link maker the handler finds on the dispatcher."""
    from schedules.terms import payment_due

    keys = approval_pages.LinkKeys(db, settings)
    dashboard_pages.setup_routes(app, db, settings, keys, clock=dispatcher.clock, payment_due=payment_due)
    # the /对账 workbook: its download route; the link makers go on the dispatcher
    statement_download.setup_routes(app, db, settings, keys, clock=dispatcher.clock)
    # the quotation sheet for the customer: its page and workbook
    quote_sheet_pages.setup_routes(app, db, settings, keys, clock=dispatcher.clock)
    wire_links(dispatcher, db, settings)


def wire_links(dispatcher: Dispatcher, db: Database, settings: Settings) -> None:
    """The /看板, /对账 and quotation-sheet link makers the handlers find on the dispatcher: signed with the key the
    server keeps in the database, on ``GENDAN_PUBLIC_URL`` (``gendan chat`` uses the same)."""
    keys = approval_pages.LinkKeys(db, settings)
    dispatcher.board_link = signed_links.link_maker(settings, keys, dispatcher.clock)
    dispatcher.statement_link = signed_links.statement_link_maker(settings, keys, dispatcher.clock)
    dispatcher.quote_link = quote_sheet_pages.link_maker(settings, keys)


def _platform_transports(sender: OutboxSender, session: aiohttp.ClientSession, settings: Settings) -> None:
    """Outbound transports; tests may have put fakes in already. Both also serve bound group robots."""
    if "wecom" not in sender.transports:
        sender.transports["wecom"] = wecom.WeComTransport(wecom.WeComClient.from_settings(session, settings))
    if "dingtalk" not in sender.transports:
        links = approval_pages.LinkKeys(sender.db, settings).link_source(sender.clock)
        sender.transports["dingtalk"] = dingtalk.DingTalkTransport(dingtalk.DingTalkClient(session, settings),
                                                                   settings, None, link_source=links)


def _long_connections(connections: Connections, sender: OutboxSender, session: aiohttp.ClientSession,
                      settings: Settings, dispatcher: Dispatcher) -> None:
    """The WeCom AI-bot WebSocket and the DingTalk Stream connection, for whichever is configured.

    Each platform's function registers its connection and, where replies and pushes
    leave over that connection, hands it to the platform's transport in ``sender``.
    """
    wecom.add_long_connection(connections, sender.transports, session, settings, dispatcher)
    dingtalk.add_long_connection(connections, sender.transports, session, settings, dispatcher)


async def _healthz(request: web.Request) -> web.Response:
    ok = await request.app[DB].ping()
    body: dict[str, Any] = {"status": "ok" if ok else "error", "db": "ok" if ok else "down"}
    connections = request.app[CONNECTIONS]
    if len(connections):
        # reported, not judged: a platform outage must not make an orchestrator restart a healthy server
        body["connections"] = connections.health()
    return web.json_response(body, status=200 if ok else 503)


async def _undo_abandoned_imports(db: Database) -> None:
    """An order import killed midway left a batch of its orders: undo it at start (as the next
    ``gendan import`` would), so those orders don't linger until someone imports again."""
    try:
        undone = await import_batch.undo_abandoned(db)
    except Exception:  # the server must come up: the next import or start tries again
        log.exception("could not check for abandoned imports")
        return
    if undone:
        log.warning("undid %d order import(s) left unfinished by a killed process", undone)
