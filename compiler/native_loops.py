"""Loops at tier 2: the checks that cannot change inside an innermost loop, done once.

Per element of `v[j]`, native code checks the Vec as the heap's accessors do: null, dead
flags, its slots, `j` below the length, the data object (null, dead, slots). LLVM cannot
hoist those loads out of a loop: they sit behind the checks' exits, and the poll's call
may (as far as LLVM knows) change the heap. Yet in a loop that can change no header, no
length and no data object, they give the same answers at every iteration. So for an
innermost loop whose body does nothing of that kind (no instruction handed to the
runtime, no allocation, no call of a function that could do it; element writes and
record fields are fine), `compiler/native.py` emits a *dispatch* before the loop's
header (where the loop is entered, also by OSR; its back-edges skip it) that computes,
once per entry:

- for every Vec or array the loop indexes through a register it never writes: the data
  pointer and the index limit `min(len, data slots)`, or a limit of 0 if any check fails
  (a dead object: every access then leaves native code and the interpreter raises the
  panic, at that access, as before);
- for its calls: the `--max-depth` and C stack tests (the depth and the frame are the same
  at every iteration); if one fails, the interpreter runs the loop from its header.

In the body an element access is then one compare of the index with that limit, and a
call has no test before it. Nothing in the loop can change what the dispatch computed:
the runtime's poll either ends the slice (native code leaves) or goes on with the heap
untouched (`Jit._go_on`: no collection, no release, no other fiber). So every access
fails exactly when its per-element checks would have, at the same instruction with the
same registers.

This module holds the analysis (which loops, which registers); the IR is in
`compiler/native.py` (`_FnEmitter._dispatch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler import bytecode as bc
from compiler.bytecode import K_PTR, Program

# Instructions that write no register (besides those `register_ranges` knows).
_NO_WRITE = frozenset((bc.JMP, bc.JT, bc.JF, bc.JLT, bc.JLE, bc.JGT, bc.JGE, bc.JEQ, bc.JNE,
                       bc.JLTK, bc.JGEK, bc.RET, bc.SETF, bc.SETINDEX, bc.NOP, bc.SAFEPOINT,
                       bc.PANIC, bc.PANICK, bc.UNSUPPORTED))


@dataclass
class Loop:
    """An innermost loop [head, end] (end: its last back-edge) whose checks are hoisted."""

    head: int
    end: int
    objects: dict[int, str] = field(default_factory=dict)   # register -> "vec" / "array"
    calls: bool = False


def writes(ins: tuple) -> list[int]:
    """Registers instruction `ins` writes."""
    from compiler.native import register_ranges

    if ins[0] in _NO_WRITE:
        return []
    return register_ranges(ins)[1]


def _native_access(program: Program, ins: tuple) -> str | None:
    """'vec' / 'array' if native code does this INDEX / SETINDEX itself (not the runtime)."""
    from compiler.native import desc_kind

    op = ins[0]
    d = program.types[ins[4]]
    if d.kind not in ("vec", "array"):
        return None
    if op == bc.SETINDEX and desc_kind(program, d.elem) == K_PTR:
        return None
    return d.kind


def _plain(program: Program, fn, ins: tuple, plans: dict, stable: set[int]) -> bool:
    """Whether native code does `ins` itself without changing any header, length or
    data object (element writes and record fields are fine)."""
    from compiler.native import _NATIVE_BUILTINS, GENERIC

    op = ins[0]
    if op in (bc.INDEX, bc.SETINDEX):
        return _native_access(program, ins) is not None
    if op == bc.CALLB:
        d = program.types[ins[5]] if 0 <= ins[5] < len(program.types) else None
        return (fn.consts[ins[2]] in _NATIVE_BUILTINS and ins[4] == 1 and d is not None
                and d.kind in ("vec", "array"))
    if op == bc.CALL:
        return ins[2] in plans and ins[2] in stable
    if op == bc.NEW or op in GENERIC:
        return False
    return True


def stable_functions(program: Program, plans: dict) -> set[int]:
    """The planned functions that cannot change a header, length or data object (nor
    call anything that could): the greatest such set (recursion among them is fine)."""
    stable = set(plans)
    changed = True
    while changed:
        changed = False
        for fi in sorted(stable):
            plan = plans[fi]
            fn = plan.fn
            if any(pc in plan.reachable and not _plain(program, fn, ins, plans, stable)
                   for pc, ins in enumerate(fn.code)):
                stable.discard(fi)
                changed = True
    return stable


def find_loops(program: Program, plan, plans: dict, stable: set[int]) -> dict[int, Loop]:
    """The loops of `plan`'s function whose checks are worth hoisting, by header pc."""
    fn = plan.fn
    code = fn.code
    n = len(code)
    reach = plan.reachable
    backs: dict[int, list[int]] = {}
    for pc, ins in enumerate(code):
        if pc in reach and ins[0] == bc.JMP and ins[1] <= pc:
            backs.setdefault(ins[1], []).append(pc)
    from compiler.native import successors

    out: dict[int, Loop] = {}
    for head, ends in backs.items():
        end = max(ends)
        body = range(head, end + 1)
        # Innermost: every back-edge in the range goes to this header.
        if any(t != head and head <= t <= end and any(head <= b <= end for b in bs)
               for t, bs in backs.items()):
            continue
        # One way in: nothing outside jumps into the body past the header.
        entered = False
        for pc in range(n):
            if head <= pc <= end or pc not in reach:
                continue
            if any(head < s <= end for s in successors(code, pc)):
                entered = True
                break
        if entered:
            continue
        written: set[int] = set()
        ok = True
        loop = Loop(head, end)
        for pc in body:
            if pc not in reach:
                continue
            ins = code[pc]
            if not _plain(program, fn, ins, plans, stable):
                ok = False
                break
            written.update(writes(ins))
            if ins[0] == bc.CALL:
                loop.calls = True
        if not ok:
            continue
        state = plan.states[head]
        for pc in body:
            if pc not in reach:
                continue
            ins = code[pc]
            if ins[0] not in (bc.INDEX, bc.SETINDEX):
                continue
            obj = ins[2] if ins[0] == bc.INDEX else ins[1]
            kind = _native_access(program, ins)
            if obj in written or state[obj] != K_PTR or kind is None:
                continue
            if loop.objects.setdefault(obj, kind) != kind:
                loop.objects[obj] = ""           # seen as both: not hoisted
        loop.objects = {r: k for r, k in loop.objects.items() if k}
        if not loop.objects:
            continue              # (calls alone: two cheap tests, left where they are)
        out[head] = loop
    return out


def budget_free(program: Program, plan) -> bool:
    """Whether a function never changes nor reads the reduction budget itself: no call,
    no loop, nothing handed to the runtime. Tier 2 code calling it leaves the budget in
    its register (the callee's exits hand its frame over; the caller's exit then stores
    the budget before native code returns)."""
    fn = plan.fn
    for pc, ins in enumerate(fn.code):
        if pc not in plan.reachable:
            continue
        op = ins[0]
        if op == bc.CALL or (op == bc.JMP and ins[1] <= pc):
            return False
        if not _plain(program, fn, ins, {}, set()):
            return False
    return True
