"""Stack text formats: folded stacks and `perf script` output.

Folded (`folded`): one line per distinct stack, `fiber;outer;...;inner VALUE`, the
input of FlameGraph's flamegraph.pl, inferno and speedscope. The first frame is the
fiber (as stackcollapse-perf.pl puts the process name first); VALUE is CPU nanoseconds,
bytes allocated or the number of samples (`value`).

perf (`perf`): what `perf script` prints for `perf record -g` samples, which FlameGraph's
stackcollapse-perf.pl and speedscope's Linux perf importer read:

    COMM PID/TID [000] SECONDS: PERIOD EVENT:
    \tADDRESS FUNCTION (FILE)        <- innermost frame first
    ...
    (blank line)

COMM is the fiber's name with blanks as `_` (both readers take the command up to the
first blank followed by a number), TID the fiber's number, PERIOD the sample's CPU ns
(event `cpu-clock`) or allocated bytes (event `alloc-bytes`), SECONDS the time since the
run started. ADDRESS is made up, one per (function, line). A trace has no samples, so
its stacks are sampled every `period_ns` of its exact timeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from traces import model as m
from traces.reader import TraceReader
from traces.stacks import StackTable, WeightedStacks, weighted_stacks

VALUES = ("cpu", "alloc", "samples")
DEFAULT_PERIOD_NS = 1_000_000


def value_of(s: m.Sample, value: str) -> int:
    if value == "cpu":
        return s.cpu
    if value == "alloc":
        return s.alloc
    return 1


def frame_name(name: str) -> str:
    """A function name safe in a folded line or a perf frame (no `;`, no newline)."""
    return name.replace(";", ":").replace("\n", " ") or "?"


class FrameNames:
    """Function names per stack node, cached."""

    def __init__(self, reader: TraceReader, table: StackTable):
        self.reader = reader
        self.table = table
        self._names: dict[int, str] = {}
        self._paths: dict[int, str] = {0: ""}

    def name(self, fid: int) -> str:
        n = self._names.get(fid)
        if n is None:
            n = self._names[fid] = frame_name(self.reader.function(fid).name)
        return n

    def path(self, stack: int) -> str:
        """`outer;...;inner` for a stack node."""
        p = self._paths.get(stack)
        if p is None:
            node = self.table.nodes[stack]
            parent = self.path(node.parent) if node.parent else ""
            here = self.name(node.function)
            p = self._paths[stack] = f"{parent};{here}" if parent else here
        return p


def export_folded(reader: TraceReader, out: TextIO, value: str = "cpu") -> int:
    """Write folded stacks (sorted); returns the samples read."""
    samples = weighted_stacks(reader)
    totals: dict[tuple[int, int], int] = {}
    count = 0
    for s in samples:
        count += 1
        v = value_of(s, value)
        if v:
            key = (s.fiber, s.stack)
            totals[key] = totals.get(key, 0) + v
    names = FrameNames(reader, samples.table)
    lines: dict[str, int] = {}
    for (fiber, stack), v in totals.items():
        root = frame_name(samples.fiber_name(fiber))
        path = names.path(stack)
        key = f"{root};{path}" if path else root
        lines[key] = lines.get(key, 0) + v
    for key in sorted(lines):
        out.write(f"{key} {lines[key]}\n")
    return count


def periodic(samples: WeightedStacks, period_ns: int) -> Iterator[m.Sample]:
    """A trace's exact intervals sampled every `period_ns` (each sample weighs the
    periods it stands for); a profile's samples pass through."""
    if samples.reader.mode != "trace":
        yield from samples
        return
    for s in samples:
        # The sample points k * period_ns inside [ts, ts + cpu): one sample at the first,
        # weighing them all (a long interval is one sample, not one per period).
        first = -(-s.ts // period_ns) * period_ns
        end = s.ts + s.cpu
        if first < end:
            k = (end - first - 1) // period_ns + 1
            yield m.Sample(first, s.fiber, s.stack, k * period_ns, 0)


def export_perf(reader: TraceReader, out: TextIO, value: str = "cpu",
                period_ns: int = DEFAULT_PERIOD_NS) -> int:
    """Write `perf script` text; returns the samples written."""
    samples = weighted_stacks(reader)
    names = FrameNames(reader, samples.table)
    nodes = samples.table.nodes
    event = "alloc-bytes" if value == "alloc" else "cpu-clock"
    pid = reader.number("pid")
    frames_text: dict[int, str] = {}
    comms: dict[int, str] = {}
    w = out.write
    count = 0
    for s in periodic(samples, period_ns):
        period = s.alloc if value == "alloc" else s.cpu
        if period <= 0 and value != "samples":
            continue
        if value == "samples":
            period = 1
        text = frames_text.get(s.stack)
        if text is None:
            lines = []
            node = s.stack
            while node:
                n = nodes[node]
                f = reader.function(n.function)
                file = (f.file or "vyn").replace(" ", "_").replace("(", "_").replace(")", "_")
                lines.append(f"\t{(n.function + 1) << 16 | n.line:x} {names.name(n.function)} "
                             f"({file})\n")
                node = n.parent
            text = frames_text[s.stack] = "".join(lines)
        comm = comms.get(s.fiber)
        if comm is None:
            comm = comms[s.fiber] = "_".join(samples.fiber_name(s.fiber).split()) or "vyn"
        w(f"{comm} {pid}/{s.fiber} [000] {s.ts // 1_000_000_000}."
          f"{s.ts % 1_000_000_000:09d}: {period} {event}:\n{text}\n")
        count += 1
    return count
