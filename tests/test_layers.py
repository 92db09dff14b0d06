"""Imports flow one way: domain and storage never import aiogram; faq/ is pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "faq": {
        "aiogram",
        "sqlalchemy",
        "storage",
        "bot",
        "handlers",
        "support",
        "community",
        "campaigns",
    },
    "support": {"aiogram", "bot", "handlers"},
    "community": {"aiogram", "bot", "handlers"},
    "campaigns": {"aiogram", "bot", "handlers"},
    "storage": {"aiogram", "bot", "handlers", "support", "community", "campaigns"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upper_layers(package: str) -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & FORBIDDEN[package])
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts or package != "storage"
    }
    assert {k: v for k, v in offenders.items() if v} == {}
