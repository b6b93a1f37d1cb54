"""The bytecode interpreter: one loop over frames linked for backtraces (guide 8.2.1).

Hot state (code, registers, pc) lives in locals of `_exec`; every Vyn call (CALL, CALLV,
CALLM, and the closures that builtins such as `map` call) pushes a Frame in one place and
continues in the same loop: no Python recursion per Vyn call. The loop runs a fiber for a
slice of reductions (calls and loop back-edges, SEMANTICS "Concurrency") and can stop
after any of them and resume later; `run_main` is the scheduler's loop over fibers
(`runtime/sched.py`). A builtin that calls back into Vyn code or has to wait is a
generator: the VM pushes the frames it asks for and parks the fiber while it waits.

A debugger attaches through `VMHooks` and BREAKPOINT patching (`patch`/`unpatch`): with
no hooks and no patches the loop does nothing for the debugger but one opcode comparison.
"""

from __future__ import annotations

import math
from types import GeneratorType

from compiler import bytecode as bc
from compiler.bytecode import K_BOOL, K_FLOAT, K_INT, K_PTR, Program, TypeDesc
from runtime import builtins as rb
from runtime import sched as rs
from runtime.errors import Interrupted, RuntimeFailure, Unsupported, VynPanic
from runtime.events import CallHooks, EventSink
from runtime.heap import Heap
from runtime.heap_errors import DanglingReference, HeapError, HeapExhausted, UseAfterFree
from runtime.heap_gc import CollectStats
from runtime.heap_layout import FLAG_FREED
from runtime.jit import EXITED, NOT_RUN
from runtime.values import ValueReader, desc_kind

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import TextIO

INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1
MASK64 = (1 << 64) - 1
DEFAULT_MAX_DEPTH = 20000
DEFAULT_HEAP_LIMIT = 1 << 30
SLOT_PTR = 2          # a TypeDesc heap slot kind (compiler/typetable.py): a pointer

# What `_exec` stopped for.
DONE, YIELD, BLOCK, RETRY = 0, 1, 2, 4    # RETRY: out of memory; collect, run it again
PUSHED = 3            # `_drive`: a builtin's generator asked for a call (a reduction)
GEN_RETURN = -1       # Frame.ret of a closure a builtin generator called


class WouldBlock(RuntimeFailure):
    """A function the debugger called would have to wait (on a channel, a join, ...)."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class Frame:
    """A Vyn call frame. `pc` is the next instruction while running, the current one
    when the frame is stopped or is a caller."""

    __slots__ = ("fn", "code", "regs", "pc", "parent", "ret", "env", "depth", "gen")

    def __init__(self, fn, code, regs, parent, ret, env, depth):
        self.fn = fn
        self.code = code
        self.regs = regs
        self.pc = 0
        self.parent = parent
        self.ret = ret
        self.env = env
        self.depth = depth
        self.gen = None


class VMHooks:
    """What a debugger receives. Every method may block (the program is stopped while it
    runs) and may change the VM's patches, hooks and registers."""

    def trap(self, vm: VM, frame: Frame, slot: int) -> None:
        """A BREAKPOINT at frame.pc was hit."""

    def call(self, vm: VM, frame: Frame) -> None:
        """A new frame started (frame.pc == 0)."""

    def ret(self, vm: VM, frame: Frame, value) -> None:
        """`frame` returns `value` (its caller is frame.parent)."""

    def panic(self, vm: VM, frame: Frame, error: VynPanic) -> None:
        """The program panicked in `frame` (not yet unwound)."""

    def interrupted(self, vm: VM, frame: Frame) -> None:
        """Someone set vm.interrupt: the program is stopped at frame.pc."""

    def deadlock(self, vm: VM, error: rs.Deadlock) -> None:
        """Every fiber left is blocked (vm.sched.current: the first of them)."""


class VM:
    def __init__(self, program: Program, *, stdout: TextIO, stderr: TextIO,
                 heap_limit: int | None = None, max_depth: int | None = None,
                 argv: list[str] | None = None, gc_stress: bool = False,
                 gc_trace: TextIO | None = None):
        self.program = program
        self.out = stdout
        self.err = stderr
        self.argv = list(argv or [])
        self.types = program.types
        self.heap = Heap(limit=heap_limit or DEFAULT_HEAP_LIMIT)
        self.max_depth = max_depth or DEFAULT_MAX_DEPTH
        self.heap_tid = [0] * len(self.types)
        self.desc_of_heap: dict[int, int] = {}
        self._register_types()
        self.reader = ValueReader(self)
        self.kinds = self.reader.kinds
        self._type_ids: dict[tuple, int] = {}
        self._option_types: dict[int, TypeDesc | None] = {}
        self.string_tid = self.type_id("string", "String", heap=(2, ()))
        self._strings: dict[str, int] = {}
        self.functions = program.functions
        self.codes = [self._link(f) for f in program.functions]
        self.pads = [[None] * max(0, f.nregs - f.nparams) for f in program.functions]
        self.globals: list = [None] * len(program.globals)
        self.originals: dict[tuple[int, int], tuple] = {}
        self.hooks: VMHooks | None = None        # traps, panics, interrupts
        # Call/return events: the debugger's stepping (`set_step_hooks`) and an event
        # sink's (`attach_events`), combined; None when nobody wants them.
        self.call_hooks: VMHooks | None = None
        self.step_hooks: VMHooks | None = None
        self.events: EventSink | None = None
        self.interrupt = [False]
        self.frame: Frame | None = None      # innermost frame while stopped or panicking
        self.builtins = {**rb.BUILTINS, **rs.PLAIN}
        self.gen_builtins = {**rb.GENERATORS, **rs.WAITING}
        self.sched = rs.Scheduler()
        self.nesting = 0          # calls the debugger is making (they must not block)
        self.end_slice = False    # the debugger asks the running slice to end early
        self.to_sample = 0        # reductions until the next stack sample (profiling)
        # The scheduler's run `_exec` is in and its slice's budget before it (native
        # code's poll may use the run up, sample or start a slice, and set the next run).
        self.slice_run = self.slice_budget = 0
        self.result = None        # the value of the call `_exec` finished
        self.left = 0             # reductions left in the slice `_exec` ended
        self.gc_stress = gc_stress    # collect at every safepoint (finds missing roots)
        self.gc_trace = gc_trace      # a stream for one line per collection and region
        self.gc_seconds = 0.0
        self.collections = 0
        self.gc_pauses: list[float] = []
        self.root_providers: list = []   # callables giving more roots (the debugger's)
        self._retry_at = None
        # address -> (Function, pc) of its `free`, or why it was released
        self.free_sites: dict[int, tuple | str] = {}
        self.zct: set[int] = set()     # ref<T> objects whose count reached zero
        self.rc_slots: dict[int, set[int]] = {}   # object -> its counted ref<T> slots
        self.exited = False
        self._capkinds: dict[int, list[int]] = {}
        # The native tier (runtime/jit.py): per function, None or its NativeFn (counters,
        # native entries); all None without a JIT, so the interpreter pays one test.
        self.jit = None
        self.natives: list = [None] * len(self.functions)

    # ------------------------------------------------------------ loading

    def _register_types(self, start: int = 0) -> None:
        for d in self.types[start:]:
            if d.heap is None:
                continue
            kind, slots = d.heap
            htid = self.heap.register_type(f"{d.name}#{d.id}", kind, slots)
            self.heap_tid[d.id] = htid
            self.desc_of_heap[htid] = d.id
            if d.kind in ("tuple", "variant", "range") and SLOT_PTR not in slots:
                self.heap.never_in_region(htid)

    def add_types(self, descs: list[TypeDesc]) -> None:
        """Types the running program did not have (a debugger's expression needs them);
        `descs` continue the numbering of self.types."""
        start = len(self.types)
        for d in descs:
            assert d.id == len(self.types), "added types must continue the numbering"
            self.types.append(d)
            self.heap_tid.append(0)
        self._register_types(start)
        self.reader.kinds.extend(desc_kind(d) for d in descs)

    def add_functions(self, fns: list[bc.Function]) -> None:
        """Functions the running program did not have (a debugger's expression, the
        template instances it needs); `fns` continue the numbering of self.functions."""
        for f in fns:
            assert f.index == len(self.functions), "added functions must continue the numbering"
            self.functions.append(f)
            self.codes.append(self._link(f))
            self.pads.append([None] * max(0, f.nregs - f.nparams))
            natives = getattr(self, "natives", None)
            if natives is not None:
                natives.append(None)       # added functions run in bytecode

    def new_string(self, s: str) -> int:
        return self.heap.alloc_bytes(self.heap_tid[self.string_tid], s.encode("utf-8"))

    def const_string(self, s: str) -> int:
        addr = self._strings.get(s)
        if addr is None:
            addr = self.new_string(s)
            self._strings[s] = addr
        return addr

    def _link(self, f: bc.Function) -> list[tuple]:
        """Instructions with constant operands resolved (strings become heap objects)."""
        out = []
        consts = f.consts
        for ins in f.code:
            op = ins[0]
            kinds = bc.OPERANDS[bc.OPNAMES[op]]
            if "k" in kinds:
                ins = list(ins)
                for i, k in enumerate(kinds, 1):
                    if k == "k":
                        v = consts[ins[i]]
                        if isinstance(v, str) and op == bc.LOADK:
                            v = self.const_string(v)
                        ins[i] = v
                ins = tuple(ins)
            out.append(ins)
        return out

    # ------------------------------------------------------------ breakpoints

    def patch(self, fidx: int, pc: int, slot: int) -> None:
        """Put a BREAKPOINT at (function, pc), keeping the original instruction."""
        key = (fidx, pc)
        code = self.codes[fidx]
        if key not in self.originals:
            self.originals[key] = code[pc]
        code[pc] = (bc.BREAKPOINT, slot)

    def unpatch(self, fidx: int, pc: int) -> None:
        orig = self.originals.pop((fidx, pc), None)
        if orig is not None:
            self.codes[fidx][pc] = orig

    def original(self, fidx: int, pc: int) -> tuple:
        return self.originals.get((fidx, pc)) or self.codes[fidx][pc]

    # ------------------------------------------------------------ running

    def run_main(self) -> None:
        """Run the program: the globals initializer and `main` in the main fiber, then
        every fiber until the program ends (SEMANTICS "Concurrency"). Raises VynPanic
        (a Deadlock when every fiber left is blocked), Unsupported, Interrupted."""
        p = self.program
        if p.entry < 0:
            raise Unsupported("a program without a `main` function")
        main = self.sched.new_fiber("main")
        if p.init >= 0:
            main.calls.append((p.init, [], 0))
        main.calls.append((p.entry, [], 0))
        self._schedule()

    def _schedule(self) -> None:
        sched = self.sched
        heap = self.heap
        interrupt = self.interrupt
        stress = self.gc_stress
        sched.keep_history = sched.keep_history or self.hooks is not None
        while True:
            f = sched.next_runnable()
            if f is None:
                if sched.live():
                    self._deadlock()
                self.frame = None
                sched.current = None
                return
            sched.current = f
            sched.step += 1
            f.slices += 1
            f.state = rs.RUNNING
            if f.regions is None:
                f.regions = heap.new_region_stack()
            heap.use_region_stack(f.regions)
            events = self.events
            if events is not None:
                events.fiber_run(f)
            budget = rs.SLICE
            while True:
                if f.frame is None:
                    call = rs.next_call(self, f)
                    if call is None:
                        f.state = rs.out_of_calls(f)
                        if events is not None:
                            events.fiber_done(f)
                        break
                    f.frame = f.bottom = self._bottom_frame(*call)
                    budget -= 1
                    fresh = True
                else:
                    fresh = False
                if interrupt[0]:
                    self._interrupted(f.frame, f.frame.pc)
                    if self.end_slice:        # resumed with another fiber locked
                        self.end_slice = False
                        f.state = rs.RUNNABLE
                        sched.runq.append(f)
                        break
                # A safepoint: every fiber is stopped at a call, a back-edge or between
                # two instructions, so every value it holds is in its frames.
                if self.zct:
                    self.release_zero_counts()
                if stress or heap.gc_due():
                    self.collect()
                run = 1 if stress else budget
                if events is not None and events.sample_every:
                    run = max(1, min(run, self.to_sample))
                # Native code's poll may account for a run, sample and go on (jit.py).
                self.slice_run, self.slice_budget = run, budget
                try:
                    status = self._exec(f.frame, f.bottom, run, fresh)
                except VynPanic as p:
                    if getattr(p, "fiber", None) is None:
                        p.fiber = f
                    if events is not None:
                        events.panic(p)
                    raise
                run, budget = self.slice_run, self.slice_budget
                used = run - self.left
                f.reductions += used
                budget -= used
                if events is not None and events.sample_every:
                    self.to_sample -= used
                    if self.to_sample <= 0:
                        self.to_sample = events.sample_every
                        events.sample(f, self._stack_of(f, self.frame), heap.allocated_bytes)
                if status == DONE:
                    f.frame = f.bottom = None
                    rs.call_returned(self, f, self.result)
                    if budget > 0:
                        continue
                    f.state = rs.RUNNABLE
                    sched.runq.append(f)
                elif status == YIELD:
                    f.frame = self.frame
                    if interrupt[0]:
                        # Ctrl-C stops in the fiber that used up its slice (a loop or a
                        # deep recursion), before another one runs.
                        self._interrupted(f.frame, f.frame.pc)
                        if self.end_slice:
                            self.end_slice = False
                            budget = 0
                    if budget > 0:
                        continue          # --gc-stress: the slice goes on
                    f.state = rs.RUNNABLE
                    sched.runq.append(f)
                elif status == RETRY:
                    f.frame = self.frame  # at the instruction that ran out of memory
                    self.collect("out of memory")
                    continue
                else:
                    f.frame = self.frame
                break

    @staticmethod
    def _stack_of(f, innermost) -> list:
        """(Function, pc) of a fiber's frames, innermost first (callers at their call)."""
        out = []
        fr = innermost if innermost is not None else f.frame
        inner = True
        while fr is not None:
            out.append((fr.fn, fr.pc if inner else max(0, fr.pc - 1)))
            inner = False
            fr = fr.parent
        return out

    def set_step_hooks(self, hooks: VMHooks | None) -> None:
        """The debugger's call/return hooks (for stepping), or None."""
        self.step_hooks = hooks
        self._combine_call_hooks()

    def attach_events(self, sink: EventSink | None) -> None:
        """Send the runtime's events to `sink` (runtime/events.py), or stop (None)."""
        self.events = sink
        self.sched.events = sink
        self._combine_call_hooks()

    def _combine_call_hooks(self) -> None:
        sink = self.events if self.events is not None and self.events.wants_calls else None
        step = self.step_hooks
        if sink is None or step is None:
            self.call_hooks = step or sink
        else:
            self.call_hooks = CallHooks(step, sink)

    def _bottom_frame(self, fidx: int, args: list, env: int) -> Frame:
        fn = self.functions[fidx]
        regs = list(args) + self.pads[fidx]
        if len(regs) < fn.nregs:
            regs.extend([None] * (fn.nregs - len(regs)))
        return Frame(fn, self.codes[fidx], regs, None, 0, env, 1)

    def _deadlock(self) -> None:
        blocked = []
        for f in self.sched.blocked():
            frames = []
            fr = f.frame
            inner = True
            while fr is not None:
                frames.append((fr.fn, fr.pc if inner else max(0, fr.pc - 1)))
                inner = False
                fr = fr.parent
            blocked.append(rs.BlockedFiber(f, frames))
        err = rs.Deadlock(blocked)
        first = blocked[0].fiber if blocked else None
        err.fiber = first
        err.frames = blocked[0].frames if blocked else []
        if self.events is not None:
            self.events.panic(err)
        self.sched.current = first
        self.frame = first.frame if first is not None else None
        if self.hooks is not None and self.frame is not None:
            err.reported = True
            self.hooks.deadlock(self, err)
        raise err

    def call_function(self, fidx: int, args: list, env: int = 0, parent: Frame | None = None):
        """Call function `fidx` with `args` and run it to completion, outside the
        scheduler (the debugger's calls); returns its value. Raises WouldBlock if it
        would have to wait for another fiber."""
        fn = self.functions[fidx]
        regs = list(args) + self.pads[fidx]
        if len(regs) < fn.nregs:
            regs.extend([None] * (fn.nregs - len(regs)))
        if parent is None:
            parent = self.frame
        depth = parent.depth + 1 if parent is not None else 1
        if depth > self.max_depth:
            raise VynPanic("stack overflow")
        frame = Frame(fn, self.codes[fidx], regs, parent, 0, env, depth)
        self.nesting += 1
        regions = self.heap.region_depth
        try:
            fresh = True
            while True:
                status = self._exec(frame if fresh else self.frame, frame, rs.SLICE, fresh)
                if status == DONE:
                    return self.result
                fresh = False
                if self.interrupt[0]:
                    self._interrupted(self.frame, self.frame.pc)
        except BaseException:
            # An abandoned call (a panic, an interrupt) releases the regions it entered.
            self.heap.unwind_regions(regions)
            raise
        finally:
            self.nesting -= 1

    def call_closure(self, addr: int, args: list):
        """Call a closure object to completion (the debugger's calls)."""
        fidx = self.heap.get_i64(addr, 0)
        return self.call_function(fidx, args, addr, self.frame)

    def _exec(self, frame: Frame, stop: Frame, budget: int, fresh: bool) -> int:
        """Run from `frame` (the innermost frame of a fiber) until `stop` returns (DONE,
        its value in self.result), the fiber has to wait (BLOCK) or `budget` reductions
        are used (YIELD). self.frame is then the innermost frame, its pc the next
        instruction; self.left the reductions left. `fresh`: frame starts a call."""
        heap = self.heap
        funcs = self.functions
        codes = self.codes
        pads = self.pads
        types = self.types
        reader = self.reader
        max_depth = self.max_depth
        builtins = self.builtins
        get_i64, set_i64 = heap.get_i64, heap.set_i64
        get_f64, set_f64 = heap.get_f64, heap.set_f64
        get_ptr, set_ptr = heap.get_ptr, heap.set_ptr
        BREAKPOINT = bc.BREAKPOINT
        natives, jit = self.natives, self.jit
        new_frame = object.__new__
        MOV, LOADK, ADD, SUB, ADDK, SUBK = bc.MOV, bc.LOADK, bc.ADD, bc.SUB, bc.ADDK, bc.SUBK
        JGEK, JLTK, JGE, JGT, JLT, JLE = bc.JGEK, bc.JLTK, bc.JGE, bc.JGT, bc.JLT, bc.JLE
        JMP, JF, JT, JNE, JEQ = bc.JMP, bc.JF, bc.JT, bc.JNE, bc.JEQ
        CALL, CALLV, RET, GETF, SETF, MUL = bc.CALL, bc.CALLV, bc.RET, bc.GETF, bc.SETF, bc.MUL
        CALLS = frozenset((bc.CALL, bc.CALLV, bc.CALLM))
        LT, LE, GT, GE, EQ, NE = bc.LT, bc.LE, bc.GT, bc.GE, bc.EQ, bc.NE
        FADD, FSUB, FMUL, FDIV = bc.FADD, bc.FSUB, bc.FMUL, bc.FDIV
        NEXT, INDEX, CALLB, TAG = bc.NEXT, bc.INDEX, bc.CALLB, bc.TAG
        self.frame = frame
        chk = self.call_hooks
        if fresh and chk is not None:
            chk.call(self, frame)
            chk = self.call_hooks
        code = frame.code
        regs = frame.regs
        pc = frame.pc
        depth = frame.depth
        try:
            if not fresh and getattr(frame, "gen", None) is not None:
                # A builtin this frame called was waiting: go on with it.
                status = self._drive(frame, frame.gen, None)
                if status == BLOCK:
                    self.left = budget
                    return BLOCK
                frame = self.frame
                code = frame.code
                regs = frame.regs
                pc = frame.pc
                depth = frame.depth
                chk = self.call_hooks
                if status == YIELD:
                    budget -= 1
            while True:
                ins = code[pc]
                op = ins[0]
                pc += 1
                if op == BREAKPOINT:
                    frame.pc = pc - 1
                    self.frame = frame
                    ins = self._trap(frame, ins[1])
                    op = ins[0]
                    regs = frame.regs
                    chk = self.call_hooks
                    if self.end_slice:
                        # The debugger resumes another fiber (scheduler-locking): this
                        # slice ends at its next reduction.
                        self.end_slice = False
                        budget = 1
                if op == MOV:
                    regs[ins[1]] = regs[ins[2]]
                elif op == LOADK:
                    regs[ins[1]] = ins[2]
                elif op == JGEK:
                    if regs[ins[1]] >= ins[2]:
                        pc = ins[3]
                elif op == ADD:
                    v = regs[ins[2]] + regs[ins[3]]
                    if not INT_MIN <= v <= INT_MAX:
                        v = ((v - INT_MIN) & MASK64) + INT_MIN
                    regs[ins[1]] = v
                elif op == SUBK:
                    v = regs[ins[2]] - ins[3]
                    if v < INT_MIN:
                        v = ((v - INT_MIN) & MASK64) + INT_MIN
                    regs[ins[1]] = v
                elif op == ADDK:
                    v = regs[ins[2]] + ins[3]
                    if v > INT_MAX:
                        v = ((v - INT_MIN) & MASK64) + INT_MIN
                    regs[ins[1]] = v
                elif op in CALLS:
                    # The one frame push: CALL, CALLV and CALLM.
                    if op == CALL:
                        fi = ins[2]
                        env = 0
                    elif op == CALLV:
                        env = regs[ins[2]]
                        fi = get_i64(env, 0)
                    else:
                        fi = self._method(regs[ins[3]], ins[2])
                        env = 0
                    base = ins[3]
                    new = regs[base:base + ins[4]] + pads[fi]
                    if depth >= max_depth:
                        raise VynPanic("stack overflow")
                    frame.pc = pc
                    nat = natives[fi]
                    if nat is not None and budget > 1 and (chk is None or jit.reports_calls):
                        # Native code for the callee (runtime/jit.py): it counts this
                        # call's reduction and every later one itself.
                        res = nat.call(frame, ins[1], new, env, depth + 1, budget - 1)
                        if res is not NOT_RUN:
                            budget = jit.budget
                            if res is not EXITED:
                                regs[ins[1]] = res
                                continue
                            frame = jit.frame      # it deoptimized: its frames, rebuilt
                            code, regs, pc, depth = frame.code, frame.regs, frame.pc, frame.depth
                            if jit.error is not None:
                                pc += 1
                                raise jit.pop_error()
                            if jit.blocked or budget <= 0:
                                self.frame = frame
                                self.left = budget if jit.blocked else 0
                                return BLOCK if jit.blocked else YIELD
                            continue
                    depth += 1
                    f = new_frame(Frame)      # no __init__ call: this is the hot path
                    f.fn = funcs[fi]
                    f.code = codes[fi]
                    f.regs = new
                    f.pc = 0
                    f.parent = frame
                    f.ret = ins[1]
                    f.env = env
                    f.depth = depth            # f.gen stays unset until a builtin waits
                    frame = f
                    code = frame.code
                    regs = new
                    pc = 0
                    if chk is not None:
                        self.frame = frame
                        chk.call(self, frame)
                        chk = self.call_hooks
                        if self.end_slice:
                            self.end_slice = False
                            budget = 1
                    budget -= 1
                    if budget <= 0:
                        self.frame = frame
                        self.left = 0
                        return YIELD
                elif op == RET:
                    val = regs[ins[1]]
                    if chk is not None:
                        frame.pc = pc - 1
                        self.frame = frame
                        chk.ret(self, frame, val)
                        chk = self.call_hooks
                        if self.end_slice:
                            self.end_slice = False
                            budget = 1
                    if frame is stop:
                        self.frame = frame.parent
                        self.result = val
                        self.left = budget
                        return DONE
                    dst = frame.ret
                    if self.frame is frame:
                        # Published for a builtin or a hook: no longer the innermost
                        # frame (a panic's backtrace starts from self.frame).
                        self.frame = frame.parent
                    frame = frame.parent
                    depth -= 1
                    code = frame.code
                    regs = frame.regs
                    pc = frame.pc
                    if dst == GEN_RETURN:
                        # The value goes to the builtin that called the closure.
                        status = self._drive(frame, frame.gen, val)
                        if status == BLOCK:
                            self.left = budget
                            return BLOCK
                        frame = self.frame
                        code = frame.code
                        regs = frame.regs
                        pc = frame.pc
                        depth = frame.depth
                        chk = self.call_hooks
                        if status == PUSHED:
                            budget -= 1
                            if budget <= 0:
                                self.left = 0
                                return YIELD
                    else:
                        regs[dst] = val
                elif op == JMP:
                    t = ins[1]
                    if t < pc:
                        # A loop back-edge: a reduction.
                        budget -= 1
                        if budget <= 0:
                            frame.pc = t
                            self.frame = frame
                            self.left = 0
                            return YIELD
                        nat = natives[frame.fn.index]
                        if nat is not None and (chk is None or jit.trace_code):
                            # On-stack replacement: the loop goes on in native code.
                            res = nat.loop(frame, t, budget)
                            if res is not NOT_RUN:
                                budget = jit.budget
                                frame = jit.frame
                                code, regs, pc, depth = (frame.code, frame.regs, frame.pc,
                                                         frame.depth)
                                if jit.error is not None:
                                    pc += 1
                                    raise jit.pop_error()
                                if jit.blocked or budget <= 0:
                                    self.frame = frame
                                    self.left = budget if jit.blocked else 0
                                    return BLOCK if jit.blocked else YIELD
                                continue
                    pc = t
                elif op == JF:
                    if not regs[ins[1]]:
                        pc = ins[2]
                elif op == JT:
                    if regs[ins[1]]:
                        pc = ins[2]
                elif op == JGE:
                    if regs[ins[1]] >= regs[ins[2]]:
                        pc = ins[3]
                elif op == JGT:
                    if regs[ins[1]] > regs[ins[2]]:
                        pc = ins[3]
                elif op == JLT:
                    if regs[ins[1]] < regs[ins[2]]:
                        pc = ins[3]
                elif op == JLE:
                    if regs[ins[1]] <= regs[ins[2]]:
                        pc = ins[3]
                elif op == JNE:
                    if regs[ins[1]] != regs[ins[2]]:
                        pc = ins[3]
                elif op == JEQ:
                    if regs[ins[1]] == regs[ins[2]]:
                        pc = ins[3]
                elif op == JLTK:
                    if regs[ins[1]] < ins[2]:
                        pc = ins[3]
                elif op == SUB:
                    v = regs[ins[2]] - regs[ins[3]]
                    if not INT_MIN <= v <= INT_MAX:
                        v = ((v - INT_MIN) & MASK64) + INT_MIN
                    regs[ins[1]] = v
                elif op == MUL:
                    v = regs[ins[2]] * regs[ins[3]]
                    if not INT_MIN <= v <= INT_MAX:
                        v = ((v - INT_MIN) & MASK64) + INT_MIN
                    regs[ins[1]] = v
                elif op == LT:
                    regs[ins[1]] = regs[ins[2]] < regs[ins[3]]
                elif op == LE:
                    regs[ins[1]] = regs[ins[2]] <= regs[ins[3]]
                elif op == GT:
                    regs[ins[1]] = regs[ins[2]] > regs[ins[3]]
                elif op == GE:
                    regs[ins[1]] = regs[ins[2]] >= regs[ins[3]]
                elif op == EQ:
                    regs[ins[1]] = regs[ins[2]] == regs[ins[3]]
                elif op == NE:
                    regs[ins[1]] = regs[ins[2]] != regs[ins[3]]
                elif op == GETF:
                    k = ins[4]
                    if k == K_INT:
                        regs[ins[1]] = get_i64(regs[ins[2]], ins[3])
                    elif k == K_PTR:
                        regs[ins[1]] = get_ptr(regs[ins[2]], ins[3])
                    elif k == K_FLOAT:
                        regs[ins[1]] = get_f64(regs[ins[2]], ins[3])
                    elif k == K_BOOL:
                        regs[ins[1]] = bool(get_i64(regs[ins[2]], ins[3]))
                    else:
                        regs[ins[1]] = None
                elif op == SETF:
                    k = ins[4]
                    v = regs[ins[3]]
                    if k == K_INT or k == K_BOOL:
                        set_i64(regs[ins[1]], ins[2], int(v))
                    elif k == K_PTR:
                        set_ptr(regs[ins[1]], ins[2], v or 0)
                    elif k == K_FLOAT:
                        set_f64(regs[ins[1]], ins[2], v)
                    else:
                        set_i64(regs[ins[1]], ins[2], 0)
                elif op == FADD:
                    regs[ins[1]] = regs[ins[2]] + regs[ins[3]]
                elif op == FSUB:
                    regs[ins[1]] = regs[ins[2]] - regs[ins[3]]
                elif op == FMUL:
                    regs[ins[1]] = regs[ins[2]] * regs[ins[3]]
                elif op == FDIV:
                    a, b = regs[ins[2]], regs[ins[3]]
                    if b == 0.0:
                        regs[ins[1]] = (math.copysign(math.inf, a) * math.copysign(1.0, b)
                                        if a != 0.0 and not math.isnan(a) else math.nan)
                    else:
                        regs[ins[1]] = a / b
                elif op == NEXT:
                    try:
                        regs[ins[1]] = next(regs[ins[2]])
                    except StopIteration:
                        pc = ins[3]
                elif op == INDEX:
                    frame.pc = pc - 1
                    regs[ins[1]] = rb.index(self, regs[ins[2]], regs[ins[3]], types[ins[4]])
                elif op == CALLB:
                    frame.pc = pc - 1
                    self.frame = frame
                    base = ins[3]
                    fn = builtins.get(ins[2])
                    if fn is not None:
                        regs[ins[1]] = fn(self, regs[base:base + ins[4]], types[ins[5]])
                        self.frame = frame
                        chk = self.call_hooks
                    else:
                        # A builtin that calls closures or waits: a generator.
                        gen = self._builtin_gen(ins, regs)
                        status = self._drive(frame, (gen, ins[1], pc), None)
                        if status == BLOCK:
                            self.left = budget
                            return BLOCK
                        frame = self.frame
                        code = frame.code
                        regs = frame.regs
                        pc = frame.pc
                        depth = frame.depth
                        chk = self.call_hooks
                        if status == PUSHED:
                            budget -= 1
                            if budget <= 0:
                                self.left = 0
                                return YIELD
                elif op == TAG:
                    regs[ins[1]] = get_i64(regs[ins[2]], 0)
                elif op == bc.LOADCAP:
                    regs[ins[1]] = reader.read_slot(frame.env, 1 + ins[2],
                                                    self._cap_kinds(frame.fn)[ins[2]])
                elif op == bc.CELLGET:
                    cell = regs[ins[2]]
                    k = types[self.desc_of_heap[heap.type_of(cell)]].size
                    regs[ins[1]] = reader.read_slot(cell, 0, k)
                elif op == bc.CELLSET:
                    cell = regs[ins[1]]
                    k = types[self.desc_of_heap[heap.type_of(cell)]].size
                    self._store(cell, 0, k, regs[ins[2]])
                else:
                    frame.pc = pc - 1
                    self.frame = frame
                    pc = self._slow(op, ins, frame, regs, pc)
                    self.frame = frame
                    chk = self.call_hooks
        except BaseException as exc:
            # Where it happened: the instruction just dispatched in the innermost frame.
            if self.frame is None or self.frame.depth <= frame.depth:
                frame.pc = pc - 1
                self.frame = frame
            if type(exc) is HeapExhausted and self._may_retry(exc, frame, pc - 1):
                # Out of memory: the instruction changed nothing yet, so it can run again
                # once a full collection has made room (--heap-limit limits live data).
                self.left = budget
                return RETRY
            p = self._as_panic(exc)
            if p is None:
                raise
            self._unwind_info(p)
            if p is exc:
                raise
            raise p from None

    def _may_retry(self, exc: HeapExhausted, frame: Frame, pc: int) -> bool:
        if self.nesting or getattr(exc, "in_generator", False):
            return False
        key = (frame, pc, self.heap.in_use)
        if self._retry_at == key:
            return False          # a collection made no room: truly out of memory
        self._retry_at = key
        return True

    # ------------------------------------------------------------ collection

    def roots(self) -> list:
        """Every value the program holds outside the heap: the frames of every fiber
        (registers, closure environments, the state of builtins waiting in them), the
        scheduler's mailboxes, channels, results and queued calls, globals, constant
        strings, and what debuggers registered in `root_providers`. Conservative: any
        int is offered, and the collector ignores what is not an object's address."""
        out: list = []
        scan = _Scan(out)
        seen: set[int] = set()
        for fr in self._live_frames():
            if id(fr) in seen:
                continue
            seen.add(id(fr))
            scan.values(fr.regs)
            out.append(fr.env)
            pending = getattr(fr, "gen", None)
            if pending is not None:
                scan.value(pending[0])
        s = self.sched
        for f in s.fibers:
            out.append(f.state_obj)
            if f.mailbox:
                for m in f.mailbox:
                    scan.values(m.values)
            if f.current_msg is not None:
                scan.values(f.current_msg.values)
            for _, args, env in f.calls:
                scan.values(args)
                out.append(env)
        for ch in s.channels:
            for m in ch.queue:
                scan.values(m.values)
        for c in s.completions:
            scan.value(c.value)
        for fut in s.futures:
            scan.values(fut.args)
        for p in s.pools:
            for _, clo in p.jobs:
                out.append(clo)
        for m in s.messages:
            scan.values(m.values)
        scan.values(self.globals)
        out.extend(self._strings.values())
        for provider in self.root_providers:
            scan.values(list(provider()))
        return out

    def _live_frames(self):
        for f in self.sched.fibers:
            fr = f.frame
            while fr is not None:
                yield fr
                fr = fr.parent
        fr = self.frame           # the debugger's calls hang below a fiber's frame
        while fr is not None:
            yield fr
            fr = fr.parent

    def collect(self, why: str = "allocation", full: bool | None = None) -> CollectStats:
        """A collection at a safepoint: minor (the young generation) unless the old one
        has grown enough, or `why` is not routine allocation (out of memory, a request),
        or --gc-stress asks for every other one to be full. With --gc-trace, one line
        on stderr."""
        heap = self.heap
        if full is None:
            self.collections += 1
            full = (why != "allocation" or heap.full_gc_due()
                    or (self.gc_stress and self.collections % 2 == 0))
        before = heap.in_use
        roots = self.roots()
        stats = heap.collect(roots) if full else heap.collect_young(roots)
        if self.free_sites:
            self._prune_free_sites()
        if self.zct or self.rc_slots:
            self._prune_rc()
        self.gc_seconds += stats.seconds
        self.gc_pauses.append(stats.seconds)
        if self.events is not None:
            self.events.gc("full" if full else "minor", why, before, heap.in_use,
                           stats.reclaimed_objects, stats.seconds)
        if self.gc_trace is not None:
            self.out.flush()
            kind = "full" if full else "minor"
            self.gc_trace.write(
                f"[gc] #{len(self.gc_pauses)} {kind} ({why}): {_size(before)} -> "
                f"{_size(heap.in_use)}, {stats.reclaimed_objects} objects freed, "
                f"pause {stats.seconds * 1000:.2f} ms\n")
        return stats

    # ------------------------------------------------------------ ref<T>

    def _unref(self, addr: int) -> None:
        """A ref<T> field or global stopped holding `addr`: one count less. At zero the
        object waits in the zero-count table for the next safepoint."""
        if self.heap.rc_count(addr) is not None and self.heap.drop_ref(addr) == 0:
            self.zct.add(addr)

    def release_zero_counts(self) -> int:
        """Deferred reference counting, at a safepoint: release every ref<T> object whose
        count is zero and that no frame, queue or global holds (the counts are of ref<T>
        fields and globals; registers are checked here instead of counted). Releasing an
        object drops the counts of the ref<T> fields it held. Returns how many were
        released; the ones still held wait for the next safepoint."""
        heap = self.heap
        held = {v for v in self.roots() if type(v) is int}
        keep = set()
        zct = self.zct
        released = 0
        while zct:
            addr = zct.pop()
            if heap.rc_count(addr) != 0:
                continue              # counted again, or already gone
            if addr in held:
                keep.add(addr)
                continue
            children = [heap.get_ptr(addr, s) for s in self.rc_slots.pop(addr, ())]
            heap.free(addr)
            self.free_sites[addr] = "its last ref<T> was dropped"
            released += 1
            for child in children:
                if child:
                    self._unref(child)
        self.zct = keep
        if released and self.gc_trace is not None:
            self.out.flush()
            self.gc_trace.write(f"[gc] ref: {released} objects released at count zero\n")
        return released

    def _prune_rc(self) -> None:
        """After a collection: forget reclaimed objects (their memory may be reused)."""
        heap = self.heap
        self.zct = {a for a in self.zct if heap.rc_count(a) is not None}
        for addr in [a for a in self.rc_slots if not heap.is_live(a)]:
            del self.rc_slots[addr]

    def _freed_at(self, addr: int | None) -> str:
        """` (freed at FILE:LINE)` for an object `free` released, else ''."""
        site = self.free_sites.get(addr) if addr is not None else None
        if site is None:
            return ""
        if isinstance(site, str):
            return f" ({site})"
        fn, pc = site
        row = fn.line_at(pc)
        return f" (freed at {fn.file}:{row.line if row is not None else fn.line})"

    def _prune_free_sites(self) -> None:
        """Forget the free sites of tombstones the collector reclaimed (their memory may
        hold another object now)."""
        heap = self.heap
        for addr in list(self.free_sites):
            try:
                alive = heap.header(addr).flags & FLAG_FREED
            except HeapError:
                alive = False
            if not alive:
                del self.free_sites[addr]

    def _as_panic(self, exc: BaseException) -> VynPanic | None:
        if isinstance(exc, VynPanic):
            return exc
        if isinstance(exc, HeapExhausted):
            return VynPanic("out of memory")
        if isinstance(exc, UseAfterFree):
            return VynPanic("use after free" + self._freed_at(exc.addr))
        if isinstance(exc, DanglingReference):
            return VynPanic("dangling reference: the object's scoped block has exited")
        if isinstance(exc, HeapError):
            return VynPanic(str(exc))
        if isinstance(exc, RecursionError):
            return VynPanic("stack overflow")
        return None

    def _unwind_info(self, p: VynPanic) -> None:
        if not p.frames:
            f = self.frame
            inner = True
            while f is not None:
                # Callers' pc is their return address: the call is the instruction before.
                p.frames.append((f.fn, f.pc if inner else max(0, f.pc - 1)))
                inner = False
                f = f.parent
            if self.hooks is not None and self.frame is not None and not getattr(
                    p, "reported", False):
                p.reported = True
                self.hooks.panic(self, self.frame, p)

    def _method(self, recv: int, name: str) -> int:
        """The function of method `name` of the class of `recv` (CALLM)."""
        d = self.types[self.desc_of_heap[self.heap.type_of(recv)]]
        fi = d.methods.get(name)
        if fi is None:
            raise VynPanic(f"`{d.name}` has no method `{name}`")
        return fi

    def _builtin_gen(self, ins: tuple, regs: list):
        fn = self.gen_builtins.get(ins[2])
        if fn is None:
            raise Unsupported(f"the builtin `{ins[2]}`")
        base = ins[3]
        return fn(self, regs[base:base + ins[4]], self.types[ins[5]])

    def _drive(self, frame: Frame, pending: tuple, value) -> int:
        """Resume the generator of a builtin that `frame` called, sending `value`.
        `pending` is (generator, destination register, pc after the CALLB). Returns DONE
        (the builtin returned: its value is in the register, frame.pc after the CALLB),
        PUSHED (it asked for a call: self.frame is the new frame) or BLOCK (it waits:
        the fiber is parked, frame.pc at the CALLB)."""
        gen, dst, after = pending
        try:
            req = gen.send(value)
        except HeapExhausted as e:
            e.in_generator = True     # it cannot be run again: no retry after a collection
            raise
        except StopIteration as done:
            frame.gen = None
            frame.regs[dst] = done.value
            frame.pc = after
            self.frame = frame
            return DONE
        frame.gen = pending
        if type(req) is rb.CallRequest:
            clo, args = req
            fi = self.heap.get_i64(clo, 0)
            if frame.depth >= self.max_depth:
                raise VynPanic("stack overflow")
            frame.pc = after
            f = Frame(self.functions[fi], self.codes[fi], list(args) + self.pads[fi], frame,
                      GEN_RETURN, clo, frame.depth + 1)
            self.frame = f
            if self.call_hooks is not None:
                self.call_hooks.call(self, f)
            return PUSHED
        frame.pc = after - 1
        self.frame = frame
        if self.nesting:
            frame.gen = None
            raise WouldBlock(req.what)
        self.sched.block(self.sched.current, req)
        if self.events is not None:
            self.events.fiber_block(self.sched.current, req)
        return BLOCK

    def _trap(self, frame: Frame, slot: int) -> tuple:
        if self.hooks is not None:
            self.hooks.trap(self, frame, slot)
        return self.original(frame.fn.index, frame.pc)

    def _interrupted(self, frame: Frame, pc: int) -> None:
        frame.pc = pc
        self.frame = frame
        self.interrupt[0] = False
        if self.hooks is not None:
            self.hooks.interrupted(self, frame)
            return
        raise Interrupted()

    def _cap_kinds(self, fn: bc.Function) -> list[int]:
        """Value kinds of a function's captures (from its variable table)."""
        kinds = self._capkinds.get(fn.index)
        if kinds is None:
            kinds = [K_INT] * fn.ncaptures
            for v in fn.vars:
                if v.kind == "capture" and v.reg < len(kinds):
                    kinds[v.reg] = K_PTR if v.cell else self.kinds[v.type_id]
            self._capkinds[fn.index] = kinds
        return kinds

    def _store(self, addr: int, slot: int, kind: int, v) -> None:
        self.reader.write_slot(addr, slot, kind, v)

    def _slow(self, op: int, ins: tuple, frame: Frame, regs: list, pc: int) -> int:
        """Less frequent instructions; returns the next pc."""
        heap = self.heap
        if op == bc.DIV or op == bc.MOD:
            a, b = regs[ins[2]], regs[ins[3]]
            if b == 0:
                raise VynPanic("division by zero")
            q = abs(a) // abs(b)
            if op == bc.DIV:
                v = -q if (a < 0) != (b < 0) else q
            else:
                r = abs(a) - q * abs(b)
                v = -r if a < 0 else r
            if not INT_MIN <= v <= INT_MAX:
                v = ((v - INT_MIN) & MASK64) + INT_MIN
            regs[ins[1]] = v
        elif op == bc.NEG:
            v = -regs[ins[2]]
            regs[ins[1]] = INT_MIN if v > INT_MAX else v
        elif op == bc.FMOD:
            a, b = regs[ins[2]], regs[ins[3]]
            regs[ins[1]] = math.fmod(a, b) if b != 0.0 else math.nan
        elif op == bc.FNEG:
            regs[ins[1]] = -regs[ins[2]]
        elif op in (bc.BAND, bc.BOR, bc.BXOR):
            a, b = regs[ins[2]], regs[ins[3]]
            v = a & b if op == bc.BAND else a | b if op == bc.BOR else a ^ b
            regs[ins[1]] = bool(v) if isinstance(a, bool) else v
        elif op == bc.SHL:
            v = (regs[ins[2]] << (regs[ins[3]] & 63)) & MASK64
            regs[ins[1]] = v - (1 << 64) if v > INT_MAX else v
        elif op == bc.SHR:
            regs[ins[1]] = regs[ins[2]] >> (regs[ins[3]] & 63)
        elif op == bc.BNOT:
            regs[ins[1]] = ~regs[ins[2]]
        elif op == bc.NOT:
            regs[ins[1]] = not regs[ins[2]]
        elif op == bc.WRAP:
            bits = ins[3]
            v = regs[ins[2]]
            if bits < 0:
                n = -bits
                v &= (1 << n) - 1
                if v >= 1 << (n - 1):
                    v -= 1 << n
            else:
                v &= (1 << bits) - 1
            regs[ins[1]] = v
        elif op == bc.VEQ:
            regs[ins[1]] = self.reader.equal(regs[ins[2]], regs[ins[3]], ins[4])
        elif op == bc.VCMP:
            c = self.reader.compare(regs[ins[2]], regs[ins[3]], ins[5])
            regs[ins[1]] = (c < 0, c <= 0, c > 0, c >= 0)[ins[4]]
        elif op == bc.SCAT:
            a = heap.read_bytes(regs[ins[2]]) if regs[ins[2]] else b""
            b = heap.read_bytes(regs[ins[3]]) if regs[ins[3]] else b""
            regs[ins[1]] = heap.alloc_bytes(self.heap_tid[self.string_tid], a + b)
        elif op == bc.NEW:
            d = self.types[ins[2]]
            base, n = ins[3], ins[4]
            addr = heap.alloc(self.heap_tid[d.id], n)
            kinds = d.heap[1]
            for i in range(n):
                v = regs[base + i]
                k = kinds[i]
                if k == 0:
                    heap.set_i64(addr, i, int(v) if v is not None else 0)
                elif k == 1:
                    heap.set_f64(addr, i, v)
                else:
                    heap.set_ptr(addr, i, v or 0)
            regs[ins[1]] = addr
        elif op == bc.CLOSURE:
            fi, base, n, tid = ins[2], ins[3], ins[4], ins[5]
            d = self.types[tid]
            addr = heap.alloc(self.heap_tid[tid], 1 + n)
            heap.set_i64(addr, 0, fi)
            kinds = d.heap[1]
            for i in range(n):
                v = regs[base + i]
                k = kinds[1 + i]
                if k == 0:
                    heap.set_i64(addr, 1 + i, int(v) if v is not None else 0)
                elif k == 1:
                    heap.set_f64(addr, 1 + i, v)
                else:
                    heap.set_ptr(addr, 1 + i, v or 0)
            regs[ins[1]] = addr
        elif op == bc.LOADENV:
            regs[ins[1]] = frame.env
        elif op == bc.CELLNEW:
            d = self.types[ins[3]]
            addr = heap.alloc(self.heap_tid[ins[3]], 1)
            self._store(addr, 0, d.size, regs[ins[2]])
            regs[ins[1]] = addr
        elif op == bc.VECNEW:
            regs[ins[1]] = rb.new_vec(self, [regs[ins[3] + i] for i in range(ins[4])],
                                      self.types[ins[2]])
        elif op == bc.ARRNEW:
            d = self.types[ins[2]]
            n = ins[4]
            addr = heap.alloc(self.heap_tid[d.id], n)
            k = self.kinds[d.elem]
            for i in range(n):
                self._store(addr, i, k, regs[ins[3] + i])
            regs[ins[1]] = addr
        elif op == bc.SETINDEX:
            rb.set_index(self, regs[ins[1]], regs[ins[2]], regs[ins[3]], self.types[ins[4]])
        elif op == bc.ITER:
            regs[ins[1]] = rb.iterate(self, regs[ins[2]], self.types[ins[3]])
        elif op == bc.RANGE:
            addr = heap.alloc(self.heap_tid[self.type_id("range", heap=(0, (0, 0, 0)))], 3)
            heap.set_i64(addr, 0, regs[ins[2]])
            heap.set_i64(addr, 1, regs[ins[3]])
            heap.set_i64(addr, 2, ins[4])
            regs[ins[1]] = addr
        elif op == bc.CAST:
            regs[ins[1]] = cast(regs[ins[2]], ins[3], ins[4])
        elif op == bc.GGET:
            regs[ins[1]] = self.globals[ins[2]]
        elif op == bc.GSET:
            self.globals[ins[1]] = regs[ins[2]]
        elif op == bc.PRINT:
            self._print(ins, regs)
        elif op == bc.DBG:
            where, text = ins[2]
            value = self.reader.format(regs[ins[1]], ins[3], nested=True)
            self.out.flush()
            self.err.write(f"[{where}] {text} = {value}\n")
        elif op == bc.TOSTR:
            regs[ins[1]] = self.new_string(self.reader.format(regs[ins[2]], ins[3]))
        elif op == bc.PANIC:
            raise VynPanic(self.reader.string(regs[ins[1]]))
        elif op == bc.PANICK:
            raise VynPanic(ins[1])
        elif op == bc.FREE:
            addr = regs[ins[1]]
            if addr:
                try:
                    heap.free(addr)
                except UseAfterFree:
                    raise VynPanic("double free" + self._freed_at(addr)) from None
                self.free_sites[addr] = (frame.fn, frame.pc)
        elif op == bc.REGION:
            regs[ins[1]] = heap.enter_region()
            if self.events is not None:
                self.events.region(True, regs[ins[1]], 0, 0)
        elif op == bc.ENDREGION:
            info = heap.exit_region(regs[ins[1]])
            if self.events is not None:
                self.events.region(False, info.region_id, info.objects, info.bytes)
            if self.gc_trace is not None:
                self.out.flush()
                self.gc_trace.write(f"[gc] region {info.region_id} released: {info.objects} "
                                    f"objects, {_size(info.bytes)}\n")
        elif op == bc.REFNEW:
            addr = regs[ins[2]]
            if addr and heap.make_rc(addr) == 0:
                self.zct.add(addr)
            regs[ins[1]] = addr
        elif op == bc.RCHOLD:
            obj = regs[ins[1]]
            v = heap.get_ptr(obj, ins[2])
            if v:
                heap.retain(v)
                self.rc_slots.setdefault(obj, set()).add(ins[2])
        elif op == bc.RCSETF:
            obj, slot, v = regs[ins[1]], ins[2], regs[ins[3]]
            old = heap.get_ptr(obj, slot)
            heap.set_ptr(obj, slot, v or 0)
            if v:
                heap.retain(v)
            self.rc_slots.setdefault(obj, set()).add(slot)
            if old:
                self._unref(old)
        elif op == bc.RCGSET:
            old, v = self.globals[ins[1]], regs[ins[2]]
            self.globals[ins[1]] = v
            if v:
                heap.retain(v)
            if old:
                self._unref(old)
        elif op == bc.UNSUPPORTED:
            raise Unsupported(ins[1])
        elif op in (bc.NOP, bc.SAFEPOINT):
            pass
        else:
            raise Unsupported(f"the instruction {bc.OPNAMES[op]}")
        return pc

    def type_id(self, kind: str, name: str | None = None, heap: tuple | None = None) -> int:
        """The id of the program's type of `kind` (and `name`), looked up once.

        With `heap`, a type the program lacks is added (a string or range the runtime must
        make although the program never names the type); otherwise a missing type is 0.
        """
        key = (kind, name)
        tid = self._type_ids.get(key)
        if tid is None:
            tid = next((d.id for d in self.types if d.kind == kind and
                        (name is None or d.name == name)), 0)
            if not tid and heap is not None:
                d = TypeDesc(len(self.types), name or kind, kind, heap=heap)
                self.types.append(d)
                self.heap_tid.append(self.heap.register_type(f"{d.name}#{d.id}", *heap))
                self.desc_of_heap[self.heap_tid[-1]] = d.id
                self.kinds.append(K_PTR)
                tid = d.id
            self._type_ids[key] = tid
        return tid

    def vec_type(self, elem_kind: str) -> TypeDesc:
        """The program's Vec type whose elements are of `elem_kind` (the result type of
        `split` or `chars`, which the checker made exist)."""
        key = ("vec", elem_kind)
        tid = self._type_ids.get(key)
        if tid is None:
            tid = next(d.id for d in self.types
                       if d.kind == "vec" and self.types[d.elem].kind == elem_kind)
            self._type_ids[key] = tid
        return self.types[tid]

    def option_type(self, elem_tid: int) -> TypeDesc | None:
        """The program's `Option<T>` for element type `elem_tid` (looked up once)."""
        if elem_tid not in self._option_types:
            found = None
            for d in self.types:
                if d.kind == "enum" and d.name.startswith("Option<") and d.variants:
                    some = self.types[d.variants[0]]
                    if some.fields and some.fields[0][1] == elem_tid:
                        found = d
                        break
            self._option_types[elem_tid] = found
        return self._option_types[elem_tid]

    def _print(self, ins: tuple, regs: list) -> None:
        fmt, base, n, tids, flags = ins[1], ins[2], ins[3], ins[4], ins[5]
        fmtv = self.reader.format
        vals = [regs[base + i] for i in range(n)]
        if fmt is None:
            fmt = self.reader.string(vals[0])
            vals, tids = vals[1:], tids[1:]
        out = []
        i = 0
        j = 0
        L = len(fmt)
        while i < L:
            c = fmt[i]
            if c == "{":
                if fmt.startswith("{{", i):
                    out.append("{")
                    i += 2
                    continue
                if fmt.startswith("{}", i):
                    out.append(fmtv(vals[j], tids[j]) if j < len(vals) else "{}")
                    j += 1
                    i += 2
                    continue
            elif c == "}" and fmt.startswith("}}", i):
                out.append("}")
                i += 2
                continue
            out.append(c)
            i += 1
        if flags & 1:
            out.append("\n")
        text = "".join(out)
        if flags & 2:
            self.out.flush()
            self.err.write(text)
        else:
            self.out.write(text)


class _Scan:
    """Collects the ints inside register values: lists, tuples, and the locals of
    generators (a builtin waiting or iterating holds heap values there)."""

    __slots__ = ("out",)

    def __init__(self, out: list):
        self.out = out

    def values(self, values) -> None:
        for v in values:
            self.value(v)

    def value(self, v) -> None:
        t = type(v)
        if t is int:
            self.out.append(v)
        elif t is list or t is tuple:
            self.values(v)
        elif t is GeneratorType:
            frame = v.gi_frame
            if frame is not None:
                self.values(frame.f_locals.values())


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1 << 20):.1f} MiB"


def cast(v, src: int, dst: int):
    """`as` conversions between Int (0), Float (1), Bool (2) and Char/Rune (3) codes."""
    if dst == 1:
        return float(v)
    if dst == 0 or dst == 3:
        if src == 1:
            if math.isnan(v):
                return 0
            if math.isinf(v):
                return INT_MAX if v > 0 else INT_MIN
            r = int(v)
            return max(INT_MIN, min(INT_MAX, r))
        r = int(v)
        if dst == 3:
            return r & 0x1FFFFF if r >= 0 else 0xFFFD
        return r
    if dst == 2:
        return bool(v)
    return v


__all__ = ["VM", "Frame", "VMHooks", "cast"]
