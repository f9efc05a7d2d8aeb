"""What the services can answer, read from their source — the code's side of the drift test.

Nothing here is a hand-kept list. Routes come from the gateway's allowlist table
(:data:`gateway.routes.ALLOWLIST`) and the Starlette ``Route(...)`` calls of the gateway's
own endpoints. Error answers — ``(code, status)`` with the place that raises them — come
from parsing ``gateway/``, ``origin/`` and ``checkout_edge_shared/``:

* the :class:`checkout_edge_shared.errors.AppError` family, found by following class bases
across the
  files (``InventoryUnavailable(Unavailable)`` joins it), each with its status and default
  code;
* every call of a family class: ``code=`` / ``status=`` keywords, else the class's own
  (a class with its own ``__init__`` is counted at its ``super().__init__(…)`` instead);
* ``error_body("CODE", …)`` with the ``status_code=`` of the same function, dict
  literals mapping a status to ``("CODE", message)`` (the rendering of Starlette's 404/405),
  and answer tables or raw refusals — calls whose first argument is a status and one of the
  next two an UPPER_SNAKE code (``ErrorAnswer(502, "ORIGIN_UNAVAILABLE", …)``), raised as
  ``code=a.code, status=a.status``.

A ``code=`` that is not a string literal cannot be read; :func:`scan` reports it as
unresolved so the drift test fails until the scanner is taught (never silently ignored).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.routes import ALLOWLIST, GATEWAY_OWNED, RouteRule

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "origin", "checkout_edge_shared")
_BASE_CLASS = "AppError"


@dataclass
class Surface:
    """``answers``: (code, status) → where raised; ``unresolved``: places it could not read."""

    answers: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def add(self, code: str, status: int, where: str) -> None:
        self.answers.setdefault((code, status), []).append(where)


@dataclass(frozen=True)
class _Family:
    status: int
    default_code: str
    own_init: bool


def source_files(roots: Iterable[Path] | None = None) -> list[Path]:
    roots = list(roots) if roots is not None else [ROOT / name for name in PACKAGES]
    return sorted(
        path for root in roots for path in root.rglob("*.py") if "migrations" not in path.parts
    )


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _constant(node: ast.expr | None, kind: type) -> object | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, kind):
        return node.value
    return None


def _family(trees: dict[Path, ast.Module]) -> dict[str, _Family]:
    family = {_BASE_CLASS: _Family(500, "INTERNAL_ERROR", own_init=False)}
    classes = [node for tree in trees.values() for node in ast.walk(tree)]
    classes_ = [node for node in classes if isinstance(node, ast.ClassDef)]
    changed = True
    while changed:
        changed = False
        for cls in classes_:
            base = next((b for b in map(_name, cls.bases) if b in family), None)
            if base is None or (cls.name in family and cls.name != _BASE_CLASS):
                continue
            if cls.name == _BASE_CLASS:
                continue
            status, code = family[base].status, family[base].default_code
            own_init = False
            for item in cls.body:
                if isinstance(item, ast.Assign | ast.AnnAssign):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    names = {_name(t) for t in targets}
                    if "status" in names:
                        status = int(_constant(item.value, int) or status)  # type: ignore[call-overload]
                    if "default_code" in names:
                        code = str(_constant(item.value, str) or code)
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    own_init = True
            family[cls.name] = _Family(status, code, own_init)
            changed = True
    return family


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _error_calls(tree: ast.Module, family: dict[str, _Family], rel: str, surface: Surface) -> None:
    for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        if cls.name not in family or cls.name == _BASE_CLASS:
            continue
        for node in ast.walk(cls):
            is_super_init = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__init__"
                and isinstance(node.func.value, ast.Call)
                and _name(node.func.value.func) == "super"
            )
            if is_super_init:
                assert isinstance(node, ast.Call)
                _record(node, family[cls.name], f"{rel}:{node.lineno}", surface)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (name := _name(node.func)) in family:
            kind = family[str(name)]
            if not kind.own_init:
                _record(node, kind, f"{rel}:{node.lineno}", surface)


def _from_a_table(code_node: ast.expr | None, status_node: ast.expr | None) -> bool:
    """``code=answer.code, status=answer.status``: the literals are in an answer table."""
    return (
        isinstance(code_node, ast.Attribute)
        and isinstance(status_node, ast.Attribute)
        and (code_node.attr, status_node.attr) == ("code", "status")
        and ast.dump(code_node.value) == ast.dump(status_node.value)
    )


def _record(call: ast.Call, kind: _Family, where: str, surface: Surface) -> None:
    code_node, status_node = _keyword(call, "code"), _keyword(call, "status")
    if _from_a_table(code_node, status_node):
        return
    code = kind.default_code if code_node is None else _constant(code_node, str)
    status = kind.status if status_node is None else _constant(status_node, int)
    if code is None or status is None:
        surface.unresolved.append(f"{where}: code/status not a literal")
        return
    surface.add(str(code), int(status), where)  # type: ignore[call-overload]


_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def _is_code(value: object) -> bool:
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _rendered_bodies(tree: ast.Module, rel: str, surface: Surface) -> None:
    for function in _functions(tree):
        codes, statuses = [], []
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and _name(node.func) == "error_body" and node.args:
                code = _constant(node.args[0], str)
                if code is not None:
                    codes.append((str(code), node.lineno))
            if isinstance(node, ast.Call):
                status = _constant(_keyword(node, "status_code"), int)
                if status is not None:
                    statuses.append(int(status))  # type: ignore[call-overload]
        for code, line in codes:
            if len(set(statuses)) != 1:
                surface.unresolved.append(f"{rel}:{line}: status of {code} not a single literal")
                continue
            surface.add(code, statuses[0] if statuses else 200, f"{rel}:{line}")
    for node in ast.walk(tree):
        # Answer tables and raw refusals: ``ErrorAnswer(502, "ORIGIN_UNAVAILABLE", …)``,
        # ``refusal(431, b"Reason", "REQUEST_HEADERS_TOO_LARGE", …)`` — a call whose first
        # argument is a status literal and one of the next two an UPPER_SNAKE code literal.
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            status = _constant(node.args[0], int)
            codes = [_constant(arg, str) for arg in node.args[1:3]]
            code = next((c for c in codes if _is_code(c)), None)
            if isinstance(status, int) and 100 <= status <= 599 and code is not None:
                surface.add(str(code), status, f"{rel}:{node.lineno}")
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                status = _constant(key, int) if key is not None else None
                if status is None or not isinstance(value, ast.Tuple) or not value.elts:
                    continue
                code = _constant(value.elts[0], str)
                if _is_code(code):
                    surface.add(code, int(status), f"{rel}:{node.lineno}")  # type: ignore[call-overload]


def scan(roots: Iterable[Path] | None = None) -> Surface:
    """Every ``(code, status)`` the sources under ``roots`` (default: the services) answer."""
    files = source_files(roots)
    trees = {path: ast.parse(path.read_text(), str(path)) for path in files}
    family = _family(trees)
    surface = Surface()
    for path, tree in trees.items():
        rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        _error_calls(tree, family, rel, surface)
        _rendered_bodies(tree, rel, surface)
    return surface


def gateway_owned_routes() -> set[tuple[str, str]]:
    """``(METHOD, path)`` of the gateway's own Starlette routes (``Route(path, …, methods=…)``)."""
    routes = set()
    for path in source_files([ROOT / "gateway"]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _name(node.func) == "Route" and node.args:
                route = _constant(node.args[0], str)
                methods = _keyword(node, "methods")
                if isinstance(route, str) and isinstance(methods, ast.List):
                    routes |= {(str(_constant(m, str)), route) for m in methods.elts}
    return routes


def routes(allowlist: Iterable[RouteRule] = ALLOWLIST) -> set[tuple[str, str]]:
    """Every ``(METHOD, path)`` a caller can reach through the gateway."""
    forwarded = {(method, rule.path) for rule in allowlist for method in rule.methods}
    owned = gateway_owned_routes()
    assert {path for _, path in owned} == set(GATEWAY_OWNED), (owned, GATEWAY_OWNED)
    return forwarded | owned
