"""``gendan`` subcommands run in-process against a temporary SQLite file: migrate, grant, jobs, chat
(stdin to stdout, card presses included) and serve (with the web server stubbed: it would block)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot import cli


@pytest.fixture
def dbfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("GENDAN_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql).fetchall())


def test_migrate_creates_the_schema(dbfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out.strip() == "migrations applied"
    tables = {r[0] for r in rows(dbfile, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"orders", "people", "inbox", "outbox", "alembic_version"} <= tables


def test_grant_gives_roles_and_refuses_bad_input(dbfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["grant", "local:boss", "admin", "boss"]) == 0
    assert capsys.readouterr().out.strip() == "local:boss: admin, boss"
    assert rows(dbfile, "SELECT p.user_id, r.role FROM people p JOIN person_roles r ON r.person_id = p.id "
                        "ORDER BY r.role") == [("boss", "admin"), ("boss", "boss")]
    assert cli.main(["grant", "boss", "admin"]) == 2
    assert "PLATFORM:USER_ID" in capsys.readouterr().err
    assert cli.main(["grant", "local:boss", "emperor"]) == 2
    assert "unknown role(s) ['emperor']" in capsys.readouterr().err
    assert len(rows(dbfile, "SELECT * FROM person_roles")) == 2  # the refused grants changed nothing


def test_jobs_lists_the_periodic_jobs(dbfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert "tick" in out and "daily-digest" in out and "weekly-report" in out


def test_chat_reads_stdin_and_prints_replies_and_cards(dbfile: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["grant", "local:u1", "sales"]) == 0
    assert cli.main(["grant", "local:m1", "manager"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("/帮助\n\n/下单 华为 A100×50@300 交期12-15\n"))
    assert cli.main(["chat", "--user", "u1", "--name", "张三", "--chat", "g1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("跟单助手 terminal chat as u1 in g1.")
    assert "🤖 " in out and "可用命令" in out
    assert "#1 华为" in out and "主管" in out
    assert rows(dbfile, "SELECT no, state FROM orders") == [(1, "PENDING_APPROVAL")]
    # the manager presses the card's 通过 button from their own terminal
    [(approval_id,)] = rows(dbfile, "SELECT id FROM approvals")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"press ap:{approval_id}:ok\n"))
    assert cli.main(["chat", "--user", "m1", "--name", "王经理"]) == 0
    assert "#1" in capsys.readouterr().out
    assert rows(dbfile, "SELECT state FROM orders") == [("CONFIRMED",)]


def test_chat_prints_card_buttons() -> None:
    from bot.outbound import Button, Card, Message
    from bot.terminal_chat import TerminalChat

    out = io.StringIO()
    chat = TerminalChat(None, None, None, out, "m1", chat="g1")  # type: ignore[arg-type]  # printing only
    chat._show("g1", Message(kind="text", text="审批\n第二行", card=Card(title="t", body="b",
                                                                     buttons=(Button("通过", "ap:1:ok"),))))
    chat._show("m1", Message(kind="text", text="另一张", card=Card(title="t", body="b",
                                                               buttons=(Button("驳回", "ap:2:no"),))))
    assert out.getvalue() == ("🤖 审批\n   第二行\n   [1 通过] press 1   (ap:1:ok)\n"
                              "🤖 (1:1) 另一张\n   [2 驳回] press 2   (ap:2:no)\n")
    assert chat.buttons == {1: "ap:1:ok", 2: "ap:2:no"}


def test_serve_prints_the_banner_and_runs_the_app(dbfile: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ran: dict[str, Any] = {}

    def run_app(app: Any, **kwargs: Any) -> None:
        ran.update(kwargs, app=app)

    monkeypatch.setattr(cli.web, "run_app", run_app)
    assert cli.main(["serve", "--port", "9123"]) == 0
    assert ran["port"] == 9123 and ran["host"] == "127.0.0.1"
    assert "跟单助手 listening on http://127.0.0.1:9123" in capsys.readouterr().out
    assert cli.main(["serve"]) == 0
    assert ran["port"] == 8080


def test_python_dash_m_bot_is_the_same_program(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    monkeypatch.setattr("sys.argv", ["gendan", "--help"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("bot", run_name="__main__")
    assert exc.value.code == 0
