"""Frame and flow control beyond stepping, a mixin of `Session` (vyndbg/engine.py):
gdb's `return` and `jump`, read and access watchpoints (`rwatch`, `awatch`), the loop
order `until` follows, `info program`, and what `info locals`, `info functions` and
`set print pretty` need from the program.

`return` and `jump` change where a stopped fiber goes on. The VM is stopped inside one
of its hooks, holding the innermost frame in local variables, so the debugger does not
rewrite frames: it replaces, for one execution, the instruction the frame runs next
(`RET` of a scratch register holding the value, or a jump `JT` on a scratch register
holding true) and traps where that instruction leads, as gdb moves the pc and resumes.
The replaced instruction is put back at that trap, before anything else runs.

Read and access watchpoints trap at the instructions that read (and, for `awatch`,
write) the watched variable, found from the bytecode's operands: a local's register
within its live range, a global's `GGET`/`GSET`, a field's `GETF`/`SETF` on the same
object, an element's `INDEX`/`SETINDEX` on the same vector and index. The instruction
runs, and the program stops at the next one, as a hardware watchpoint stops just after
the access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from compiler import bytecode as bc
from runtime.vm import GEN_RETURN
from vyndbg.evaluate import TypedValue
from vyndbg.model import (
    EvaluationError,
    LocationError,
    NoProcessError,
    NoSymbolError,
    NotAllowedError,
    NotSupportedError,
    StopEvent,
    StopReason,
    Tier,
    Variable,
)

WATCH_KINDS = ("watchpoint", "read watchpoint", "acc watchpoint")

# Instructions whose register operands are all read (no destination register).
_NO_DEST = frozenset({
    "JT", "JF", "JLT", "JLE", "JGT", "JGE", "JEQ", "JNE", "JLTK", "JGEK", "RET", "CELLSET",
    "SETF", "SETINDEX", "GSET", "PRINT", "DBG", "PANIC", "FREE", "ENDREGION", "RCHOLD",
    "RCSETF", "RCGSET"})
# Instructions that read a run of registers: (operand of the first, operand of the count).
_RUNS = {"CALL": (3, 4), "CALLV": (3, 4), "CALLM": (3, 4), "CALLB": (3, 4),
         "CLOSURE": (3, 4), "NEW": (3, 4), "VECNEW": (3, 4), "ARRNEW": (3, 4),
         "PRINT": (2, 3)}
_BRANCHES = {i for i, name in enumerate(bc.OPNAMES) if "t" in bc.OPERANDS[name]}


def registers(ins: tuple) -> tuple[int | None, list[int]]:
    """(the register `ins` writes or None, the registers it reads)."""
    name = bc.OPNAMES[ins[0]]
    spec = bc.OPERANDS[name]
    positions = [i + 1 for i, k in enumerate(spec) if k == "r"]
    dest = None
    if positions and name not in _NO_DEST and spec[0] == "r":
        dest = ins[positions.pop(0)]
    run = _RUNS.get(name)
    reads = [ins[p] for p in positions if run is None or p != run[0]]
    if run is not None:
        first, count = ins[run[0]], ins[run[1]]
        reads.extend(range(first, first + count))
    return dest, reads


def branch_target(ins: tuple) -> int | None:
    if ins[0] not in _BRANCHES:
        return None
    spec = bc.OPERANDS[bc.OPNAMES[ins[0]]]
    return ins[spec.index("t") + 1]


def until_keys(fn: bc.Function) -> dict[int, float]:
    """Where `until` considers each statement start of `fn` to be, in gdb's terms.

    gdb's `until` stops at a line whose code lies after the current line's; C compilers
    put a loop's test after its body, so at the end of a body `until` stops at the loop's
    head and at the head it runs the loop to its end. Vyn tests a loop at its head: the
    head (a statement that a back-edge jumps to and that branches out past that
    back-edge) is placed just after the loop's last back-edge. Other statements are where
    they are."""
    stmts = sorted(row.pc for row in fn.lines if row.is_stmt)
    keys: dict[int, float] = {}
    for j, ins in enumerate(fn.code):
        if ins[0] != bc.JMP or ins[1] > j:
            continue
        heads = [p for p in stmts if p <= ins[1]]
        if not heads:
            continue
        head = heads[-1]
        end = next((p for p in stmts if p > head), len(fn.code))
        leaves = any((t := branch_target(x)) is not None and t > j for x in fn.code[head:end])
        if leaves:
            keys[head] = max(keys.get(head, head), j + 0.5)
    return keys


def statement_start(fn: bc.Function, pc: int) -> int:
    """The statement start at or before `pc`."""
    best = 0
    for row in fn.lines:
        if row.pc > pc:
            break
        if row.is_stmt:
            best = row.pc
    return best


def closing_start(fn: bc.Function) -> int | None:
    """The pc of the function's last statement on its closing line (the implicit return
    at `}`), or None."""
    found = None
    for row in fn.lines:
        if row.is_stmt and row.line == fn.end_line:
            found = row.pc
    return found


def at_closing_line(fn: bc.Function, pc: int) -> bool:
    row = fn.line_at(pc)
    return row is not None and row.line == fn.end_line


@dataclass
class Access:
    """What a read or access watchpoint watches, and where it may be read or written.

    kind: "reg" (a local or parameter: `var` in `frame`), "cell" (a local a closure
    captured: its cell), "global" (global `index`), "field" (slot `index` of the object
    at `obj`), "element" (element `index` of the vector or array at `obj`)."""

    kind: str
    tid: int
    index: int = 0
    obj: int = 0
    frame: object = None
    var: bc.VarEntry | None = None
    reads: dict = field(default_factory=dict)    # (fn, pc) -> instruction
    writes: dict = field(default_factory=dict)


@dataclass
class _Forced:
    """A `return` under way: frames[i] is the next one to pop; `value` is returned."""

    frames: list
    value: object
    popped: int = 0


@dataclass
class _AccessStop:
    """After an access instruction: report it at the next instruction. `hits`: each
    watchpoint it triggers, with the value's text just before the instruction."""

    hits: list


class FlowControl:
    """`return`, `jump`, `rwatch`/`awatch` and friends (mixin of Session)."""

    _subst: tuple | None = None          # (key, the real instruction) replaced for one run
    _forced: _Forced | None = None
    _jumping: tuple | None = None        # (frame, target site)
    _keys_cache: dict | None = None
    print_elements: int | None = 200     # `set print elements` (None: unlimited)

    # ------------------------------------------------------------ one-run instructions

    def _scratch(self, frame, value) -> int:
        """A register of `frame` past its own ones, holding `value`."""
        frame.regs.append(value)
        return len(frame.regs) - 1

    def _replace_next(self, frame, ins: tuple) -> None:
        """Make `frame` run `ins` instead of the instruction at its pc, once."""
        vm = self.vm
        key = (frame.fn.index, frame.pc)
        if key in vm.originals:
            real = vm.originals[key]
            vm.originals[key] = ins
        else:
            real = vm.codes[key[0]][key[1]]
            vm.codes[key[0]][key[1]] = ins
        self._subst = (key, real)

    def _restore(self) -> None:
        if self._subst is None:
            return
        (fi, pc), real = self._subst
        self._subst = None
        vm = self.vm
        if vm.codes[fi][pc][0] == bc.BREAKPOINT:
            vm.originals[(fi, pc)] = real
        else:
            vm.codes[fi][pc] = real

    def _flow_trap(self, frame, site: tuple[int, int]) -> bool:
        """At a trap, before breakpoints: carry a `return` or `jump` on. True when the
        trap belongs to it alone."""
        forced = self._forced
        if forced is not None:
            frames = forced.frames
            if forced.popped == 0:
                if frame is frames[0]:
                    return True           # the frame's own trap, before the return runs
                forced.popped = 1
            self._restore()
            i = forced.popped
            if i < len(frames) and frame is frames[i]:
                forced.popped += 1
                self._replace_next(frame, (bc.RET, self._scratch(frame, forced.value)))
                return True
            self._forced = None
            self._end_forced(frame, frames)
            return True
        if self._jumping is not None:
            jframe, target = self._jumping
            if frame is jframe and site == target:
                self._restore()
                self._jumping = None
                self._step = type(self._step)()
                self._sync()
                return False              # a breakpoint at the target stops there
            if frame is jframe and self._subst is not None and site == self._subst[0]:
                return True               # the jump itself, about to run
        return False

    def _end_forced(self, frame, frames: list) -> None:
        for bp in list(self._bps.values()):
            if bp.kind in WATCH_KINDS and bp.scope_frame is not None and \
                    any(bp.scope_frame is f for f in frames):
                del self._bps[bp.number]
                self._output_note(f"\nWatchpoint {bp.number} deleted because the program has "
                                  "left the block in\nwhich its expression is valid.\n")
        self._step = type(self._step)()
        self._sync()
        self._block(self._stop_event(StopReason.STEP, frame, new_frame=True))

    def _output_note(self, text: str) -> None:
        from vyndbg.model import Output
        self._output(Output("dprintf", text))

    def _flow_checks(self, what: str, native_top: bool = False):
        """The innermost frame of the selected fiber, if it can be changed. `native_top`:
        the innermost frame may be native (`return` from it; not from native callers)."""
        self._need_process()
        command = "return" if what == "force a return" else what
        ev = self.state.last_stop
        if ev is not None and ev.reason in (StopReason.PANIC, StopReason.DEADLOCK):
            raise NotAllowedError(f"Can not {what} after a {ev.reason.value}: the program can "
                                  "only go on to its end.", command=command,
                                  reason=f"after-{ev.reason.value}")
        fiber = self._selected_fiber()
        if fiber is not self.vm.sched.current:
            raise NotAllowedError(f"Can not {what} in thread {fiber.id}: only the thread that "
                                  "stopped can be changed.", command=command,
                                  reason="other-thread", thread=fiber.id)
        frame = self._here()
        level = getattr(self, "selected", 0)
        f = frame
        for i in range(level + 1):
            if f is None:
                break
            if getattr(f, "tier", None) == "native" and not (native_top and i == 0 == level):
                raise NotSupportedError(f"Can not {what} in native code: a native frame's "
                                        "machine state cannot be rewritten (debug with "
                                        "--jit=off).", command=command)
            f = f.parent
        return frame

    # ------------------------------------------------------------ return

    def return_from(self, expr: str | None = None) -> StopEvent:
        """gdb's `return [EXPR]`: pop the selected frame (and those it called), making it
        return EXPR's value (or nothing) to its caller, which is then frame #0 and stays
        stopped after the call."""
        top = self._flow_checks("force a return", native_top=True)
        level = self.selected
        frames = []
        f = top
        for _ in range(level + 1):
            frames.append(f)
            f = f.parent
        target = frames[-1]
        caller = target.parent
        if caller is None or caller.fn.name == "<globals>":
            raise NotAllowedError("Can not force return from the outermost frame.",
                                  command="return", reason="outermost-frame")
        if any(fr.ret == GEN_RETURN for fr in frames):
            raise NotAllowedError(f"Can not force return from {target.fn.name}: a builtin "
                                  "called it and waits for its value.", command="return",
                                  reason="builtin-caller")
        native = getattr(top, "tier", None) == "native"
        if self._regions_in(frames) or (native and any(
                ins[0] == bc.REGION for ins in top.fn.code)):
            raise NotAllowedError(f"Can not force return from {target.fn.name}: it is inside "
                                  "a `scoped` block, whose region would never be released.",
                                  command="return", reason="scoped-region")
        ret_tid = target.fn.ret_type
        kind = self.vm.kinds[ret_tid] if 0 < ret_tid < len(self.vm.kinds) else bc.K_UNIT
        value = None
        if expr:
            tv = self.evaluate_typed(expr)
            if kind != bc.K_UNIT:
                want = self.program.types[ret_tid]
                got = self.program.types[tv.tid]
                if self.vm.kinds[tv.tid] != kind or (want.kind != got.kind and not (
                        want.kind == "enum" and got.kind == "variant")):
                    raise EvaluationError(f"Return value of type {self._type_name(tv.tid)} "
                                          f"does not match {target.fn.name}'s return type "
                                          f"{self._type_name(ret_tid)}.", expression=expr)
                value = tv.value
        elif kind != bc.K_UNIT:
            old = caller.regs[target.ret] if 0 <= target.ret < len(caller.regs) else None
            value = old if old is not None else _ZERO.get(kind)
        cond = type(self._step)("return", top, top.depth, 0, top.fn.index, top.pc)
        cond.fiber = self._selected_fiber()
        cond.sites = {(fr.parent.fn.index, fr.parent.pc) for fr in frames}
        self._step = cond
        self._sync()
        self._forced = _Forced(frames, value)
        if native:
            # Native code: its caller goes on from the return address with the value
            # (runtime/jit_unicorn.py `force_return`); the caller's trap ends the return.
            why = self._native_jit().force_return(top, value, kind)
            if why is not None:
                self._forced = None
                self._step = type(self._step)()
                self._sync()
                raise NotSupportedError(f"Can not force return from {top.fn.name} in native "
                                        f"code: {why} (debug with --jit=off).",
                                        command="return")
            self._forced.popped = 1
        else:
            self._replace_next(top, (bc.RET, self._scratch(top, value)))
        try:
            return self._resume(cond)
        finally:
            self._forced = None
            self._restore()

    def _regions_in(self, frames: list) -> bool:
        heap = self.vm.heap
        active = getattr(getattr(heap, "_regions", None), "active", None)
        if not active:
            return False
        for fr in frames:
            for ins in fr.fn.code:
                if ins[0] == bc.REGION and ins[1] < len(fr.regs):
                    rid = fr.regs[ins[1]]
                    if type(rid) is int and rid in active:
                        return True
        return False

    def return_query(self) -> str:
        """gdb's question before `return`: `Make fib return now? `."""
        frame = self._frame(self.selected)
        return f"Make {frame.fn.name} return now? "

    # ------------------------------------------------------------ jump

    def jump_target(self, spec: str) -> tuple[int, int, str]:
        """(line, pc, function of the selected thread's innermost frame) for `jump LOC`;
        LocationError when LOC is not in that function."""
        frame = self._here()
        r = self.resolve(spec)
        for fi, pc in r.sites:
            if fi == frame.fn.index:
                return r.location.line, pc, frame.fn.name
        raise LocationError(f"Line {r.location.line} is not in `{frame.fn.name}'; vyn can "
                            "only jump within the current function.", location=spec,
                            file=r.location.file, line=r.location.line)

    def jump(self, spec: str) -> StopEvent:
        """gdb's `jump LOC`: resume the selected thread at LOC, a line of the function its
        innermost frame runs. Registers not set yet where LOC is read as zero."""
        top = self._flow_checks("jump", native_top=True)
        _line, pc, _fn = self.jump_target(spec)
        native = getattr(top, "tier", None) == "native"
        vm = self.vm
        for reg, tid in enumerate(top.fn.reg_types[:top.fn.nregs]):
            if reg < len(top.regs) and top.regs[reg] is None and 0 < tid < len(vm.kinds):
                zero = _ZERO.get(vm.kinds[tid])
                if zero is not None:
                    top.regs[reg] = zero
        target = (top.fn.index, pc)
        cond = type(self._step)("jump", top, top.depth, 0, top.fn.index, top.pc)
        cond.fiber = self._selected_fiber()
        cond.sites = {target}
        self._step = cond
        self._sync()
        self._jumping = (top, target)
        if native:
            # Native code goes on at the line's code (runtime/jit_unicorn.py `force_jump`).
            why = self._native_jit().force_jump(top, pc)
            if why is not None:
                self._jumping = None
                self._step = type(self._step)()
                self._sync()
                raise NotSupportedError(f"Can not jump in native code: {why} (debug with "
                                        "--jit=off).", command="jump")
        else:
            self._replace_next(top, (bc.JT, self._scratch(top, True), pc))
        try:
            return self._resume(cond)
        finally:
            self._jumping = None
            self._restore()

    # ------------------------------------------------------------ read/access watchpoints

    def watch_access(self, expr: str, kind: str):
        """`rwatch EXPR` (kind "read watchpoint") and `awatch EXPR` ("acc watchpoint")."""
        from vyndbg.engine import _Bp

        if self.state.state != "stopped":
            raise NoProcessError("Cannot watch an expression before the program runs; use "
                                 "`start` first.")
        access = self._access_of(expr.strip())
        self._access_sites(access)
        bp = _Bp(self._next_bp, kind, (), None, expression=expr.strip())
        bp.compiled = access
        bp.scope_frame = access.frame
        value = self._access_value(access)
        bp.old, bp.old_text = value, self._text(value)
        bp.sites = tuple(sorted(set(access.reads) | (set(access.writes)
                                                      if kind == "acc watchpoint" else set())))
        self._next_bp += 1
        self._bps[bp.number] = bp
        self._sync()
        return bp.public()

    def _access_of(self, expr: str) -> Access:
        cannot = NotSupportedError("Expression cannot be implemented with read/access "
                                   "watchpoint.")
        frame = self._frame(self.selected)
        if re.fullmatch(r"[A-Za-z_]\w*", expr):
            for v in self._live_vars(frame, self.selected):
                if v.name == expr:
                    if v.kind == "capture":
                        raise cannot
                    return Access("cell" if v.cell else "reg", v.type_id, frame=frame, var=v)
            for i, (name, tid) in enumerate(self.program.globals):
                if name == expr:
                    return Access("global", tid, index=i)
            raise NoSymbolError(f'No symbol "{expr}" in current context.', name=expr,
                                kind="variable")
        m = re.fullmatch(r"(.+)\.([A-Za-z_]\w*)", expr)
        if m:
            obj = self.evaluate_typed(m.group(1))
            d = self.program.types[obj.tid]
            if d.kind != "struct" or not obj.value:
                raise cannot
            for i, (name, tid) in enumerate(d.fields):
                if name == m.group(2):
                    return Access("field", tid, index=i, obj=obj.value)
            raise NoSymbolError(f"There is no member named {m.group(2)}.", name=m.group(2),
                                kind="member", type_name=d.name)
        m = re.fullmatch(r"(.+)\[(.+)\]", expr)
        if m:
            obj = self.evaluate_typed(m.group(1))
            idx = self.evaluate_typed(m.group(2))
            d = self.program.types[obj.tid]
            if d.kind not in ("vec", "array") or type(idx.value) is not int or not obj.value:
                raise cannot
            return Access("element", d.elem, index=idx.value, obj=obj.value)
        raise cannot

    def _access_sites(self, a: Access) -> None:
        """Fill a.reads and a.writes: the instructions that may read or write it."""
        if a.kind in ("reg", "cell"):
            fns = [a.frame.fn]
        else:
            fns = [f for f in self.program.functions if not f.name.startswith("__vyn_eval__")]
        for fn in fns:
            lo, hi = (a.var.start, a.var.end) if a.var is not None else (0, len(fn.code))
            closing = closing_start(fn) if a.var is not None else None
            for pc, ins in enumerate(fn.code):
                if a.var is not None and not (lo <= pc < hi or (
                        closing is not None and hi >= closing and pc >= closing and lo <= pc)):
                    # A register outside its variable's range belongs to another one; the
                    # write that sets the variable is just before its range.
                    if not (pc == lo - 1 and a.kind == "reg"):
                        continue
                read, wrote = self._static_access(a, ins)
                if read:
                    a.reads[(fn.index, pc)] = ins
                if wrote:
                    a.writes[(fn.index, pc)] = ins

    @staticmethod
    def _static_access(a: Access, ins: tuple) -> tuple[bool, bool]:
        op = bc.OPNAMES[ins[0]]
        if a.kind == "reg":
            dest, reads = registers(ins)
            return a.var.reg in reads, dest == a.var.reg
        if a.kind == "cell":
            return (op == "CELLGET" and ins[2] == a.var.reg,
                    op == "CELLSET" and ins[1] == a.var.reg)
        if a.kind == "global":
            return (op == "GGET" and ins[2] == a.index,
                    op in ("GSET", "RCGSET") and ins[1] == a.index)
        if a.kind == "field":
            return (op == "GETF" and ins[3] == a.index,
                    op in ("SETF", "RCSETF") and ins[2] == a.index)
        return op == "INDEX", op == "SETINDEX"

    def _dynamic_access(self, a: Access, frame, ins: tuple) -> tuple[bool, bool]:
        """Whether `ins`, about to run in `frame`, reads / writes what `a` watches."""
        if a.kind in ("reg", "cell"):
            if frame is not a.frame:
                return False, False
            return self._static_access(a, ins)
        if a.kind == "global":
            return self._static_access(a, ins)
        regs = frame.regs
        op = bc.OPNAMES[ins[0]]
        if a.kind == "field":
            if op == "GETF":
                return regs[ins[2]] == a.obj and ins[3] == a.index, False
            return False, regs[ins[1]] == a.obj and ins[2] == a.index
        if op == "INDEX":
            return regs[ins[2]] == a.obj and regs[ins[3]] == a.index, False
        return False, regs[ins[1]] == a.obj and regs[ins[2]] == a.index

    def _access_value(self, a: Access) -> TypedValue:
        vm = self.vm
        if a.kind in ("reg", "cell"):
            return self._read_var(a.frame, a.var)
        if a.kind == "global":
            return TypedValue(vm.globals[a.index], a.tid)
        if a.kind == "field":
            return TypedValue(vm.reader.read_slot(a.obj, a.index, vm.kinds[a.tid]), a.tid)
        d = None
        for t in self.program.types:
            if t.kind in ("vec", "array") and t.elem == a.tid:
                d = t
                break
        items = vm.reader.items(a.obj, self._obj_desc(a.obj) or d, a.index, a.index + 1)
        return TypedValue(items[0] if items else None, a.tid)

    def _obj_desc(self, addr: int):
        vm = self.vm
        try:
            return self.program.types[vm.desc_of_heap[vm.heap.type_of(addr)]]
        except (KeyError, IndexError, Exception):  # noqa: BLE001 - any unreadable object
            return None

    def _check_accesses(self, bps: list, frame, site) -> bool:
        """At a trap on an instruction that may access what read or access watchpoints
        watch: if it does, let it run and stop at the next instruction (True)."""
        hits = []
        for bp in bps:
            a: Access = bp.compiled
            ins = a.reads.get(site) or a.writes.get(site)
            if ins is None:
                continue
            read, wrote = self._dynamic_access(a, frame, ins)
            if bp.kind == "read watchpoint":
                wrote = False
            if read or wrote:
                try:
                    before = self._text(self._access_value(a))
                except Exception:  # noqa: BLE001 - the object went away
                    continue
                hits.append((bp, before))
        if not hits:
            return False
        cond = type(self._step)("access", frame, frame.depth, self._line_of(frame),
                                frame.fn.index, frame.pc)
        cond.fiber = self.vm.sched.current
        cond.sites = {(frame.fn.index, pc) for pc in range(len(frame.fn.code))
                      if pc != frame.pc}
        cond.returned = _AccessStop(hits)
        self._arm_return(cond, frame)
        self._step = cond
        self._sync()
        return True

    def _access_event(self, frame) -> StopEvent | None:
        """The stop after an access: gdb's `Value = ` for a read (or an access that left
        the value as it was), `Old value`/`New value` when the instruction changed it.
        Several watchpoints the instruction triggered are reported together."""
        from vyndbg.model import ValueInfo

        c = self._step
        stop: _AccessStop = c.returned
        self._step = type(self._step)()
        self._sync()
        reports = []
        for bp, before in stop.hits:
            try:
                value = self._access_value(bp.compiled)
            except Exception:  # noqa: BLE001 - the object went away
                continue
            text = self._text(value)
            old = None
            if text != before and bp.kind == "acc watchpoint":
                old = ValueInfo(self._type_name(value.tid), before)
            bp.old, bp.old_text = value, text
            bp.hits += 1
            reports.append((bp.public(), old, self.value_info(value)))
        if not reports:
            return None
        first, old, new = reports[0]
        return self._stop_event(StopReason.WATCHPOINT, frame, breakpoint=first,
                                old_value=old, new_value=new, also=tuple(reports[1:]))

    # ------------------------------------------------------------ until

    def until_key(self, fn: bc.Function, pc: int) -> float:
        cache = self._keys_cache
        if cache is None:
            cache = self._keys_cache = {}
        keys = cache.get(fn.index)
        if keys is None or keys[0] is not fn:
            keys = cache[fn.index] = (fn, until_keys(fn))
        start = statement_start(fn, pc)
        return keys[1].get(start, start)

    def is_statement_start(self, fn: bc.Function, pc: int) -> bool:
        return any(row.pc == pc and row.is_stmt for row in fn.lines)

    def mid_line_pc(self, frame) -> int | None:
        """The pc of frame #0 (a FrameInfo) when it is in the middle of a line, where gdb
        prints the address before the function; None otherwise."""
        if frame is None or frame.level != 0 or not 0 <= frame.function_index < len(
                self.program.functions):
            return None
        if frame.tier is Tier.NATIVE:
            return self.native_mid_line(frame)
        fn = self.program.functions[frame.function_index]
        return None if self.is_statement_start(fn, frame.pc) else frame.pc

    # ------------------------------------------------------------ names and values

    def block_locals(self, frame, level: int) -> list:
        """The local variables live in `frame`, shadowed ones too, innermost block first
        (a block is the variables that go out of scope together), then in declaration
        order, as gdb's `info locals`."""
        pc = self._pc_for(frame, level)
        fn = frame.fn
        closing = closing_start(fn) if at_closing_line(fn, pc) else None
        live = [v for v in fn.vars if v.kind != "param" and (
            v.kind == "capture" or v.start <= pc < v.end or
            (closing is not None and v.start <= pc and v.end >= closing))]
        return sorted(live, key=lambda v: (v.kind == "capture", v.end, v.start, v.reg))

    def shadowed_locals(self) -> list[Variable]:
        """`info locals`: every local of the selected frame, shadowed ones too."""
        from runtime.errors import RuntimeFailure
        from runtime.heap_errors import HeapError
        from vyndbg.model import ValueInfo

        frame = self._frame(self.selected)
        out = []
        for v in self.block_locals(frame, self.selected):
            try:
                out.append(Variable(v.name, self.value_info(self._read_var(frame, v)), v.kind))
            except (HeapError, RuntimeFailure):
                out.append(Variable(v.name, ValueInfo(self._type_name(v.type_id),
                                                      "<invalid>"), v.kind))
        return out

    def type_text(self, tid: int) -> str:
        """A type as Vyn source text (`Pair<Int, String>`) when known, else its name."""
        compiler = getattr(self, "expr_compiler", None)
        if compiler is not None:
            try:
                text = compiler().type_text(tid)
            except Exception:  # noqa: BLE001 - the names are a nicety
                text = None
            if text:
                return text
        if tid == 0 or not 0 <= tid < len(self.program.types):
            return "()"
        return self._type_name(tid)

    def declaration(self, fn: bc.Function) -> str:
        """`fn pick<Int>(a: Int, b: Int) -> Int`: an instance's signature, from its
        variable table (parameters in register order) and its return type."""
        params = sorted((v for v in fn.vars if v.kind == "param"), key=lambda v: v.reg)
        seen = set()
        parts = []
        for v in params:
            if v.reg in seen:
                continue
            seen.add(v.reg)
            parts.append(v.name if v.name == "self" else f"{v.name}: {self.type_text(v.type_id)}")
        text = f"fn {fn.name}({', '.join(parts)})"
        ret = self.program.types[fn.ret_type] if 0 < fn.ret_type < len(self.program.types) \
            else None
        if ret is not None and ret.kind not in ("unit",):
            text += f" -> {self.type_text(fn.ret_type)}"
        return text

    def pretty_text(self, value) -> str:
        """`set print pretty on`: a value laid out as gdb lays out structures, one field a
        line, indented two spaces a level (`value` is a ValueInfo)."""
        ref = value.ref
        if not isinstance(ref, TypedValue) or self.vm is None:
            return value.text
        try:
            return self._pretty(ref, 0)
        except Exception:  # noqa: BLE001 - fall back to the one-line text
            return value.text

    def _pretty(self, tv: TypedValue, depth: int) -> str:
        vm = self.vm
        d = self.program.types[tv.tid]
        if not tv.value or d.kind not in ("struct", "enum", "vec", "array", "tuple", "variant"):
            return self._text(tv)
        if d.kind == "struct":
            if not d.fields:
                return self._text(tv)
            pad = "  " * (depth + 1)
            fields = [f"{pad}{name}: {self._pretty(child, depth + 1)}"
                      for name, child in self._children(tv)]
            return f"{d.name} {{\n" + ",\n".join(fields) + "\n" + "  " * depth + "}"
        if d.kind in ("enum", "variant"):
            v = vm.reader.variant_of(tv.value)
            if not v.fields:
                return v.name
            kids = self._children(TypedValue(tv.value, v.parent))
            return f"{v.name}(" + ", ".join(self._pretty(c, depth) for _, c in kids) + ")"
        if d.kind == "tuple":
            kids = self._children(tv)
            text = ", ".join(self._pretty(c, depth + 1) for _, c in kids)
            return "(" + text + ("," if len(kids) == 1 else "") + ")"
        limit = self.print_elements
        kids = self._children(tv, 0, limit)
        text = ", ".join(self._pretty(c, depth + 1) for _, c in kids)
        if limit is not None and vm.reader.length(tv.value, d) > limit:
            text += "..."
        return "[" + text + "]"


_ZERO = {bc.K_INT: 0, bc.K_FLOAT: 0.0, bc.K_BOOL: False}

__all__ = ["WATCH_KINDS", "Access", "FlowControl", "at_closing_line", "branch_target",
           "closing_start", "registers", "statement_start", "until_keys"]
