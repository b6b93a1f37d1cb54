"""The post-mortem dump: `vyn run --dump-on-panic FILE` writes what the program held when
it panicked, as data, for `vyn debug --core FILE` (vyndbg/core.py) to read without a
process.

The file is one JSON document (gzip-compressed when FILE ends in `.gz`; the reader tells
by the first bytes):

    {"format": "vyn-core", "version": 1, "program": ..., "argv": [...],
     "panic": {"message", "fiber", "backtrace": [lines], "text"},
     "selected": FIBER_ID,
     "fibers": [{"id", "kind", "name", "state", "template", "waiting", "mailbox",
                 "capacity", "reductions", "parent", "slices", "created_step", "handled",
                 "current", "frames": [FRAME...], "queued": [MESSAGE...],
                 "handling": MESSAGE | null}],
     "heap": {the numbers of `info heap`},
     "events": [[step, kind, text]...],
     "sources": {FILE: TEXT}, "stmt_lines": {FILE: [LINE...]}}

    FRAME   = {"level", "function", "function_index", "file", "line", "col", "pc",
               "mid_line", "nregs", "params": [VAR...], "locals": [VAR...]}
    VAR     = {"name", "kind", "value": VALUE}
    VALUE   = {"type", "text", "address", "count", "children": [[NAME, VALUE]...]}
    MESSAGE = {"id", "sender", "value", "sent_step"}

`locals` are in `info locals` order (innermost block first, shadowed ones too); a
VALUE's `text` is what `print` prints, its `children` the fields or elements, expanded
EXPAND_DEPTH levels and at most EXPAND_CHILDREN of each (`count` says how many there
are). The runtime writes this; it imports nothing from the debugger.
"""

from __future__ import annotations

import gzip
import json
from collections import deque

from compiler import bytecode as bc
from runtime.events import EventSink
from runtime.heap_errors import HeapError
from runtime.heap_layout import FLAG_YOUNG, FLAGS_DEAD, HEADER_SIZE

FORMAT = "vyn-core"
VERSION = 1
EXPAND_DEPTH = 3          # levels of fields/elements kept under a variable
EXPAND_CHILDREN = 50      # children kept per value
PRINT_ELEMENTS = 200      # elements in a value's text (the debugger's `print elements`)
RING_SIZE = 256           # events kept by RingSink
MAX_FRAMES = 1000         # frames kept per fiber (a stack overflow keeps its innermost)
EXPANDABLE = ("struct", "tuple", "vec", "array", "enum")


class RingSink(EventSink):
    """The last RING_SIZE events (without calls and returns), for the dump; forwards
    every event to `inner` (a trace recorder) when there is one."""

    def __init__(self, vm, inner: EventSink | None = None, size: int = RING_SIZE):
        self.vm = vm
        self.inner = inner
        self.ring: deque = deque(maxlen=size)
        self.wants_calls = inner.wants_calls if inner is not None else False
        self.sample_every = inner.sample_every if inner is not None else 0
        if inner is not None:
            # Events the ring does not keep (calls, samples, the JIT's) go straight on.
            for name in dir(EventSink):
                if not name.startswith("_") and callable(getattr(EventSink, name)) and \
                        name not in RingSink.__dict__:
                    setattr(self, name, getattr(inner, name))

    def _add(self, kind: str, text: str) -> None:
        self.ring.append((self.vm.sched.step, kind, text))

    def fiber_spawn(self, fiber) -> None:
        self._add("spawn", f"{fiber.name} (thread {fiber.id}) created")
        if self.inner is not None:
            self.inner.fiber_spawn(fiber)

    def fiber_run(self, fiber) -> None:
        self._add("run", f"{fiber.name} runs")
        if self.inner is not None:
            self.inner.fiber_run(fiber)

    def fiber_block(self, fiber, wait) -> None:
        self._add("block", f"{fiber.name} blocked {wait.what}")
        if self.inner is not None:
            self.inner.fiber_block(fiber, wait)

    def fiber_done(self, fiber) -> None:
        self._add("done", f"{fiber.name} {fiber.state}")
        if self.inner is not None:
            self.inner.fiber_done(fiber)

    def send(self, message) -> None:
        self._add("send", f"message {message.id} from thread {message.sender} to "
                  f"{message.target} {message.receiver}")
        if self.inner is not None:
            self.inner.send(message)

    def receive(self, message, fiber) -> None:
        self._add("receive", f"message {message.id} taken by {fiber.name}")
        if self.inner is not None:
            self.inner.receive(message, fiber)

    def gc(self, kind, why, before, after, freed, seconds) -> None:
        self._add("gc", f"{kind} collection ({why}): {before} -> {after} bytes, "
                  f"{freed} freed")
        if self.inner is not None:
            self.inner.gc(kind, why, before, after, freed, seconds)

    def region(self, entered, region_id, objects, nbytes) -> None:
        self._add("region", f"region {region_id} entered" if entered else
                  f"region {region_id} exited: {objects} objects, {nbytes} bytes")
        if self.inner is not None:
            self.inner.region(entered, region_id, objects, nbytes)

    def panic(self, error) -> None:
        self._add("panic", f"panic: {getattr(error, 'message', error)}")
        if self.inner is not None:
            self.inner.panic(error)

    def user(self, category, name) -> None:
        self._add("user", f"{category}: {name}")
        if self.inner is not None:
            self.inner.user(category, name)


# ---------------------------------------------------------------------- values


def type_name(vm, tid: int) -> str:
    types = vm.types
    d = types[tid] if 0 <= tid < len(types) else None
    if d is None:
        return "?"
    return types[d.parent].name if d.kind == "variant" else d.name


def _text(vm, value, tid: int) -> str:
    try:
        return vm.reader.format(value, tid, nested=True, limit=PRINT_ELEMENTS)
    except Exception as e:  # noqa: BLE001 - a damaged value is shown, not fatal
        return f"<{e}>"


def _children(vm, value, tid: int) -> tuple[int, list]:
    """(how many, the first EXPAND_CHILDREN as (name, value, tid))."""
    d = vm.types[tid]
    r = vm.reader
    if d.kind in ("vec", "array"):
        n = r.length(value, d)
        return n, [(f"[{i}]", x, d.elem)
                   for i, x in enumerate(r.items(value, d, 0, EXPAND_CHILDREN))]
    if d.kind in ("struct", "tuple"):
        kids = [(name, r.read_slot(value, i, vm.kinds[t]), t)
                for i, (name, t) in enumerate(d.fields)]
        return len(kids), kids[:EXPAND_CHILDREN]
    if d.kind == "enum":
        v = r.variant_of(value)
        kids = [(str(i), r.read_slot(value, 1 + i, vm.kinds[t]), t)
                for i, (_, t) in enumerate(v.fields)]
        return len(kids), kids[:EXPAND_CHILDREN]
    return 0, []


def value_tree(vm, value, tid: int, depth: int = EXPAND_DEPTH) -> dict:
    """A ValueInfo-like tree of `value`: its type name, `print` text, heap address, the
    number of its children and the first of them, `depth` levels down."""
    out = {"type": type_name(vm, tid), "text": _text(vm, value, tid), "address": 0,
           "count": 0, "children": []}
    if 0 <= tid < len(vm.kinds) and vm.kinds[tid] == bc.K_PTR and type(value) is int:
        out["address"] = value
    d = vm.types[tid] if 0 <= tid < len(vm.types) else None
    if d is not None and d.kind in EXPANDABLE and value:
        try:
            count, kids = _children(vm, value, tid)
        except Exception:  # noqa: BLE001
            return out
        out["count"] = count
        if depth > 0:
            out["children"] = [[name, value_tree(vm, v, t, depth - 1)]
                               for name, v, t in kids]
    return out


# ---------------------------------------------------------------------- frames


def _closing_start(fn) -> int | None:
    found = None
    for row in fn.lines:
        if row.is_stmt and row.line == fn.end_line:
            found = row.pc
    return found


def _live(fn, pc: int) -> list:
    """Every variable live at `pc` (shadowed ones too), as the debugger counts them: at
    the closing `}` the outermost ones are still in scope."""
    row = fn.line_at(pc)
    closing = _closing_start(fn) if row is not None and row.line == fn.end_line else None
    return [v for v in fn.vars if v.kind == "capture" or v.start <= pc < v.end or (
        closing is not None and v.start <= pc and v.end >= closing)]


def _read_var(vm, frame, v):
    if v.kind == "capture":
        kinds = vm._cap_kinds(frame.fn)
        raw = vm.reader.read_slot(frame.env, 1 + v.reg, kinds[v.reg]) if frame.env else None
    else:
        raw = frame.regs[v.reg] if v.reg < len(frame.regs) else None
    if v.cell and raw:
        raw = vm.reader.read_slot(raw, 0, vm.kinds[v.type_id])
    return raw


def _var(vm, frame, v) -> dict:
    try:
        value = value_tree(vm, _read_var(vm, frame, v), v.type_id)
    except Exception:  # noqa: BLE001
        value = {"type": type_name(vm, v.type_id), "text": "<invalid>", "address": 0,
                 "count": 0, "children": []}
    return {"name": v.name, "kind": v.kind, "value": value}


def frame_record(vm, frame, level: int) -> dict:
    fn = frame.fn
    pc = frame.pc if level == 0 else max(0, frame.pc - 1)
    row = fn.line_at(pc)
    live = _live(fn, pc)
    # Parameters: the innermost entry of each name, in register order (as `bt` shows).
    best: dict[str, object] = {}
    for v in live:
        if v.kind == "param":
            old = best.get(v.name)
            if old is None or v.start >= old.start:
                best[v.name] = v
    params = sorted(best.values(), key=lambda v: v.reg)
    locals_ = sorted((v for v in live if v.kind != "param"),
                     key=lambda v: (v.kind == "capture", v.end, v.start, v.reg))
    return {
        "level": level, "function": fn.name, "function_index": fn.index,
        "file": fn.file, "line": row.line if row is not None else fn.line,
        "col": row.col if row is not None else 0, "pc": pc,
        "mid_line": level == 0 and not any(r.pc == pc and r.is_stmt for r in fn.lines),
        "nregs": fn.nregs,
        "params": [_var(vm, frame, v) for v in params],
        "locals": [_var(vm, frame, v) for v in locals_],
    }


def _frames(vm, top) -> list[dict]:
    out = []
    level = 0
    f = top
    while f is not None and level < MAX_FRAMES:
        if f.fn.name != "<globals>":
            out.append(frame_record(vm, f, level))
        f = f.parent
        level += 1
    return out


def _message(vm, m) -> dict:
    texts = [_text(vm, v, t) for v, t in zip(m.values, m.tids, strict=False)]
    return {"id": m.id, "sender": m.sender,
            "value": texts[0] if len(texts) == 1 else "(" + ", ".join(texts) + ")",
            "sent_step": m.sent_step}


def fiber_record(vm, f, top) -> dict:
    return {
        "id": f.id, "kind": f.kind, "name": f.name, "state": f.state,
        "template": f.template,
        "waiting": f.wait.what if f.wait is not None and f.state == "blocked" else None,
        "mailbox": len(f.mailbox) if f.mailbox is not None else None,
        "capacity": f.capacity, "reductions": f.reductions, "parent": f.parent,
        "slices": f.slices, "created_step": f.created_step, "handled": f.handled,
        "current": f is vm.sched.current,
        "frames": _frames(vm, top),
        "queued": [_message(vm, m) for m in f.mailbox] if f.mailbox is not None else [],
        "handling": _message(vm, f.current_msg) if f.current_msg is not None else None,
    }


# ---------------------------------------------------------------------- heap


def heap_type_name(vm, heap_type: int) -> str:
    """The name the debugger gives the objects of heap type `heap_type`: the program's
    type name; a variant is `Enum::Variant` (`Option<Node>::Some`)."""
    tid = vm.desc_of_heap.get(heap_type)
    if tid is None:
        try:
            return vm.heap.type_info(heap_type).name.rsplit("#", 1)[0]
        except HeapError:
            return f"<type {heap_type}>"
    d = vm.types[tid]
    if d.kind == "variant":
        return f"{vm.types[d.parent].name}::{d.name}"
    return d.name


def heap_census(vm):
    """One walk of the heap: (HeapStats, {"young"|"old": [lo, hi, used, live, objects]},
    [(type name, objects, bytes)] of live objects by bytes, largest first). What the
    debugger's `info heap` and the post-mortem dump show."""
    heap = vm.heap
    s = heap.stats()
    gens = {"young": [0, 0, 0, 0, 0], "old": [0, 0, 0, 0, 0]}
    usage: dict[str, list[int]] = {}
    names: dict[int, str] = {}
    for o in heap.walk():
        total = HEADER_SIZE + o.size
        g = gens["young" if o.flags & FLAG_YOUNG else "old"]
        if not g[0]:
            g[0] = o.addr
        g[1] = o.addr + total
        g[2] += total
        if not o.flags & FLAGS_DEAD:
            g[3] += total
            g[4] += 1
            name = names.get(o.type_id)
            if name is None:
                name = names[o.type_id] = heap_type_name(vm, o.type_id)
            row = usage.setdefault(name, [0, 0])
            row[0] += 1
            row[1] += total
    rows = sorted(usage.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
    return s, gens, [(name, n, b) for name, (n, b) in rows]


def heap_summary(vm) -> dict:
    """The numbers of the debugger's `info heap` (vyndbg/heapview.heap_info), every
    type's row kept."""
    heap = vm.heap
    s, gens, rows = heap_census(vm)
    young, old = gens["young"], gens["old"]
    return {
        "base": s.base, "limit": s.limit, "used": s.used, "live_bytes": s.live_bytes,
        "dead_bytes": s.dead_bytes, "free_bytes": s.free_bytes,
        "generations": [
            ["young", *young[:2], heap.nursery, *young[2:], heap._minor_collections],
            ["old", *old[:2], heap.limit, *old[2:], s.collections]],
        "types": [[name, n, b] for name, n, b in rows],
        "collections": s.collections + heap._minor_collections,
        "gc_seconds": vm.gc_seconds, "live_objects": s.live_objects,
        "dead_objects": s.dead_objects,
    }


# ---------------------------------------------------------------------- the dump


def build_dump(vm, panic, ring: RingSink | None = None) -> dict:
    """The dump of a VM that has just panicked with `panic` (not yet unwound)."""
    from runtime.run import backtrace_lines, panic_text

    sched = vm.sched
    panicking = getattr(panic, "fiber", None)
    fibers = []
    for f in sched.fibers:
        top = f.frame
        if f is panicking and vm.frame is not None:
            top = vm.frame
        fibers.append(fiber_record(vm, f, top))
    files = sorted({fr["file"] for rec in fibers for fr in rec["frames"]})
    sources = {name: vm.program.sources[name] for name in files
               if name in vm.program.sources}
    stmt_lines = {name: sorted({row.line for fn in vm.program.functions if fn.file == name
                                for row in fn.lines if row.is_stmt}) for name in sources}
    try:
        heap = heap_summary(vm)
    except Exception:  # noqa: BLE001 - a damaged heap still leaves the stacks worth having
        heap = None
    return {
        "format": FORMAT, "version": VERSION,
        "program": vm.argv[0] if vm.argv else "", "argv": list(vm.argv),
        "panic": {"message": getattr(panic, "message", str(panic)),
                  "fiber": panicking.id if panicking is not None else None,
                  "backtrace": backtrace_lines(getattr(panic, "frames", [])),
                  "text": panic_text(panic)},
        "selected": panicking.id if panicking is not None else 1,
        "fibers": fibers,
        "heap": heap,
        "events": [list(e) for e in ring.ring] if ring is not None else [],
        "sources": sources,
        "stmt_lines": stmt_lines,
    }


def write_dump(path: str, vm, panic, ring: RingSink | None = None) -> None:
    """Write the dump to `path` (gzip when it ends in `.gz`). OSError if it cannot."""
    data = json.dumps(build_dump(vm, panic, ring), separators=(",", ":"))
    if path.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(data)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(data)
