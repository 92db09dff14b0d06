"""Canned replies: short templates agents send with one tap, and order numbers in chats.

A template fills ``{name}``, ``{order}``, ``{agent}``, ``{ticket}`` and ``{shop}``. ``{{`` and
``}}`` are literal braces; any other brace text that is not ``{identifier}`` (``{ }``,
``{1}``, ``{50% off}``, ``{名字}``) is left as written. An identifier is ASCII
(``[A-Za-z_][A-Za-z0-9_]*``) and case-sensitive: ``{Name}`` is an unknown variable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

VARIABLES = ("name", "order", "agent", "ticket", "shop")
MAX_TEMPLATE_CHARS = 4096  # one Telegram message
ORDER_PATTERN_DEFAULT = r"(?<!\d)\d{10,20}(?!\d)"
KEY_PATTERN = r"^[a-z0-9_\-]{1,32}$"

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEY = re.compile(KEY_PATTERN)


class MissingVariable(Exception):
    """The template needs these variables but they have no value (absent, None or blank)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: tuple[str, ...] = tuple(names)
        super().__init__("no value for " + ", ".join("{" + n + "}" for n in self.names))


class UnknownVariable(ValueError):
    """The template uses variables that are not in VARIABLES."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: tuple[str, ...] = tuple(names)
        known = ", ".join("{" + n + "}" for n in VARIABLES)
        unknown = ", ".join("{" + n + "}" for n in self.names)
        super().__init__(f"unknown variable {unknown} (use {known}; write {{{{ for a brace)")


def variables_in(template: str) -> tuple[str, ...]:
    """Every ``{identifier}`` in the template, known or not, unique, in order of first use."""
    found = (m[1] for m in _TOKEN.finditer(template) if m[1] is not None)
    return tuple(dict.fromkeys(found))


def check_template(template: str) -> None:
    """ValueError if the template is blank or longer than one message; UnknownVariable (also
    a ValueError) if it uses a variable not in VARIABLES."""
    if not template.strip():
        raise ValueError("the template is empty")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise ValueError(
            f"the template has {len(template)} characters; at most {MAX_TEMPLATE_CHARS} fit "
            "in a message"
        )
    unknown = [name for name in variables_in(template) if name not in VARIABLES]
    if unknown:
        raise UnknownVariable(unknown)


def render(template: str, values: Mapping[str, str | None]) -> str:
    """Fill the template's variables from `values`.

    Raises UnknownVariable for variables not in VARIABLES, else MissingVariable naming every
    variable used whose value is absent, None or only whitespace. Values are inserted as is:
    braces in them are not read again.
    """
    used = variables_in(template)
    unknown = [name for name in used if name not in VARIABLES]
    if unknown:
        raise UnknownVariable(unknown)
    missing = [name for name in used if not (values.get(name) or "").strip()]
    if missing:
        raise MissingVariable(missing)

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name is None:
            return match[0][0]  # "{{" -> "{", "}}" -> "}"
        value = values[name]
        assert value is not None  # checked above
        return value

    return _TOKEN.sub(fill, template)


def find_order_numbers(
    texts: Iterable[str], pattern: str = ORDER_PATTERN_DEFAULT
) -> tuple[str, ...]:
    """Order numbers in the texts, unique, in order of first appearance.

    Texts are NFKC-normalised first, so full-width digits (１２３…) count. If `pattern` has a
    capturing group, the first group is the number; otherwise the whole match is.
    """
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad order number pattern {pattern!r}: {exc}") from None
    found: dict[str, None] = {}
    for text in texts:
        for match in regex.finditer(unicodedata.normalize("NFKC", text)):
            number = match[1] if regex.groups else match[0]
            if number:
                found.setdefault(number)
    return tuple(found)


class BadKey(ValueError):
    """A canned reply's key that is not 1-32 of a-z, 0-9, _ and -."""


def check_key(key: str) -> str:
    """The key lowercased and stripped; BadKey (a ValueError) if it is not 1-32 of a-z, 0-9,
    _ and -."""
    clean = key.strip().lower()
    if not clean:
        raise BadKey("the key is empty (use 1-32 characters: a-z, 0-9, _ or -)")
    if not _KEY.fullmatch(clean):
        raise BadKey(f"bad key {key.strip()!r} (use 1-32 characters: a-z, 0-9, _ or -)")
    return clean
