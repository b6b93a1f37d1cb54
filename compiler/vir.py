"""VIR: the lowering's output before bytecode emission.

A function's VIR is a list of instructions over registers, with symbolic labels for
control flow and a source span on every instruction; `enter_region`/`exit_region`
(REGION/ENDREGION) are explicit; safepoints are implicit (every call and loop back-edge,
where the interpreter's slices end: docs/heap.md). Temporaries are assigned once
(SSA-like); named variables are mutable register slots, as allocas are in LLVM before
mem2reg. `emit` resolves labels to pcs, interns constants and builds the line table
(with is_stmt at statement starts) and the variable table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler import bytecode as bc
from compiler.span import Span


class Label:
    __slots__ = ("pc", "name")

    def __init__(self, name: str = ""):
        self.pc = -1
        self.name = name

    def __repr__(self) -> str:
        return f"L{self.name}@{self.pc}"


@dataclass
class Const:
    """A constant operand (interned into the function's pool at emission)."""

    value: object


@dataclass
class Instr:
    op: int
    args: list
    span: Span
    is_stmt: bool = False


@dataclass
class VirFunction:
    index: int
    name: str
    span: Span
    nparams: int
    instrs: list[Instr] = field(default_factory=list)
    vars: list[bc.VarEntry] = field(default_factory=list)   # pcs are instruction indices
    nregs: int = 0
    reg_types: dict[int, int] = field(default_factory=dict)
    ret_type: int = 0
    ncaptures: int = 0
    flags: int = 0

    def mark(self, label: Label) -> None:
        label.pc = len(self.instrs)


def emit(vf: VirFunction) -> bc.Function:
    """VIR -> bytecode Function (labels resolved, constants pooled, tables built)."""
    consts: list[object] = []
    index: dict[tuple, int] = {}

    def intern(v: object) -> int:
        key = (type(v).__name__, v if not isinstance(v, float) else repr(v))
        i = index.get(key)
        if i is None:
            i = len(consts)
            consts.append(v)
            index[key] = i
        return i

    code: list[tuple] = []
    lines: list[bc.LineEntry] = []
    last = None
    for pc, ins in enumerate(vf.instrs):
        ops = []
        for a in ins.args:
            if isinstance(a, Label):
                if a.pc < 0:
                    raise AssertionError(f"unplaced label in {vf.name}")
                ops.append(a.pc)
            elif isinstance(a, Const):
                ops.append(intern(a.value))
            else:
                ops.append(a)
        code.append((ins.op, *ops))
        key = (ins.span.line, ins.span.col, ins.is_stmt)
        if ins.is_stmt or last is None or (ins.span.line, ins.span.col) != last[:2]:
            if ins.span.line > 0:
                lines.append(bc.LineEntry(pc, ins.span.line, ins.span.col, ins.is_stmt))
                last = key
    n = len(code)
    reg_types = [vf.reg_types.get(r, 0) for r in range(vf.nregs)]
    vars_ = [bc.VarEntry(v.reg, v.name, v.type_id, v.start, min(v.end, n), v.kind, v.cell)
             for v in vf.vars]
    return bc.Function(vf.index, vf.name, vf.span.file, vf.span.line, vf.span.col,
                       vf.span.end_line, vf.nparams, max(vf.nregs, 1), code, consts, lines,
                       vars_, reg_types, vf.ret_type, vf.ncaptures, vf.flags)
