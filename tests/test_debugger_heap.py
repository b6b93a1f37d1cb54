"""The debugger's heap view, engine level: generations and live types, scoped regions,
memory, objects by address, why an object is alive, collections on request, addresses
of values, and values the debugger holds surviving collections.

Engine calls on programs written for them, and the records they return (no line mode).
Addresses differ from run to run, so tests compare them with each other and with the
heap's own layout (docs/heap.md), never with constants.
"""

from __future__ import annotations

import functools
import gc as python_gc
import struct

import pytest

from compiler.lower import compile_file
from runtime.heap_layout import FLAG_YOUNG, HEADER
from vyndbg.engine import Session
from vyndbg.heapview import DEBUGGER_ROOT
from vyndbg.model import DebugError, Output, StopReason

LIST = """\
class Node {
  var value: Int
  var next: Option<Node>
}

fn build(n: Int) -> Option<Node> {
  var head: Option<Node> = None
  for i in 0..<n {
    head = Some(Node(value=i, next=head))
  }
  head
}

fn main() {
  let list = build(3)
  let names = vec!["ada", "grace"]
  var garbage = 0
  for i in 0..<100 {
    let tmp = Node(value=i, next=None)
    garbage += tmp.value
  }
  println("{} {}", garbage, names.len())
  scoped {
    let b = Node(value=7, next=None)
    println("{}", b.value)
  }
  println("{}", list)
}
"""
LIST_LOOP = 20       # garbage += tmp.value
LIST_AFTER = 22      # println after the loop
LIST_SCOPED = 25     # inside the scoped block

ITEMS = """\
class Item {
  var id: Int
  var label: String
}

let registry = vec![Item(id=0, label="zero")]

fn main() {
  var items: Vec<Item> = vec![]
  for i in 1..3 {
    items.push(Item(id=i, label="item"))
  }
  var counter = 0
  let bump = fn() { counter += 10 }
  bump()
  var p = alloc<Item>()
  p.id = 9
  free(p)
  let pair = (7, "seven")
  println("{} {} {}", items.len(), counter, registry.len())
}
"""
ITEMS_END = 20

TASKS = """\
class Buf {
  var n: Int
}
fn fill(k: Int) -> Int {
  var total = 0
  scoped {
    let b = Buf(n=k)
    total = b.n * 2
  }
  total
}
fn main() {
  let t = spawn(fn() -> Int { fill(5) })
  scoped {
    let a = Buf(n=1)
    println("{}", await t + a.n)
  }
}
"""


@functools.cache
def compiled(source: str):
    out = compile_file("prog.vyn", source)
    assert out.program is not None, out.diagnostics
    return out.program


def stopped(source: str, line: int, condition: str | None = None, **kw) -> Session:
    s = Session(compiled(source), **kw)
    s.break_at(str(line), condition)
    ev = s.run()
    assert ev.reason is StopReason.BREAKPOINT, ev
    return s


@pytest.fixture
def sessions():
    made = []

    def make(source: str, line: int, condition: str | None = None, **kw) -> Session:
        s = stopped(source, line, condition, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.kill()


# ---------------------------------------------------------------------- info heap


def test_heap_info_generations_and_live_types(sessions):
    s = sessions(LIST, LIST_SCOPED)
    h = s.heap_info()
    heap = s.vm.heap
    assert (h.base, h.limit, h.used) == (heap.base, heap.limit, heap.used)
    young, old = h.generations
    assert (young.name, old.name) == ("young", "old")
    # Nothing collected yet: every object is young, from the heap's first byte.
    assert (young.lo, young.hi) == (heap.base, heap.base + heap.used)
    assert young.objects == h.live_objects == 213 and young.live_bytes == h.live_bytes
    assert (old.lo, old.hi, old.objects, old.collections) == (0, 0, 0, 0)
    assert young.capacity == heap.nursery and old.capacity == heap.limit
    rows = {t.type_name: (t.objects, t.bytes) for t in h.types}
    assert rows["Node"] == (104, 104 * 32)        # 3 in the list, 100 garbage, b
    assert rows["Option<Node>::Some"] == (3, 3 * 32)
    assert rows["String"] == (2, 64)
    assert rows["Vec<String>"] == (1, 32)
    assert [t.bytes for t in h.types] == sorted((t.bytes for t in h.types), reverse=True)
    assert sum(t.objects for t in h.types) == h.live_objects
    assert sum(t.bytes for t in h.types) == h.live_bytes
    assert h.other_types == 0 and h.collections == 0
    top = s.heap_info(top=2)
    assert [t.type_name for t in top.types] == ["Node", "Option<Node>::None"]
    assert top.other_types == len(h.types) - 2


def test_heap_info_after_a_collection_everything_is_old(sessions):
    s = sessions(LIST, LIST_SCOPED)
    r = s.collect()
    h = s.heap_info()
    young, old = h.generations
    assert young.objects == 0 and (young.lo, young.hi) == (0, 0)
    assert old.objects == h.live_objects == r.objects_after
    assert old.collections == 1 and h.collections == 1
    assert dict((t.type_name, t.objects) for t in h.types)["Node"] == 4
    assert h.free_bytes == r.bytes_freed == r.bytes_before - r.bytes_after
    assert h.gc_seconds >= r.seconds > 0


# ---------------------------------------------------------------------- regions


def test_regions_show_the_scoped_block_a_breakpoint_is_in(sessions):
    s = sessions(LIST, LIST_SCOPED)
    (r,) = s.regions()
    b = s.evaluate("b")
    assert (r.region_id, r.depth, r.fiber, r.fiber_name) == (1, 1, 1, "main")
    assert (r.objects, r.live_objects, r.bytes) == (1, 1, 32)
    assert (r.lo, r.hi) == (b.address, b.address + 32)
    assert (r.function, r.frame) == ("main", 0)
    assert (r.location.file, r.location.line) == ("prog.vyn", 23)
    assert s.object_at(b.address).where == "region 1"


def test_regions_of_every_fiber(sessions):
    s = sessions(TASKS, 8)
    regions = {r.fiber: r for r in s.regions()}
    assert sorted(regions) == [1, 2]
    main, task = regions[1], regions[2]
    assert (main.fiber_name, main.function, main.location.line) == ("main", "main", 14)
    assert (task.fiber_name, task.function, task.frame, task.location.line) == \
        ("task 2", "fill", 0, 6)
    assert s.object_at(s.evaluate("b").address).where == f"region {task.region_id}"


def test_no_regions_outside_scoped_blocks(sessions):
    s = sessions(LIST, LIST_AFTER)
    assert s.regions() == []


# ---------------------------------------------------------------------- memory


def test_read_memory_reads_an_objects_header_and_slots(sessions):
    s = sessions(LIST, LIST_SCOPED)
    b = s.evaluate("b")
    data = s.read_memory(b.address, 32)
    type_id, flags, size, aux = HEADER.unpack_from(data)
    assert type_id == s.vm.heap.type_of(b.address)
    assert flags & FLAG_YOUNG and size == 16 and aux == 1      # aux: region 1
    value, nxt = struct.unpack_from("<qQ", data, 16)
    assert value == 7 and nxt == s.vm.heap.get_ptr(b.address, 1)
    assert s.read_memory(b.address, 0) == b""


def test_read_memory_outside_the_heap_names_the_first_bad_address(sessions):
    s = sessions(LIST, LIST_SCOPED)
    heap = s.vm.heap
    end = heap.base + heap.used
    with pytest.raises(DebugError, match=f"^Cannot access memory at address 0x{end:x}$"):
        s.read_memory(end - 8, 16)
    with pytest.raises(DebugError, match="^Cannot access memory at address 0x10$"):
        s.read_memory(0x10, 8)


def test_string_at_reads_string_objects_then_c_strings(sessions):
    s = sessions(LIST, LIST_SCOPED)
    ada = s.evaluate("names[0]").address
    grace = s.evaluate("names[1]").address
    assert s.string_at(ada) == ('"ada"', grace)          # the next object is "grace"
    text, after = s.string_at(ada + 24)                    # the text itself: up to a NUL
    assert (text, after) == ('"ada"', ada + 24 + 4)


# ---------------------------------------------------------------------- objects


def test_object_at_a_linked_list_node(sessions):
    s = sessions(LIST, LIST_SCOPED)
    node = s.evaluate("list.unwrap()")
    o = s.object_at(node.address)
    assert (o.addr, o.type_name, o.size, o.state) == (node.address, "Node", 32, "live")
    assert o.where == "young generation" and o.flags == ("YOUNG",)
    assert [(f.name, f.value.text) for f in o.fields] == [
        ("value", "2"),
        ("next", "Some(Node { value: 1, next: Some(Node { value: 0, next: None }) })")]
    assert o.fields[1].value.address == s.evaluate("list.unwrap().next").address
    assert o.value.text == node.text and o.heap_type == s.vm.heap.type_of(node.address)
    some = s.object_at(s.evaluate("list").address)
    assert some.type_name == "Option<Node>::Some"
    assert [f.name for f in some.fields] == ["0"]


def test_object_at_vectors_strings_closures_tuples_and_freed_objects(sessions):
    s = sessions(ITEMS, ITEMS_END)
    items = s.object_at(s.evaluate("items").address)
    assert (items.type_name, items.length) == ("Vec<Item>", 3)
    assert [f.name for f in items.fields] == ["[0]", "[1]", "[2]"]
    assert items.fields[2].value.text == 'Item { id: 3, label: "item" }'
    data = s.object_at(s.vm.heap.get_ptr(items.addr, 1))
    assert data.type_name == "Vec<Item>.data" and data.value is None
    assert data.length == 4 and data.fields[3].value.text == "null"
    label = s.object_at(s.evaluate("items[0].label").address)
    assert (label.type_name, label.length, label.value.text) == ("String", 4, '"item"')
    assert "BYTES" in label.flags and label.fields == ()
    bump = s.object_at(s.evaluate("bump").address)
    assert bump.type_name.startswith("closure main::")
    assert bump.fields[0].value.text.startswith("<fn main::")
    assert bump.fields[1].name == "counter"                 # a captured var: its cell
    cell = s.object_at(bump.fields[1].value.address)
    assert [(f.name, f.value.text) for f in cell.fields] == [("value", "10")]
    pair = s.object_at(s.evaluate("pair").address)
    assert [(f.name, f.value.text) for f in pair.fields] == [("0", "7"), ("1", '"seven"')]
    freed = s.object_at(s.evaluate("p").address)
    assert freed.state == "freed" and "FREED" in freed.flags
    assert freed.fields == () and freed.value is None
    assert (freed.freed_at.file, freed.freed_at.line) == ("prog.vyn", 18)


def test_object_at_refuses_what_is_not_an_object(sessions):
    s = sessions(LIST, LIST_SCOPED)
    node = s.evaluate("list.unwrap()").address
    with pytest.raises(DebugError, match=rf"^0x{node + 16:x} is not the address of an "
                                         rf"object: it is 16 bytes into the Node at "
                                         rf"0x{node:x}\.$"):
        s.object_at(node + 16)
    with pytest.raises(DebugError, match="^Cannot access memory at address 0x0$"):
        s.object_at(0)


# ---------------------------------------------------------------------- paths


def test_path_to_follows_fields_from_a_variable(sessions):
    s = sessions(LIST, LIST_SCOPED)
    last = s.evaluate("list.unwrap().next.unwrap().next.unwrap()")
    steps = s.path_to(last.address)
    assert [(p.label, p.type_name) for p in steps] == [
        ("thread 1 (main), frame #0 main, variable list", "Option<Node>::Some"),
        ("Some.0", "Node"), (".next", "Option<Node>::Some"), ("Some.0", "Node"),
        (".next", "Option<Node>::Some"), ("Some.0", "Node")]
    assert steps[0].addr == s.evaluate("list").address and steps[-1].addr == last.address


def test_path_to_vector_elements_globals_and_frames_of_other_functions(sessions):
    s = sessions(ITEMS, ITEMS_END)
    second = s.evaluate("items[1]").address
    assert [p.label for p in s.path_to(second)] == [
        "thread 1 (main), frame #0 main, variable items", "[1]"]
    # The label is a constant string: a variable's path is preferred to that root.
    label = s.evaluate("items[1].label").address
    assert [p.label for p in s.path_to(label)] == [
        "thread 1 (main), frame #0 main, variable items", "[0]", ".label"]
    data = s.vm.heap.get_ptr(s.evaluate("items").address, 1)
    assert [p.label for p in s.path_to(data)][-1] == ".data"
    zero = s.evaluate("registry[0]").address
    assert [p.label for p in s.path_to(zero)] == ["global registry", "[0]"]
    t = stopped(TASKS, 8)
    try:
        assert t.path_to(t.evaluate("b").address)[0].label == \
            "thread 2 (task 2), frame #0 fill, variable b"
    finally:
        t.kill()


def test_garbage_is_unreachable_and_a_collection_frees_it(sessions):
    s = sessions(LIST, LIST_LOOP, "i == 5")
    addr = s.evaluate("tmp").address
    python_gc.collect()               # the ValueInfo is gone: nothing holds the Node now
    s.delete()
    s.break_at(str(LIST_AFTER))
    s.cont()
    assert s.object_at(addr).state == "live"      # still there: no collection yet
    assert s.path_to(addr) is None
    s.collect()
    with pytest.raises(DebugError, match="is in free memory"):
        s.object_at(addr)


# ---------------------------------------------------------------------- collections


def test_collect_frees_garbage_but_not_the_values_the_debugger_holds(sessions):
    s = sessions(LIST, LIST_LOOP, "i == 5")
    held = s.evaluate("tmp")                # `print tmp`: $1
    s.delete()
    s.break_at(str(LIST_AFTER))
    s.cont()
    before = s.heap_info()
    r = s.collect()
    assert (r.number, r.kind) == (1, "full")
    assert r.objects_freed == before.live_objects - r.objects_after > 99   # the other Nodes
    assert r.bytes_before == before.live_bytes and r.bytes_after < r.bytes_before
    o = s.object_at(held.address)             # $1 is still an object, and readable
    assert o.state == "live" and o.value.text == held.text == "Node { value: 5, next: None }"
    assert [p.label for p in s.path_to(held.address)] == [DEBUGGER_ROOT]
    kids = s.children(held.ref)
    assert [(k.name, k.value.text) for k in kids] == [("value", "5"), ("next", "None")]


def test_values_held_survive_collections_while_the_program_runs(sessions):
    # --gc-stress: the program collects at every safepoint while it runs.
    s = sessions(LIST, LIST_LOOP, "i == 3", gc_stress=True)
    held = s.evaluate("tmp")
    field = s.address_of("tmp.value")        # a slot: its object is kept too
    s.delete()
    s.break_at(str(LIST_AFTER))
    assert s.cont().reason is StopReason.BREAKPOINT
    assert s.vm.heap.stats().collections > 0
    assert s.object_at(held.address).value.text == "Node { value: 3, next: None }"
    assert s.read_memory(field.address, 8) == (3).to_bytes(8, "little")


def test_dropped_values_are_not_kept(sessions):
    s = sessions(LIST, LIST_LOOP, "i == 5")
    addr = s.evaluate("tmp").address
    python_gc.collect()
    assert addr not in s._pinned_values()
    held = s.evaluate("tmp")
    assert held.address in s._pinned_values()


def test_watchpoint_old_values_are_kept(sessions):
    s = sessions(LIST, LIST_LOOP, "i == 5")
    s.watch("tmp")
    old = s.heap_address(s._bps[max(s._bps)].old.value)
    assert old and old in s._pinned_values()


def test_gc_trace_writes_to_the_programs_stderr():
    outputs: list[Output] = []
    s = Session(compiled(LIST), on_output=outputs.append, gc_trace=True)
    s.break_at(str(LIST_AFTER))
    s.run()
    try:
        r = s.collect()
        trace = [o.text for o in outputs if o.stream == "stderr"]
        assert len(trace) == 1 and trace[0].startswith(f"[gc] #{r.number} full (requested): ")
        assert f"{r.objects_freed} objects freed" in trace[0]
        s.cont()
        assert any(o.text == "[gc] region 1 released: 1 objects, 32 B\n" for o in outputs)
    finally:
        s.kill()


# ---------------------------------------------------------------------- addresses


def test_address_of_heap_values_slots_and_cells(sessions):
    s = sessions(ITEMS, ITEMS_END)
    items = s.evaluate("items")
    p = s.address_of("items")
    assert (p.type_name, p.text) == ("Vec<Item> *", f"(Vec<Item> *) 0x{items.address:x}")
    assert p.address == items.address and s.evaluate("&items") == p
    first = s.evaluate("items[0]")
    id_slot = s.address_of("items[0].id")
    assert (id_slot.type_name, id_slot.address) == ("Int *", first.address + 16)
    elem = s.address_of("&items[2]")           # an element that is an object: the object
    assert elem.address == s.evaluate("items[2]").address
    pair = s.evaluate("pair")
    assert s.address_of("pair.0").address == pair.address + 16
    counter = s.address_of("counter")           # a captured var lives in a cell
    assert s.read_memory(counter.address, 8) == (10).to_bytes(8, "little")
    with pytest.raises(DebugError, match="^Attempt to take address of value not located "
                                         "in memory.$"):
        s.address_of("items.len()")
    with pytest.raises(DebugError, match="the index is 5"):
        s.address_of("items[5].id")
    with pytest.raises(DebugError, match="^There is no member named nope.$"):
        s.address_of("pair.nope")


def test_address_of_an_element_slot(sessions):
    s = sessions(LIST, LIST_SCOPED)
    nums = Session(compiled("fn main() {\n  let v = vec![4, 5, 6]\n  println(\"{}\", v)\n}\n"))
    nums.break_at("3")
    nums.run()
    try:
        v = nums.evaluate("v").address
        data = nums.vm.heap.get_ptr(v, 1)
        slot = nums.address_of("v[1]")
        assert (slot.type_name, slot.address) == ("Int *", data + 16 + 8)
        assert nums.read_memory(slot.address, 8) == (5).to_bytes(8, "little")
    finally:
        nums.kill()
    assert s.heap_address(12) == 0


def test_format_value_for_print_formats(sessions):
    s = sessions(LIST, LIST_SCOPED)
    b = s.evaluate("b")
    assert s.format_value(b, "a") == f"0x{b.address:x}"
    assert s.format_value(s.evaluate("&b"), "x") == f"0x{b.address:x}"
    assert s.format_value(s.evaluate("b.value"), "x") == "0x7"
    with pytest.raises(DebugError, match="^Format /x applies to integers; this value is "
                                         "a Node.$"):
        s.format_value(b, "x")


def test_heap_calls_need_a_stopped_program():
    s = Session(compiled(LIST))
    for call in (s.heap_info, s.regions, s.collect, lambda: s.read_memory(1, 1),
                 lambda: s.object_at(1), lambda: s.path_to(1), lambda: s.string_at(1)):
        with pytest.raises(DebugError, match="^The program is not being run.$"):
            call()
    with pytest.raises(DebugError, match='^No symbol "x" in current context.$'):
        s.address_of("x")           # as `print x` says before the program runs


def test_address_of_evaluates_its_expression_once():
    source = ("class Box {\n  var n: Int\n}\nfn make(n: Int) -> Box {\n  println(\"made {}\", n)\n"
              "  Box(n=n)\n}\nfn main() {\n  let b = make(1)\n  println(\"{}\", b.n)\n}\n")
    outputs: list[Output] = []
    s = Session(compiled(source), on_output=outputs.append)
    s.break_at("10")
    s.run()
    try:
        del outputs[:]
        slot = s.address_of("make(2).n")
        assert [o.text for o in outputs] == ["made 2\n"]
        assert s.read_memory(slot.address, 8) == (2).to_bytes(8, "little")
        assert s.evaluate("&make(3)").type_name == "Box *"
        assert [o.text for o in outputs] == ["made 2\n", "made 3\n"]
    finally:
        s.kill()
