"""Message catalogs: every sentence panbot writes, in English and Japanese.

Catalogs are flat JSON objects (`bot/i18n/en.json`, `bot/i18n/ja.json`) of dotted
keys to `str.format` templates with named `{placeholders}`. Both catalogs carry
exactly the same keys and, per key, the same placeholders (a test enforces it).
"""

from __future__ import annotations

import json
import logging
import string
from functools import cache
from importlib import resources
from typing import Literal, get_args

Language = Literal["en", "ja"]

logger = logging.getLogger(__name__)

_FORMATTER = string.Formatter()


def languages() -> tuple[Language, ...]:
    """Return the languages panbot speaks."""
    return get_args(Language)


@cache
def _load(language: Language) -> dict[str, str]:
    if language not in languages():
        raise ValueError(f"unknown language {language!r}; expected one of {languages()}")
    raw = resources.files(__name__).joinpath(f"{language}.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"catalog {language}.json must map string keys to string templates")
    return data


def keys(language: Language) -> frozenset[str]:
    """Return every key of one language's catalog."""
    return frozenset(_load(language))


def placeholders(template: str) -> frozenset[str]:
    """Return the named `{placeholders}` of a template."""
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(template) if name is not None)


class Catalog:
    """One language's messages; `t()` looks a key up and fills its placeholders.

    A missing key or parameter raises KeyError. With `strict=False` (for a running
    bot, where one forgotten key must not lose an alert) a missing key is logged at
    WARNING and rendered as the key itself.
    """

    def __init__(self, language: Language, *, strict: bool = True) -> None:
        self.language: Language = language
        self.strict = strict
        self._messages = _load(language)

    def __repr__(self) -> str:
        return f"Catalog({self.language!r}, strict={self.strict})"

    def has(self, key: str) -> bool:
        """Return whether the catalog defines a key."""
        return key in self._messages

    def template(self, key: str) -> str:
        """Return a key's raw template."""
        return self._messages[key]

    def t(self, key: str, **params: object) -> str:
        """Return a key's text with its placeholders filled in."""
        try:
            template = self._messages[key]
        except KeyError:
            if self.strict:
                raise KeyError(f"no message {key!r} in the {self.language} catalog") from None
            logger.warning("no message %r in the %s catalog", key, self.language)
            return key
        return template.format_map(params)
