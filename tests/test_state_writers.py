"""Only ``storage/lifecycle.py`` writes ``Order.state``: an AST check of every module that no spelling
walks past (any variable name, ``setattr``, ``__dict__``, ``update(Order).values(state=…)``, raw SQL,
a constructor that starts an order anywhere but DRAFT), and the check's own tests on planted snippets."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "schedules", "web")
#: the one writer
LIFECYCLE = "storage/lifecycle.py"
#: Functions that call ``setattr`` with a name that is not a literal, and why that name is never ``state``.
#: Anything else doing so is an offence: a dynamic name could be "state".
DYNAMIC_SETATTR_OK = {
    # the importer's update of customers and products; checked below that no caller passes an order
    ("storage/services/import_catalogue.py", "apply_changes"),
}
SQL_STATE_WRITE = re.compile(r"\b(update\s+\"?orders\"?\b.*\bset\b.*\bstate\b|insert\s+into\s+\"?orders\"?\b)",
                             re.IGNORECASE | re.DOTALL)


def _is_draft(node: ast.expr) -> bool:
    """``State.DRAFT.value`` or ``"DRAFT"``: a new order starts as a draft (not a transition)."""
    if isinstance(node, ast.Constant):
        return node.value == "DRAFT"
    return ast.unparse(node) in {"State.DRAFT.value", "State.DRAFT", "S.DRAFT", "S.DRAFT.value"}


def _loop_strings(func: ast.AST, name: str) -> set[str] | None:
    """The strings a ``for name in (<literal strings>)`` loop in ``func`` binds, None if not such a loop."""
    for node in ast.walk(func):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and node.target.id == name \
                and isinstance(node.iter, ast.Tuple | ast.List | ast.Set):
            values = [e.value for e in node.iter.elts if isinstance(e, ast.Constant)]
            if len(values) == len(node.iter.elts) and all(isinstance(v, str) for v in values):
                return set(values)
    return None


def _state_key(node: ast.expr | None) -> bool:
    return (isinstance(node, ast.Constant) and node.value == "state") or \
        (isinstance(node, ast.Attribute) and node.attr == "state")


def offences(source: str, path: str = "<snippet>") -> list[str]:
    """Every place in ``source`` that writes, or may write, an order's state (empty: none)."""
    tree = ast.parse(source)
    found: list[str] = []
    enclosing: dict[int, ast.AST] = {}
    classes: dict[int, str] = {}
    for top in ast.walk(tree):
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            # ast.walk visits outer definitions first, so the innermost one is written last
            for inner in ast.walk(top):
                if isinstance(top, ast.ClassDef):
                    classes[id(inner)] = top.name
                elif inner is not top:
                    enclosing[id(inner)] = top

    def where(node: ast.AST, what: str) -> None:
        found.append(f"{path}:{getattr(node, 'lineno', 0)}: {what}")

    def stores(target: ast.expr) -> list[ast.expr]:
        return [n for n in ast.walk(target) if isinstance(n, ast.Attribute | ast.Subscript)]

    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        elif isinstance(node, ast.NamedExpr):
            targets = [node.target]
        for target in targets:
            for store in stores(target):
                if isinstance(store, ast.Attribute) and store.attr == "state":
                    # a non-order object's own status (e.g. a connection's state) is written through self
                    own = isinstance(store.value, ast.Name) and store.value.id == "self" \
                        and classes.get(id(node)) not in (None, "Order")
                    if not own:
                        where(node, f"assigns {ast.unparse(store)}")
                elif isinstance(store, ast.Subscript) and _state_key(store.slice) and (
                        (isinstance(store.value, ast.Attribute) and store.value.attr == "__dict__")
                        or (isinstance(store.value, ast.Call) and ast.unparse(store.value.func) == "vars")):
                    where(node, f"assigns {ast.unparse(store)}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_STATE_WRITE.search(node.value):
            where(node, "raw SQL writing orders")
        if not isinstance(node, ast.Call):
            continue
        func = ast.unparse(node.func)
        short = func.rsplit(".", 1)[-1]
        if short in {"setattr", "__setattr__", "set_committed_value", "set_attribute"}:
            name = node.args[1] if len(node.args) > 1 else None
            own = bool(node.args) and ast.unparse(node.args[0]) == "self" \
                and classes.get(id(node)) not in (None, "Order")
            if own:
                pass  # a class's own fields (a frozen dataclass cleaning itself), never an order
            elif name is None or (isinstance(name, ast.Constant) and name.value == "state"):
                where(node, f"{func}(…, 'state', …)")
            elif not isinstance(name, ast.Constant):
                scope = enclosing.get(id(node))
                scope_name = getattr(scope, "name", "<module>")
                bound = _loop_strings(scope, name.id) if scope is not None and isinstance(name, ast.Name) else None
                if bound is not None:
                    if "state" in bound:
                        where(node, f"{func} over names including 'state'")
                elif (path, scope_name) not in DYNAMIC_SETATTR_OK:
                    where(node, f"{func} with a computed name in {scope_name}()")
        if short in {"values", "update", "insert", "upsert", "bulk_update_mappings", "bulk_insert_mappings",
                     "on_conflict_do_update", "Order"} or func.endswith(("__table__.update", "__table__.insert")):
            for kw in node.keywords:
                if kw.arg == "state" and not (short == "Order" and _is_draft(kw.value)):
                    where(node, f"{func}(state=…)")
                if kw.arg is None and short in {"values", "Order"}:
                    where(node, f"{func}(**…) could carry state")
                if kw.arg == "set_" and isinstance(kw.value, ast.Dict) and any(map(_state_key, kw.value.keys)):
                    where(node, f"{func}(set_={{state: …}})")
            for arg in node.args:
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Dict) and any(map(_state_key, sub.keys)) and short != "Order":
                        where(node, f"{func}({{'state': …}})")
            if short in {"update", "insert"} and node.args and ast.unparse(node.args[0]) in {"Order", "orders"}:
                where(node, f"{func}(Order): orders are written through the ORM and the lifecycle")
        if short == "execute" and len(node.args) > 1:
            for sub in ast.walk(node.args[1]):
                if isinstance(sub, ast.Dict) and any(map(_state_key, sub.keys)):
                    where(node, "execute(…, [{'state': …}]) bulk write")
    return found


def project_modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                  if "migrations/versions" not in p.as_posix())


def test_only_the_lifecycle_writes_order_state() -> None:
    checked = 0
    offenders: list[str] = []
    for path in project_modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel == LIFECYCLE:
            continue
        offenders += offences(path.read_text(encoding="utf-8"), rel)
        checked += 1
    assert checked > 100, "the walk found too few modules to mean anything"
    assert offenders == []


def test_the_lifecycle_is_where_the_writer_is() -> None:
    """The check is not vacuous: the lifecycle's own writer is found by it."""
    found = offences((ROOT / LIFECYCLE).read_text(encoding="utf-8"), LIFECYCLE)
    assert any("assigns order.state" in f for f in found), found


def test_apply_changes_never_gets_an_order() -> None:
    """The one dynamic ``setattr`` allowed is only ever called with customers and products."""
    source = (ROOT / "storage/services/import_catalogue.py").read_text(encoding="utf-8")
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
             and ast.unparse(n.func) == "apply_changes"]
    assert calls, "apply_changes is no longer called: drop it from DYNAMIC_SETATTR_OK"
    for path in project_modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel != "storage/services/import_catalogue.py":
            assert "apply_changes" not in path.read_text(encoding="utf-8"), rel
    for call in calls:
        first = ast.unparse(call.args[0])
        assert first == "found", f"apply_changes({first}, …): prove it is not an order"
    # ``found`` is bound from a lookup of Customer or Product rows only
    for func in ast.walk(ast.parse(source)):
        if isinstance(func, ast.AsyncFunctionDef) and any(
                isinstance(c, ast.Call) and ast.unparse(c.func) == "apply_changes" for c in ast.walk(func)):
            assert "Order" not in ast.unparse(func), func.name


PLANTED = {
    "another variable name": "def f(o):\n    o.state = 'CONFIRMED'\n",
    "an order attribute chain": "def f(step):\n    step.order.state = 'CLOSED'\n",
    "tuple assignment": "def f(o, x):\n    o.state, x = 'CLOSED', 1\n",
    "augmented": "def f(o):\n    o.state += ''\n",
    "annotated": "def f(o):\n    o.state: str = 'CLOSED'\n",
    "walrus-free loop target": "def f(os):\n    for o.state in ['A']:\n        pass\n",
    "setattr literal": "def f(o):\n    setattr(o, 'state', 'CLOSED')\n",
    "setattr via a variable": "def f(o):\n    name = 'sta' + 'te'\n    setattr(o, name, 'CLOSED')\n",
    "setattr in a loop over names": "def f(o, a):\n    for k in ('note', 'state'):\n        setattr(o, k, a[k])\n",
    "object.__setattr__": "def f(o):\n    object.__setattr__(o, 'state', 'CLOSED')\n",
    "set_committed_value": "def f(o):\n    set_committed_value(o, 'state', 'CLOSED')\n",
    "__dict__": "def f(o):\n    o.__dict__['state'] = 'CLOSED'\n",
    "vars()": "def f(o):\n    vars(o)['state'] = 'CLOSED'\n",
    "update().values(state=)": "stmt = update(Order).where(Order.id == 1).values(state='CLOSED')\n",
    "sa.update(Order)": "stmt = sa.update(Order).where(Order.id == 1).values(note='x')\n",
    "values({Order.state: })": "stmt = update(T).values({Order.state: 'CLOSED'})\n",
    "values(**kw)": "def f(kw):\n    return update(T).values(**kw)\n",
    "table update": "stmt = Order.__table__.update().values(state='CLOSED')\n",
    "bulk execute": "async def f(s):\n    await s.execute(update(T), [{'id': 1, 'state': 'CLOSED'}])\n",
    "raw SQL": "q = text(\"UPDATE orders SET note = 'x', state = 'CLOSED' WHERE id = 1\")\n",
    "raw SQL insert": "q = text('INSERT INTO orders (no, state) VALUES (1, 2)')\n",
    "constructor not in DRAFT": "o = Order(no=1, state=State.CONFIRMED.value)\n",
    "constructor with **": "def f(kw):\n    return Order(**kw)\n",
    "a method of Order itself": "class Order:\n    def close(self):\n        self.state = 'CLOSED'\n",
    "setattr in Order itself": "class Order:\n    def close(self, k):\n        object.__setattr__(self, k, 'CLOSED')\n",
}


@pytest.mark.parametrize("source", PLANTED.values(), ids=PLANTED.keys())
def test_the_check_catches_every_spelling(source: str) -> None:
    assert offences(textwrap.dedent(source)), "walked past the check"


@pytest.mark.parametrize("source", [
    "o = Order(no=1, state=State.DRAFT.value)\n",
    "class Status:\n    def set(self, s):\n        self.state = s\n",
    "def f(o, a):\n    for k in ('note', 'address'):\n        setattr(o, k, a[k])\n",
    "x = {'state': o.state}\nprint(o.state == 'DRAFT')\n",
    "stmt = update(SentCard).values(ref={})\n",
])
def test_the_check_lets_harmless_code_be(source: str) -> None:
    assert offences(source) == []
