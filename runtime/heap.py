"""The runtime heap: one mmap'd arena whose addresses are real process addresses.

The interpreter reads and writes objects through `Heap`'s accessors; native code
(llvmlite's JIT) and unicorn (`mem_map_ptr(heap.base, heap.mapped_size, ...)`) use the
same addresses as raw pointers, so a pointer means the same thing in every tier
(ARCHITECTURE.md, "Execution"). Layout constants are in `heap_layout`, errors in
`heap_errors`, the collector in `heap_gc`; docs/heap.md is the user-level contract.

Lifetimes (SEMANTICS.md, "Memory"): `free` and a refcount reaching zero mark an object
FREED, a `scoped` region's exit marks its objects RELEASED, and neither reuses memory:
the header stays as a tombstone so any later access raises `UseAfterFree` or
`DanglingReference`. Only the collector reuses memory, and only that of objects no root
reaches.
"""

from __future__ import annotations

import ctypes
import mmap
from collections import namedtuple
from collections.abc import Iterable, Iterator

from runtime import heap_gc
from runtime.heap_errors import (
    BadAccess,
    DanglingReference,
    HeapError,
    HeapExhausted,
    UseAfterFree,
)
from runtime.heap_freelist import FreeBlocks
from runtime.heap_gc import CollectStats, YoungObjects
from runtime.heap_layout import (
    BYTES_DATA_OFFSET,
    FLAG_BYTES,
    FLAG_FREE_BLOCK,
    FLAG_FREED,
    FLAG_RC,
    FLAG_REGION,
    FLAG_RELEASED,
    FLAG_YOUNG,
    FLAGS_DEAD,
    FREE_TYPE_ID,
    HEADER,
    HEADER_SIZE,
    MAP_NORESERVE,
    MAX_SLOTS,
    SHAPE_ARRAY,
    SHAPE_BYTES,
    SHAPE_UNKNOWN,
    WORD,
    ObjectHeader,
    ObjectInfo,
    SlotKind,
    TypeInfo,
    TypeKind,
    TypeRegistry,
    bytes_payload,
)
from runtime.heap_regions import RegionInfo, RegionStack, RegionTable, region_info

DEFAULT_LIMIT = 1 << 30  # 1 GiB, `--heap-limit`
MIN_LIMIT = 4096
MAX_LIMIT = 1 << 44

_pack_header = HEADER.pack_into



class HeapStats(namedtuple("HeapStats", "base limit used live_bytes live_objects dead_bytes "
                                        "dead_objects free_bytes regions collections")):
    """A snapshot of the heap for the debugger, traces and `vyn run --stats`.

    base: address of the arena's first byte; limit: bytes the heap may use
    (`--heap-limit`); used: bytes from base to the bump pointer (live + dead + free);
    live_bytes, live_objects: objects not freed or released, headers included;
    dead_bytes, dead_objects: tombstones, freed or released objects kept for error
    detection; free_bytes: reclaimed by the collector, ready for reuse; regions: the
    active regions (RegionInfo), all stacks, oldest first; collections: how many ran.
    """

    __slots__ = ()


class Heap:
    """A bump-allocated arena of typed objects with lifetime checks and a collector.

    Accessors (`get_i64`, `set_ptr`, ...) are checked: they refuse null, addresses
    outside the heap, dead objects (one AND on the flags word) and slots past the
    object's end. The VM uses them by default. Within one instruction, after
    `check_slots(addr, n)` has accepted an object, the VM may read and write its slots
    0..n-1 through the unchecked word views: nothing can free the object in between.

    Attributes:
        base: address of the arena's first byte (read-only).
        limit: bytes the heap may use; an allocation past it raises HeapExhausted.
        mapped_size: bytes mapped at `base` (the limit rounded up to whole pages).
        types: the type registry.
        i64, u64, f64: the arena as 8-byte words (int64, uint64 for pointers, float64);
            slot `s` of the object at `addr` is word `((addr - base) >> 3) + 2 + s`.
            Unchecked: see above.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if not MIN_LIMIT <= limit <= MAX_LIMIT:
            raise HeapError(f"the heap limit must be between {MIN_LIMIT} and {MAX_LIMIT} bytes")
        self.limit = limit
        # One mapping of the whole limit, made once: addresses never move, unicorn maps
        # it once, and untouched pages cost no memory (anonymous pages are lazily
        # committed, and MAP_NORESERVE skips the swap reservation).
        self.mapped_size = -(-limit // mmap.PAGESIZE) * mmap.PAGESIZE
        try:
            self._mm = mmap.mmap(-1, self.mapped_size, flags=mmap.MAP_PRIVATE | MAP_NORESERVE)
        except OSError as e:
            raise HeapError(f"cannot reserve {limit} bytes for the heap: {e.strerror}") from None
        anchor = ctypes.c_char.from_buffer(self._mm)
        self.base = ctypes.addressof(anchor)
        del anchor  # releases its buffer export, so close() can unmap
        self._mv = memoryview(self._mm)
        self._u32 = self._mv.cast("I")
        self._i64 = self._mv.cast("q")
        self._u64 = self._mv.cast("Q")
        self._f64 = self._mv.cast("d")
        self._readonly = self._mv.toreadonly()
        self.i64, self.u64, self.f64 = self._i64, self._u64, self._f64
        self.types = TypeRegistry()
        self._shapes = self.types.shapes
        self._top = 0  # arena offset of the bump pointer
        self._free = FreeBlocks()
        self._free_map = self._free.by_size
        # Objects in the arena, tombstones included, but the records of the lent runs
        # in the young generation (`_objects` adds them).
        self._nobjects = 0
        self._dead_objects = 0
        self._dead_bytes = 0
        self._regions = RegionTable()
        self._stack = RegionStack()
        self._region = None  # innermost region of the current stack, for alloc
        self._unregioned: set[int] = set()  # types never allocated in a region
        self._collections = 0
        self._gc_baseline = 0  # bytes in use after the last full collection
        self._gc_trigger = heap_gc.trigger_after(0, limit)
        # The young generation: objects allocated since the last collection (FLAG_YOUNG),
        # and the old objects a young pointer was stored into (the write barrier's set).
        self._young = YoungObjects(self._u32)
        self._young_bytes = 0
        self._allocated_before = 0  # bytes allocated before the last collection
        self._remembered: set[int] = set()
        self.nursery = heap_gc.nursery_size(limit)
        self._minor_collections = 0
        # The collector's loops run natively (heap_native) when True, or when None
        # (automatic) and a collection is big enough; False: Python (VYN_GC_NATIVE=off).
        self.gc_native: bool | None = heap_gc.native_mode()
        self._gc_scratch = None   # heap_native's scratch mapping
        self._gc_epoch = 0        # ... and the collections it served, modulo its EPOCHS
        self._gc_starts = False   # whether its side table's start bits are the objects'
        self._gc_maps = None      # heap_native's pointer maps, per registry size

    # -- types ---------------------------------------------------------------------------

    def register_type(self, name: str, kind: TypeKind, slot_kinds: Iterable[SlotKind] = ()) -> int:
        """Register a type and return its id (>= 1); re-registering the same layout
        returns the same id. Raises HeapError for an inconsistent definition."""
        return self.types.register(name, kind, tuple(slot_kinds))

    def type_info(self, type_id: int) -> TypeInfo:
        """The registration of `type_id`. Raises HeapError for an unknown id."""
        try:
            return self.types.info(type_id)
        except KeyError:
            raise HeapError(f"unknown heap type id {type_id}") from None

    # -- allocation ----------------------------------------------------------------------

    def alloc(self, type_id: int, nslots: int) -> int:
        """Allocate an object of `nslots` zeroed slots and return its address.

        A RECORD type takes exactly its slot count, an ARRAY type any count. Inside a
        scoped region the object belongs to the innermost one.

        Raises:
            HeapExhausted: the heap limit would be passed.
            BadAccess: unknown type id, or a slot count the type does not allow.
        """
        try:
            shape = self._shapes[type_id]
        except KeyError:
            shape = SHAPE_UNKNOWN
        if shape != nslots or shape < 0:
            self._check_array_shape(type_id, shape, nslots)
        size = nslots << 3
        need = size + HEADER_SIZE
        off = self._take_free(need) if self._free_map else -1
        if off < 0:
            off = self._top
            if off + need > self.limit:
                raise HeapExhausted(need, self.in_use, self.limit)
            self._top = off + need
        region = self._region
        if region is not None and type_id in self._unregioned:
            region = None
        if region is None:
            _pack_header(self._mm, off, type_id, FLAG_YOUNG, size, 0)
        else:
            _pack_header(self._mm, off, type_id, FLAG_YOUNG | FLAG_REGION, size,
                         region.region_id)
            region.offsets.append(off)
        self._young.append(off)
        self._young_bytes += need
        self._nobjects += 1
        return self.base + off

    def alloc_rc(self, type_id: int, nslots: int) -> int:
        """Like `alloc`, for a reference-counted object (ref<T>) with a count of 1."""
        try:
            shape = self._shapes[type_id]
        except KeyError:
            shape = SHAPE_UNKNOWN
        if shape != nslots or shape < 0:
            self._check_array_shape(type_id, shape, nslots)
        return self._place(type_id, nslots << 3, FLAG_RC, 1)

    def alloc_bytes(self, type_id: int, data: bytes) -> int:
        """Allocate a byte object (a string's text) holding a copy of `data`.

        Raises:
            HeapExhausted: the heap limit would be passed.
            BadAccess: `type_id` is not a registered BYTES type.
        """
        if self._shapes.get(type_id) != SHAPE_BYTES:
            raise BadAccess(f"type id {type_id} is not a bytes type")
        n = len(data)
        if n > (MAX_SLOTS - 1) * 8:
            raise HeapExhausted(n, self.in_use, self.limit)
        addr = self._place(type_id, bytes_payload(n), FLAG_BYTES, 0)
        off = addr - self.base
        self._u64[(off >> 3) + 2] = n
        start = off + BYTES_DATA_OFFSET
        self._mv[start : start + n] = data
        return addr

    def _place(self, type_id: int, size: int, flags: int, aux: int) -> int:
        need = size + HEADER_SIZE
        off = self._take_free(need) if self._free_map else -1
        if off < 0:
            off = self._top
            if off + need > self.limit:
                raise HeapExhausted(need, self.in_use, self.limit)
            self._top = off + need
        region = self._region
        if region is not None and type_id not in self._unregioned:
            if not flags & FLAG_RC:  # an RC object's aux is its count; the region's
                aux = region.region_id  # list alone records its membership
            flags |= FLAG_REGION
            region.offsets.append(off)
        _pack_header(self._mm, off, type_id, flags | FLAG_YOUNG, size, aux)
        self._young.append(off)
        self._young_bytes += need
        self._nobjects += 1
        return self.base + off

    def _take_free(self, need: int) -> int:
        """Offset of a reclaimed block for `need` bytes, splitting a larger one; or -1."""
        found = self._free.take(need)
        if found is None:
            return -1
        off, total = found
        if total > need:
            rest = total - need
            _pack_header(self._mm, off + need, 0, FLAG_FREE_BLOCK, rest - HEADER_SIZE, 0)
            self._free.add(off + need, rest)
        return off

    def _check_array_shape(self, type_id: int, shape: int, nslots: int) -> None:
        if shape == SHAPE_ARRAY and 0 <= nslots:
            if nslots <= MAX_SLOTS:
                return
            raise HeapExhausted(nslots * WORD + HEADER_SIZE, self.in_use, self.limit)
        if type_id not in self._shapes:
            raise BadAccess(f"unknown heap type id {type_id}")
        info = self.types.info(type_id)
        if shape == SHAPE_BYTES:
            raise BadAccess(f"type {info.name} holds bytes: allocate it with alloc_bytes")
        if shape == SHAPE_ARRAY:
            raise BadAccess(f"cannot allocate {nslots} slots of type {info.name}")
        raise BadAccess(f"type {info.name} has {shape} slots, not {nslots}")

    # -- slot access (hot: each check is inlined rather than a helper call) --------------

    def get_i64(self, addr: int, slot: int) -> int:
        """The int64 in `slot` of the live object at `addr`."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            raise self._access_error(addr, slot)
        h = off >> 2
        u32 = self._u32
        if u32[h + 1] & FLAGS_DEAD or not 0 <= slot < u32[h + 2] >> 3:
            raise self._access_error(addr, slot)
        return self._i64[(off >> 3) + 2 + slot]

    def set_i64(self, addr: int, slot: int, value: int) -> None:
        """Store an int64 (already wrapped to 64 bits) in `slot`."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            raise self._access_error(addr, slot)
        h = off >> 2
        u32 = self._u32
        if u32[h + 1] & FLAGS_DEAD or not 0 <= slot < u32[h + 2] >> 3:
            raise self._access_error(addr, slot)
        self._i64[(off >> 3) + 2 + slot] = value

    def get_f64(self, addr: int, slot: int) -> float:
        """The float64 in `slot` of the live object at `addr`."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            raise self._access_error(addr, slot)
        h = off >> 2
        u32 = self._u32
        if u32[h + 1] & FLAGS_DEAD or not 0 <= slot < u32[h + 2] >> 3:
            raise self._access_error(addr, slot)
        return self._f64[(off >> 3) + 2 + slot]

    def set_f64(self, addr: int, slot: int, value: float) -> None:
        """Store a float64 in `slot`."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            raise self._access_error(addr, slot)
        h = off >> 2
        u32 = self._u32
        if u32[h + 1] & FLAGS_DEAD or not 0 <= slot < u32[h + 2] >> 3:
            raise self._access_error(addr, slot)
        self._f64[(off >> 3) + 2 + slot] = value

    def get_ptr(self, addr: int, slot: int) -> int:
        """The address in `slot` (0 for null). The target is not checked here: a
        dangling pointer may be copied; using it is what fails."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            raise self._access_error(addr, slot)
        h = off >> 2
        u32 = self._u32
        if u32[h + 1] & FLAGS_DEAD or not 0 <= slot < u32[h + 2] >> 3:
            raise self._access_error(addr, slot)
        return self._u64[(off >> 3) + 2 + slot]

    def set_ptr(self, addr: int, slot: int, value: int) -> None:
        """Store an address (or 0) in `slot`. Raises BadAccess if `value` is neither null
        nor an aligned address inside the heap, so the collector only meets pointers
        into the arena."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            raise self._access_error(addr, slot)
        h = off >> 2
        u32 = self._u32
        if u32[h + 1] & FLAGS_DEAD or not 0 <= slot < u32[h + 2] >> 3:
            raise self._access_error(addr, slot)
        if value:
            target = value - self.base
            if target & 7 or not 0 <= target < self._top:
                raise BadAccess(f"0x{value:x} is not a heap address", value)
            # The write barrier: an old object that now points at a young one is a root
            # of the next minor collection.
            if u32[(target >> 2) + 1] & FLAG_YOUNG and not u32[h + 1] & FLAG_YOUNG:
                self._remembered.add(off)
        self._u64[(off >> 3) + 2 + slot] = value

    def _access_error(self, addr: int, slot: int = 0) -> HeapError:
        """The error for a refused access (the slow path; never returns None)."""
        try:
            type_id, flags, size, _ = self._check_address(addr)
        except HeapError as e:
            return e
        if flags & (FLAG_FREED | FLAG_FREE_BLOCK):
            return UseAfterFree(addr)
        if type_id == FREE_TYPE_ID:  # the zeroed inside of a free block (SEMANTICS.md,
            # "Memory": reclaimed memory is never read silently)
            return UseAfterFree(addr, f"no object at 0x{addr:x}: its memory was reclaimed")
        if flags & FLAG_RELEASED:
            return DanglingReference(addr)
        return BadAccess(
            f"slot {slot} is out of range for the object at 0x{addr:x} ({size >> 3} slots)",
            addr,
        )

    def _check_address(self, addr: int) -> ObjectHeader:
        if addr == 0:
            raise BadAccess("null reference", 0)
        off = addr - self.base
        if not 0 <= off < self._top:
            raise BadAccess(f"address 0x{addr:x} is outside the heap", addr)
        if off & 7:
            raise BadAccess(f"address 0x{addr:x} is not an object", addr)
        return ObjectHeader._make(HEADER.unpack_from(self._mm, off))

    # -- object queries ------------------------------------------------------------------

    def check_live(self, addr: int) -> None:
        """Raise unless `addr` is a live object: UseAfterFree, DanglingReference, or
        BadAccess (null, outside the heap)."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top or self._u32[(off >> 2) + 1] & FLAGS_DEAD:
            raise self._access_error(addr)

    def check_slots(self, addr: int, n: int) -> int:
        """Raise as an accessor would unless `addr` is a live object with at least `n`
        slots; return the word index of its slot 0 in `i64`/`u64`/`f64`."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            raise self._access_error(addr, n - 1)
        h = off >> 2
        if self._u32[h + 1] & FLAGS_DEAD or n > self._u32[h + 2] >> 3:
            raise self._access_error(addr, n - 1)
        return (off >> 3) + 2

    def is_live(self, addr: int) -> bool:
        """Whether `addr` is a live object (never raises)."""
        off = addr - self.base
        return not (off & 7 or not 0 <= off < self._top or self._u32[(off >> 2) + 1] & FLAGS_DEAD)

    def type_of(self, addr: int) -> int:
        """The type id of the live object at `addr`."""
        self.check_live(addr)
        return self._u32[(addr - self.base) >> 2]

    def size_of(self, addr: int) -> int:
        """Payload bytes of the live object at `addr`."""
        self.check_live(addr)
        return self._u32[((addr - self.base) >> 2) + 2]

    def copy_slots(self, src: int, dst: int, n: int, pointers: bool) -> None:
        """Copy the first `n` slots of the live object `src` into the live object `dst`
        (a Vec's data into its grown array) as one memory move. `pointers`: the slots
        hold addresses; an old `dst` is then remembered (the write barrier's job for
        whatever young objects they point at)."""
        if n <= 0:
            return
        for addr in (src, dst):
            if not n <= self.slots(addr):
                raise self._access_error(addr, n - 1)
        a = ((src - self.base) >> 3) + 2
        b = ((dst - self.base) >> 3) + 2
        self._i64[b:b + n] = self._i64[a:a + n]
        off = dst - self.base
        if pointers and not self._u32[(off >> 2) + 1] & FLAG_YOUNG:
            self._remembered.add(off)

    def slots(self, addr: int) -> int:
        """Number of 8-byte slots of the live object at `addr`."""
        self.check_live(addr)
        return self._u32[((addr - self.base) >> 2) + 2] >> 3

    def bytes_len(self, addr: int) -> int:
        """Length of the live byte object at `addr`."""
        return self._bytes_object(addr)[1]

    def read_bytes(self, addr: int) -> bytes:
        """A copy of the bytes of the live byte object at `addr`."""
        off, n = self._bytes_object(addr)
        start = off + BYTES_DATA_OFFSET
        return self._mv[start : start + n].tobytes()

    def _bytes_object(self, addr: int) -> tuple[int, int]:
        """Arena offset and length of the live byte object at `addr`."""
        self.check_live(addr)
        off = addr - self.base
        h = off >> 2
        if not self._u32[h + 1] & FLAG_BYTES:
            raise BadAccess(f"the object at 0x{addr:x} does not hold bytes", addr)
        # min(): a length word overwritten through set_i64 must not read past the object.
        return off, min(self._u64[(off >> 3) + 2], self._u32[h + 2] - WORD)

    def header(self, addr: int) -> ObjectHeader:
        """The raw header at `addr`, dead or alive (for debuggers). Raises BadAccess for
        null or an address outside the heap; an interior address reads payload words."""
        return self._check_address(addr)

    # -- lifetimes -----------------------------------------------------------------------

    def free(self, addr: int) -> None:
        """Release the object at once (`free(p)`). Its memory is not reused while any
        root reaches it, so every later access raises UseAfterFree."""
        self.check_live(addr)
        self._kill(addr - self.base, FLAG_FREED)

    def retain(self, addr: int) -> int:
        """Add one to a reference-counted object's count; return the new count."""
        h = self._rc_header(addr)
        count = self._u32[h + 3] + 1
        self._u32[h + 3] = count
        return count

    def release(self, addr: int) -> int:
        """Drop one from a reference-counted object's count; at zero the object is
        released (later access: UseAfterFree). Return the new count."""
        h = self._rc_header(addr)
        count = self._u32[h + 3] - 1
        self._u32[h + 3] = count
        if count == 0:
            self._kill(h << 2, FLAG_FREED)
        return count

    def make_rc(self, addr: int) -> int:
        """Make a live object reference-counted (`ref(obj)`), with a count of 0 if it was
        not; return its count."""
        self.check_live(addr)
        h = (addr - self.base) >> 2
        u32 = self._u32
        if u32[h + 1] & FLAG_RC:
            return u32[h + 3]
        u32[h + 1] |= FLAG_RC
        u32[h + 3] = 0    # a region object's membership is kept by its region alone
        return 0

    def drop_ref(self, addr: int) -> int:
        """Drop one from a reference-counted object's count without releasing it at zero
        (deferred counting: the VM releases it at a safepoint if no frame holds it).
        Return the new count."""
        h = self._rc_header(addr)
        count = max(0, self._u32[h + 3] - 1)
        self._u32[h + 3] = count
        return count

    def rc_count(self, addr: int) -> int | None:
        """The count of a live reference-counted object; None for any other address."""
        off = addr - self.base
        if off & 7 or not 0 <= off < self._top:
            return None
        h = off >> 2
        flags = self._u32[h + 1]
        if flags & FLAGS_DEAD or not flags & FLAG_RC:
            return None
        return self._u32[h + 3]

    def _rc_header(self, addr: int) -> int:
        self.check_live(addr)
        h = (addr - self.base) >> 2
        if not self._u32[h + 1] & FLAG_RC:
            raise BadAccess(f"the object at 0x{addr:x} is not reference-counted", addr)
        return h

    def _kill(self, off: int, flag: int) -> None:
        h = off >> 2
        self._u32[h + 1] |= flag
        self._dead_objects += 1
        self._dead_bytes += HEADER_SIZE + self._u32[h + 2]

    # -- scoped regions ------------------------------------------------------------------

    def enter_region(self) -> int:
        """Enter a scoped region; until it exits (or an inner one is entered) every
        allocation on the current region stack belongs to it. Return its id."""
        self._region = self._regions.enter(self._stack)
        return self._region.region_id

    def exit_region(self, region_id: int) -> RegionInfo:
        """Exit the innermost region of the current stack, which must be `region_id`:
        its objects become RELEASED (later access: DanglingReference). Return what it
        held, counted before the release."""
        region = self._regions.exit(self._stack, region_id)
        self._region = self._stack.innermost
        info = region_info(region, self._u32, self.base)
        u32 = self._u32
        for off in region.offsets:
            h = (off >> 2) + 1
            flags = u32[h]
            if not flags & FLAGS_DEAD:
                self._dead_objects += 1
                self._dead_bytes += HEADER_SIZE + u32[h + 1]
            u32[h] = flags | FLAG_RELEASED
        return info

    @property
    def region_depth(self) -> int:
        """How many regions the current stack has entered."""
        return self._stack.depth

    def unwind_regions(self, depth: int) -> None:
        """Exit the current stack's regions, innermost first, until `depth` remain (a
        call abandoned by a panic or the debugger leaves no region active)."""
        while self._stack.depth > depth:
            self.exit_region(self._stack.innermost.region_id)

    @property
    def current_region(self) -> int:
        """Id of the innermost region of the current stack, 0 outside any region."""
        return self._region.region_id if self._region is not None else 0

    def never_in_region(self, type_id: int) -> None:
        """Objects of `type_id` are never allocated in a scoped region. For plain values
        that cannot hold a reference (a tuple of Ints, an `Option<Int>`): the escape
        rule lets them leave a `scoped` block, so they must outlive it; the collector
        reclaims them."""
        self._unregioned.add(type_id)

    def alloc_beside(self, container: int, type_id: int, nslots: int) -> int:
        """`alloc` in the region `container` belongs to, or in none if it belongs to
        none: memory an object comes to own (a Vec's grown data array) must live as long
        as the object, whatever block is running."""
        saved = self._region
        h = self._check_address(container)
        region = None
        if h.flags & FLAG_REGION and not h.flags & FLAG_RC:
            region = self._regions.active.get(h.aux)
        elif h.flags & FLAG_REGION:
            region = saved
        self._region = region
        try:
            return self.alloc(type_id, nslots)
        finally:
            self._region = saved

    def new_region_stack(self) -> RegionStack:
        """A fresh, empty region stack for a new task."""
        return RegionStack()

    def use_region_stack(self, stack: RegionStack) -> RegionStack:
        """Make `stack` current (a task switch); return the previous one."""
        previous, self._stack = self._stack, stack
        self._region = stack.innermost
        return previous

    # -- collection ----------------------------------------------------------------------

    def collect(self, roots: Iterable[int]) -> CollectStats:
        """A full mark-sweep: reclaim every object no root reaches, for reuse by later
        allocations; the survivors are all old afterwards. Call only at a safepoint,
        with every pointer the program holds outside the heap among `roots` (values that
        are not object addresses are ignored, so a superset is safe). See heap_gc for
        what is kept."""
        stats = heap_gc.mark_sweep(self, roots)
        self._collections += 1
        self._gc_baseline = self.in_use
        self._gc_trigger = heap_gc.trigger_after(self._gc_baseline, self.limit)
        return stats

    def collect_young(self, roots: Iterable[int]) -> CollectStats:
        """A minor collection: reclaim the young objects that neither a root, a
        remembered old object nor an active region reaches; the survivors become old.
        Same contract as `collect`."""
        stats = heap_gc.minor(self, roots)
        self._minor_collections += 1
        return stats

    def gc_due(self) -> bool:
        """Whether the VM should collect at its next safepoint (`full_gc_due` says which
        kind)."""
        return self._young_bytes >= self.nursery or self.full_gc_due()

    def full_gc_due(self) -> bool:
        """Whether the old generation has grown enough since the last full collection
        that the next collection should be a full one."""
        return self.in_use - self._gc_baseline >= self._gc_trigger

    @property
    def allocated_bytes(self) -> int:
        """Bytes allocated since the heap was made (headers included), a running total
        for allocation profiles."""
        return self._allocated_before + self._young_bytes

    @property
    def young_bytes(self) -> int:
        """Bytes allocated since the last collection (the young generation, dead or
        alive)."""
        return self._young_bytes

    # -- inspection ----------------------------------------------------------------------

    @property
    def _objects(self) -> int:
        """Objects in the arena, tombstones included."""
        return self._nobjects + self._young.run_records()

    @property
    def used(self) -> int:
        """Bytes from `base` to the bump pointer (objects, tombstones and free blocks)."""
        return self._top

    @property
    def in_use(self) -> int:
        """Bytes not available for reuse: `used` minus free blocks."""
        return self._top - self._free.bytes

    @property
    def memory(self) -> memoryview:
        """A read-only view of the whole mapped arena (`mapped_size` bytes from `base`);
        index 0 is the byte at `base`."""
        return self._readonly

    def read_memory(self, addr: int, n: int) -> bytes:
        """`n` bytes from `addr`; every byte must lie in [base, base + used)."""
        if n < 0:
            raise BadAccess(f"cannot read {n} bytes")
        off = addr - self.base
        if not 0 <= off <= self._top or (n and off >= self._top):
            raise BadAccess(f"address 0x{addr:x} is outside the heap", addr)
        if off + n > self._top:
            end = self.base + self._top
            raise BadAccess(f"address 0x{end:x} is outside the heap", end)
        return self._mv[off : off + n].tobytes()

    def walk(self) -> Iterator[ObjectInfo]:
        """Every object, tombstones included, in address order (which is allocation
        order until the collector reuses memory). Free blocks are skipped."""
        off = 0
        unpack = HEADER.unpack_from
        while off < self._top:
            type_id, flags, size, _ = unpack(self._mm, off)
            if not flags & FLAG_FREE_BLOCK:
                yield ObjectInfo(self.base + off, type_id, size, flags)
            off += HEADER_SIZE + size

    def stats(self) -> HeapStats:
        """Counts and ranges for the debugger's heap view."""
        live_bytes = self._top - self._free.bytes - self._dead_bytes
        regions = tuple(region_info(r, self._u32, self.base) for r in self._regions.active.values())
        return HeapStats(
            base=self.base,
            limit=self.limit,
            used=self._top,
            live_bytes=live_bytes,
            live_objects=self._objects - self._dead_objects,
            dead_bytes=self._dead_bytes,
            dead_objects=self._dead_objects,
            free_bytes=self._free.bytes,
            regions=regions,
            collections=self._collections,
        )

    # -- lifetime of the heap itself -----------------------------------------------------

    def close(self) -> None:
        """Unmap the arena. Every address becomes invalid, for native code too."""
        if self._mm.closed:
            return
        for view in (self._u32, self._i64, self._u64, self._f64, self._readonly, self._mv):
            view.release()
        self._mm.close()

    def __enter__(self) -> Heap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Heap 0x{self.base:x} used={self._top} limit={self.limit}>"
