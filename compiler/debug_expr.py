"""Expressions a debugger evaluates, compiled by the compiler itself (no second Vyn).

`compile_expression` type-checks what the user typed (`print xs.len() + n`, a breakpoint
condition, `call fib(10)`) in the scope of a stopped frame and lowers it to bytecode, as
one more function of the program: the frame's live variables are its parameters (their
values are passed in), and everything the program declares (functions, types, enum
variants, globals, the prelude) is in scope as it is for code in the program's own file.
Mistakes are the checker's own coded diagnostics, located in the expression.

The function is added at the end of the program's first (entry) file:

    fn __vyn_eval__(n: Int, xs: Vec<Int>) {
      let __vyn_value__ = EXPR
    }

After checking, its body becomes EXPR and its return type EXPR's type, and the whole
program is lowered again; the debugger maps the new program's functions and types onto
the running one's by name (see vyndbg/exprs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from compiler import ast
from compiler.bytecode import Program
from compiler.diagnostics import Diagnostic, Label
from compiler.driver import ImportLoader, check_sources
from compiler.gcpause import pauses_gc
from compiler.lower import ProgramLowerer
from compiler.span import SourceFile, Span
from compiler.types import NEVER, UNIT, prune, resolve

EVAL_FN = "__vyn_eval__"
VALUE = "__vyn_value__"
EXPR_FILE = "<expression>"
_PREFIX = f"  let {VALUE} = "


@dataclass(frozen=True)
class ExprParam:
    """A variable of the frame, passed to the expression: its name and its type as Vyn
    source text (`Int`, `Vec<String>`, `Pair<Int, Int>`)."""

    name: str
    type_text: str


@dataclass(frozen=True)
class CompiledExpr:
    program: Program       # the program with the expression's function (and what it needs)
    function: int          # index of the expression's function in `program`
    type_id: int           # the type of its value in `program`
    type_text: str         # that type as Vyn source text
    texts: dict            # every type id of `program` as Vyn source text


class ExprError(Exception):
    """The expression does not compile. `diagnostics` are the checker's, located in the
    expression (file EXPR_FILE, line 1, columns of the text as typed); `reason` is one
    sentence when the problem is not in the expression (a variable whose type cannot be
    named in the program's file)."""

    def __init__(self, diagnostics: list[Diagnostic], reason: str = ""):
        super().__init__(reason or (diagnostics[0].message if diagnostics else "error"))
        self.diagnostics = diagnostics
        self.reason = reason


@pauses_gc
def compile_expression(sources: list[SourceFile], load_import: ImportLoader | None,
                       expr: str, params: list[ExprParam]) -> CompiledExpr:
    """Compile `expr` with `params` in scope as part of the program of `sources` (the
    first is the entry file). Raises ExprError."""
    if "\n" in expr:
        raise ExprError([], "an expression must be on one line")
    entry = sources[0]
    head = f"fn {EVAL_FN}(" + ", ".join(f"{p.name}: {p.type_text}" for p in params) + ") {"
    text = entry.text.rstrip("\n") + "\n\n" + head + "\n" + _PREFIX + expr + "\n}\n"
    line = text.count("\n", 0, len(text) - len(expr) - 3) + 1     # the expression's line
    start = len(text) - len(expr) - 3                              # its offset
    checked = check_sources([SourceFile(entry.name, text), *sources[1:]], load_import)
    errors = [d for d in checked.diagnostics if d.is_error]
    if errors:
        mine = [_rebase(d, entry.name, line, start) for d in errors
                if d.primary.span.file == entry.name and d.primary.span.line >= line - 1]
        if mine and all(d.primary.span.file == EXPR_FILE for d in mine):
            raise ExprError(mine)
        if any(d.primary.span.file == entry.name and d.primary.span.line == line - 1
               for d in errors):
            raise ExprError([], "the frame has a variable whose type cannot be named in the "
                                "program's file")
        raise ExprError([_rebase(d, entry.name, line, start) for d in errors][:1],
                        errors[0].message)
    program = checked.program
    inst = next(f for f in program.functions if f.name == EVAL_FN)
    let = inst.decl.body.stmts[0]
    value = let.value
    vt = prune(value.ty)
    inst.decl.body.stmts = [ast.ExprStmt(value, span=let.span)]
    inst.ret = UNIT if vt in (UNIT, NEVER) else vt
    lowerer = ProgramLowerer(program)
    bytecode = lowerer.lower()
    index = lowerer.fidx[inst]
    return CompiledExpr(bytecode, index, lowerer.types.tid(inst.ret), str(resolve(inst.ret)),
                        dict(lowerer.types.texts))


def _rebase(d: Diagnostic, file: str, line: int, start: int) -> Diagnostic:
    """A diagnostic located in the expression's own coordinates (line 1, its columns)."""

    def move(label: Label) -> Label:
        s = label.span
        if s.file != file or s.line != line:
            return label
        col = s.col - len(_PREFIX)
        end_col = s.end_col - len(_PREFIX) if s.end_line == line else col + 1
        span = Span(EXPR_FILE, s.start - start, s.end - start, 1, max(1, col), 1,
                    max(1, end_col))
        return Label(span, label.message)

    return replace(d, primary=move(d.primary), secondary=tuple(move(x) for x in d.secondary))
