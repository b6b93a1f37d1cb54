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
- `call(vm, frame)` / `ret(vm, frame, value)`: a Vyn frame starts / returns, in every
  tier (they are the VM's call hooks, shared with the debugger's stepping). A frame
  abandoned by a panic sends no `ret`.
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
