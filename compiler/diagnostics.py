"""Coded diagnostics: the data every compiler phase reports (rendering lives in render.py).

Codes by category (SEMANTICS.md, "Failure and exit codes"): L0xxx lexer, P1xxx parser,
T2xxx names/types/mutability, B3xxx ownership and scoping, W4xxx warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from compiler.span import Span


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Label:
    """A span with a message; the primary label carries the caret underline."""

    span: Span
    message: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """One coded message about the program, with where it points and how to fix it."""

    code: str
    message: str
    primary: Label
    secondary: tuple[Label, ...] = ()
    notes: tuple[str, ...] = ()
    suggestion: str | None = None
    severity: Severity = Severity.ERROR

    @property
    def phase(self) -> str:
        return PHASES.get(self.code[0], "checker")

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        s = self.primary.span
        return (s.file, s.line, s.col, self.code, self.message)


PHASES = {"L": "lexer", "P": "parser", "T": "checker", "B": "checker", "W": "checker"}

MAX_PER_PHASE = 20


@dataclass
class DiagnosticSink:
    """Collects diagnostics for one compilation; de-duplicates and caps them per phase."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set = field(default_factory=set)

    def add(self, diag: Diagnostic) -> None:
        key = (diag.code, diag.primary.span.file, diag.primary.span.start, diag.message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(diag)

    def error(self, code: str, message: str, span: Span, label: str = "", *,
              secondary: tuple[Label, ...] = (), notes: tuple[str, ...] = (),
              suggestion: str | None = None) -> None:
        self.add(Diagnostic(code, message, Label(span, label), secondary, notes, suggestion))

    def warning(self, code: str, message: str, span: Span, label: str = "", *,
                notes: tuple[str, ...] = (), suggestion: str | None = None) -> None:
        self.add(Diagnostic(code, message, Label(span, label), (), notes, suggestion,
                            Severity.WARNING))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        """Sorted by file, position and code; at most MAX_PER_PHASE per phase."""
        out: list[Diagnostic] = []
        counts: dict[str, int] = {}
        for d in sorted(self.items, key=Diagnostic.sort_key):
            n = counts.get(d.phase, 0)
            if n >= MAX_PER_PHASE:
                continue
            counts[d.phase] = n + 1
            out.append(d)
        return out


# Every code the compiler can emit, with a one-line summary. docs/errors.md documents each.
CODES: dict[str, str] = {
    # Lexer
    "L0001": "unexpected character",
    "L0002": "unterminated string literal",
    "L0003": "unterminated block comment",
    "L0004": "invalid escape sequence",
    "L0005": "invalid character literal",
    "L0006": "malformed number literal",
    "L0007": "number literal out of range",
    "L0008": "inconsistent indentation",
    "L0009": "invalid UTF-8 in source",
    "L0010": "nesting too deep",
    # Parser
    "P1000": "unexpected token",
    "P1001": "expected an expression",
    "P1002": "expected a type",
    "P1003": "expected a pattern",
    "P1004": "unclosed delimiter",
    "P1005": "expected a declaration",
    "P1006": "invalid assignment target",
    "P1007": "expected a block",
    # Names, types, mutability
    "T2000": "unknown name",
    "T2001": "mismatched types",
    "T2002": "assignment to an immutable binding",
    "T2003": "wrong number of arguments",
    "T2004": "unknown field or method",
    "T2005": "unknown type",
    "T2006": "not callable",
    "T2007": "duplicate definition",
    "T2008": "wrong number of type arguments",
    "T2009": "cannot infer type",
    "T2010": "invalid operand types",
    "T2011": "missing trait method",
    "T2012": "return outside a function or wrong return type",
    "T2013": "break or continue outside a loop",
    "T2014": "invalid pattern",
    "T2015": "missing field in construction",
    "T2016": "unknown named argument",
    "T2017": "await outside an async context",
    "T2018": "unknown macro or attribute",
    "T2019": "not indexable",
    "T2020": "invalid cast",
    "T2021": "not iterable",
    "T2022": "unsafe operation outside unsafe",
    # Ownership and scoping
    "B3000": "reference escapes its scoped block",
    "B3002": "free of a non-heap value",
    # Warnings
    "W4000": "non-exhaustive match",
}


class CompileError(Exception):
    """Raised by the driver when a compilation produced errors; carries the diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} diagnostics")
        self.diagnostics = diagnostics
