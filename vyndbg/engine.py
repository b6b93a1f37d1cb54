"""The debugger engine: a Session drives one program in a VM thread and returns data.

The program runs in its own thread; the engine's calls (run, cont, step, ...) resume it
and block until it stops again, returning a StopEvent. Breakpoints patch BREAKPOINT
opcodes into the VM's code, so the program runs at full interpreter speed until one is
hit. Every stepping mode is one StepCondition read by one predicate, `_should_stop`
(as bdb's stop_here). State is per Session: several sessions can coexist.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from compiler import bytecode as bc
from compiler.bytecode import Program
from runtime import sched as rs
from runtime.errors import Killed, RuntimeFailure, Unsupported, VynPanic
from runtime.heap_errors import HeapError
from runtime.run import panic_text
from runtime.vm import VM, Frame, VMHooks, WouldBlock
from vyndbg import locations
from vyndbg.conditions import FALLBACK, pure_evaluator
from vyndbg.control import WATCH_KINDS, FlowControl, at_closing_line, closing_start
from vyndbg.evaluate import Scope, TypedValue
from vyndbg.exprs import ExprCompiler
from vyndbg.exprs import compile_debug_expression as compile_expression
from vyndbg.fibers import FiberViews
from vyndbg.heapview import HeapViews
from vyndbg.model import (
    BadArgumentError,
    Breakpoint,
    CallError,
    DebugError,
    EvaluationError,
    FiberInfo,
    FrameDetail,
    FrameInfo,
    FunctionInfo,
    Instruction,
    Location,
    LocationError,
    MemoryAccessError,
    NoBreakpointError,
    NoFrameError,
    NoProcessError,
    NoSymbolError,
    NotAllowedError,
    NotSupportedError,
    Output,
    RunState,
    SourceLine,
    StopEvent,
    StopReason,
    Tier,
    UnavailableError,
    ValueInfo,
    Variable,
)
from vyndbg.native_views import NativeViews

_NUMBERS = (int, float, bool)
EXPANDABLE = ("struct", "tuple", "vec", "array", "enum")
PRINT_ELEMENTS = 200     # elements of a collection shown in a value's text (gdb's default)
# `set scheduler-locking`: gdb's modes (replay means off: there is no recording to replay).
LOCKING_MODES = ("off", "on", "step", "replay")


@dataclass
class _Bp:
    number: int
    kind: str
    sites: tuple[tuple[int, int], ...]
    location: Location | None
    function: str = ""
    enabled: bool = True
    condition: str | None = None
    compiled: object = None
    hits: int = 0
    ignore: int = 0
    temporary: bool = False
    expression: str = ""
    dprintf_args: list = field(default_factory=list)
    thread: int | None = None    # `break LOC thread N`
    # watchpoints
    scope_frame: object = None
    old: TypedValue | None = None
    old_text: str = ""
    slot: int | None = None      # a native frame's local: the register its memory holds
    address: int | None = None   # `break *ADDRESS` (native code; no bytecode sites)

    def public(self) -> Breakpoint:
        return Breakpoint(self.number, self.kind, self.enabled, self.location, self.function,
                          self.condition, self.hits, self.ignore, self.temporary,
                          self.expression, self.sites, self.thread, self.address)


# Modes that stop in the caller when the frame they started in returns.
_STEPPING = frozenset({"step", "next", "until", "stepi", "nexti", "advance", "until_loc",
                       "access"})


@dataclass
class StepCondition:
    """What a resume waits for. mode: continue | step | next | until | finish | stepi |
    nexti | advance | until_loc (`until LOC`: like advance, but LOC counts only in the
    starting frame or a frame outside it)."""

    mode: str = "continue"
    frame: object = None         # the frame stepping started in
    depth: int = 0
    line: int = 0
    fn: int = -1
    pc: int = 0
    sites: set = field(default_factory=set)     # (fn, pc) patched for this step
    return_site: tuple | None = None            # caller's resume site after the frame returns
    returned: object = None                     # finish: (value, tid)
    finished: FrameInfo | None = None
    fiber: object = None         # the fiber it steps (a stop reached by another does not count)
    key: float = 0               # until: where the current statement is (control.until_keys)


class _Stream:
    """A file-like object the VM writes program output to."""

    def __init__(self, session: Session, name: str):
        self.session = session
        self.name = name

    def write(self, text: str) -> int:
        self.session._output(Output(self.name, text))
        return len(text)

    def flush(self) -> None:
        pass


class _Killed(Exception):
    pass


class _OutputClosed(Exception):
    """The front end could not take the program's output (a closed pipe)."""


class Session(FiberViews, HeapViews, FlowControl, NativeViews):
    """One debugging session over a compiled program.

    Every fiber (main, tasks, actors, threads) is a thread as gdb sees threads: one is
    selected (`select_thread`; after a stop, the one that stopped), and frames, variables,
    expressions and stepping are those of the selected fiber. The heap view (heap_info,
    regions, read_memory, object_at, path_to, collect, address_of) is in
    vyndbg/heapview.py.

    gc_trace, gc_stress: as `vyn run --gc-trace` (one line per collection and region
    release, on the program's standard error) and `--gc-stress` (collect at every
    safepoint)."""

    def __init__(self, program: Program, *, argv: list[str] | None = None,
                 on_output: Callable[[Output], None] | None = None,
                 heap_limit: int | None = None, max_depth: int | None = None,
                 gc_trace: bool = False, gc_stress: bool = False,
                 events: Callable | None = None, jit=None):
        self.program = program
        # `vyn debug --jit=auto|eager`: a runtime.jit.JitOptions; compiled functions run
        # inside unicorn (runtime/jit_unicorn.py, vyndbg/native_views.py).
        self.jit_options = jit if jit is not None and jit.mode != "off" else None
        self.jit_mode = self.jit_options.mode if self.jit_options is not None else "off"
        self.disassembly_flavor = "att"
        self.argv = list(argv or [])
        self.on_output = on_output
        self.heap_limit = heap_limit
        self.max_depth = max_depth
        self.gc_trace = gc_trace
        self.gc_stress = gc_stress
        # `vyn debug --trace/--profile`: makes the event sink (a trace recorder) for the
        # VM of the first run, which it records (runtime/events.py).
        self.events = events
        self.outputs: list[Output] = []
        self._exprs: ExprCompiler | None = None
        self._static: VM | None = None    # runs expressions when no program is running
        self.output_closed = False   # the front end's output pipe closed: stop everything
        self._bps: dict[int, _Bp] = {}
        self._next_bp = 1
        self.vm: VM | None = None
        self._thread: threading.Thread | None = None
        self._stopq: queue.Queue = queue.Queue()
        self._resumeq: queue.Queue = queue.Queue()
        self.state = RunState()
        self.selected = 0            # the selected frame's level, in the selected fiber
        self._fiber_sel = 0          # the selected fiber's id (0: no program)
        self._resumed_thread = 1     # the fiber selected when the program was resumed
        self.scheduler_locking = "replay"
        self._step = StepCondition()
        self._patched: set[tuple[int, int]] = set()
        self._evaluating = False
        # Breakpoint conditions: (id(condition), fn, pc, innermost) -> _fast_condition's
        self._fast_conditions: dict[tuple, tuple] = {}
        self._last_fn = -1
        self.pid = os.getpid()
        self.runs = 0
        self._init_heap_views()

    # ------------------------------------------------------------ output

    def _output(self, out: Output) -> None:
        if self.on_output is None:
            self.outputs.append(out)
            return
        if self.output_closed:
            raise _OutputClosed()
        try:
            self.on_output(out)
        except BrokenPipeError:
            # The reader went away (`vyn debug P --batch -ex run | head`): stop the
            # program; the front end's next engine call raises BrokenPipeError.
            self.output_closed = True
            raise _OutputClosed() from None

    def take_output(self) -> list[Output]:
        out, self.outputs = self.outputs, []
        return out

    # ------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        """The program exists (started and not exited), stopped or not."""
        return self.state.state in ("running", "stopped")

    def _need_process(self) -> None:
        if self.state.state != "stopped":
            raise NoProcessError("The program is not being run.")

    # ------------------------------------------------------------ breakpoints

    def break_at(self, spec: str, condition: str | None = None, temporary: bool = False,
                 thread: int | None = None) -> Breakpoint:
        """`break LOC [thread N] [if COND]` / `tbreak LOC`. With `thread`, the breakpoint
        stops only in that fiber, which must exist (gdb: "Unknown thread N.")."""
        if thread is not None:
            self._fiber_obj(thread)
        compiled = compile_expression(condition) if condition else None
        if spec.startswith("*"):
            address = self.address_spec(spec[1:])
            location, function = self.native_location(address)
            bp = _Bp(self._next_bp, "breakpoint", (), location, function, condition=condition,
                     compiled=compiled, temporary=temporary, thread=thread, address=address)
        else:
            r = locations.resolve(self.program, spec, self.current_location())
            bp = _Bp(self._next_bp, "breakpoint", r.sites, r.location, r.function,
                     condition=condition, compiled=compiled, temporary=temporary,
                     thread=thread)
        self._next_bp += 1
        self._bps[bp.number] = bp
        self._sync()
        return bp.public()

    def dprintf(self, spec: str, fmt: str, args: list[str]) -> Breakpoint:
        r = locations.resolve(self.program, spec, self.current_location())
        compiled = [compile_expression(a) for a in args]
        bp = _Bp(self._next_bp, "dprintf", r.sites, r.location, r.function, expression=fmt,
                 dprintf_args=compiled)
        bp.condition = None
        self._next_bp += 1
        self._bps[bp.number] = bp
        self._sync()
        return bp.public()

    def watch(self, expr: str) -> Breakpoint:
        """`watch EXPR`: stop when its value changes (software watchpoint)."""
        compiled = compile_expression(expr)
        bp = _Bp(self._next_bp, "watchpoint", (), None, expression=expr, compiled=compiled)
        if self.state.state == "stopped":
            frame = self._frame(self.selected)
            value = compiled(Scope(self, frame))
            bp.old = value
            bp.old_text = self._text(value)
            local = self._is_local_expr(expr, frame)
            bp.scope_frame = frame if local else None
            fns = [frame.fn.index] if local else range(len(self.program.functions))
            bp.sites = tuple((fi, row.pc) for fi in fns
                             for row in self.program.functions[fi].lines if row.is_stmt)
            bp.slot = self._watched_slot(expr, frame) if local else None
        else:
            raise NoProcessError("Cannot watch an expression before the program runs; use "
                                 "`start` first.")
        self._next_bp += 1
        self._bps[bp.number] = bp
        self._sync()
        return bp.public()

    def _is_local_expr(self, expr: str, frame: Frame) -> bool:
        names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr)
        return any(self.frame_variable(frame, n) is not None for n in names)

    def breakpoints(self) -> list[Breakpoint]:
        return [b.public() for b in sorted(self._bps.values(), key=lambda b: b.number)]

    def _get(self, number: int) -> _Bp:
        bp = self._bps.get(number)
        if bp is None:
            raise NoBreakpointError(f"No breakpoint number {number}.", number=number)
        return bp

    def delete(self, numbers: list[int] | None = None) -> None:
        for n in list(self._bps) if numbers is None else numbers:
            self._get(n)
            del self._bps[n]
        self._sync()

    def enable(self, numbers: list[int] | None = None, enabled: bool = True) -> None:
        for n in list(self._bps) if numbers is None else numbers:
            self._get(n).enabled = enabled
        self._sync()

    def disable(self, numbers: list[int] | None = None) -> None:
        self.enable(numbers, False)

    def condition(self, number: int, expr: str | None) -> Breakpoint:
        bp = self._get(number)
        bp.compiled = compile_expression(expr) if expr else None
        bp.condition = expr or None
        self._forget_site_tests()
        return bp.public()

    def ignore(self, number: int, count: int) -> Breakpoint:
        bp = self._get(number)
        bp.ignore = max(0, count)
        return bp.public()

    def _sync(self) -> None:
        """Make the VM's patches match enabled breakpoints and step sites."""
        want: set[tuple[int, int]] = set(self._step.sites)
        for bp in self._bps.values():
            if bp.enabled:
                want.update(bp.sites)
        vm = self.vm
        if vm is None:
            self._patched = set()
            return
        for site in self._patched - want:
            vm.unpatch(*site)
        for site in want - self._patched:
            vm.patch(site[0], site[1], 0)
        self._patched = want
        needs_calls = self._step.mode in _STEPPING or self._step.mode == "finish" or any(
            b.kind in WATCH_KINDS and b.scope_frame is not None for b in self._bps.values())
        vm.set_step_hooks(self._hooks if needs_calls else None)
        self._sync_native(needs_calls)

    # ------------------------------------------------------------ running

    def run(self, argv: list[str] | None = None) -> StopEvent:
        """Start the program from the beginning (killing a running one)."""
        if self.running:
            self.kill()
        if argv is not None:
            self.argv = list(argv)
        stderr = _Stream(self, "stderr")
        self.vm = VM(self.program, stdout=_Stream(self, "stdout"), stderr=stderr,
                     heap_limit=self.heap_limit, max_depth=self.max_depth, argv=self.argv,
                     gc_stress=self.gc_stress, gc_trace=stderr if self.gc_trace else None)
        # What the debugger and its front ends hold stays alive across collections (the
        # values of an earlier run are in another heap).
        self.vm.root_providers.append(self._pinned_values)
        self._forget_pins()
        self._hooks = _Hooks(self)
        self.vm.hooks = self._hooks
        if self.jit_options is not None:
            self._attach_jit()
        if self.events is not None:
            self.vm.attach_events(self.events(self.vm))
            self.events = None          # a recorder records one run: the first
        self.vm.sched.keep_history = True     # `info messages`
        self._patched = set()
        self._step = StepCondition()
        for bp in self._bps.values():
            if bp.kind in WATCH_KINDS and bp.scope_frame is not None:
                bp.enabled = False
        self._sync()
        self.runs += 1
        self.state = RunState("running")
        self._last_fn = -1
        self._fiber_sel = 0
        self._resumed_thread = 1      # gdb: the program starts in its main thread
        self._thread = threading.Thread(target=self._thread_main, name="vyn-program",
                                        daemon=True)
        self._thread.start()
        return self._wait()

    def _attach_jit(self) -> None:
        from runtime.jit import attach

        options = self.jit_options.replace(runner="unicorn", stats=None, perf_map=False,
                                           jitdump=False)
        try:
            jit = attach(self.vm, options)
        except Exception as e:        # noqa: BLE001 - the bytecode still runs
            self._output(Output("stderr", f"vyn: native code cannot run under the debugger "
                                          f"({e}); running bytecode only\n"))
            return
        self.vm.jit = jit
        self.vm.natives = jit.natives

    def start(self, argv: list[str] | None = None) -> StopEvent:
        """`start`: a temporary breakpoint on main, then run."""
        if self.program.entry < 0:
            raise UnavailableError('No symbol table is loaded.  Use the "file" command.')
        main = self.program.functions[self.program.entry]
        self.break_at(main.name, temporary=True)
        return self.run(argv)

    def _thread_main(self) -> None:
        vm = self.vm
        code: int | None = 0
        reason = StopReason.EXITED
        try:
            try:
                vm.run_main()
            except VynPanic as p:
                self._output(Output("stderr", panic_text(p)))
                code = 101
            except (_Killed, Killed):
                code = None
                reason = StopReason.KILLED
            except Unsupported as u:
                self._output(Output("stderr", f"vyn: this program uses {u.what}, which the "
                                              "debugger does not support yet.\n"))
                code = 2
            except _OutputClosed:
                raise
            except BaseException as e:  # noqa: BLE001 - the program thread must always report
                self._output(Output("stderr", f"vyn: internal error in the program thread: "
                                              f"{type(e).__name__}: {e}\n"))
                code = 2
        except _OutputClosed:
            code = 141           # as a process killed by SIGPIPE
        finally:
            # Whatever happened, the front end waiting for a stop gets one.
            vm.frame = None
            if getattr(vm.jit, "reports_calls", False):
                vm.jit.close()          # its code and stacks (runtime/jit_unicorn.py)
            self._stopq.put(StopEvent(reason, exit_code=code))

    def _wait(self) -> StopEvent:
        ev = self._stopq.get()
        if self.output_closed:
            self.state = RunState("exited", ev, ev.exit_code)
            raise BrokenPipeError("the program's output was closed")
        if ev.reason in (StopReason.EXITED, StopReason.KILLED):
            self.state = RunState("exited" if ev.reason is StopReason.EXITED else "idle",
                                  ev, ev.exit_code)
            self._step = StepCondition()
            for bp in list(self._bps.values()):
                if bp.kind in WATCH_KINDS and bp.scope_frame is not None:
                    bp.enabled = False
            self._patched = set()      # the VM that held the patches is gone
        else:
            self.state = RunState("stopped", ev)
            self.selected = 0
            self._fiber_sel = ev.fiber.id if ev.fiber is not None else 0
            if self.vm is not None:
                self.vm.sched.lock = None
        return ev

    def _resume(self, step: StepCondition) -> StopEvent:
        self._need_process()
        self._step = step
        self._sync()
        mode = self.scheduler_locking
        locked = mode == "on" or (mode == "step" and step.mode != "continue")
        self.vm.sched.lock = self._selected_fiber() if locked else None
        # A fiber other than the one that stopped must run at once: end its slice.
        self.vm.end_slice = locked and self.vm.sched.lock is not self.vm.sched.current
        self._resumed_thread = self._fiber_sel
        self.state.state = "running"
        self._resumeq.put("go")
        return self._wait()

    def cont(self, count: int = 1) -> StopEvent:
        """`continue [N]`: N means ignore the current breakpoint N-1 more times."""
        self._need_process()
        ev = self.state.last_stop
        if count > 1 and ev is not None and ev.breakpoint is not None:
            self.ignore(ev.breakpoint.number, count - 1)
        return self._resume(StepCondition())

    def _here(self) -> Frame:
        """The innermost frame of the selected fiber, where stepping starts."""
        self._need_process()
        fiber = self._selected_fiber()
        frame = self._top(fiber)
        if frame is None:
            raise NoFrameError("Cannot execute this command without a live selected thread.",
                               level=0, thread=fiber.id)
        return frame

    def _line_of(self, frame: Frame) -> int:
        row = frame.fn.line_at(frame.pc)
        return row.line if row is not None else 0

    def _stmt_sites(self, fi: int) -> set:
        return {(fi, row.pc) for row in self.program.functions[fi].lines if row.is_stmt}

    def step(self, count: int = 1) -> StopEvent:
        return self._repeat(count, "step")

    def next(self, count: int = 1) -> StopEvent:
        return self._repeat(count, "next")

    def stepi(self, count: int = 1) -> StopEvent:
        return self._repeat(count, "stepi")

    def nexti(self, count: int = 1) -> StopEvent:
        return self._repeat(count, "nexti")

    def _repeat(self, count: int, mode: str) -> StopEvent:
        ev = None
        moved = False           # some step of the count ended in a new frame
        for _ in range(max(1, count)):
            ev = self._step_once(mode)
            if ev.reason is not StopReason.STEP:
                break
            moved = moved or bool(ev.new_frame)
        if moved and ev.reason is StopReason.STEP and not ev.new_frame:
            ev = dataclasses.replace(ev, new_frame=True)
        return ev

    def _step_once(self, mode: str, target: tuple | None = None) -> StopEvent:
        frame = self._here()
        if mode in ("stepi", "nexti") and self.is_native(frame):
            return self._machine_step(mode, frame)
        fi = frame.fn.index
        cond = StepCondition(mode, frame, frame.depth, self._line_of(frame), fi, frame.pc)
        cond.fiber = self._selected_fiber()
        if mode in ("stepi", "nexti"):
            cond.sites = {(fi, pc) for pc in range(len(frame.fn.code)) if pc != frame.pc}
        else:
            cond.sites = self._stmt_sites(fi)
        cond.key = self.until_key(frame.fn, frame.pc)
        self._arm_return(cond, frame)
        return self._resume(cond)

    def _arm_return(self, cond: StepCondition, frame: Frame) -> None:
        parent = frame.parent
        if parent is not None:
            site = (parent.fn.index, parent.pc)
            cond.return_site = site
            cond.sites.add(site)

    def finish(self) -> StopEvent:
        """`finish`: run until the selected frame returns."""
        frame = self._frame(self.selected)
        if frame.parent is None:
            raise NotAllowedError('"finish" not meaningful in the outermost frame.',
                                  command="finish", reason="outermost-frame")
        cond = StepCondition("finish", frame, frame.depth, 0, frame.fn.index, frame.pc)
        cond.fiber = self._selected_fiber()
        cond.finished = self._frame_info(frame, self.selected)
        self._arm_return(cond, frame)
        return self._resume(cond)

    def until(self, spec: str | None = None) -> StopEvent:
        """`until`: `next` that does not go back in a loop. `until LOC`: run to LOC in the
        current frame (deeper calls, recursive ones included, pass it by) or until the
        frame returns."""
        if spec:
            return self.advance(spec, mode="until_loc")
        return self._step_once("until")

    def advance(self, spec: str, mode: str = "advance") -> StopEvent:
        """`advance LOC`: run to LOC, in any frame, or until the current frame returns."""
        frame = self._here()
        r = locations.resolve(self.program, spec, self.current_location())
        cond = StepCondition(mode, frame, frame.depth, 0, frame.fn.index, frame.pc)
        cond.fiber = self._selected_fiber()
        cond.sites = set(r.sites)
        self._arm_return(cond, frame)
        return self._resume(cond)

    def interrupt(self) -> None:
        """Stop a running program where it is, or abandon a call of one of its functions
        that an expression made (thread-safe; Ctrl-C)."""
        if self.vm is not None and (self.state.state == "running" or self._evaluating):
            self.vm.interrupt[0] = True

    def kill(self) -> None:
        if self.state.state == "stopped":
            self._resumeq.put("kill")
            self._wait()
        elif self.state.state == "running":
            self.interrupt()
            ev = self._stopq.get()
            if ev.reason not in (StopReason.EXITED, StopReason.KILLED):
                self._resumeq.put("kill")
                self._wait()
        self.state = RunState("idle")
        self.vm = None

    # ------------------------------------------------------------ VM-thread side

    def _block(self, ev: StopEvent) -> None:
        """In the program thread: report a stop and wait for the next command."""
        jit = self._native_jit()
        if jit is not None:
            jit.note_stop()
        self._stopq.put(ev)
        cmd = self._resumeq.get()
        if cmd == "kill":
            raise _Killed()

    def _stop_event(self, reason: StopReason, frame: Frame, **kw) -> StopEvent:
        info = self._frame_info(frame, 0)
        changed = frame.fn.index != self._last_fn
        self._last_fn = frame.fn.index
        fiber = self._stopped_fiber_info()
        return StopEvent(reason, info, function_changed=changed, fiber=fiber,
                         fiber_changed=fiber is not None and fiber.id != self._resumed_thread,
                         **kw)

    def _stopped_fiber_info(self) -> FiberInfo | None:
        """In the program thread at a stop: the fiber that stopped, as it will be selected."""
        cur = self.vm.sched.current
        if cur is None:
            return None
        saved, self._fiber_sel = self._fiber_sel, cur.id
        try:
            return self._fiber_info(cur)
        finally:
            self._fiber_sel = saved

    def _in_step_fiber(self) -> bool:
        """Whether the fiber running is the one the current step is about."""
        want = self._step.fiber
        return want is None or self.vm.sched.current is want

    def _should_stop(self, frame: Frame, site: tuple[int, int]) -> bool:
        """The one predicate: does the current step condition stop at this trap?"""
        c = self._step
        mode = c.mode
        if mode == "continue":
            return False
        if c.fiber is not None and self.vm.sched.current is not c.fiber:
            return False        # frames and depths are per fiber; gdb steps one thread
        depth = frame.depth
        if site == c.return_site and depth < c.depth:
            if mode in ("next", "step", "until") and \
                    not self.is_statement_start(frame.fn, frame.pc):
                # Back in the middle of the caller's line: as gdb, step on to a new line.
                self._step_in_caller(c, frame)
                return False
            return True
        if site not in c.sites:
            return False
        if mode in ("stepi", "access"):
            return True
        if mode in ("return", "jump"):
            return False
        if mode == "nexti":
            return depth <= c.depth
        if mode == "step":
            return depth != c.depth or frame is not c.frame or self._line_of(frame) != c.line
        if mode == "next":
            return depth < c.depth or (depth == c.depth and self._line_of(frame) != c.line)
        if mode == "until":
            # gdb: a line whose code comes after the current line's (control.until_keys).
            return depth < c.depth or (depth == c.depth and self._line_of(frame) != c.line
                                       and self.until_key(frame.fn, frame.pc) > c.key)
        if mode == "advance" or (mode == "until_loc" and depth <= c.depth):
            # The caller's resume site counts only once the frame has returned: a
            # recursive call returning there at the same depth is not the frame's return.
            return site != c.return_site or depth < c.depth
        return False

    def _step_in_caller(self, c: StepCondition, frame: Frame) -> None:
        """The frame a step started in returned into the middle of `frame`'s line: go on
        stepping there, as if the step had started on that line."""
        c.frame = frame            # c.fn stays the function the step started in
        c.depth = frame.depth
        c.pc = frame.pc
        c.line = self._line_of(frame)
        c.key = self.until_key(frame.fn, frame.pc)
        c.sites.discard(c.return_site)       # mid-line: not a place to stop at again
        c.return_site = None
        c.sites |= self._stmt_sites(frame.fn.index)
        self._arm_return(c, frame)
        self._sync()

    def _on_trap(self, frame: Frame) -> None:
        if self._evaluating:
            return
        jit = self._native_jit()
        if jit is not None and jit.repeats(frame):
            return
        site = (frame.fn.index, frame.pc)
        if self._flow_trap(frame, site):
            return
        reported = False            # an access just before this instruction was reported
        if self._step.mode == "access" and self._should_stop(frame, site):
            ev = self._access_event(frame)
            if ev is not None:
                self._block(ev)
                reported = True
        stop_bp: _Bp | None = None
        cur = self.vm.sched.current
        for bp in sorted(self._bps.values(), key=lambda b: b.number):
            if not bp.enabled or site not in bp.sites or (
                    reported and bp.kind not in WATCH_KINDS):
                continue
            if bp.thread is not None and (cur is None or cur.id != bp.thread):
                continue
            if bp.kind == "watchpoint":
                ev = self._check_watch(bp, frame)
                if ev is not None:
                    self._block(ev)
                    return
                continue
            if bp.kind in WATCH_KINDS:
                continue              # rwatch/awatch: below, once the stops are done
            if self._counts(bp, frame) and stop_bp is None:
                stop_bp = bp
        if stop_bp is not None:
            self._stop_at_breakpoint(stop_bp, frame)
        elif not reported and self._should_stop(frame, site):
            c = self._step
            self._step = StepCondition()
            self._sync()
            if c.mode == "finish":
                self._block(self._stop_event(StopReason.FINISH, frame, returned=c.returned,
                                             finished=c.finished))
            else:
                # gdb shows the frame unless the step ends in its frame and function.
                self._block(self._stop_event(StopReason.STEP, frame, new_frame=(
                    frame is not c.frame or frame.fn.index != c.fn)))
        # The instruction runs now: a read or access watchpoint on it (set before or
        # during the stop) stops after it.
        if self._forced is None and self._jumping is None:
            accesses = [bp for bp in self._bps.values() if bp.kind in WATCH_KINDS and
                        bp.kind != "watchpoint" and bp.enabled and site in bp.sites and
                        (bp.thread is None or (cur is not None and cur.id == bp.thread))]
            if accesses:
                self._check_accesses(sorted(accesses, key=lambda b: b.number), frame, site)

    def _counts(self, bp: _Bp, frame: Frame) -> bool:
        """A breakpoint or dprintf reached in `frame`: test its condition, count the hit,
        use up its ignore count, print a dprintf. Whether it stops the program."""
        if bp.compiled is not None and bp.kind == "breakpoint":
            try:
                ok = self._condition_holds(bp.compiled, frame)
            except DebugError as e:
                self._output(Output("dprintf", f"Error in testing condition for "
                                               f"breakpoint {bp.number}:\n{e}\n"))
                ok = True
            if not ok:
                return False
        bp.hits += 1
        if bp.ignore > 0:
            bp.ignore -= 1
            return False
        if bp.kind == "dprintf":
            self._output(Output("dprintf", self._dprintf_text(bp, frame)))
            return False
        return True

    def _condition_holds(self, compiled, frame: Frame) -> bool:
        """A breakpoint's condition in `frame`, true or false; raises DebugError as
        evaluating it does. A pure condition (vyndbg/conditions.py) seen at this place
        before runs on the frame's values directly, without a call into the VM; anything
        it cannot do, and the first test at each place, is evaluated the ordinary way."""
        vm = self.vm
        key = (id(compiled), frame.fn.index, frame.pc, frame is vm.frame)
        fast = self._fast_conditions.get(key)
        if fast is not None and fast[0] is compiled and fast[1] is vm:
            run = fast[3]
            if run is not None and not (self.state.state == "stopped" and self._fiber_sel):
                args = self._condition_args(frame, fast[2])
                if args is not None and self._may_call(vm):
                    value = run(args)
                    if value is not FALLBACK:
                        return bool(value)
            return bool(self._eval_in(compiled, frame).value)
        ok = bool(self._eval_in(compiled, frame).value)
        self._fast_conditions[key] = self._fast_condition(compiled, vm, frame)
        self._forget_site_tests()
        return ok

    def _forget_site_tests(self) -> None:
        jit = self._native_jit()
        if jit is not None:
            jit.forget_site_tests()

    def _native_site_test(self, fi: int, pc: int):
        """For native code (runtime/jit_unicorn.py): how to know, before a frame is built,
        that a hit of site (fi, pc) in an innermost native frame would change nothing.
        None, unless every breakpoint there is an ordinary one whose condition is pure
        and was tested there once (`_condition_holds`); else (registers, test):
        `test(values of those registers, an upper bound of the frame's depth)` is true
        when the program is running on (`continue`), nothing but breakpoints is at the
        site, and every condition is false, exactly as `_on_trap` would find."""
        vm = self.vm
        site = (fi, pc)
        conds = []
        for bp in self._bps.values():
            if not bp.enabled or site not in bp.sites:
                continue
            if bp.kind != "breakpoint" or bp.thread is not None or bp.compiled is None:
                return None
            fast = self._fast_conditions.get((id(bp.compiled), fi, pc, True))
            if fast is None or fast[0] is not bp.compiled or fast[1] is not vm or \
                    fast[3] is None or any(reg is None for reg, _ in fast[2]):
                return None
            conds.append((tuple(reg for reg, _ in fast[2]), fast[3]))
        if not conds:
            return None
        regs = sorted({r for rs, _ in conds for r in rs})
        where = {r: i for i, r in enumerate(regs)}
        plan = tuple((tuple(where[r] for r in rs), run) for rs, run in conds)
        max_depth = vm.max_depth
        numbers = _NUMBERS

        def quiet(depth_bound: int) -> bool:
            """Nothing but the breakpoints wants this trap, and a call could be made."""
            return self._step.mode == "continue" and not self._evaluating and \
                self._forced is None and self._jumping is None and \
                depth_bound < max_depth and \
                not (self.state.state == "stopped" and self._fiber_sel)

        if len(plan) == 1 and plan[0][0] == tuple(range(len(regs))):
            run = plan[0][1]             # one condition (the usual case): its own values

            def test(values: list, depth_bound: int) -> bool:
                for a in values:
                    if type(a) not in numbers:
                        return False
                if self._step.mode != "continue" or self._evaluating or \
                        self._forced is not None or self._jumping is not None or \
                        depth_bound >= max_depth or \
                        (self.state.state == "stopped" and self._fiber_sel):
                    return False                # as quiet(depth_bound)
                value = run(values)
                return value is not FALLBACK and not value
            return tuple(regs), test

        def test_all(values: list, depth_bound: int) -> bool:
            for a in values:
                if type(a) not in numbers:
                    return False
            if not quiet(depth_bound):
                return False
            for index, run in plan:
                value = run([values[i] for i in index])
                if value is FALLBACK or value:
                    return False
            return True
        return tuple(regs), test_all

    def _fast_condition(self, compiled, vm, frame: Frame) -> tuple:
        """(condition, vm, variables, evaluator or None) for `compiled` at `frame`'s
        place, from the plan its first evaluation there made (vyndbg/exprs.py)."""
        plans = getattr(compiled, "_plans", None)
        plan = plans.get((id(vm), frame.fn.index, frame.pc, frame is vm.frame)) \
            if plans is not None and "$" not in compiled.text else None
        if plan is None or plan[0] is not vm:
            return (compiled, vm, (), None)
        _, variables, loaded = plan
        fi = loaded.function
        fn = vm.functions[fi]
        run = pure_evaluator(vm.codes[fi], fn.nparams, fn.nregs, vm.heap)
        simple = tuple(None if v.kind == "capture" or v.cell else v.reg for v in variables)
        return (compiled, vm, tuple(zip(simple, variables, strict=True)), run)

    def _condition_args(self, frame: Frame, variables: tuple) -> list | None:
        """The values of a condition's variables in `frame` (None: one is not a plain
        number, Bool or reference, or cannot be read: the ordinary path says why)."""
        regs = frame.regs
        out = []
        try:
            for reg, v in variables:
                raw = regs[reg] if reg is not None and reg < len(regs) else \
                    self._read_var(frame, v).value
                if type(raw) not in _NUMBERS:
                    return None
                out.append(raw)
        except Exception:                 # noqa: BLE001 - read again on the ordinary path
            return None
        return out

    @staticmethod
    def _may_call(vm) -> bool:
        """Whether a call from the debugger could start here without overflowing the
        stack (call_function's test); a native frame bounds its depth without unwinding."""
        top = vm.frame
        if top is None:
            return True
        at_most = getattr(top, "depth_at_most", None)
        depth = at_most() if at_most is not None else top.depth
        return depth + 1 <= vm.max_depth

    def _stop_at_breakpoint(self, bp: _Bp, frame: Frame) -> None:
        public = bp.public()
        if bp.temporary:
            del self._bps[bp.number]
        self._step = StepCondition()
        self._sync()
        self._block(self._stop_event(StopReason.BREAKPOINT, frame, breakpoint=public))

    def _check_watch(self, bp: _Bp, frame: Frame) -> StopEvent | None:
        if bp.scope_frame is not None and frame is not bp.scope_frame:
            return None
        try:
            value = self._eval_in(bp.compiled, frame)
        except DebugError:
            return None
        text = self._text(value)
        if text == bp.old_text:
            return None
        old = ValueInfo(self._type_name(bp.old.tid), bp.old_text) if bp.old else None
        bp.old, bp.old_text = value, text
        bp.hits += 1
        self._step = StepCondition()
        self._sync()
        return self._stop_event(StopReason.WATCHPOINT, frame, breakpoint=bp.public(),
                                old_value=old, new_value=self.value_info(value))

    def _on_call(self, frame: Frame) -> None:
        c = self._step
        if not self._in_step_fiber():
            return
        if c.mode == "step" and frame.fn.lines:
            new = self._stmt_sites(frame.fn.index) - c.sites
            if new:
                c.sites |= new
                self._sync()
        elif c.mode == "stepi":
            self._step = StepCondition()
            self._sync()
            self._block(self._stop_event(StopReason.STEP, frame, new_frame=True))
        elif c.mode == "access":
            ev = self._access_event(frame)
            if ev is not None:
                self._block(ev)

    def _on_ret(self, frame: Frame, value) -> None:
        if self._forced is not None:
            return              # `return`: control.FlowControl ends it
        c = self._step
        if c.mode == "finish" and frame is c.frame:
            c.returned = self.value_info(TypedValue(value, frame.fn.ret_type))
        for bp in list(self._bps.values()):
            if bp.kind in WATCH_KINDS and bp.scope_frame is frame:
                del self._bps[bp.number]
                self._sync()
                parent = frame.parent
                if parent is not None:
                    self._step = StepCondition("advance", parent, parent.depth, 0,
                                               parent.fn.index, parent.pc)
                    self._step.fiber = self.vm.sched.current
                    self._step.sites = {(parent.fn.index, parent.pc)}
                    self._step.return_site = None
                    self._sync()
                self._output(Output("dprintf", f"\nWatchpoint {bp.number} deleted because "
                                               "the program has left the block in\nwhich its "
                                               "expression is valid.\n"))
        if c.mode in _STEPPING and \
                frame is c.frame and frame.parent is not None:
            # Stepping out of the function: stop in the caller after the call.
            c.return_site = (frame.parent.fn.index, frame.parent.pc)
            c.sites.add(c.return_site)
            self._sync()

    def _on_panic(self, frame: Frame, error: VynPanic) -> None:
        if self._evaluating:
            return
        self._step = StepCondition()
        self._sync()
        if getattr(error, "fiber", None) is None:
            error.fiber = self.vm.sched.current    # as the scheduler sets it when it unwinds
        self._block(self._stop_event(StopReason.PANIC, frame, message=error.message,
                                     report=panic_text(error)))

    def _on_deadlock(self, error: rs.Deadlock) -> None:
        """Every fiber left is blocked: stop in the first of them (vm.sched.current)."""
        self._step = StepCondition()
        self._sync()
        self._block(self._stop_event(StopReason.DEADLOCK, self.vm.frame, message=error.message,
                                     report=panic_text(error)))

    def _on_interrupt(self, frame: Frame) -> None:
        if self._evaluating:
            # Unwinds the call; call_in_program puts the stopped program back as it was.
            raise CallError("Interrupted while in a function called from the debugger; "
                            "the call was abandoned.", reason="interrupted")
        self._step = StepCondition()
        self._sync()
        self._block(self._stop_event(StopReason.INTERRUPT, frame))

    def _dprintf_text(self, bp: _Bp, frame: Frame) -> str:
        values = []
        for c in bp.dprintf_args:
            try:
                v = self._eval_in(c, frame)
                values.append(self.vm.reader.format(v.value, v.tid))
            except DebugError as e:
                values.append(f"<{e}>")
        return c_format(bp.expression, values)

    # ------------------------------------------------------------ fibers (threads)

    def _selected_fiber(self) -> rs.Fiber:
        """The selected fiber of the stopped program."""
        self._need_process()
        return self._fiber_obj(self._fiber_sel)

    @property
    def selected_thread(self) -> int:
        """The selected fiber's id, as gdb's current thread (0 when no program is stopped)."""
        return self._fiber_sel if self.state.state == "stopped" else 0

    def select_thread(self, n: int) -> FiberInfo:
        """gdb's `thread N`: select fiber N and its innermost frame; frames, variables,
        expressions and stepping then work in it. DebugError "Unknown thread N."."""
        f = self._fiber_obj(n)
        self._fiber_sel = f.id
        self.selected = self._shown_top(f)[0]
        return self._fiber_info(f)

    def set_scheduler_locking(self, mode: str) -> None:
        """`set scheduler-locking off|on|step|replay`: while the program is resumed, run
        only the selected fiber (on: always; step: for step, next, finish, until, advance,
        stepi, nexti; off and replay: never). Other fibers still run while it is blocked."""
        if mode not in LOCKING_MODES:
            raise BadArgumentError(f'Undefined item: "{mode}".', argument="scheduler-locking",
                                   value=mode)
        self.scheduler_locking = mode

    # ------------------------------------------------------------ frames and values

    def _frame(self, level: int) -> Frame:
        fiber = self._selected_fiber()
        f = self._top(fiber)
        if f is None:     # an idle actor, a finished task
            raise NoFrameError("No stack.", level=level, thread=fiber.id)
        for _ in range(level):
            if f is None:
                break
            f = f.parent
        if f is None:
            raise NoFrameError(f"No frame at level {level}.", level=level, thread=fiber.id)
        return f

    @staticmethod
    def _pc_for(frame: Frame, level: int) -> int:
        return frame.pc if level == 0 else max(0, frame.pc - 1)

    def _frame_info(self, frame: Frame, level: int) -> FrameInfo:
        pc = self._pc_for(frame, level)
        row = frame.fn.line_at(pc)
        loc = Location(frame.fn.file, row.line, row.col) if row is not None else None
        args = tuple(v for v in self._variables(frame, level, params=True))
        tier = self.frame_tier(frame)
        return FrameInfo(level, frame.fn.name, loc, pc, tier, args, frame.fn.index,
                         frame.address if tier is Tier.NATIVE else 0)

    def frames(self, limit: int | None = None) -> list[FrameInfo]:
        """The selected fiber's call stack, innermost first (empty when it has none)."""
        out = []
        f = self._top(self._selected_fiber())
        level = 0
        while f is not None and (limit is None or level < limit):
            if f.fn.name != "<globals>":
                out.append(self._frame_info(f, level))
            f = f.parent
            level += 1
        return out

    def depth(self) -> int:
        """How many frames the selected fiber has."""
        n = 0
        f = self._top(self._selected_fiber()) if self.state.state == "stopped" else None
        while f is not None:
            n += 1
            f = f.parent
        return n

    def select_frame(self, level: int) -> FrameInfo:
        frame = self._frame(level)
        self.selected = level
        return self._frame_info(frame, level)

    def selected_frame(self) -> FrameInfo:
        return self._frame_info(self._frame(self.selected), self.selected)

    def frame_detail(self, level: int | None = None) -> FrameDetail:
        """`info frame` (the selected frame) and `info frame LEVEL` (another, which gdb
        describes without its level): DebugError `No frame at level N.`."""
        explicit = level is not None and level != self.selected
        level = self.selected if level is None else level
        f = self._frame(level)
        info = self._frame_info(f, level)
        caller = self._frame_info(f.parent, level + 1) if f.parent else None
        return FrameDetail(info, caller, level - 1 if level > 0 else None,
                           f.fn.nregs, len(self._variables(f, level, params=False)),
                           f.fn.file, explicit)

    def frame_of_function(self, name: str) -> int:
        """`frame function NAME`: the level of the innermost frame running NAME."""
        funcs = locations.find_functions(self.program, name)
        if not funcs:
            raise NoSymbolError(f'Function "{name}" not defined.', name=name, kind="function")
        wanted = {f.index for f in funcs}
        for frame in self.frames():
            if frame.function_index in wanted:
                return frame.level
        raise NoFrameError(f'No frame for function "{name}".', function=name,
                           thread=self._fiber_sel or None)

    def current_location(self) -> Location | None:
        if self.state.state == "stopped":
            try:
                return self.selected_frame().location
            except DebugError:
                return None
        return None

    def _live_vars(self, frame: Frame, level: int) -> list[bc.VarEntry]:
        pc = self._pc_for(frame, level)
        best: dict[str, bc.VarEntry] = {}
        # At the closing `}` (the return), the function's outermost variables are still
        # in scope, as in C; their ranges end where that statement starts.
        closing = closing_start(frame.fn) if at_closing_line(frame.fn, pc) else None
        for v in frame.fn.vars:
            if v.kind == "capture" or v.start <= pc < v.end or (
                    closing is not None and v.start <= pc and v.end >= closing):
                old = best.get(v.name)
                if old is None or v.start >= old.start:
                    best[v.name] = v
        return list(best.values())

    def _read_var(self, frame: Frame, v: bc.VarEntry) -> TypedValue:
        vm = self.vm
        if v.kind == "capture":
            kinds = vm._cap_kinds(frame.fn)
            raw = vm.reader.read_slot(frame.env, 1 + v.reg, kinds[v.reg]) if frame.env else None
        else:
            raw = frame.regs[v.reg] if v.reg < len(frame.regs) else None
            if getattr(raw, "optimized_out", False):     # native code (--jit-tier 2)
                raise EvaluationError("value has been optimized out")
        if v.cell and raw:
            raw = vm.reader.read_slot(raw, 0, vm.kinds[v.type_id])
        return TypedValue(raw, v.type_id)

    def _level_of(self, frame: Frame) -> int:
        """The level of `frame` in its fiber's stack (0 when it is not found)."""
        tops = [self.vm.frame]
        if self.state.state == "stopped" and self._fiber_sel:
            tops.insert(0, self._top(self._fiber_obj(self._fiber_sel)))
        for f in tops:
            level = 0
            while f is not None and f is not frame:
                f = f.parent
                level += 1
            if f is frame:
                return level
        return 0

    def frame_variable(self, frame: Frame, name: str) -> TypedValue | None:
        level = self._level_of(frame)
        for v in self._live_vars(frame, level):
            if v.name == name:
                return self._read_var(frame, v)
        return None

    def _variables(self, frame: Frame, level: int, params: bool) -> list[Variable]:
        out = []
        for v in sorted(self._live_vars(frame, level), key=lambda v: (v.kind != "param", v.reg)):
            if (v.kind == "param") != params:
                continue
            try:
                raw = frame.regs[v.reg] if v.kind != "capture" and v.reg < len(frame.regs) \
                    else None
                if getattr(raw, "optimized_out", False):
                    out.append(Variable(v.name, ValueInfo(self._type_name(v.type_id),
                                                          "<optimized out>"), v.kind))
                    continue
                tv = self._read_var(frame, v)
                out.append(Variable(v.name, self.value_info(tv), v.kind))
            except (HeapError, RuntimeFailure):
                out.append(Variable(v.name, ValueInfo(self._type_name(v.type_id),
                                                      "<invalid>"), v.kind))
        return out

    def locals(self, shadowed: bool = False) -> list[Variable]:
        """The selected frame's local variables, innermost block first; with `shadowed`,
        also those an inner variable of the same name hides (gdb's `info locals`)."""
        if shadowed:
            return self.shadowed_locals()
        f = self._frame(self.selected)
        order: dict[str, int] = {}
        for i, v in enumerate(self.block_locals(f, self.selected)):
            order.setdefault(v.name, i)
        found = [v for v in self._variables(f, self.selected, params=False)
                 if v.kind != "param"]
        return sorted(found, key=lambda v: order.get(v.name, len(order)))

    def args(self) -> list[Variable]:
        f = self._frame(self.selected)
        return self._variables(f, self.selected, params=True)

    def _type_name(self, tid: int) -> str:
        d = self.program.types[tid] if 0 <= tid < len(self.program.types) else None
        if d is None:
            return "?"
        if d.kind == "variant":
            return self.program.types[d.parent].name
        return d.name

    def _text(self, tv: TypedValue) -> str:
        try:
            return self.vm.reader.format(tv.value, tv.tid, nested=True,
                                         limit=self.print_elements)
        except (HeapError, RuntimeFailure) as e:
            return f"<{e}>"

    def value_info(self, tv: TypedValue) -> ValueInfo:
        """A value as front ends show it. A heap value carries its address, and stays
        alive across collections while the ValueInfo does (HeapViews._pinned_values)."""
        d = self.program.types[tv.tid]
        count = 0
        ref = None
        if d.kind in EXPANDABLE and tv.value:
            try:
                count = self._child_count(tv)
                ref = tv if count else None
            except (HeapError, RuntimeFailure):
                count = 0
        addr = self.heap_address(tv.value) if self.vm.kinds[tv.tid] == bc.K_PTR else 0
        info = ValueInfo(self._type_name(tv.tid), self._text(tv), ref, count, addr)
        return self._hand_out(info) if addr else info

    def _child_count(self, tv: TypedValue) -> int:
        vm = self.vm
        d = self.program.types[tv.tid]
        if d.kind in ("vec", "array"):
            return vm.reader.length(tv.value, d)
        if d.kind == "enum":
            return len(vm.reader.variant_of(tv.value).fields)
        return len(d.fields)

    def _children(self, tv: TypedValue, start: int = 0, stop: int | None = None
                  ) -> list[tuple[str, TypedValue]]:
        vm = self.vm
        d = self.program.types[tv.tid]
        if d.kind in ("vec", "array"):
            return [(f"[{start + i}]", TypedValue(x, d.elem))
                    for i, x in enumerate(vm.reader.items(tv.value, d, start, stop))]
        if d.kind == "struct" or d.kind == "tuple":
            return [(name, TypedValue(vm.reader.read_slot(tv.value, i, vm.kinds[t]), t))
                    for i, (name, t) in enumerate(d.fields)]
        if d.kind == "enum":
            v = vm.reader.variant_of(tv.value)
            return [(str(i), TypedValue(vm.reader.read_slot(tv.value, 1 + i, vm.kinds[t]), t))
                    for i, (_, t) in enumerate(v.fields)]
        if d.kind in ("vec", "array"):
            return [(f"[{i}]", TypedValue(x, d.elem))
                    for i, x in enumerate(vm.reader.items(tv.value, d))]
        return []

    def children(self, ref: object, start: int = 0, count: int | None = None) -> list[Variable]:
        """Fields or elements of an expandable value (lazily, a page at a time)."""
        if not isinstance(ref, TypedValue):
            return []
        d = self.program.types[ref.tid]
        if d.kind in ("vec", "array"):
            kids = self._children(ref, start, None if count is None else start + count)
        else:
            kids = self._children(ref)
            kids = kids[start:] if count is None else kids[start:start + count]
        return [Variable(name, self.value_info(tv), "field") for name, tv in kids]

    # ------------------------------------------------------------ expressions

    def _eval_in(self, compiled, frame: Frame) -> TypedValue:
        try:
            return compiled(Scope(self, frame))
        except DebugError:
            raise
        except (HeapError, RuntimeFailure) as e:
            raise MemoryAccessError(f"Cannot access memory: {e}") from None

    def evaluate(self, expr: str) -> ValueInfo:
        """`print EXPR` in the selected frame; `print &EXPR` is `address_of(EXPR)`."""
        if expr.lstrip().startswith("&"):
            return self.address_of(expr)
        m = re.fullmatch(r"\s*sizeof\s*\((.+)\)\s*", expr)
        if m:
            return ValueInfo("Int", str(self.size_of(m.group(1))))
        with self._static_program():
            return self.value_info(self.evaluate_typed(expr))

    def size_of(self, text: str) -> int:
        """gdb's `sizeof(TYPE)` / `sizeof(EXPR)`: the bytes a value of the type occupies
        where it is stored: 8 for a number, Bool, Char or a reference in a register or a
        slot; for a class, tuple or enum variant the heap object it refers to (a 16-byte
        header and 8 bytes a field)."""
        tid = self.type_named(text)
        if tid is None:
            with self._static_program():
                tid = self.evaluate_typed(text).tid
        d = self.program.types[tid]
        if d.kind in ("struct", "tuple", "variant") and d.heap is not None:
            return 16 + 8 * len(d.heap[1])
        return 8

    def expr_compiler(self) -> ExprCompiler:
        """The compiler of this session's expressions (vyndbg/exprs.py)."""
        if self._exprs is None:
            self._exprs = ExprCompiler(self.program)
        return self._exprs

    def evaluate_typed(self, expr: str) -> TypedValue:
        compiled = compile_expression(expr)
        if self.state.state != "stopped":
            # gdb evaluates what needs no frame in a static binary: `print 1 + 2`,
            # `print fib(10)`. The program's functions run in a VM of their own.
            if "$" in expr:
                raise NoProcessError("The program is not being run.")
            with self._static_program():
                return self._eval_in(compiled, None)
        return self._eval_in(compiled, self._frame(self.selected))

    @contextmanager
    def _static_program(self):
        """While no program is stopped, `self.vm` is a VM of the program that has run
        only its globals' initializer, for expressions that need no frame."""
        if self.state.state == "stopped":
            yield
            return
        vm = self._static
        if vm is None:
            vm = VM(self.program, stdout=_Stream(self, "stdout"),
                    stderr=_Stream(self, "stderr"), heap_limit=self.heap_limit,
                    max_depth=self.max_depth, argv=self.argv)
            vm.sched.current = vm.sched.new_fiber("main")
            self._static = vm
            if self.program.init >= 0:
                saved = self.vm
                self.vm = vm
                try:
                    self.call_in_program(self.program.init, [])
                finally:
                    self.vm = saved
        saved = self.vm
        self.vm = vm
        try:
            yield
        finally:
            self.vm = saved

    def whatis(self, expr: str) -> str:
        """`whatis EXPR`, or `whatis TYPE` (gdb accepts a type name too)."""
        return self._type_name(self._type_of(expr))

    def ptype(self, expr: str) -> str:
        return self.describe_type(self._type_of(expr))

    def _type_of(self, expr: str) -> int:
        tid = self.type_named(expr)
        if tid is not None:
            return tid
        return self.evaluate_typed(expr).tid

    def type_named(self, text: str) -> int | None:
        """The type a type name names (`Light`, `Pair<Int, Int>`, `Vec<String>`), or None
        when `text` is not the name of one of the program's types."""
        text = " ".join(text.split())
        if not re.fullmatch(r"[A-Za-z_][\w:]*(<.*>)?|\(.*\)", text):
            return None
        ec = self.expr_compiler()
        for d in self.program.types:
            if d.kind in ("variant", "vecdata", "closure", "cell", "opaque"):
                continue
            if d.name == text or ec.type_text(d.id) == text:
                return d.id
        return None

    def describe_type(self, tid: int) -> str:
        d = self.program.types[tid]
        if d.kind == "variant":
            d = self.program.types[d.parent]
        if d.kind == "struct":
            body = "".join(f"    var {n}: {self._type_name(t)}\n" for n, t in d.fields)
            methods = "".join(f"    fn {m}(...)\n" for m in sorted(d.methods))
            return f"class {d.name} {{\n{body}{methods}}}"
        if d.kind == "enum":
            vs = []
            for vid in d.variants:
                v = self.program.types[vid]
                payload = ", ".join(self._type_name(t) for _, t in v.fields)
                vs.append(f"    {v.name}({payload})" if v.fields else f"    {v.name}")
            return f"enum {d.name} {{\n" + ",\n".join(vs) + "\n}"
        return d.name

    def call_in_program(self, fidx: int, args: list):
        """Run one of the program's functions for an expression; breakpoints inside are
        not reported (as gdb with `set unwindonsignal on`)."""
        vm = self.vm
        saved_frame = vm.frame
        saved_current = vm.sched.current
        parent = saved_frame
        if self.state.state == "stopped" and self._fiber_sel:
            # The call runs in the selected fiber (its sends come from it), below its frames.
            fiber = self._fiber_obj(self._fiber_sel)
            parent = self._top(fiber)
            vm.sched.current = fiber
        saved_step = self._step
        self._evaluating = True
        self._step = StepCondition()
        saved_calls = vm.step_hooks
        vm.set_step_hooks(None)
        saved_events = vm.events          # the debugger's own calls are not the program's:
        if saved_events is not None:      # a trace recorder does not see them
            vm.attach_events(None)
        try:
            return vm.call_function(fidx, args, 0, parent)
        except WouldBlock as w:
            raise CallError(f"The called function would have to wait ({w.what}); a function "
                            "called from the debugger cannot wait for other threads.",
                            reason="would-block", detail=str(w.what)) from None
        except VynPanic as p:
            raise CallError(f"The program being debugged panicked while in a function "
                            f"called from the debugger: {p.message}.", reason="panic",
                            detail=p.message) from None
        except Unsupported as u:
            raise CallError(f"The called function uses {u.what}, which is not supported.",
                            reason="unsupported", detail=str(u.what)) from None
        finally:
            vm.frame = saved_frame
            vm.sched.current = saved_current
            self._step = saved_step
            if saved_events is not None:
                vm.attach_events(saved_events)
            vm.set_step_hooks(saved_calls)
            self._evaluating = False

    def set_var(self, target: str, expr: str) -> ValueInfo:
        """`set var NAME = EXPR` (also `obj.field = EXPR`, `v[i] = EXPR`)."""
        frame = self._frame(self.selected)
        value = self.evaluate_typed(expr)
        target = target.strip()
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", target):
            for v in self._live_vars(frame, self.selected):
                if v.name == target:
                    self._coerce_check(v.type_id, value, expr)
                    if v.kind == "capture" or v.cell:
                        holder = frame.regs[v.reg] if v.kind != "capture" else \
                            self.vm.reader.read_slot(frame.env, 1 + v.reg, bc.K_PTR)
                        if v.cell:
                            self.vm._store(holder, 0, self.vm.kinds[v.type_id], value.value)
                        else:
                            raise NotSupportedError(
                                f"Cannot assign to the captured value `{target}`.",
                                command="set var")
                    elif v.reg in getattr(frame, "readonly", ()):
                        raise NotSupportedError(
                            f"Cannot set `{target}`: optimized native code keeps it in a "
                            "register or nowhere (debug with --jit-tier 1).",
                            command="set var")
                    else:
                        frame.regs[v.reg] = value.value
                    return self.value_info(TypedValue(value.value, v.type_id))
            for i, (gname, tid) in enumerate(self.program.globals):
                if gname == target:
                    self.vm.globals[i] = value.value
                    return self.value_info(TypedValue(value.value, tid))
            raise NoSymbolError(f'No symbol "{target}" in current context.', name=target,
                                kind="variable")
        m = re.fullmatch(r"(.+)\.([A-Za-z_][A-Za-z0-9_]*)", target)
        if m:
            obj = self.evaluate_typed(m.group(1))
            d = self.program.types[obj.tid]
            for i, (fname, t) in enumerate(d.fields):
                if fname == m.group(2):
                    self._coerce_check(t, value, expr)
                    self.vm._store(obj.value, i, self.vm.kinds[t], value.value)
                    return self.value_info(TypedValue(value.value, t))
            raise NoSymbolError(f"There is no member named {m.group(2)}.", name=m.group(2),
                                kind="member", type_name=d.name)
        m = re.fullmatch(r"(.+)\[(.+)\]", target)
        if m:
            from runtime import builtins as rb
            obj = self.evaluate_typed(m.group(1))
            idx = self.evaluate_typed(m.group(2))
            d = self.program.types[obj.tid]
            try:
                rb.set_index(self.vm, obj.value, idx.value, value.value, d)
            except VynPanic as p:
                raise EvaluationError(p.message[0].upper() + p.message[1:] + ".",
                                      expression=target) from None
            return self.value_info(TypedValue(value.value, d.elem))
        raise EvaluationError("Left operand of assignment is not an lvalue.", expression=target)

    def _coerce_check(self, tid: int, value: TypedValue, expr: str) -> None:
        want = self.program.types[tid]
        got = self.program.types[value.tid]
        if want.kind != got.kind and not (want.kind == "enum" and got.kind == "variant"):
            raise EvaluationError(f"Cannot assign a value of type {got.name} to a variable of "
                                  f"type {want.name}.", expression=expr)

    # ------------------------------------------------------------ program and sources

    def source_lines(self, file: str, start: int, end: int) -> list[SourceLine]:
        text = self.program.sources.get(file)
        if text is None:
            file = locations.file_of(self.program, file)
            text = self.program.sources[file]
        lines = text.split("\n")
        if text.endswith("\n"):
            lines = lines[:-1]
        stmt_lines = {row.line for f in self.program.functions if locations.same_file(f.file, file)
                      for row in f.lines if row.is_stmt}
        start = max(1, start)
        end = min(len(lines), end)
        return [SourceLine(n, lines[n - 1], n in stmt_lines) for n in range(start, end + 1)]

    def line_count(self, file: str) -> int:
        text = self.program.sources[locations.file_of(self.program, file)]
        return text.count("\n") + (0 if text.endswith("\n") else 1)

    def default_file(self) -> str:
        return locations.default_file(self.program)

    def functions(self, regex: str | None = None) -> list[FunctionInfo]:
        """`info functions [REGEXP]`: each function and each template instance once, under
        its own name, with its signature (control.FlowControl.declaration). The
        debugger's own expression functions are not the program's."""
        pat = re.compile(regex) if regex else None
        out = {}
        for f in self.program.functions:
            if f.name.startswith(("<", "__vyn_eval__")) or f.name in out:
                continue
            if pat is None or pat.search(f.name):
                out[f.name] = FunctionInfo(f.name, f.file, f.line, f.index,
                                           self.declaration(f))
        return sorted(out.values(), key=lambda f: (f.file, f.name))

    def resolve(self, spec: str) -> locations.Resolved:
        return locations.resolve(self.program, spec, self.current_location())

    def line_info(self, spec: str) -> tuple[Location, list[tuple[str, int, int]]]:
        """`info line LOC`: the location and (function, start pc, end pc) ranges. For a
        function, its opening line, whose code is what runs before its first statement
        (as gdb names the line of a C function's prologue); for a line without code, the
        code after it, as an empty range."""
        spec = spec.strip()
        m = re.fullmatch(r"(?:(.+):)?(\d+)", spec)
        try:
            r = self.resolve(spec)
        except LocationError as e:
            if m and e.line is not None:      # `No line N in file "F".`
                file = locations.file_of(self.program, m.group(1)) if m.group(1) else \
                    (self.current_location() or Location(self.default_file(), 0)).file
                raise LocationError(f'Line number {m.group(2)} is out of range for "{file}".',
                                    location=spec, file=file, line=int(m.group(2))) from None
            raise
        if m is None and spec:
            f = self.program.functions[r.sites[0][0]]
            first = locations.function_entry(f)
            return Location(f.file, f.line), [(f.name, 0, first)]
        asked = int(m.group(2)) if m else r.location.line
        ranges = []
        for fi, pc in r.sites:
            f = self.program.functions[fi]
            if asked != r.location.line:
                ranges.append((f.name, pc, pc))
                break
            end = len(f.code)
            for row in f.lines:
                if row.pc > pc and row.line != r.location.line:
                    end = row.pc
                    break
            ranges.append((f.name, pc, end))
        return Location(r.location.file, asked), ranges

    def disassemble(self, name: str | None = None) -> tuple[str, list[Instruction]]:
        if name:
            funcs = locations.find_functions(self.program, name)
            if not funcs:
                raise NoSymbolError(f'No symbol "{name}" in current context.', name=name,
                                    kind="function")
            f = funcs[0]
            cur = None
            if self.state.state == "stopped":
                fr = self._frame(self.selected)
                if fr.fn.index == f.index:
                    cur = self._pc_for(fr, self.selected)
        else:
            if self.state.state != "stopped":
                raise NoProcessError("No frame selected.")
            fr = self._frame(self.selected)
            f = fr.fn
            cur = self._pc_for(fr, self.selected)
        code = self.vm.codes[f.index] if self.vm is not None else f.code
        out = []
        stmt = {row.pc for row in f.lines if row.is_stmt}
        for pc, ins in enumerate(f.code):
            row = f.line_at(pc)
            patched = self.vm is not None and code[pc][0] == bc.BREAKPOINT
            out.append(Instruction(pc, bc.OPNAMES[ins[0]], ", ".join(str(x) for x in ins[1:]),
                                   Location(f.file, row.line, row.col) if row else None,
                                   pc in stmt, pc == cur, patched and (f.index, pc) in {
                                       s for b in self._bps.values() if b.enabled
                                       for s in b.sites}))
        return f.name, out


class _Hooks(VMHooks):
    def __init__(self, session: Session):
        self.s = session

    def trap(self, vm, frame, slot):
        self.s._on_trap(frame)

    def call(self, vm, frame):
        self.s._on_call(frame)

    def ret(self, vm, frame, value):
        self.s._on_ret(frame, value)

    def panic(self, vm, frame, error):
        self.s._on_panic(frame, error)

    def interrupted(self, vm, frame):
        self.s._on_interrupt(frame)

    def native_step(self, vm, frame):
        self.s._on_native_step(frame)

    def native_watch(self, vm, frame, number):
        self.s._on_native_watch(frame, number)

    def native_break(self, vm, frame, numbers):
        self.s._on_native_break(frame, numbers)

    def deadlock(self, vm, error):
        self.s._on_deadlock(error)


def c_format(fmt: str, values: list[str]) -> str:
    """printf-style formatting for dprintf: %d %s %f %x %c %% take the next value."""
    out = []
    it = iter(values)
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            j = i + 1
            while j < len(fmt) and fmt[j] in "-+ #0123456789.l":
                j += 1
            if j < len(fmt):
                conv = fmt[j]
                if conv == "%":
                    out.append("%")
                else:
                    out.append(next(it, ""))
                i = j + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


__all__ = ["Session", "StepCondition", "c_format"]
