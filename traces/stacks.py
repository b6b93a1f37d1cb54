"""Weighted stacks: what the profile exporters (pprof, folded, SVG, perf, speedscope) read.

A profile (`vyn run --profile`) has them already: its samples, each with a stack of the
file's stack table, CPU ns and bytes allocated since the previous sample. A trace (`vyn
run --trace`) has every call and return instead, so `weighted_stacks` derives them
exactly: the time between two consecutive events of a running fiber is spent in the
fiber's stack of that moment, one `Sample` per interval (allocation 0). Frames of derived
stacks carry the function's first line, since a trace records no pcs.

`StackTable` interns stacks as a tree, (parent, function, line) -> id, as the file's
stack table does; ids start at 1 and 0 is the empty stack.
"""

from __future__ import annotations

from collections.abc import Iterator

from traces import model as m
from traces.reader import TraceReader


class StackTable:
    """Stacks as a tree of (parent, function, line) nodes."""

    def __init__(self, nodes: list[m.StackNode] | None = None):
        self.nodes: list[m.StackNode] = nodes if nodes is not None else [m.StackNode(0, 0, 0)]
        self._ids: dict[tuple[int, int, int], int] | None = None

    def intern(self, parent: int, function: int, line: int) -> int:
        ids = self._ids
        if ids is None:
            ids = self._ids = {tuple(n): i for i, n in enumerate(self.nodes) if i}
        key = (parent, function, line)
        i = ids.get(key)
        if i is None:
            i = ids[key] = len(self.nodes)
            self.nodes.append(m.StackNode(parent, function, line))
        return i

    def frames(self, stack: int) -> list[m.StackNode]:
        """The nodes of `stack`, outermost first."""
        out = []
        nodes = self.nodes
        while 0 < stack < len(nodes):
            node = nodes[stack]
            out.append(node)
            stack = node.parent
        out.reverse()
        return out


class WeightedStacks:
    """The samples of a run (see the module docstring), read once by iterating.

    Attributes:
        table: the stacks the samples name (it grows while they are read).
        fibers: fiber id -> name, filled while the samples are read.
    """

    def __init__(self, reader: TraceReader):
        self.reader = reader
        self.fibers: dict[int, str] = {}
        if reader.mode == "trace":
            self.table = StackTable()
            self._stream = _from_calls(reader, self.table, self.fibers)
        else:
            self.table = StackTable(reader.stacks)
            self._stream = _samples(reader, self.fibers)

    def __iter__(self) -> Iterator[m.Sample]:
        return self._stream

    def fiber_name(self, fiber: int) -> str:
        return self.fibers.get(fiber) or f"fiber {fiber}"


def weighted_stacks(reader: TraceReader) -> WeightedStacks:
    return WeightedStacks(reader)


def _samples(reader: TraceReader, fibers: dict[int, str]) -> Iterator[m.Sample]:
    for ev in reader.events():
        t = type(ev)
        if t is m.Sample:
            yield ev
        elif t is m.FiberSpawn:
            fibers[ev.fiber] = ev.name


def _from_calls(reader: TraceReader, table: StackTable,
                fibers: dict[int, str]) -> Iterator[m.Sample]:
    stacks: dict[int, list[int]] = {}      # fiber -> its stack ids, innermost last
    lines: dict[int, int] = {}
    current = 0
    last = None                            # time of the running fiber's previous event
    intern = table.intern
    Call, Return, Sample = m.Call, m.Return, m.Sample
    for ev in reader.events():
        t = type(ev)
        if t is Call or t is Return:
            fiber = ev.fiber
            stack = stacks.get(fiber)
            if stack is None:
                stack = stacks[fiber] = []
            ts = ev.ts
            if stack and last is not None and ts > last:
                yield Sample(last, fiber, stack[-1], ts - last, 0)
            last = ts
            if t is Call:
                fid = ev.function
                line = lines.get(fid)
                if line is None:
                    line = lines[fid] = reader.function(fid).line
                stack.append(intern(stack[-1] if stack else 0, fid, line))
            elif stack:
                stack.pop()
        elif t is m.FiberSpawn:
            fibers[ev.fiber] = ev.name
        elif t is m.FiberRun or t is m.FiberBlock or t is m.FiberDone or t is m.Panic:
            stack = stacks.get(current)
            if stack and last is not None and ev.ts > last:
                yield Sample(last, current, stack[-1], ev.ts - last, 0)
            if t is m.FiberRun:
                current = ev.fiber
                last = ev.ts
            elif t is m.Panic:
                stacks.clear()
                last = None
            else:
                last = None
