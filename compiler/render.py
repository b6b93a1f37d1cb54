"""Diagnostics as text: rustc-style snippets for people, JSON lines for tools.

The human form, for a primary label and one secondary label on another line::

    error[T2002]: cannot assign twice to immutable binding `x`
     --> demo.vyn:3:3
      |
    2 |   let x = 1
      |       - first assigned here
    3 |   x = 2
      |   ^^^^^ cannot assign twice
      |
      = note: `let` bindings are immutable
      = help: declare it with `var x` to allow assignment

Rendering is total: a span outside its file, or in a file missing from the `sources`
mapping, loses its source snippet but never raises.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compiler.diagnostics import Diagnostic, Label, Severity
from compiler.span import SourceFile, Span

TAB_WIDTH = 4
"""Columns a tab takes in a rendered source line; rustc draws every tab as four spaces."""

PRIMARY_MARK = "^"
SECONDARY_MARK = "-"

# ANSI SGR parameters per role, after rustc's palette.
_STYLES = {
    "error": "1;31",
    "warning": "1;33",
    "note": "1;32",
    "help": "1;36",
    "gutter": "1;34",
    "secondary": "1;34",
    "bold": "1",
}


def _paint(text: str, role: str | None, color: bool) -> str:
    """`text` wrapped in the ANSI codes of `role` when colour is on."""
    if not color or role is None or not text:
        return text
    return f"\x1b[{_STYLES[role]}m{text}\x1b[0m"


def _char_width(ch: str) -> int:
    """Terminal columns one character of a source line takes once rendered."""
    if ch == "\t":
        return TAB_WIDTH
    if unicodedata.combining(ch):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


# Other control characters print as their Unicode "control pictures" (as rustc does), so a
# source line can never move the cursor or send escape sequences to the terminal.
_VISIBLE = {c: 0x2400 + c for c in range(0x20)} | {0x7F: 0x2421, ord("\t"): " " * TAB_WIDTH}


def _display_line(text: str) -> str:
    """A source line as it is printed: tabs expanded, a trailing CR dropped, other control
    characters made visible; each character keeps the width `_char_width` gives it."""
    return text.removesuffix("\r").translate(_VISIBLE)


def _display_col(text: str, index: int) -> int:
    """0-based display column of character `index` of `text` (past the end: one per char)."""
    head = text[:index]
    return sum(_char_width(ch) for ch in head) + max(0, index - len(text))


@dataclass(frozen=True)
class _Annotation:
    """One label drawn under one source line, in display columns [start, end)."""

    start: int
    end: int
    primary: bool
    message: str


@dataclass(frozen=True)
class _Piece:
    """Text placed at a display column of an output row."""

    col: int
    text: str
    role: str | None


def _compose(pieces: Iterable[_Piece], color: bool) -> str:
    """One row from pieces; later-starting pieces never overwrite earlier ones."""
    out: list[str] = []
    cursor = 0
    for piece in sorted(pieces, key=lambda p: p.col):
        text = piece.text
        if piece.col < cursor:
            text = text[cursor - piece.col:]
        else:
            out.append(" " * (piece.col - cursor))
        out.append(_paint(text, piece.role, color))
        cursor = max(cursor, piece.col + len(text))
    return "".join(out)


class _Renderer:
    """Renders one diagnostic; holds what every row needs (gutter width, colour, roles)."""

    def __init__(self, diag: Diagnostic, sources: Mapping[str, SourceFile], color: bool):
        self.diag = diag
        self.sources = sources
        self.color = color
        self.level = diag.severity.value
        self.groups = self._group_by_file()
        self.shown = {file: self._shown_lines(lines) for file, lines in self.groups.items()}
        numbers = [n for lines in self.shown.values() for n in lines if n is not None]
        self.width = len(str(max(numbers, default=0)))
        self.pad = " " * (self.width + 1)

    # -- layout -------------------------------------------------------------------------

    def _labels(self) -> list[Label]:
        return [self.diag.primary, *self.diag.secondary]

    def _group_by_file(self) -> dict[str, dict[int, list[_Annotation]]]:
        """Annotations per file (primary's file first) and per 1-based line."""
        groups: dict[str, dict[int, list[_Annotation]]] = {}
        primary_file = self.diag.primary.span.file
        if primary_file in self.sources:
            groups[primary_file] = {}
        for label in self._labels():
            src = self.sources.get(label.span.file)
            ann = self._annotation(label, src)
            if ann is not None:
                lines = groups.setdefault(label.span.file, {})
                lines.setdefault(label.span.line, []).append(ann)
        return {file: lines for file, lines in groups.items() if lines}

    def _annotation(self, label: Label, src: SourceFile | None) -> _Annotation | None:
        """Where `label` is drawn, or None when its line is not in `src`."""
        span = label.span
        if src is None or not 1 <= span.line <= len(src.line_starts):
            return None
        text = src.line_text(span.line).removesuffix("\r")
        first = max(span.col - 1, 0)
        # A span over several lines is underlined to the end of its first line.
        last = span.end_col - 1 if span.end_line == span.line else len(text)
        start = _display_col(text, first)
        end = max(_display_col(text, last), start + 1)
        return _Annotation(start, end, label is self.diag.primary, label.message.rstrip())

    @staticmethod
    def _shown_lines(lines: Mapping[int, list[_Annotation]]) -> list[int | None]:
        """Line numbers to print in order; a lone line between two is shown, a longer gap is
        None (printed as `...`)."""
        out: list[int | None] = []
        prev = None
        for line in sorted(lines):
            if prev is not None and line - prev == 2:
                out.append(prev + 1)
            elif prev is not None and line - prev > 2:
                out.append(None)
            out.append(line)
            prev = line
        return out

    # -- rows ---------------------------------------------------------------------------

    def _gutter(self, lineno: int | None = None) -> str:
        if lineno is None:
            return _paint(self.pad + "|", "gutter", self.color)
        return _paint(f"{lineno:>{self.width}} |", "gutter", self.color)

    def _mark_role(self, ann: _Annotation) -> str:
        return self.level if ann.primary else "secondary"

    def _annotation_rows(self, anns: list[_Annotation]) -> list[str]:
        """The underline row for one source line, then rows for labels that do not fit on it."""
        anns = sorted(anns, key=lambda a: (a.start, a.end))
        marks = []
        # Primary marks are drawn last so they win where labels overlap.
        for ann in sorted(anns, key=lambda a: a.primary):
            mark = PRIMARY_MARK if ann.primary else SECONDARY_MARK
            marks.append(_Piece(ann.start, mark * (ann.end - ann.start), self._mark_role(ann)))
        cells = self._flatten(marks)
        inline = anns[-1]
        if inline.message:
            right = max(a.end for a in anns)
            cells.append(_Piece(right + 1, inline.message, self._mark_role(inline)))
        rows = [cells]
        hanging = [a for a in anns[:-1] if a.message]
        if hanging:
            rows.append([_Piece(a.start, "|", self._mark_role(a)) for a in hanging])
            for k in range(len(hanging) - 1, -1, -1):
                ann = hanging[k]
                row = [_Piece(a.start, "|", self._mark_role(a))
                       for a in hanging[:k] if a.start < ann.start]
                row.append(_Piece(ann.start, ann.message, self._mark_role(ann)))
                rows.append(row)
        return [f"{self._gutter()} {_compose(row, self.color)}" for row in rows]

    @staticmethod
    def _flatten(marks: list[_Piece]) -> list[_Piece]:
        """Overlapping underline pieces as disjoint runs; a later piece overwrites."""
        cells: dict[int, _Piece] = {}
        for piece in marks:
            for i, ch in enumerate(piece.text):
                cells[piece.col + i] = _Piece(piece.col + i, ch, piece.role)
        runs: list[_Piece] = []
        for col in sorted(cells):
            cell = cells[col]
            last = runs[-1] if runs else None
            if last and last.role == cell.role and last.col + len(last.text) == col:
                runs[-1] = _Piece(last.col, last.text + cell.text, last.role)
            else:
                runs.append(cell)
        return runs

    def _snippet(self, file: str, lines: Mapping[int, list[_Annotation]]) -> list[str]:
        src = self.sources[file]
        out = [self._gutter()]
        for lineno in self.shown[file]:
            if lineno is None:
                out.append(_paint("...", "gutter", self.color))
                continue
            text = _display_line(src.line_text(lineno)).rstrip()
            out.append(f"{self._gutter(lineno)} {text}".rstrip())
            if lineno in lines:
                out.extend(self._annotation_rows(lines[lineno]))
        return out

    def _location(self, arrow: str, span: Span) -> str:
        where = f"{span.file}:{span.line}:{span.col}"
        return f"{' ' * self.width}{_paint(arrow, 'gutter', self.color)} {where}"

    def _trailer(self, kind: str, role: str, text: str) -> str:
        equals = _paint("=", "gutter", self.color)
        head = f"{self.pad}{equals} {_paint(kind + ':', role, self.color)} "
        indent = " " * (len(self.pad) + len(kind) + 4)
        return head + text.replace("\n", "\n" + indent)

    def render(self) -> str:
        diag = self.diag
        header = _paint(f"{self.level}[{diag.code}]", self.level, self.color)
        out = [f"{header}{_paint(': ' + diag.message, 'bold', self.color)}"]
        primary = diag.primary.span
        if primary.line >= 1:
            out.append(self._location("-->", primary))
        for file, lines in self.groups.items():
            if file != primary.file:
                first = min(lines)
                label = next(lb for lb in self._labels()
                             if lb.span.file == file and lb.span.line == first)
                out.append(self._location(":::", label.span))
            out.extend(self._snippet(file, lines))
        trailers = [self._trailer("note", "note", n) for n in diag.notes]
        if diag.suggestion:
            trailers.append(self._trailer("help", "help", diag.suggestion))
        if trailers and self.groups:
            out.append(self._gutter())
        out.extend(trailers)
        return "\n".join(out) + "\n"


def render_diagnostic(diag: Diagnostic, sources: Mapping[str, SourceFile], *,
                      color: bool = False) -> str:
    """One diagnostic as rustc prints it, newline-terminated.

    Args:
        diag: the diagnostic.
        sources: the compiled files by name (`Span.file`); a label whose file is missing
            is rendered without its source line.
        color: wrap parts in ANSI colour codes.
    """
    return _Renderer(diag, sources, color).render()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_summary(diagnostics: Sequence[Diagnostic], *, color: bool = False) -> str | None:
    """The closing line, e.g. `error: aborting due to 2 previous errors; 1 warning emitted`.

    None when there is nothing to summarize.
    """
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    if errors:
        text = f"aborting due to {_plural(errors, 'previous error')}"
        if warnings:
            text += f"; {_plural(warnings, 'warning')} emitted"
        level = Severity.ERROR.value
    elif warnings:
        text = f"{_plural(warnings, 'warning')} emitted"
        level = Severity.WARNING.value
    else:
        return None
    return f"{_paint(level, level, color)}{_paint(': ' + text, 'bold', color)}\n"


def render_human(diagnostics: Sequence[Diagnostic], sources: Mapping[str, SourceFile], *,
                 color: bool = False) -> str:
    """Every diagnostic followed by a blank line, then the summary line; "" for none."""
    parts = [render_diagnostic(d, sources, color=color) + "\n" for d in diagnostics]
    summary = render_summary(diagnostics, color=color)
    if summary:
        parts.append(summary)
    return "".join(parts)


def _span_json(span: Span) -> dict[str, Any]:
    return {
        "file": span.file,
        "line": span.line,
        "column": span.col,
        "end_line": span.end_line,
        "end_column": span.end_col,
    }


def diagnostic_json(diag: Diagnostic) -> dict[str, Any]:
    """The JSON object for one diagnostic (`--error-format=json`); lines and columns 1-based.

    Keys: code, severity, message, file, line, column, end_line, end_column (of the primary
    span), labels (each with primary, message and its own span keys), notes, suggestion.
    """
    labels = [{"primary": label is diag.primary, "message": label.message,
               **_span_json(label.span)} for label in (diag.primary, *diag.secondary)]
    return {
        "code": diag.code,
        "severity": diag.severity.value,
        "message": diag.message,
        **_span_json(diag.primary.span),
        "labels": labels,
        "notes": list(diag.notes),
        "suggestion": diag.suggestion,
    }


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    """One JSON object per diagnostic, one per line (JSON Lines)."""
    return "".join(json.dumps(diagnostic_json(d)) + "\n" for d in diagnostics)
