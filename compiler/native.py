"""The native backend: bytecode function -> LLVM IR (text) -> x86-64 machine code.

One backend serves `vyn build` (the image's `.text` and `.debug_*`) and the JIT of
`vyn run` (MCJIT runs the very object bytes `emit_object` returns). docs/native.md is the
contract: the calling convention, the helper ABI, deoptimization, and the DWARF.

In short:
- `analyze` runs a forward dataflow over a function's bytecode that gives the value kind
  (Int, Float, Bool, pointer, unit) of every register at every pc, and says why a
  function cannot be compiled (it then stays in bytecode).
- Every register is an `i64` stack slot (Floats as their bits); a variable of the
  variable table is a DWARF variable on its register's slot. Tier 1 (-O0) keeps them
  there; tier 2 (-O2) runs LLVM's O2 pipeline, which promotes them to SSA values and
  keeps what DWARF can still say.
- Native code counts the interpreter's reductions (every call and loop back-edge) in a
  budget word of the context; when it reaches zero it asks the runtime (`vyn_rt_poll`)
  whether the slice really ends. If it does, or at any instruction native code does not
  finish itself (a panic, a call of a function still in bytecode, a builtin that may
  wait or call back into Vyn code: a *side exit*), native code *deoptimizes*: each
  native frame, innermost first, hands its bytecode pc and registers to the runtime
  (`vyn_rt_frame`), which rebuilds bytecode frames and goes on in the interpreter. So
  the scheduler switches fibers at exactly the same reductions, and a panic is raised
  by the interpreter itself, with the same message and backtrace.
- The budget goes from caller to callee in a register (an argument of the fast entry,
  returned beside the result); tier 2 keeps it in a local (a register), stored to the
  context word only where the runtime reads it, and checks the Vecs an innermost loop indexes once
  per entry into the loop when nothing in it can change them (compiler/native_loops.py):
  an element then costs one compare of its index with a limit.
"""

from __future__ import annotations

import functools
import struct
import time
from collections.abc import Iterable

from compiler import bytecode as bc
from compiler.bytecode import K_BOOL, K_FLOAT, K_INT, K_PTR, K_UNIT, Function, Program
from compiler.native_debug import DIBuilder, NullDIBuilder
from compiler.native_loops import (
    Loop,
    budget_free,
    closure_functions,
    find_loops,
    stable_functions,
)

TARGET_TRIPLE = "x86_64-unknown-linux-gnu"
ABI_VERSION = 2

# The context every native function receives (an array of i64 words).
CTX_BUDGET, CTX_STATUS, CTX_DEPTH_LIMIT, CTX_STRINGS, CTX_FUNCTIONS, CTX_ID, CTX_STACK = range(7)
# Call tracing (code compiled with `trace=True`, docs/native.md "Call events"): the next
# free word of the trace buffer, the last word a record may start at, the cycle counter
# when native code was entered (or the buffer last drained), and when it last left.
CTX_TRACE_POS, CTX_TRACE_END, CTX_TRACE_TSC, CTX_TRACE_NOW = 7, 8, 9, 10
# 1 when a call was traced by the caller's poll (the slice went on at that call): the
# callee's entry does not trace it again (cleared by the entry, or by `vyn_rt_call`).
CTX_TRACE_SKIP = 11
# Inline allocation (NEW): the runtime lends native code a run of the heap's bump space,
# [CTX_TLAB_CUR, CTX_TLAB_END) as absolute addresses (both 0: none lent, allocate through
# the runtime), and a table of the heap's type id for each program type.
CTX_TLAB_CUR, CTX_TLAB_END, CTX_HEAP_TIDS = 12, 13, 14
# Where native code is when it calls `vyn_rt_poll` or `vyn_rt_call` (a profile's stack
# sample is taken there without leaving, runtime/jit.py `_native_stack`): its frame
# address (RBP), an address inside the calling code (DWARF: its line and inlined frames),
# and the site (`poll_site`: function, bytecode pc, the callee a call's poll is for).
CTX_SAMPLE_FP, CTX_SAMPLE_ADDR, CTX_SAMPLE_SITE = 15, 16, 17
# Slice ends native code may take without the runtime (runtime/jit.py `poll`): while
# CTX_SOLO_LEFT > 0 and the lent run's pointer (CTX_TLAB_CUR) is below CTX_SOLO_DUE (where
# the heap would want a collection), a budget at zero is refilled with CTX_SOLO_SLICE and
# the word goes down by one; the runtime settles the count when it next runs.
CTX_SOLO_LEFT, CTX_SOLO_SLICE, CTX_SOLO_DUE = 18, 19, 20
STACK_ALLOWANCE = 2 << 20     # bytes of C stack native code may use below its entry
CTX_WORDS = 21
# ctx[CTX_STATUS] after native code returned.
ST_OK, ST_YIELD, ST_TRAP, ST_RAISE, ST_BLOCK = 0, 1, 2, 3, 4
# vyn_rt_exec's answers.
EXEC_OK, EXEC_RAISED, EXEC_EXIT_AFTER = 0, 1, 2

# Register kinds beyond bytecode's K_*: never written on any path, or written with
# different kinds on different paths.
UNSET = None
CONFLICT = -1
# An iterator (ITER's destination) over a value of program type T has kind K_ITER + T:
# its register holds the iterated object, and two hidden words of the frame (after the
# registers, `iter_registers`) its position: a range's next value and how many are left,
# a Vec's next index. The runtime turns it into the interpreter's iterator and back.
K_ITER = 1 << 20

FLAGS_OFFSET, SIZE_OFFSET, SLOT0_OFFSET = 4, 8, 16
FLAGS_DEAD = 0x2 | 0x4 | 0x40     # FREED | RELEASED | FREE_BLOCK (runtime/heap_layout.py)
FLAG_YOUNG = 0x80
HEADER_BYTES = 16
SLICE_HINT = "!{!\"branch_weights\", i32 1, i32 2000}"
# Type-based alias information: the context, heap objects and the exit buffer never
# overlap, so LLVM may keep the budget in a register and hoist a vector's header out of
# a loop. Words of the context that do not change while native code runs are invariant.
CTX = ", !tbaa !1000001"
HEAP = ", !tbaa !1000002"
INVARIANT = ", !tbaa !1000001, !invariant.load !1000003"
TRACE = ", !tbaa !1000007"       # the call trace buffer (code compiled with trace=True)
_EXTRA_METADATA = """!1000000 = !{!"vyn"}
!1000004 = !{!"vyn.ctx", !1000000, i64 0}
!1000005 = !{!"vyn.heap", !1000000, i64 0}
!1000001 = !{!1000004, !1000004, i64 0}
!1000002 = !{!1000005, !1000005, i64 0}
!1000003 = !{}
"""
_TRACE_METADATA = """!1000006 = !{!"vyn.trace", !1000000, i64 0}
!1000007 = !{!1000006, !1000006, i64 0}
"""
TRACE_RECORD_WORDS = 2        # the most words one trace record takes (a call)

_KIND_BY_DESC = {"int": K_INT, "char": K_INT, "rune": K_INT, "float": K_FLOAT,
                 "bool": K_BOOL, "unit": K_UNIT, "never": K_UNIT}

HELPERS = {
    "vyn_rt_poll": "declare i64 @vyn_rt_poll(ptr)",
    "vyn_rt_frame": "declare void @vyn_rt_frame(ptr, i64, i64, i64, i64, ptr)",
    "vyn_rt_exec": "declare i64 @vyn_rt_exec(ptr, i64, i64, ptr)",
    "vyn_rt_remember": "declare void @vyn_rt_remember(ptr, i64)",
    "vyn_rt_call": "declare i64 @vyn_rt_call(ptr, i64, i64, i64, ptr)",
    "vyn_rt_trace": "declare void @vyn_rt_trace(ptr, i64)",
}

# Instructions native code hands to the runtime whole (`vyn_rt_exec`): they allocate,
# print, format or touch Python-side state. They never call Vyn code or wait.
GENERIC = frozenset((
    bc.PRINT, bc.DBG, bc.TOSTR, bc.SCAT, bc.VEQ, bc.VCMP, bc.NEW, bc.VECNEW, bc.ARRNEW,
    bc.RANGE, bc.GGET, bc.GSET, bc.CELLNEW, bc.CELLGET, bc.CELLSET, bc.FREE, bc.REGION,
    bc.ENDREGION, bc.REFNEW, bc.RCHOLD, bc.RCSETF, bc.RCGSET, bc.CLOSURE, bc.CALLB,
    bc.INDEX, bc.SETINDEX,
))
# Generic instructions whose first register operand is read, not written.
_NO_DEST = frozenset((bc.SETF, bc.SETINDEX, bc.CELLSET, bc.PRINT, bc.DBG, bc.PANIC, bc.FREE,
                      bc.ENDREGION, bc.RCHOLD, bc.RCSETF, bc.GSET, bc.RCGSET, bc.RET, bc.JT,
                      bc.JF))
_TRAPS = frozenset((bc.PANIC, bc.PANICK, bc.UNSUPPORTED))
_BRANCH2 = {bc.JLT: "slt", bc.JLE: "sle", bc.JGT: "sgt", bc.JGE: "sge", bc.JEQ: "eq",
            bc.JNE: "ne"}
_FBRANCH2 = {bc.JLT: "olt", bc.JLE: "ole", bc.JGT: "ogt", bc.JGE: "oge", bc.JEQ: "oeq",
             bc.JNE: "une"}
_CMP = {bc.LT: "slt", bc.LE: "sle", bc.GT: "sgt", bc.GE: "sge", bc.EQ: "eq", bc.NE: "ne"}
_FCMP = {bc.LT: "olt", bc.LE: "ole", bc.GT: "ogt", bc.GE: "oge", bc.EQ: "oeq", bc.NE: "une"}
_INT_BIN = {bc.ADD: "add", bc.SUB: "sub", bc.MUL: "mul", bc.BAND: "and", bc.BOR: "or",
            bc.BXOR: "xor"}
_FLOAT_BIN = {bc.FADD: "fadd", bc.FSUB: "fsub", bc.FMUL: "fmul"}
_NATIVE_BUILTINS = frozenset(("Vec.len", "Array.len", "Vec.push"))
QNAN = 0x7FF8000000000000


SITE_TAG = 1 << 62            # a poll site word is never 0 (0: code that stores none)


def poll_site(fi: int, pc: int, callee: int | None) -> int:
    """The word native code stores in CTX_SAMPLE_SITE before `vyn_rt_poll` (and
    `vyn_rt_call`): function `fi` is at bytecode `pc` (a back-edge's target, or a call's
    own pc), and for a call's poll, the callee about to run from its pc 0. 0 (none) if
    they do not fit in its fields."""
    if fi >> 21 or pc >> 21 or (callee is not None and (callee + 1) >> 20):
        return 0
    return SITE_TAG | fi | pc << 21 | (0 if callee is None else callee + 1) << 42


def decode_site(word: int) -> tuple[int, int, int | None]:
    """poll_site's (fi, pc, callee)."""
    callee = (word >> 42) & 0xFFFFF
    return word & 0x1FFFFF, (word >> 21) & 0x1FFFFF, callee - 1 if callee else None


class NativeError(Exception):
    """LLVM rejected what the backend produced (a backend bug, reported as such)."""


def desc_kind(program: Program, tid: int) -> int:
    types = program.types
    if not 0 <= tid < len(types):
        return K_PTR
    return _KIND_BY_DESC.get(types[tid].kind, K_PTR)


def symbol(fi: int) -> str:
    return f"vyn.fn.{fi}"


def entry_symbol(fi: int) -> str:
    return f"vyn.entry.{fi}"


def osr_symbol(fi: int) -> str:
    return f"vyn.osr.{fi}"


def register_ranges(ins: tuple) -> tuple[list[int], list[int]]:
    """(registers read, registers written) by a generic instruction."""
    op = ins[0]
    letters = bc.OPERANDS[bc.OPNAMES[op]]
    reads: list[int] = []
    writes: list[int] = []
    first = True
    i = 0
    while i < len(letters):
        letter = letters[i]
        if letter == "r":
            if i + 1 < len(letters) and letters[i + 1] == "n":
                reads.extend(range(ins[1 + i], ins[1 + i] + ins[2 + i]))
                i += 2
                first = False
                continue
            if first and op not in _NO_DEST:
                writes.append(ins[1 + i])
            else:
                reads.append(ins[1 + i])
            first = False
        i += 1
    return reads, writes


def iter_registers(fn: Function) -> list[int]:
    """The registers that hold an iterator somewhere in `fn`, in the order of their
    hidden words: register `iter_registers(fn)[j]`'s are words `nregs + 2j` and
    `nregs + 2j + 1` of the frame buffer."""
    return sorted({ins[1] for ins in fn.code if ins[0] == bc.ITER})


def method_classes(program: Program, name: str) -> list[tuple[int, int]]:
    """(program type, function) of each class with a method `name`: where CALLM of
    `name` may go."""
    return [(d.id, d.methods[name]) for d in program.types
            if d.heap is not None and name in d.methods]


def frame_words(fn: Function) -> int:
    """Words of `fn`'s frame in a buffer (exits, OSR entry): its registers, then two per
    iterator register."""
    return max(1, fn.nregs + 2 * len(iter_registers(fn)))


def iter_type(kind) -> int | None:
    """The program type an iterator kind iterates over (None: not an iterator)."""
    if isinstance(kind, int) and kind >= K_ITER:
        return kind - K_ITER
    return None


def string_ids(program: Program) -> dict[tuple[int, int], int]:
    """(function, constant) -> index in the context's string table, for every string a
    LOADK loads (the runtime fills the table with the interned String objects)."""
    ids: dict[tuple[int, int], int] = {}
    for fn in program.functions:
        for ins in fn.code:
            if ins[0] == bc.LOADK and isinstance(fn.consts[ins[2]], str):
                ids.setdefault((fn.index, ins[2]), len(ids))
    return ids


# ------------------------------------------------------------------------------ analysis


class Plan:
    """What the backend knows about one compilable function. (A plain class, as the other
    records `vyn run` loads at every start: importing dataclasses costs about 8 ms.)"""

    def __init__(self, fn: Function, states: list[tuple], entry: tuple, ret_kind: int,
                 leaders: list[int], backedges: list[int], callees: set[int] | None = None,
                 reachable: frozenset[int] = frozenset(),
                 side_exits: frozenset[int] = frozenset(), no_osr: list[int] | None = None,
                 entered: bool = True) -> None:
        self.fn = fn
        self.states = states              # register kinds before each pc
        self.entry = entry                # register kinds at entry (parameters)
        self.ret_kind = ret_kind
        self.leaders = leaders
        self.backedges = backedges        # targets of loop back-edges that are OSR entries
        self.callees: set[int] = set() if callees is None else callees
        self.reachable = reachable
        # Side exits: CALLBs of builtins that may wait or call back into Vyn code. Native
        # code leaves there (the interpreter runs the builtin and goes on with the frame).
        self.side_exits = side_exits
        # Loop headers that are no OSR entries: their loop has a side exit, or calls a
        # function that may leave at one (compiler/native_loops.py `waiting_loops`).
        self.no_osr: list[int] = [] if no_osr is None else no_osr
        # Calls enter its native code at its start (else it would only leave at a side
        # exit: the interpreter makes its calls, `entered_by_calls`; OSR still enters it).
        self.entered = entered

    def __repr__(self) -> str:
        return f"Plan({self.fn.name!r}, backedges={self.backedges}, entered={self.entered})"

    @property
    def index(self) -> int:
        return self.fn.index

    def kinds_at(self, site: int) -> tuple:
        return self.entry if site < 0 else self.states[site]


def successors(code: list[tuple], pc: int) -> list[int]:
    ins = code[pc]
    op = ins[0]
    if op == bc.JMP:
        return [ins[1]]
    if op in (bc.JT, bc.JF):
        return [ins[2], pc + 1]
    if op in _BRANCH2 or op in (bc.JLTK, bc.JGEK, bc.NEXT):
        return [ins[3], pc + 1]
    if op == bc.RET or op in _TRAPS:
        return []
    return [pc + 1] if pc + 1 < len(code) else []


def _join(a, b):
    if a == b or b is UNSET:
        return a
    if a is UNSET:
        return b
    return CONFLICT


class _Refuse(Exception):
    pass


def analyze(program: Program, fi: int, plain_builtins: frozenset[str] | None = None
            ) -> Plan | str:
    """A Plan for function `fi`, or the reason (a sentence fragment) it stays in
    bytecode. `plain_builtins`: names of builtins that neither call back into Vyn code
    nor wait; a call of any other is a side exit (`Plan.side_exits`: native code leaves
    there, the interpreter makes the call). None: every CALLB is refused."""
    fn = program.functions[fi]
    try:
        return _analyze(program, fn, plain_builtins)
    except _Refuse as r:
        return str(r)


def _dest_kind(program: Program, fn: Function, ins: tuple, state: list) -> int | None:
    op = ins[0]
    if op == bc.MOV:
        return state[ins[2]]
    if op == bc.LOADK:
        v = fn.consts[ins[2]]
        if isinstance(v, bool):
            return K_BOOL
        if isinstance(v, int):
            return K_INT
        if isinstance(v, float):
            return K_FLOAT
        if v is None:
            return K_UNIT
        if isinstance(v, str):
            return K_PTR
        raise _Refuse("loads a constant of an unsupported kind")
    if op in (bc.ADD, bc.SUB, bc.MUL, bc.DIV, bc.MOD, bc.ADDK, bc.SUBK, bc.NEG, bc.SHL,
              bc.SHR, bc.BNOT, bc.WRAP, bc.TAG, bc.REGION):
        return K_INT
    if op in (bc.FADD, bc.FSUB, bc.FMUL, bc.FDIV, bc.FMOD, bc.FNEG):
        return K_FLOAT
    if op in (bc.BAND, bc.BOR, bc.BXOR):
        return state[ins[2]]
    if op in (bc.NOT, bc.EQ, bc.NE, bc.LT, bc.LE, bc.GT, bc.GE, bc.VEQ, bc.VCMP):
        return K_BOOL
    if op in (bc.SCAT, bc.NEW, bc.VECNEW, bc.ARRNEW, bc.RANGE, bc.CELLNEW, bc.CLOSURE,
              bc.REFNEW, bc.TOSTR, bc.LOADENV):
        return K_PTR
    if op == bc.CALL:
        return desc_kind(program, program.functions[ins[2]].ret_type)
    if op == bc.CALLB:
        known = builtin_kind(fn.consts[ins[2]])
        if known is not None:
            return known
    if op in (bc.CALLV, bc.CALLM):
        return desc_kind(program, ins[5])
    if op in (bc.CALLB, bc.CELLGET):
        return desc_kind(program, fn.reg_types[ins[1]]) if ins[1] < len(fn.reg_types) else K_PTR
    if op == bc.GETF:
        return ins[4] if ins[4] in (K_INT, K_FLOAT, K_PTR, K_BOOL) else K_UNIT
    if op == bc.INDEX:
        d = program.types[ins[4]]
        if d.kind in ("vec", "array"):
            return desc_kind(program, d.elem)
        return K_INT
    if op == bc.CAST:
        return (K_INT, K_FLOAT, K_BOOL, K_INT)[ins[4]] if 0 <= ins[4] <= 3 else K_INT
    if op == bc.GGET:
        return desc_kind(program, program.globals[ins[2]][1])
    if op == bc.ITER:
        return K_ITER + ins[3]
    if op == bc.NEXT:
        tid = iter_type(state[ins[2]])
        if tid is None:
            return None
        d = program.types[tid]
        return desc_kind(program, d.elem) if d.kind == "vec" else K_INT
    if op == bc.LOADCAP:
        return _capture_kinds(program, fn)[ins[2]]
    return None


# Builtins that return nothing: their destination register holds unit (native code must
# not expect the register's other kind there, or every call would leave native code).
UNIT_BUILTINS = frozenset({"Vec.push", "Vec.insert", "Vec.clear", "Vec.sort"})


def builtin_kind(name: str) -> int | None:
    """The kind of what a builtin returns, when its name tells (else the register's type
    says, checked at run time)."""
    if not isinstance(name, str):
        return None
    method = name.rpartition(".")[2]
    if name in UNIT_BUILTINS:
        return K_UNIT
    if method == "len" or name in ("Int.abs", "Int.min", "Int.max", "Int.pow", "Char.to_upper",
                                   "Char.to_lower"):
        return K_INT
    if method.startswith("is_"):
        return K_BOOL
    if name.startswith("Float.") and method in ("abs", "sqrt", "floor", "ceil", "round", "min",
                                                "max", "pow"):
        return K_FLOAT
    return None


def param_kind(program: Program, fn: Function, r: int) -> int:
    """The kind of parameter `r`: its variable's type, else its register's."""
    for v in fn.vars:
        if v.kind == "param" and v.reg == r:
            return desc_kind(program, v.type_id)
    return desc_kind(program, fn.reg_types[r]) if r < len(fn.reg_types) else K_PTR


def _capture_kinds(program: Program, fn: Function) -> list[int]:
    kinds = [K_INT] * fn.ncaptures
    for v in fn.vars:
        if v.kind == "capture" and v.reg < len(kinds):
            kinds[v.reg] = K_PTR if v.cell else desc_kind(program, v.type_id)
    return kinds


def _check(program: Program, fn: Function, ins: tuple, state: list,
           plain: frozenset[str] | None) -> None:
    op = ins[0]
    name = bc.OPNAMES[op]
    if op == bc.ITER:
        d = program.types[ins[3]] if 0 <= ins[3] < len(program.types) else None
        if d is None or d.kind not in ("range", "vec"):
            what = {"array": "an array", "string": "a String", "bytes": "Bytes"}.get(
                d.kind if d is not None else "", "a value of another type")
            raise _Refuse(f"iterates over {what} with `for ... in` (native code iterates "
                          "over ranges and Vecs)")
    elif op == bc.NEXT:
        if iter_type(state[ins[2]]) is None:
            raise _Refuse("iterates with `for ... in` over values of different types "
                          "in one register")
    elif any(iter_type(state[r]) is not None for r in register_ranges(ins)[0]
             if 0 <= r < len(state)):
        raise _Refuse(f"uses an iterator other than to iterate ({name})")
    if op == bc.BREAKPOINT:
        raise _Refuse("holds a debugger breakpoint")
    if op == bc.CALLB and plain is None:
        # (Without the runtime's list no builtin is known to be plain; with it, the
        # others are side exits.)
        raise _Refuse(f"calls the builtin `{fn.consts[ins[2]]}`, which can call back "
                      "into Vyn code or wait for another fiber")
    if op in (bc.EQ, bc.NE, bc.LT, bc.LE, bc.GT, bc.GE) or op in _BRANCH2:
        a, b = (ins[2], ins[3]) if op not in _BRANCH2 else (ins[1], ins[2])
        ka, kb = state[a], state[b]
        if ka in (UNSET, CONFLICT) or kb in (UNSET, CONFLICT):
            raise _Refuse(f"compares registers of unknown kind at {name}")
        if (ka == K_FLOAT) != (kb == K_FLOAT):
            raise _Refuse(f"compares a Float with another kind at {name}")
    if op in (bc.BAND, bc.BOR, bc.BXOR) and state[ins[2]] in (UNSET, CONFLICT):
        raise _Refuse(f"applies {name} to a register of unknown kind")
    if op in (bc.RET,) and state[ins[1]] is CONFLICT:
        raise _Refuse("returns a register of unknown kind")
    if op in (bc.MOV,) and state[ins[2]] is CONFLICT:
        raise _Refuse("copies a register that holds values of different kinds")
    if op == bc.CALL:
        callee = program.functions[ins[2]]
        if callee.nparams != ins[4]:
            raise _Refuse("calls a function with the wrong number of arguments")
        for r in range(ins[3], ins[3] + ins[4]):
            if state[r] is CONFLICT:
                raise _Refuse("passes a register that holds values of different kinds")
    if op == bc.LOADK and isinstance(fn.consts[ins[2]], tuple):
        raise _Refuse("loads a tuple constant")
    if op == bc.GETF and ins[4] not in (K_INT, K_FLOAT, K_PTR, K_BOOL, K_UNIT):
        raise _Refuse("reads a field of an unknown kind")
    if op == bc.SETF and ins[4] not in (K_INT, K_FLOAT, K_PTR, K_BOOL, K_UNIT):
        raise _Refuse("writes a field of an unknown kind")
    if op == bc.CAST and not (0 <= ins[3] <= 3 and 0 <= ins[4] <= 3):
        raise _Refuse("uses an unknown conversion")


def _analyze(program: Program, fn: Function, plain: frozenset[str] | None) -> Plan:
    from compiler.native_loops import entered_by_calls, side_exit, waiting_loops

    code = fn.code
    n = len(code)
    if n == 0:
        raise _Refuse("has no code")
    if fn.nregs > 4096:
        raise _Refuse("has more than 4096 registers")
    entry = [UNSET] * fn.nregs
    for r in range(fn.nparams):
        entry[r] = param_kind(program, fn, r)
    states: list[list | None] = [None] * n
    states[0] = list(entry)
    work = [0]
    queued = {0}
    while work:
        pc = work.pop()
        queued.discard(pc)
        state = list(states[pc])
        ins = code[pc]
        d = _dest_kind(program, fn, ins, state)
        _, writes = register_ranges(ins) if ins[0] in GENERIC else ((), ())
        if ins[0] in GENERIC:
            for r in writes:
                state[r] = d if d is not None else K_PTR
        elif d is not None or ins[0] in (bc.MOV,):
            state[ins[1]] = d
        for s in successors(code, pc):
            if s >= n:
                raise _Refuse("falls off the end of its code")
            old = states[s]
            if old is None:
                states[s] = list(state)
            else:
                new = [_join(a, b) for a, b in zip(old, state, strict=True)]
                if new == old:
                    continue
                states[s] = new
            if s not in queued:
                queued.add(s)
                work.append(s)
    final: list[tuple] = []
    leaders = {0}
    backs: dict[int, list[int]] = {}
    callees: set[int] = set()
    side: set[int] = set()
    ret_kind = None
    for pc, ins in enumerate(code):
        st = states[pc]
        if st is None:               # unreachable: never emitted
            final.append(tuple([UNSET] * fn.nregs))
            continue
        final.append(tuple(st))
        _check(program, fn, ins, st, plain)
        op = ins[0]
        if op == bc.RET:
            k = st[ins[1]]
            k = K_UNIT if k is UNSET else k
            if ret_kind is None:
                ret_kind = k
            elif ret_kind != k:
                raise _Refuse("returns values of different kinds")
        if op == bc.CALL:
            callees.add(ins[2])
        succ = successors(code, pc)
        exits = plain is not None and side_exit(fn, ins, plain)
        if exits:
            # Native code leaves here; what follows is reached by the interpreter (and
            # by OSR), so it starts a block of its own.
            side.add(pc)
        if op in (bc.JMP, bc.JT, bc.JF, bc.JLTK, bc.JGEK, bc.NEXT) or op in _BRANCH2 \
                or not succ or exits:
            for s in succ:
                leaders.add(s)
            if pc + 1 < n:
                leaders.add(pc + 1)
        if op == bc.JMP and ins[1] <= pc:
            backs.setdefault(ins[1], []).append(pc)
    declared = desc_kind(program, fn.ret_type)
    if ret_kind is None:
        ret_kind = declared
    elif ret_kind != declared and not (ret_kind in (K_INT, K_PTR) and declared in (K_INT, K_PTR)):
        raise _Refuse("returns values whose kind differs from its declared return type")
    reachable = frozenset(pc for pc in range(n) if states[pc] is not None)
    side_exits = frozenset(side)
    no_osr = (waiting_loops(program, fn, reachable, backs, side_exits, plain)
              if plain is not None else set())
    osr = set(backs) - no_osr
    entered = entered_by_calls(code, reachable, side_exits, osr)
    if not entered and not osr:
        # Native code could only run up to a side exit and leave: never worth it.
        name = fn.consts[code[min(side_exits)][2]]
        raise _Refuse(f"calls the builtin `{name}`, which can call back into Vyn code or "
                      "wait for another fiber, before any loop native code could run")
    return Plan(fn, final, tuple(entry), ret_kind, sorted(leaders), sorted(osr), callees,
                reachable, side_exits, sorted(no_osr), entered)


def plan_functions(program: Program, indices: Iterable[int] | None = None,
                   plain_builtins: frozenset[str] | None = None
                   ) -> tuple[dict[int, Plan], dict[int, str]]:
    """Plans for the functions (all by default) that can be compiled, and the reasons
    the others cannot."""
    plans: dict[int, Plan] = {}
    refused: dict[int, str] = {}
    for fi in (range(len(program.functions)) if indices is None else indices):
        p = analyze(program, fi, plain_builtins)
        if isinstance(p, str):
            refused[fi] = p
        else:
            plans[fi] = p
    return plans, refused


# ------------------------------------------------------------------------------ codegen


def _f64_bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


class _FnEmitter:
    """The IR of one function: the fast entry (`vyn.fn.N`, arguments by value, from pc 0)
    or the OSR entry (`vyn.osr.N`, registers from a buffer, at a loop header; its RET
    hands the frame back to the interpreter)."""

    def __init__(self, module: ModuleBuilder, plan: Plan, osr: bool):
        self.m = module
        self.plan = plan
        self.fn = plan.fn
        self.osr = osr
        self.out: list[str] = []
        self.n = 0
        self.di = module.di
        self.exits: list[tuple[str, int, int, int]] = []   # (block, site, resume, child)
        self.sp = ""
        self.loc = ""
        # Iterator registers: their hidden words' place in the frame buffer.
        self.iters = {r: j for j, r in enumerate(iter_registers(self.fn))}
        # The exit buffer: the frame's words and its closure (`_exit_code`), or a callee's
        # arguments and closure (a slice ending at a call).
        self.buf_size = max([frame_words(self.fn) + 1] + [
            ins[4] + 1 for ins in self.fn.code if ins[0] in (bc.CALL, bc.CALLV, bc.CALLM)])
        self.local_budget = module.local_budget
        # Innermost loops whose checks are done once per entry (compiler/native_loops.py),
        # by header pc; while one's body is emitted: the loop, and each object it indexes
        # with its (data pointer, index limit) from the dispatch.
        self.loops: dict[int, Loop] = (find_loops(module.program, plan, module.plans,
                                                  module.stable())
                                       if module.hoist_loops else {})
        self.loop: Loop | None = None
        self.hoisted: dict[int, tuple[str, str]] | None = None

    # -- small helpers -------------------------------------------------------------------

    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def label(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def emit(self, text: str) -> None:
        self.out.append(f"  {text}{self.loc}")

    def value(self, text: str) -> str:
        """Emit `%tN = text` for a new temporary and return it."""
        t = self.tmp()
        self.emit(f"{t} = {text}")
        return t

    def block(self, name: str) -> None:
        self.out.append(f"{name}:")

    def lbl(self, pc: int) -> str:
        """The block of bytecode `pc`. In a loop whose checks are hoisted, the header is
        `lb{head}` from inside the loop: `pc{head}` is the dispatch, where it is entered."""
        if self.loop is not None and pc == self.loop.head:
            return f"lb{pc}"
        return f"pc{pc}"

    def budget_ptr(self) -> str:
        return "%bud" if self.local_budget else "%ctx"

    def budget_out(self) -> None:
        """Before the runtime or another function may read the budget: the context
        word gets the local's value (tier 2)."""
        if self.local_budget:
            b = self.value("load i64, ptr %bud")
            self.emit(f"store i64 {b}, ptr %ctx{CTX}")

    def budget_in(self) -> None:
        """After the runtime or another function may have changed the budget."""
        if self.local_budget:
            b = self.value(f"load i64, ptr %ctx{CTX}")
            self.emit(f"store i64 {b}, ptr %bud")

    def budget_now(self) -> str:
        """The budget's value: tier 2's local, else the context word. (A callee gets it as
        an argument and returns it with its result: no store and load per call.)"""
        return self.value(f"load i64, ptr {self.budget_ptr()}{'' if self.local_budget else CTX}")

    def budget_set(self, b: str) -> None:
        """Set the budget (after a reduction, or to what a callee returned)."""
        self.emit(f"store i64 {b}, ptr {self.budget_ptr()}{'' if self.local_budget else CTX}")

    def ret(self, v: str) -> None:
        """Return `v` and the budget (`{i64, i64}`: rax, rdx) from the fast entry."""
        b = self.budget_now()
        a = self.value(f"insertvalue {{i64, i64}} undef, i64 {v}, 0")
        r = self.value(f"insertvalue {{i64, i64}} {a}, i64 {b}, 1")
        self.emit(f"ret {{i64, i64}} {r}")

    def load(self, r: int) -> str:
        t = self.value(f"load i64, ptr %r{r}")
        return t

    def store(self, r: int, v: str) -> None:
        self.emit(f"store i64 {v}, ptr %r{r}")

    def fval(self, r: int) -> str:
        t = self.tmp()
        self.emit(f"{t} = bitcast i64 {self.load(r)} to double")
        return t

    def fstore(self, r: int, v: str) -> None:
        t = self.value(f"bitcast double {v} to i64")
        self.store(r, t)

    def bool_store(self, r: int, i1: str) -> None:
        t = self.value(f"zext i1 {i1} to i64")
        self.store(r, t)

    def exit_block(self, site: int, resume: int, child: int, status: int | None) -> str:
        """A block that leaves native code (deoptimizes) with this frame at `resume`."""
        name = self.label("x")
        self.exits.append((name, site, resume, child, status))
        return name

    def trap(self, pc: int) -> str:
        """Leave native code so that the interpreter runs instruction `pc` itself."""
        return self.exit_block(pc, pc, -1, ST_TRAP)

    def cond_trap(self, i1: str, pc: int) -> None:
        """If `i1`, trap at `pc`; else go on in a new block."""
        ok = self.label("ok")
        self.emit(f"br i1 {i1}, label %{self.trap(pc)}, label %{ok}, !prof !{self.m.unlikely}")
        self.block(ok)

    def object_checks(self, ptr_i64: str, slot: int | str, pc: int) -> str:
        """Checks an object access as the heap's accessors do (null, dead flags, slot in
        range); returns the object as `ptr`. A failed check traps: the interpreter runs
        the instruction and raises the very same panic."""
        isnull = self.value(f"icmp eq i64 {ptr_i64}, 0")
        self.cond_trap(isnull, pc)
        obj = self.value(f"inttoptr i64 {ptr_i64} to ptr")
        fp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {FLAGS_OFFSET}")
        flags = self.value(f"load i32, ptr {fp}{HEAP}")
        dead = self.value(f"and i32 {flags}, {FLAGS_DEAD}")
        isdead = self.value(f"icmp ne i32 {dead}, 0")
        self.cond_trap(isdead, pc)
        szp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {SIZE_OFFSET}")
        size = self.value(f"load i32, ptr {szp}{HEAP}")
        size64 = self.value(f"zext i32 {size} to i64")
        nslots = self.value(f"lshr i64 {size64}, 3")
        inside = self.value(f"icmp ult i64 {slot}, {nslots}")
        outside = self.value(f"xor i1 {inside}, true")
        self.cond_trap(outside, pc)
        self._last_flags = flags
        return obj

    def slot_ptr(self, obj: str, slot: int | str) -> str:
        if isinstance(slot, int):
            p = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {SLOT0_OFFSET + 8 * slot}")
            return p
        base = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {SLOT0_OFFSET}")
        p = self.value(f"getelementptr inbounds i64, ptr {base}, i64 {slot}")
        return p

    def read_slot(self, obj: str, slot: int | str, kind: int) -> str:
        """The i64 bits a register holds after reading `slot` as `kind`."""
        if kind == K_UNIT:
            return "0"
        p = self.slot_ptr(obj, slot)
        v = self.value(f"load i64, ptr {p}{HEAP}")
        if kind == K_BOOL:
            nz = self.value(f"icmp ne i64 {v}, 0")
            z = self.value(f"zext i1 {nz} to i64")
            return z
        return v

    def write_barrier(self, obj_i64: str, obj_flags: str, value: str) -> None:
        """heap.set_ptr's barrier: an old object now pointing at a young one is
        remembered for the next minor collection."""
        nz = self.value(f"icmp ne i64 {value}, 0")
        check = self.label("wb")
        done = self.label("wbdone")
        self.emit(f"br i1 {nz}, label %{check}, label %{done}")
        self.block(check)
        tp = self.value(f"inttoptr i64 {value} to ptr")
        tfp = self.value(f"getelementptr inbounds i8, ptr {tp}, i64 {FLAGS_OFFSET}")
        tf = self.value(f"load i32, ptr {tfp}{HEAP}")
        ty = self.value(f"and i32 {tf}, {FLAG_YOUNG}")
        oy = self.value(f"and i32 {obj_flags}, {FLAG_YOUNG}")
        c1 = self.value(f"icmp ne i32 {ty}, 0")
        c2 = self.value(f"icmp eq i32 {oy}, 0")
        c = self.value(f"and i1 {c1}, {c2}")
        rem = self.label("wbrem")
        self.emit(f"br i1 {c}, label %{rem}, label %{done}")
        self.block(rem)
        self.emit(f"call void @vyn_rt_remember(ptr %ctx, i64 {obj_i64})")
        self.emit(f"br label %{done}")
        self.block(done)

    def reduction(self, site: int, resume: int, child: int, before_yield=None,
                  callee: int | str | None = None) -> None:
        """One reduction (a call of `callee`: a function index, or a value for a closure
        call; or a loop back-edge): the budget word goes down by one; at zero the
        runtime decides whether the slice ends (then: leave native code with this frame
        at `resume`)."""
        b1 = self.value(f"sub i64 {self.budget_now()}, 1")
        self.budget_set(b1)
        z = self.value(f"icmp sle i64 {b1}, 0")
        poll = self.label("poll")
        cont = self.label("go")
        self.emit(f"br i1 {z}, label %{poll}, label %{cont}, !prof !{self.m.unlikely}")
        self.block(poll)
        if not self.m.trace and not self.m.pc_map:
            # A slice end the runtime said it would let go on (no other fiber, nothing
            # watching, nothing due): refill the budget here, no call. (Not in the
            # debugger's code: its runner always asks.)
            sp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_SOLO_LEFT}")
            left = self.value(f"load i64, ptr {sp}{CTX}")
            more = self.value(f"icmp sgt i64 {left}, 0")
            cp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_TLAB_CUR}")
            cur = self.value(f"load i64, ptr {cp}{CTX}")
            dp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_SOLO_DUE}")
            due = self.value(f"load i64, ptr {dp}{CTX}")
            room = self.value(f"icmp ult i64 {cur}, {due}")
            ok = self.value(f"and i1 {more}, {room}")
            solo = self.label("solo")
            slow = self.label("ask")
            self.emit(f"br i1 {ok}, label %{solo}, label %{slow}")
            self.block(solo)
            left1 = self.value(f"sub i64 {left}, 1")
            self.emit(f"store i64 {left1}, ptr {sp}{CTX}")
            wp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_SOLO_SLICE}")
            w = self.value(f"load i64, ptr {wp}{CTX}")
            nb = self.value(f"add i64 {b1}, {w}")
            self.budget_set(nb)
            self.emit(f"br label %{cont}")
            self.block(slow)
        self.budget_out()
        traced_call = self.m.trace and callee is not None
        if traced_call:
            # As the interpreter: the call is made (and traced), then the slice ends. The
            # callee's own record of its call is skipped once (CTX_TRACE_SKIP).
            self.trace_record(callee)
        self.where(site if callee is not None else resume, callee)
        self.cycles_now(CTX_TRACE_NOW)
        p = self.value("call i64 @vyn_rt_poll(ptr %ctx)")
        self.budget_in()                   # the next run's budget
        y = self.value(f"icmp ne i64 {p}, 0")
        yl = self.label("yield")
        if traced_call:
            again = self.label("again")
            self.emit(f"br i1 {y}, label %{yl}, label %{again}")
            self.block(again)
            sk = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_TRACE_SKIP}")
            self.emit(f"store i64 1, ptr {sk}{CTX}")
            self.emit(f"br label %{cont}")
        elif self.local_budget:
            # Going on: the status is still 0 (said here for LLVM, as at the entry).
            again = self.label("again")
            self.emit(f"br i1 {y}, label %{yl}, label %{again}")
            self.block(again)
            self.emit(f"store i64 0, ptr {self.ctx_word(CTX_STATUS)}{CTX}")
            self.emit(f"br label %{cont}")
        else:
            self.emit(f"br i1 {y}, label %{yl}, label %{cont}")
        self.block(yl)
        if before_yield is not None:
            before_yield()
        self.emit(f"br label %{self.exit_block(site, resume, child, None)}")
        self.block(cont)

    def where(self, pc: int, callee: int | None) -> None:
        """Tell the runtime where this code is (CTX_SAMPLE_*), before a helper that may
        take a stack sample: the frame address, an address in this very code (also when
        LLVM inlined it: then DWARF's inlined subroutines name the frames it stands for)
        and the site. Stores in the poll's cold block and before `vyn_rt_call` only."""
        if not self.m.sites:
            return
        # One outlined cold call with constants only (its return address is in this
        # code, its caller's frame address is this frame's): computing them here cost
        # 15% in hot loops (spectral-norm), values live across the loop's cold path.
        if isinstance(callee, str):
            # A closure call's callee, known at run time: its field of the site word.
            word = poll_site(self.fn.index, pc, None)
            if word and len(self.m.program.functions) < 1 << 20:
                g1 = self.value(f"add i64 {callee}, 1")
                field = self.value(f"shl i64 {g1}, 42")
                word = self.value(f"or i64 {word}, {field}")
        else:
            word = poll_site(self.fn.index, pc, callee)
        self.emit(f"call void @vyn.where(ptr %ctx, i64 {word})")

    # -- call tracing (trace=True) ---------------------------------------------------------

    def cycles_now(self, word: int) -> None:
        """Store the cycle counter in context word `word` (native code is about to hand
        control to the runtime, which drains the trace buffer up to this moment)."""
        if not self.m.trace:
            return
        c = self.value("call i64 @llvm.readcyclecounter()")
        p = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {word}")
        self.emit(f"store i64 {c}, ptr {p}{CTX}")

    def trace_entry(self, fi: int) -> None:
        """The fast entry's record of its call, unless the caller's poll traced it
        already (CTX_TRACE_SKIP, cleared here)."""
        if not self.m.trace:
            return
        sk = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_TRACE_SKIP}")
        v = self.value(f"load i64, ptr {sk}{CTX}")
        z = self.value(f"icmp ne i64 {v}, 0")
        skip, rec, go = self.label("tskip"), self.label("tcall"), self.label("tgo")
        self.emit(f"br i1 {z}, label %{skip}, label %{rec}, !prof !{self.m.unlikely}")
        self.block(skip)
        self.emit(f"store i64 0, ptr {sk}{CTX}")
        self.emit(f"br label %{go}")
        self.block(rec)
        self.trace_record(fi)
        self.emit(f"br label %{go}")
        self.block(go)

    def trace_record(self, call: int | None) -> None:
        """Append a record to the trace buffer, in the trace file's call-column layout
        (docs/trace-format.md): a call of function `call` is `~call` then the cycle
        counter; a return (None) is the counter alone. A full buffer is drained first
        (`vyn_rt_trace`, with the counter of that moment)."""
        if not self.m.trace:
            return
        pp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_TRACE_POS}")
        ep = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_TRACE_END}")
        pos = self.value(f"load i64, ptr {pp}{CTX}")
        end = self.value(f"load i64, ptr {ep}{CTX}")
        full = self.value(f"icmp ugt i64 {pos}, {end}")
        drain, go = self.label("tfull"), self.label("trec")
        self.emit(f"br i1 {full}, label %{drain}, label %{go}, !prof !{self.m.unlikely}")
        self.block(drain)
        c0 = self.value("call i64 @llvm.readcyclecounter()")
        self.emit(f"call void @vyn_rt_trace(ptr %ctx, i64 {c0})")
        self.emit(f"br label %{go}")
        self.block(go)
        at = self.value(f"load i64, ptr {pp}{CTX}")
        rp = self.value(f"inttoptr i64 {at} to ptr")
        n = 1
        if call is not None:
            word = ~call if isinstance(call, int) else self.value(f"xor i64 {call}, -1")
            self.emit(f"store i64 {word}, ptr {rp}{TRACE}")
            rp = self.value(f"getelementptr inbounds i64, ptr {rp}, i64 1")
            n = 2
        c = self.value("call i64 @llvm.readcyclecounter()")
        self.emit(f"store i64 {c}, ptr {rp}{TRACE}")
        nxt = self.value(f"add i64 {at}, {8 * n}")
        self.emit(f"store i64 {nxt}, ptr {pp}{CTX}")

    # -- the function --------------------------------------------------------------------

    def generate(self) -> list[str]:
        fn, plan = self.fn, self.plan
        fi = fn.index
        di = self.di
        if di.enabled:
            self.sp = self.m.subprograms[-1 - fi if self.osr else fi]
        if self.osr:
            head = (f'define internal i64 @"{osr_symbol(fi)}"(ptr %ctx, i64 %depth, i64 %env, '
                    f"ptr %in, i64 %at)")
        else:
            params = "".join(f", i64 %a{i}" for i in range(fn.nparams))
            linkage = "internal " if fi in self.m.private else ""
            head = (f'define {linkage}{{i64, i64}} @"{symbol(fi)}"(ptr %ctx, i64 %depth, '
                    f"i64 %env, i64 %left{params})")
        dbg = f" !dbg {self.sp}" if di.enabled else ""
        self.out.append(f"{head} #0{dbg} {{")
        self.block("entry")
        if di.enabled and not self.osr:
            self.loc = f", !dbg {di.location(fn.line, fn.col, self.sp)}"
        for r in range(fn.nregs):
            self.emit(f"%r{r} = alloca i64, align 8")
        for r in self.iters:
            self.emit(f"%ic{r} = alloca i64, align 8")
            self.emit(f"%il{r} = alloca i64, align 8")
        self.emit(f"%xb = alloca [{self.buf_size} x i64], align 8")
        if not self.local_budget and not self.osr:
            self.emit(f"store i64 %left, ptr %ctx{CTX}")
        if self.local_budget:
            self.emit("%bud = alloca i64, align 8")
            if self.osr:
                self.budget_in()
            else:
                self.emit("store i64 %left, ptr %bud")
            if self.osr or not self.m.budget_free(fn.index):
                # Native code runs with status 0 (said here, LLVM can drop the status
                # test after a call it inlined). (Not in a function that counts nothing:
                # inlined into a loop, the store would be made at every iteration.)
                self.emit(f"store i64 0, ptr {self.ctx_word(CTX_STATUS)}{CTX}")
        for r in range(fn.nregs):
            if self.osr:
                p = self.value(f"getelementptr inbounds i64, ptr %in, i64 {r}")
                v = self.value(f"load i64, ptr {p}")
                self.store(r, v)
            else:
                self.store(r, f"%a{r}" if r < fn.nparams else "0")
        for r, j in self.iters.items():
            for word, name in ((0, "ic"), (1, "il")):
                v = "0"
                if self.osr:
                    p = self.value(f"getelementptr inbounds i64, ptr %in, "
                                   f"i64 {fn.nregs + 2 * j + word}")
                    v = self.value(f"load i64, ptr {p}")
                self.emit(f"store i64 {v}, ptr %{name}{r}")
        if di.enabled and not self.osr:
            self._declare_variables()
            if self.m.pc_map and fn.index in closure_functions(self.m.program):
                # The debugger's code of a closure's function: the closure in a slot DWARF
                # names, so that a frame a native closure call made shows its captures.
                self.emit("%envs = alloca i64, align 8")
                self.emit("store i64 %env, ptr %envs")
                dv = di.closure_variable(fn, self.sp)
                self.emit(f"call void @llvm.dbg.declare(metadata ptr %envs, metadata {dv}, "
                          "metadata !DIExpression())")
        if self.osr:
            cases = " ".join(f"i64 {t}, label %pc{t}" for t in plan.backedges)
            self.emit(f"switch i64 %at, label %badosr [ {cases} ]")
            self.block("badosr")
            self.emit("unreachable")
        else:
            self.trace_entry(fi)           # the call (an OSR copy's frame began in bytecode)
            self.emit("br label %pc0")
        leaders = set(plan.leaders)
        if self.m.pc_map:
            # The debugger's code: a block at every statement start, so that no value is
            # held in a register across one (LLVM's -O0 register allocator keeps values
            # in registers only within a block): `jump` may go on at any of them
            # (runtime/jit_unicorn.py `force_jump`).
            leaders.update(row.pc for row in fn.lines
                           if row.is_stmt and row.pc in plan.reachable)
        code = fn.code
        terminated = True
        pc = 0
        while pc < len(code):
            loop = self.loops.get(pc)
            if loop is not None:
                if not terminated:
                    self.emit(f"br label %pc{pc}")
                self.block(f"pc{pc}")
                self.locate(pc)
                self._dispatch(loop)
                self.loop = loop
                terminated = True
                for q in range(loop.head, loop.end + 1):
                    terminated = self._emit_pc(q, code[q], leaders, terminated)
                self.loop, self.hoisted = None, None
                pc = loop.end + 1
                continue
            terminated = self._emit_pc(pc, code[pc], leaders, terminated)
            pc += 1
        if not terminated:
            self.emit(f"br label %{self.trap(len(code) - 1)}")
        self._exit_code()
        self.out.append("}")
        return self.out

    def locate(self, pc: int) -> None:
        """The DWARF location of the code emitted next: instruction `pc`'s."""
        if self.di.enabled:
            fn = self.fn
            row = fn.line_at(pc)
            line, col = (row.line, row.col) if row is not None else (fn.line, fn.col)
            disc = pc + 1 if self.m.pc_map else 0
            self.loc = f", !dbg {self.di.location(line, col, self.sp, disc)}"

    def _emit_pc(self, pc: int, ins: tuple, leaders: set[int], terminated: bool) -> bool:
        """Emit instruction `pc` (its block first if it starts one); True if it ended
        its block."""
        if pc not in self.plan.reachable:
            if pc in leaders:
                if not terminated:
                    self.emit(f"br label %{self.lbl(pc)}")
                self.block(self.lbl(pc))
                self.emit("unreachable")
                return True
            return terminated
        if pc in leaders:
            if not terminated:
                self.emit(f"br label %{self.lbl(pc)}")
            self.block(self.lbl(pc))
        elif terminated:
            raise NativeError(f"instruction {pc} of {self.fn.name} is reached only by "
                              "falling through unreachable code")
        self.locate(pc)
        return self.instruction(pc, ins)

    def _dispatch(self, loop: Loop) -> None:
        """The way into a loop whose checks are hoisted (compiler/native_loops.py), once
        per entry: what its body's checks would test at every iteration and cannot
        change in the loop. The calls' depth and stack: if a call would fail them, the
        interpreter runs the loop (it makes or refuses that call itself). Each object it
        indexes: its data pointer and index limit (`hoisted`), 0 if any check fails (every
        access then leaves native code and the interpreter raises the panic there)."""
        if loop.calls:
            lim = self.value(f"load i64, ptr {self.ctx_word(CTX_DEPTH_LIMIT)}{INVARIANT}")
            self.cond_trap(self.value(f"icmp sge i64 %depth, {lim}"), loop.head)
            fa = self.value("call ptr @llvm.frameaddress.p0(i32 0)")
            fai = self.value(f"ptrtoint ptr {fa} to i64")
            sl = self.value(f"load i64, ptr {self.ctx_word(CTX_STACK)}{INVARIANT}")
            self.cond_trap(self.value(f"icmp ult i64 {fai}, {sl}"), loop.head)
        self.hoisted = {}
        for r, kind in sorted(loop.objects.items()):
            fail, yes, done = self.label("vno"), self.label("vyes"), self.label("vdone")

            def need(ok: str, fail=fail) -> None:
                nxt = self.label("vok")
                self.emit(f"br i1 {ok}, label %{nxt}, label %{fail}")
                self.block(nxt)

            def live(obj_i64: str, need=need) -> tuple[str, str]:
                need(self.value(f"icmp ne i64 {obj_i64}, 0"))
                obj = self.value(f"inttoptr i64 {obj_i64} to ptr")
                fp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {FLAGS_OFFSET}")
                flags = self.value(f"load i32, ptr {fp}{HEAP}")
                dead = self.value(f"and i32 {flags}, {FLAGS_DEAD}")
                need(self.value(f"icmp eq i32 {dead}, 0"))
                szp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {SIZE_OFFSET}")
                size = self.value(f"load i32, ptr {szp}{HEAP}")
                size64 = self.value(f"zext i32 {size} to i64")
                return obj, self.value(f"lshr i64 {size64}, 3")

            obj, nslots = live(self.load(r))
            if kind == "vec":
                need(self.value(f"icmp ugt i64 {nslots}, 1"))
                n = self.read_slot(obj, 0, K_INT)
                data_i64 = self.read_slot(obj, 1, K_PTR)
                data, dslots = live(data_i64)
                less = self.value(f"icmp ult i64 {n}, {dslots}")
                limit = self.value(f"select i1 {less}, i64 {n}, i64 {dslots}")
            else:
                data, limit = obj, nslots
            self.emit(f"br label %{yes}")
            self.block(yes)
            self.emit(f"br label %{done}")
            self.block(fail)
            self.emit(f"br label %{done}")
            self.block(done)
            d = self.value(f"phi ptr [ {data}, %{yes} ], [ null, %{fail} ]")
            n = self.value(f"phi i64 [ {limit}, %{yes} ], [ 0, %{fail} ]")
            self.hoisted[r] = (d, n)
        self.emit(f"br label %lb{loop.head}")

    def _declare_variables(self) -> None:
        fn = self.fn
        for var in fn.vars:
            if var.kind == "capture" or not 0 <= var.reg < fn.nregs:
                continue
            arg = var.reg + 1 if var.kind == "param" and var.reg < fn.nparams else 0
            dv = self.di.variable(fn, self.sp, var, arg)
            self.emit(f"call void @llvm.dbg.declare(metadata ptr %r{var.reg}, "
                      f"metadata {dv}, metadata !DIExpression())")

    def _exit_code(self) -> None:
        """The shared exit: store every register in the buffer and give the frame to the
        runtime (`vyn_rt_frame`), then return to the caller, which sees the status."""
        if not self.exits:
            return
        fi = self.fn.index
        if self.m.pc_map and self.di.enabled:
            # Code of no bytecode instruction: line 0, as compilers mark generated code
            # (the debugger's pc map must not see the exits as the last instruction).
            self.loc = f", !dbg {self.di.location(0, 0, self.sp)}"
        for name, _, _, _, status in self.exits:
            self.block(name)
            if status is not None:
                sp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_STATUS}")
                self.emit(f"store i64 {status}, ptr {sp}{CTX}")
            self.emit("br label %exit")
        self.block("exit")
        for var, col in (("site", 1), ("resume", 2), ("child", 3)):
            incoming = ", ".join(f"[ {e[col]}, %{e[0]} ]" for e in self.exits)
            self.emit(f"%{var} = phi i64 {incoming}")
        self.budget_out()
        for r in range(self.fn.nregs):
            p = self.value(f"getelementptr inbounds i64, ptr %xb, i64 {r}")
            self.emit(f"store i64 {self.load(r)}, ptr {p}")
        for r, j in self.iters.items():
            for word, name in ((0, "ic"), (1, "il")):
                p = self.value(f"getelementptr inbounds i64, ptr %xb, "
                               f"i64 {self.fn.nregs + 2 * j + word}")
                w = self.value(f"load i64, ptr %{name}{r}")
                self.emit(f"store i64 {w}, ptr {p}")
        p = self.value(f"getelementptr inbounds i64, ptr %xb, i64 {frame_words(self.fn)}")
        self.emit(f"store i64 %env, ptr {p}")           # the frame's closure
        self.emit(f"call void @vyn_rt_frame(ptr %ctx, i64 {fi}, i64 %site, i64 %resume, "
                  "i64 %child, ptr %xb)")
        if self.osr:
            self.emit("ret i64 0")
        else:
            self.ret("0")

    # -- instructions --------------------------------------------------------------------

    def instruction(self, pc: int, ins: tuple) -> bool:
        """Emit one instruction; True if it ended its block."""
        op = ins[0]
        st = self.plan.states[pc]
        fn = self.fn
        if op in (bc.NOP, bc.SAFEPOINT):
            return False
        if op == bc.MOV:
            self.store(ins[1], self.load(ins[2]))
        elif op == bc.LOADK:
            v = fn.consts[ins[2]]
            if isinstance(v, bool):
                self.store(ins[1], "1" if v else "0")
            elif isinstance(v, int):
                self.store(ins[1], str(v))
            elif isinstance(v, float):
                self.store(ins[1], str(_f64_bits(v)))
            elif v is None:
                self.store(ins[1], "0")
            else:
                sid = self.m.strings[(fn.index, ins[2])]
                tp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_STRINGS}")
                tab = self.value(f"load ptr, ptr {tp}{INVARIANT}")
                ep = self.value(f"getelementptr inbounds i64, ptr {tab}, i64 {sid}")
                s = self.value(f"load i64, ptr {ep}{INVARIANT}")
                self.store(ins[1], s)
        elif op in _INT_BIN:
            t = self.tmp()
            self.emit(f"{t} = {_INT_BIN[op]} i64 {self.load(ins[2])}, {self.load(ins[3])}")
            self.store(ins[1], t)
        elif op in (bc.ADDK, bc.SUBK):
            t = self.tmp()
            self.emit(f"{t} = {'add' if op == bc.ADDK else 'sub'} i64 {self.load(ins[2])}, "
                      f"{ins[3]}")
            self.store(ins[1], t)
        elif op in (bc.DIV, bc.MOD):
            self._divmod(pc, ins)
        elif op == bc.NEG:
            t = self.tmp()
            self.emit(f"{t} = sub i64 0, {self.load(ins[2])}")
            self.store(ins[1], t)
        elif op in _FLOAT_BIN:
            t = self.tmp()
            self.emit(f"{t} = {_FLOAT_BIN[op]} double {self.fval(ins[2])}, {self.fval(ins[3])}")
            self.fstore(ins[1], t)
        elif op == bc.FDIV:
            self._fdiv(ins)
        elif op == bc.FMOD:
            self._fmod(pc, ins)
        elif op == bc.FNEG:
            t = self.tmp()
            self.emit(f"{t} = fneg double {self.fval(ins[2])}")
            self.fstore(ins[1], t)
        elif op in (bc.SHL, bc.SHR):
            m = self.tmp()
            self.emit(f"{m} = and i64 {self.load(ins[3])}, 63")
            t = self.tmp()
            self.emit(f"{t} = {'shl' if op == bc.SHL else 'ashr'} i64 {self.load(ins[2])}, {m}")
            self.store(ins[1], t)
        elif op == bc.BNOT:
            t = self.tmp()
            self.emit(f"{t} = xor i64 {self.load(ins[2])}, -1")
            self.store(ins[1], t)
        elif op == bc.NOT:
            t = self.tmp()
            self.emit(f"{t} = icmp eq i64 {self.load(ins[2])}, 0")
            self.bool_store(ins[1], t)
        elif op == bc.WRAP:
            self._wrap(ins)
        elif op in _CMP:
            a, b = ins[2], ins[3]
            t = self.tmp()
            if st[a] == K_FLOAT:
                self.emit(f"{t} = fcmp {_FCMP[op]} double {self.fval(a)}, {self.fval(b)}")
            else:
                self.emit(f"{t} = icmp {_CMP[op]} i64 {self.load(a)}, {self.load(b)}")
            self.bool_store(ins[1], t)
        elif op == bc.JMP:
            t = ins[1]
            if t <= pc:
                self.reduction(pc, t, -1)
            self.emit(f"br label %{self.lbl(t)}")
            return True
        elif op in (bc.JT, bc.JF):
            c = self.tmp()
            self.emit(f"{c} = icmp {'ne' if op == bc.JT else 'eq'} i64 {self.load(ins[1])}, 0")
            self.emit(f"br i1 {c}, label %{self.lbl(ins[2])}, label %{self.lbl(pc + 1)}")
            return True
        elif op in _BRANCH2:
            a, b = ins[1], ins[2]
            c = self.tmp()
            if st[a] == K_FLOAT:
                self.emit(f"{c} = fcmp {_FBRANCH2[op]} double {self.fval(a)}, {self.fval(b)}")
            else:
                self.emit(f"{c} = icmp {_BRANCH2[op]} i64 {self.load(a)}, {self.load(b)}")
            self.emit(f"br i1 {c}, label %{self.lbl(ins[3])}, label %{self.lbl(pc + 1)}")
            return True
        elif op in (bc.JLTK, bc.JGEK):
            c = self.tmp()
            self.emit(f"{c} = icmp {'slt' if op == bc.JLTK else 'sge'} i64 "
                      f"{self.load(ins[1])}, {ins[2]}")
            self.emit(f"br i1 {c}, label %{self.lbl(ins[3])}, label %{self.lbl(pc + 1)}")
            return True
        elif op == bc.CALL:
            self._call(pc, ins)
        elif op == bc.CALLV:
            self._callv(pc, ins)
        elif op == bc.CALLM:
            self._callm(pc, ins)
        elif op == bc.CALLB and pc in self.plan.side_exits:
            # A builtin that may wait or call Vyn code: the interpreter runs it, and
            # goes on with this frame (its reductions are the interpreter's to count).
            self.emit(f"br label %{self.trap(pc)}")
            return True
        elif op == bc.RET:
            if self.osr:
                # The interpreter runs the RET: it knows where the value goes.
                self.emit(f"br label %{self.exit_block(pc, pc, -1, ST_TRAP)}")
            else:
                v = self.load(ins[1])
                self.trace_record(None)    # the return
                self.ret(v)
            return True
        elif op in _TRAPS:
            self.emit(f"br label %{self.trap(pc)}")
            return True
        elif op == bc.GETF:
            obj = self.object_checks(self.load(ins[2]), ins[3], pc)
            self.store(ins[1], self.read_slot(obj, ins[3], ins[4]))
        elif op == bc.SETF:
            self._setf(pc, ins)
        elif op == bc.TAG:
            obj = self.object_checks(self.load(ins[2]), 0, pc)
            self.store(ins[1], self.read_slot(obj, 0, K_INT))
        elif op == bc.LOADCAP:
            kind = _capture_kinds(self.m.program, fn)[ins[2]]
            obj = self.object_checks("%env", 1 + ins[2], pc)
            self.store(ins[1], self.read_slot(obj, 1 + ins[2], kind))
        elif op == bc.LOADENV:
            self.store(ins[1], "%env")
        elif op == bc.CAST:
            self._cast(ins, st)
        elif op == bc.INDEX and self._index(pc, ins):
            pass
        elif op == bc.SETINDEX and self._setindex(pc, ins, st):
            pass
        elif (op == bc.CALLB and fn.consts[ins[2]] in _NATIVE_BUILTINS
              and self._builtin(pc, ins)):
            pass
        elif op == bc.NEW:
            self._new(pc, ins)
        elif op == bc.ITER:
            self._iter(pc, ins)
        elif op == bc.NEXT:
            self._next(pc, ins, st)
            return True
        elif op in GENERIC:
            self._generic(pc, ins)
        else:
            raise NativeError(f"no native code for {bc.OPNAMES[op]}")
        return False

    def _iter(self, pc: int, ins: tuple) -> None:
        """ITER over a range or a Vec (the analysis refuses the others). A range's bounds
        are read now, as `runtime/builtins.iterate` does: the next value and how many are
        left (unsigned: a..=MAX has 2^63 - a + 1). A Vec is read at each NEXT (its length
        may change); its position starts at 0. A dead range traps: the interpreter
        panics as it would."""
        d = self.m.program.types[ins[3]]
        obj_i64 = self.load(ins[2])
        self.store(ins[1], obj_i64)
        r = ins[1]
        if d.kind == "vec":
            self.emit(f"store i64 0, ptr %ic{r}")
            self.emit(f"store i64 0, ptr %il{r}")
            return
        obj = self.object_checks(obj_i64, 2, pc)
        a = self.read_slot(obj, 0, K_INT)
        b = self.read_slot(obj, 1, K_INT)
        inc = self.read_slot(obj, 2, K_INT)
        a128 = self.value(f"sext i64 {a} to i128")
        b128 = self.value(f"sext i64 {b} to i128")
        inc1 = self.value(f"icmp ne i64 {inc}, 0")
        inc128 = self.value(f"zext i1 {inc1} to i128")
        span = self.value(f"sub i128 {b128}, {a128}")
        count = self.value(f"add i128 {span}, {inc128}")
        empty = self.value(f"icmp sle i128 {count}, 0")
        left = self.value(f"trunc i128 {count} to i64")
        left0 = self.value(f"select i1 {empty}, i64 0, i64 {left}")
        self.emit(f"store i64 {a}, ptr %ic{r}")
        self.emit(f"store i64 {left0}, ptr %il{r}")

    def _next(self, pc: int, ins: tuple, st: tuple) -> None:
        """NEXT: the next item into r[a] and on, or to the target when there is none. A
        Vec is read as `_vec_iter` reads it: its length, then its data; a dead Vec or data
        traps at this NEXT (the interpreter's iterator, rebuilt at the same position,
        raises the same panic)."""
        dst, it, done = ins[1], ins[2], ins[3]
        d = self.m.program.types[iter_type(st[it])]
        more = self.label("more")
        if d.kind == "vec":
            i = self.value(f"load i64, ptr %ic{it}")
            obj = self.object_checks(self.load(it), 1, pc)
            n = self.read_slot(obj, 0, K_INT)
            go = self.value(f"icmp slt i64 {i}, {n}")
            self.emit(f"br i1 {go}, label %{more}, label %{self.lbl(done)}")
            self.block(more)
            data_i64 = self.read_slot(obj, 1, K_PTR)
            data = self.object_checks(data_i64, i, pc)
            self.store(dst, self.read_slot(data, i, desc_kind(self.m.program, d.elem)))
            self.emit(f"store i64 {self.value(f'add i64 {i}, 1')}, ptr %ic{it}")
        else:
            left = self.value(f"load i64, ptr %il{it}")
            none = self.value(f"icmp eq i64 {left}, 0")
            self.emit(f"br i1 {none}, label %{self.lbl(done)}, label %{more}")
            self.block(more)
            cur = self.value(f"load i64, ptr %ic{it}")
            self.store(dst, cur)
            self.emit(f"store i64 {self.value(f'add i64 {cur}, 1')}, ptr %ic{it}")
            self.emit(f"store i64 {self.value(f'sub i64 {left}, 1')}, ptr %il{it}")
        self.emit(f"br label %{self.lbl(pc + 1)}")

    def _divmod(self, pc: int, ins: tuple) -> None:
        a = self.load(ins[2])
        b = self.load(ins[3])
        z = self.value(f"icmp eq i64 {b}, 0")
        self.cond_trap(z, pc)               # the interpreter panics `division by zero`
        m1 = self.value(f"icmp eq i64 {b}, -1")
        # x / -1 is -x (wrapping: MIN / -1 is MIN); x % -1 is 0. Otherwise LLVM's
        # truncating sdiv/srem are exactly the interpreter's.
        safe = self.value(f"select i1 {m1}, i64 1, i64 {b}")
        q = self.tmp()
        is_div = ins[0] == bc.DIV
        self.emit(f"{q} = {'sdiv' if is_div else 'srem'} i64 {a}, {safe}")
        alt = self.tmp()
        if is_div:
            self.emit(f"{alt} = sub i64 0, {a}")
        else:
            self.emit(f"{alt} = add i64 0, 0")
        v = self.value(f"select i1 {m1}, i64 {alt}, i64 {q}")
        self.store(ins[1], v)

    def _fdiv(self, ins: tuple) -> None:
        # IEEE division, except that x / 0.0 for a NaN or zero x is the positive quiet
        # NaN the interpreter makes (math.nan), bit for bit.
        a, b = self.fval(ins[2]), self.fval(ins[3])
        q = self.value(f"fdiv double {a}, {b}")
        bz = self.value(f"fcmp oeq double {b}, 0.0")
        anz = self.tmp()
        self.emit(f"{anz} = fcmp one double {a}, 0.0")   # ordered: false for NaN
        bad = self.value(f"xor i1 {anz}, true")
        c = self.value(f"and i1 {bz}, {bad}")
        qi = self.value(f"bitcast double {q} to i64")
        v = self.value(f"select i1 {c}, i64 {QNAN}, i64 {qi}")
        self.store(ins[1], v)

    def _fmod(self, pc: int, ins: tuple) -> None:
        a, b = self.fval(ins[2]), self.fval(ins[3])
        fa = self.value(f"call double @llvm.fabs.f64(double {a})")
        inf = self.value(f"fcmp oeq double {fa}, 0x7FF0000000000000")
        self.cond_trap(inf, pc)           # math.fmod(inf, y) is the interpreter's business
        r = self.value(f"frem double {a}, {b}")
        ri = self.value(f"bitcast double {r} to i64")
        bz = self.value(f"fcmp oeq double {b}, 0.0")
        v = self.value(f"select i1 {bz}, i64 {QNAN}, i64 {ri}")
        self.store(ins[1], v)

    def _wrap(self, ins: tuple) -> None:
        bits = ins[3]
        x = self.load(ins[2])
        t = self.tmp()
        if bits < 0:
            n = min(-bits, 64)
            s = self.value(f"shl i64 {x}, {64 - n}")
            self.emit(f"{t} = ashr i64 {s}, {64 - n}")
        elif bits >= 64:
            self.emit(f"{t} = add i64 {x}, 0")
        else:
            self.emit(f"{t} = and i64 {x}, {(1 << bits) - 1}")
        self.store(ins[1], t)

    def _cast(self, ins: tuple, st: tuple) -> None:
        src, dst = ins[3], ins[4]
        x = self.load(ins[2])
        if dst == 1:                          # to Float
            if src == 1:
                self.store(ins[1], x)
                return
            f = self.value(f"sitofp i64 {x} to double")
            self.fstore(ins[1], f)
            return
        if dst == 2:                          # to Bool
            c = self.tmp()
            if src == 1:
                self.emit(f"{c} = fcmp une double {self.fval(ins[2])}, 0.0")
            else:
                self.emit(f"{c} = icmp ne i64 {x}, 0")
            self.bool_store(ins[1], c)
            return
        if src == 1:                          # Float to Int/Char: truncate, saturate, NaN 0
            v = self.tmp()
            self.emit(f"{v} = call i64 @llvm.fptosi.sat.i64.f64(double {self.fval(ins[2])})")
            self.store(ins[1], v)
            return
        if dst == 3:                          # to Char: r & 0x1FFFFF if r >= 0 else 0xFFFD
            m = self.value(f"and i64 {x}, 2097151")
            neg = self.value(f"icmp slt i64 {x}, 0")
            v = self.value(f"select i1 {neg}, i64 65533, i64 {m}")
            self.store(ins[1], v)
            return
        self.store(ins[1], x)                 # Int, Bool, Char to Int

    def _call(self, pc: int, ins: tuple) -> None:
        dst, g, base, n = ins[1], ins[2], ins[3], ins[4]
        self._call_checks(pc)
        args = [self.load(r) for r in range(base, base + n)]
        d1 = self._call_reduction(pc, dst, g, args, "0")
        argtext = "".join(f", i64 {a}" for a in args)
        if g in self.m.plans and self.m.plans[g].entered:
            b = self.budget_now()
            c = self.value(f'call {{i64, i64}} @"{symbol(g)}"(ptr %ctx, i64 {d1}, i64 0, '
                           f"i64 {b}{argtext})")
            v = self.value(f"extractvalue {{i64, i64}} {c}, 0")
            self.budget_set(self.value(f"extractvalue {{i64, i64}} {c}, 1"))
        else:
            # Compiled elsewhere (an earlier JIT module), still in bytecode, or not entered
            # by calls (Plan.entered): through the context's function table, else the
            # runtime's interpreter (`vyn_rt_call`).
            v = self._call_by_table(pc, str(g), d1, "0", args)
        self._after_call(pc, dst, v)

    def _callv(self, pc: int, ins: tuple) -> None:
        """CALLV: the closure's function (slot 0 of the closure object, which is the
        callee's environment) through the function table, as a call of a function
        compiled elsewhere. A dead closure traps (the interpreter panics)."""
        dst, c, base, n = ins[1], ins[2], ins[3], ins[4]
        self._call_checks(pc)
        env = self.load(c)
        obj = self.object_checks(env, 0, pc)
        g = self.read_slot(obj, 0, K_INT)
        args = [self.load(r) for r in range(base, base + n)]
        d1 = self._call_reduction(pc, dst, g, args, env)
        self._after_call(pc, dst, self._call_by_table(pc, g, d1, env, args))

    def _callm(self, pc: int, ins: tuple) -> None:
        """CALLM: the method named const[k] of the receiver's class, r[c] (`self`): the
        receiver's heap type is compared with that of each class having such a method
        (`method_classes`, through the context's table of heap type ids); the match's
        function is called as a closure's is. A dead receiver, or a class without the
        method, traps: the interpreter panics as it would."""
        dst, name, base, n = ins[1], self.fn.consts[ins[2]], ins[3], ins[4]
        self._call_checks(pc)
        recv = self.load(base)
        self.cond_trap(self.value(f"icmp eq i64 {recv}, 0"), pc)
        obj = self.value(f"inttoptr i64 {recv} to ptr")
        fp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {FLAGS_OFFSET}")
        flags = self.value(f"load i32, ptr {fp}{HEAP}")
        dead = self.value(f"and i32 {flags}, {FLAGS_DEAD}")
        self.cond_trap(self.value(f"icmp ne i32 {dead}, 0"), pc)
        htid = self.value(f"load i32, ptr {obj}{HEAP}")
        tp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_HEAP_TIDS}")
        tab = self.value(f"load ptr, ptr {tp}{INVARIANT}")
        g = "-1"
        for tid, fi in method_classes(self.m.program, name):
            ep = self.value(f"getelementptr inbounds i64, ptr {tab}, i64 {tid}")
            want = self.value(f"load i64, ptr {ep}{INVARIANT}")
            got = self.value(f"zext i32 {htid} to i64")
            hit = self.value(f"icmp eq i64 {got}, {want}")
            g = self.value(f"select i1 {hit}, i64 {fi}, i64 {g}")
        self.cond_trap(self.value(f"icmp slt i64 {g}, 0"), pc)
        args = [self.load(r) for r in range(base, base + n)]
        d1 = self._call_reduction(pc, dst, g, args, "0")
        self._after_call(pc, dst, self._call_by_table(pc, g, d1, "0", args))

    def _call_reduction(self, pc: int, dst: int, g, args: list[str], env: str) -> str:
        """A call's reduction (`reduction`) of function `g` (a constant or a value) with
        these arguments and closure; the callee's depth."""
        def callee_frame():
            # The slice ends at this call, before the callee's body runs: its frame, at
            # pc 0 with its arguments, then its closure, is the innermost one.
            self._store_args(args + [env])
            # (Traced code: the callee's call is traced already, before the poll; its
            # frame goes on in bytecode from pc 0, and its return will be traced there.)
            self.emit(f"call void @vyn_rt_frame(ptr %ctx, i64 {g}, i64 -1, i64 0, i64 -1, "
                      "ptr %xb)")

        self.reduction(pc, pc + 1, dst, callee_frame, callee=g)
        return self.value("add i64 %depth, 1")

    def _store_args(self, args: list[str]) -> None:
        for i, a in enumerate(args):
            p = self.value(f"getelementptr inbounds i64, ptr %xb, i64 {i}")
            self.emit(f"store i64 {a}, ptr {p}")

    def _call_by_table(self, pc: int, g: str, d1: str, env: str, args: list[str]) -> str:
        """Call function `g` (a constant or a value) through the context's function
        table, else (not compiled, or not entered by calls) the interpreter through
        `vyn_rt_call`; its value."""
        argtext = "".join(f", i64 {a}" for a in args)
        tp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_FUNCTIONS}")
        tab = self.value(f"load ptr, ptr {tp}{INVARIANT}")
        ep = self.value(f"getelementptr inbounds ptr, ptr {tab}, i64 {g}")
        target = self.value(f"load ptr, ptr {ep}")
        none = self.value(f"icmp eq ptr {target}, null")
        fast, slow, join = self.label("fast"), self.label("slow"), self.label("join")
        self.emit(f"br i1 {none}, label %{slow}, label %{fast}")
        self.block(fast)
        b = self.budget_now()
        c = self.value(f"call {{i64, i64}} {target}(ptr %ctx, i64 {d1}, i64 {env}, "
                       f"i64 {b}{argtext})")
        v1 = self.value(f"extractvalue {{i64, i64}} {c}, 0")
        self.budget_set(self.value(f"extractvalue {{i64, i64}} {c}, 1"))
        self.emit(f"br label %{join}")
        self.block(slow)
        self._store_args(args)
        self.where(pc, None)
        self.cycles_now(CTX_TRACE_NOW)
        self.budget_out()                # the interpreter counts on from here
        v2 = self.value(f"call i64 @vyn_rt_call(ptr %ctx, i64 {g}, i64 {d1}, i64 {env}, "
                        "ptr %xb)")
        self.budget_in()
        self.emit(f"br label %{join}")
        self.block(join)
        return self.value(f"phi i64 [ {v1}, %{fast} ], [ {v2}, %{slow} ]")

    def _after_call(self, pc: int, dst: int, v: str) -> None:
        sp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_STATUS}")
        s = self.value(f"load i64, ptr {sp}{CTX}")
        bad = self.value(f"icmp ne i64 {s}, 0")
        ok = self.label("ret")
        # The callee left native code: so does this frame, after the call.
        self.emit(f"br i1 {bad}, label %{self.exit_block(pc, pc + 1, dst, None)}, "
                  f"label %{ok}, !prof !{self.m.unlikely}")
        self.block(ok)
        self.store(dst, v)

    def _call_checks(self, pc: int) -> None:
        if self.loop is None:
            # (In a loop with hoisted checks: tested once, at its dispatch.)
            limit_p = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_DEPTH_LIMIT}")
            limit = self.value(f"load i64, ptr {limit_p}{INVARIANT}")
            deep = self.value(f"icmp sge i64 %depth, {limit}")
            self.cond_trap(deep, pc)             # the interpreter raises `stack overflow`
            # Out of C stack (deep native recursion): the interpreter makes this call, and
            # native code called from there starts again near the top of the stack.
            fa = self.value("call ptr @llvm.frameaddress.p0(i32 0)")
            fai = self.value(f"ptrtoint ptr {fa} to i64")
            slp = self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {CTX_STACK}")
            sl = self.value(f"load i64, ptr {slp}{INVARIANT}")
            low = self.value(f"icmp ult i64 {fai}, {sl}")
            self.cond_trap(low, pc)

    def _setf(self, pc: int, ins: tuple) -> None:
        obj_i64 = self.load(ins[1])
        slot, kind = ins[2], ins[4]
        obj = self.object_checks(obj_i64, slot, pc)
        flags = self._last_flags
        v = self.load(ins[3]) if kind != K_UNIT else "0"
        if kind == K_BOOL:
            nz = self.value(f"icmp ne i64 {v}, 0")
            v2 = self.value(f"zext i1 {nz} to i64")
            v = v2
        if kind == K_PTR:
            self.write_barrier(obj_i64, flags, v)
        p = self.slot_ptr(obj, slot)
        self.emit(f"store i64 {v}, ptr {p}{HEAP}")

    def _elements(self, pc: int, ins_obj: int, idx: str, d) -> tuple[str, str] | None:
        """(data object as ptr, index) of a bounds-checked Vec or array element."""
        if self.hoisted is not None and ins_obj in self.hoisted:
            # In a loop with hoisted checks: the object was checked at its dispatch and
            # cannot change in the loop; the index against min(len, data slots) remains.
            data, limit = self.hoisted[ins_obj]
            self.cond_trap(self.value(f"icmp uge i64 {idx}, {limit}"), pc)
            return data, ""
        if d.kind == "vec":
            obj = self.object_checks(self.load(ins_obj), 1, pc)
            n = self.read_slot(obj, 0, K_INT)
            inb = self.value(f"icmp ult i64 {idx}, {n}")
            out = self.value(f"xor i1 {inb}, true")
            self.cond_trap(out, pc)           # `index out of bounds: ...` from the interpreter
            data_i64 = self.read_slot(obj, 1, K_PTR)
            data = self.object_checks(data_i64, idx, pc)
            return data, data_i64
        if d.kind == "array":
            obj_i64 = self.load(ins_obj)
            obj = self.object_checks(obj_i64, idx, pc)
            return obj, obj_i64
        return None

    def _index(self, pc: int, ins: tuple) -> bool:
        d = self.m.program.types[ins[4]]
        if d.kind not in ("vec", "array"):
            return False
        kind = desc_kind(self.m.program, d.elem)
        idx = self.load(ins[3])
        data, _ = self._elements(pc, ins[2], idx, d)
        self.store(ins[1], self.read_slot(data, idx, kind))
        return True

    def _setindex(self, pc: int, ins: tuple, st: tuple) -> bool:
        d = self.m.program.types[ins[4]]
        if d.kind not in ("vec", "array"):
            return False
        kind = desc_kind(self.m.program, d.elem)
        if kind == K_PTR:
            return False                       # set_ptr's checks and barrier: generic
        idx = self.load(ins[2])
        data, _ = self._elements(pc, ins[1], idx, d)
        v = self.load(ins[3]) if kind != K_UNIT else "0"
        if kind == K_BOOL:
            nz = self.value(f"icmp ne i64 {v}, 0")
            v2 = self.value(f"zext i1 {nz} to i64")
            v = v2
        p = self.slot_ptr(data, idx)
        self.emit(f"store i64 {v}, ptr {p}{HEAP}")
        return True

    def _builtin(self, pc: int, ins: tuple) -> bool:
        name = self.fn.consts[ins[2]]
        d = self.m.program.types[ins[5]]
        if name == "Vec.push":
            return self._push(pc, ins, d)
        if name in ("Vec.len", "Array.len") and ins[4] == 1:
            if d.kind == "vec":
                obj = self.object_checks(self.load(ins[3]), 0, pc)
                self.store(ins[1], self.read_slot(obj, 0, K_INT))
                return True
            if d.kind == "array":
                obj = self.object_checks(self.load(ins[3]), 0, pc)
                szp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 {SIZE_OFFSET}")
                sz = self.value(f"load i32, ptr {szp}{HEAP}")
                s64 = self.value(f"zext i32 {sz} to i64")
                n = self.value(f"lshr i64 {s64}, 3")
                self.store(ins[1], n)
                return True
        return False

    def _push(self, pc: int, ins: tuple, d) -> bool:
        """`v.push(x)` of a number or Bool while the data object has room: the element
        and the new length stored here (runtime/builtins.py `vec_push` does the same);
        otherwise (the data object is full, dead, or a check fails) the runtime pushes
        (`vyn_rt_exec`), growing the data object. Pointer elements always go to the
        runtime (set_ptr's checks and barrier), as SETINDEX's do."""
        if d.kind != "vec" or ins[4] != 2:
            return False
        kind = desc_kind(self.m.program, d.elem)
        if kind == K_PTR:
            return False
        obj = self.object_checks(self.load(ins[3]), 1, pc)
        n = self.read_slot(obj, 0, K_INT)
        data_i64 = self.read_slot(obj, 1, K_PTR)
        fast, slow, join = self.label("push"), self.label("pushrt"), self.label("pushed")
        check = self.label("pushcap")
        isnull = self.value(f"icmp eq i64 {data_i64}, 0")
        self.emit(f"br i1 {isnull}, label %{slow}, label %{check}")
        self.block(check)
        data = self.value(f"inttoptr i64 {data_i64} to ptr")
        fp = self.value(f"getelementptr inbounds i8, ptr {data}, i64 {FLAGS_OFFSET}")
        flags = self.value(f"load i32, ptr {fp}{HEAP}")
        dead = self.value(f"and i32 {flags}, {FLAGS_DEAD}")
        szp = self.value(f"getelementptr inbounds i8, ptr {data}, i64 {SIZE_OFFSET}")
        size = self.value(f"load i32, ptr {szp}{HEAP}")
        cap = self.value(f"lshr i32 {size}, 3")
        cap64 = self.value(f"zext i32 {cap} to i64")
        room = self.value(f"icmp ult i64 {n}, {cap64}")
        alive = self.value(f"icmp eq i32 {dead}, 0")
        ok = self.value(f"and i1 {room}, {alive}")
        full = self.value(f"xor i1 {ok}, true")
        self.emit(f"br i1 {full}, label %{slow}, label %{fast}, !prof !{self.m.unlikely}")
        self.block(fast)
        v = self.load(ins[3] + 1) if kind != K_UNIT else "0"
        if kind == K_BOOL:
            nz = self.value(f"icmp ne i64 {v}, 0")
            v = self.value(f"zext i1 {nz} to i64")
        self.emit(f"store i64 {v}, ptr {self.slot_ptr(data, n)}{HEAP}")
        n1 = self.value(f"add i64 {n}, 1")
        self.emit(f"store i64 {n1}, ptr {self.slot_ptr(obj, 0)}{HEAP}")
        self.store(ins[1], "0")
        self.emit(f"br label %{join}")
        self.block(slow)
        self._generic(pc, ins)
        self.emit(f"br label %{join}")
        self.block(join)
        return True

    def _new(self, pc: int, ins: tuple) -> None:
        """A record: bump-allocated inline in the run of heap the runtime lent
        (CTX_TLAB_*), header and fields written here; when the run is used up (or none
        was lent: a scoped region is active, a trace records, ...), the runtime allocates
        it (`vyn_rt_exec`), collecting first if it must."""
        d = self.m.program.types[ins[2]]
        base, n = ins[3], ins[4]
        kinds = d.heap[1] if d.heap is not None else ()
        if d.heap is None or len(kinds) != n:
            self._generic(pc, ins)
            return
        need = HEADER_BYTES + 8 * n
        cp = self.ctx_word(CTX_TLAB_CUR)
        cur = self.value(f"load i64, ptr {cp}{CTX}")
        end = self.value(f"load i64, ptr {self.ctx_word(CTX_TLAB_END)}{CTX}")
        nxt = self.value(f"add i64 {cur}, {need}")
        fits = self.value(f"icmp ule i64 {nxt}, {end}")
        fast, slow, join = self.label("new_fast"), self.label("new_slow"), self.label("new_done")
        self.emit(f"br i1 {fits}, label %{fast}, label %{slow}")
        self.block(fast)
        self.emit(f"store i64 {nxt}, ptr {cp}{CTX}")
        obj = self.value(f"inttoptr i64 {cur} to ptr")
        tab = self.value(f"load ptr, ptr {self.ctx_word(CTX_HEAP_TIDS)}{INVARIANT}")
        tidp = self.value(f"getelementptr inbounds i64, ptr {tab}, i64 {d.id}")
        tid = self.value(f"load i64, ptr {tidp}{INVARIANT}")
        tid32 = self.value(f"trunc i64 {tid} to i32")
        self.emit(f"store i32 {tid32}, ptr {obj}{HEAP}")                 # type_id
        fp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 4")
        self.emit(f"store i32 {FLAG_YOUNG}, ptr {fp}{HEAP}")              # flags
        sp = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 8")
        self.emit(f"store i32 {8 * n}, ptr {sp}{HEAP}")                   # size
        ap = self.value(f"getelementptr inbounds i8, ptr {obj}, i64 12")
        self.emit(f"store i32 0, ptr {ap}{HEAP}")                         # aux
        for i in range(n):
            v = self.load(base + i)             # Int, Float bits, Bool 0/1, address or 0
            self.emit(f"store i64 {v}, ptr {self.slot_ptr(obj, i)}{HEAP}")
        self.store(ins[1], cur)
        self.emit(f"br label %{join}")
        self.block(slow)
        self._generic(pc, ins)
        self.emit(f"br label %{join}")
        self.block(join)

    def ctx_word(self, word: int) -> str:
        """A pointer to context word `word`."""
        return self.value(f"getelementptr inbounds i64, ptr %ctx, i64 {word}")

    def _generic(self, pc: int, ins: tuple) -> None:
        """The runtime runs this instruction (`vyn_rt_exec`) on the registers it reads,
        which native code stores in the buffer, and writes its result there."""
        reads, writes = register_ranges(ins)
        for r in reads:
            p = self.value(f"getelementptr inbounds i64, ptr %xb, i64 {r}")
            self.emit(f"store i64 {self.load(r)}, ptr {p}")
        self.cycles_now(CTX_TRACE_NOW)
        self.budget_out()
        res = self.tmp()
        self.emit(f"{res} = call i64 @vyn_rt_exec(ptr %ctx, i64 {self.fn.index}, i64 {pc}, "
                  "ptr %xb)")
        self.budget_in()
        ok = self.label("done")
        bad = self.value(f"icmp ne i64 {res}, 0")
        after = self.value(f"icmp eq i64 {res}, {EXEC_EXIT_AFTER}")
        raised = self.exit_block(pc, pc, -1, None)
        exited = self.exit_block(pc, pc + 1, -1, None)
        which = self.label("left")
        self.emit(f"br i1 {bad}, label %{which}, label %{ok}, !prof !{self.m.unlikely}")
        self.block(which)
        self.emit(f"br i1 {after}, label %{exited}, label %{raised}")
        self.block(ok)
        for r in writes:
            p = self.value(f"getelementptr inbounds i64, ptr %xb, i64 {r}")
            v = self.value(f"load i64, ptr {p}")
            self.store(r, v)


_STACK_LIMIT = [
    "  %fa = call ptr @llvm.frameaddress.p0(i32 0)",
    "  %fai = ptrtoint ptr %fa to i64",
    f"  %lim = sub i64 %fai, {STACK_ALLOWANCE}",
    f"  %slp = getelementptr inbounds i64, ptr %ctx, i64 {CTX_STACK}",
    "  store i64 %lim, ptr %slp",
]


def _cycles(word: int, name: str) -> list[str]:
    """Store the cycle counter in context word `word` (entry functions of traced code:
    when native code was entered, and when it left)."""
    return [f"  %{name} = call i64 @llvm.readcyclecounter()",
            f"  %{name}p = getelementptr inbounds i64, ptr %ctx, i64 {word}",
            f"  store i64 %{name}, ptr %{name}p"]


# `vyn.where(ctx, site)`: native code says where it is before a helper that may take a
# profile's sample (CTX_SAMPLE_*): its frame address (the caller's, frame pointers are
# kept), the site word, and an address in its own code (the return address: DWARF gives
# its line and inlined frames).
_WHERE_FUNCTION = [
    "define internal void @vyn.where(ptr %ctx, i64 %site) #2 {",
    "entry:",
    "  %ra = call ptr @llvm.returnaddress(i32 0)",
    "  %rai = ptrtoint ptr %ra to i64",
    "  %fa = call ptr @llvm.frameaddress.p0(i32 1)",
    "  %fp = ptrtoint ptr %fa to i64",
    f"  %p0 = getelementptr inbounds i64, ptr %ctx, i64 {CTX_SAMPLE_FP}",
    "  store i64 %fp, ptr %p0",
    f"  %p1 = getelementptr inbounds i64, ptr %ctx, i64 {CTX_SAMPLE_ADDR}",
    "  store i64 %rai, ptr %p1",
    f"  %p2 = getelementptr inbounds i64, ptr %ctx, i64 {CTX_SAMPLE_SITE}",
    "  store i64 %site, ptr %p2",
    "  ret void",
    "}",
]


def _entry_function(plan: Plan, trace: bool = False, walk: bool = True) -> list[str]:
    """`vyn.entry.N(ctx, depth, env, args)`: the interpreter's way in (one C signature
    for every function): loads the arguments and calls the fast entry."""
    fn = plan.fn
    fi = fn.index
    out = [f'define i64 @"{entry_symbol(fi)}"(ptr %ctx, i64 %depth, i64 %env, ptr %args) #0 {{',
           "entry:", *_STACK_LIMIT, *(_cycles(CTX_TRACE_TSC, "tsc") if trace else ())]
    args = []
    for i in range(fn.nparams):
        out.append(f"  %p{i} = getelementptr inbounds i64, ptr %args, i64 {i}")
        out.append(f"  %a{i} = load i64, ptr %p{i}")
        args.append(f", i64 %a{i}")
    # (Never inlined here nor a tail call: a profile's walk of the frame pointers stops at
    # the wrapper, which has no DWARF; every Vyn frame is in code with DWARF.)
    call = "notail call" if walk else "call"
    out.append(f"  %b = load i64, ptr %ctx{CTX}")
    out.append(f'  %c = {call} {{i64, i64}} @"{symbol(fi)}"(ptr %ctx, i64 %depth, '
               f'i64 %env, i64 %b{"".join(args)}){" #1" if walk else ""}')
    out.append("  %v = extractvalue {i64, i64} %c, 0")
    out.append("  %b1 = extractvalue {i64, i64} %c, 1")
    out.append(f"  store i64 %b1, ptr %ctx{CTX}")
    if trace:
        out.extend(_cycles(CTX_TRACE_NOW, "now"))
    out.append("  ret i64 %v")
    out.append("}")
    return out


def _osr_entry_function(plan: Plan, trace: bool = False, walk: bool = True) -> list[str]:
    fi = plan.fn.index
    return [f'define i64 @"{osr_symbol(fi)}.entry"(ptr %ctx, i64 %depth, i64 %env, ptr %in, '
            "i64 %at) #0 {", "entry:", *_STACK_LIMIT,
            *(_cycles(CTX_TRACE_TSC, "tsc") if trace else ()),
            f'  %v = {"notail call" if walk else "call"} i64 @"{osr_symbol(fi)}"(ptr %ctx, '
            f'i64 %depth, i64 %env, ptr %in, i64 %at){" #1" if walk else ""}',
            *(_cycles(CTX_TRACE_NOW, "now") if trace else ()),
            "  ret i64 %v", "}"]


class ModuleBuilder:
    """One LLVM module holding native code for a set of functions."""

    def __init__(self, program: Program, plans: dict[int, Plan], *, optimized: bool,
                 debug: bool = True, directory: str | None = None,
                 private: dict[int, Plan] | None = None, trace: bool = False,
                 pc_map: bool = False, osr_debug: bool = False):
        self.program = program
        self.trace = trace        # call events: every call and return into a buffer
        # The JIT's code: OSR copies get DWARF too (a subprogram of their own, same name),
        # so that a profile's stack sample can name the frames of a loop run by OSR.
        self.osr_debug = osr_debug and debug and not pc_map
        # Where native code is when it polls (`where`), and entry wrappers that stay
        # frames of their own: for a profile's samples in native code. Not in the
        # debugger's code (it samples nothing; its addresses stay as they were).
        self.sites = not pc_map
        # The debugger's code (runtime/jit_unicorn.py): each instruction's DWARF location
        # carries its bytecode pc + 1 as the discriminator, an exact map both ways.
        self.pc_map = pc_map
        self.private = {fi: p for fi, p in (private or {}).items() if fi not in plans}
        self.plans = {**plans, **self.private}
        self.strings = string_ids(program)
        self.di = (DIBuilder(program, optimized=optimized, directory=directory) if debug
                   else NullDIBuilder())
        self.subprograms: dict[int, str] = {}
        self.unlikely = 0
        # Tier 2 (not the debugger's code): the reduction budget lives in a local (a
        # register after mem2reg), stored to the context only where the runtime reads
        # it (polls, helpers, exits; callees get it as an argument); innermost loops
        # that cannot change the objects they index check them once per entry
        # (compiler/native_loops.py).
        self.local_budget = optimized and not pc_map
        self.hoist_loops = optimized and not pc_map
        self._stable: set[int] | None = None
        self._budget_free: dict[int, bool] = {}

    def budget_free(self, fi: int) -> bool:
        """Tier 2: function `fi` (of this module) counts no reductions and hands nothing to
        the runtime: its budget only passes through (and it does not restate the status
        word at its entry, which would cost a store per iteration of a loop it is inlined
        into)."""
        if not self.local_budget or fi not in self.plans:
            return False
        if fi not in self._budget_free:
            self._budget_free[fi] = budget_free(self.program, self.plans[fi])
        return self._budget_free[fi]

    def stable(self) -> set[int]:
        if self._stable is None:
            self._stable = stable_functions(self.program, self.plans)
        return self._stable

    def ir(self) -> str:
        body: list[str] = []
        di = self.di
        for fi in sorted(self.plans):
            if di.enabled:
                self.subprograms[fi] = di.subprogram(self.program.functions[fi], symbol(fi))
        prof_index = None
        if di.enabled:
            prof_index = len(di.nodes)
            di.nodes.append(SLICE_HINT)
            self.unlikely = prof_index
        else:
            self.unlikely = 0
        for fi in sorted(self.plans):
            plan = self.plans[fi]
            body.extend(_FnEmitter(self, plan, osr=False).generate())
            if fi in self.private:
                continue            # a copy for inlining; its entries live elsewhere
            body.extend(_entry_function(plan, self.trace, self.sites))
            if plan.backedges and self.osr_debug:
                self.subprograms[-1 - fi] = di.subprogram(self.program.functions[fi],
                                                          osr_symbol(fi))
                body.extend(_FnEmitter(self, plan, osr=True).generate())
                body.extend(_osr_entry_function(plan, self.trace, self.sites))
            elif plan.backedges:
                saved = di
                self.di = NullDIBuilder()          # the OSR copy carries no DWARF
                try:
                    body.extend(_FnEmitter(self, plan, osr=True).generate())
                finally:
                    self.di = saved
                body.extend(_osr_entry_function(plan, self.trace, self.sites))
        head = [f'source_filename = "{self._source_name()}"',
                f'target triple = "{TARGET_TRIPLE}"', ""]
        head.extend(decl for name, decl in HELPERS.items()
                    if self.trace or name != "vyn_rt_trace")
        if self.trace:
            head.append("declare i64 @llvm.readcyclecounter()")
        head.append("declare i64 @llvm.fptosi.sat.i64.f64(double)")
        head.append("declare double @llvm.fabs.f64(double)")
        head.append("declare ptr @llvm.frameaddress.p0(i32)")
        if self.sites:
            head.append("declare ptr @llvm.returnaddress(i32)")
        head.append("declare void @llvm.dbg.declare(metadata, metadata, metadata)")
        if self.sites:
            body.extend(_WHERE_FUNCTION)
        if self.trace:
            # The trace buffer's converter, in the object itself: a run served by the
            # build cache links it with the code (no LLVM to compile it at run time).
            body.append(_CONVERT_IR.replace(
                "declare i64 @llvm.fptosi.sat.i64.f64(double)\n", "").replace(
                "define void @vyn_trace_convert(", f'define internal void @"{TRACE_CONVERT}"('))
            body.append(f'@llvm.used = appending global [1 x ptr] [ptr @"{TRACE_CONVERT}"], '
                        'section "llvm.metadata"')
        attrs = ['attributes #0 = { nounwind uwtable "frame-pointer"="all" }',
                 "attributes #1 = { noinline }",
                 'attributes #2 = { noinline cold nounwind "frame-pointer"="all" }']
        meta = di.finish() if di.enabled else f"!{self.unlikely} = {SLICE_HINT}\n"
        return ("\n".join(head + body + attrs) + "\n" + meta + _EXTRA_METADATA
                + (_TRACE_METADATA if self.trace else ""))

    def _source_name(self) -> str:
        p = self.program
        if 0 <= p.entry < len(p.functions):
            return p.functions[p.entry].file.replace('"', "")
        return "vyn"


# ------------------------------------------------------------------------------ LLVM


@functools.cache
def _llvm():
    from llvmlite import binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


@functools.cache
def _target():
    llvm = _llvm()
    try:
        return llvm.Target.from_triple(TARGET_TRIPLE)
    except RuntimeError:
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        return llvm.Target.from_triple(TARGET_TRIPLE)


def target_machine(opt: int):
    """A new x86-64 target machine for objects: small code model, PIC, so the same object
    links into an executable, loads into MCJIT and under unicorn (FIELD-NOTES).

    New at each call (it costs about 0.05 ms), never shared between modules: LLVM's ELF
    object lowering keeps the `@llvm.used` globals of every module it emitted, by
    address, and never forgets them; a function of a later module allocated where such a
    global was is then put in a section of its own, `SHF_GNU_RETAIN` (a traced module
    lists its trace converter there). Its code was still right, but it was no longer
    in the one `.text` the debugger reads DWARF for, so its breakpoints and variables
    went missing, at random."""
    return _target().create_target_machine(reloc="pic", codemodel="small", opt=opt)


def parse_module(ir: str, *, debug: bool):
    """Parse and verify native IR; with debug info, check that LLVM kept it (invalid
    debug metadata is dropped silently, FIELD-NOTES)."""
    llvm = _llvm()
    try:
        module = llvm.parse_assembly(ir)
        module.verify()
    except RuntimeError as e:
        raise NativeError(f"LLVM rejected the native code: {e}") from None
    if debug and "DICompileUnit" not in str(module):
        raise NativeError("LLVM dropped the debug information of the native code")
    return module


def optimize(module, opt: int) -> None:
    if opt <= 0:
        return
    llvm = _llvm()
    tm = target_machine(opt)
    pto = llvm.create_pipeline_tuning_options(speed_level=min(opt, 3))
    pb = llvm.create_pass_builder(tm, pto)
    try:
        pb.getModulePassManager().run(module, pb)
    finally:
        pb.close()


class CompiledModule:
    """An object file with native code for `plans`, and what it cost."""

    def __init__(self, object: bytes, plans: dict[int, Plan], opt: int, seconds: float,
                 ir_chars: int) -> None:
        self.object = object
        self.plans = plans
        self.opt = opt
        self.seconds = seconds
        self.ir_chars = ir_chars


def compile_plans(program: Program, plans: dict[int, Plan], *, opt: int, debug: bool = True,
                  directory: str | None = None, private: dict[int, Plan] | None = None,
                  trace: bool = False, pc_map: bool = False,
                  osr_debug: bool = False) -> CompiledModule:
    """Native code for `plans` as one ELF object (what MCJIT loads and images hold).
    `private`: functions compiled before, copied in as internal functions so that calls
    to them are direct (and inlinable). `trace`: every call and return appends a record
    to the context's trace buffer (docs/native.md, "Call events"); without it the code
    has no trace of tracing. `osr_debug`: OSR copies carry DWARF too (the JIT's)."""
    start = time.perf_counter()
    ir = ModuleBuilder(program, plans, optimized=opt > 0, debug=debug,
                       directory=directory, private=private, trace=trace,
                       pc_map=pc_map, osr_debug=osr_debug).ir()
    module = parse_module(ir, debug=debug)
    try:
        optimize(module, opt)
        obj = target_machine(opt).emit_object(module)
    finally:
        module.close()
    return CompiledModule(obj, plans, opt, time.perf_counter() - start, len(ir))


def module_ir(program: Program, plans: dict[int, Plan], *, opt: int, debug: bool = True,
              directory: str | None = None, trace: bool = False) -> str:
    """The (optimized, for opt > 0) IR of `plans`, for an image (`vyn build`; `trace`:
    with call events, for the build cache of a traced `vyn run`)."""
    ir = ModuleBuilder(program, plans, optimized=opt > 0, debug=debug,
                       directory=directory, trace=trace).ir()
    if opt <= 0:
        parse_module(ir, debug=debug).close()
        return ir
    module = parse_module(ir, debug=debug)
    try:
        optimize(module, opt)
        return str(module)
    finally:
        module.close()


# Traced code writes cycle counts (`llvm.readcyclecounter`) in its trace buffer; the
# runtime maps them to the trace's monotonic nanoseconds when it drains the buffer, by
# linear interpolation between two moments it knows both clocks at (docs/native.md).
TRACE_CONVERT = "vyn.trace.convert"   # traced code's own copy of `trace_converter`
_CONVERT_IR = """
declare i64 @llvm.fptosi.sat.i64.f64(double)
define void @vyn_trace_convert(ptr %buf, i64 %n, i64 %ta, i64 %na, i64 %nb, double %k) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %next ]
  %prev = phi i64 [ %na, %entry ], [ %prev1, %next ]
  %done = icmp sge i64 %i, %n
  br i1 %done, label %end, label %body
body:
  %p = getelementptr inbounds i64, ptr %buf, i64 %i
  %w = load i64, ptr %p
  %call = icmp slt i64 %w, 0
  br i1 %call, label %next, label %time
time:
  %d = sub i64 %w, %ta
  %df = sitofp i64 %d to double
  %m = fmul double %df, %k
  %mi = call i64 @llvm.fptosi.sat.i64.f64(double %m)
  %ns0 = add i64 %na, %mi
  %lo = icmp slt i64 %ns0, %prev
  %ns1 = select i1 %lo, i64 %prev, i64 %ns0
  %hi = icmp sgt i64 %ns1, %nb
  %ns = select i1 %hi, i64 %nb, i64 %ns1
  store i64 %ns, ptr %p
  br label %next
next:
  %prev1 = phi i64 [ %prev, %body ], [ %ns, %time ]
  %i1 = add i64 %i, 1
  br label %loop
end:
  ret void
}
"""
_CONVERTER: list = []


def trace_converter():
    """`convert(buf, n, tsc_a, ns_a, ns_b, k)` (a ctypes function): in the `n` words at
    `buf` (the call-column layout), every time word (non-negative) holding a cycle count
    `c` becomes `ns_a + (c - tsc_a) * k` nanoseconds, kept within [ns_a, ns_b] and
    never below the one before. Compiled once per process."""
    if not _CONVERTER:
        import ctypes

        llvm = _llvm()
        module = llvm.parse_assembly(_CONVERT_IR)
        module.verify()
        tm = llvm.Target.from_default_triple().create_target_machine(opt=2)
        ee = llvm.create_mcjit_compiler(module, tm)
        ee.finalize_object()
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                 ctypes.c_int64, ctypes.c_int64, ctypes.c_double)
        _CONVERTER.extend((ee, tm, proto(ee.get_function_address("vyn_trace_convert"))))
    return _CONVERTER[2]


NATIVE_SECTION = ".vyn.native"
MANIFEST_FORMAT = "<IIII"        # format version, ABI version, opt level, function count
MANIFEST_VERSION = 1


MANIFEST_TRACED = 0x100       # in the opt word: the code reports calls (call events)


def encode_manifest(opt: int, functions: list[int], traced: bool = False) -> bytes:
    """The `.vyn.native` payload: the functions an image has native code for, its opt
    level, and whether that code reports its calls (traced code, `MANIFEST_TRACED`)."""
    word = opt | (MANIFEST_TRACED if traced else 0)
    out = struct.pack(MANIFEST_FORMAT, MANIFEST_VERSION, ABI_VERSION, word, len(functions))
    return out + b"".join(struct.pack("<I", fi) for fi in functions)


def decode_manifest(data: bytes) -> tuple[int, list[int]]:
    """(opt level, function indices) of a `.vyn.native` payload; no functions if it is
    of another version (the image's bytecode still runs)."""
    try:
        version, abi, opt, n = struct.unpack_from(MANIFEST_FORMAT, data, 0)
        if version != MANIFEST_VERSION or abi != ABI_VERSION or len(data) != 16 + 4 * n:
            return 0, []
        return opt & 0xFF, list(struct.unpack_from(f"<{n}I", data, 16))
    except struct.error:
        return 0, []


def manifest_traced(data: bytes) -> bool:
    """Whether a `.vyn.native` payload's code reports its calls (a traced run's)."""
    try:
        return bool(struct.unpack_from(MANIFEST_FORMAT, data, 0)[2] & MANIFEST_TRACED)
    except struct.error:
        return False


__all__ = ["ABI_VERSION", "encode_manifest", "decode_manifest", "Plan", "analyze",
           "plan_functions", "compile_plans", "module_ir",
           "string_ids", "register_ranges", "symbol", "entry_symbol", "osr_symbol",
           "NativeError", "target_machine"]
