"""The collector's native core (runtime/heap_native.py) against its Python reference
(runtime/heap_gc.py): the same random workloads on two heaps, one collected each way,
must end in the same marks, free lists, counters, statistics and arena bytes (pointers
compared as offsets: the two arenas have different bases). Also the young generation's
runs (records native code allocated in lent heap), the "heap corrupted" error, and the
object cache (a damaged cached object is rebuilt; no cache, no core: Python)."""

from __future__ import annotations

import ctypes
import random
import re
import sys

import pytest

from runtime import heap_gc, heap_native
from runtime.heap import Heap
from runtime.heap_errors import HeapError
from runtime.heap_layout import FLAG_YOUNG, HEADER, HEADER_SIZE, SlotKind, TypeKind

MASK = (1 << 64) - 1


@pytest.fixture(scope="module")
def core():
    found = heap_native.core()
    if found is None:
        pytest.skip("the native core cannot be built here (llvmlite?)")
    return found


class Twin:
    """Two heaps driven by the same operations: `native` collects natively, `python` in
    Python. Objects are named by their arena offset, the same in both."""

    def __init__(self, seed: int, limit: int = 1 << 22, mixed: bool = False) -> None:
        self.rng = random.Random(seed)
        self.mixed = mixed   # the native heap collects in Python now and then
        self.native = Heap(limit)
        self.native.gc_native = True
        self.python = Heap(limit)
        self.python.gc_native = False
        self.heaps = (self.native, self.python)
        self.types = {}
        for h in self.heaps:
            self.types = {
                "node": h.register_type("Node", TypeKind.RECORD,
                                        (SlotKind.INT, SlotKind.PTR, SlotKind.PTR)),
                "pair": h.register_type("Pair", TypeKind.RECORD,
                                        (SlotKind.PTR, SlotKind.FLOAT)),
                "leaf": h.register_type("Leaf", TypeKind.RECORD, ()),
                "ptrs": h.register_type("Ptrs", TypeKind.ARRAY, (SlotKind.PTR,)),
                "ints": h.register_type("Ints", TypeKind.ARRAY, (SlotKind.INT,)),
                "text": h.register_type("Text", TypeKind.BYTES, ()),
            }
        self.ptr_slots = {self.types["node"]: (1, 2), self.types["pair"]: (0,)}
        self.objects: list[int] = []   # offsets of objects made (some reclaimed since)
        self.roots: list[int] = []
        self.regions: list[int] = []

    def both(self, fn):
        """fn(heap) on both heaps; their results (offsets) must agree."""
        results = []
        for h in self.heaps:
            try:
                results.append(("ok", fn(h)))
            except HeapError as e:
                results.append(("error", type(e).__name__, str(e)))
        assert results[0] == results[1]
        return results[0]

    def live(self, off: int) -> bool:
        return self.python.is_live(self.python.base + off)

    def alloc(self) -> None:
        kind = self.rng.choice(["node", "node", "pair", "leaf", "ptrs", "ints", "text", "rc"])
        tid = self.types["node" if kind == "rc" else kind]
        n = self.rng.randrange(0, 6)

        def make(h: Heap) -> int:
            if kind == "rc":
                return h.alloc_rc(tid, 3) - h.base
            if kind == "text":
                return h.alloc_bytes(tid, b"x" * n) - h.base
            if kind in ("ptrs", "ints"):
                return h.alloc(tid, n) - h.base
            return h.alloc(tid, {"node": 3, "pair": 2, "leaf": 0}[kind]) - h.base
        result = self.both(make)
        if result[0] == "ok":
            self.objects.append(result[1])
            if self.rng.random() < 0.3:
                self.roots.append(result[1])

    def lent_run(self) -> None:
        """What Jit._tlab_open/_tlab_close do around native code that allocates Nodes
        inline: bump space lent, records written there, the run taken back."""
        count = self.rng.randrange(1, 12)
        for h in self.heaps:
            if h._region is not None or h.limit - h._top < 256:
                return
        for h in self.heaps:
            start = off = h._top
            for _ in range(count):
                HEADER.pack_into(h._mm, off, self.types["node"], FLAG_YOUNG, 24, 0)
                off += HEADER_SIZE + 24
            h._young.add_run(start, off)
            h._young_bytes += off - start
            h._top = off
        self.objects.extend(range(start, off, HEADER_SIZE + 24))

    def link(self) -> None:
        if not self.objects:
            return
        a, b = self.rng.choice(self.objects), self.rng.choice(self.objects)
        if not (self.live(a) and self.live(b)):
            return
        h0 = self.python
        tid = h0.type_of(h0.base + a)
        if tid == self.types["ptrs"]:
            n = h0.slots(h0.base + a)
            if not n:
                return
            slot = self.rng.randrange(n)
        elif tid in self.ptr_slots:
            slot = self.rng.choice(self.ptr_slots[tid])
        else:
            return
        value = 0 if self.rng.random() < 0.1 else b
        self.both(lambda h: h.set_ptr(h.base + a, slot, h.base + value if value else 0))

    def kill(self) -> None:
        if not self.objects:
            return
        a = self.rng.choice(self.objects)
        if self.live(a):
            self.both(lambda h: h.free(h.base + a))

    def region(self) -> None:
        if self.regions and self.rng.random() < 0.5:
            rid = self.regions.pop()
            self.both(lambda h: h.exit_region(rid).objects)
        else:
            self.regions.append(self.both(lambda h: h.enter_region())[1])

    def collect(self, full: bool) -> None:
        if self.rng.random() < 0.2 and self.roots:
            self.roots.pop(self.rng.randrange(len(self.roots)))
        extra = [self.rng.randrange(-(1 << 63), 1 << 64) for _ in range(2)]
        junk = [h.base + 4 for h in self.heaps]    # conservative roots: not objects

        if self.mixed:
            self.native.gc_native = self.rng.random() < 0.7

        def run(h: Heap):
            roots = [h.base + r for r in self.roots] + extra + [junk[h is self.python]]
            stats = h.collect(roots) if full else h.collect_young(roots)
            return {k: v for k, v in stats._asdict().items() if k != "seconds"}
        self.both(run)
        # Forget what was reclaimed: its memory may hold another object's inside now.
        h = self.python
        starts = {o.addr - h.base for o in h.walk()}
        self.objects = [o for o in self.objects if o in starts]
        self.roots = [o for o in self.roots if o in starts]
        self.check()

    def check(self) -> None:
        a, b = self.heaps
        assert a._top == b._top
        assert a._objects == b._objects and a._nobjects == b._nobjects
        assert a._dead_objects == b._dead_objects and a._dead_bytes == b._dead_bytes
        assert a._free.by_size == b._free.by_size
        assert a._free._sizes == b._free._sizes and a._free.bytes == b._free.bytes
        assert list(a._young) == list(b._young) and len(a._young) == len(b._young)
        assert a._remembered == b._remembered
        assert a._allocated_before == b._allocated_before
        assert a.stats().live_bytes == b.stats().live_bytes
        assert same_memory(a, b)
        if a._gc_starts:   # the side table's start bits kept between collections
            starts = {o.addr - a.base for o in a.walk()}
            table = ctypes.string_at(a._gc_scratch.table, a._gc_scratch.dirty)
            bits = {i << 3 for i, v in enumerate(table) if v & heap_native.START}
            assert bits == starts

    def step(self) -> None:
        r = self.rng.random()
        if r < 0.45:
            self.alloc()
        elif r < 0.55:
            self.lent_run()
        elif r < 0.80:
            self.link()
        elif r < 0.85:
            self.kill()
        elif r < 0.90:
            self.region()
        elif r < 0.95:
            self.collect(full=False)
        else:
            self.collect(full=True)


def same_memory(a: Heap, b: Heap) -> bool:
    """The arenas hold the same words up to the bump pointer, a pointer being the same
    when it points at the same offset."""
    wa, wb = a.u64, b.u64
    for i in range(a._top >> 3):
        x, y = wa[i], wb[i]
        if x != y and (x - a.base) != (y - b.base):
            return False
    return True


@pytest.mark.parametrize("seed", range(12))
def test_native_and_python_collections_agree_on_random_workloads(core, seed):
    twin = Twin(seed, mixed=seed % 3 == 2)
    for _ in range(600):
        twin.step()
    twin.collect(full=False)
    twin.collect(full=True)
    while twin.regions:
        twin.region()
    twin.roots.clear()
    twin.collect(full=True)
    assert twin.python._top == 0 or twin.python.stats().live_objects == 0 or twin.regions


def test_native_marks_are_the_python_marks(core):
    twin = Twin(99)
    for _ in range(800):
        twin.step()
    a, b = twin.heaps
    roots = [r for r in twin.roots]
    table = heap_gc._object_starts(b)
    marked = heap_gc._mark(b, table, [b.base + r for r in roots])
    scratch, mk, _, n = heap_native.mark(core, a, [a.base + r for r in roots])
    assert n == marked
    native = bytes(2 if v == mk else 1 if v & heap_native.START else 0
                   for v in ctypes.string_at(scratch.table, len(table)))
    assert native == bytes(table)


def test_the_side_table_values_come_round_again(core):
    """Hundreds of collections: the table is cleared when its values are used again, and
    a heap that shrinks and grows keeps its scratch layout."""
    twin = Twin(7, limit=1 << 24)
    for i in range(3 * heap_native.EPOCHS + 5):
        for _ in range(8):
            twin.alloc()
        if i % 40 == 0:
            for _ in range(400):
                twin.alloc()
        for _ in range(3):
            twin.link()
        twin.collect(full=i % 3 != 0)


def test_a_corrupt_slot_raises_the_same_error_and_changes_nothing(core):
    for seed in range(4):
        twin = Twin(seed)
        for _ in range(300):
            twin.step()
        nodes = [o for o in twin.objects if twin.live(o) and
                 twin.python.type_of(twin.python.base + o) == twin.types["node"]]
        if not nodes:
            continue
        victim = nodes[0]
        twin.roots.append(victim)
        for h in twin.heaps:   # an interior address: not an object
            h.u64[(victim >> 3) + 2 + 1] = h.base + victim + 8
        before = [bytes(h.memory[:h._top]) for h in twin.heaps]
        errors = []
        for h in twin.heaps:
            with pytest.raises(HeapError) as info:
                h.collect([h.base + r for r in twin.roots])
            detail = re.sub(r"0x([0-9a-f]+)",
                            lambda m, h=h: f"B+{int(m.group(1), 16) - h.base}",
                            info.value.detail)
            errors.append((str(info.value), detail))
        assert errors[0] == errors[1]
        assert errors[0][0] == "heap corrupted"
        assert [bytes(h.memory[:h._top]) for h in twin.heaps] == before
        for h in twin.heaps:
            h.u64[(victim >> 3) + 2 + 1] = 0
        twin.collect(full=True)


def test_a_lent_run_joins_the_young_generation_as_one_entry():
    heap = Heap(1 << 20)
    heap.gc_native = False
    node = heap.register_type("Node", TypeKind.RECORD, (SlotKind.PTR,))
    first = heap.alloc(node, 1) - heap.base
    start = off = heap._top
    for _ in range(5):
        HEADER.pack_into(heap._mm, off, node, FLAG_YOUNG, 8, 0)
        off += HEADER_SIZE + 8
    heap._young.add_run(start, off)
    heap._young_bytes += off - start
    heap._top = off
    assert list.__len__(heap._young) == 3                # one entry, and a pair
    assert len(heap._young) == 6 and heap._objects == 6
    assert heap._young.offsets() == [first, *range(start, off, 24)]
    assert heap.stats().live_objects == 6
    stats = heap.collect_young([heap.base + start + 24])
    assert (stats.marked_objects, stats.reclaimed_objects) == (1, 5)
    assert heap._objects == 1 and len(heap._young) == 0


def test_the_cached_object_is_used_and_a_damaged_one_rebuilt(tmp_path, monkeypatch):
    pytest.importorskip("llvmlite")
    monkeypatch.setenv("VYN_CACHE", str(tmp_path))
    monkeypatch.setattr(heap_native, "_core", [])
    first = heap_native.core()
    assert first is not None and first.source == "compiled"
    path = heap_native._cache_path()
    assert path is not None and path.startswith(str(tmp_path))
    monkeypatch.setattr(heap_native, "_core", [])
    assert heap_native.core().source == "cache"
    data = bytearray(open(path, "rb").read())
    data[-40] ^= 0xFF
    open(path, "wb").write(bytes(data))
    monkeypatch.setattr(heap_native, "_core", [])
    assert heap_native.core().source == "compiled"          # detected, rebuilt, stored
    monkeypatch.setattr(heap_native, "_core", [])
    assert heap_native.core().source == "cache"


def test_without_the_core_the_collector_is_python(monkeypatch):
    monkeypatch.setattr(heap_native, "_core", [])
    monkeypatch.setitem(sys.modules, "llvmlite", None)       # import fails
    monkeypatch.setitem(sys.modules, "llvmlite.binding", None)
    monkeypatch.setitem(sys.modules, "llvmlite.ir", None)
    monkeypatch.setenv("VYN_CACHE", "off")
    heap = Heap(1 << 20)
    heap.gc_native = True
    node = heap.register_type("Node", TypeKind.RECORD, (SlotKind.PTR,))
    keep = heap.alloc(node, 1)
    heap.alloc(node, 1)
    stats = heap.collect([keep])
    assert stats.reclaimed_objects == 1
    assert heap_native._core == [None]


def test_vyn_gc_native_selects_the_path(monkeypatch):
    monkeypatch.setenv("VYN_GC_NATIVE", "off")
    assert Heap(1 << 20).gc_native is False
    monkeypatch.setenv("VYN_GC_NATIVE", "on")
    assert Heap(1 << 20).gc_native is True
    monkeypatch.delenv("VYN_GC_NATIVE")
    assert Heap(1 << 20).gc_native is None


@pytest.mark.parametrize("lengths", [1, 3, heap_native.MANY_SIZES + 5])
def test_a_minor_collection_indexes_blocks_of_many_sizes_as_python_does(core, lengths):
    twin = Twin(5)
    rng = random.Random(lengths)
    kept = []
    for i in range(400):
        n = rng.randrange(lengths)
        off = twin.both(lambda h, n=n: h.alloc(twin.types["ints"], n) - h.base)[1]
        if i % 7 == 0:
            kept.append(off)
    twin.roots = kept
    twin.collect(full=False)
    # The dead objects between two kept ones are one block: sizes are sums of lengths.
    sizes = twin.python._free._sizes
    assert sizes == twin.native._free._sizes
    if lengths > heap_native.MANY_SIZES:
        assert len(sizes) > heap_native.MANY_SIZES      # past the core's size index
    dead = {i for i in range(400) if i % 7}
    assert len(twin.python._free) == sum(1 for i in dead if i - 1 not in dead)


def test_without_scratch_memory_the_collection_is_python(core, monkeypatch):
    def no_memory(size):
        raise OSError(12, "Cannot allocate memory")
    monkeypatch.setattr(heap_native, "_map", no_memory)
    twin = Twin(3)
    for _ in range(300):
        twin.step()
    twin.collect(full=True)
    twin.collect(full=False)
    assert twin.native._gc_scratch is None
