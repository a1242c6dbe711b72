"""The ``gendan`` command line (composition only): serve, migrate, chat, grant, jobs, import, export,
outbox, backup."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from bot.config import Settings, load_settings

if TYPE_CHECKING:
    from datetime import datetime

    from storage.db import Database

log = logging.getLogger("gendan.cli")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gendan", description="跟单助手: order tracking in WeCom/DingTalk groups")
    sub = p.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run the server (webhooks, scheduler, outbox, console, API)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("migrate", help="apply database migrations")
    chat = sub.add_parser("chat", help="a terminal chat with the bot (local adapter)")
    chat.add_argument("--user", required=True)
    chat.add_argument("--name", default="")
    chat.add_argument("--chat", default="")
    grant = sub.add_parser("grant", help="give a role from the shell, e.g. gendan grant local:boss admin")
    grant.add_argument("who", help="PLATFORM:USER_ID")
    grant.add_argument("roles", nargs="+")
    sub.add_parser("jobs", help="list upcoming reminders")
    imp = sub.add_parser("import", help="import customers, products or historic orders from .xlsx/.csv")
    imp.add_argument("kind", choices=["customers", "products", "orders"])
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    imp.add_argument("--owner", help="owner of orders whose 负责人 cell is empty (name, user id or PLATFORM:USER_ID)")
    exp = sub.add_parser("export", help="export orders to .xlsx")
    exp.add_argument("kind", choices=["orders"])
    exp.add_argument("file")
    exp.add_argument("--from", dest="start", metavar="D", help="created on or after D (2026-12-01)")
    exp.add_argument("--to", dest="end", metavar="D", help="created on or before D (2026-12-31)")
    box = sub.add_parser("outbox", help="messages that could not be delivered: list them, or retry")
    box.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    box.add_argument("id", nargs="?", type=int, help="the parked message to retry")
    box.add_argument("--all", action="store_true", help="retry every parked message")
    back = sub.add_parser("backup", help="copy the SQLite database while the server runs (PostgreSQL: pg_dump)")
    back.add_argument("file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gendan`` and ``python -m bot``."""
    from bot import logs

    args = _parser().parse_args(argv)
    settings = load_settings()
    logs.configure(settings.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise at every start
    if args.cmd == "serve":
        overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
        return _serve(load_settings(**overrides) if overrides else settings)
    if args.cmd == "migrate":
        return asyncio.run(_migrate(settings))
    if args.cmd == "grant":
        return asyncio.run(_grant(settings, args.who, args.roles))
    if args.cmd == "chat":
        return asyncio.run(_chat(settings, args.user, args.name, args.chat))
    if args.cmd == "jobs":
        return asyncio.run(_jobs(settings))
    if args.cmd == "import":
        return asyncio.run(_import(settings, args.kind, args.file, args.dry_run, args.owner))
    if args.cmd == "export":
        return asyncio.run(_export(settings, args.file, args.start, args.end))
    if args.cmd == "outbox":
        return asyncio.run(_outbox(settings, args.action, args.id, args.all))
    if args.cmd == "backup":
        return asyncio.run(_backup(settings, args.file))
    return 2


def _serve(settings: Settings) -> int:
    from bot.access_log import AccessLogger
    from bot.app import create_app
    from bot.banner import banner_lines

    app = create_app(settings)
    print("\n".join(banner_lines(settings)))

    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log_class=AccessLogger)
    return 0


async def _migrate(settings: Settings) -> int:
    from storage.db import Database
    from storage.migrate import upgrade

    db = Database(settings.database_url)
    await upgrade(db.engine)
    await db.dispose()
    print("migrations applied")
    return 0


async def _grant(settings: Settings, who: str, roles: list[str]) -> int:
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.services import people
    from storage.vocab import Role

    if ":" not in who:
        print("who must be PLATFORM:USER_ID, e.g. local:boss", file=sys.stderr)
        return 2
    valid = {r.value for r in Role}
    bad = [r for r in roles if r not in valid]
    if bad:
        print(f"unknown role(s) {bad}; valid: {sorted(valid)}", file=sys.stderr)
        return 2
    platform, user_id = who.split(":", 1)
    db = Database(settings.database_url)
    await upgrade(db.engine)
    async with db.uow() as uow:
        person = await people.register(uow, platform, user_id, "", tenant=platform)
        _, after = await people.set_roles(uow, person, roles, [], None)
    await db.dispose()
    print(f"{who}: {', '.join(sorted(after))}")
    return 0


async def _chat(settings: Settings, user: str, name: str, chat: str) -> int:
    """Read lines from stdin, send each through the dispatcher, print what the chat receives."""
    from bot.app import build_core, wire_links
    from bot.local import PLATFORM, LocalTransport
    from bot.sender import OutboxSender
    from bot.terminal_chat import TerminalChat
    from storage.migrate import upgrade

    db, dispatcher = build_core(settings)
    await upgrade(db.engine)
    wire_links(dispatcher, db, settings)
    sender = OutboxSender(db, {PLATFORM: LocalTransport(db)}, dispatcher.texts)
    session = TerminalChat(db, dispatcher, sender, sys.stdout, user, name, chat)
    await session.start()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        await session.line(line)
    await db.dispose()
    return 0


async def _jobs(settings: Settings) -> int:
    from datetime import UTC, datetime

    from schedules.listing import upcoming
    from storage.db import Database
    from storage.migrate import upgrade

    db = Database(settings.database_url)
    await upgrade(db.engine)
    for line in await upcoming(db, settings, datetime.now(UTC)):
        print(line)
    await db.dispose()
    return 0


async def _import(settings: Settings, kind: str, file: str, dry_run: bool, owner: str | None) -> int:
    """Import one file; the report goes to stdout, the progress bar to stderr."""
    from datetime import UTC, datetime
    from pathlib import Path
    from typing import cast

    from handlers.import_export_cli import run_import
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.services.import_report import Kind

    db = Database(settings.database_url)
    try:
        await upgrade(db.engine)
        report, status = await run_import(db, cast(Kind, kind), Path(file), dry_run=dry_run,
                                          now=datetime.now(UTC), tz=settings.tz, default_owner=owner)
    finally:
        await db.dispose()
    print(report)
    return status


async def _export(settings: Settings, file: str, start: str | None, end: str | None) -> int:
    """Export orders (created from --from to --to, inclusive) to an .xlsx workbook."""
    from pathlib import Path

    from handlers.import_export_cli import run_export
    from storage.db import Database
    from storage.migrate import upgrade

    db = Database(settings.database_url)
    try:
        await upgrade(db.engine)
        message, status = await run_export(db, Path(file), start, end, settings.tz)
    finally:
        await db.dispose()
    print(message, file=sys.stderr if status else sys.stdout)
    return status


async def _outbox(settings: Settings, action: str, row_id: int | None, every: bool,
                  db: Database | None = None, now: datetime | None = None) -> int:
    """List parked messages, or put one (``retry ID``) or all (``retry --all``) back in line."""
    from datetime import UTC, datetime

    from bot import ops
    from storage.db import Database
    from storage.migrate import upgrade

    if action == "retry" and (row_id is None) == (not every):
        print("say which: gendan outbox retry ID, or gendan outbox retry --all", file=sys.stderr)
        return 2
    database = db or Database(settings.database_url)
    try:
        await upgrade(database.engine)
        if action == "retry":
            n = await ops.retry(database, now or datetime.now(UTC), None if every else row_id)
            print(f"{n} message(s) back in line" if n else "no such parked message")
            return 0 if n else 1
        lines = await ops.parked_lines(database)
        print("\n".join(lines) if lines else "no parked messages")
        return 0
    finally:
        if database is not db:
            await database.dispose()


async def _backup(settings: Settings, file: str) -> int:
    """SQLite: an online backup into FILE. PostgreSQL: print the pg_dump command that does it."""
    from pathlib import Path

    from bot import ops

    source = ops.sqlite_path(settings.database_url)
    if source is None:
        print("PostgreSQL is backed up with its own tool, while the server runs:", file=sys.stderr)
        print(ops.pg_dump_command(settings.database_url, file))
        return 0
    target = Path(file)
    if target.exists():
        print(f"{file} exists; give a new file name", file=sys.stderr)
        return 2
    if not source.exists():
        print(f"no database at {source}", file=sys.stderr)
        return 2
    pages = await ops.backup_sqlite(source, target)
    print(f"backed up {source} to {file} ({pages} pages)")
    return 0
