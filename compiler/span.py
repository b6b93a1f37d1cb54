"""Source files and spans: where every token, node and diagnostic points."""

from __future__ import annotations

import bisect
from collections import namedtuple


class SourceFile:
    """A source text with its name and a line-start index for offset -> line:col.

    A value: two SourceFiles with the same name and text are equal. (A plain class, as
    every record `vyn run` loads is: importing dataclasses costs about 8 ms at start-up.)
    """

    __slots__ = ("name", "text", "line_starts")

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self.line_starts: tuple[int, ...] = tuple(starts)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not SourceFile:
            return NotImplemented
        return self.name == other.name and self.text == other.text

    def __hash__(self) -> int:
        return hash((self.name, self.text))

    def __repr__(self) -> str:
        return f"SourceFile(name={self.name!r}, text={self.text!r})"

    def location(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset; column counts characters."""
        offset = max(0, min(offset, len(self.text)))
        idx = bisect.bisect_right(self.line_starts, offset) - 1
        return idx + 1, offset - self.line_starts[idx] + 1

    def line_text(self, line: int) -> str:
        """The text of 1-based line `line`, without its newline."""
        if line < 1 or line > len(self.line_starts):
            return ""
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start:end]

    def span(self, start: int, end: int) -> Span:
        line, col = self.location(start)
        end_line, end_col = self.location(end)
        return Span(self.name, start, end, line, col, end_line, end_col)


class Span(namedtuple("Span", "file start end line col end_line end_col")):
    """A half-open character range [start, end) in a file, with 1-based line:col of both ends:
    `file: str`, the offsets `start` and `end`, then `line`, `col`, `end_line`, `end_col`.

    A named tuple: spans are made for every token and node, so construction must be cheap.
    """

    __slots__ = ()

    def to(self, other: Span) -> Span:
        """The span covering self through other (same file)."""
        if other[2] >= self[2]:
            return _new(Span, (self[0], self[1], other[2], self[3], self[4], other[5],
                               other[6]))
        return self

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


_new = tuple.__new__   # builds a Span without namedtuple's Python-level __new__

NO_SPAN = Span("<builtin>", 0, 0, 0, 0, 0, 0)
