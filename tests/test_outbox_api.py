"""The outbox API (``storage/outgoing.py``) is the only way messages leave, and what it writes."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.outbound import Card, Message
from storage.db import Database
from storage.models import LocalMessage, OutboxMessage
from storage.outgoing import LOCAL_PLATFORM, Outbox, Target, write_all
from tests.conftest import Clock

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("bot", "web", "handlers", "storage", "schedules")
#: the API's own module: the only one that makes outbox rows
API = "storage/outgoing.py"
#: what makes an outbox row: the low-level write, the row's table, the unwritten message
ROW_MAKERS = {"enqueue", "_enqueue", "_deliver_local", "OutboxMessage", "Envelope"}


def product_modules() -> list[Path]:
    return [p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))]


def row_makers(tree: ast.AST) -> list[str]:
    """Every call of the low-level write, every construction of an outbox row or an envelope, every
    ``insert(OutboxMessage)`` and every import of the low-level write."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).rsplit(".", 1)[-1]
            if name in ROW_MAKERS:
                found.append(f"line {node.lineno}: {ast.unparse(node.func)}(…)")
            elif name == "insert" and any("OutboxMessage" in ast.unparse(a) for a in node.args):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in {"enqueue", "_enqueue"}]
    return found


@pytest.mark.parametrize("path", [p for p in product_modules() if p.relative_to(ROOT).as_posix() != API],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_only_the_outbox_api_makes_outbox_rows(path: Path) -> None:
    """Every message leaves through ``Outbox.send`` / ``Outbox.update_card`` (``storage/outgoing.py``)."""
    bad = row_makers(ast.parse(path.read_text(encoding="utf-8")))
    assert not bad, f"{path.relative_to(ROOT).as_posix()}: {bad}"


@pytest.mark.parametrize("source", [
    "from storage.outgoing import _enqueue\nasync def f(uow, now):\n    _enqueue(uow, [], now)",
    "from storage import outgoing\ndef f(uow, now):\n    outgoing._enqueue(uow, [], now)",
    "from storage.models import OutboxMessage\ndef f(uow):\n    uow.session.add(OutboxMessage(platform='x'))",
    "from storage.outbox import Envelope\ndef f():\n    return [Envelope('local', 'c', 'single', {})]",
    "from sqlalchemy import insert\nasync def f(uow):\n    await uow.session.execute(insert(OutboxMessage).values())",
])
def test_the_rule_catches_a_stray_write(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "handlers" / "x.py"
    target.parent.mkdir(parents=True)
    target.write_text(source + "\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError):
        test_only_the_outbox_api_makes_outbox_rows(target)


def card(key: str, title: str) -> Message:
    return Message(kind="card", text=title, card=Card(title=title, body=""), card_key=key)


async def rows(db: Database) -> list[tuple[str, str, str, str | None, str | None]]:
    async with db.reader() as uow:
        found = await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(r.op, r.platform, r.chat_id, r.event_key, r.message["text"]) for r in found.scalars()]


async def test_a_card_update_reaches_every_chat_the_card_went_to(db: Database, clock: Clock) -> None:
    """``update_card(card_key, message)`` finds the card's chats when written, in the order things were put."""
    out = Outbox()
    out.send(Target("wecom", "u1", "single"), card("ap:1", "待审批"), "card:1")
    out.send(Target("wecom", "g1", "group"), card("ap:1", "待审批"), "card:1")
    out.send(Target("wecom", "u2", "single"), card("ap:2", "另一张"), "card:2")
    async with db.uow() as uow:
        await out.write(uow, clock())
        assert uow.outbox_pending  # rows wait for the sender: the caller wakes it after the commit
    later = Outbox()
    later.send(Target("wecom", "u9", "single"), Message.plain("已通过"), "done:1")
    later.update_card("ap:1", card("ap:1", "已通过"))
    later.update_card("ap:9", card("ap:9", "从未发出"))  # a card never sent: nothing to update
    assert len(later) == 3 and later.needs_sender
    async with db.uow() as uow:
        await later.write(uow, clock())
    written = (await rows(db))[3:]
    assert written[0] == ("send", "wecom", "u9", "done:1", "已通过")
    assert sorted(written[1:]) == [("update", "wecom", "g1", None, "已通过"), ("update", "wecom", "u1", None, "已通过")]


async def test_local_messages_are_delivered_in_the_commit_and_a_batch_is_one_write(
        db: Database, clock: Clock) -> None:
    """Many outboxes written together (a group commit's batch); local rows need no sender."""
    first, second = Outbox(), Outbox()
    first.send(Target(LOCAL_PLATFORM, "c1", "single"), Message.plain("一"), reply_to="e1")
    second.send(Target(LOCAL_PLATFORM, "c1", "single"), Message.plain("二"), reply_to="e2")
    assert not first.needs_sender
    async with db.uow() as uow:
        await write_all(uow, [*first.items, *second.items], clock())
        assert not uow.outbox_pending
    async with db.reader() as uow:
        mailbox = (await uow.session.execute(select(LocalMessage.message).order_by(LocalMessage.id))).scalars()
        assert [m["text"] for m in mailbox] == ["一", "二"]
    assert [r[4] for r in await rows(db)] == ["一", "二"]
    assert len(first) == 1  # written, not consumed: a failed batch is written again item by item


def test_take_hands_over_and_discard_forgets() -> None:
    out = Outbox()
    out.send(Target("wecom", "g1", "group"), Message.plain("x"))
    taken = out.take()
    assert (len(out), len(taken)) == (0, 1)
    out.extend(taken)
    assert (len(out), len(taken)) == (1, 0)
    out.discard()
    assert len(out) == 0 and not out.needs_sender


async def test_a_reader_cannot_write_messages_or_audit_events(db: Database, clock: Clock) -> None:
    # Core writes bypass the reader's check of the ORM session at commit: they refuse at once instead
    from storage.services.base import Provenance, audit

    outbox = Outbox()
    outbox.send(Target("local", "g1", "group"), Message(kind="text", text="hi"))
    with pytest.raises(RuntimeError, match="read-only"):
        async with db.reader() as uow:
            await outbox.write(uow, clock())
    with pytest.raises(RuntimeError, match="read-only"):
        async with db.reader() as uow:
            audit(uow, Provenance(1, "local", "u1", "张三", frozenset()), "note", None, clock())
