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
#: web/ serves through the framework; it never speaks to a platform
WEB_MAY_USE_BOT = {"bot.config", "bot.errors", "bot.events", "bot.outbound", "bot.dispatch", "bot.context",
                   "bot.commands", "bot.transport"}
#: …and reuses the chat's texts, parsers and the order pipeline /下单 runs (resolve fields, route events)
WEB_MAY_USE_HANDLERS = {"handlers.texts", "handlers.args", "handlers.common", "handlers.notify"}
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
    bad = {n for n in imports(path) if starts(n, "bot", "web", "handlers", "schedules", "aiohttp", "<dynamic import>",
                                              *PLATFORM_LIBS)}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("handlers"), ids=rel)
def test_handlers_are_platform_neutral(path: Path) -> None:
    names = imports(path)
    bad = {n for n in names if starts(n, "aiohttp", "web", "schedules", "<dynamic import>", *PLATFORM_LIBS)}
    bad |= {n for n in names if starts(n, "bot") and not any(starts(n, ok) for ok in HANDLER_MAY_USE_BOT)}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("bot/wecom") + modules("bot/dingtalk"), ids=rel)
def test_adapters_only_translate(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "handlers", "web", "storage", "schedules", "<dynamic import>")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", [p for p in modules("bot") if rel(p) not in COMPOSITION_ROOTS], ids=rel)
def test_only_composition_roots_wire_handlers(path: Path) -> None:
    bad = {n for n in imports(path) if starts(n, "handlers", "web", "schedules", "<dynamic import>")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("schedules"), ids=rel)
def test_schedules_use_only_storage_outbound_config_and_texts(path: Path) -> None:
    names = imports(path)
    bad = {n for n in names if starts(n, "aiohttp", "<dynamic import>", *PLATFORM_LIBS)}
    bad |= {n for n in names if starts(n, "bot") and not any(starts(n, ok) for ok in SCHEDULES_MAY_USE_BOT)}
    bad |= {n for n in names if starts(n, "handlers") and not starts(n, "handlers.texts")}
    bad |= {n for n in names if starts(n, "web")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", modules("web"), ids=rel)
def test_web_uses_the_framework_storage_and_the_chats_own_parts(path: Path) -> None:
    names = imports(path)
    bad = {n for n in names if starts(n, "schedules", "<dynamic import>", *PLATFORM_LIBS)}
    bad |= {n for n in names if starts(n, "bot") and not any(starts(n, ok) for ok in WEB_MAY_USE_BOT)}
    bad |= {n for n in names if starts(n, "handlers") and not any(starts(n, ok) for ok in WEB_MAY_USE_HANDLERS)}
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
    (test_schedules_use_only_storage_outbound_config_and_texts, "schedules/x.py", "from web import rest_api"),
    (test_storage_knows_no_web_and_no_platform, "storage/x.py", "from web.rest_schemas import OrderOut"),
    (test_handlers_are_platform_neutral, "handlers/x.py", "from web import dashboard_pages"),
    (test_only_composition_roots_wire_handlers, "bot/x.py", "from web import rest_api"),
    (test_adapters_only_translate, "bot/dingtalk/x.py", "from ...web import approval_pages"),
    (test_web_uses_the_framework_storage_and_the_chats_own_parts, "web/x.py", "from bot.wecom import client"),
    (test_web_uses_the_framework_storage_and_the_chats_own_parts, "web/x.py", "from schedules import terms"),
    (test_web_uses_the_framework_storage_and_the_chats_own_parts, "web/x.py", "from ..handlers import order_commands"),
    (test_web_uses_the_framework_storage_and_the_chats_own_parts, "web/x.py", "from bot.sender import OutboxSender"),
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
    """Chinese string literals in handlers/ and web/ are only in handlers/texts and the parser's word lists."""
    allowed = {"handlers/texts", "handlers/args"}
    offenders = []
    for path in modules("handlers") + modules("web"):
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


# --- one home for each responsibility -------------------------------------------------------------

#: the layers above storage: none of them speaks SQL
ABOVE_STORAGE = ("bot", "web", "handlers", "schedules")
LAYERS = ("bot", "web", "handlers", "storage", "schedules")
#: sub-packages whose modules are one per domain by design (a domain's parser, texts, tables,
#: operations, queries; the two adapters side by side): they may share their domain's name
PER_DOMAIN = ("handlers/args", "handlers/texts", "storage/models", "storage/services", "storage/repos",
              "bot/wecom", "bot/dingtalk", "storage/migrations")
ADAPTERS = ("bot/wecom", "bot/dingtalk")
MAX_LINES = 400


def product_modules() -> list[Path]:
    return [p for layer in LAYERS for p in modules(layer)]


@pytest.mark.parametrize("path", [p for layer in ABOVE_STORAGE for p in modules(layer)], ids=rel)
def test_only_storage_speaks_sql(path: Path) -> None:
    """No sqlalchemy import and no unit of work's ``.session`` outside ``storage/``."""
    source = path.read_text(encoding="utf-8")
    bad = sorted(n for n in imports(path) if starts(n, "sqlalchemy"))
    bad += [f"line {line}: {text}" for line, text in unit_of_work_sessions(ast.parse(source))]
    assert not bad, f"{rel(path)}: {bad}"


def unit_of_work_sessions(tree: ast.AST) -> list[tuple[int, str]]:
    """Every ``X.session`` where X is a unit of work: a name bound by ``async with ….uow()/reader() as X``
    or annotated ``UnitOfWork``, or any expression spelled with ``uow`` (an aiohttp client's
    ``self.session`` is not one)."""
    units: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                        and call.func.attr in {"uow", "reader"} and isinstance(item.optional_vars, ast.Name):
                    units.add(item.optional_vars.id)
        elif isinstance(node, ast.arg) and node.annotation is not None and "UnitOfWork" in ast.unparse(node.annotation):
            units.add(node.arg)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"session", "_session"}:
            base = ast.unparse(node.value)
            if base in units or "uow" in base.lower():
                found.append((node.lineno, f"{base}.{node.attr}"))
    return found


def module_graph(paths: list[Path]) -> dict[str, set[str]]:
    """module → the project modules it imports (every import, ``TYPE_CHECKING`` ones too); an imported
    name is resolved to the longest module it names (``bot.dispatch.Router`` → ``bot.dispatch``)."""
    names = {module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        imported_names = imports(path)
        for imported in imported_names:
            if imported in names and names[imported].name == "__init__.py" and any(
                    other.startswith(imported + ".") and other.rsplit(".", 1)[0] == imported and other in names
                    for other in imported_names):
                continue  # ``from pkg import module`` depends on the module, not on the package's __init__
            parts = imported.split(".")
            for cut in range(len(parts), 0, -1):
                candidate = ".".join(parts[:cut])
                if candidate in names:
                    if candidate != name:
                        targets.add(candidate)
                    break
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    assert cycles(module_graph(product_modules())) == []


@pytest.mark.parametrize("path", [p for p in product_modules() if "migrations/versions" not in rel(p)], ids=rel)
def test_modules_are_small(path: Path) -> None:
    """Over 400 lines a module holds more than one thing. Migrations are exempt: they are a frozen
    record of the schema's history and are never edited after they ship."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{rel(path)} has {lines} lines"


def test_top_modules_have_unique_names() -> None:
    """A layer's top module (``bot/sender.py``) has a name no other module has; modules of the
    per-domain sub-packages share their domain's name with each other by design."""
    by_name: dict[str, list[str]] = {}
    for path in product_modules():
        if path.name != "__init__.py":
            by_name.setdefault(path.stem, []).append(rel(path))
    clashes = {}
    for stem, paths in by_name.items():
        tops = [p for p in paths if not p.startswith(PER_DOMAIN)]
        others = [p for p in paths if p not in tops]
        if tops and tops[0].startswith("bot/"):
            # an adapter's module implements the framework's module of its name (bot/wecom/transport.py
            # is a bot/transport.py Transport)
            others = [p for p in others if not p.startswith(ADAPTERS)]
        if len(tops) > 1 or (tops and others):
            clashes[stem] = paths
    assert clashes == {}


@pytest.mark.parametrize("source", [
    "from sqlalchemy import select",
    "import sqlalchemy.exc",
    "async def f(uow):\n    await uow.session.get(1)",
    "async def f(db):\n    async with db.reader() as r:\n        r.session.add(1)",
    "async def f(u: UnitOfWork):\n    u.session.add(1)",
])
def test_sql_rule_catches_a_planted_query(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "handlers" / "x.py"
    target.parent.mkdir(parents=True)
    target.write_text(source + "\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError):
        test_only_storage_speaks_sql(target)


def test_sql_rule_leaves_an_http_client_session_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "bot" / "x.py"
    target.parent.mkdir(parents=True)
    target.write_text("class C:\n    def f(self):\n        return self.session.get('http://x')\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    test_only_storage_speaks_sql(target)


def test_cycle_rule_catches_a_planted_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two modules that import each other, one of them only for type checking, are a cycle."""
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "a.py").write_text("from bot.b import B\n", encoding="utf-8")
    (tmp_path / "bot" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.a import A\n", encoding="utf-8")
    (tmp_path / "bot" / "c.py").write_text("from bot import a\n", encoding="utf-8")
    (tmp_path / "bot" / "__init__.py").write_text("def f():\n    from bot import c\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert cycles(module_graph(modules("bot"))) == [["bot.a", "bot.b"]]
    assert cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == [["x", "y", "z"]]


def test_size_and_name_rules_catch_planted_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "storage" / "services").mkdir(parents=True)
    (tmp_path / "handlers" / "texts").mkdir(parents=True)
    big = tmp_path / "bot" / "big.py"
    big.write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError):
        test_modules_are_small(big)
    # per-domain sub-packages share a domain's name: allowed
    (tmp_path / "storage" / "services" / "orders.py").write_text("", encoding="utf-8")
    (tmp_path / "handlers" / "texts" / "orders.py").write_text("", encoding="utf-8")
    test_top_modules_have_unique_names()
    # a top module with the same name as another module: caught
    (tmp_path / "bot" / "orders.py").write_text("", encoding="utf-8")
    with pytest.raises(AssertionError):
        test_top_modules_have_unique_names()
