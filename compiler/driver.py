"""The compiler's entry points: source files -> diagnostics and a checked program."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compiler import ast
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


ImportLoader = Callable[[SourceFile, list[str]], "SourceFile | None"]
"""Given the importing file and an import's path (`["utils", "helper"]`), the source file
that provides it, or None when no file does (the prelude's `vyn`, a `module` declared
inline): the checker then resolves or reports the import. May raise to stop the build."""


@pauses_gc
def check_sources(sources: list[SourceFile], load_import: ImportLoader | None = None
                  ) -> CheckResult:
    """Lex, parse and check `sources` as one program, with the files their imports name
    (found by `load_import`, each parsed once; files are told apart by name).

    Lexer and parser errors stop before the checker (its errors would mostly echo them).
    One collector pause covers all the phases (see gcpause).
    """
    sink = DiagnosticSink()
    files = list(sources)
    by_name = {s.name: s for s in files}
    modules = []
    for source in files:     # grows while it is walked
        module = parse(source, sink)
        modules.append(module)
        if load_import is None:
            continue
        for path in import_paths(module):
            found = load_import(source, path)
            if found is not None and found.name not in by_name:
                by_name[found.name] = found
                files.append(found)
    program = None
    if not sink.has_errors:
        program = check(modules, sink, by_name)
    return CheckResult(sink.sorted(), program, by_name)


def import_paths(module: ast.Module) -> list[list[str]]:
    """The paths of a module's `import`s, those inside inline `module` blocks included."""
    paths = []
    items = list(module.items)
    for item in items:     # grows while it is walked
        if isinstance(item, ast.ModuleDecl) and item.items:
            items.extend(item.items)
        elif isinstance(item, ast.Import) and item.path:
            paths.append(item.path)
    return paths
