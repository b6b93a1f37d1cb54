"""The event model: what a trace file holds, as the reader hands it out.

Every event is a NamedTuple whose first field is `ts`, nanoseconds since the run started
(the recorder's monotonic clock). Fibers are numbered as the scheduler numbers them (main
is 1); 0 means none. Strings are resolved; functions and stacks are ids into the reader's
tables (`FunctionInfo`, `StackNode`).
"""

from __future__ import annotations

from typing import NamedTuple


class FunctionInfo(NamedTuple):
    id: int
    name: str
    file: str
    line: int


class StackNode(NamedTuple):
    """One frame of the stack table: `parent` is the caller's node (0: none)."""

    parent: int
    function: int
    line: int


class Call(NamedTuple):
    ts: int
    fiber: int
    function: int


class Return(NamedTuple):
    ts: int
    fiber: int


class FiberSpawn(NamedTuple):
    ts: int
    fiber: int
    parent: int
    kind: str
    name: str


class FiberRun(NamedTuple):
    """A slice of `fiber` begins; `step` is the scheduler's step count."""

    ts: int
    fiber: int
    step: int


class FiberBlock(NamedTuple):
    ts: int
    fiber: int
    what: str


class FiberDone(NamedTuple):
    """`fiber` finished, or went idle (`state`)."""

    ts: int
    fiber: int
    state: str


class Send(NamedTuple):
    """A message was queued; `flow` links it to its `Receive`. `receiver` is a fiber for
    `target` "actor", a channel number for "channel"."""

    ts: int
    flow: int
    fiber: int
    target: str
    receiver: int


class Receive(NamedTuple):
    ts: int
    flow: int
    fiber: int


class Collection(NamedTuple):
    """A garbage collection that ended at `ts` and took `duration` ns."""

    ts: int
    kind: str
    why: str
    before: int
    after: int
    freed: int
    duration: int


class RegionEnter(NamedTuple):
    ts: int
    fiber: int
    region: int


class RegionExit(NamedTuple):
    ts: int
    fiber: int
    region: int
    objects: int
    nbytes: int


class Panic(NamedTuple):
    ts: int
    fiber: int
    message: str
    stack: int


class UserEvent(NamedTuple):
    """`trace_event(category, name)`."""

    ts: int
    fiber: int
    category: str
    name: str


class Sample(NamedTuple):
    """A stack sample: `cpu` ns and `alloc` bytes since the previous sample; `native`: how
    many of its innermost frames were running native code (0: the interpreter)."""

    ts: int
    fiber: int
    stack: int
    cpu: int
    alloc: int
    native: int = 0


class HeapCounter(NamedTuple):
    ts: int
    in_use: int
    allocated: int


class JitCompile(NamedTuple):
    """Native code for `function` was loaded: `tier` ("tier1", "tier2"), its compile time,
    size and address."""

    ts: int
    function: int
    tier: str
    duration: int
    code_bytes: int
    address: int


class NativeCalls(NamedTuple):
    """The next `words` words of the call column (its calls and returns, in `fiber`) were
    written by native code of `tier`; `osr`: the function native code was entered at by
    on-stack replacement (-1: none)."""

    ts: int
    fiber: int
    tier: str
    words: int
    osr: int


class TierChange(NamedTuple):
    """`function` went from tier `old` to `new` ("bytecode", "tier1", "tier2")."""

    ts: int
    function: int
    old: str
    new: str


class Unknown(NamedTuple):
    """A record of a kind this reader does not know (a newer writer's), kept by kind."""

    ts: int
    kind: int
