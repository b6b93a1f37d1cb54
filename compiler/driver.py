"""The compiler's entry points: source files -> diagnostics and a checked program."""

from __future__ import annotations

from dataclasses import dataclass

from compiler.checker import check
from compiler.diagnostics import Diagnostic, DiagnosticSink
from compiler.gcpause import pauses_gc
from compiler.parser import parse
from compiler.span import SourceFile
from compiler.symbols import CheckedProgram


@dataclass(frozen=True)
class CheckResult:
    """What checking some files produced: sorted, capped diagnostics and, when the files
    parsed, the checked program."""

    diagnostics: list[Diagnostic]
    program: CheckedProgram | None
    sources: dict[str, SourceFile]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@pauses_gc
def check_sources(sources: list[SourceFile]) -> CheckResult:
    """Lex, parse and check `sources` as one program.

    Lexer and parser errors stop before the checker (its errors would mostly echo them).
    One collector pause covers all the phases (see gcpause).
    """
    sink = DiagnosticSink()
    by_name = {s.name: s for s in sources}
    modules = [parse(s, sink) for s in sources]
    program = None
    if not sink.has_errors:
        program = check(modules, sink, by_name)
    return CheckResult(sink.sorted(), program, by_name)
