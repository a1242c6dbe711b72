"""The import rules of the README's conventions, checked by walking every module's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the README: "bot/app.py and bot/cli.py are the only composition roots"
COMPOSITION_ROOTS = {"bot/app.py", "bot/cli.py"}
HANDLER_MAY_USE_BOT = {"bot.events", "bot.commands", "bot.context", "bot.outbound", "bot.dispatch", "bot.routing",
                       "bot.errors"}
SCHEDULES_MAY_USE_BOT = {"bot.outbound", "bot.config"}
#: the platforms' libraries: only the adapters (and the composition roots) speak to a platform
PLATFORM_LIBS = ("wechatpy", "dingtalk", "dingtalk_stream", "xmltodict", "bot.wecom", "bot.dingtalk")


def module_name(path: Path) -> str:
    """``bot/wecom/routes.py`` → ``bot.wecom.routes``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, absolute: relative imports are resolved against ``module``,
    and ``importlib.import_module("…")`` / ``__import__("…")`` with a literal name count too."""
    tree = ast.parse(source)
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                if node.level - 1 > len(package):
                    raise AssertionError(f"{module}: relative import beyond the top level")
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            if prefix:
                found.add(prefix)
            found.update(f"{prefix}.{alias.name}".lstrip(".") for alias in node.names)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in {"importlib.import_module", "import_module",
                                                                      "__import__"}:
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
            else:
                found.add("<dynamic import>")  # a computed name could be anything: never allowed
    return found


def imports(path: Path) -> set[str]:
    return imports_of(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def starts(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", modules("storage"), ids=rel)
def test_storage_knows_no_web_and_no_platform(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "bot", "handlers", "schedules", "aiohttp", "<dynamic import>",
                                              *PLATFORM_LIBS)}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("handlers"), ids=rel)
def test_handlers_are_platform_neutral(path: Path) -> None:
    names = imports(path)
    bad = {n for n in names if starts(n, "aiohttp", "schedules", "<dynamic import>", *PLATFORM_LIBS)}
    bad |= {n for n in names if starts(n, "bot") and not any(starts(n, ok) for ok in HANDLER_MAY_USE_BOT)}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("bot/wecom") + modules("bot/dingtalk"), ids=rel)
def test_adapters_only_translate(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "handlers", "storage", "schedules", "<dynamic import>")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", [p for p in modules("bot") if rel(p) not in COMPOSITION_ROOTS], ids=rel)
def test_only_composition_roots_wire_handlers(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "handlers", "schedules", "<dynamic import>")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("schedules"), ids=rel)
def test_schedules_use_only_storage_outbound_config_and_texts(path: Path) -> None:
    names = imports(path)
    bad = {n for n in names if starts(n, "aiohttp", "<dynamic import>", *PLATFORM_LIBS)}
    bad |= {n for n in names if starts(n, "bot") and not any(starts(n, ok) for ok in SCHEDULES_MAY_USE_BOT)}
    bad |= {n for n in names if starts(n, "handlers") and not starts(n, "handlers.texts")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize(("module", "is_package", "source", "expected"), [
    ("storage.services.orders", False, "from ..models import Order", {"storage.models", "storage.models.Order"}),
    ("storage.services.orders", False, "from . import base", {"storage.services", "storage.services.base"}),
    ("storage.services", True, "from .base import audit", {"storage.services.base", "storage.services.base.audit"}),
    ("handlers.info", False, "from ..bot import app", {"bot", "bot.app"}),
    ("handlers.info", False, "import importlib\nimportlib.import_module('bot.wecom.client')",
     {"importlib", "bot.wecom.client"}),
    ("handlers.info", False, "__import__(name)", {"<dynamic import>"}),
])
def test_imports_are_resolved(module: str, is_package: bool, source: str, expected: set[str]) -> None:
    assert imports_of(source, module, is_package) == expected


@pytest.mark.parametrize(("test", "path", "source"), [
    (test_storage_knows_no_web_and_no_platform, "storage/services/x.py", "from ...bot.app import DB"),
    (test_storage_knows_no_web_and_no_platform, "storage/services/x.py", "from wechatpy import WeChatClient"),
    (test_handlers_are_platform_neutral, "handlers/x.py", "from ..bot import wecom"),
    (test_handlers_are_platform_neutral, "handlers/x.py", "from schedules import jobs"),
    (test_handlers_are_platform_neutral, "handlers/x.py", "from bot.outbox import OutboxSender"),
    (test_adapters_only_translate, "bot/wecom/x.py", "from ...storage import models"),
    (test_only_composition_roots_wire_handlers, "bot/x.py", "from ..handlers import orders"),
    (test_schedules_use_only_storage_outbound_config_and_texts, "schedules/x.py", "from bot.dispatch import D"),
    (test_schedules_use_only_storage_outbound_config_and_texts, "schedules/x.py", "from ..handlers import info"),
])
def test_each_rule_catches_a_planted_import(test: Any, path: str, source: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rule fails on a forbidden import, relative or absolute (a rule that cannot fail checks nothing)."""
    fake_root = tmp_path
    target = fake_root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source + "\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    with pytest.raises(AssertionError):
        test(target)


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
