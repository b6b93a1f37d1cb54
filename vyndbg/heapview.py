"""The debugger's view of the heap: generations, live types, regions, memory, objects by
address, why an object is alive, and collections on request.

Functions over a VM return vyndbg.model records; `HeapViews`, a mixin of `Session`
(vyndbg/engine.py), wraps them for the stopped program, and the line mode
(vyndbg/linemode_heap.py) and the TUI render them.

gdb has no heap view; this is what `jmap -histo`, a heap dump's "path to GC roots" and a
GC log would otherwise give. Addresses are real: the heap is one mmap'd arena
(docs/heap.md), so `print &node` prints the address `x` reads and native code uses.

Values a front end holds stay valid after a collection: the session registers a root
provider on the VM (`VM.root_providers`) that offers every heap value of a `ValueInfo`
still alive (the value history, the TUI's variable tree, a `finish` value), the old
values of watchpoints and what the session pinned. A `ValueInfo` nobody holds any more
is no longer a root.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from array import array
from collections import deque
from collections.abc import Iterable, Iterator

from compiler import ast
from compiler import bytecode as bc
from compiler.diagnostics import DiagnosticSink
from compiler.parser import parse_expression
from runtime.dump import heap_census, heap_type_name
from runtime.errors import RuntimeFailure
from runtime.heap_errors import HeapError
from runtime.heap_layout import (
    FLAG_BYTES,
    FLAG_FREE_BLOCK,
    FLAG_FREED,
    FLAG_RC,
    FLAG_REGION,
    FLAG_RELEASED,
    FLAG_YOUNG,
    FLAGS_DEAD,
    HEADER,
    HEADER_SIZE,
    TRACE_ALL,
    flag_names,
)
from runtime.values import HANDLE_KINDS, format_float, quote_str
from vyndbg.model import (
    BadArgumentError,
    BadExpressionError,
    EvaluationError,
    GcResult,
    GenerationInfo,
    HeapInfo,
    Location,
    MemoryAccessError,
    NoSymbolError,
    ObjectView,
    PathStep,
    RegionView,
    TypeUsage,
    ValueInfo,
    Variable,
)

K_PTR = bc.K_PTR
ELEMENTS = 200           # elements of a vector shown by `info object` (gdb's `print elements`)
NOT_IN_MEMORY = "Attempt to take address of value not located in memory."
DEBUGGER_ROOT = "the debugger (the value history, values shown, watchpoints)"


def cannot_access(addr: int) -> MemoryAccessError:
    """gdb's error for an address it cannot read."""
    return MemoryAccessError(f"Cannot access memory at address 0x{addr:x}", address=addr)


# ---------------------------------------------------------------------- types


class FunctionRef:
    """A closure's function, as `object_fields` reports it."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


type_name = heap_type_name


def value_tid(vm, heap_type: int) -> int | None:
    """The program type id under which an object of `heap_type` prints (a variant prints
    as its enum); None for objects that have no value of their own (a vector's data)."""
    tid = vm.desc_of_heap.get(heap_type)
    if tid is None:
        return None
    d = vm.types[tid]
    if d.kind == "variant":
        return d.parent
    if d.kind in ("vecdata", "cell"):
        return None
    return tid


# ---------------------------------------------------------------------- the heap


def heap_info(vm, top: int = 20) -> HeapInfo:
    """`info heap`: the arena, each generation, and the `top` types by live bytes."""
    heap = vm.heap
    s, gens, rows = heap_census(vm)
    young, old = gens["young"], gens["old"]
    full = s.collections
    minor = heap._minor_collections
    generations = (
        GenerationInfo("young", young[0], young[1], heap.nursery, young[2], young[3],
                       young[4], minor),
        GenerationInfo("old", old[0], old[1], heap.limit, old[2], old[3], old[4], full),
    )
    types = tuple(TypeUsage(name, n, b) for name, n, b in rows[:max(0, top)])
    return HeapInfo(s.base, s.limit, s.used, s.live_bytes, s.dead_bytes, s.free_bytes,
                    generations, types, full + minor, vm.gc_seconds, s.live_objects,
                    s.dead_objects, max(0, len(rows) - max(0, top)))


def read_memory(vm, addr: int, n: int) -> bytes:
    """`n` bytes of the heap from `addr`; gdb's error naming the first byte that is not
    in the heap's used part."""
    heap = vm.heap
    if n <= 0:
        return b""
    off = addr - heap.base
    if not 0 <= off < heap.used:
        raise cannot_access(addr)
    if off + n > heap.used:
        raise cannot_access(heap.base + heap.used)
    return heap.read_memory(addr, n)


class ObjectStarts:
    """Where objects start, to tell an object's address from an address inside one.
    Rebuilt (one walk of the arena) when the heap has changed since the last use."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._offsets = array("q")

    def _refresh(self, heap) -> None:
        key = (heap.base, heap.used, heap._objects, heap._collections,
               heap._minor_collections, heap._free.bytes)
        if key == self._key:
            return
        offsets = array("q")
        u32 = heap._u32
        off, top = 0, heap.used
        while off < top:
            offsets.append(off)
            off += HEADER_SIZE + u32[(off >> 2) + 2]
        self._offsets = offsets
        self._key = key

    def containing(self, heap, addr: int) -> int | None:
        """The start of the object or free block holding `addr` (None: not in the heap)."""
        off = addr - heap.base
        if not 0 <= off < heap.used:
            return None
        self._refresh(heap)
        i = bisect.bisect_right(self._offsets, off) - 1
        return heap.base + self._offsets[i] if i >= 0 else None


def check_object(vm, starts: ObjectStarts, addr: int):
    """The header of the object at `addr`, or MemoryAccessError saying what `addr` is."""
    heap = vm.heap
    start = starts.containing(heap, addr)
    if start is None:
        raise cannot_access(addr)
    h = heap.header(start)
    if h.flags & FLAG_FREE_BLOCK or h.type_id == 0:
        raise MemoryAccessError(f"0x{addr:x} is in free memory: the collector reclaimed what was "
                                "there.", address=addr)
    if start != addr:
        raise MemoryAccessError(f"0x{addr:x} is not the address of an object: it is "
                                f"{addr - start} bytes into the {type_name(vm, h.type_id)} at "
                                f"0x{start:x}.", address=addr)
    return h


def region_of(vm, addr: int) -> int:
    """The active region that allocated the object at `addr` (0: none)."""
    off = addr - vm.heap.base
    for r in vm.heap._regions.active.values():
        if off in r.offsets:
            return r.region_id
    return 0


def object_fields(vm, addr: int, heap_type: int) -> Iterator[tuple[str, object, int | None]]:
    """(label, raw value, program type id or None) of a live object's fields: a class's
    fields, a tuple's or a variant's payload, a vector's elements (at most ELEMENTS), a
    closure's captures, a cell's value. A None type id means an untyped slot: the raw
    value is an int or an address."""
    tid = vm.desc_of_heap.get(heap_type)
    if tid is None:
        return
    d = vm.types[tid]
    reader = vm.reader
    kinds = reader.kinds
    k = d.kind
    if k in ("struct", "tuple"):
        for i, (name, ftid) in enumerate(d.fields):
            yield name, reader.read_slot(addr, i, kinds[ftid]), ftid
    elif k == "variant":
        for i, (name, ftid) in enumerate(d.fields):
            yield name, reader.read_slot(addr, 1 + i, kinds[ftid]), ftid
    elif k == "vec":
        for i, value in enumerate(reader.items(addr, d, 0, ELEMENTS)):
            yield f"[{i}]", value, d.elem
    elif k in ("vecdata", "array"):
        kind = kinds[d.elem]
        for i in range(min(vm.heap.slots(addr), ELEMENTS)):
            yield f"[{i}]", reader.read_slot(addr, i, kind), d.elem
    elif k == "range":
        for i, name in enumerate(("start", "end", "inclusive")):
            yield name, vm.heap.get_i64(addr, i), None
    elif k in HANDLE_KINDS:
        yield "id", vm.heap.get_i64(addr, 0), None
    elif k == "closure":
        fi = vm.heap.get_i64(addr, 0)
        fn = vm.functions[fi] if 0 <= fi < len(vm.functions) else None
        yield "fn", FunctionRef(fn.name if fn is not None else f"#{fi}"), None
        caps = {v.reg: v for v in fn.vars if v.kind == "capture"} if fn is not None else {}
        slot_kinds = d.heap[1]
        for i in range(len(slot_kinds) - 1):
            v = caps.get(i)
            kind = bc.K_PTR if slot_kinds[1 + i] == 2 else \
                bc.K_FLOAT if slot_kinds[1 + i] == 1 else bc.K_INT
            raw = reader.read_slot(addr, 1 + i, kind)
            if v is None or v.cell:
                yield (v.name if v is not None else f"[{i}]"), raw, None
            else:
                yield v.name, raw, v.type_id
    elif k == "cell":
        kind = d.size
        yield "value", reader.read_slot(addr, 0, kind if kind != bc.K_BOOL else bc.K_INT), None


def object_length(vm, addr: int, heap_type: int) -> int | None:
    tid = vm.desc_of_heap.get(heap_type)
    if tid is None:
        return None
    d = vm.types[tid]
    if d.kind in ("string", "bytes"):
        return vm.heap.bytes_len(addr)
    if d.kind == "vec":
        return vm.heap.get_i64(addr, 0)
    if d.kind in ("vecdata", "array"):
        return vm.heap.slots(addr)
    return None


# ---------------------------------------------------------------------- reachability


def path_to(vm, target: int, roots: Iterable[tuple[str, object]]) -> list[PathStep] | None:
    """A shortest path from a root (`roots`: (label, value) pairs, in the order to prefer)
    through pointer fields to `target`; None if nothing reaches it. A vector's elements
    are one step (`[i]`), not two (its data array is passed through; `.data` reaches the
    array itself)."""
    heap = vm.heap
    base, used = heap.base, heap.used
    u32, u64 = heap._u32, heap._u64
    pointer_slots = heap.types.pointer_slots
    starts: set[int] = set()
    off = 0
    while off < used:
        if not u32[(off >> 2) + 1] & FLAG_FREE_BLOCK:
            starts.add(off)
        off += HEADER_SIZE + u32[(off >> 2) + 2]

    def is_object(v) -> bool:
        return type(v) is int and (v - base) in starts

    came: dict[int, tuple[int | None, str]] = {}
    queue: deque[int] = deque()
    for label, value in roots:
        if is_object(value) and value not in came:
            came[value] = (None, label)
            queue.append(value)
    while queue and target not in came:
        addr = queue.popleft()
        h = (addr - base) >> 2
        if u32[h + 1] & FLAGS_DEAD:
            continue          # a tombstone is kept, but holds nothing alive
        for label, child in _edges(vm, addr, u32[h], u32[h + 2], pointer_slots, u64):
            if child and child not in came and is_object(child):
                came[child] = (addr, label)
                queue.append(child)
    if target not in came:
        return None
    steps = []
    at: int | None = target
    while at is not None:
        parent, label = came[at]
        steps.append(PathStep(label, at, type_name(vm, heap.header(at).type_id)))
        at = parent
    return steps[::-1]


def _edges(vm, addr: int, heap_type: int, size: int, pointer_slots, u64):
    """(label, address) of each pointer an object holds."""
    tid = vm.desc_of_heap.get(heap_type)
    d = vm.types[tid] if tid is not None else None
    base = vm.heap.base
    first = ((addr - base) >> 3) + 2
    if d is not None and d.kind == "vec":
        data = u64[first + 1]
        if data:
            if vm.reader.kinds[d.elem] == K_PTR:
                n = u64[first]
                dfirst = ((data - base) >> 3) + 2
                for i in range(n):
                    yield f"[{i}]", u64[dfirst + i]
            yield ".data", data
        return
    slots = pointer_slots.get(heap_type, ())
    if slots is TRACE_ALL:
        slots = range(size >> 3)
    names = _slot_names(vm, d)
    for slot in slots:
        yield names.get(slot, f"[{slot}]"), u64[first + slot]


def _slot_names(vm, d) -> dict[int, str]:
    if d is None:
        return {}
    if d.kind == "struct":
        return {i: f".{name}" for i, (name, _) in enumerate(d.fields)}
    if d.kind == "tuple":
        return {i: f".{i}" for i in range(len(d.fields))}
    if d.kind == "variant":
        return {1 + i: f"{d.name}.{i}" for i in range(len(d.fields))}
    if d.kind == "closure":
        fn = vm.functions[d.size] if 0 <= d.size < len(vm.functions) else None
        caps = {v.reg: v.name for v in fn.vars if v.kind == "capture"} if fn else {}
        return {1 + i: f".{caps.get(i, i)}" for i in range(len(d.heap[1]) - 1)}
    if d.kind == "cell":
        return {0: ".value"}
    return {}


# ---------------------------------------------------------------------- formats


def format_int(n: int, fmt: str, bits: int = 64) -> str:
    """An integer as `print/FMT` prints it: x (hex), d, u, o, t (binary), c (a character),
    a and z (hex); negative numbers in two's complement of `bits` for x, o, t, z, u, a."""
    if fmt == "d":
        return str(n)
    if fmt == "c":
        return f"{n} {chr(n)!r}" if 0 <= n < 0x110000 else str(n)
    u = n & ((1 << bits) - 1)
    if fmt == "u":
        return str(u)
    if fmt == "o":
        return f"0{u:o}" if u else "0"
    if fmt == "t":
        return f"{u:b}"
    if fmt == "z":
        return f"0x{u:0{bits // 4}x}"
    return f"0x{u:x}"


# ---------------------------------------------------------------------- the session's side


class HeapViews:
    """Session methods over the stopped program's heap (a mixin of `Session`, which
    provides `vm`, `_need_process`, frames, variables and `value_info`)."""

    # ------------------------------------------------------------------ pins

    def _init_heap_views(self) -> None:
        self._handed: list[weakref.ref] = []     # ValueInfos with a heap address
        self._handed_limit = 1024
        self._handed_lock = threading.Lock()
        self._pins: dict[int, int] = {}          # address -> count (Session.pin)
        self._starts = ObjectStarts()

    def _hand_out(self, info: ValueInfo) -> ValueInfo:
        """Remember a ValueInfo holding a heap value: while a front end keeps it, the
        collector keeps its value (see `_pinned_values`)."""
        with self._handed_lock:
            handed = self._handed
            handed.append(weakref.ref(info))
            if len(handed) > self._handed_limit:
                self._handed = handed = [r for r in handed if r() is not None]
                self._handed_limit = max(1024, 2 * len(handed))
        return info

    def _forget_pins(self) -> None:
        with self._handed_lock:
            self._handed = []
        self._pins.clear()

    def pin(self, addr: int) -> None:
        """Keep the object at `addr` alive across collections until `unpin(addr)` (for a
        front end that keeps a raw address rather than a ValueInfo)."""
        self._pins[addr] = self._pins.get(addr, 0) + 1

    def unpin(self, addr: int) -> None:
        n = self._pins.get(addr, 0) - 1
        if n > 0:
            self._pins[addr] = n
        else:
            self._pins.pop(addr, None)

    def _pinned_values(self) -> list:
        """The VM's root provider: every heap value the debugger or a front end holds."""
        out: list = list(self._pins)
        with self._handed_lock:
            live = []
            for r in self._handed:
                info = r()
                if info is None:
                    continue
                live.append(r)
                out.append(info.address)
                ref = info.ref
                if ref is not None and type(getattr(ref, "value", None)) is int:
                    out.append(ref.value)
            self._handed = live
            self._handed_limit = max(1024, 2 * len(live))
        for bp in list(self._bps.values()):
            if bp.old is not None:
                out.append(bp.old.value)
        return out

    # ------------------------------------------------------------------ heap

    def _heap_vm(self):
        self._need_process()
        return self.vm

    def heap_info(self, top: int = 20) -> HeapInfo:
        """`info heap`: the arena, its generations, and the `top` types by live bytes."""
        return heap_info(self._heap_vm(), top)

    def regions(self) -> list[RegionView]:
        """`info regions`: every active `scoped` region of every fiber, by fiber, outermost
        first, with the frame whose block entered it when it can be found."""
        from runtime.heap_regions import region_info

        vm = self._heap_vm()
        heap = vm.heap
        out = []
        for f in vm.sched.fibers:
            stack = f.regions
            if stack is None or not stack.regions:
                continue
            blocks = self._region_blocks(f, {r.region_id for r in stack.regions})
            for r in stack.regions:
                info = region_info(r, heap._u32, heap.base)
                level, fn, loc = blocks.get(r.region_id, (None, "", None))
                out.append(RegionView(info.region_id, info.depth, f.id, info.lo, info.hi,
                                      info.bytes, info.objects, info.live_objects, f.name,
                                      fn, level, loc))
        return out

    def _region_blocks(self, fiber, ids: set[int]) -> dict[int, tuple]:
        """region id -> (frame level, function, location of its `scoped` line): the frame
        whose REGION instruction's register holds the id."""
        found: dict[int, tuple] = {}
        fr = self._top(fiber)
        level = 0
        while fr is not None and len(found) < len(ids):
            for pc, ins in enumerate(fr.fn.code):
                if ins[0] == bc.REGION and ins[1] < len(fr.regs):
                    rid = fr.regs[ins[1]]
                    if type(rid) is int and rid in ids and rid not in found:
                        row = fr.fn.line_at(pc)
                        loc = Location(fr.fn.file, row.line, row.col) if row else None
                        found[rid] = (level, fr.fn.name, loc)
            fr = fr.parent
            level += 1
        return found

    def read_memory(self, addr: int, n: int) -> bytes:
        """`x`: `n` bytes of the heap from `addr`. MemoryAccessError `Cannot access memory at
        address 0x...` (the first byte outside the heap's used part)."""
        return read_memory(self._heap_vm(), addr, n)

    def object_at(self, addr: int) -> ObjectView:
        """The object at `addr` (`info object`): type, generation or region, size, flags,
        state, its fields as `print` shows them, and its value. DebugError when `addr`
        is not an object's address (inside one: which one)."""
        vm = self._heap_vm()
        h = check_object(vm, self._starts, addr)
        region = region_of(vm, addr) if h.flags & FLAG_REGION else 0
        where = (f"region {region}" if region else
                 "young generation" if h.flags & FLAG_YOUNG else "old generation")
        state = ("freed" if h.flags & FLAG_FREED else "released" if h.flags & FLAG_RELEASED
                 else "live")
        fields: list[Variable] = []
        value = None
        length = None
        if state == "live":
            try:
                for label, raw, ftid in object_fields(vm, addr, h.type_id):
                    fields.append(Variable(label, self._describe(raw, ftid), "field"))
                length = object_length(vm, addr, h.type_id)
                vt = value_tid(vm, h.type_id)
                if vt is not None:
                    value = self.value_info(self._typed(addr, vt))
            except (HeapError, RuntimeFailure) as e:
                raise MemoryAccessError(f"Cannot read the object at 0x{addr:x}: {e}.",
                                        address=addr) from None
        freed_at = None
        site = vm.free_sites.get(addr) if state == "freed" else None
        if site is not None:
            fn, pc = site
            row = fn.line_at(pc)
            freed_at = Location(fn.file, row.line, row.col) if row else None
        return ObjectView(addr, type_name(vm, h.type_id), where, HEADER_SIZE + h.size,
                          flag_names(h.flags), state, tuple(fields), h.type_id,
                          h.aux if h.flags & FLAG_RC else None, length, value, freed_at)

    def _typed(self, raw, tid: int):
        from vyndbg.evaluate import TypedValue

        return TypedValue(raw, tid)

    def _describe(self, raw, tid: int | None) -> ValueInfo:
        """A field's ValueInfo; an untyped slot shows its int, or an address as gdb
        shows a pointer."""
        if tid is not None:
            return self.value_info(self._typed(raw, tid))
        heap = self.vm.heap
        if isinstance(raw, FunctionRef):
            return ValueInfo("fn", f"<fn {raw.name}>")
        if type(raw) is int and raw and 0 <= raw - heap.base < heap.used and not raw & 7:
            return self._hand_out(ValueInfo("ptr", f"0x{raw:x}", address=raw))
        if isinstance(raw, float):
            return ValueInfo("Float", format_float(raw))
        return ValueInfo("Int", str(raw))

    def path_to(self, addr: int) -> list[PathStep] | None:
        """`info path ADDR`: why the object at `addr` is alive: a shortest chain of
        references to it from a named root: a variable of a frame of a fiber (innermost
        frames and the first fibers preferred between paths of one length, read as the
        debugger reads variables), an actor's state, a message, a channel's queue, a
        global. When none reaches it, from any root the collector knows (registers,
        closure environments, builtins waiting, constant strings, active regions); when
        none of these does either, from what the debugger holds (the value history,
        values a front end shows, watchpoints). None when nothing reaches it: the next
        full collection frees it."""
        vm = self._heap_vm()
        check_object(vm, self._starts, addr)
        named: list[tuple[str, object]] = []
        unnamed: list[tuple[str, object]] = []
        for label, value, is_named in self._labelled_roots():
            (named if is_named else unnamed).append((label, value))
        found = path_to(vm, addr, named)
        if found is None:
            found = path_to(vm, addr, named + unnamed)
        if found is None:
            held = [(DEBUGGER_ROOT, v) for v in self._pinned_values()]
            found = path_to(vm, addr, named + unnamed + held)
        return found

    def _labelled_roots(self) -> Iterator[tuple[str, object, bool]]:
        """The program's roots as (label, value, named) (see `path_to`)."""
        vm = self.vm
        sched = vm.sched
        for f in sched.fibers:
            who = f"thread {f.id} ({f.name})"
            fr = self._top(f)
            level = 0
            while fr is not None:
                where = f"{who}, frame #{level} {fr.fn.name}"
                for v in self._live_vars(fr, level):
                    try:
                        tv = self._read_var(fr, v)
                    except (HeapError, RuntimeFailure):
                        continue
                    if type(tv.value) is int and vm.kinds[v.type_id] == K_PTR:
                        yield f"{where}, variable {v.name}", tv.value, True
                for i, raw in enumerate(fr.regs):
                    for value in _ints(raw):
                        yield f"{where}, register r{i}", value, False
                if fr.env:
                    yield f"{where}, closure environment", fr.env, False
                pending = getattr(fr, "gen", None)
                if pending is not None:
                    for value in _ints(pending[0]):
                        yield f"{where}, builtin call in progress", value, False
                fr = fr.parent
                level += 1
            if f.state_obj:
                yield f"{who}, actor state", f.state_obj, True
            if f.current_msg is not None:
                for value in _ints(f.current_msg.values):
                    yield f"{who}, message {f.current_msg.id} being handled", value, True
            for m in f.mailbox or ():
                for value in _ints(m.values):
                    yield f"{who}, mailbox message {m.id}", value, True
            for _, args, env in f.calls:
                for value in _ints(args):
                    yield f"{who}, queued call", value, False
                yield f"{who}, queued call", env, False
        for ch in sched.channels:
            for m in ch.queue:
                for value in _ints(m.values):
                    yield f"channel #{ch.id}, queued message {m.id}", value, True
        for i, (gname, _) in enumerate(vm.program.globals):
            if i < len(vm.globals):
                for value in _ints(vm.globals[i]):
                    yield f"global {gname}", value, True
        for text, value in vm._strings.items():
            yield f"constant string {quote_str(text)}", value, False
        for r in vm.heap._regions.active.values():
            for off in r.offsets:
                yield f"scoped region {r.region_id}", vm.heap.base + off, False
        providers = vm.root_providers
        vm.root_providers = [p for p in providers if p != self._pinned_values]
        try:
            others = vm.roots()
        finally:
            vm.root_providers = providers
        for value in others:
            yield "the runtime (messages, results, pool jobs)", value, False

    def collect(self) -> GcResult:
        """`gc`: a full collection now (as `--gc-trace` shows: `full (requested)`), with
        every value the debugger and its front ends hold kept alive."""
        vm = self._heap_vm()
        heap = vm.heap
        before = heap.in_use
        stats = vm.collect("requested", full=True)
        return GcResult(len(vm.gc_pauses), "full", stats.reclaimed_objects,
                        stats.reclaimed_bytes, before, heap.in_use, heap._objects,
                        stats.seconds)

    def string_at(self, addr: int, limit: int = ELEMENTS) -> tuple[str, int]:
        """`x/s`: (the quoted text, the address after it). At a String object's address,
        its text (the next address is the next object's); elsewhere, as gdb reads a C
        string, the bytes up to the first NUL (at most `limit`, then `...`)."""
        vm = self._heap_vm()
        heap = vm.heap
        start = self._starts.containing(heap, addr)
        if start is None:
            raise cannot_access(addr)
        if start == addr:
            type_id, flags, size, _ = HEADER.unpack_from(heap.memory, addr - heap.base)
            if flags & FLAG_BYTES and not flags & FLAGS_DEAD and type_id:
                data = heap.read_bytes(addr)
                text = data[:limit].decode("utf-8", errors="replace")
                return (quote_str(text) + ("..." if len(data) > limit else ""),
                        addr + HEADER_SIZE + size)
        end = heap.base + heap.used
        n = min(limit, end - addr)
        data = read_memory(vm, addr, n)
        cut = data.find(b"\0")
        if cut >= 0:
            return c_string(data[:cut]), addr + cut + 1
        if n < limit:
            raise cannot_access(end)
        return c_string(data) + "...", addr + n

    # ------------------------------------------------------------------ addresses

    def address_of(self, expr: str) -> ValueInfo:
        """`print &EXPR`: the address of the heap object EXPR's value is, as gdb prints a
        pointer (`(Node *) 0x7f...`); for a field or element of a heap object that is not
        itself a heap value (`&node.value`), the address of its slot (`(Int *) 0x...`);
        for a captured `var`, its cell's slot. DebugError (gdb's words) for a value that
        lives only in a register. EXPR is evaluated once."""
        if self.state.state != "stopped":
            self.evaluate_typed(expr)        # gdb's words: not running, or no symbol
        from vyndbg.evaluate import _compile

        e = _parse(expr)
        if isinstance(e, ast.AddrOf):
            e = e.operand
        frame = self._frame(self.selected)
        vm = self.vm
        slot = None           # (container, slot address, value's type id, value)
        if isinstance(e, ast.Field):
            obj = self._eval_in(_compile(e.obj), frame)
            d = vm.types[obj.tid]
            if d.kind in ("struct", "tuple") and self._is_heap_value(obj):
                for i, (name, ftid) in enumerate(d.fields):
                    if name == e.name:
                        raw = self._read(obj.value, i, ftid)
                        slot = (obj, obj.value + HEADER_SIZE + 8 * i, ftid, raw)
                if slot is None:
                    raise NoSymbolError(f"There is no member named {e.name}.",
                                        name=e.name, kind="member", type_name=d.name)
        elif isinstance(e, ast.Index):
            obj = self._eval_in(_compile(e.obj), frame)
            d = vm.types[obj.tid]
            if d.kind in ("vec", "array") and self._is_heap_value(obj):
                idx = self._eval_in(_compile(e.index), frame).value
                n = self._read_length(obj.value, d)
                if type(idx) is not int or not 0 <= idx < n:
                    raise EvaluationError(f"Index out of bounds: the len is {n} but the index is "
                                          f"{idx}.", expression=expr)
                data = vm.heap.get_ptr(obj.value, 1) if d.kind == "vec" else obj.value
                slot = (obj, data + HEADER_SIZE + 8 * idx, d.elem,
                        self._read(data, idx, d.elem))
        if slot is None:
            tv = self._eval_in(_compile(e), frame)
            if isinstance(e, ast.Name) and not self._is_heap_value(tv):
                for v in self._live_vars(frame, self.selected):
                    if v.name == e.name and v.cell:
                        cell = frame.regs[v.reg] if v.kind != "capture" else \
                            self._read_raw(frame.env, 1 + v.reg, K_PTR)
                        if cell:
                            slot = (self._typed(cell, tv.tid), cell + HEADER_SIZE, tv.tid,
                                    tv.value)
            if slot is None:
                if self._is_heap_value(tv):
                    return self._pointer(tv.value, self._type_name(tv.tid), tv)
                raise EvaluationError(NOT_IN_MEMORY, expression=expr)
        container, addr, tid, raw = slot
        value = self._typed(raw, tid)
        if self._is_heap_value(value):       # `&node.next`: the object the field holds
            return self._pointer(raw, self._type_name(tid), value)
        return self._pointer(addr, self._type_name(tid), container)

    def _read(self, addr: int, slot: int, tid: int):
        return self._read_raw(addr, slot, self.vm.kinds[tid])

    def _read_raw(self, addr: int, slot: int, kind: int):
        try:
            return self.vm.reader.read_slot(addr, slot, kind)
        except (HeapError, RuntimeFailure) as e:
            raise MemoryAccessError(f"Cannot access memory: {e}", address=addr) from None

    def _read_length(self, addr: int, d) -> int:
        try:
            return self.vm.reader.length(addr, d)
        except (HeapError, RuntimeFailure) as e:
            raise MemoryAccessError(f"Cannot access memory: {e}", address=addr) from None

    def _pointer(self, addr: int, target: str, ref) -> ValueInfo:
        return self._hand_out(ValueInfo(f"{target} *", f"({target} *) 0x{addr:x}", ref, 0,
                                        addr))

    def _is_heap_value(self, tv) -> bool:
        vm = self.vm
        v = tv.value
        if type(v) is not int or not v or vm.kinds[tv.tid] != K_PTR:
            return False
        return 0 <= v - vm.heap.base < vm.heap.used

    def heap_address(self, value) -> int:
        """The address a raw value is, if it is a heap object's (else 0)."""
        vm = self.vm
        if vm is None or type(value) is not int or not value:
            return 0
        return value if 0 <= value - vm.heap.base < vm.heap.used else 0

    def format_value(self, info: ValueInfo, fmt: str) -> str:
        """`print/FMT` of a value: an integer (Int, Char, Bool) in format FMT (x, d, u, o,
        t, c, z), a pointer (`print/x &node`) as its address in FMT, and with /a a heap
        value as its address (`print/a node`). DebugError for other values, as before."""
        if info.address and (fmt == "a" or info.type_name.endswith(" *")
                             or info.type_name.endswith("(*)()")):
            return format_int(info.address, "x" if fmt in ("a", "c") else fmt)
        try:
            n = int(info.text, 0) if info.type_name not in ("Char", "Rune") else \
                ord(info.text.strip("'")[-1])
        except (ValueError, IndexError):
            if info.type_name == "Bool" and info.text in ("true", "false"):
                return format_int(int(info.text == "true"), fmt)
            raise BadArgumentError(f"Format /{fmt} applies to integers; this value is a "
                                   f"{info.type_name}.", argument="format", value=fmt) from None
        return format_int(n, "x" if fmt == "a" else fmt)


_C_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r",
              0x09: "\\t", 0x0b: "\\v", 0x22: '\\"', 0x5c: "\\\\", 0x1b: "\\033"}


def c_string(data: bytes) -> str:
    """Bytes as gdb prints a C string: printable ASCII as is, C escapes, others in octal."""
    out = []
    for b in data:
        esc = _C_ESCAPES.get(b)
        if esc is not None:
            out.append(esc)
        elif 0x20 <= b < 0x7f:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _ints(value) -> Iterator[int]:
    """The ints inside a register value (lists, tuples and the locals of a builtin's
    generator hold several), as the VM's root scan finds them."""
    from runtime.vm import _Scan

    out: list = []
    _Scan(out).value(value)
    return iter(out)


def _parse(expr: str) -> ast.Expr:
    sink = DiagnosticSink()
    e = parse_expression(expr, sink)
    if e is None or sink.has_errors:
        msg = sink.sorted()[0].message if sink.items else "syntax error"
        raise BadExpressionError(f"A syntax error in expression, near `{expr}`: {msg}.",
                                 expression=expr, detail=msg)
    return e


__all__ = ["HeapViews", "cannot_access", "format_int", "heap_info",
           "path_to", "read_memory", "type_name"]
