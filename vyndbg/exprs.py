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
from dataclasses import dataclass, replace
from pathlib import PurePath

from compiler import bytecode as bc
from compiler.debug_expr import (
    EVAL_FN,
    CompiledExpr,
    ExprError,
    ExprParam,
    compile_expression,
)
from compiler.span import SourceFile

__all__ = ["ExprCompiler", "ExprError", "ExprParam", "LoadedExpr"]


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
        self._loaded: dict[tuple, LoadedExpr] = {}

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
        found = self._loaded.get(key)
        if found is None:
            c = self.compile(expr, params)
            fmap, tmap = graft(vm, c.program)
            found = LoadedExpr(fmap[c.function], tmap[c.type_id], c.type_text)
            self._loaded[key] = found
        return found

    def forget(self, vm) -> None:
        """Drop what was loaded into `vm` (a new run made a new VM)."""
        self._loaded = {k: v for k, v in self._loaded.items() if k[0] != id(vm)}


def _type_key(types: list[bc.TypeDesc], d: bc.TypeDesc) -> tuple:
    parent = types[d.parent].name if d.kind == "variant" else ""
    return (d.name, d.kind, parent)


def graft(vm, new: bc.Program) -> tuple[dict[int, int], dict[int, int]]:
    """Add to `vm` what `new` has and it lacks; return the maps from `new`'s function and
    type numbers to the VM's."""
    old_types = {}
    for d in vm.types:
        old_types.setdefault(_type_key(vm.types, d), d.id)
    tmap: dict[int, int] = {}
    missing_types = []
    for d in new.types:
        found = old_types.get(_type_key(new.types, d))
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
    c.vars = [replace(v, type_id=tmap.get(v.type_id, v.type_id)) for v in f.vars]
    c.reg_types = [tmap.get(t, t) for t in f.reg_types]
    c.ret_type = tmap.get(f.ret_type, f.ret_type)
    return c
