"""Operations: /metrics (latency, outbox depth, age and parked, inbox, reminder lag), JSON logs with
event ids, and ``gendan backup``."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot import cli, logs
from bot.app import DISPATCHER
from bot.command_limits import CommandLimits
from storage.db import Database
from storage.migrate import upgrade
from storage.models import InboxEvent, Person, Reminder
from tests.conftest import Bot, Clock, make_settings
from tests.fakes.wecom_harness import World, open_world


@pytest.fixture
async def world(db_url: tuple[str, dict[str, Any]], clock: Clock) -> AsyncIterator[World]:
    async with open_world(db_url, clock) as w:
        yield w


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


async def test_metrics_show_latency_depth_age_parked_inbox_and_reminder_lag(world: World, clock: Clock) -> None:
    w = world
    await w.say("zhangsan", "/下单 客户1 A100×1@10 交期12-15")  # delivered at once
    start = clock.now.timestamp()
    w.fake.outage("message/send", start, start + 3600)
    await w.say("zhangsan", "/下单 客户2 A100×2@10 交期12-15")  # waits in the outbox
    w.fake.invalid_users.add("lisi")
    w.fake.outage("message/send", 0, 0)
    clock.advance(seconds=90)
    await w.say("lisi", "/帮助")  # parked (lisi left); the earlier row goes now it is due
    async with w.db.uow() as uow:
        person = (await uow.session.execute(select(Person).where(Person.user_id == "zhangsan"))).scalar_one()
        uow.session.add(Reminder(kind="custom", due_at=clock() - timedelta(minutes=10), person_id=person.id,
                                 text="催款", status="PENDING"))
    w.fake.outage("message/send", clock.now.timestamp(), clock.now.timestamp() + 3600)
    await w.say("zhangsan", "/帮助")
    clock.advance(seconds=30)
    text = await (await w.client.get("/metrics")).text()
    assert metric(text, "gendan_command_seconds_count") == 4
    assert metric(text, 'gendan_outbox_rows{status="PARKED"}') == 1
    assert metric(text, 'gendan_outbox_rows{status="PENDING"}') == 1
    assert 29 <= metric(text, "gendan_outbox_oldest_undelivered_seconds") <= 31
    assert metric(text, "gendan_outbox_delivery_seconds_count") == 2  # the first reply, then the delayed one
    assert metric(text, 'gendan_outbox_delivery_seconds_bucket{le="0.1"}') == 1
    assert 600 <= metric(text, "gendan_reminder_lag_seconds") <= 640
    assert metric(text, "gendan_inbox_pending") == 0



async def test_inbox_gauges_fall_back_to_zero(world: World) -> None:
    """A status whose last row went away reads 0 on the next scrape, not the count it had."""
    async with world.db.uow() as uow:
        for n, status in enumerate(("PENDING", "PENDING", "FAILED")):
            uow.session.add(InboxEvent(platform="wecom", event_id=f"gauge-{n}", payload={}, status=status))
    text = await (await world.client.get("/metrics")).text()
    assert (metric(text, "gendan_inbox_pending"), metric(text, "gendan_inbox_failed")) == (2, 1)
    async with world.db.uow() as uow:
        await uow.session.execute(delete(InboxEvent).where(InboxEvent.event_id.like("gauge-%")))
    text = await (await world.client.get("/metrics")).text()
    assert (metric(text, "gendan_inbox_pending"), metric(text, "gendan_inbox_failed")) == (0, 0)

@pytest.fixture
def root_logging() -> Iterator[None]:
    """logs.configure replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


async def test_json_logs_carry_the_event_id(bot: Bot, root_logging: None) -> None:
    logs.configure("json")
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    bot.app[DISPATCHER].limits = CommandLimits(1, 100)  # the second message is logged as over the limit
    await bot.say("u1", "/帮助", chat="u1", msg_id="first-1")
    await bot.say("u1", "/帮助", chat="u1", msg_id="second-2")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    over = [r for r in records if "command rate" in r["message"]]
    assert over and over[0]["event_id"] == "local:second-2" and over[0]["level"] == "INFO"
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    logging.getLogger("gendan.test").warning("outside any event")
    last = json.loads(stream.getvalue().splitlines()[-1])
    assert "event_id" not in last and last["message"] == "outside any event"


def test_text_logs_stay_plain_lines(root_logging: None) -> None:
    logs.configure("text")
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logging.getLogger("gendan.test").info("hello")
    assert stream.getvalue().rstrip().endswith("INFO gendan.test: hello")


async def test_backup_copies_a_live_sqlite_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    db = Database(url)
    await upgrade(db.engine)
    stop = asyncio.Event()

    async def writer() -> int:  # the server keeps writing while the backup runs
        n = 0
        while not stop.is_set():
            async with db.uow() as uow:
                uow.session.add(Person(platform="local", user_id=f"w{n}", name="写入"))
            n += 1
            await asyncio.sleep(0)
        return n

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.2)
    target = tmp_path / "backup.db"
    assert await cli._backup(make_settings(url), str(target)) == 0
    stop.set()
    written = await task
    await db.dispose()
    assert "backed up" in capsys.readouterr().out
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        people = copy.execute("SELECT count(*) FROM people").fetchone()[0]
        assert 0 < people <= written
    finally:
        copy.close()
    assert await cli._backup(make_settings(url), str(target)) == 2  # never overwrites


async def test_backup_of_postgresql_prints_the_pg_dump_command(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+asyncpg://gendan@db.internal:5433/orders"
    assert await cli._backup(make_settings(url), "/backups/gendan.dump") == 0
    out = capsys.readouterr().out.strip()
    assert out == ("pg_dump --format=custom --file=/backups/gendan.dump --host=db.internal --port=5433 "
                   "--username=gendan orders")


async def test_outbox_command_line_forms(capsys: pytest.CaptureFixture[str]) -> None:
    parse = cli._parser().parse_args
    assert (parse(["outbox"]).action, parse(["outbox"]).id) == ("list", None)
    args = parse(["outbox", "retry", "--all"])
    assert (args.action, args.id, args.all) == ("retry", None, True)
    assert parse(["outbox", "retry", "42"]).id == 42
    settings = make_settings("sqlite+aiosqlite://")
    assert await cli._outbox(settings, "retry", None, False) == 2  # which one?
    assert await cli._outbox(settings, "retry", 42, True) == 2  # one, or all?
    assert "gendan outbox retry ID" in capsys.readouterr().err
