"""The runtime heap: what the VM, native code and the debugger see of Vyn objects.

Each test plays a bit of a program (allocate a `Point`, free it, leave a `scoped` block,
run out of memory...) and checks what the program or a debugger would observe.
"""

from __future__ import annotations

import ctypes
import math
import struct

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from runtime.heap import DEFAULT_LIMIT, Heap
from runtime.heap_errors import (
    BadAccess,
    DanglingReference,
    HeapError,
    HeapExhausted,
    UseAfterFree,
)
from runtime.heap_layout import (
    FLAG_BYTES,
    FLAG_FREED,
    FLAG_RC,
    FLAG_REGION,
    FLAG_RELEASED,
    FLAG_YOUNG,
    FLAGS_DEAD,
    HEADER_SIZE,
    SlotKind,
    TypeKind,
    flag_names,
)

INT, FLOAT, PTR = SlotKind.INT, SlotKind.FLOAT, SlotKind.PTR


class Types:
    """Ids of the types a small Vyn program registers."""

    def __init__(self, heap: Heap) -> None:
        self.point = heap.register_type("Point", TypeKind.RECORD, [INT, INT])
        self.node = heap.register_type("Node", TypeKind.RECORD, [INT, FLOAT, PTR])
        self.string = heap.register_type("String", TypeKind.BYTES)
        self.ints = heap.register_type("Vec<Int>.data", TypeKind.ARRAY, [INT])
        self.ptrs = heap.register_type("Vec<Node>.data", TypeKind.ARRAY, [PTR])


@pytest.fixture
def heap():
    with Heap(limit=1 << 20) as h:
        yield h


@pytest.fixture
def t(heap):
    return Types(heap)


# -- allocation and slots ------------------------------------------------------------------


def test_a_new_object_has_every_field_zero(heap, t):
    node = heap.alloc(t.node, 3)
    assert (heap.get_i64(node, 0), heap.get_f64(node, 1), heap.get_ptr(node, 2)) == (0, 0.0, 0)


@pytest.mark.parametrize("value", [0, 1, -1, 2**63 - 1, -(2**63), 0x1234_5678_9ABC_DEF0])
def test_ints_round_trip(heap, t, value):
    p = heap.alloc(t.point, 2)
    heap.set_i64(p, 1, value)
    assert heap.get_i64(p, 1) == value
    assert heap.get_i64(p, 0) == 0  # the neighbouring slot is untouched


@pytest.mark.parametrize("value", [0.0, -0.0, 2.5, 1e300, -math.inf, 5e-324])
def test_floats_round_trip_bit_for_bit(heap, t, value):
    n = heap.alloc(t.node, 3)
    heap.set_f64(n, 1, value)
    got = heap.get_f64(n, 1)
    assert struct.pack("<d", got) == struct.pack("<d", value)


def test_nan_round_trips(heap, t):
    n = heap.alloc(t.node, 3)
    heap.set_f64(n, 1, math.nan)
    assert math.isnan(heap.get_f64(n, 1))


def test_pointers_link_objects(heap, t):
    tail = heap.alloc(t.node, 3)
    head = heap.alloc(t.node, 3)
    heap.set_i64(tail, 0, 2)
    heap.set_ptr(head, 2, tail)
    assert heap.get_i64(heap.get_ptr(head, 2), 0) == 2
    heap.set_ptr(head, 2, 0)  # null
    assert heap.get_ptr(head, 2) == 0


def test_a_pointer_outside_the_heap_cannot_be_stored(heap, t):
    n = heap.alloc(t.node, 3)
    with pytest.raises(BadAccess, match="not a heap address"):
        heap.set_ptr(n, 2, 0x1000)
    with pytest.raises(BadAccess):
        heap.set_ptr(n, 2, n + 4)  # misaligned


def test_objects_are_laid_out_one_after_another_8_byte_aligned(heap, t):
    a = heap.alloc(t.point, 2)
    b = heap.alloc(t.ints, 0)
    c = heap.alloc_bytes(t.string, b"abc")
    assert a == heap.base
    assert b == a + HEADER_SIZE + 16
    assert c == b + HEADER_SIZE
    assert heap.used == c - heap.base + HEADER_SIZE + 16  # length word + 3 bytes padded
    assert all(addr % 8 == 0 for addr in (a, b, c))


def test_size_type_and_slot_count(heap, t):
    v = heap.alloc(t.ints, 5)
    assert (heap.type_of(v), heap.size_of(v), heap.slots(v)) == (t.ints, 40, 5)
    assert heap.type_info(t.ints).name == "Vec<Int>.data"


def test_arrays_take_any_length_records_only_their_own(heap, t):
    assert heap.slots(heap.alloc(t.ptrs, 100)) == 100
    with pytest.raises(BadAccess, match="Point has 2 slots, not 3"):
        heap.alloc(t.point, 3)
    with pytest.raises(BadAccess, match="cannot allocate -1 slots"):
        heap.alloc(t.ints, -1)
    with pytest.raises(BadAccess, match="alloc_bytes"):
        heap.alloc(t.string, 1)
    with pytest.raises(BadAccess, match="unknown heap type id 99"):
        heap.alloc(99, 2)
    with pytest.raises(BadAccess, match="unknown heap type id 0"):
        heap.alloc(0, 0)
    with pytest.raises(BadAccess, match="not a bytes type"):
        heap.alloc_bytes(t.point, b"x")


def test_slots_past_the_end_are_refused(heap, t):
    p = heap.alloc(t.point, 2)
    for slot in (2, -1):
        with pytest.raises(BadAccess, match=f"slot {slot} is out of range .* \\(2 slots\\)"):
            heap.get_i64(p, slot)
        with pytest.raises(BadAccess):
            heap.set_i64(p, slot, 1)


def test_strings_hold_their_bytes(heap, t):
    for text in (b"", b"h", b"hello, world", "héllo ✓".encode()):
        s = heap.alloc_bytes(t.string, text)
        assert heap.read_bytes(s) == text
        assert heap.bytes_len(s) == len(text)
        assert heap.size_of(s) % 8 == 0
    with pytest.raises(BadAccess, match="does not hold bytes"):
        heap.read_bytes(heap.alloc(t.point, 2))


def test_one_check_then_unchecked_words_within_an_instruction(heap, t):
    v = heap.alloc(t.ints, 4)
    first = heap.check_slots(v, 4)
    heap.i64[first + 3] = -5  # e.g. a vector copy loop, checked once up front
    heap.f64[first + 2] = 0.5
    assert (heap.get_i64(v, 3), heap.get_f64(v, 2)) == (-5, 0.5)
    assert heap.u64[first + 3] == 2**64 - 5
    with pytest.raises(BadAccess, match="slot 4 is out of range"):
        heap.check_slots(v, 5)
    heap.free(v)
    with pytest.raises(UseAfterFree):
        heap.check_slots(v, 1)


def test_registering_a_type_twice_gives_the_same_id(heap, t):
    assert heap.register_type("Point", TypeKind.RECORD, [INT, INT]) == t.point
    with pytest.raises(HeapError, match="already registered"):
        heap.register_type("Point", TypeKind.RECORD, [INT, FLOAT])
    with pytest.raises(HeapError, match="INT, FLOAT or PTR"):
        heap.register_type("Bad", TypeKind.RECORD, [SlotKind.BYTES])
    with pytest.raises(HeapError, match="one element kind"):
        heap.register_type("Bad", TypeKind.ARRAY, [INT, INT])
    with pytest.raises(HeapError, match="no slots"):
        heap.register_type("Bad", TypeKind.BYTES, [INT])
    with pytest.raises(HeapError, match="Bad"):
        heap.register_type("Bad", 7, [])
    assert [info.name for info in heap.types][:2] == ["Point", "Node"]


# -- real addresses ------------------------------------------------------------------------


def test_native_code_sees_the_same_bytes_at_the_same_address(heap, t):
    p = heap.alloc(t.point, 2)
    heap.set_i64(p, 0, 3)
    heap.set_i64(p, 1, -4)
    expected = (
        struct.pack("<I", t.point)  # type_id
        + struct.pack("<I", FLAG_YOUNG)  # flags: young (allocated since the last collection)
        + struct.pack("<I", 16)  # payload size: two slots
        + struct.pack("<I", 0)  # aux: no region, no refcount
        + struct.pack("<q", 3)  # slot 0
        + struct.pack("<q", -4)  # slot 1
    )
    assert ctypes.string_at(p, 32) == expected
    ctypes.c_int64.from_address(p + 16 + 8).value = 99  # native code stores x = 99
    assert heap.get_i64(p, 1) == 99


def test_a_string_object_layout_as_native_code_reads_it(heap, t):
    s = heap.alloc_bytes(t.string, b"hi!")
    expected = (
        struct.pack("<IIII", t.string, FLAG_BYTES | FLAG_YOUNG, 16, 0)  # payload: length + 8
        + struct.pack("<Q", 3)  # length
        + b"hi!\0\0\0\0\0"  # bytes, zero-padded to 8
    )
    assert ctypes.string_at(s, 32) == expected


def test_unicorn_maps_the_heap_at_its_own_address(heap, t):
    unicorn = pytest.importorskip("unicorn")
    from unicorn.x86_const import UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI

    p = heap.alloc(t.point, 2)
    heap.set_i64(p, 0, 41)
    uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
    uc.mem_map_ptr(heap.base, heap.mapped_size, unicorn.UC_PROT_ALL, heap.base)
    code_at = 0x1000
    code = bytes.fromhex(
        "488b4710"  # mov rax, [rdi + 16]   ; slot 0
        "48897718"  # mov [rdi + 24], rsi   ; slot 1
    )
    uc.mem_map(code_at, 0x1000)
    uc.mem_write(code_at, code)
    uc.reg_write(UC_X86_REG_RDI, p)
    uc.reg_write(UC_X86_REG_RSI, 7)
    uc.emu_start(code_at, code_at + len(code))
    assert uc.reg_read(UC_X86_REG_RAX) == 41
    assert heap.get_i64(p, 1) == 7


def test_the_arena_is_page_aligned_and_never_at_null():
    with Heap(limit=5000) as heap:
        assert heap.base != 0
        assert heap.base % 4096 == 0
        assert heap.mapped_size == 8192
        assert heap.limit == 5000


def test_the_default_limit_reserves_a_gibibyte_without_committing_it():
    with Heap() as heap:
        assert heap.limit == DEFAULT_LIMIT == 1 << 30
        assert heap.mapped_size >= heap.limit


# -- running out of memory -----------------------------------------------------------------


def test_allocating_past_the_limit_is_out_of_memory():
    with Heap(limit=4096) as heap:
        ints = heap.register_type("Vec<Int>.data", TypeKind.ARRAY, [INT])
        heap.alloc(ints, 500)  # 4016 bytes
        with pytest.raises(HeapExhausted) as exc:
            heap.alloc(ints, 9)  # 88 bytes, 80 left
        assert str(exc.value) == "out of memory"
        assert isinstance(exc.value, HeapError)
        assert "cannot allocate 88 bytes" in exc.value.detail
        small = heap.alloc(ints, 8)  # 80 bytes still fit exactly
        assert heap.used == heap.limit == 4096
        heap.set_i64(small, 7, 1)


def test_a_huge_string_is_out_of_memory_not_a_crash(heap, t):
    with pytest.raises(HeapExhausted):
        heap.alloc_bytes(t.string, bytes(2 << 20))
    with pytest.raises(HeapExhausted):
        heap.alloc(t.ints, 1 << 20)
    with pytest.raises(HeapExhausted):
        heap.alloc(t.ints, 1 << 40)  # more slots than a header can describe


@pytest.mark.parametrize("limit", [0, 100, 1 << 50])
def test_an_unusable_limit_is_refused(limit):
    with pytest.raises(HeapError, match="heap limit must be between"):
        Heap(limit=limit)


# -- free ----------------------------------------------------------------------------------


def test_reading_a_freed_object_is_use_after_free(heap, t):
    p = heap.alloc(t.point, 2)
    heap.free(p)
    for access in (
        lambda: heap.get_i64(p, 0),
        lambda: heap.set_i64(p, 0, 1),
        lambda: heap.get_f64(p, 0),
        lambda: heap.set_f64(p, 0, 1.0),
        lambda: heap.get_ptr(p, 0),
        lambda: heap.set_ptr(p, 0, 0),
        lambda: heap.check_live(p),
        lambda: heap.type_of(p),
        lambda: heap.free(p),  # a second free
    ):
        with pytest.raises(UseAfterFree) as exc:
            access()
        assert str(exc.value) == "use after free"
        assert exc.value.addr == p
    assert not heap.is_live(p)


def test_a_freed_object_stays_visible_to_the_debugger(heap, t):
    p = heap.alloc(t.point, 2)
    heap.set_i64(p, 0, 5)
    heap.free(p)
    header = heap.header(p)
    assert header.type_id == t.point
    assert header.flags & FLAG_FREED
    assert flag_names(header.flags) == ("FREED", "YOUNG")
    assert heap.read_memory(p + 16, 8) == struct.pack("<q", 5)
    q = heap.alloc(t.point, 2)
    assert q > p  # free() never hands the memory out again
    stats = heap.stats()
    assert (stats.live_objects, stats.dead_objects, stats.dead_bytes) == (1, 1, 32)


# -- scoped regions ------------------------------------------------------------------------


def test_leaving_a_scoped_block_releases_its_objects(heap, t):
    outside = heap.alloc(t.point, 2)
    region = heap.enter_region()
    inside = heap.alloc(t.point, 2)
    text = heap.alloc_bytes(t.string, b"temp")
    info = heap.exit_region(region)
    assert (info.region_id, info.objects, info.live_objects, info.bytes) == (region, 2, 2, 64)
    for addr in (inside, text):
        with pytest.raises(DanglingReference) as exc:
            heap.get_i64(addr, 0)
        assert str(exc.value) == "dangling reference"
    heap.set_i64(outside, 0, 1)  # still fine
    assert heap.header(inside).flags & FLAG_RELEASED


def test_nested_regions_release_innermost_first(heap, t):
    outer = heap.enter_region()
    a = heap.alloc(t.point, 2)
    inner = heap.enter_region()
    b = heap.alloc(t.point, 2)
    assert heap.current_region == inner
    assert heap.header(b).aux == inner and heap.header(b).flags & FLAG_REGION
    regions = heap.stats().regions
    assert [(r.region_id, r.depth, r.objects) for r in regions] == [(outer, 1, 1), (inner, 2, 1)]
    assert (regions[1].lo, regions[1].hi) == (b, b + 32)
    with pytest.raises(HeapError, match=f"region {outer} is not the innermost active region"):
        heap.exit_region(outer)
    heap.exit_region(inner)
    assert heap.current_region == outer
    heap.set_i64(a, 0, 1)  # the outer region's object lives on
    c = heap.alloc(t.point, 2)  # back in the outer region
    heap.exit_region(outer)
    assert heap.current_region == 0
    for addr in (a, b, c):
        assert not heap.is_live(addr)
    with pytest.raises(HeapError, match=f"region {outer} is not an active region"):
        heap.exit_region(outer)


def test_freeing_inside_a_region_then_leaving_it(heap, t):
    r = heap.enter_region()
    p = heap.alloc(t.point, 2)
    heap.free(p)
    info = heap.exit_region(r)
    assert (info.objects, info.live_objects) == (1, 0)
    with pytest.raises(UseAfterFree):  # the free came first: it names the cause
        heap.get_i64(p, 0)
    assert heap.stats().dead_objects == 1


def test_each_task_allocates_in_its_own_regions(heap, t):
    main_task = heap.enter_region()
    worker = heap.new_region_stack()
    main_stack = heap.use_region_stack(worker)  # switch to the worker task
    assert heap.current_region == 0
    shared = heap.alloc(t.point, 2)  # the worker is not inside a region
    heap.use_region_stack(main_stack)
    assert heap.current_region == main_task
    heap.exit_region(main_task)
    heap.set_i64(shared, 0, 1)  # the worker's object survives main's region


# -- reference counting --------------------------------------------------------------------


def test_a_ref_is_released_when_its_count_drops_to_zero(heap, t):
    r = heap.alloc_rc(t.point, 2)
    assert heap.header(r).flags & FLAG_RC and heap.header(r).aux == 1
    assert heap.retain(r) == 2
    assert heap.release(r) == 1
    heap.set_i64(r, 0, 1)
    assert heap.release(r) == 0
    with pytest.raises(UseAfterFree):
        heap.get_i64(r, 0)
    with pytest.raises(BadAccess, match="not reference-counted"):
        heap.retain(heap.alloc(t.point, 2))


def test_a_ref_made_in_a_scoped_block_keeps_its_count_and_dies_with_the_block(heap, t):
    region = heap.enter_region()
    r = heap.alloc_rc(t.point, 2)
    assert heap.retain(r) == 2
    assert heap.header(r).flags & FLAG_REGION
    heap.exit_region(region)
    with pytest.raises(DanglingReference):
        heap.retain(r)


# -- bad addresses -------------------------------------------------------------------------


def test_null_and_foreign_addresses_are_refused(heap, t):
    p = heap.alloc(t.point, 2)
    with pytest.raises(BadAccess, match="null reference"):
        heap.get_i64(0, 0)
    with pytest.raises(BadAccess, match=f"address 0x{heap.base + 4096:x} is outside the heap"):
        heap.get_i64(heap.base + 4096, 0)
    with pytest.raises(BadAccess, match="outside the heap"):
        heap.set_i64(heap.base - 16, 0, 1)
    with pytest.raises(BadAccess, match="not an object"):
        heap.get_i64(p + 4, 0)
    with pytest.raises(BadAccess, match="null reference"):
        heap.header(0)


def test_read_memory_stays_inside_the_heap(heap, t):
    p = heap.alloc(t.point, 2)
    heap.set_i64(p, 0, 0x0102)
    assert heap.read_memory(p + 16, 2) == b"\x02\x01"
    assert heap.read_memory(heap.base + heap.used, 0) == b""
    end = heap.base + heap.used
    with pytest.raises(BadAccess, match=f"address 0x{end:x} is outside the heap"):
        heap.read_memory(p + 24, 9)  # one byte too many
    with pytest.raises(HeapError, match=f"address 0x{heap.base - 1:x} is outside the heap"):
        heap.read_memory(heap.base - 1, 1)
    with pytest.raises(HeapError, match="outside the heap"):
        heap.read_memory(0, 8)
    assert heap.memory[16:24].tobytes() == heap.read_memory(p + 16, 8)
    with pytest.raises(TypeError):
        heap.memory[16] = 1  # the debugger's view is read-only


# -- walking and statistics ----------------------------------------------------------------


def test_walk_lists_objects_in_allocation_order(heap, t):
    a = heap.alloc(t.point, 2)
    b = heap.alloc_bytes(t.string, b"xyz")
    c = heap.alloc(t.ints, 3)
    heap.free(b)
    walked = list(heap.walk())
    assert [(o.addr, o.type_id, o.size) for o in walked] == [
        (a, t.point, 16),
        (b, t.string, 16),
        (c, t.ints, 24),
    ]
    assert [bool(o.flags & FLAGS_DEAD) for o in walked] == [False, True, False]


def test_stats_count_live_dead_and_regions(heap, t):
    heap.alloc(t.point, 2)
    heap.free(heap.alloc(t.point, 2))
    heap.enter_region()
    heap.alloc(t.ints, 1)
    s = heap.stats()
    assert (s.base, s.limit, s.used) == (heap.base, heap.limit, 88)
    assert (s.live_objects, s.live_bytes, s.dead_objects, s.dead_bytes) == (2, 56, 1, 32)
    assert len(s.regions) == 1 and s.regions[0].bytes == 24
    assert s.free_bytes == 0 and s.collections == 0


# -- the collector -------------------------------------------------------------------------


def chain(heap: Heap, t: Types, n: int) -> int:
    """Build a list n -> n-1 -> ... -> 1 of Nodes and return its head."""
    head = 0
    for i in range(1, n + 1):
        node = heap.alloc(t.node, 3)
        heap.set_i64(node, 0, i)
        heap.set_f64(node, 1, i / 2)
        heap.set_ptr(node, 2, head)
        head = node
    return head


def values(heap: Heap, head: int) -> list[int]:
    out = []
    while head:
        out.append(heap.get_i64(head, 0))
        head = heap.get_ptr(head, 2)
    return out


def test_collect_keeps_what_the_roots_reach_and_reuses_the_rest(heap, t):
    kept = chain(heap, t, 5)
    garbage = chain(heap, t, 5)
    marker = heap.alloc(t.point, 2)  # keeps the garbage from being the heap's tail
    used = heap.used
    stats = heap.collect([kept, marker])
    assert (stats.marked_objects, stats.reclaimed_objects, stats.reclaimed_bytes) == (6, 5, 200)
    assert values(heap, kept) == [5, 4, 3, 2, 1]
    assert heap.get_f64(kept, 1) == 2.5
    assert heap.stats().free_bytes == 200 and heap.used == used
    again = heap.alloc(t.node, 3)  # reuses reclaimed memory, zeroed
    assert kept < again < marker
    assert (heap.get_i64(again, 0), heap.get_ptr(again, 2)) == (0, 0)
    with pytest.raises(UseAfterFree):  # a stale pointer into reclaimed memory is caught
        heap.get_i64(garbage, 0)
    with pytest.raises(UseAfterFree):  # ... also where a free block's header now is
        heap.get_i64(again + 40, 0)


def test_collect_splits_free_blocks_and_coalesces_neighbours(heap, t):
    keep = heap.alloc(t.point, 2)
    dead = [heap.alloc(t.point, 2) for _ in range(4)]  # 4 * 32 adjacent bytes
    tail = heap.alloc(t.point, 2)
    heap.collect([keep, tail])
    assert heap.stats().free_bytes == 128
    big = heap.alloc(t.ints, 10)  # 96 bytes out of the 128-byte block
    assert big == dead[0]
    small = heap.alloc(t.ints, 2)  # the remaining 32 bytes, exactly
    assert small == dead[0] + 96
    assert heap.stats().free_bytes == 0
    assert [o.addr for o in heap.walk()] == [keep, big, small, tail]


def test_garbage_at_the_end_lowers_the_bump_pointer(heap, t):
    root = heap.alloc(t.point, 2)
    chain(heap, t, 10)
    heap.collect([root])
    assert heap.used == 32 and heap.stats().free_bytes == 0
    assert heap.alloc(t.point, 2) == root + 32
    assert heap.read_memory(root + 48, 16) == bytes(16)  # the reused tail was zeroed


def test_a_freed_object_still_referenced_stays_a_tombstone(heap, t):
    holder = heap.alloc(t.node, 3)
    victim = heap.alloc(t.node, 3)
    child = heap.alloc(t.point, 2)
    heap.set_ptr(holder, 2, victim)
    heap.set_ptr(victim, 2, child)
    heap.free(victim)
    heap.collect([holder])
    with pytest.raises(UseAfterFree):
        heap.get_i64(heap.get_ptr(holder, 2), 0)
    assert heap.header(victim).type_id == t.node  # not reused
    assert not heap.is_live(child)  # only the dead victim pointed at it: reclaimed
    heap.set_ptr(holder, 2, 0)
    heap.collect([holder])
    assert heap.stats().dead_objects == 0


def test_a_released_region_object_is_reclaimed_once_unreachable(heap, t):
    holder = heap.alloc(t.node, 3)
    region = heap.enter_region()
    temp = heap.alloc(t.node, 3)
    heap.set_ptr(holder, 2, temp)  # the checker would reject this; the heap copes
    heap.exit_region(region)
    heap.collect([holder])
    with pytest.raises(DanglingReference):
        heap.get_i64(heap.get_ptr(holder, 2), 0)
    heap.set_ptr(holder, 2, 0)
    assert heap.collect([holder]).reclaimed_objects == 1


def test_an_active_regions_objects_survive_collection_unreferenced(heap, t):
    region = heap.enter_region()
    temp = heap.alloc(t.node, 3)
    pointee = heap.alloc(t.point, 2)
    heap.set_ptr(temp, 2, pointee)
    heap.exit_region(heap.enter_region())  # an empty inner region, for good measure
    heap.collect([])
    assert heap.is_live(temp) and heap.is_live(pointee)
    heap.exit_region(region)
    assert heap.collect([]).reclaimed_objects == 2
    assert heap.used == 0


def test_arrays_of_pointers_are_traced(heap, t):
    vec = heap.alloc(t.ptrs, 3)
    heads = [chain(heap, t, 2) for _ in range(3)]
    for i, head in enumerate(heads):
        heap.set_ptr(vec, i, head)
    chain(heap, t, 4)  # garbage
    assert heap.collect([vec]).marked_objects == 7
    assert [values(heap, h) for h in heads] == [[2, 1]] * 3


def test_roots_are_conservative(heap, t):
    p = heap.alloc(t.point, 2)
    stats = heap.collect([0, 12345, p + 8, -1, p])
    assert stats.marked_objects == 1 and heap.is_live(p)


def test_a_corrupt_pointer_stops_the_collection_before_anything_is_lost(heap, t):
    n = heap.alloc(t.node, 3)
    garbage = heap.alloc(t.point, 2)
    heap.set_i64(n, 2, heap.base + 8)  # an int stored into the PTR slot: a VM bug
    with pytest.raises(HeapError, match="heap corrupted") as exc:
        heap.collect([n])
    assert "slot 2" in exc.value.detail
    assert heap.is_live(garbage) and heap.stats().free_bytes == 0


def test_gc_becomes_due_after_enough_allocation():
    with Heap(limit=64 << 10) as heap:
        ints = heap.register_type("Vec<Int>.data", TypeKind.ARRAY, [INT])
        assert not heap.gc_due()
        while not heap.gc_due():
            heap.alloc(ints, 63)
        assert heap.used <= (64 << 10) // 2
        heap.collect([])
        assert not heap.gc_due() and heap.used == 0


def test_a_closed_heap_unmaps_cleanly():
    heap = Heap(limit=4096)
    heap.close()
    heap.close()  # twice is fine


# -- random programs -----------------------------------------------------------------------


class HeapModel(RuleBasedStateMachine):
    """Random sequences of allocations, stores, frees, regions and collections, checked
    against a model of what each object the program still holds must contain."""

    held = Bundle("held")

    @initialize()
    def start(self):
        self.heap = Heap(limit=4096)
        self.t = Types(self.heap)
        self.objects: dict[int, dict] = {}  # addr -> {"ints", "next", "state"}
        self.names: set[int] = set()  # addresses the program holds (the roots)
        self.regions: list[tuple[int, list[int]]] = []

    def teardown(self):
        if hasattr(self, "heap"):
            self.heap.close()

    @rule(target=held, value=st.integers(-(2**63), 2**63 - 1))
    def alloc(self, value):
        return self._new(self.t.node, 3, value)

    @rule(target=held, value=st.integers(-(2**63), 2**63 - 1), n=st.integers(1, 120))
    def alloc_array(self, value, n):
        return self._new(self.t.ints, n, value)

    def _new(self, type_id, nslots, value):
        try:
            addr = self.heap.alloc(type_id, nslots)
        except HeapExhausted:
            return multiple()
        assert addr not in self.objects
        assert all(self.heap.get_i64(addr, i) == 0 for i in range(nslots))
        self.heap.set_i64(addr, 0, value)
        self.objects[addr] = {"value": value, "next": 0, "state": "live", "slots": nslots}
        if self.regions:
            self.regions[-1][1].append(addr)
        self.names.add(addr)
        return addr

    @rule(a=held, b=held)
    def link(self, a, b):
        if self.objects[a]["state"] == "live" and self.heap.type_of(a) == self.t.node:
            self.heap.set_ptr(a, 2, b)
            self.objects[a]["next"] = b

    @rule(a=consumes(held))
    def drop(self, a):
        self.names.discard(a)

    @rule(a=held)
    def free(self, a):
        if self.objects[a]["state"] == "live":
            self.heap.free(a)
            self.objects[a]["state"] = "freed"

    @rule()
    def enter(self):
        self.regions.append((self.heap.enter_region(), []))

    @precondition(lambda self: self.regions)
    @rule()
    def exit(self):
        region, addrs = self.regions.pop()
        self.heap.exit_region(region)
        for addr in addrs:
            if addr in self.objects and self.objects[addr]["state"] == "live":
                self.objects[addr]["state"] = "released"

    @rule(extra=st.lists(st.integers(0, 2**64 - 1), max_size=3))
    def collect(self, extra):
        self.heap.collect(list(self.names) + extra)
        reachable = self.reachable()
        for addr in list(self.objects):
            if addr not in reachable:
                del self.objects[addr]  # its memory may be reused now

    @rule(extra=st.lists(st.integers(0, 2**64 - 1), max_size=3))
    def collect_young(self, extra):
        # A minor collection reclaims only young objects: an old object that points at a
        # young one (the write barrier remembered it) must keep it alive.
        self.heap.collect_young(list(self.names) + extra)
        reachable = self.reachable()
        for addr in list(self.objects):
            if addr not in reachable:
                del self.objects[addr]

    def reachable(self) -> set[int]:
        seen: set[int] = set()
        todo = list(self.names) + [a for _, addrs in self.regions for a in addrs]
        while todo:
            addr = todo.pop()
            if addr in seen or addr not in self.objects:
                continue
            seen.add(addr)
            if self.objects[addr]["state"] == "live" and self.objects[addr]["next"]:
                todo.append(self.objects[addr]["next"])
        return seen

    @invariant()
    def objects_hold_what_was_stored(self):
        if not hasattr(self, "heap"):
            return
        for addr in self.reachable():
            obj = self.objects[addr]
            if obj["state"] == "live":
                assert self.heap.slots(addr) == obj["slots"]
                assert self.heap.get_i64(addr, 0) == obj["value"]
                if obj["slots"] == 3:
                    assert self.heap.get_ptr(addr, 2) == obj["next"]
            else:
                error = UseAfterFree if obj["state"] == "freed" else DanglingReference
                with pytest.raises(error):
                    self.heap.get_i64(addr, 0)

    @invariant()
    def the_heap_adds_up(self):
        if not hasattr(self, "heap"):
            return
        s = self.heap.stats()
        walked = list(self.heap.walk())
        assert len(walked) == s.live_objects + s.dead_objects
        assert sum(HEADER_SIZE + o.size for o in walked) + s.free_bytes == s.used
        assert sum(not o.flags & FLAGS_DEAD for o in walked) == s.live_objects
        assert s.used <= self.heap.limit
        assert [o.addr for o in walked] == sorted(o.addr for o in walked)


HeapModel.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_programs = HeapModel.TestCase


def test_a_minor_collection_keeps_what_an_old_object_points_at(heap, t):
    old = heap.alloc(t.node, 3)
    heap.collect_young([old])                  # `old` survives: it is old now
    assert not heap.header(old).flags & FLAG_YOUNG
    young = heap.alloc(t.node, 3)
    heap.set_i64(young, 0, 42)
    heap.set_ptr(old, 2, young)                # the write barrier remembers `old`
    garbage = heap.alloc(t.node, 3)
    stats = heap.collect_young([])             # no root reaches `old` or `young` ...
    assert heap.get_i64(young, 0) == 42        # ... but `old` is not collected by a minor
    assert not heap.is_live(garbage) and stats.reclaimed_objects == 1
    heap.collect([])                           # a full collection reclaims both
    assert not heap.is_live(old) and not heap.is_live(young)
