"""Token kinds and the Token record the lexer produces and the parser consumes."""

from __future__ import annotations

from enum import Enum, auto
from typing import NamedTuple

from compiler.span import Span


class T(Enum):
    """Token kinds."""

    IDENT = auto()
    INT = auto()
    FLOAT = auto()
    CHAR = auto()
    STRING = auto()
    KEYWORD = auto()
    OP = auto()          # operators and punctuation; the text says which
    ATTR = auto()        # @name
    HASH_ATTR = auto()   # #name (e.g. #cfg)
    NEWLINE = auto()     # end of a statement (newline or ';')
    EOF = auto()


KEYWORDS = frozenset({
    "fn", "let", "var", "if", "else", "while", "for", "in", "match", "return", "break",
    "continue", "enum", "template", "class", "import", "module", "scoped", "actor", "spawn",
    "await", "async", "unsafe", "extern", "macro", "as", "true", "false", "nil", "self",
    "pub", "loop",
})

# Keywords that head a block; a line containing one and ending without `{`, followed by
# more-indented lines, opens an indentation block (SEMANTICS.md, Syntax).
BLOCK_HEADERS = frozenset({
    "fn", "if", "else", "for", "while", "match", "class", "template", "enum", "scoped",
    "unsafe", "macro", "extern", "module", "loop",
})

# Longest first, so that the lexer can match greedily.
OPERATORS = sorted([
    "..<", "...", "<<=", ">>=",
    "..", "=>", "->", "::", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=",
    "%=", "&=", "|=", "^=", "<<", ">>",
    "+", "-", "*", "/", "%", "=", "<", ">", "!", "&", "|", "^", "~", ".", ",", ":", ";",
    "(", ")", "[", "]", "{", "}", "?",
], key=len, reverse=True)

# A line ending with one of these continues on the next line (SEMANTICS.md, Syntax).
# `>` and `>>` are left out: they end generic types (`-> Vec<Int>`) far more often.
CONTINUATION_OPS = frozenset({
    "+", "-", "*", "/", "%", "=", "==", "!=", "<", "<=", ">=", "&&", "||", "&", "|", "^",
    "<<", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "..", "..<", "=>",
    "->", "::", ",", ".", "as",
})


class Token(NamedTuple):
    """One token: its kind, its source text, its decoded value (for literals) and span."""

    kind: T
    text: str
    span: Span
    value: object = None
    synthetic: bool = False   # inserted by the lexer (indentation braces, newlines)

    def is_op(self, text: str) -> bool:
        return self.kind is T.OP and self.text == text

    def is_kw(self, text: str) -> bool:
        return self.kind is T.KEYWORD and self.text == text

    def __repr__(self) -> str:
        return f"Token({self.kind.name}, {self.text!r}, {self.span.line}:{self.span.col})"
