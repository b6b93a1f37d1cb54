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

from compiler import bytecode as bc
from compiler.bytecode import K_PTR, Program

# Instructions that write no register (besides those `register_ranges` knows).
_NO_WRITE = frozenset((bc.JMP, bc.JT, bc.JF, bc.JLT, bc.JLE, bc.JGT, bc.JGE, bc.JEQ, bc.JNE,
                       bc.JLTK, bc.JGEK, bc.RET, bc.SETF, bc.SETINDEX, bc.NOP, bc.SAFEPOINT,
                       bc.PANIC, bc.PANICK, bc.UNSUPPORTED))


class Loop:
    """An innermost loop [head, end] (end: its last back-edge) whose checks are hoisted."""

    def __init__(self, head: int, end: int) -> None:
        self.head = head
        self.end = end
        self.objects: dict[int, str] = {}     # register -> "vec" / "array"
        self.calls = False


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
    if op in (bc.NEW, bc.CALLV, bc.CALLM) or op in GENERIC:
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
    no loop, nothing handed to the runtime. Its budget argument only passes through, and
    its entry does not restate the status word (compiler/native.py)."""
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


# -- side exits and on-stack replacement ---------------------------------------------------

# The last program `waiting_functions` looked at: (program, plain builtins, its answer).
# The JIT analyzes one program's functions one by one; the call graph is read once.
_waiting: list = [None, None, (frozenset(), frozenset())]


def side_exit(fn, ins: tuple, plain: frozenset[str]) -> bool:
    """Whether `ins` is a side exit: a call of a builtin that may wait or call back into
    Vyn code (not in `plain`). Native code leaves there and the interpreter runs it."""
    return ins[0] == bc.CALLB and fn.consts[ins[2]] not in plain


# The last program `closure_functions` looked at, and its answer.
_closures: list = [None, frozenset()]


def closure_functions(program: Program) -> frozenset[int]:
    """The functions a closure call (CALLV) may call: those closures are made of."""
    if _closures[0] is not program:
        _closures[:] = [program, frozenset(ins[2] for fn in program.functions
                                           for ins in fn.code if ins[0] == bc.CLOSURE)]
    return _closures[1]


def callees(program: Program, fn, ins: tuple) -> frozenset[int] | tuple[int, ...]:
    """The functions call instruction `ins` of `fn` may call (CALL: its own; CALLV: any
    closure's function; CALLM: the method of that name of any class), else none."""
    if ins[0] == bc.CALL:
        return (ins[2],)
    if ins[0] == bc.CALLV:
        return closure_functions(program)
    if ins[0] == bc.CALLM:
        from compiler.native import method_classes

        return tuple(fi for _, fi in method_classes(program, fn.consts[ins[2]]))
    return ()


def waiting_functions(program: Program, plain: frozenset[str]
                      ) -> tuple[frozenset[int], frozenset[int]]:
    """(leaving, waiting): the functions a native call of which may leave native code at
    a side exit (calls enter their native code and it has one, `_leaves_when_called`),
    and those a call of which may wait or call back at all (they have a side exit: the
    interpreter makes their calls, native code through `vyn_rt_call`, and its callers
    leave if it blocks); each with the functions calling (CALL, CALLV) one of them."""
    if _waiting[0] is program and _waiting[1] == plain:
        return _waiting[2]
    leaving: set[int] = set()
    waiting: set[int] = set()
    callers: dict[int, set[int]] = {}
    for fn in program.functions:
        if any(side_exit(fn, ins, plain) for ins in fn.code):
            waiting.add(fn.index)
            if _leaves_when_called(fn, plain):
                leaving.add(fn.index)
        for ins in fn.code:
            for g in callees(program, fn, ins):
                callers.setdefault(g, set()).add(fn.index)
    for found in (leaving, waiting):
        work = list(found)
        while work:
            for f in callers.get(work.pop(), ()):
                if f not in found:
                    found.add(f)
                    work.append(f)
    _waiting[:] = [program, plain, (frozenset(leaving), frozenset(waiting))]
    return _waiting[2]


def _leaves_when_called(fn, plain: frozenset[str]) -> bool:
    """Whether calls enter `fn`'s native code and it has a side exit, from its code
    alone: as `entered_by_calls` decides, with every loop free of side exits taken for an
    OSR entry (its plan may have fewer), so it says yes whenever the plan would."""
    code = fn.code
    side = frozenset(pc for pc, ins in enumerate(code) if side_exit(fn, ins, plain))
    if not side:
        return False
    backs: dict[int, int] = {}
    for pc, ins in enumerate(code):
        if ins[0] == bc.JMP and ins[1] <= pc:
            backs[ins[1]] = max(backs.get(ins[1], pc), pc)
    heads = {h for h, end in backs.items() if not any(h <= pc <= end for pc in side)}
    return entered_by_calls(code, None, side, heads)


def waiting_loops(program: Program, fn, reach, backs: dict[int, list[int]],
                  side_exits: frozenset[int], plain: frozenset[str]) -> set[int]:
    """The headers of the loops (header -> its back-edges' pcs) that are no OSR entries,
    because the interpreter, back in charge after native code left, would re-enter
    native code only to leave it again (deoptimize, then OSR, iteration after
    iteration): their body has a side exit, or calls a function whose native code may
    leave at one, or calls at every iteration a function that may wait (through
    `vyn_rt_call`, which costs more than the interpreter's own call). A loop that calls
    such a function on some paths only stays one (a rare call, as a log line, costs
    little)."""
    code = fn.code
    out: set[int] = set()
    for head, ends in backs.items():
        end = max(ends)
        body = [pc for pc in range(head, end + 1) if pc in reach]
        if any(pc in side_exits for pc in body):
            out.add(head)
            continue
        calls = {pc: callees(program, fn, code[pc]) for pc in body
                 if code[pc][0] in (bc.CALL, bc.CALLV, bc.CALLM)}
        if not calls:
            continue
        leaving, waiting = waiting_functions(program, plain)
        if any(not leaving.isdisjoint(gs) for gs in calls.values()):
            out.add(head)
            continue
        every = {pc for pc, gs in calls.items() if not waiting.isdisjoint(gs)}
        if every and not _avoidable(code, head, end, set(ends), every):
            out.add(head)
    return out


def _avoidable(code: list[tuple], head: int, end: int, ends: set[int],
               blocked: set[int]) -> bool:
    """Whether an iteration of the loop [head, end] can reach one of its back-edges
    (`ends`) without passing an instruction of `blocked`."""
    from compiler.native import successors

    seen = {head}
    work = [head]
    while work:
        pc = work.pop()
        if pc in blocked:
            continue
        if pc in ends:
            return True
        for s in successors(code, pc):
            if head < s <= end and s not in seen:
                seen.add(s)
                work.append(s)
    return False


def entered_by_calls(code: list[tuple], reach, side_exits: frozenset[int],
                     osr_heads: set[int]) -> bool:
    """Whether a call of the function should enter its native code at its start: yes,
    unless every way from its entry (through `reach`, None: every pc) meets a side exit
    before a loop that is an OSR entry (or before returning). Native code would then do
    a few instructions only to leave (a deoptimization costs more than interpreting
    them); the interpreter makes such calls, native callers too (through `vyn_rt_call`:
    if the builtin neither waits nor calls back, they go on natively), and the loops
    after the side exit are still OSR entries."""
    if not side_exits:
        return True
    from compiler.native import successors

    seen = {0}
    work = [0]
    while work:
        pc = work.pop()
        if pc in osr_heads:
            return True
        if pc in side_exits or (reach is not None and pc not in reach):
            continue
        for s in successors(code, pc):
            if s not in seen:
                seen.add(s)
                work.append(s)
    return False
