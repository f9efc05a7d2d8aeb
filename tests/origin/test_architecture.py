"""The origin's shape: small files, an import graph without cycles, layers imported downwards.

Layers, lowest first; a module may import its own layer and any below it, never above:

0. storage and plumbing — ``origin.models``, ``db``, ``metrics``, ``settings``, ``migrate``,
   ``request_bodies``, and the stock/order audit (``audit``, ``monitor``: SQL over the tables);
1. ``origin.catalog`` — what shops sell and what it costs;
2. ``origin.inventory``, ``origin.payments`` — stock and Stripe;
3. ``origin.orders.paid_orders``, ``origin.carts``;
4. ``origin.checkout`` — the checkout and the holds that time out;
5. the web edge — every ``*_routes`` module, ``web``, ``state``, ``observability``;
6. the entry points — ``app``, ``__main__``.

Imports are read from the source (``ast``), wherever they appear in a module, so an import
hidden in a function counts too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = ROOT / "origin"
MAX_LINES = 300

LAYERS: list[tuple[str, ...]] = [
    (
        "origin.models",
        "origin.db",
        "origin.sql",
        "origin.db_diagnosis",
        "origin.metrics",
        "origin.settings",
        "origin.migrate",
        "origin.migrations",
        "origin.request_bodies",
        "origin.audit",
        "origin.monitor",
    ),
    ("origin.catalog",),
    ("origin.inventory", "origin.payments"),
    ("origin.orders", "origin.carts"),
    ("origin.checkout",),
    ("origin.web", "origin.state", "origin.observability", "origin.startup_check"),
    ("origin.app", "origin.__main__"),
]
WEB_LAYER = 5


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def origin_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ORIGIN.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> Iterator[str]:
    """The origin modules ``path`` imports (``from origin.x import y`` names origin.x.y when
    that is a module, else origin.x)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("origin"):
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("origin"):
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield candidate if candidate in known else node.module


def layer_of(module: str) -> int:
    if module.rsplit(".", 1)[-1].endswith("_routes"):
        return WEB_LAYER
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__name__}")


def import_graph() -> dict[str, set[str]]:
    modules = origin_modules()
    known = set(modules)
    return {
        name: {imported for imported in imports_of(path, known) if imported != name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state.get(nxt) is None and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_no_origin_file_is_longer_than_300_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in ORIGIN.rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_origin_import_graph_has_no_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = sorted(
        f"{module} (layer {layer_of(module)}) imports {imported} (layer {layer_of(imported)})"
        for module, imported_set in import_graph().items()
        for imported in imported_set
        if layer_of(imported) > layer_of(module)
    )
    assert upward == []


def test_only_the_payments_package_imports_stripe() -> None:
    importers = sorted(
        module
        for module, path in origin_modules().items()
        for node in ast.walk(ast.parse(path.read_text()))
        if (
            isinstance(node, ast.Import)
            and any(a.name.split(".")[0] == "stripe" for a in node.names)
        )
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "stripe")
    )
    assert importers
    assert all(module.startswith("origin.payments.") for module in importers), importers


def test_the_checks_see_a_cycle_and_an_upward_import() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("origin.catalog.pricing") < layer_of("origin.inventory.stock")
    assert layer_of("origin.inventory.inventory_routes") == WEB_LAYER
