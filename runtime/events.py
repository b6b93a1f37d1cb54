"""The runtime's event hooks: what a tracer or profiler receives while a program runs.

`VM.attach_events(sink)` connects an `EventSink`; with none attached (the default) the
runtime checks one attribute at each place below and does nothing else, so a run that
is not traced costs nothing more. The trace recorder (`traces/`) and anything else that
wants the events subclasses `EventSink` and overrides what it needs; the runtime never
imports them.

Times are not passed: a sink reads its own monotonic clock (`time.perf_counter_ns`) and,
to line a run up with a replay, the scheduler's step count (`vm.sched.step`, the number
of slices run so far).

Events, and where the runtime sends them:
- `call(vm, frame)` / `ret(vm, frame, value)`: a Vyn frame starts / returns in the
  interpreter (they are the VM's call hooks, shared with the debugger's stepping). A frame
  abandoned by a panic sends no `ret`.
- `native_calls(fiber, tier, words, osr)`: the calls and returns native code made since
  it last handed control back, in order, all in `fiber` (the running one): `words` is the
  trace file's call column (docs/trace-format.md), little-endian i64 bytes, times in
  monotonic ns; `tier` "tier1" or "tier2"; `osr` the function native code was entered at
  by on-stack replacement (-1: none). Together with `call`/`ret` they are every call of
  every tier, balanced: a native frame that deoptimizes goes on as a bytecode frame whose
  return is a `ret` (no second call); a call whose slice ends before its body runs is in
  `words`. Sent only to a sink that overrides it (`takes_native_calls`): for any other
  sink that wants calls, the JIT leaves traced runs to the interpreter.
- `fiber_spawn(fiber)`, `fiber_run(fiber)` (a slice of it begins), `fiber_block(fiber,
  wait)`, `fiber_done(fiber)` (it finished, or went idle: an actor or pool worker with
  nothing to do; `fiber.state` says which).
- `send(message)` when a value is queued in a mailbox or channel; `receive(message,
  fiber)` when it is taken. `message.id` is the flow id linking the two.
- `gc(kind, why, before, after, freed, seconds)`: one collection (kind "minor"/"full").
- `region(entered, region_id, objects, nbytes)`: a `scoped` region entered or exited.
- `panic(error)`: the program panicked (`error.fiber`, `error.frames`); also a deadlock.
- `user(category, name)`: the program's `trace_event(category, name)`.
- `sample(fiber, frames, allocated)`: a stack sample, every `sample_every` reductions
  of the running fiber when that is not 0. `frames` are (Function, pc), innermost first;
  `allocated` is the heap's running total of bytes allocated (`Heap.allocated_bytes`).
  Where bytes are allocated is not this event's business: `watch_allocations` (below)
  samples the stack that allocates, every so many bytes (traces/recorder.py uses both).
- `jit_compile(function, tier, seconds, code_bytes, address)`: the JIT (runtime/jit.py)
  loaded native code for `function` (a `Function`; its `.index`): `tier` is "tier1" or
  "tier2", `seconds` its share of the module's compile time (0 for an image's code),
  `code_bytes` its machine code, `address` its fast entry in MCJIT's memory.
- `tier_change(function, old, new)`: `function` now runs in tier `new` ("bytecode",
  "tier1", "tier2"); sent after its `jit_compile`.
"""

from __future__ import annotations


class EventSink:
    """Receives runtime events; every method does nothing by default."""

    sample_every = 0      # reductions between stack samples; 0: no samples
    wants_calls = True    # whether call/ret are wanted (they cost a call per Vyn call)

    def call(self, vm, frame) -> None:
        """A frame started (frame.pc == 0)."""

    def native_calls(self, fiber, tier: str, words: bytes, osr: int) -> None:
        """Native code's calls and returns, in the call column's encoding."""

    def ret(self, vm, frame, value) -> None:
        """`frame` returns `value`."""

    def fiber_spawn(self, fiber) -> None:
        """A fiber was created (it has not run yet)."""

    def fiber_run(self, fiber) -> None:
        """A slice of `fiber` begins."""

    def fiber_block(self, fiber, wait) -> None:
        """`fiber` waits (`wait.what` says on what)."""

    def fiber_done(self, fiber) -> None:
        """`fiber` finished, or went idle (`fiber.state`)."""

    def send(self, message) -> None:
        """A message was queued (`message.id` is its flow id)."""

    def receive(self, message, fiber) -> None:
        """`fiber` took `message`."""

    def gc(self, kind: str, why: str, before: int, after: int, freed: int,
           seconds: float) -> None:
        """A collection ran."""

    def region(self, entered: bool, region_id: int, objects: int, nbytes: int) -> None:
        """A `scoped` region was entered (objects and bytes 0) or exited."""

    def panic(self, error) -> None:
        """The program panicked or deadlocked."""

    def user(self, category: str, name: str) -> None:
        """`trace_event(category, name)`."""

    def sample(self, fiber, frames: list, allocated: int) -> None:
        """A stack sample of the running fiber."""

    def jit_compile(self, function, tier: str, seconds: float, code_bytes: int,
                    address: int) -> None:
        """Native code for `function` was loaded (compiled, or from an image)."""

    def tier_change(self, function, old: str, new: str) -> None:
        """`function` moved from tier `old` to tier `new`."""


def takes_native_calls(sink) -> bool:
    """Whether `sink` wants calls and overrides `native_calls` (then the JIT compiles
    traced code for it)."""
    if sink is None or not sink.wants_calls:
        return False
    method = getattr(sink, "native_calls", None)
    return getattr(method, "__func__", method) is not EventSink.native_calls


class CallHooks:
    """The VM's call hooks when both a debugger's stepping and an event sink want calls:
    each event goes to both, the debugger first (it may stop the program)."""

    __slots__ = ("first", "second")

    def __init__(self, first, second):
        self.first = first
        self.second = second

    def call(self, vm, frame) -> None:
        self.first.call(vm, frame)
        self.second.call(vm, frame)

    def ret(self, vm, frame, value) -> None:
        self.first.ret(vm, frame, value)
        self.second.ret(vm, frame, value)


ALLOC_SAMPLE_BYTES = 16 << 10     # bytes allocated between two allocation samples


def watch_allocations(vm, every: int, sample) -> None:
    """Call `sample(frame, pc)` for the allocation that brings the heap's running total
    (`Heap.allocated_bytes`) past each multiple of `every` bytes, with the stack that
    allocated: its innermost frame and pc. An allocation profile attributes the bytes
    since the previous such sample to that stack (as Go's heap profile does), instead of
    to wherever the next stack sample happens to land.

    The heap's allocation methods are wrapped on this one heap object (nothing changes
    for a run without a profile). In the interpreter the VM's innermost frame is current
    at every instruction that allocates; in native code (`vyn_rt_exec` with the JIT
    active) the frame that allocated leaves native code right after the instruction
    (`Jit.alloc_due`), and the sample is taken on the rebuilt frames."""
    heap = vm.heap
    nxt = [heap.allocated_bytes + every]

    def crossed() -> None:
        total = heap.allocated_bytes
        nxt[0] = total - total % every + every
        jit = vm.jit
        if jit is not None and jit.active:
            jit.alloc_due = sample          # taken by the JIT once its frames are rebuilt
            return
        frame = vm.frame
        if frame is not None:
            sample(frame, frame.pc)

    def wrap(orig):
        def alloc(*args):
            addr = orig(*args)
            if heap.allocated_bytes >= nxt[0]:
                crossed()
            return addr
        alloc.__name__ = orig.__name__
        alloc.__doc__ = orig.__doc__
        return alloc

    for name in ("alloc", "alloc_rc", "alloc_bytes"):
        setattr(heap, name, wrap(getattr(heap, name)))
