"""Texts for people: one Fluent catalogue per language in views/locales/<lang>/*.ftl."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fluent.runtime import FluentBundle, FluentResource
from fluent.runtime.types import fluent_number
from fluent.syntax import ast

LANGUAGES = ("zh", "en")
LOCALES = Path(__file__).resolve().parent / "locales"
log = logging.getLogger(__name__)


class Catalogue:
    """All languages' bundles, loaded once at start."""

    def __init__(self, root: Path = LOCALES, languages: tuple[str, ...] = LANGUAGES) -> None:
        self.languages = languages
        self._bundles: dict[str, FluentBundle] = {}
        self._keys: dict[str, set[str]] = {}
        for lang in languages:
            bundle = FluentBundle([lang], use_isolating=False)
            keys: set[str] = set()
            for path in sorted((root / lang).glob("*.ftl")):
                resource = FluentResource(path.read_text(encoding="utf-8"))
                junk = [item for item in resource.body if isinstance(item, ast.Junk)]
                if junk:
                    raise ValueError(f"{path}: cannot parse {(junk[0].content or '')[:80]!r}")
                bundle.add_resource(resource)
                keys.update(
                    item.id.name for item in resource.body if isinstance(item, ast.Message)
                )
            self._bundles[lang] = bundle
            self._keys[lang] = keys

    def keys(self, lang: str) -> set[str]:
        return set(self._keys[lang])

    def resolve_language(
        self, override: str | None, telegram_code: str | None, default: str
    ) -> str:
        """Stored override, then Telegram's language code, then the shop's default."""
        if override is not None and override in self.languages:
            return override
        if telegram_code:
            base = telegram_code.lower().split("-")[0]
            if base in self.languages:
                return base
        return default

    def get(self, lang: str, key: str, **args: Any) -> str:
        bundle = self._bundles.get(lang) or self._bundles[self.languages[0]]
        if not bundle.has_message(key):
            log.error("missing text %s for %s", key, lang)
            return key
        message = bundle.get_message(key)
        if message.value is None:
            return key
        # Ids and counts as they are: Fluent would group digits ("id 555,000,222").
        plain = {
            k: fluent_number(v, useGrouping=False)
            if isinstance(v, int) and not isinstance(v, bool)
            else v
            for k, v in args.items()
        }
        text, errors = bundle.format_pattern(message.value, plain)
        if errors:
            log.warning("text %s (%s): %s", key, lang, errors)
        return str(text)

    def for_lang(self, lang: str) -> Texts:
        return Texts(self, lang)


class Texts:
    """The catalogue bound to one person's language."""

    __slots__ = ("catalogue", "lang")

    def __init__(self, catalogue: Catalogue, lang: str) -> None:
        self.catalogue = catalogue
        self.lang = lang

    def __call__(self, key: str, **args: Any) -> str:
        return self.catalogue.get(self.lang, key, **args)
