"""The JIT: native code for hot functions, run in-process through MCJIT (docs/native.md).

`vyn run --jit=off|auto|eager`. With `auto` (the default) a function is compiled when its
calls plus loop back-edges reach a threshold; `eager` compiles every function it can
before `main` runs; the native code an image carries (`vyn build`) is used as it is.
Compilation is `compiler/native.py`, the backend `vyn build` uses (not the front end):
an object file, loaded into one MCJIT engine per VM.

The interpreter enters native code in two places (runtime/vm.py):
- a call (`NativeFn.call`): instead of pushing a bytecode frame;
- a loop back-edge (`NativeFn.loop`): on-stack replacement, entering the function's OSR
  copy at the loop header with the frame's registers.
Native code leaves in three ways: it returns a value (a call); or it *deoptimizes*: each
native frame hands its pc and registers to `vyn_rt_frame`, innermost first, and this
module rebuilds them as bytecode frames (`_materialize`) for the interpreter to go on
with, because the slice ended (the scheduler switches fibers at exactly the reductions
the interpreter would), because an instruction must be run by the interpreter (a panic:
the interpreter raises it, with its message and backtrace; a builtin that may wait or
call back into Vyn code: a side exit, after which the frame goes on in bytecode), or
because a helper raised.

The helpers native code calls (C functions made from ctypes callbacks, registered once
per process with `llvm.add_symbol`; the context word CTX_ID says which JIT they serve):
`vyn_rt_poll`, `vyn_rt_frame`, `vyn_rt_exec`, `vyn_rt_call`, `vyn_rt_remember`, and for
traced code `vyn_rt_trace`.

Call events (docs/native.md, "Call events"): when the VM's event sink wants calls (`vyn
run --trace`), every function is compiled with enter/exit records written to a buffer
the context points at (cycle counts, in the trace file's call-column layout); the buffer
is drained (`_trace_drain`: cycle counts to the trace's nanoseconds, then the sink's
`native_calls`) when it is full and whenever native code hands control back.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from time import perf_counter_ns

from compiler import bytecode as bc
from compiler.bytecode import K_BOOL, K_FLOAT, K_INT, K_PTR, K_UNIT
from runtime.heap_layout import FLAG_FREE_BLOCK, HEADER_SIZE
from runtime.heap_layout import HEADER as _FREE_HEADER

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import TextIO

OFF, AUTO, EAGER = "off", "auto", "eager"
MODES = (OFF, AUTO, EAGER)
DEFAULT_THRESHOLD = 1000      # calls + loop back-edges before a function is compiled
TLAB_BYTES = 512 << 10         # heap bump space lent to native code at a time (records)
TLAB_MIN_FREE = 32 << 10       # a free block lent instead when one has at least this
# Helpers that may allocate, collect or run the interpreter: the lent run is taken back
# around them.
_ALLOCATING = frozenset({"poll", "exec_instruction", "interpret_call"})
NATIVE_SECTION = ".vyn.native"
TRACE_BUFFER_WORDS = 1 << 16  # traced code's record buffer (512 KiB): drained when full


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


NOT_RUN = _Marker("NOT_RUN")    # native code was not entered: interpret as usual
EXITED = _Marker("EXITED")      # native code deoptimized: go on with Jit.frame


class JitOptions:
    """The JIT's options (`vyn run --jit...`). A plain class, as the other records `vyn
    run` needs at every start: importing dataclasses costs about 8 ms there."""

    def __init__(self, mode: str = AUTO, threshold: int = DEFAULT_THRESHOLD, opt: int = 2,
                 stats: TextIO | None = None, image: str | None = None,
                 perf_map: bool = False, jitdump: bool = False, runner: str = "mcjit") -> None:
        self.mode = mode
        self.threshold = threshold
        self.opt = opt                # tier: 0 (unoptimized, tier 1) or 2 (optimized, tier 2)
        self.stats = stats            # --jit-stats: where to print the table at exit
        self.image = image            # the image being run (its native code is used)
        self.perf_map = perf_map      # --perf-map: name native code in /tmp/perf-PID.map
        self.jitdump = jitdump        # --jitdump: /tmp/jit-PID.dump for `perf inject --jit`
        self.runner = runner          # "unicorn": the code runs inside unicorn (the debugger's)

    def __repr__(self) -> str:
        return (f"JitOptions(mode={self.mode!r}, threshold={self.threshold}, opt={self.opt}, "
                f"image={self.image!r}, runner={self.runner!r})")

    def replace(self, **changes) -> JitOptions:
        """A copy with `changes` made (as dataclasses.replace)."""
        values = dict(vars(self))
        unknown = changes.keys() - values.keys()
        if unknown:
            raise TypeError(f"JitOptions has no option {sorted(unknown)[0]!r}")
        values.update(changes)
        return JitOptions(**values)


class Compilation:
    """One module compiled (or loaded from an image)."""

    def __init__(self, functions: list[int], opt: int, seconds: float, code_size: int,
                 source: str) -> None:
        self.functions = functions
        self.opt = opt
        self.seconds = seconds
        self.code_size = code_size
        self.source = source          # "jit" or "image"


class NativeFn:
    """The JIT's record for one function: counters, and its native entries once
    compiled."""

    __slots__ = ("jit", "fi", "entry", "osr", "count", "plan", "tier", "calls", "loops",
                 "compile_seconds", "code_size", "source", "param_kinds", "ret_kind",
                 "address", "side_exits", "enters", "iters")

    def __init__(self, jit: Jit, fi: int):
        self.jit = jit
        self.fi = fi
        self.entry = None
        self.osr = None
        self.count = 0
        self.plan = None
        self.tier = 0
        self.calls = 0
        self.loops = 0
        self.compile_seconds = 0.0
        self.code_size = 0
        self.source = ""
        self.param_kinds: tuple = ()
        self.ret_kind = K_UNIT
        self.address = 0
        self.side_exits = 0        # times its native code left at a side exit
        self.enters = True         # calls enter its native code (Plan.entered)
        self.iters = False         # it iterates (`for ... in`): OSR converts iterators

    def fn_code(self) -> list:
        return self.jit.functions[self.fi].code

    def call(self, parent, dst: int, args: list, env, depth: int, budget: int):
        """Run a call natively: its value, EXITED (Jit.frame is the innermost frame to
        go on with) or NOT_RUN (interpret it)."""
        if self.entry is None:
            self.count += 1
            if self.count < self.jit.threshold or not self.jit.promote(self, parent):
                return NOT_RUN
        if not self.enters:
            return NOT_RUN             # it would only leave at a side exit
        return self.jit.call(self, parent, dst, args, env, depth, budget)

    def loop(self, frame, target: int, budget: int):
        """At a loop back-edge of `frame` (to `target`): go on natively from there."""
        if self.osr is None:
            if self.entry is not None:
                return NOT_RUN         # compiled, but this target is not an OSR entry
            self.count += 1
            if self.count < self.jit.threshold or not self.jit.promote(self):
                return NOT_RUN
            if self.osr is None:
                return NOT_RUN
        return self.jit.loop(self, frame, target, budget)


_I64 = ctypes.c_int64
_POLL = ctypes.CFUNCTYPE(_I64, ctypes.c_void_p)
_FRAME = ctypes.CFUNCTYPE(None, ctypes.c_void_p, _I64, _I64, _I64, _I64, ctypes.c_void_p)
_EXEC = ctypes.CFUNCTYPE(_I64, ctypes.c_void_p, _I64, _I64, ctypes.c_void_p)
_CALL = ctypes.CFUNCTYPE(_I64, ctypes.c_void_p, _I64, _I64, _I64, ctypes.c_void_p)
_REMEMBER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, _I64)
_TRACE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, _I64)
_ENTRY = ctypes.CFUNCTYPE(_I64, ctypes.c_void_p, _I64, _I64, ctypes.c_void_p)
_CONVERT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, _I64, _I64, _I64, _I64, ctypes.c_double)
_OSR = ctypes.CFUNCTYPE(_I64, ctypes.c_void_p, _I64, _I64, ctypes.c_void_p, _I64)

_JITS: dict[int, Jit] = {}
SOLO_SLICES = 64     # slice ends native code may take by itself (Jit._solo_from_here)
_CALLBACKS: dict[str, tuple] = {}     # helper -> (ctypes callback, its address)


def _jit_of(ctx) -> Jit:
    return _JITS[_I64.from_address(ctx + 8 * 5).value]


def _internal(ctx, e: BaseException, value: int) -> int:
    try:
        jit = _jit_of(ctx)
        if jit.error is None:
            jit.error = e
        jit.ctx[1] = 3              # ST_RAISE
    except BaseException:
        pass
    return value


# The helper ABI (docs/native.md): C name -> (ctypes prototype, the Jit method that does
# the work with the integer arguments after `ctx`, the value returned if it raises). Both
# ways of running native code serve it from this one table: ctypes callbacks in-process
# (`_callback`), and stubs with a code hook under unicorn (runtime/jit_unicorn.py).
HELPERS = {
    "vyn_rt_poll": (_POLL, "poll", 1),
    "vyn_rt_frame": (_FRAME, "frame_record", 0),
    "vyn_rt_exec": (_EXEC, "exec_instruction", 1),
    "vyn_rt_call": (_CALL, "interpret_call", 0),
    "vyn_rt_remember": (_REMEMBER, "remember", 0),
    "vyn_rt_trace": (_TRACE, "trace_flush", 0),
}


def _callback(method: str, on_error: int):
    def cb(ctx, *args):
        try:
            jit = _jit_of(ctx)
            return jit.helper(method, getattr(jit, method), args)
        except BaseException as e:          # never let an exception into C frames
            return _internal(ctx, e, on_error)
    cb.__name__ = f"_cb_{method}"
    return cb


def helper_address(name: str) -> int:
    """The address of helper `name`'s ctypes callback (made once per process); 0 if
    `name` is no helper."""
    if not _CALLBACKS:
        for helper, (proto, method, on_error) in HELPERS.items():
            cb = proto(_callback(method, on_error))
            _CALLBACKS[helper] = (cb, ctypes.cast(cb, ctypes.c_void_p).value)
    entry = _CALLBACKS.get(name)
    return entry[1] if entry is not None else 0


def _register_helpers(llvm) -> None:
    for name in HELPERS:
        llvm.add_symbol(name, helper_address(name))


class Jit:
    """The native tier of one VM."""

    copy_callees = True      # compile private copies of compiled callees (inlinable)
    reports_calls = False    # native code reports calls and returns to the debugger
    # The slice ends at every poll while a debugger is attached (in-process native code
    # cannot stop anywhere else).
    polls_for_debugger = True
    pc_map = False           # DWARF discriminators carry bytecode pcs (the debugger's)

    def __init__(self, vm, options: JitOptions):
        from compiler import native
        from runtime import builtins as rb
        from runtime import sched as rs

        self.native = native
        self.rs = rs
        self.rb = rb
        self.vm = vm
        self.options = options
        self.threshold = max(1, options.threshold)
        self.opt = options.opt
        self.program = vm.program
        self.plain = frozenset(vm.builtins)
        self.functions = vm.functions
        n = len(self.functions)
        self.natives: list[NativeFn | None] = [NativeFn(self, fi) for fi in range(n)]
        self.refused: dict[int, str] = {}
        self.compilations: list[Compilation] = []
        self.ctx = (_I64 * native.CTX_WORDS)()
        self.ctx_addr = ctypes.addressof(self.ctx)
        self.fntab = (ctypes.c_void_p * max(1, n))()
        self.ctx[native.CTX_FUNCTIONS] = ctypes.addressof(self.fntab)
        sids = native.string_ids(self.program)
        self.strtab = (_I64 * max(1, len(sids)))()
        for (fi, k), i in sids.items():
            self.strtab[i] = vm.const_string(self.functions[fi].consts[k])
        self.ctx[native.CTX_STRINGS] = ctypes.addressof(self.strtab)
        # Inline allocation: the heap's type id of each program type, and the run of
        # bump space lent to native code while it runs (`_tlab_open`).
        self.tidtab = (_I64 * max(1, len(vm.heap_tid)))(*vm.heap_tid)
        self.ctx[native.CTX_HEAP_TIDS] = ctypes.addressof(self.tidtab)
        self._tlab_start = None
        self._tlab_block_end = None   # a lent free block's end (None: bump space lent)
        self.lent = 0             # runs of heap lent to native code so far
        self._allocating: list[bool | None] = [None] * n
        self.depth_limit = vm.max_depth
        self.ctx[native.CTX_DEPTH_LIMIT] = vm.max_depth
        self.ctx[native.CTX_ID] = id(self)
        _JITS[id(self)] = self
        maxregs = max([native.frame_words(f) + 1 for f in self.functions] + [1])
        self.buf = (_I64 * maxregs)()
        self.fbuf = (ctypes.c_double * maxregs).from_buffer(self.buf)
        self.buf_addr = ctypes.addressof(self.buf)
        self._iters: dict[int, dict[int, int]] = {}
        self._cvt = (_I64 * 1)()
        self._cvtf = (ctypes.c_double * 1).from_buffer(self._cvt)
        self.records: list = []
        self.error: BaseException | None = None
        self.override = None
        self.blocked = False
        self.frame = None
        self.budget = 0
        self.active = False
        self._rw: dict[tuple[int, int], tuple] = {}
        self._engine = None
        self._linked: list = []
        self._objects: list = []
        self._llvm = None
        self.image = None
        self.started = time.perf_counter()
        # Profiles: which frames were native when native code last left (`native_frames`).
        self.exit_frame = None
        self.exit_native = 0
        self.exit_step = -1
        # An allocation profile's sample is due for the frame running `vyn_rt_exec`
        # (runtime/events.py `watch_allocations`): it leaves after the instruction.
        self.alloc_due = None
        # A profile's stack samples in native code (`poll`, `_native_stack`): the levels
        # of native code running, outermost first (`(0, parent frame)` when the interpreter
        # entered native code, `(1, fp, addr, site, stack)` where native code called the
        # interpreter: `vyn_rt_call`), the code loaded (read lazily, `_code_map`), and
        # counters: samples taken without leaving native code, and deoptimizations.
        self.samples_native = getattr(options, "runner", "mcjit") == "mcjit"
        # Slice ends taken in native code without a call (`_solo_from_here`).
        self._solo_ok = self.samples_native
        self._solo_given = 0
        self._solo_fiber = None
        self._solo_room = 0         # bytes native code may allocate in solo slices
        self.solo_slices = 0
        self.levels: list[tuple] = []
        self._loaded: list[tuple] = []
        self._codemap = None
        self._chains: dict[int, tuple | None] = {}
        self._line_pcs: dict[int, dict[int, int]] = {}
        self.sample_native: int | None = None
        self.native_samples = 0
        self.exits = 0
        # Call events from native code (`vyn run --trace`): compile with instrumentation.
        self._trace_setup(vm, options)
        self.perf_map = self.jitdump = None
        if options.perf_map:
            from runtime.perfmap import PerfMap

            self.perf_map = PerfMap()
        if options.jitdump:
            from runtime.perfmap import JitDump

            self.jitdump = JitDump()

    # -- compiling -----------------------------------------------------------------------

    def _engine_ready(self):
        if self._engine is None:
            llvm = self.native._llvm()
            _register_helpers(llvm)
            self._llvm = llvm
            # The engine owns its target machine: a fresh one, never the backend's cached
            # ones (which it would free with itself).
            tm = llvm.Target.from_default_triple().create_target_machine(
                reloc="pic", codemodel="small", opt=0)
            self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        return self._engine

    def _plan(self, fi: int):
        nat = self.natives[fi]
        if nat is not None and nat.plan is not None:
            return nat.plan
        if fi in self.refused:
            return None
        p = self.native.analyze(self.program, fi, self.plain)
        if isinstance(p, str):
            self.refused[fi] = p
            self.natives[fi] = None
            return None
        return p

    def promote(self, nat: NativeFn, caller=None) -> bool:
        """Compile `nat`'s function and the callees it reaches (one module, so calls
        between them are direct and LLVM may inline them). If its caller is warm too,
        the caller is compiled with it (a hot leaf called from a loop: the loop's
        function). False if it cannot be compiled (it stays in bytecode)."""
        if self.image is not None and nat.fi in self.image[2]:
            self._load_image_code()
            if nat.entry is not None:
                return True
        root = nat.fi
        if caller is not None:
            up = self.natives[caller.fn.index]
            if up is not None and up.entry is None and up.count * 4 >= self.threshold:
                root = up.fi
        plans, inline = {}, {}
        todo = [root, nat.fi]
        while todo and len(plans) + len(inline) < 64:
            fi = todo.pop()
            if fi in plans or fi in inline:
                continue
            other = self.natives[fi]
            if other is None:
                continue
            if other.entry is not None:
                # Compiled already: a private copy here lets LLVM inline it.
                if other.plan is not None and len(other.fn_code()) <= 200 and \
                        self.copy_callees:
                    inline[fi] = other.plan
                continue
            p = self._plan(fi)
            if p is None:
                continue
            plans[fi] = p
            todo.extend(sorted(p.callees))
        if nat.fi not in plans:
            if self._plan(nat.fi) is None:
                self.natives[nat.fi] = None
            return False
        self._compile(plans, inline)
        return nat.entry is not None

    def compile_all(self) -> None:
        """--jit=eager: every function that can be, in one module, before main runs."""
        if self.image is not None:
            self._load_image_code()
        plans = {}
        for fi in range(len(self.functions)):
            nat = self.natives[fi]
            if nat is not None and nat.entry is not None:
                continue
            p = self._plan(fi)
            if p is not None:
                plans[fi] = p
        if plans:
            self._compile(plans)

    def _compile(self, plans: dict, inline: dict | None = None) -> None:
        native = self.native
        try:
            compiled = native.compile_plans(self.program, plans, opt=self.opt, debug=True,
                                            private=inline or {}, trace=self.trace_code,
                                            pc_map=self.pc_map, osr_debug=not self.pc_map)
        except native.NativeError as e:
            self._refuse(plans, f"the backend failed: {e}")
            return
        self._load_or_refuse(compiled.object, plans, compiled.opt, compiled.seconds, "jit")

    def _refuse(self, plans: dict, why: str) -> None:
        for fi in plans:
            self.refused[fi] = why
            self.natives[fi] = None

    def _load_or_refuse(self, obj: bytes, plans: dict, opt: int, seconds: float,
                        source: str) -> bool:
        """`_load`; code that cannot be placed (the debugger's arena is full, say) leaves
        its functions in bytecode, saying why."""
        try:
            self._load(obj, plans, opt, seconds, source)
        except self.native.NativeError as e:
            self._refuse(plans, f"its code could not be loaded: {e}")
            return False
        return True

    def _place(self, obj: bytes):
        """Load an object's code where it can run; returns symbol name -> address (0:
        not in it). In-process, runtime/native_loader.py links it (no llvmlite needed:
        cached and image code start without it); MCJIT if that linker cannot. Under the
        debugger, unicorn (jit_unicorn.py)."""
        from runtime.native_loader import LinkError, load_object

        try:
            loaded = load_object(obj, helper_address)
        except LinkError:
            return self._place_mcjit(obj)
        self._linked.append(loaded)          # the code lives as long as this JIT
        return loaded.address

    def _place_mcjit(self, obj: bytes):
        llvm = self.native._llvm()
        ee = self._engine_ready()
        ref = llvm.ObjectFileRef.from_data(obj)
        ee.add_object_file(ref)
        ee.finalize_object()
        return ee.get_function_address

    def _entry_callable(self, address: int):
        return _ENTRY(address)

    def _osr_callable(self, address: int):
        return _OSR(address)

    def _load(self, obj: bytes, plans: dict, opt: int, seconds: float, source: str) -> None:
        address_of = self._place(obj)
        self._objects.append(obj)
        native = self.native
        addresses = {}
        for fi in plans:
            addresses[fi] = address_of(native.symbol(fi))
        # Where this object's code is (read now: a later object's private copies have
        # the same names, and MCJIT would find those).
        self._loaded.append((obj, {native.symbol(fi): a for fi, a in addresses.items() if a}))
        self._codemap = None
        self._chains = {}
        sizes = symbol_sizes(obj)
        total = 0
        loaded = []
        for fi, plan in plans.items():
            nat = self.natives[fi]
            if nat is None:
                nat = self.natives[fi] = NativeFn(self, fi)
            addr = addresses[fi]
            if not addr:
                continue
            loaded.append(nat)
            nat.plan = plan
            nat.address = addr
            nat.entry = self._entry_callable(address_of(native.entry_symbol(fi)))
            if plan.backedges:
                nat.osr = self._osr_callable(address_of(native.osr_symbol(fi) + ".entry"))
            nat.tier = 2 if opt > 0 else 1
            nat.source = source
            nat.compile_seconds = seconds / max(1, len(plans))
            nat.code_size = sum(sizes.get(name, 0) for name in (
                native.symbol(fi), native.entry_symbol(fi), native.osr_symbol(fi),
                native.osr_symbol(fi) + ".entry"))
            total += nat.code_size
            fn = self.functions[fi]
            nat.param_kinds = plan.entry[:fn.nparams]
            nat.ret_kind = plan.ret_kind
            nat.enters = plan.entered
            nat.iters = bool(native.iter_registers(fn))
            if plan.entered:
                self.fntab[fi] = addr      # (else native callers go to `vyn_rt_call`)
        self.compilations.append(Compilation(sorted(plans), opt, seconds, total, source))
        if self.perf_map is not None or self.jitdump is not None:
            from runtime.perfmap import named_code

            rows = named_code(obj, address_of, [f.name for f in self.functions])
            if self.perf_map is not None:
                self.perf_map.add_rows(rows)
            if self.jitdump is not None:
                self.jitdump.add_object(obj, rows, [f.file for f in self.functions])
        events = self.vm.events
        if events is not None:
            tier = "tier2" if opt > 0 else "tier1"
            for nat in sorted(loaded, key=lambda n: n.fi):
                fn = self.functions[nat.fi]
                events.jit_compile(fn, tier, nat.compile_seconds, nat.code_size, nat.address)
                events.tier_change(fn, "bytecode", tier)

    def read_image(self, path: str) -> None:
        """Note which functions the image has native code for (its `.vyn.native`): they
        run natively from their first call, without a threshold; the object is linked,
        as it is, when the first of them is called (runtime/native_loader.py: no
        llvmlite)."""
        from runtime.image import load_image

        manifest = load_image(path).sections.get(self.native.NATIVE_SECTION)
        if not manifest:
            return
        if self.native.manifest_traced(manifest) != self.trace_code:
            return      # code that reports calls only for a trace, and only it for one
        opt, functions = self.native.decode_manifest(manifest)
        if not self.takes_image_code(opt):
            return
        self.image = (path, opt, [fi for fi in functions if 0 <= fi < len(self.functions)])
        for fi in self.image[2]:
            nat = self.natives[fi]
            if nat is not None:
                nat.count = max(nat.count, self.threshold - 1)

    def takes_image_code(self, opt: int) -> bool:
        """Whether an image's native code built at `opt` runs as it is here."""
        return True

    def _load_image_code(self) -> None:
        path, opt, functions = self.image
        self.image = None
        plans = {}
        for fi in functions:
            p = self._plan(fi)
            if p is not None:
                plans[fi] = p
        if not plans:
            return
        with open(path, "rb") as f:
            data = f.read()
        start = time.perf_counter()
        if self._load_or_refuse(data, plans, opt, 0.0, "image"):
            self.compilations[-1].seconds = time.perf_counter() - start

    # -- entering native code --------------------------------------------------------------

    def _to_bits(self, i: int, kind, v) -> bool:
        t = type(v)
        if kind == K_INT:
            if t is not int:
                return False
            self.buf[i] = v
        elif kind == K_FLOAT:
            if t is not float:
                return False
            self.fbuf[i] = v
        elif kind == K_BOOL:
            if t is not bool:
                return False
            self.buf[i] = v
        elif kind == K_PTR:
            if v is None:
                self.buf[i] = 0
            elif t is int:
                self.buf[i] = v
            else:
                return False
        else:
            self.buf[i] = 0
        return True

    def _from_bits(self, raw: int, kind):
        if kind == K_INT or kind == K_PTR:
            return raw
        if kind == K_FLOAT:
            self._cvt[0] = raw
            return self._cvtf[0]
        if kind == K_BOOL:
            return raw != 0
        return None

    def call(self, nat: NativeFn, parent, dst: int, args: list, env, depth: int, budget: int):
        if self.active or depth >= self.depth_limit:
            return NOT_RUN
        traced = self.trace_code
        if traced and self.vm.call_hooks is not self.vm.events:
            return NOT_RUN         # a debugger steps: its hooks see bytecode calls only
        for i, k in enumerate(nat.param_kinds):
            if not self._to_bits(i, k, args[i]):
                return NOT_RUN
        ctx = self.ctx
        ctx[0] = budget
        ctx[1] = 0
        self.active = True
        if traced:
            self.trace_ns = perf_counter_ns()   # the entry writes CTX_TRACE_TSC
        if self._allocates(nat.fi):
            self._tlab_open()
        levels = self.levels
        levels.append((0, parent))
        try:
            raw = nat.entry(self.ctx_addr, depth, env or 0, self.buf_addr)
        finally:
            levels.pop()
            self._tlab_close()
            self.active = False
            if self._solo_given:
                self._settle_solo()
        if traced:
            self._trace_drain(ctx[self.native.CTX_TRACE_NOW], perf_counter_ns())
        nat.calls += 1
        self.budget = ctx[0]
        if ctx[1] == 0:
            return self._from_bits(raw, nat.ret_kind)
        self._exit(parent, dst, env or 0, None)
        if self.alloc_due is not None:
            self._alloc_sample()
        return EXITED

    def loop(self, nat: NativeFn, frame, target: int, budget: int):
        if self.active or target not in nat.plan.backedges:
            return NOT_RUN
        traced = self.trace_code
        if self.vm.call_hooks is not None and not (traced and
                                                   self.vm.call_hooks is self.vm.events):
            return NOT_RUN
        kinds = nat.plan.states[target]
        regs = frame.regs
        k_iter = self.native.K_ITER           # iterators: `_iterators_in`
        for i, k in enumerate(kinds):
            if k is not None and k != -1 and k < k_iter and not self._to_bits(i, k, regs[i]):
                return NOT_RUN
            if k is None or k == -1:
                self.buf[i] = 0
            elif k == K_UNIT and regs[i] is not None:
                # (A builtin the interpreter ran at a side exit gave a register a value
                # its type did not say: native code would read it as unit.)
                return NOT_RUN
        if nat.iters and not self._iterators_in(nat.plan.fn, kinds, regs):
            return NOT_RUN
        ctx = self.ctx
        ctx[0] = budget
        ctx[1] = 0
        self.active = True
        if traced:
            self.trace_ns = perf_counter_ns()
            self.osr_entered = nat.fi
        levels = self.levels
        levels.append((0, frame.parent))
        try:
            if self._allocates(nat.fi):
                self._tlab_open()
            nat.osr(self.ctx_addr, frame.depth, frame.env or 0, self.buf_addr, target)
        finally:
            levels.pop()
            self._tlab_close()
            self.active = False
            if self._solo_given:
                self._settle_solo()
        if traced:
            self._trace_drain(ctx[self.native.CTX_TRACE_NOW], perf_counter_ns())
        nat.loops += 1
        self.budget = ctx[0]
        if ctx[1] == 0:
            raise RuntimeError("native OSR code returned without leaving its frame")
        self._exit(frame.parent, frame.ret, frame.env, frame)
        if self.alloc_due is not None:
            self._alloc_sample()
        return EXITED

    def _exit(self, parent, dst: int, env, osr_frame) -> None:
        """After native code left: rebuild its frames (innermost first in `records`)."""
        status = self.ctx[1]
        self.exits += 1
        records = self.records
        self.records = []
        if self.override is not None and records and records[0][0] == "native":
            reg, value = self.override
            records[0][5][reg] = value
        self.override = None
        self.blocked = status == 4
        if status == 2 and records and records[0][0] == "native":
            self._count_side_exit(records[0][1], records[0][3])
        vm = self.vm
        outer = parent
        child = dst
        n = len(records)
        for i in range(n - 1, -1, -1):
            rec = records[i]
            if rec[0] == "chain":
                _, innermost, bottom = rec
                bottom.parent = outer
                bottom.ret = child
                outer = innermost
                child = None
                continue
            _, fi, site, resume, rchild, values, fenv = rec
            if osr_frame is not None and i == n - 1:
                f = osr_frame
                f.regs[:len(values)] = values
            else:
                f = self._rebuilt_frame(fi, values, outer, child, fenv,
                                        (outer.depth + 1) if outer is not None else 1)
            f.pc = resume
            outer = f
            child = rchild
        self.frame = outer
        # For profiles: the innermost frames that were native code a moment ago.
        k = 0
        for rec in records:
            if rec[0] != "native":
                break
            k += 1
        self.exit_frame = outer
        self.exit_native = k
        self.exit_step = vm.sched.step
        if status == 3 and self.error is None:
            self.error = RuntimeError("native code left with an error but none was recorded")

    def _count_side_exit(self, fi: int, pc: int) -> None:
        """Native code left so that the interpreter runs instruction `pc` of `fi`: if
        that is a side exit (a builtin that may wait or call back), count it."""
        nat = self.natives[fi]
        if nat is not None and nat.plan is not None and pc in nat.plan.side_exits:
            nat.side_exits += 1

    def _rebuilt_frame(self, fi: int, values: list, parent, ret, env, depth):
        """The bytecode frame a native frame becomes when native code leaves."""
        from runtime.vm import Frame

        return Frame(self.functions[fi], self.vm.codes[fi], values, parent, ret, env, depth)

    def pop_error(self) -> BaseException:
        e = self.error
        self.error = None
        self.vm.frame = self.frame
        if isinstance(e, self.vm_panic_types()):
            frames = getattr(e, "frames", None)
            if isinstance(frames, list):
                frames.clear()         # computed again from the rebuilt frames
        return e

    def vm_panic_types(self):
        from runtime.errors import VynPanic

        return (VynPanic,)

    # -- helpers (called from native code) -------------------------------------------------

    def poll(self) -> int:
        """The budget reached zero: the scheduler's run (`vm.slice_run`) is used up. Native
        code goes on (0) when what the scheduler would do now changes nothing it cannot
        do from here (`_go_on`): a stack sample that is due (a profile) is taken on the
        native frames as they are, and a slice that ends starts again at once when no
        other fiber can run, no collection or ref<T> release is due and nobody but a
        trace or profile is watching. Else the slice ends (1): native code leaves
        (deoptimizes) and the scheduler does it."""
        ctx = self.ctx
        native = self.native
        site = ctx[native.CTX_SAMPLE_SITE]
        ctx[native.CTX_SAMPLE_SITE] = 0
        if self._go_on(lambda: self._native_stack(site)):
            ctx[0] = self.vm.slice_run
            self._solo_from_here()
            return 0
        ctx[1] = 1
        return 1

    def _solo_from_here(self) -> None:
        """After a poll that went on: when the next slice ends are sure to be ones the
        scheduler lets go on at once (one fiber runnable, nothing watching the run, no
        sample), native code may take up to SOLO_SLICES of them without calling the
        runtime (compiler/native.py `reduction`); `_settle_solo` counts them when the
        runtime next runs. What it allocates in a lent run must not pass the point where
        the heap would want a collection (the collector's timing depends on it): the
        bytes it may allocate (`_solo_room`) become an address, CTX_SOLO_DUE, once the
        run is lent again (`helper`)."""
        vm = self.vm
        s = vm.sched
        slice_ = self.rs.SLICE
        if (not self._solo_ok or vm.events is not None
                or vm.hooks is not None or vm.call_hooks is not None
                or vm.slice_run != slice_ or vm.slice_budget != slice_
                or s.lock is not None or any(g.state == self.rs.RUNNABLE for g in s.runq)):
            return
        heap = vm.heap
        room = min(heap.nursery - heap._young_bytes,
                   heap._gc_trigger - (heap.in_use - heap._gc_baseline))
        if room <= 0:
            return
        native = self.native
        self._solo_fiber = s.current
        self._solo_given = SOLO_SLICES
        self._solo_room = room
        self.ctx[native.CTX_SOLO_SLICE] = slice_
        self.ctx[native.CTX_SOLO_LEFT] = SOLO_SLICES
        self.ctx[native.CTX_SOLO_DUE] = 1 << 62          # no run lent: no limit

    def _settle_solo(self) -> None:
        """Count the slice ends native code took by itself since `_solo_from_here`, as
        `_go_on` would have (each: a whole slice of reductions, the next slice started),
        and take the permission back."""
        word = self.native.CTX_SOLO_LEFT
        taken = self._solo_given - self.ctx[word]
        self.ctx[word] = 0
        self._solo_given = 0
        if taken > 0:
            self.solo_slices += taken
            f = self._solo_fiber
            f.reductions += taken * self.rs.SLICE
            f.slices += taken
            self.vm.sched.step += taken
        self._solo_fiber = None

    def _go_on(self, stack_of) -> bool:
        """The scheduler's run is used up (native code's poll, or the interpreter inside
        `vyn_rt_call`): do what the scheduler does when `_exec` returns and then resumes
        the same fiber (runtime/vm.py `_schedule`), if it can be done from here: count the
        run's reductions, take the sample if one is due (on `stack_of()`: None if the
        stack cannot be named), start the fiber's next slice if this one ends (and send
        its `fiber run`), and set the next run (`vm.slice_run`). False (nothing done) if
        the slice must really end: the scheduler has more to do."""
        vm = self.vm
        s = vm.sched
        f = s.current
        rs = self.rs
        events = vm.events
        every = events.sample_every if events is not None else 0
        # Traced code of a trace sees the new slice from here: its `fiber run`.
        recording = events is not None and self.trace_code and vm.call_hooks is events
        run, budget = vm.slice_run, vm.slice_budget
        ends = budget - run <= 0
        if (f is None or vm.interrupt[0] or (vm.hooks is not None and self.polls_for_debugger)
                or (vm.call_hooks is not None and not recording and self.polls_for_debugger)
                or (events is not None and not recording and events.wants_calls)
                or vm.gc_stress or vm.zct or vm.end_slice or vm.nesting or vm.heap.gc_due()
                or (ends and (s.lock is not None
                              or any(g.state == rs.RUNNABLE for g in s.runq)))):
            return False
        stack = None
        if every and vm.to_sample - run <= 0:
            stack = stack_of() if self.samples_native else None
            if stack is None:             # code without the words, or a frame unknown
                return False
        f.reductions += run
        budget -= run
        if every:
            vm.to_sample -= run
        if recording:
            self._trace_drain(self.ctx[self.native.CTX_TRACE_NOW], perf_counter_ns())
        if stack is not None:
            vm.to_sample = every
            self.native_samples += 1
            self.sample_native = stack[1]
            try:
                events.sample(f, stack[0], vm.heap.allocated_bytes)
            finally:
                self.sample_native = None
        if ends:
            # The fiber's slice ends; no other can run: its next slice starts at once.
            s.step += 1
            f.slices += 1
            budget = rs.SLICE
            if events is not None:
                events.fiber_run(f)
        vm.slice_run = max(1, min(budget, vm.to_sample)) if every else budget
        vm.slice_budget = budget
        return True

    def trace_flush(self, tsc: int) -> None:
        """vyn_rt_trace: traced code's buffer is full; `tsc` is the cycle counter now."""
        self._trace_drain(tsc, perf_counter_ns())

    def _trace_setup(self, vm, options) -> None:
        """Traced code when the sink wants calls and takes native ones (runtime/events.py
        `takes_native_calls`); in-process code only (the debugger's runner reports calls
        its own way)."""
        from runtime.events import takes_native_calls

        native = self.native
        self.trace_code = (getattr(options, "runner", "mcjit") == "mcjit"
                           and takes_native_calls(vm.events))
        self.tier_name = "tier2" if self.opt > 0 else "tier1"
        self.trace_ns = 0            # the monotonic ns of CTX_TRACE_TSC's moment
        self.osr_entered = -1        # a function native code was entered at by OSR
        self.tbuf = None
        self.tbuf_addr = 0
        self._convert = None
        if not self.trace_code:
            return
        self.reports_calls = True    # the VM calls native code while its sink wants calls
        self.tbuf = (_I64 * TRACE_BUFFER_WORDS)()
        self.tbuf_addr = ctypes.addressof(self.tbuf)
        self.ctx[native.CTX_TRACE_POS] = self.tbuf_addr
        self.ctx[native.CTX_TRACE_END] = self.tbuf_addr + 8 * (
            TRACE_BUFFER_WORDS - native.TRACE_RECORD_WORDS)

    def _trace_drain(self, tsc_b: int, ns_b: int) -> None:
        """Hand the trace buffer's records to the sink (`native_calls`) with their cycle
        counts mapped to monotonic ns: linearly between the last moment both clocks were
        read (CTX_TRACE_TSC, `trace_ns`) and this one (`tsc_b`, `ns_b`); that moment is
        the next drain's start."""
        native = self.native
        ctx = self.ctx
        base = self.tbuf_addr
        n = (ctx[native.CTX_TRACE_POS] - base) >> 3
        osr = self.osr_entered
        if n > 0 or osr >= 0:
            data = b""
            if n > 0:
                tsc_a = ctx[native.CTX_TRACE_TSC]
                ns_a = self.trace_ns
                k = (ns_b - ns_a) / (tsc_b - tsc_a) if tsc_b > tsc_a and ns_b > ns_a else 0.0
                self._convert_words(base, n, tsc_a, ns_a, ns_b, k)
                data = ctypes.string_at(base, n * 8)
                ctx[native.CTX_TRACE_POS] = base
            self.osr_entered = -1
            sink = self.vm.events
            if sink is not None and sink.wants_calls:
                sink.native_calls(self.vm.sched.current, self.tier_name, data, osr)
        ctx[native.CTX_TRACE_TSC] = tsc_b
        self.trace_ns = ns_b

    def _convert_words(self, base: int, n: int, tsc_a: int, ns_a: int, ns_b: int,
                       k: float) -> None:
        convert = self._convert
        if convert is None:
            # Traced objects carry the converter (compiler/native.py TRACE_CONVERT);
            # else LLVM compiles one; else Python converts.
            address = next((a for a in (lo.address(self.native.TRACE_CONVERT)
                                        for lo in self._linked) if a), 0)
            if address:
                convert = _CONVERT(address)
            else:
                try:
                    convert = self.native.trace_converter()
                except Exception:             # no LLVM to compile it with: in Python
                    convert = _convert_in_python
            self._convert = convert
        convert(base, n, tsc_a, ns_a, ns_b, k)

    def _alloc_sample(self) -> None:
        """The allocation sample `watch_allocations` asked for, on the rebuilt frames:
        the innermost one left right after its allocating instruction."""
        due, self.alloc_due = self.alloc_due, None
        f = self.frame
        if f is not None:
            due(f, f.pc - 1 if self.ctx[1] == 2 else f.pc)

    def native_frames(self, frame) -> int:
        """How many of the innermost frames from `frame` outwards were native code when
        the slice ended (0: it was in the interpreter): a profile's samples in native
        code. Valid right after the slice, as the scheduler takes its sample, and while
        `poll` takes one in native code (then `frame` does not matter)."""
        if self.sample_native is not None:
            return self.sample_native
        if frame is not None and frame is self.exit_frame and \
                self.vm.sched.step == self.exit_step:
            return self.exit_native
        return 0

    # -- stack samples in native code ------------------------------------------------------

    def _native_stack(self, site: int) -> tuple[list, int] | None:
        """The running fiber's stack as the interpreter would sample it ((Function, pc),
        innermost first; callers at their call) while native code polls, and how many of
        its frames are native; None if some frame cannot be named (then the slice ends and
        the sample is taken on the rebuilt frames, as before).

        Native code stored where it is (CTX_SAMPLE_*, compiler/native.py `where`): the
        site gives the innermost frame exactly (function and bytecode pc, and the callee
        at pc 0 when a call's poll); the frame pointer chain (`[rbp]`, `[rbp + 8]`) gives
        every physical frame down to the entry wrapper, each return address its caller's
        line and the frames LLVM inlined there (DWARF: the line table and the inlined
        subroutines; `_chain_at`). Under the native frames: the interpreter's frames that
        entered native code (`levels`), and for native code called from bytecode called
        from native code (`vyn_rt_call`), the native frames of the level below, and so
        on."""
        native = self.native
        ctx = self.ctx
        if not site:
            return None
        pos = (ctx[native.CTX_SAMPLE_FP], ctx[native.CTX_SAMPLE_ADDR], site,
               ctx[native.CTX_STACK])
        return self._levels_stack([], pos)

    def _interpreted_stack(self, frame) -> tuple[list, int] | None:
        """As `_native_stack`, for the interpreter running inside `vyn_rt_call`: its
        frames from `frame` (the innermost) out, then the levels under them."""
        out = [(frame.fn, frame.pc)]
        fr = frame.parent
        while fr is not None:
            out.append((fr.fn, max(0, fr.pc - 1)))
            fr = fr.parent
        return self._levels_stack(out, None)

    def _levels_stack(self, out: list, pos: tuple | None) -> tuple[list, int] | None:
        functions = self.functions
        count = 0
        native_first = pos is not None
        for level in reversed(self.levels):
            if level[0] == 1:
                if pos is not None or not level[3]:
                    return None
                pos = level[1:]
                continue
            if pos is None or not self._walk(pos, out):
                return None
            if native_first and not count:
                count = len(out)
            pos = None
            fr = level[1]
            while fr is not None:
                out.append((fr.fn, max(0, fr.pc - 1)))
                fr = fr.parent
        if pos is not None or not out:
            return None
        for i, (fn, pc) in enumerate(out):
            if type(fn) is int:
                out[i] = (functions[fn], pc)
        return out, count

    def _walk(self, pos: tuple, out: list) -> bool:
        """Append the native frames of one level (from `pos`: frame pointer, an address in
        the innermost code, its site, the level's lowest stack address) to `out`, innermost
        first, as (function index, pc). False if a frame cannot be named."""
        fp, addr, site, low = pos
        fi, pc, callee = self.native.decode_site(site)
        chain = self._chain_at(addr)
        if chain is None or chain[0][0] != fi:
            return False
        if callee is not None:
            out.append((callee, 0))
        out.append((fi, pc))
        out.extend(chain[1:])
        high = low + self.native.STACK_ALLOWANCE + (1 << 16)
        read = _I64.from_address
        for _ in range(1 << 20):
            if not (low <= fp < high) or fp & 7:
                return False
            ra = read(fp + 8).value
            caller = read(fp).value
            chain = self._chain_at(ra - 1)
            if chain is None:
                return False
            if chain == ():
                return True              # the entry wrapper: the level's bottom
            out.extend(chain)
            if caller <= fp:
                return False
            fp = caller
        return False

    def _chain_at(self, address: int) -> tuple | None:
        """The Vyn frames the machine code at `address` stands for, innermost first, as
        (function index, pc): the function whose code it is at the line DWARF gives it,
        then the functions LLVM inlined it into, each at its call's line. () for an entry
        wrapper; None for an address in no function with DWARF."""
        chains = self._chains
        if address in chains:
            return chains[address]
        code = self._code_map()
        import bisect

        i = bisect.bisect_right(code[0], address) - 1
        chain = None
        if i >= 0:
            start, end, kind, phys, base, dw = code[1][i]
            if address < end:
                if kind != "fn":
                    chain = ()
                elif dw is not None:
                    chain = self._dwarf_chain(dw, address - base, phys, start - base)
        chains[address] = chain
        return chain

    def _dwarf_chain(self, dw: tuple, a: int, phys: int, lo: int) -> tuple | None:
        import bisect

        addrs, lines, inlined = dw
        i = bisect.bisect_right(addrs, a) - 1
        if i < 0 or not lines[i] or addrs[i] < lo:
            return None                   # no row of this function's (no DWARF: OSR)
        scopes = sorted(((d, f, cl) for lo, hi, d, f, cl in inlined if lo <= a < hi),
                        reverse=True)
        out = []
        line = lines[i]
        for _, callee, call_line in scopes:
            if callee < 0:
                return None
            out.append((callee, self._pc_of_line(callee, line)))
            line = call_line
        out.append((phys, self._pc_of_line(phys, line)))
        if any(pc is None for _, pc in out):
            return None
        return tuple(out)

    def _pc_of_line(self, fi: int, line: int) -> int | None:
        """A bytecode pc of function `fi` on `line` (a call's, if one is): a profile's
        frame records the line."""
        pcs = self._line_pcs.get(fi)
        if pcs is None:
            pcs = {}
            fn = self.functions[fi]
            for pc, ins in enumerate(fn.code):
                row = fn.line_at(pc)
                ln = row.line if row is not None else fn.line
                if ln not in pcs or (ins[0] in (bc.CALL, bc.CALLV, bc.CALLM) and
                                     fn.code[pcs[ln]][0] not in (bc.CALL, bc.CALLV, bc.CALLM)):
                    pcs[ln] = pc
            self._line_pcs[fi] = pcs
        return pcs.get(line)

    def _code_map(self) -> tuple:
        """(starts, rows) of every function of the code loaded, by address: (start, end,
        kind "fn" or "entry", function index, the object's load bias, its DWARF index)."""
        if self._codemap is not None:
            return self._codemap
        from runtime.perfmap import _SYMBOL, code_symbols

        names: dict[str, int] = {}
        for fi, fn in enumerate(self.functions):
            names[fn.name] = -1 if fn.name in names else fi
        rows = []
        for obj, known in self._loaded:
            dw = _dwarf_index_cached(obj, names)
            for start, size, sym, _, offset in code_symbols(obj, lambda s, k=known: k.get(s, 0)):
                m = _SYMBOL.match(sym)
                if m is None:
                    continue
                kind = "entry" if m.group(1) == "entry" or m.group(3) else "fn"
                rows.append((start, start + size, kind, int(m.group(2)), start - offset, dw))
        rows.sort()
        self._codemap = ([r[0] for r in rows], rows)
        return self._codemap

    # -- inline allocation -----------------------------------------------------------------

    def _tlab_open(self) -> None:
        """Lend native code a run of heap for records (compiler/native.py `_new`): the
        largest free block if it has TLAB_MIN_FREE bytes, else TLAB_BYTES of bump space.
        Not while a scoped region is active (its objects are the region's), a trace or
        profile records (allocation samples), --gc-stress, or a collection is due (the
        runtime's path collects first)."""
        if self._tlab_start is not None:
            return
        vm = self.vm
        heap = vm.heap
        if heap._region is not None or vm.events is not None or vm.gc_stress or \
                heap.gc_due():
            return
        block = heap._free.take_largest(TLAB_MIN_FREE) if heap._free_map else None
        if block is not None:
            # A free block, as the heap's own allocation takes one first: its header is
            # cleared (the payload is zero already); the last HEADER_SIZE bytes are not
            # lent, so that what is left can be a free block again (`_tlab_close`).
            start, total = block
            heap._mm[start:start + HEADER_SIZE] = bytes(HEADER_SIZE)
            end = start + total - HEADER_SIZE
            self._tlab_block_end = start + total
        else:
            start = heap._top
            end = min(start + TLAB_BYTES, heap.limit)
            if end - start < 256:
                return
            heap._top = end
            self._tlab_block_end = None
        self._tlab_start = start
        self.lent += 1
        self.ctx[self.native.CTX_TLAB_CUR] = heap.base + start
        self.ctx[self.native.CTX_TLAB_END] = heap.base + end

    def _allocates(self, fi: int) -> bool:
        """Whether a call of `fi` may allocate a record inline (a NEW in it or in anything
        it calls, by the bytecode's call graph): a run of heap is lent only then, since
        lending and taking it back cost about a microsecond per entry into native code."""
        known = self._allocating
        if fi >= len(known):
            return True
        if known[fi] is None:
            seen, todo, found = {fi}, [fi], False
            while todo and not found:
                for ins in self.functions[todo.pop()].code:
                    op = ins[0]
                    if op == bc.NEW:
                        found = True
                        break
                    if op == bc.CALL and ins[2] not in seen:
                        seen.add(ins[2])
                        todo.append(ins[2])
            known[fi] = found
        return known[fi]

    def _tlab_close(self) -> bool:
        """Take the lent run back: the records native code placed there join the young
        generation as if the heap had allocated them, as one entry (the heap counts
        them when it needs to, heap_gc.YoungObjects); the rest is bump space again.
        Whether a run was lent."""
        start = self._tlab_start
        if start is None:
            return False
        native = self.native
        heap = self.vm.heap
        stop = self.ctx[native.CTX_TLAB_CUR] - heap.base
        self.ctx[native.CTX_TLAB_CUR] = self.ctx[native.CTX_TLAB_END] = 0
        self._tlab_start = None
        if stop > start:
            heap._young.add_run(start, stop)
            heap._young_bytes += stop - start
        block_end = self._tlab_block_end
        if block_end is None:
            heap._top = stop
        else:
            # The rest of the lent free block (never written: zero) is a free block again.
            self._tlab_block_end = None
            _FREE_HEADER.pack_into(heap._mm, stop, 0, FLAG_FREE_BLOCK,
                                   block_end - stop - HEADER_SIZE, 0)
            heap._free.add(stop, block_end - stop)
        return True

    def helper(self, method: str, fn, args):
        """Run a helper for native code: the ones that may allocate, collect or run the
        interpreter first take the lent heap run back, and lend one again after. Slice
        ends native code took by itself are counted first."""
        if self._solo_given:
            self._settle_solo()
        if method not in _ALLOCATING:
            return fn(*args)
        lent = self._tlab_close()
        try:
            return fn(*args)
        finally:
            if lent:
                self._tlab_open()
                if self._solo_given:
                    # Slice ends by itself, while the run's pointer stays below this.
                    start = self._tlab_start
                    self.ctx[self.native.CTX_SOLO_DUE] = (
                        0 if start is None else self.vm.heap.base + start + self._solo_room)

    def remember(self, obj: int) -> None:
        """vyn_rt_remember: the write barrier's remembered set."""
        heap = self.vm.heap
        heap._remembered.add(obj - heap.base)

    def _values(self, plan, fi: int, site: int, addr: int) -> list:
        fn = self.functions[fi]
        n = fn.nregs
        raw = (_I64 * max(1, n)).from_address(addr)
        fl = (ctypes.c_double * max(1, n)).from_address(addr)
        if site < 0:
            out = []
            for i in range(fn.nparams):
                k = self._param_kind(fn, i)
                out.append(fl[i] if k == K_FLOAT else raw[i] != 0 if k == K_BOOL
                           else None if k == K_UNIT or k is None or k == -1 else raw[i])
            out.extend([None] * (n - fn.nparams))
            return out
        kinds = plan.states[site]
        out = []
        for i in range(n):
            k = kinds[i]
            if k == K_INT or k == K_PTR:
                out.append(raw[i])
            elif k == K_FLOAT:
                out.append(fl[i])
            elif k == K_BOOL:
                out.append(raw[i] != 0)
            else:
                out.append(None)
        iters = self._iter_regs(fn)
        if iters:
            self._iterators_out(fn, kinds, iters, addr, out)
        return out

    def _iter_regs(self, fn) -> dict[int, int]:
        """Iterator register -> its hidden words' index (compiler/native.py K_ITER)."""
        found = self._iters.get(fn.index)
        if found is None:
            found = self._iters[fn.index] = {
                r: j for j, r in enumerate(self.native.iter_registers(fn))}
        return found

    def _frame_words(self, fn) -> int:
        """compiler/native.py `frame_words`, from the cached iterator registers."""
        return max(1, fn.nregs + 2 * len(self._iter_regs(fn)))

    def _iterators_out(self, fn, kinds, iters: dict, addr: int, out: list) -> None:
        """The interpreter's iterators for a native frame's (`_values`)."""
        words = (_I64 * self._frame_words(fn)).from_address(addr)
        for r, j in iters.items():
            tid = self.native.iter_type(kinds[r])
            if tid is not None:
                base = fn.nregs + 2 * j
                out[r] = self.rb.resume_iter(self.vm, self.vm.types[tid], words[r],
                                             words[base], words[base + 1])

    def _iterators_in(self, fn, kinds, regs: list) -> bool:
        """An interpreter frame's iterators into the buffer for OSR (False: one is not
        an iterator native code can go on with)."""
        iters = self._iter_regs(fn)
        buf = self.buf
        for r, j in iters.items():
            tid = self.native.iter_type(kinds[r])
            if tid is None:
                continue
            pos = self.rb.iter_position(regs[r], self.vm.types[tid])
            if pos is None:
                return False
            obj, w0, w1 = pos
            base = fn.nregs + 2 * j
            buf[r] = obj
            buf[base] = w0
            buf[base + 1] = w1 - (1 << 64) if w1 >= 1 << 63 else w1
        return True

    def _param_kind(self, fn, i: int):
        return self.native.param_kind(self.program, fn, i)

    def frame_record(self, fi: int, site: int, resume: int, child: int, regs: int) -> None:
        nat = self.natives[fi]
        plan = nat.plan if nat is not None else None
        if plan is None and site >= 0:
            raise RuntimeError(f"no plan for native function {fi}")
        # The frame's closure follows its words (compiler/native.py `_exit_code`), a
        # callee's follows its arguments.
        fn = self.functions[fi]
        env = _I64.from_address(regs + 8 * (self._frame_words(fn) if site >= 0
                                            else fn.nparams)).value
        self.records.append(("native", fi, site, resume, child,
                             self._values(plan, fi, site, regs), env))

    def _fake_frame(self, fi: int, pc: int, regs: list):
        from runtime.vm import Frame

        f = Frame(self.functions[fi], self.vm.codes[fi], regs, None, 0, 0, 1)
        f.pc = pc
        return f

    def exec_instruction(self, fi: int, pc: int, addr: int) -> int:
        """vyn_rt_exec: run instruction `pc` of `fi` on the registers in the buffer."""
        native = self.native
        vm = self.vm
        if self.trace_code and self.ctx[native.CTX_TRACE_POS] != self.tbuf_addr:
            # Its events (a region, a user event) come after the calls so far.
            self._trace_drain(self.ctx[native.CTX_TRACE_NOW], perf_counter_ns())
        key = (fi, pc)
        rw = self._rw.get(key)
        plan = self.natives[fi].plan
        if rw is None:
            ins = vm.original(fi, pc)          # not a debugger's BREAKPOINT
            reads, writes = native.register_ranges(self.functions[fi].code[pc])
            state = list(plan.states[pc])
            d = native._dest_kind(self.program, self.functions[fi], self.functions[fi].code[pc],
                                  state)
            rw = (ins, reads, writes, d if d is not None else K_PTR)
            self._rw[key] = rw
        ins, reads, writes, dkind = rw
        fn = self.functions[fi]
        n = fn.nregs
        raw = (_I64 * max(1, n)).from_address(addr)
        fl = (ctypes.c_double * max(1, n)).from_address(addr)
        kinds = plan.states[pc]
        regs: list = [None] * n
        for r in reads:
            k = kinds[r]
            regs[r] = (raw[r] if k == K_INT or k == K_PTR else fl[r] if k == K_FLOAT
                       else raw[r] != 0 if k == K_BOOL else None)
        saved = vm.frame
        frame = self._fake_frame(fi, pc, regs)
        vm.frame = frame
        try:
            op = ins[0]
            if op == bc.CALLB:
                base = ins[3]
                regs[ins[1]] = vm.builtins[ins[2]](vm, regs[base:base + ins[4]],
                                                   vm.types[ins[5]])
            elif op == bc.INDEX:
                regs[ins[1]] = self.rb.index(vm, regs[ins[2]], regs[ins[3]], vm.types[ins[4]])
            elif op == bc.CELLGET:
                cell = regs[ins[2]]
                k = vm.types[vm.desc_of_heap[vm.heap.type_of(cell)]].size
                regs[ins[1]] = vm.reader.read_slot(cell, 0, k)
            elif op == bc.CELLSET:
                cell = regs[ins[1]]
                k = vm.types[vm.desc_of_heap[vm.heap.type_of(cell)]].size
                vm._store(cell, 0, k, regs[ins[2]])
            else:
                vm._slow(op, ins, frame, regs, pc + 1)
        except BaseException as e:
            self.error = e
            self.ctx[1] = 3
            return 1
        finally:
            vm.frame = saved
        for r in writes:
            if not self._to_bits_at(raw, fl, r, dkind, regs[r]):
                self.override = (r, regs[r])
                self.ctx[1] = 2
                return 2
        if self.alloc_due is not None:
            # The stack that allocated is wanted: rebuild it (leave after this one).
            if writes:
                self.override = (writes[0], regs[writes[0]])
            self.ctx[1] = 2
            return 2
        return 0

    def _to_bits_at(self, raw, fl, i: int, kind, v) -> bool:
        t = type(v)
        if kind == K_INT:
            if t is not int:
                return False
            raw[i] = v
        elif kind == K_FLOAT:
            if t is not float:
                return False
            fl[i] = v
        elif kind == K_BOOL:
            if t is not bool:
                return False
            raw[i] = v
        elif kind == K_PTR:
            if v is None:
                raw[i] = 0
            elif t is int:
                raw[i] = v
            else:
                return False
        else:
            if v is not None:
                return False
            raw[i] = 0
        return True

    def _interpreted_parent(self, g: int):
        """The parent of the bytecode frame `vyn_rt_call` makes: none in-process (native
        frames are rebuilt only when they leave)."""
        return None

    def interpret_call(self, g: int, depth: int, env: int, addr: int) -> int:
        """vyn_rt_call: native code calls a function still in bytecode; the interpreter
        runs it with the slice's budget. If the slice ends or the fiber blocks inside it,
        its bytecode frames go into the records, below which native code puts its own."""
        from runtime import vm as vmmod

        vm = self.vm
        fn = self.functions[g]
        native = self.native
        raw = (_I64 * max(1, fn.nparams)).from_address(addr)
        fl = (ctypes.c_double * max(1, fn.nparams)).from_address(addr)
        args = []
        for i in range(fn.nparams):
            k = self._param_kind(fn, i)
            args.append(fl[i] if k == K_FLOAT else raw[i] != 0 if k == K_BOOL
                        else None if k == K_UNIT else raw[i])
        regs = args + vm.pads[g]
        if len(regs) < fn.nregs:
            regs.extend([None] * (fn.nregs - len(regs)))
        frame = vmmod.Frame(fn, vm.codes[g], regs, self._interpreted_parent(g), 0, env,
                            depth)
        budget = self.ctx[0]
        stack = self.ctx[native.CTX_STACK]
        fresh = True
        if self.trace_code:
            # The interpreter's call events come after native code's so far.
            self._trace_drain(self.ctx[native.CTX_TRACE_NOW], perf_counter_ns())
            if self.ctx[native.CTX_TRACE_SKIP]:
                self.ctx[native.CTX_TRACE_SKIP] = 0
                fresh = False          # native code traced this call (its slice went on)
        ctx = self.ctx
        # Where the native code calling is, for a stack sample taken inside this call.
        self.levels.append((1, ctx[native.CTX_SAMPLE_FP], ctx[native.CTX_SAMPLE_ADDR],
                            ctx[native.CTX_SAMPLE_SITE], stack))
        ctx[native.CTX_SAMPLE_SITE] = 0
        self.active = False
        try:
            status = vm._exec(frame, frame, budget, fresh)
            events = vm.events
            while (status == vmmod.YIELD and vm.left <= 0 and events is not None
                   and events.sample_every
                   and self._go_on(lambda: self._interpreted_stack(vm.frame))):
                # A sample (or a slice) ended the run, and the scheduler would go on with
                # this fiber: so does the interpreter, under the native frames waiting.
                status = vm._exec(vm.frame, frame, vm.slice_run, False)
        except BaseException as e:
            self.records.append(("chain", vm.frame if vm.frame is not None else frame, frame))
            self.error = e
            self.ctx[1] = 3
            return 0
        finally:
            self.levels.pop()
            self.active = True
            self.ctx[native.CTX_STACK] = stack
        if status == vmmod.DONE:
            self.ctx[0] = vm.left
            self.ctx[1] = 0
            kind = native.desc_kind(self.program, fn.ret_type)
            v = vm.result
            if not self._to_bits(0, kind, v):
                raise RuntimeError(f"{fn.name} returned {v!r}, not a value of kind {kind}")
            return self.buf[0]
        if status == vmmod.RETRY:
            from runtime.heap_errors import HeapExhausted

            self.records.append(("chain", vm.frame, frame))
            self.error = HeapExhausted(0, vm.heap.in_use, vm.heap.limit)
            self.ctx[1] = 3
            return 0
        self.records.append(("chain", vm.frame, frame))
        self.ctx[0] = vm.left
        self.ctx[1] = 1 if status == vmmod.YIELD else 4
        return 0

    # -- reports ---------------------------------------------------------------------------

    def report(self) -> list[dict]:
        """One row per function: name, tier (0: bytecode), why not, calls, compile time,
        code size: `--jit-stats` and the debugger's `info jit`."""
        rows = []
        for fi, fn in enumerate(self.functions):
            nat = self.natives[fi]
            if nat is not None and nat.entry is not None:
                rows.append({"function": fn.name, "index": fi, "tier": nat.tier,
                             "source": nat.source, "calls": nat.calls, "osr": nat.loops,
                             "compile_ms": nat.compile_seconds * 1000,
                             "code_bytes": nat.code_size, "address": nat.address,
                             "side_exits": nat.side_exits, "reason": ""})
            else:
                rows.append({"function": fn.name, "index": fi, "tier": 0, "source": "",
                             "calls": 0, "osr": 0, "compile_ms": 0.0, "code_bytes": 0,
                             "address": 0, "side_exits": 0,
                             "reason": self.refused.get(fi, "not hot enough")})
        return rows

    def write_stats(self, out: TextIO) -> None:
        rows = self.report()
        compiled = [r for r in rows if r["tier"]]
        out.write(f"jit: mode {self.options.mode}, {len(compiled)} of {len(rows)} functions "
                  f"native, {sum(c.seconds for c in self.compilations) * 1000:.1f} ms "
                  f"compiling\n")
        out.write(f"{'function':<32} {'tier':>4} {'calls':>10} {'osr':>6} {'exits':>6} "
                  f"{'compile ms':>10} {'bytes':>7}  from\n")
        for r in compiled:
            out.write(f"{r['function'][:32]:<32} {r['tier']:>4} {r['calls']:>10} {r['osr']:>6} "
                      f"{r['side_exits']:>6} {r['compile_ms']:>10.2f} {r['code_bytes']:>7}  "
                      f"{r['source']}\n")
        for r in rows:
            if not r["tier"] and r["reason"] != "not hot enough":
                out.write(f"{r['function'][:32]:<32} stays in bytecode: {r['reason']}\n")

    def close(self) -> None:
        """The run is over: unmap the code this JIT linked (nothing may call it again)."""
        _JITS.pop(id(self), None)
        for loaded in self._linked:
            loaded.close()
        self._linked.clear()
        if self.perf_map is not None:
            self.perf_map.close()
        if self.jitdump is not None:
            self.jitdump.close()


def _convert_in_python(base: int, n: int, tsc_a: int, ns_a: int, ns_b: int,
                       k: float) -> None:
    """compiler.native.trace_converter's work, slowly."""
    words = (_I64 * n).from_address(base)
    prev = ns_a
    for i in range(n):
        w = words[i]
        if w >= 0:
            prev = min(ns_b, max(prev, ns_a + int((w - tsc_a) * k)))
            words[i] = prev


_DWARF_MAGIC = b"vyn-dwarf-index 1\n"


def _dwarf_index_cached(obj: bytes, names: dict[str, int]) -> tuple | None:
    """`_dwarf_index`, kept in the build cache's directory (`dwarf/KEY`, KEY from the
    object and the names, with a SHA-256 of the payload): a profile of a run the cache
    serves then needs no pyelftools (about 30 ms to import). With `VYN_CACHE=off`, or
    a damaged file, it is computed."""
    import marshal

    from compiler.image_format import sha256
    from runtime.build_cache import cache_dir, write_atomically

    directory = cache_dir()
    if directory is None:
        return _dwarf_index(obj, names)
    key = sha256(_DWARF_MAGIC + obj + repr(sorted(names.items())).encode()).hexdigest()
    path = os.path.join(directory, "dwarf", key[:40])
    head = len(_DWARF_MAGIC) + 32
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(_DWARF_MAGIC) and sha256(data[head:]).digest() == \
                data[len(_DWARF_MAGIC):head]:
            addrs, lines, inlined = marshal.loads(data[head:])
            return addrs, lines, [tuple(x) for x in inlined]
    except (OSError, ValueError, EOFError, TypeError):
        pass
    dw = _dwarf_index(obj, names)
    if dw is not None:
        payload = marshal.dumps((dw[0], dw[1], [list(x) for x in dw[2]]))
        try:
            write_atomically(path, _DWARF_MAGIC + sha256(payload).digest() + payload)
        except OSError:
            pass                      # an unwritable cache: computed again next time
    return dw


def _dwarf_index(obj: bytes, names: dict[str, int]) -> tuple | None:
    """An object's DWARF for `Jit._chain_at`: the line table (row addresses and lines,
    0 past a sequence's end) and the inlined subroutines (low, high, nesting depth, the
    function inlined or -1 if its name is not one function's, the line of its call);
    addresses as the symbol table's. None without DWARF."""
    import io

    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(obj))
        if not elf.has_dwarf_info():
            return None
        dwarf = elf.get_dwarf_info()
        rows = []
        inlined = []
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            if program is not None:
                for entry in program.get_entries():
                    st = entry.state
                    if st is not None:
                        rows.append((st.address, 0 if st.end_sequence else 1,
                                     0 if st.end_sequence else st.line))
            abbrevs = getattr(cu.get_abbrev_table(), "_abbrev_map", None)
            if abbrevs is not None and not any(ab["tag"] == "DW_TAG_inlined_subroutine"
                                               for ab in abbrevs.values()):
                continue                  # nothing inlined: no need to read its DIEs
            top = cu.get_top_DIE()
            cu_base = top.attributes["DW_AT_low_pc"].value \
                if "DW_AT_low_pc" in top.attributes else 0
            todo = [(top, 0)]
            while todo:
                die, depth = todo.pop()
                for child in die.iter_children():
                    if child.tag == "DW_TAG_inlined_subroutine":
                        origin = child.get_DIE_from_attribute("DW_AT_abstract_origin")
                        name = origin.attributes.get("DW_AT_name")
                        fi = names.get(name.value.decode(), -1) if name is not None else -1
                        call_line = child.attributes["DW_AT_call_line"].value \
                            if "DW_AT_call_line" in child.attributes else 0
                        for lo, hi in _die_ranges(dwarf, child, cu_base):
                            inlined.append((lo, hi, depth + 1, fi, call_line))
                        todo.append((child, depth + 1))
                    elif child.tag in ("DW_TAG_subprogram", "DW_TAG_lexical_block"):
                        todo.append((child, depth))
    except Exception:
        return None
    rows.sort()
    return [r[0] for r in rows], [r[2] for r in rows], inlined


def _die_ranges(dwarf, die, cu_base: int) -> list[tuple[int, int]]:
    attrs = die.attributes
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        lo = attrs["DW_AT_low_pc"].value
        hi = attrs["DW_AT_high_pc"]
        return [(lo, hi.value if hi.form == "DW_FORM_addr" else lo + hi.value)]
    if "DW_AT_ranges" in attrs:
        out = []
        base = cu_base
        for r in dwarf.range_lists().get_range_list_at_offset(attrs["DW_AT_ranges"].value):
            if hasattr(r, "base_address"):
                base = r.base_address
            else:
                out.append((base + r.begin_offset, base + r.end_offset))
        return out
    return []


def symbol_sizes(obj: bytes) -> dict[str, int]:
    """Function symbol -> size in bytes, from an object's symbol table (runtime/elf64.py:
    no pyelftools on the way to running native code)."""
    from runtime import elf64

    try:
        return elf64.function_sizes(obj)
    except Exception:
        return {}


def plain_builtins() -> frozenset[str]:
    """Builtins that neither call back into Vyn code nor wait: native code may call them
    through `vyn_rt_exec`. A call of any other is a side exit: native code leaves there
    and the interpreter makes it (docs/native.md, "Side exits")."""
    from runtime import builtins as rb
    from runtime import sched as rs

    return frozenset({**rb.BUILTINS, **rs.PLAIN})


def attach(vm, options: JitOptions | None) -> Jit | None:
    """Give `vm` a JIT (None for --jit=off)."""
    if options is None or options.mode == OFF:
        return None
    if options.runner == "unicorn":
        from runtime.jit_unicorn import UnicornJit

        jit: Jit = UnicornJit(vm, options)
    else:
        jit = Jit(vm, options)
    if options.image:
        # (A traced run uses only traced code: an image of a traced run's build cache.)
        try:
            jit.read_image(options.image)
        except Exception as e:              # the bytecode still runs
            sys.stderr.write(f"vyn: the image's native code cannot be used ({e}); "
                             "running its bytecode\n")
    if options.mode == EAGER:
        jit.compile_all()
    return jit


__all__ = ["Jit", "JitOptions", "NativeFn", "attach", "NOT_RUN", "EXITED", "MODES",
           "plain_builtins"]
