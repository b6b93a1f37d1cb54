"""The collector: a non-moving, generational mark-sweep over the heap arena (part of
`Heap`).

Two generations share the arena (objects never move: addresses are real pointers that
native code and unicorn rely on). Every allocation is young (FLAG_YOUNG, and its offset
in `Heap._young`, a `YoungObjects`: a run of records native code allocated in lent heap
is one entry there); a collection's survivors are old. A minor collection (`minor`)
traces only young objects, from the roots, the remembered set and active regions, and
reclaims the young ones nothing reaches: its work is proportional to what was allocated
since the last collection, not to the heap. The write barrier in `Heap.set_ptr` keeps the
remembered set: an old object into which a young pointer is stored. A full collection
(`mark_sweep`) traces everything and coalesces free memory.

Marking starts from the roots the VM passes and follows PTR slots as the type registry
describes them. Sweeping visits the arena in address order and turns each run of
adjacent unreachable objects and old free blocks into one zeroed free block (a run that
reaches the bump pointer lowers it instead).

What is never reclaimed (SEMANTICS.md, "Memory": the collector never frees a reachable
object, and no tier reads reused memory silently):
- an object reachable from a root, dead or alive. A freed or released object that is
  still reachable stays as a tombstone, so using the pointer keeps raising
  UseAfterFree / DanglingReference; its slots are not traced, as it can't be read.
- an object of a region that is still active, reachable or not: the region's exit will
  write its header. These are roots, so what they point to is kept too.

Roots are conservative (any value that is not an object address is ignored), slots are
precise: a PTR slot that holds something other than null or an object address means the
heap is corrupt, and the collection stops with HeapError before reclaiming anything.

The loops over objects run natively when `heap_native` can (the same work in the same
order: `heap_native.full`, `heap_native.minor`); the functions here are the reference and
the fallback (`VYN_GC_NATIVE=off`).
"""

from __future__ import annotations

import os
import time
from collections import namedtuple
from collections.abc import Iterable

from runtime.heap_errors import HeapError
from runtime.heap_layout import (
    FLAG_FREE_BLOCK,
    FLAG_YOUNG,
    FLAGS_DEAD,
    HEADER,
    HEADER_SIZE,
    TRACE_ALL,
)

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from runtime.heap import Heap

# Side table states, one byte per 8-byte word of the arena.
_START = 1  # an object (or tombstone) starts at this word
_MARKED = 2  # ... and a root reaches it


class CollectStats(namedtuple("CollectStats", "marked_objects reclaimed_objects "
                                              "reclaimed_bytes live_bytes free_bytes seconds")):
    """What one collection did: the objects marked (reached from the roots or active
    regions, tombstones included), the objects and bytes reclaimed, the live and free
    bytes after it, and how long it took in seconds."""

    __slots__ = ()


def native_mode() -> bool | None:
    """A new heap's `gc_native`, from VYN_GC_NATIVE: `off` False (the Python loops), `on`
    True (the native core for every collection, when it can be loaded), else None
    (automatic: heap_native.for_heap)."""
    choice = os.environ.get("VYN_GC_NATIVE", "").strip().lower()
    if choice in ("off", "0", "no", "false"):
        return False
    return True if choice in ("on", "1", "yes", "true") else None


MIN_TRIGGER = 4 << 20  # collect after at least this much allocation (or limit / 8)
MIN_NURSERY, MAX_NURSERY = 256 << 10, 4 << 20


def nursery_size(limit: int) -> int:
    """Bytes allocated between minor collections: a sixteenth of the limit, within
    [MIN_NURSERY, MAX_NURSERY]."""
    return max(MIN_NURSERY, min(MAX_NURSERY, limit // 16))


def trigger_after(in_use: int, limit: int) -> int:
    """Bytes to allocate before the next collection is due, `in_use` bytes having
    survived this one: as much again (so collection work stays proportional to
    allocation), at least MIN_TRIGGER, but at most half the room left, so a collection
    comes before the limit does."""
    floor = min(MIN_TRIGGER, limit // 8)
    return max(1, min(max(in_use, floor), (limit - in_use) // 2))


class YoungObjects(list):
    """The young generation (`Heap._young`): arena offsets in allocation order. A run of
    records native code allocated in heap lent to it (`Jit._tlab_close`) is one entry
    pair, `~start` (negative) then `stop`, so taking a run back costs nothing per record;
    its records are counted when asked (`len`, `Heap._objects`) or at the next collection
    (`settle`), walking their headers. Iterating gives the raw entries; `offsets()` the
    objects."""

    __slots__ = ("_u32", "_pending", "records", "runs")

    def __init__(self, u32: memoryview) -> None:
        super().__init__()
        self._u32 = u32
        self._pending: list[tuple[int, int]] = []  # runs whose records are not counted
        self.records = 0  # records in the counted runs
        self.runs = 0

    def add_run(self, start: int, stop: int) -> None:
        """The records native code placed in [start, stop) (stop > start) are young."""
        self.append(~start)
        self.append(stop)
        self._pending.append((start, stop))
        self.runs += 1

    def run_records(self) -> int:
        """How many records the runs hold."""
        if self._pending:
            u32 = self._u32
            count = 0
            for off, stop in self._pending:
                while off < stop:
                    off += u32[(off >> 2) + 2] + HEADER_SIZE
                    count += 1
            self.records += count
            self._pending.clear()
        return self.records

    def settle(self, objects: int) -> None:
        """The young generation has `objects` objects (counted by walking it)."""
        self.records = objects - (list.__len__(self) - 2 * self.runs)
        self._pending.clear()

    def offsets(self) -> list[int]:
        """The young objects' offsets, in allocation order (runs walked; settles)."""
        if not self.runs:
            return list(self)
        out: list[int] = []
        u32 = self._u32
        entries = list(self)
        i, n = 0, len(entries)
        while i < n:
            e = entries[i]
            if e >= 0:
                out.append(e)
                i += 1
                continue
            off, stop = ~e, entries[i + 1]
            while off < stop:
                out.append(off)
                off += u32[(off >> 2) + 2] + HEADER_SIZE
            i += 2
        self.settle(len(out))
        return out

    def __len__(self) -> int:
        return list.__len__(self) - 2 * self.runs + self.run_records()

    def __bool__(self) -> bool:
        return list.__len__(self) > 0


def _natively(heap: Heap, visit: int, kind: str, roots: Iterable[int]) -> CollectStats | None:
    """The collection `kind` ("full" or "minor") by the native core, when it takes one
    that visits `visit` bytes; None: collect in Python (no core, or no scratch memory,
    in which case nothing changed)."""
    from runtime import heap_native  # imported by the first collection, not at start

    core = heap_native.for_heap(heap, visit)   # (loading it is not the pause)
    if core is None:
        return None
    started = time.perf_counter()
    try:
        marked, objects, nbytes = getattr(heap_native, kind)(core, heap, roots)
    except heap_native.NoScratch:
        return None
    _young_again(heap)
    return _stats(heap, marked, objects, nbytes, started)


def mark_sweep(heap: Heap, roots: Iterable[int]) -> CollectStats:
    """Collect `heap`: reclaim what no root reaches. See the module docstring."""
    done = _natively(heap, heap._top, "full", roots)
    if done is not None:
        return done
    started = time.perf_counter()
    heap._gc_starts = False   # the native core's object starts are out of date now
    table = _object_starts(heap)
    marked = _mark(heap, table, roots)
    young = heap._young.offsets()
    reclaimed_objects, reclaimed_bytes = _sweep(heap, table)
    _promote(heap, table, young)
    return _stats(heap, marked, reclaimed_objects, reclaimed_bytes, started)


def _stats(heap: Heap, marked: int, objects: int, nbytes: int, started: float
           ) -> CollectStats:
    return CollectStats(
        marked_objects=marked,
        reclaimed_objects=objects,
        reclaimed_bytes=nbytes,
        live_bytes=heap._top - heap._free.bytes - heap._dead_bytes,
        free_bytes=heap._free.bytes,
        seconds=time.perf_counter() - started,
    )


def _promote(heap: Heap, table: bytearray, young: list[int]) -> None:
    """Every survivor is old now; the remembered set is empty again."""
    u32 = heap._u32
    for off in young:
        if table[off >> 3] == _MARKED:
            u32[(off >> 2) + 1] &= ~FLAG_YOUNG
    _young_again(heap)


def _young_again(heap: Heap) -> None:
    """After a collection: nothing is young, nothing is remembered."""
    heap._nobjects += heap._young.run_records()   # the runs' records, settled before
    heap._young = YoungObjects(heap._u32)
    heap._allocated_before += heap._young_bytes
    heap._young_bytes = 0
    heap._remembered.clear()


def minor(heap: Heap, roots: Iterable[int]) -> CollectStats:
    """Collect the young generation only (see the module docstring)."""
    done = _natively(heap, heap._young_bytes, "minor", roots)
    if done is not None:
        return done
    started = time.perf_counter()
    heap._gc_starts = False
    base, top = heap.base, heap._top
    u32, u64 = heap._u32, heap._u64
    pointer_slots = heap.types.pointer_slots
    young = heap._young.offsets()
    table = bytearray(top >> 3)
    for off in young:
        table[off >> 3] = _START
    stack = []

    def reach(value: int) -> None:
        target = value - base
        if 0 <= target < top and not target & 7 and table[target >> 3] == _START:
            table[target >> 3] = _MARKED
            stack.append(target)

    for root in roots:
        if type(root) is int:
            reach(root)
    for region in heap._regions.active.values():
        for off in region.offsets:
            if table[off >> 3] == _START:
                table[off >> 3] = _MARKED
                stack.append(off)
    # Old objects the barrier remembered: their pointer slots are roots.
    pending = [off for off in heap._remembered
               if not u32[(off >> 2) + 1] & (FLAGS_DEAD | FLAG_YOUNG)]
    while pending or stack:
        off = pending.pop() if pending else stack.pop()
        h = off >> 2
        if u32[h + 1] & FLAGS_DEAD:
            continue
        slots = pointer_slots.get(u32[h], ())
        if slots is TRACE_ALL:
            slots = range(u32[h + 2] >> 3)
        first = (off >> 3) + 2
        for slot in slots:
            value = u64[first + slot]
            if value:
                reach(value)
    mv = heap._mv
    reclaimed_objects = reclaimed_bytes = 0
    # Freed blocks in order; an object right after the last one freed (a run lent to
    # native code) joins it, so the run's dead records become one block to reuse.
    freed: list[list[int]] = []
    for off in young:
        h = off >> 2
        if table[off >> 3] == _MARKED:
            u32[h + 1] &= ~FLAG_YOUNG
            continue
        flags = u32[h + 1]
        total = HEADER_SIZE + u32[h + 2]
        _zero(mv, off, off + total)
        heap._nobjects -= 1
        if flags & FLAGS_DEAD:
            heap._dead_objects -= 1
            heap._dead_bytes -= total
        if freed and freed[-1][1] == off:
            freed[-1][1] = off + total
        else:
            freed.append([off, off + total])
        reclaimed_objects += 1
        reclaimed_bytes += total
    for start, end in freed:
        _make_free_block(heap, start, end)
    marked = len(young) - reclaimed_objects
    _young_again(heap)
    return _stats(heap, marked, reclaimed_objects, reclaimed_bytes, started)


def _object_starts(heap: Heap) -> bytearray:
    table = bytearray(heap._top >> 3)
    u32 = heap._u32
    off, top = 0, heap._top
    while off < top:
        h = off >> 2
        if not u32[h + 1] & FLAG_FREE_BLOCK:
            table[off >> 3] = _START
        off += HEADER_SIZE + u32[h + 2]
    return table


def _mark(heap: Heap, table: bytearray, roots: Iterable[int]) -> int:
    base, top = heap.base, heap._top
    u32, u64 = heap._u32, heap._u64
    pointer_slots = heap.types.pointer_slots
    stack = []
    for root in roots:
        off = root - base
        if 0 <= off < top and not off & 7 and table[off >> 3] == _START:
            table[off >> 3] = _MARKED
            stack.append(off)
    # An active region's objects are kept whether reachable or not (its exit writes
    # their headers), so they are traced too: whatever a kept object points to is kept.
    for region in heap._regions.active.values():
        for off in region.offsets:
            if table[off >> 3] == _START:
                table[off >> 3] = _MARKED
                stack.append(off)
    marked = len(stack)
    while stack:
        off = stack.pop()
        h = off >> 2
        if u32[h + 1] & FLAGS_DEAD:
            continue  # a tombstone is kept but cannot be read, so it keeps nothing alive
        slots = pointer_slots.get(u32[h], ())
        if slots is TRACE_ALL:
            slots = range(u32[h + 2] >> 3)
        first = (off >> 3) + 2
        for slot in slots:
            value = u64[first + slot]
            if not value:
                continue
            target = value - base
            if not 0 <= target < top or target & 7 or not table[target >> 3]:
                raise HeapError(
                    "heap corrupted",
                    value,
                    f"slot {slot} of the object at 0x{base + off:x} holds 0x{value:x}, "
                    "which is not an object",
                )
            if table[target >> 3] == _START:
                table[target >> 3] = _MARKED
                marked += 1
                stack.append(target)
    return marked


def _sweep(heap: Heap, table: bytearray) -> tuple[int, int]:
    """Each run of adjacent unreachable objects and free blocks becomes one zeroed free
    block (a run that reaches the bump pointer lowers it). A free block's payload is
    zero already (heap_freelist), so only its header is cleared; the objects' bytes are
    zeroed a stretch of adjacent objects at a time (one slice assignment each)."""
    top = heap._top
    u32, mv = heap._u32, heap._mv
    free = heap._free
    free.clear()
    reclaimed_objects = reclaimed_bytes = 0
    run = -1  # start of the current run of reclaimable memory, or -1
    dirty = -1  # start of the run's objects not zeroed yet, or -1
    off = 0
    while off < top:
        h = off >> 2
        flags = u32[h + 1]
        total = HEADER_SIZE + u32[h + 2]
        if flags & FLAG_FREE_BLOCK:
            # Joins the run: zero before it what is pending, and its header.
            if dirty >= 0:
                _zero(mv, dirty, off)
                dirty = -1
            mv[off : off + HEADER_SIZE] = _ZEROS[:HEADER_SIZE]
        elif table[off >> 3] == _MARKED:
            if run >= 0:
                if dirty >= 0:
                    _zero(mv, dirty, off)
                    dirty = -1
                _make_free_block(heap, run, off)
                run = -1
            off += total
            continue
        else:
            heap._nobjects -= 1
            if flags & FLAGS_DEAD:
                heap._dead_objects -= 1
                heap._dead_bytes -= total
            reclaimed_objects += 1
            reclaimed_bytes += total
            if dirty < 0:
                dirty = off
        if run < 0:
            run = off
        off += total
    if run >= 0:
        if dirty >= 0:
            _zero(mv, dirty, top)
        heap._top = run  # the tail is zero again, as the bump allocator expects
    return reclaimed_objects, reclaimed_bytes


_ZEROS = memoryview(bytes(1 << 16))


def _zero(mv: memoryview, start: int, end: int) -> None:
    while end - start > len(_ZEROS):
        mv[start : start + len(_ZEROS)] = _ZEROS
        start += len(_ZEROS)
    mv[start:end] = _ZEROS[: end - start]


def _make_free_block(heap: Heap, start: int, end: int) -> None:
    HEADER.pack_into(heap._mm, start, 0, FLAG_FREE_BLOCK, end - start - HEADER_SIZE, 0)
    heap._free.add(start, end - start)
