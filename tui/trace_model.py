"""What `vyn trace show` displays, computed from a trace file in one streaming pass.

No Textual here: `load(reader)` reads the events once (traces/reader.py decodes them a
chunk at a time) and keeps aggregates whose size is bounded by the program (its
functions, distinct call paths and fibers) plus capped tables:

- the **timeline**: per fiber, the call slices of the outermost LANE_DEPTH depths (a
  profile has no calls: its scheduler slices, `run`), at most MAX_SLICES in all;
- the **call tree** (the flame graph and the top functions): each distinct call path
  (fiber, function, function, ...) with the time spent in it. From a trace the time
  between two consecutive events of the running fiber is spent in its stack of the moment
  (as traces/stacks.py derives samples); from a profile each sample's CPU ns and bytes;
- **collections and regions**, and **messages** (each send with its receive), at most
  MAX_ROWS rows each.

What does not fit a cap is counted (`dropped_*`), and the app says so.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from traces import model as m
from traces.reader import TraceReader

LANE_DEPTH = 6            # call depths kept per fiber for the timeline
MAX_SLICES = 400_000      # timeline slices kept in all
MAX_ROWS = 20_000         # rows of the collections and messages tables
RUN = -(1 << 62)          # the "function" of a scheduler slice (a profile's timeline)


def fmt_ns(ns: float) -> str:
    """A duration, short: `850 ns`, `12.3 µs`, `4.56 ms`, `1.234 s`."""
    ns = float(ns)
    a = abs(ns)
    if a < 1_000:
        return f"{ns:.0f} ns"
    if a < 1_000_000:
        return f"{ns / 1e3:.1f} µs"
    if a < 1_000_000_000:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.3f} s"


def fmt_bytes(n: int) -> str:
    for div, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


@dataclass
class Lane:
    """A fiber's rows in the timeline."""

    fiber: int
    name: str
    kind: str
    state: str = ""


class Row:
    """The slices of one (fiber, depth), in time order: parallel arrays."""

    __slots__ = ("starts", "ends", "functions")

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")
        self.functions = array("q")

    def __len__(self) -> int:
        return len(self.starts)

    def visible(self, t0: int, t1: int) -> range:
        """Indexes of the slices that overlap [t0, t1)."""
        # Slices of one row do not overlap, so ends are in order too.
        return range(bisect_right(self.ends, t0), bisect_left(self.starts, t1))

    def at(self, ts: int) -> int | None:
        """The slice that covers `ts`, or the first one after it (None: none)."""
        i = bisect_right(self.ends, ts)
        if i < len(self.starts) and self.starts[i] <= ts:
            return i
        return i if i < len(self.starts) else None


@dataclass
class Message:
    flow: int
    sent: int
    sender: int
    target: str
    receiver: int
    received: int | None = None
    by: int | None = None


@dataclass
class Event:
    """A row of the collections and regions table."""

    ts: int
    what: str
    fiber: int
    duration: int | None
    detail: str


@dataclass
class FunctionStats:
    function: int
    calls: int = 0
    self_value: int = 0
    total_value: int = 0
    self_alloc: int = 0
    total_alloc: int = 0


@dataclass
class TraceModel:
    """Everything the views show. Node 0 of the call tree is the root (the run); its
    children are fibers (function -fiber), theirs functions."""

    path: str
    mode: str
    program: str
    duration: int = 0
    first: int = 0            # when the first slice starts (the timeline starts there)
    events: int = 0
    lanes: dict[int, Lane] = field(default_factory=dict)
    rows: dict[tuple[int, int], Row] = field(default_factory=dict)
    dropped_slices: int = 0
    unfinished: set = field(default_factory=set)    # (fiber, depth, index)
    # the call tree
    parent: list[int] = field(default_factory=lambda: [0])
    function: list[int] = field(default_factory=lambda: [0])
    self_value: list[int] = field(default_factory=lambda: [0])
    self_alloc: list[int] = field(default_factory=lambda: [0])
    total_value: list[int] = field(default_factory=list)
    total_alloc: list[int] = field(default_factory=list)
    children: list[list[int]] = field(default_factory=list)
    functions: dict[int, m.FunctionInfo] = field(default_factory=dict)
    top: list[FunctionStats] = field(default_factory=list)
    collections: list[Event] = field(default_factory=list)
    dropped_collections: int = 0
    messages: list[Message] = field(default_factory=list)
    dropped_messages: int = 0
    samples: int = 0

    @property
    def has_samples(self) -> bool:
        return self.mode == "profile"

    def function_name(self, fid: int) -> str:
        if fid == RUN:
            return "run"
        if fid < 0:
            lane = self.lanes.get(-fid)
            return lane.name if lane else f"fiber {-fid}"
        f = self.functions.get(fid)
        return f.name if f else f"function #{fid}"

    def where(self, fid: int) -> str:
        """The function's source: `file:line` of its declaration."""
        f = self.functions.get(fid)
        return f"{f.file}:{f.line}" if f and f.file else ""

    def lane_rows(self) -> list[tuple[int, int]]:
        """The timeline's rows, (fiber, depth), fibers in number order."""
        out = []
        for fiber in sorted(self.lanes):
            depths = sorted(d for (f, d) in self.rows if f == fiber)
            out.extend((fiber, d) for d in (depths or [0]))
        return out

    def row(self, fiber: int, depth: int) -> Row:
        r = self.rows.get((fiber, depth))
        return r if r is not None else _EMPTY

    def node_path(self, node: int) -> list[int]:
        """The nodes from the root's child down to `node`."""
        out = []
        while node:
            out.append(node)
            node = self.parent[node]
        out.reverse()
        return out


_EMPTY = Row()


def load(reader: TraceReader) -> TraceModel:
    """The model of the trace `reader` reads, in one pass over its events.

    Raises:
        TraceFormatError: a chunk cannot be decoded.
    """
    tm = TraceModel(reader.path, reader.mode, reader.info.get("program", "?"))
    profile = reader.mode == "profile"
    lanes = tm.lanes
    rows = tm.rows
    parent, function = tm.parent, tm.function
    self_value, self_alloc = tm.self_value, tm.self_alloc
    tree: dict[tuple[int, int], int] = {}
    calls: dict[int, int] = {}
    stacks: dict[int, list] = {}          # fiber -> [(node, function, start)], innermost last
    runs: dict[int, int] = {}             # fiber -> start of its open scheduler slice
    sample_nodes: dict[tuple[int, int], int] = {}
    sends: dict[int, Message] = {}
    regions: dict[tuple[int, int], int] = {}
    kept = 0
    current = 0
    last = None
    count = 0
    end = 0
    Call, Return = m.Call, m.Return

    def node_of(par: int, fid: int) -> int:
        key = (par, fid)
        n = tree.get(key)
        if n is None:
            n = tree[key] = len(parent)
            parent.append(par)
            function.append(fid)
            self_value.append(0)
            self_alloc.append(0)
        return n

    def add_slice(fiber: int, depth: int, start: int, stop: int, fid: int) -> bool:
        nonlocal kept
        if kept >= MAX_SLICES:
            tm.dropped_slices += 1
            return False
        r = rows.get((fiber, depth))
        if r is None:
            r = rows[(fiber, depth)] = Row()
        r.starts.append(start)
        r.ends.append(stop)
        r.functions.append(fid)
        kept += 1
        return True

    def lane(fiber: int) -> Lane:
        ln = lanes.get(fiber)
        if ln is None:
            ln = lanes[fiber] = Lane(fiber, f"fiber {fiber}", "?")
        return ln

    for ev in reader.events():
        count += 1
        t = type(ev)
        if t is Call or t is Return:
            fiber = ev.fiber
            ts = ev.ts
            st = stacks.get(fiber)
            if st is None:
                st = stacks[fiber] = []
                lane(fiber)
            if st and last is not None and ts > last:
                self_value[st[-1][0]] += ts - last
            last = ts
            if t is Call:
                fid = ev.function
                n = node_of(st[-1][0] if st else node_of(0, -fiber), fid)
                st.append((n, fid, ts))
                calls[fid] = calls.get(fid, 0) + 1
            elif st:
                n, fid, start = st.pop()
                if len(st) < LANE_DEPTH:
                    add_slice(fiber, len(st), start, ts, fid)
            continue
        ts = ev.ts
        if ts > end:
            end = ts
        if t is m.Sample:
            tm.samples += 1
            key = (ev.fiber, ev.stack)
            n = sample_nodes.get(key)
            if n is None:
                n = node_of(0, -ev.fiber)
                for node in reader.frames(ev.stack):
                    n = node_of(n, node.function)
                sample_nodes[key] = n
            self_value[n] += ev.cpu
            self_alloc[n] += ev.alloc
            continue
        if t is m.FiberRun or t is m.FiberBlock or t is m.FiberDone or t is m.Panic:
            st = stacks.get(current)
            if st and last is not None and ts > last:
                self_value[st[-1][0]] += ts - last
            if t is m.FiberRun:
                if profile:
                    prev = runs.pop(current, None)
                    if prev is not None:
                        add_slice(current, 0, prev, ts, RUN)
                    runs[ev.fiber] = ts
                current = ev.fiber
                last = ts
                lane(current)
            else:
                last = None
                if profile and t is not m.Panic:
                    prev = runs.pop(ev.fiber, None)
                    if prev is not None:
                        add_slice(ev.fiber, 0, prev, ts, RUN)
                if t is m.FiberDone:
                    lane(ev.fiber).state = ev.state
                elif t is m.FiberBlock:
                    lane(ev.fiber).state = f"blocked on {ev.what}"
                elif t is m.Panic:
                    lane(ev.fiber).state = "panicked"
                    _close_stacks(tm, stacks, ts, add_slice)
        elif t is m.FiberSpawn:
            ln = lane(ev.fiber)
            ln.name, ln.kind = ev.name or f"{ev.kind} {ev.fiber}", ev.kind
        elif t is m.Send:
            if len(tm.messages) < MAX_ROWS:
                msg = Message(ev.flow, ts, ev.fiber, ev.target, ev.receiver)
                tm.messages.append(msg)
                sends[ev.flow] = msg
            else:
                tm.dropped_messages += 1
        elif t is m.Receive:
            msg = sends.pop(ev.flow, None)
            if msg is not None:
                msg.received, msg.by = ts, ev.fiber
        elif t is m.Collection:
            _row(tm, Event(ts - ev.duration, f"{ev.kind} collection", 0, ev.duration,
                           f"{ev.why}: {fmt_bytes(ev.before)} → {fmt_bytes(ev.after)}, "
                           f"freed {fmt_bytes(ev.freed)}"))
        elif t is m.RegionEnter:
            regions[(ev.fiber, ev.region)] = ts
        elif t is m.RegionExit:
            start = regions.pop((ev.fiber, ev.region), None)
            _row(tm, Event(ts if start is None else start, f"region #{ev.region}", ev.fiber,
                           None if start is None else ts - start,
                           f"released {ev.objects:,} objects, {fmt_bytes(ev.nbytes)}"))
    tm.events = count
    end = max(end, last or 0, reader.duration() or 0)
    for row in rows.values():
        if row.ends:
            end = max(end, row.ends[-1])
    tm.duration = end
    starts = [r.starts[0] for r in rows.values() if r.starts]
    tm.first = min(starts) if starts else 0
    _close_stacks(tm, stacks, end, add_slice)
    if profile:
        for fiber, start in runs.items():
            if add_slice(fiber, 0, start, end, RUN):
                tm.unfinished.add((fiber, 0, len(tm.row(fiber, 0)) - 1))
    for r in rows.values():
        _sort(r)
    tm.collections.sort(key=lambda e: e.ts)       # by when they began
    tm.functions = dict(reader.functions)
    _totals(tm, calls)
    return tm


def _row(tm: TraceModel, ev: Event) -> None:
    if len(tm.collections) < MAX_ROWS:
        tm.collections.append(ev)
    else:
        tm.dropped_collections += 1


def _close_stacks(tm: TraceModel, stacks: dict, ts: int, add_slice) -> None:
    """Calls still open (the trace ended, or a panic abandoned them) end at `ts`."""
    for fiber, st in stacks.items():
        while st:
            _n, fid, start = st.pop()
            if len(st) < LANE_DEPTH and add_slice(fiber, len(st), start, max(ts, start), fid):
                tm.unfinished.add((fiber, len(st), len(tm.row(fiber, len(st))) - 1))


def _sort(r: Row) -> None:
    """Slices arrive in the order their calls return (closed ones at the end): a row in
    start order, which for one depth of a fiber is also end order."""
    starts = r.starts
    if all(starts[i] <= starts[i + 1] for i in range(len(starts) - 1)):
        return
    order = sorted(range(len(starts)), key=starts.__getitem__)
    r.starts = array("q", (starts[i] for i in order))
    r.ends = array("q", (r.ends[i] for i in order))
    r.functions = array("q", (r.functions[i] for i in order))


def _totals(tm: TraceModel, calls: dict[int, int]) -> None:
    """Inclusive values per node, and per function self and total (a recursive function's
    total counts its outermost frame only)."""
    n = len(tm.parent)
    total = list(tm.self_value)
    alloc = list(tm.self_alloc)
    children: list[list[int]] = [[] for _ in range(n)]
    for node in range(n - 1, 0, -1):
        p = tm.parent[node]
        total[p] += total[node]
        alloc[p] += alloc[node]
        children[p].append(node)
    for c in children:
        c.reverse()
    tm.total_value, tm.total_alloc, tm.children = total, alloc, children
    stats: dict[int, FunctionStats] = {}
    for fid, k in calls.items():
        stats[fid] = FunctionStats(fid, calls=k)
    on_path: dict[int, int] = {}
    todo: list[tuple[int, bool]] = [(c, True) for c in reversed(children[0])]
    while todo:
        node, entering = todo.pop()
        fid = tm.function[node]
        if fid < 0:                  # a fiber
            if entering:
                todo.extend((c, True) for c in reversed(children[node]))
            continue
        if entering:
            s = stats.get(fid)
            if s is None:
                s = stats[fid] = FunctionStats(fid)
            s.self_value += tm.self_value[node]
            s.self_alloc += tm.self_alloc[node]
            if not on_path.get(fid):
                s.total_value += total[node]
                s.total_alloc += alloc[node]
            on_path[fid] = on_path.get(fid, 0) + 1
            todo.append((node, False))
            todo.extend((c, True) for c in reversed(children[node]))
        else:
            on_path[fid] -= 1
    tm.top = sorted(stats.values(), key=lambda s: (-s.self_value, -s.total_value,
                                                   -s.calls, s.function))
