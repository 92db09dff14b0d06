"""Catalogues: both languages have the same keys, and every key the code uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from views.texts import Catalogue

ROOT = Path(__file__).resolve().parent.parent
KEY_USE = re.compile(
    r"""(?:\bt|texts|chosen|catalogue\.get\([^,]+,)\(\s*"([a-z][a-z0-9-]+)"|"((?:menu|cmd)-[a-z-]+)\""""
)


def test_both_languages_have_the_same_keys(catalogue: Catalogue) -> None:
    assert catalogue.keys("zh") == catalogue.keys("en")
    assert len(catalogue.keys("en")) > 20


def test_every_key_used_in_code_exists(catalogue: Catalogue) -> None:
    used: set[str] = set()
    for folder in ("bot", "handlers", "views"):
        for path in (ROOT / folder).rglob("*.py"):
            for m in KEY_USE.finditer(path.read_text(encoding="utf-8")):
                used.add(m.group(1) or m.group(2))
    assert used, "the key scan found nothing: the pattern is stale"
    missing = {k for k in used if k not in catalogue.keys("en") and not k.startswith("cmd-")}
    assert missing == set()
    assert {f"cmd-{c}" for c in ("start", "help", "human", "language")} <= catalogue.keys("zh")


def test_language_resolution_order(catalogue: Catalogue) -> None:
    assert catalogue.resolve_language("en", "zh-hans", "zh") == "en"  # override wins
    assert catalogue.resolve_language(None, "zh-hant", "en") == "zh"
    assert catalogue.resolve_language(None, "de", "zh") == "zh"  # shop default
    assert catalogue.resolve_language("xx", None, "en") == "en"


def test_fluent_arguments_render_without_isolation_marks(catalogue: Catalogue) -> None:
    text = catalogue.get("zh", "human-recorded", id=12)
    assert "#12" in text and "\u2068" not in text
