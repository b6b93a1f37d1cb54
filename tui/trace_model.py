"""What `vyn trace show` displays, computed from a trace file in one streaming pass.

No Textual here: `load(reader)` reads the events once (traces/reader.py decodes them a
chunk at a time, and hands the calls over as the file's own call column, `CallRun`, so
that a million calls cost no million tuples) and keeps:

- the **timeline**: per fiber, every call, at every depth: a `Row` per (fiber, depth),
  three compact arrays (start, end, function: 20 bytes a call) sorted by time. A profile
  has no calls: its scheduler slices (`run`) are depth 0. Collections are a `collector`
  lane of their own (fiber COLLECTOR). These arrays are the index the timeline draws
  from: a column of the screen costs two binary searches in a row (slices narrower than
  a column are merged into one cell), and the deepest call of a fiber within a window
  one binary search over its depths (a callee lies within its caller), so zoom and pan
  cost the same on a trace of any length;
- **instants** per fiber (panics, `trace_event`s, sends and receives), compact arrays too,
  and how to find a message's receive from its send (`receive_of`);
- the **call tree** (the flame graph and the top functions): each distinct call path
  (fiber, function, function, ...) with the time spent in it. From a trace the time
  between two consecutive events of the running fiber is spent in its stack of the moment
  (as traces/stacks.py derives samples), and the bytes allocated between two heap
  counters (at most one a millisecond) in the stack running at the second; from a
  profile each sample's CPU ns and bytes;
- **collections and regions**, and **messages** (each send with its receive), at most
  MAX_ROWS rows each for their tables (what does not fit is counted, `dropped_*`, and the
  app says so; the timeline keeps them all).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from traces import model as m
from traces.reader import CallRun, TraceReader

MAX_ROWS = 20_000         # rows of the collections and messages tables
# Timeline slices that are not calls have these "functions" (the call tree's fibers are
# -fiber: these are below any).
RUN = -(1 << 30)          # a scheduler slice (a profile's timeline)
GC_MINOR = RUN - 1        # the collector lane's slices
GC_FULL = RUN - 2
COLLECTOR = -1            # the collector lane's "fiber"
INSTANTS = -1             # the depth of a lane's row of instants

# Instant kinds.
USER, PANIC, SEND, RECEIVE = 0, 1, 2, 3
INSTANT_NAMES = {USER: "event", PANIC: "panic", SEND: "send", RECEIVE: "receive"}


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
    """The slices of one (fiber, depth), in time order: parallel arrays. Slices of one
    row do not overlap, so their ends are in order too."""

    __slots__ = ("starts", "ends", "functions")

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")
        self.functions = array("i")

    def __len__(self) -> int:
        return len(self.starts)

    def _first_in(self, t0: int) -> int:
        """The first slice that ends after t0, or is a zero-length one at t0."""
        i = bisect_right(self.ends, t0)
        while i > 0 and self.starts[i - 1] == t0:       # [t0, t0]: a call of 0 ns
            i -= 1
        return i

    def visible(self, t0: int, t1: int) -> range:
        """Indexes of the slices that overlap [t0, t1) (a call of 0 ns: if it is in it)."""
        return range(self._first_in(t0), bisect_left(self.starts, t1))

    def any_in(self, t0: int, t1: int) -> bool:
        i = self._first_in(t0)
        return i < len(self.starts) and self.starts[i] < t1

    def covering(self, ts: int) -> int | None:
        """The slice that covers `ts` (start <= ts <= end), or None."""
        i = bisect_left(self.ends, ts)
        if i < len(self.starts) and self.starts[i] <= ts:
            return i
        return None

    def at(self, ts: int) -> int | None:
        """The slice that covers `ts`, or the first one after it (None: none)."""
        i = bisect_right(self.ends, ts)
        if i < len(self.starts) and self.starts[i] <= ts:
            return i
        return i if i < len(self.starts) else None


class Instants:
    """A fiber's instants in time order: when, what (USER, PANIC, SEND, RECEIVE), a
    reference (USER: an index into the model's user events; PANIC: into its panics;
    SEND, RECEIVE: the flow id) and the function running in the fiber then (-1: none)."""

    __slots__ = ("ts", "kinds", "refs", "functions")

    def __init__(self) -> None:
        self.ts = array("q")
        self.kinds = array("b")
        self.refs = array("q")
        self.functions = array("i")

    def __len__(self) -> int:
        return len(self.ts)

    def add(self, ts: int, kind: int, ref: int, fid: int) -> None:
        self.ts.append(ts)
        self.kinds.append(kind)
        self.refs.append(ref)
        self.functions.append(fid)

    def visible(self, t0: int, t1: int) -> range:
        """Indexes of the instants in [t0, t1)."""
        return range(bisect_left(self.ts, t0), bisect_left(self.ts, t1))

    def nearest(self, ts: int) -> int | None:
        if not self.ts:
            return None
        i = bisect_left(self.ts, ts)
        if i == len(self.ts) or (i > 0 and ts - self.ts[i - 1] <= self.ts[i] - ts):
            i -= 1
        return i


@dataclass
class PanicInfo:
    ts: int
    fiber: int
    message: str
    frames: list[tuple[int, int]]       # (function, line), outermost first


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


class Flows:
    """Sends or receives: flow id, time, fiber, as arrays sorted by flow (`find`)."""

    __slots__ = ("flows", "ts", "fibers")

    def __init__(self) -> None:
        self.flows = array("q")
        self.ts = array("q")
        self.fibers = array("q")

    def add(self, flow: int, ts: int, fiber: int) -> None:
        self.flows.append(flow)
        self.ts.append(ts)
        self.fibers.append(fiber)

    def sort(self) -> None:
        f = self.flows
        if all(f[i] <= f[i + 1] for i in range(len(f) - 1)):
            return
        order = sorted(range(len(f)), key=f.__getitem__)
        self.flows = array("q", (f[i] for i in order))
        self.ts = array("q", (self.ts[i] for i in order))
        self.fibers = array("q", (self.fibers[i] for i in order))

    def find(self, flow: int) -> tuple[int, int] | None:
        """(time, fiber) of `flow`, or None."""
        i = bisect_left(self.flows, flow)
        if i < len(self.flows) and self.flows[i] == flow:
            return self.ts[i], self.fibers[i]
        return None


SORT_KEYS = ("self", "total", "calls", "self_alloc", "total_alloc", "name")


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
    depths: dict[int, list[Row]] = field(default_factory=dict)    # fiber -> rows by depth
    instants: dict[int, Instants] = field(default_factory=dict)
    unfinished: set = field(default_factory=set)    # (fiber, depth, start)
    user_categories: list[str] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)
    panics: list[PanicInfo] = field(default_factory=list)
    sends: Flows = field(default_factory=Flows)
    receives: Flows = field(default_factory=Flows)
    gc_details: list[str] = field(default_factory=list)     # per collector-lane slice
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

    @property
    def has_alloc(self) -> bool:
        """Whether anything was allocated: a profile's samples, a trace's heap counters."""
        return bool(self.total_alloc and self.total_alloc[0])

    @property
    def calls(self) -> int:
        """Slices in the timeline (calls, or a profile's scheduler slices)."""
        return sum(len(r) for fiber, rows in self.depths.items() if fiber != COLLECTOR
                   for r in rows)

    def function_name(self, fid: int) -> str:
        if fid == RUN:
            return "run"
        if fid == GC_MINOR:
            return "minor GC"
        if fid == GC_FULL:
            return "full GC"
        if fid < 0:
            lane = self.lanes.get(-fid)
            return lane.name if lane else f"fiber {-fid}"
        f = self.functions.get(fid)
        return f.name if f else f"function #{fid}"

    def where(self, fid: int, line: int = 0) -> str:
        """The function's source: `file:line` of its declaration (or `line`)."""
        f = self.functions.get(fid)
        return f"{f.file}:{line or f.line}" if f and f.file else ""

    def fiber_name(self, fiber: int) -> str:
        lane = self.lanes.get(fiber)
        return lane.name if lane else (f"fiber {fiber}" if fiber else "")

    def row(self, fiber: int, depth: int) -> Row:
        rows = self.depths.get(fiber)
        return rows[depth] if rows is not None and 0 <= depth < len(rows) else _EMPTY

    def max_depth(self, fiber: int, t0: int | None = None, t1: int | None = None) -> int:
        """The deepest depth of `fiber` with a slice in [t0, t1) (the whole run: None),
        -1 if none. A callee lies within its caller, so if depth d has a slice in the
        window every depth above it has one: a binary search over the depths."""
        rows = self.depths.get(fiber) or []
        if t0 is None or t1 is None:
            return len(rows) - 1
        lo, hi = 0, len(rows)           # rows[:lo] have one, rows[hi:] have none
        while lo < hi:
            mid = (lo + hi) // 2
            if rows[mid].any_in(t0, t1):
                lo = mid + 1
            else:
                hi = mid
        return lo - 1

    def deepest_at(self, fiber: int, ts: int) -> tuple[int, int] | None:
        """(depth, index) of the deepest slice of `fiber` covering `ts`, or None."""
        rows = self.depths.get(fiber) or []
        lo, hi = 0, len(rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if rows[mid].covering(ts) is not None:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return None
        return lo - 1, rows[lo - 1].covering(ts)

    def fibers(self) -> list[int]:
        """The lanes in order: fibers by number, the collector last."""
        return sorted(self.lanes, key=lambda f: (f == COLLECTOR, f))

    def lane_rows(self, t0: int | None = None, t1: int | None = None) -> list[tuple[int, int]]:
        """The timeline's rows, (fiber, depth), fibers in number order: a fiber's
        instants (depth INSTANTS) when it has any, then its depths down to the deepest
        with a call in [t0, t1) (the whole run: None), at least one."""
        out = []
        for fiber in self.fibers():
            if fiber in self.instants:
                out.append((fiber, INSTANTS))
            deepest = self.max_depth(fiber, t0, t1)
            out.extend((fiber, d) for d in range(max(0, deepest + 1)))
            if deepest < 0 and fiber not in self.instants:
                out.append((fiber, 0))
        return out

    def instant(self, fiber: int, i: int) -> tuple[int, int, int, int]:
        """(ts, kind, ref, function) of instant `i` of `fiber`."""
        ins = self.instants[fiber]
        return ins.ts[i], ins.kinds[i], ins.refs[i], ins.functions[i]

    def instant_title(self, fiber: int, i: int) -> str:
        """What the instant is, on one line."""
        ts, kind, ref, fid = self.instant(fiber, i)
        if kind == USER:
            return f"event {self.user_categories[ref]}: {self.user_names[ref]}"
        if kind == PANIC:
            return f"PANIC: {self.panics[ref].message}"
        if kind == SEND:
            got = self.receives.find(ref)
            to = (f"received by {self.fiber_name(got[1])} at {fmt_ns(got[0])}" if got
                  else "never received")
            return f"send of message {ref} ({to})"
        got = self.sends.find(ref)
        by = f"sent by {self.fiber_name(got[1])} at {fmt_ns(got[0])}" if got else "sent"
        return f"receive of message {ref} ({by})"

    def instant_where(self, fiber: int, i: int) -> str:
        """Where it happened: a panic's innermost frame (its line) and callers; otherwise
        the function running in the fiber then (a trace records no pcs: its line is the
        function's declaration)."""
        ts, kind, ref, fid = self.instant(fiber, i)
        if kind == PANIC:
            frames = self.panics[ref].frames
            parts = [f"{self.function_name(f)} ({self.where(f, line)})" if self.where(f, line)
                     else self.function_name(f) for f, line in reversed(frames)]
            return ("at " + " ‹ ".join(parts)) if parts else ""
        if fid < 0:
            return ""
        where = self.where(fid)
        return f"in {self.function_name(fid)}" + (f" ({where})" if where else "")

    def receive_of(self, flow: int) -> tuple[int, int] | None:
        """(time, fiber) of the receive of message `flow`, or None."""
        return self.receives.find(flow)

    def send_of(self, flow: int) -> tuple[int, int] | None:
        return self.sends.find(flow)

    def matching(self, text: str) -> set[int]:
        """The functions whose name contains `text` (case ignored)."""
        text = text.lower()
        return {fid for fid, f in self.functions.items() if text in f.name.lower()}

    def find_call(self, fids: set[int], after: tuple[int, int, int] | None
                  ) -> tuple[int, int, int] | None:
        """The first call of one of `fids` after `after` (start, fiber, depth), in the
        order of (start, fiber, depth); from the start of the run when there is none after
        it (or `after` is None). (fiber, depth, index), or None when there is no call of
        them at all."""
        if not fids:
            return None
        for bound in ((after,) if after is None else (after, None)):
            best = None
            for fiber, rows in self.depths.items():
                if fiber == COLLECTOR:
                    continue
                for depth, r in enumerate(rows):
                    j = self._first_of(r, fids, bound, fiber, depth)
                    if j is not None and (best is None or (r.starts[j], fiber, depth) < best[0]):
                        best = ((r.starts[j], fiber, depth), (fiber, depth, j))
            if best is not None:
                return best[1]
        return None

    @staticmethod
    def _first_of(r: Row, fids: set[int], after, fiber: int, depth: int) -> int | None:
        """The first slice of `r` of one of `fids` whose (start, fiber, depth) is after
        `after` (None: the first of all)."""
        i = 0
        if after is not None:
            i = bisect_left(r.starts, after[0])
            if (fiber, depth) <= (after[1], after[2]):
                i = bisect_right(r.starts, after[0])
        fns = r.functions
        if len(fids) <= 4:              # array.index scans in C
            found = None
            for fid in fids:
                try:
                    j = fns.index(fid, i)
                except ValueError:
                    continue
                if found is None or j < found:
                    found = j
            return found
        return next((j for j in range(i, len(fns)) if fns[j] in fids), None)

    def top_sorted(self, key: str) -> list[FunctionStats]:
        """The top functions by `key` (one of SORT_KEYS), largest first."""
        if key == "name":
            return sorted(self.top, key=lambda s: self.function_name(s.function))
        attr = {"self": "self_value", "total": "total_value", "calls": "calls",
                "self_alloc": "self_alloc", "total_alloc": "total_alloc"}[key]
        return sorted(self.top, key=lambda s: (-getattr(s, attr), -s.self_value,
                                               s.function))

    def node_path(self, node: int) -> list[int]:
        """The nodes from the root's child down to `node`."""
        out = []
        while node:
            out.append(node)
            node = self.parent[node]
        out.reverse()
        return out


_EMPTY = Row()


class _Fiber:
    """A fiber's state while loading: its open calls (call-tree node, start, function),
    innermost last, and its rows' appenders by depth."""

    __slots__ = ("root", "nodes", "starts", "fids", "rows", "appends")

    def __init__(self, root: int, rows: list[Row]) -> None:
        self.root = root
        self.nodes: list[int] = []
        self.starts: list[int] = []
        self.fids: list[int] = []
        self.rows = rows
        self.appends: list[tuple] = []


def load(reader: TraceReader) -> TraceModel:
    """The model of the trace `reader` reads, in one pass over its events.

    Raises:
        TraceFormatError: a chunk cannot be decoded.
    """
    tm = TraceModel(reader.path, reader.mode, reader.info.get("program", "?"))
    profile = reader.mode == "profile"
    start = reader.start
    lanes = tm.lanes
    depths = tm.depths
    parent, function = tm.parent, tm.function
    self_value, self_alloc = tm.self_value, tm.self_alloc
    node_calls = [0]
    tree: dict[tuple[int, int], int] = {}
    fibers: dict[int, _Fiber] = {}
    runs: dict[int, int] = {}             # fiber -> start of its open scheduler slice
    sample_nodes: dict[tuple[int, int], int] = {}
    sends: dict[int, Message] = {}
    regions: dict[tuple[int, int], int] = {}
    current = 0
    last = None
    count = 0
    end = 0
    allocated = 0

    def node_of(par: int, fid: int) -> int:
        key = (par, fid)
        n = tree.get(key)
        if n is None:
            n = tree[key] = len(parent)
            parent.append(par)
            function.append(fid)
            self_value.append(0)
            self_alloc.append(0)
            node_calls.append(0)
        return n

    def lane(fiber: int) -> Lane:
        ln = lanes.get(fiber)
        if ln is None:
            ln = lanes[fiber] = Lane(fiber, f"fiber {fiber}", "?")
        return ln

    def state(fiber: int) -> _Fiber:
        fs = fibers.get(fiber)
        if fs is None:
            lane(fiber)
            rows = depths.setdefault(fiber, [])
            fs = fibers[fiber] = _Fiber(node_of(0, -fiber), rows)
        return fs

    def add_slice(fiber: int, depth: int, begin: int, stop: int, fid: int) -> int:
        rows = depths.setdefault(fiber, [])
        while len(rows) <= depth:
            rows.append(Row())
        r = rows[depth]
        r.starts.append(begin)
        r.ends.append(stop)
        r.functions.append(fid)
        return len(r) - 1

    def instants(fiber: int) -> Instants:
        ins = tm.instants.get(fiber)
        if ins is None:
            lane(fiber)
            ins = tm.instants[fiber] = Instants()
        return ins

    def running(fiber: int) -> int:
        """The function running in `fiber` (innermost open call), -1: none."""
        fs = fibers.get(fiber)
        return fs.fids[-1] if fs is not None and fs.fids else -1

    def close_stacks(ts: int) -> None:
        """Calls still open (the trace ended, or a panic abandoned them) end at `ts`."""
        for fiber, fs in fibers.items():
            while fs.nodes:
                fs.nodes.pop()
                begin, fid = fs.starts.pop(), fs.fids.pop()
                depth = len(fs.nodes)
                add_slice(fiber, depth, begin, max(ts, begin), fid)
                tm.unfinished.add((fiber, depth, begin))
            fs.appends.clear()          # add_slice may have added rows

    for item in reader.items():
        t = type(item)
        if t is CallRun:
            fiber, words, lo, hi = item
            fs = state(fiber)
            nodes, starts, fids, appends, root = fs.nodes, fs.starts, fs.fids, fs.appends, \
                fs.root
            rows = fs.rows
            ncalls = 0
            it = iter(words[lo:hi])
            for w in it:
                if w < 0:
                    ts = next(it, start) - start
                    fid = ~w
                    if nodes:
                        top = nodes[-1]
                        if last is not None and ts > last:
                            self_value[top] += ts - last
                    else:
                        top = root
                    n = tree.get((top, fid))
                    if n is None:
                        n = node_of(top, fid)
                    node_calls[n] += 1
                    nodes.append(n)
                    starts.append(ts)
                    fids.append(fid)
                    ncalls += 1
                else:
                    ts = w - start
                    if nodes:
                        n = nodes.pop()
                        if last is not None and ts > last:
                            self_value[n] += ts - last
                        d = len(nodes)
                        if d >= len(appends):
                            while len(rows) <= d:
                                rows.append(Row())
                            appends[:] = [(r.starts.append, r.ends.append, r.functions.append)
                                          for r in rows]
                        sa, ea, fa = appends[d]
                        sa(starts.pop())
                        ea(ts)
                        fa(fids.pop())
                last = ts
            count += hi - lo - ncalls
            if last is not None and last > end:
                end = last
            continue
        count += 1
        ev = item
        ts = ev.ts
        if ts > end:
            end = ts
        if t is m.Sample:
            tm.samples += 1
            key = (ev.fiber, ev.stack)
            n = sample_nodes.get(key)
            if n is None:
                n = state(ev.fiber).root
                for node in reader.frames(ev.stack):
                    n = node_of(n, node.function)
                sample_nodes[key] = n
            self_value[n] += ev.cpu
            self_alloc[n] += ev.alloc
            continue
        if t is m.HeapCounter:
            if not profile and ev.allocated > allocated:
                fs = fibers.get(current)
                n = (fs.nodes[-1] if fs.nodes else fs.root) if fs is not None else 0
                self_alloc[n] += ev.allocated - allocated
            allocated = max(allocated, ev.allocated)
            continue
        if t is m.FiberRun or t is m.FiberBlock or t is m.FiberDone or t is m.Panic:
            fs = fibers.get(current)
            if fs is not None and fs.nodes and last is not None and ts > last:
                self_value[fs.nodes[-1]] += ts - last
            if t is m.FiberRun:
                if profile:
                    prev = runs.pop(current, None)
                    if prev is not None:
                        add_slice(current, 0, prev, ts, RUN)
                    runs[ev.fiber] = ts
                current = ev.fiber
                last = ts
                state(current)
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
                else:
                    lane(ev.fiber).state = "panicked"
                    frames = [(f.function, f.line) for f in reader.frames(ev.stack)]
                    fid = frames[-1][0] if frames else running(ev.fiber)
                    instants(ev.fiber).add(ts, PANIC, len(tm.panics), fid)
                    tm.panics.append(PanicInfo(ts, ev.fiber, ev.message, frames))
                    close_stacks(ts)
        elif t is m.UserEvent:
            instants(ev.fiber).add(ts, USER, len(tm.user_names), running(ev.fiber))
            tm.user_categories.append(ev.category)
            tm.user_names.append(ev.name)
        elif t is m.FiberSpawn:
            ln = lane(ev.fiber)
            ln.name, ln.kind = ev.name or f"{ev.kind} {ev.fiber}", ev.kind
        elif t is m.Send:
            instants(ev.fiber).add(ts, SEND, ev.flow, running(ev.fiber))
            tm.sends.add(ev.flow, ts, ev.fiber)
            if len(tm.messages) < MAX_ROWS:
                msg = Message(ev.flow, ts, ev.fiber, ev.target, ev.receiver)
                tm.messages.append(msg)
                sends[ev.flow] = msg
            else:
                tm.dropped_messages += 1
        elif t is m.Receive:
            instants(ev.fiber).add(ts, RECEIVE, ev.flow, running(ev.fiber))
            tm.receives.add(ev.flow, ts, ev.fiber)
            msg = sends.pop(ev.flow, None)
            if msg is not None:
                msg.received, msg.by = ts, ev.fiber
        elif t is m.Collection:
            detail = (f"{ev.why}: {fmt_bytes(ev.before)} → {fmt_bytes(ev.after)}, "
                      f"freed {fmt_bytes(ev.freed)}")
            lane(COLLECTOR).name = "collector"
            lanes[COLLECTOR].kind = "gc"
            add_slice(COLLECTOR, 0, ts - ev.duration, ts,
                      GC_FULL if ev.kind == "full" else GC_MINOR)
            tm.gc_details.append(detail)
            _row(tm, Event(ts - ev.duration, f"{ev.kind} collection", 0, ev.duration, detail))
        elif t is m.RegionEnter:
            regions[(ev.fiber, ev.region)] = ts
        elif t is m.RegionExit:
            begin = regions.pop((ev.fiber, ev.region), None)
            _row(tm, Event(ts if begin is None else begin, f"region #{ev.region}", ev.fiber,
                           None if begin is None else ts - begin,
                           f"released {ev.objects:,} objects, {fmt_bytes(ev.nbytes)}"))
    tm.events = count
    end = max(end, last or 0, reader.duration() or 0)
    for rows in depths.values():
        for r in rows:
            if r.ends:
                end = max(end, r.ends[-1])
    tm.duration = end
    close_stacks(end)
    if profile:
        for fiber, begin in runs.items():
            add_slice(fiber, 0, begin, end, RUN)
            tm.unfinished.add((fiber, 0, begin))
    firsts = [r.starts[0] for rows in depths.values() for r in rows if r.starts]
    firsts += [ins.ts[0] for ins in tm.instants.values() if ins.ts]
    tm.first = min(firsts) if firsts else 0
    for fiber, rows in depths.items():
        for r in rows:
            _sort(r, tm.gc_details if fiber == COLLECTOR else None)
    tm.sends.sort()
    tm.receives.sort()
    tm.collections.sort(key=lambda e: e.ts)       # by when they began
    tm.functions = dict(reader.functions)
    calls: dict[int, int] = {}
    for node in range(1, len(function)):
        if node_calls[node]:
            calls[function[node]] = calls.get(function[node], 0) + node_calls[node]
    _totals(tm, calls)
    return tm


def _row(tm: TraceModel, ev: Event) -> None:
    if len(tm.collections) < MAX_ROWS:
        tm.collections.append(ev)
    else:
        tm.dropped_collections += 1


def _sort(r: Row, details: list | None = None) -> None:
    """Slices arrive in the order their calls return (closed ones at the end): a row in
    start order, which for one depth of a fiber is also end order."""
    starts = r.starts
    if all(starts[i] <= starts[i + 1] for i in range(len(starts) - 1)):
        return
    order = sorted(range(len(starts)), key=starts.__getitem__)
    r.starts = array("q", (starts[i] for i in order))
    r.ends = array("q", (r.ends[i] for i in order))
    r.functions = array("i", (r.functions[i] for i in order))
    if details is not None:
        details[:] = [details[i] for i in order]


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
