"""Debugger expressions through the real compiler (compiler/debug_expr.py), run in the VM.

`ExprCompiler.compile` checks and lowers an expression in the scope of a frame: the
frame's live variables become parameters of a function added to the program. `load`
then grafts the new program onto the running one: its functions and types are matched
with the running program's by name (the compiler numbers them in the order it meets
them, which the added function can change), those the running program lacks (the
expression's function, template instances or tuple types only it uses) are appended to
the VM, and every function and type number in the new code is rewritten to the running
program's. The result is an ordinary function of the running VM, which the engine calls
with the variables' values.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import PurePath

from compiler import bytecode as bc
from compiler.debug_expr import (
    EVAL_FN,
    CompiledExpr,
    ExprError,
    ExprParam,
    compile_expression,
)
from compiler.driver import check_sources
from compiler.lower import ProgramLowerer
from compiler.span import SourceFile
from vyndbg.evaluate import TypedValue
from vyndbg.model import BadExpressionError, DebugError, NoSymbolError, NotSupportedError

__all__ = ["ExprCompiler", "ExprError", "ExprParam", "Expression", "LoadedExpr",
           "compile_debug_expression", "expression_error", "render_error", "type_texts"]


@dataclass(frozen=True)
class LoadedExpr:
    function: int          # the expression's function in the running VM
    type_id: int           # its value's type in the running VM
    type_text: str


class ExprCompiler:
    """Compiles and loads expressions for one program; caches both."""

    def __init__(self, program: bc.Program):
        self.program = program
        entry = program.functions[program.entry].file if program.entry >= 0 else None
        names = sorted(program.sources, key=lambda n: n != entry)
        self.sources = [SourceFile(n, program.sources[n]) for n in names]
        self._by_stem = {PurePath(s.name).stem: s for s in self.sources}
        self._compiled: dict[tuple, CompiledExpr] = {}
        self._loaded: dict[tuple, tuple] = {}
        self._texts: dict[int, str] | None = None

    def type_text(self, tid: int) -> str | None:
        """The running program's type `tid` as Vyn source text, or None."""
        if self._texts is None:
            self._texts = type_texts(self.program, self.sources, self._load_import) \
                if self.sources else {}
        return self._texts.get(tid)

    def _load_import(self, importing: SourceFile, path: list[str]) -> SourceFile | None:
        return self._by_stem.get(path[0]) if path else None

    def compile(self, expr: str, params: list[ExprParam]) -> CompiledExpr:
        """Raises ExprError with the checker's diagnostics."""
        key = (expr, tuple(params))
        found = self._compiled.get(key)
        if found is None:
            if not self.sources:
                raise ExprError([], "the program's sources are not in the image")
            found = compile_expression(self.sources, self._load_import, expr, params)
            self._compiled[key] = found
        return found

    def load(self, vm, expr: str, params: list[ExprParam]) -> LoadedExpr:
        """Compile (cached) and graft into `vm` (cached per VM)."""
        key = (id(vm), expr, tuple(params))
        held = self._loaded.get(key)
        if held is not None and held[0] is vm:
            return held[1]
        c = self.compile(expr, params)
        self.type_text(0)                   # the running program's type texts, once
        fmap, tmap = graft(vm, c.program, c.texts, self._texts or {})
        found = LoadedExpr(fmap[c.function], tmap[c.type_id], c.type_text)
        self._loaded[key] = (vm, found)     # the VM itself: an id can be reused
        return found

    def forget(self, vm) -> None:
        """Drop what was loaded into `vm` (a new run made a new VM)."""
        self._loaded = {k: v for k, v in self._loaded.items() if k[0] != id(vm)}


def _type_key(types: list[bc.TypeDesc], d: bc.TypeDesc, texts: dict) -> tuple:
    """What identifies a type across two compilations: its source text when known (a
    TypeDesc's name is `Pair` for every `Pair<A, B>`), its kind, and for an enum
    variant its enum."""
    def name(t: bc.TypeDesc) -> str:
        return texts.get(t.id) or t.name

    parent = name(types[d.parent]) if d.kind == "variant" else ""
    return (name(d), d.kind, parent)


def graft(vm, new: bc.Program, new_texts: dict | None = None,
          old_texts: dict | None = None) -> tuple[dict[int, int], dict[int, int]]:
    """Add to `vm` what `new` has and it lacks; return the maps from `new`'s function and
    type numbers to the VM's. `*_texts`: type ids as source text, to tell instances of
    one template apart."""
    new_texts = new_texts or {}
    old_texts = old_texts or {}
    old_types = {}
    for d in vm.types:
        old_types.setdefault(_type_key(vm.types, d, old_texts), d.id)
    tmap: dict[int, int] = {}
    missing_types = []
    for d in new.types:
        found = old_types.get(_type_key(new.types, d, new_texts))
        if found is None:
            tmap[d.id] = len(vm.types) + len(missing_types)
            missing_types.append(d)
        else:
            tmap[d.id] = found
    old_fns = {}
    for f in vm.functions:
        old_fns.setdefault(f.name, f.index)
    fmap: dict[int, int] = {}
    missing_fns = []
    for f in new.functions:
        # The expression's function and its lambdas are new every time (each expression
        # names them alike); everything else is the running program's if it has it.
        found = None if f.name.startswith(EVAL_FN) else old_fns.get(f.name)
        if found is None:
            fmap[f.index] = len(vm.functions) + len(missing_fns)
            missing_fns.append(f)
        else:
            fmap[f.index] = found
    added_types = [_retype(d, tmap, fmap) for d in missing_types]
    if added_types:
        vm.add_types(added_types)
    added = [_refunction(f, tmap, fmap) for f in missing_fns]
    if added:
        vm.add_functions(added)
    return fmap, tmap


def _retype(d: bc.TypeDesc, tmap: dict, fmap: dict) -> bc.TypeDesc:
    c = copy.copy(d)
    c.id = tmap[d.id]
    c.elem = tmap.get(d.elem, d.elem)
    c.fields = [(n, tmap[t]) for n, t in d.fields]
    c.variants = [tmap[v] for v in d.variants]
    c.parent = tmap.get(d.parent, d.parent)
    c.methods = {n: fmap[f] for n, f in d.methods.items()}
    if d.kind == "vec":
        c.size = tmap[d.size]                  # a vec's size is its data array's type
    elif d.kind == "closure":
        c.size = fmap.get(d.size, d.size)      # a closure's size is its function
    return c


def _refunction(f: bc.Function, tmap: dict, fmap: dict) -> bc.Function:
    c = copy.copy(f)
    c.index = fmap[f.index]
    consts = list(f.consts)
    code = []
    for ins in f.code:
        name = bc.OPNAMES[ins[0]]
        spec = bc.OPERANDS[name]
        out = list(ins)
        for i, kind in enumerate(spec, 1):
            if kind == "f":
                out[i] = fmap[ins[i]]
            elif kind == "y":
                out[i] = tmap[ins[i]]
        if name == "PRINT":                   # its const[k2] is a tuple of type ids
            consts[ins[4]] = tuple(tmap[t] for t in f.consts[ins[4]])
        code.append(tuple(out))
    c.code = code
    c.consts = consts
    c.vars = [v._replace(type_id=tmap.get(v.type_id, v.type_id)) for v in f.vars]
    c.reg_types = [tmap.get(t, t) for t in f.reg_types]
    c.ret_type = tmap.get(f.ret_type, f.ret_type)
    return c


# ---------------------------------------------------------------- what the engine calls

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def type_texts(program: bc.Program, sources: list[SourceFile], loader) -> dict[int, str]:
    """Each type id of `program` as Vyn source text, from compiling its sources again (the
    same compiler numbers them the same way); {} when the numbering does not match."""
    checked = check_sources(sources, loader)
    if not checked.ok or checked.program is None:
        return {}
    lowerer = ProgramLowerer(checked.program)
    again = lowerer.lower()
    if [(d.name, d.kind) for d in again.types] != [(d.name, d.kind) for d in program.types]:
        return {}
    return dict(lowerer.types.texts)


class Expression:
    """A compiled debugger expression, called as the engine calls its expressions:
    `expr(scope) -> TypedValue` (scope: vyndbg.evaluate.Scope, a session and a frame).

    It runs through the compiler (ExprCompiler): the frame's variables that the text
    names become parameters. What the compiler cannot take is evaluated by `fallback`
    (vyndbg/evaluate.py): gdb's `$` variables (value history, `$pc`), and a frame whose
    variables' types cannot be named in the program's file."""

    def __init__(self, text: str, fallback):
        self.text = text
        self.fallback = fallback
        self.names = set(_IDENT.findall(text))
        self._plans: dict[tuple, tuple] = {}

    def _fallback(self, scope):
        if self.fallback is None:
            raise NotSupportedError("This expression cannot be evaluated in this frame: a "
                                    "variable it uses has a type the program's file cannot "
                                    "name.")
        return self.fallback(scope)

    def __call__(self, scope):
        if "$" in self.text:
            return self._fallback(scope)
        session = scope.session
        frame = scope.frame
        vm = scope.vm
        # What the text needs from a frame at a pc (the variables it names, the loaded
        # function) is worked out once: a breakpoint condition is tested at one place.
        key = (id(vm), frame.fn.index, frame.pc, frame is vm.frame) if frame else (id(vm),)
        plan = self._plans.get(key)
        if plan is None or plan[0] is not vm:
            plan = self._plan(session, vm, frame)
            if plan is None:
                return self._fallback(scope)
            self._plans[key] = plan
        _, variables, loaded = plan
        args = [session._read_var(frame, v).value for v in variables]
        return TypedValue(session.call_in_program(loaded.function, args), loaded.type_id)

    def _plan(self, session, vm, frame):
        ec = session.expr_compiler()
        variables, params = [], []
        if frame is not None:
            level = session._level_of(frame)
            for v in session._live_vars(frame, level):
                if v.name not in self.names:
                    continue
                text = ec.type_text(v.type_id)
                if text is None:
                    return None
                variables.append(v)
                params.append(ExprParam(v.name, text))
        try:
            loaded = ec.load(vm, self.text, params)
        except ExprError as e:
            if not e.diagnostics:
                return None
            raise expression_error(self.text, e.diagnostics[0]) from None
        return vm, variables, loaded


def expression_error(text: str, d) -> DebugError:
    """The checker's diagnostic `d` for an expression as the engine raises it, worded by
    `render_error`: NoSymbolError for an unknown name, else BadExpressionError carrying
    the diagnostic's code."""
    message = render_error(text, d)
    if d.code == "T2000":
        m = re.search(r"`([^`]+)`", d.message)
        if m:
            return NoSymbolError(message, name=m.group(1), kind="variable")
    return BadExpressionError(message, expression=text, diagnostic=d.code, detail=d.message)


def render_error(text: str, d) -> str:
    """The checker's diagnostic for an expression, in the line mode's style: gdb's own
    sentence for an unknown name, else the code, the message and a caret under the
    expression."""
    if d.code == "T2000":
        m = re.search(r"`([^`]+)`", d.message)
        if m:
            return f'No symbol "{m.group(1)}" in current context.'
    s = d.primary.span
    start = max(0, s.col - 1)
    width = max(1, (s.end_col - s.col) if s.end_line == s.line else len(text) - start)
    label = f" {d.primary.message}" if d.primary.message else ""
    return (f"error[{d.code}]: {d.message}\n  {text}\n  {' ' * start}{'^' * width}{label}")


def compile_debug_expression(text: str) -> Expression:
    """What the engine compiles a condition, `print`, `watch`, `display` or `dprintf`
    argument with: a syntax error is reported at once (the parser's message), the rest
    when the expression is evaluated in a frame."""
    from vyndbg.evaluate import compile_expression as fallback_compile

    try:
        fallback = fallback_compile(text)
    except BadExpressionError:
        raise
    except DebugError:
        fallback = None           # only the compiler can evaluate it; fine
    return Expression(text, fallback)
