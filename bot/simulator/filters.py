"""The PAN-OS log filter language: lexer, parser and boolean evaluator.

Grammar (``and`` binds tighter than ``or``; ``!``/``not`` tighter than both)::

    expr       := and_expr ( "or" and_expr )*
    and_expr   := unary ( "and" unary )*
    unary      := ( "!" | "not" ) unary | "(" inner ")"
    inner      := FIELD OP VALUE | expr
    OP         := eq | neq | geq | leq | in | notin | contains

Values are bare words or single/double-quoted strings; `bot.simulator.fields` gives
each comparison its meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.simulator.fields import (
    SEVERITIES,
    TIME_FORMAT,
    Entry,
    FilterSyntaxError,
    Op,
    build_comparison,
)

__all__ = [
    "SEVERITIES",
    "TIME_FORMAT",
    "Entry",
    "Filter",
    "FilterSyntaxError",
    "Op",
    "parse_filter",
    "select",
]


class Filter(Protocol):
    """A parsed filter: a predicate over one log entry."""

    def matches(self, entry: Entry) -> bool:
        """Return whether the entry satisfies the filter."""
        ...


# ---------------------------------------------------------------- lexer


class Tok(StrEnum):
    """Token kinds."""

    LPAREN = "("
    RPAREN = ")"
    NOT = "!"
    WORD = "word"
    QUOTED = "quoted"
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token and where it starts."""

    kind: Tok
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens, ending with an END token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(Tok(ch), ch, i))
            i += 1
        elif ch == "!":
            tokens.append(Token(Tok.NOT, ch, i))
            i += 1
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                raise FilterSyntaxError(f"unterminated quoted value at position {i}")
            tokens.append(Token(Tok.QUOTED, text[i + 1 : end], i))
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "()'\"":
                i += 1
            tokens.append(Token(Tok.WORD, text[start:i], start))
    tokens.append(Token(Tok.END, "", n))
    return tokens


# ---------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty filter: every entry matches."""

    def matches(self, entry: Entry) -> bool:
        """Return True."""
        return True


@dataclass(frozen=True, slots=True)
class Not:
    """``!( inner )``."""

    inner: Filter

    def matches(self, entry: Entry) -> bool:
        """Return the negation of the inner filter."""
        return not self.inner.matches(entry)


@dataclass(frozen=True, slots=True)
class And:
    """Every part matches."""

    parts: tuple[Filter, ...]

    def matches(self, entry: Entry) -> bool:
        """Return whether all parts match."""
        return all(part.matches(entry) for part in self.parts)


@dataclass(frozen=True, slots=True)
class Or:
    """Some part matches."""

    parts: tuple[Filter, ...]

    def matches(self, entry: Entry) -> bool:
        """Return whether any part matches."""
        return any(part.matches(entry) for part in self.parts)


# ---------------------------------------------------------------- parser

_OPS = frozenset(op.value for op in Op)
MAX_DEPTH = 64  # deeper nesting is refused rather than exhausting the interpreter's stack


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def expect(self, kind: Tok, what: str) -> Token:
        token = self.take()
        if token.kind is not kind:
            raise FilterSyntaxError(
                f"expected {what} at position {token.pos}, found {_show(token)}"
            )
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind is Tok.WORD and token.text.lower() == word:
            self.i += 1
            return True
        return False

    def expr(self) -> Filter:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Filter:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Filter:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterSyntaxError(f"filter nests deeper than {MAX_DEPTH} levels")
        try:
            if self.peek().kind is Tok.NOT:
                self.take()
                return Not(self.unary())
            if self.keyword("not"):
                return Not(self.unary())
            self.expect(Tok.LPAREN, "'('")
            inner = self.comparison() if self._at_comparison() else self.expr()
            self.expect(Tok.RPAREN, "')'")
            return inner
        finally:
            self.depth -= 1

    def _at_comparison(self) -> bool:
        field, op = self.peek(), self.peek(1)
        if field.kind is not Tok.WORD or op.kind is not Tok.WORD:
            return False
        if op.text.lower() not in _OPS and field.text.lower() not in {"not", "and", "or"}:
            raise FilterSyntaxError(f"unknown operator {op.text!r} at position {op.pos}")
        return op.text.lower() in _OPS

    def comparison(self) -> Filter:
        field = self.take().text
        op = Op(self.take().text.lower())
        value = self.take()
        if value.kind not in {Tok.WORD, Tok.QUOTED}:
            raise FilterSyntaxError(
                f"expected a value at position {value.pos}, found {_show(value)}"
            )
        return build_comparison(field, op, value.text)


def _show(token: Token) -> str:
    return "end of filter" if token.kind is Tok.END else repr(token.text)


def parse_filter(text: str) -> Filter:
    """Parse a PAN-OS log filter; an empty filter matches everything."""
    parser = _Parser(text)
    if parser.peek().kind is Tok.END:
        return MatchAll()
    result = parser.expr()
    trailing = parser.peek()
    if trailing.kind is not Tok.END:
        raise FilterSyntaxError(f"unexpected {_show(trailing)} at position {trailing.pos}")
    return result


def select(flt: Filter, entries: Iterable[Entry]) -> list[Entry]:
    """Return the entries the filter matches, in their order."""
    return [entry for entry in entries if flt.matches(entry)]
