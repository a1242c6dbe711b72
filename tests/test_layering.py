"""The import rules of the README's conventions, checked by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSITION_ROOTS = {"bot/app.py", "bot/cli.py", "bot/__main__.py"}
HANDLER_MAY_USE_BOT = {"bot.events", "bot.commands", "bot.context", "bot.outbound", "bot.dispatch", "bot.errors"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def starts(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", modules("storage"), ids=rel)
def test_storage_knows_no_web_and_no_platform(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "bot", "handlers", "schedules", "aiohttp")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("handlers"), ids=rel)
def test_handlers_are_platform_neutral(path: Path) -> None:
    names = imports(path)
    bad = {n for n in names if starts(n, "aiohttp", "bot.wecom", "bot.dingtalk", "bot.app", "bot.local")}
    bad |= {n for n in names if starts(n, "bot") and not any(starts(n, ok) for ok in HANDLER_MAY_USE_BOT)}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("bot/wecom") + modules("bot/dingtalk"), ids=rel)
def test_adapters_only_translate(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "handlers", "storage", "schedules")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", [p for p in modules("bot") if rel(p) not in COMPOSITION_ROOTS], ids=rel)
def test_only_composition_roots_wire_handlers(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "handlers", "schedules")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("schedules"), ids=rel)
def test_schedules_use_no_web_server_or_platform(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "aiohttp", "bot.wecom", "bot.dingtalk", "bot.app", "handlers")
           and not starts(n, "handlers.texts")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


def test_user_facing_chinese_lives_in_texts() -> None:
    """Chinese string literals in handlers/ are only in handlers/texts and the parser's word lists."""
    allowed = {"handlers/texts", "handlers/args", "handlers/notify.py"}  # notify: topic names (identifiers)
    offenders = []
    for path in modules("handlers"):
        if any(rel(path).startswith(a) for a in allowed):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        doc_nodes = {id(n.body[0].value) for n in ast.walk(tree)
                     if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                     and n.body and isinstance(n.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in doc_nodes \
                    and any("\u4e00" <= ch <= "\u9fff" for ch in node.value):
                offenders.append(f"{rel(path)}:{node.lineno}: {node.value[:30]}")
    # command names are identifiers people type; they are registered by name
    offenders = [o for o in offenders if o.split(": ", 1)[1] not in COMMAND_NAMES]
    assert offenders == []


COMMAND_NAMES = {
    "下单", "开单", "新订单", "补充", "提交", "撤回", "审批", "变更", "查单", "查询", "查看", "订单",
    "生产", "完工", "发货", "签收", "回款", "挂起", "恢复", "关闭", "作废", "重开", "跟进", "角色",
    "订阅", "退订", "绑定", "解绑", "帮助", "？", "客户", "库存", "入库", "提醒", "售后", "报表",
    "对账",
}
