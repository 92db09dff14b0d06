"""The house: imports flow one way, main → bot → handlers → views → domain → storage.

- No cycle between top-level packages (imports inside functions count too).
- handlers/ never imports bot/ (dependencies arrive as Dispatcher data, see handlers.deps).
- views/ is presentation: no bot/, no handlers/, no database session.
- Domain packages never import aiogram or the layers above them; faq/ is pure.
- No function in handlers/ spans more than 80 lines (routers are module-level).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = ("main", "bot", "handlers", "views", "faq", "support", "community", "campaigns",
       "orders", "storage")  # fmt: skip
UPPER = {"aiogram", "main", "bot", "handlers", "views"}
FORBIDDEN = {
    "handlers": {"main", "bot"},
    "views": {"main", "bot", "handlers", "sqlalchemy"},
    "faq": UPPER | {"sqlalchemy", "storage", "support", "community", "campaigns", "orders"},
    "support": UPPER,
    "community": UPPER,
    "campaigns": UPPER,
    "orders": UPPER,
    "storage": UPPER | {"faq", "support", "community", "campaigns", "orders"},
}
MAX_HANDLER_LINES = 80


def _files(package: str) -> list[Path]:
    if package == "main":
        return [ROOT / "main.py"]
    return [
        p
        for p in (ROOT / package).rglob("*.py")
        if p.relative_to(ROOT).as_posix() != "storage/migrations/env.py"
    ]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for package in TOP:
        if package != "main" and not (ROOT / package).is_dir():
            continue
        for path in _files(package):
            edges[package] |= (_imports(path) & set(TOP)) - {package}
    return edges


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upper_layers(package: str) -> None:
    if not (ROOT / package).is_dir():
        pytest.skip(f"no {package}/ yet")
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & FORBIDDEN[package]) for p in _files(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_cycle_between_packages() -> None:
    edges = _graph()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(TOP):
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    assert cycles == []


def test_handler_functions_are_short() -> None:
    long_ones = []
    for path in _files("handlers"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                span = (node.end_lineno or node.lineno) - node.lineno + 1
                if span > MAX_HANDLER_LINES:
                    long_ones.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {span}")
    assert long_ones == []
