"""Syntax highlighting of Vyn source from the compiler's own lexer (no Pygments).

`highlight(text)` returns, for each line, the highlighted column ranges and what they are
(`Kind`); the Source pane maps kinds to colours. Comments are not tokens: whatever is not
whitespace between two tokens is a comment (or an error the compiler reports elsewhere).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import Enum

from compiler.diagnostics import DiagnosticSink
from compiler.lexer import lex
from compiler.span import SourceFile
from compiler.tokens import T, Token

CONSTANTS = frozenset({"true", "false", "nil", "self"})


class Kind(Enum):
    KEYWORD = "keyword"
    CONSTANT = "constant"
    NUMBER = "number"
    STRING = "string"
    COMMENT = "comment"
    TYPE = "type"          # a capitalised name: Int, Vec, Point
    FUNCTION = "function"  # a name directly followed by `(` or after `fn`
    ATTRIBUTE = "attribute"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Span:
    """Columns [start, end) of one line (0-based, counting characters) of one kind."""

    start: int
    end: int
    kind: Kind


def _token_kind(tok: Token, prev: Token | None, nxt: Token | None) -> Kind | None:
    kind = tok.kind
    if kind is T.KEYWORD:
        return Kind.CONSTANT if tok.text in CONSTANTS else Kind.KEYWORD
    if kind in (T.INT, T.FLOAT):
        return Kind.NUMBER
    if kind in (T.STRING, T.CHAR):
        return Kind.STRING
    if kind in (T.ATTR, T.HASH_ATTR):
        return Kind.ATTRIBUTE
    if kind is T.IDENT:
        if (prev is not None and prev.is_kw("fn")) or (nxt is not None and nxt.is_op("(")):
            return Kind.TYPE if tok.text[:1].isupper() else Kind.FUNCTION
        if tok.text[:1].isupper():
            return Kind.TYPE
        return None
    if kind is T.OP and tok.text not in "(){}[],;.:":
        return Kind.OPERATOR
    return None


def highlight(text: str) -> list[list[Span]]:
    """The highlighted spans of each line of `text` (index 0 is line 1), in column order."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    out: list[list[Span]] = [[] for _ in lines]

    def mark(start: int, end: int, kind: Kind) -> None:
        # A token or comment may span lines (block comments, multi-line strings).
        line = _line_of(starts, start)
        while start < end and line < len(lines):
            line_end = starts[line] + len(lines[line])
            stop = min(end, line_end)
            if stop > start:
                out[line].append(Span(start - starts[line], stop - starts[line], kind))
            line += 1
            if line < len(lines):
                start = starts[line]

    tokens = [t for t in lex(SourceFile("<highlight>", text), DiagnosticSink())
              if not t.synthetic and t.kind not in (T.EOF, T.NEWLINE)]
    pos = 0
    for i, tok in enumerate(tokens):
        _comments_between(text, pos, tok.span.start, mark)
        kind = _token_kind(tok, tokens[i - 1] if i else None,
                           tokens[i + 1] if i + 1 < len(tokens) else None)
        if kind is not None:
            mark(tok.span.start, tok.span.end, kind)
        pos = max(pos, tok.span.end)
    _comments_between(text, pos, len(text), mark)
    return out


def _comments_between(text: str, start: int, end: int, mark) -> None:
    """Mark the non-blank stretches of text[start:end] (between tokens) as comments."""
    i = start
    while i < end:
        if text[i].isspace():
            i += 1
            continue
        j = i
        if text.startswith("/*", i):
            j = end  # a block comment runs to the next token
        else:
            while j < end and text[j] != "\n":
                j += 1
        mark(i, j, Kind.COMMENT)
        i = j


def _line_of(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset) - 1
