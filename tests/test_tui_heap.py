"""The Heap tab's view model without a terminal or an engine: a fake session that answers
`heap_info`, `regions`, `object_at`, `path_to` and `collect` as the engine's
contract says (vyndbg/engine.py, records of vyndbg/model.py), and what the tab shows.
"""

from __future__ import annotations

import pytest

from tui.heap import (
    OBJECT_ROOT,
    HeapRequest,
    bar_parts,
    collect_heap,
    collect_object,
    collect_text,
    flags_text,
    generation_facts,
    generation_numbers,
    node_address,
    object_facts,
    object_title,
    path_title,
    region_text,
    regions_title,
    short_size,
    size_text,
    step_text,
    summary_text,
)
from tui.model import VarNode
from vyndbg.model import (
    DebugError,
    FiberInfo,
    GcResult,
    GenerationInfo,
    HeapInfo,
    Location,
    ObjectView,
    PathStep,
    RegionView,
    TypeUsage,
    ValueInfo,
    Variable,
)

SHELF, ITEMS, APPLE, NAME, LOST = 0x7F0000001000, 0x7F0000001040, 0x7F0000001100, \
    0x7F0000001200, 0x7F0000002000


def value(type_name: str, text: str, addr: int = 0, count: int = 0) -> ValueInfo:
    """A ValueInfo as the engine makes it: a heap value carries its address."""
    return ValueInfo(type_name, text, ("ref", addr) if count else None, count, addr)


class FakeSession:
    """The heap part of vyndbg.engine.Session over a small heap: a Shelf holding a Vec of
    Items, a lost Item (garbage), two regions (one of fiber 1, one of fiber 5). It records
    every call so a test can see what the tab asked for."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.selected_thread = 1
        self.garbage = 3
        self.vector_length = 2      # the Vec at ITEMS: the Shelf's items
        self.objects = {
            SHELF: ObjectView(SHELF, "Shelf", "old generation", 32, (), "live", (
                Variable("label", value("String", '"fruit"', NAME), "field"),
                Variable("items", value("Vec<Item>", "[Item { ... }]", ITEMS, 2), "field"))),
            APPLE: ObjectView(APPLE, "Item", "young generation", 32, ("YOUNG",), "live", (
                Variable("name", value("String", '"apple"', NAME + 64), "field"),
                Variable("qty", value("Int", "1"), "field"))),
            NAME: ObjectView(NAME, "String", "old generation", 32, ("BYTES",), "live", (),
                             length=5, value=value("String", '"fruit"', NAME)),
            # A vector of 250 Items: `object_at` lists the first 200 of them as fields;
            # its value pages through them all.
            ITEMS: ObjectView(ITEMS, "Vec<Item>", "old generation", 32, (), "live", tuple(
                Variable(f"[{i}]", value("Item", "Item { ... }", APPLE + 32 * i, 2), "field")
                for i in range(200)), length=250,
                value=value("Vec<Item>", "[Item { ... }, ...]", ITEMS, 250)),
            LOST: ObjectView(LOST, "Item", "region 3", 32, ("FREED", "REGION"), "freed", (),
                             freed_at=Location("shelf.vyn", 7)),
        }
        root = "thread 1 (main), frame #0 main, variable shelf"
        self.paths = {
            SHELF: [PathStep(root, SHELF, "Shelf")],
            APPLE: [PathStep(root, SHELF, "Shelf"), PathStep(".items", ITEMS, "Vec<Item>"),
                    PathStep("[0]", APPLE, "Item")],
        }

    def heap_info(self, top: int = 20) -> HeapInfo:
        self.calls.append(("heap_info", top))
        dead = 32 * self.garbage
        types = (TypeUsage("Item", 2 + self.garbage, 32 * (2 + self.garbage)),
                 TypeUsage("String", 3, 96), TypeUsage("Shelf", 1, 32))
        return HeapInfo(0x7F0000000000, 1 << 30, 4096, 224 + dead, dead, 0, (
            GenerationInfo("young", 0x7F0000001100, 0x7F0000001200, 256 << 10, 96 + dead,
                           96, 3, 0),
            GenerationInfo("old", 0x7F0000001000, 0x7F0000001100, 1 << 30, 128, 128, 4, 1),
        ), types[:top], 1, 0.001, 6 + self.garbage, self.garbage, max(0, len(types) - top))

    def regions(self) -> list[RegionView]:
        self.calls.append(("regions",))
        return [RegionView(3, 1, 1, 0x7F0000002000, 0x7F0000002040, 64, 2, 1, "main",
                           "main", 0, Location("shelf.vyn", 12)),
                RegionView(4, 1, 5, 0x7F0000003000, 0x7F0000003020, 32, 1, 1, "task 5")]

    def object_at(self, addr: int) -> ObjectView:
        self.calls.append(("object_at", addr))
        if addr not in self.objects:
            raise DebugError(f"Cannot access memory at address 0x{addr:x}")
        return self.objects[addr]

    def path_to(self, addr: int) -> list[PathStep] | None:
        self.calls.append(("path_to", addr))
        return self.paths.get(addr)

    def collect(self) -> GcResult:
        self.calls.append(("collect",))
        freed, self.garbage = self.garbage, 0
        return GcResult(2, "full", freed, 32 * freed, 224 + 32 * freed, 224, 6, 0.0012)

    def fiber(self, n: int) -> FiberInfo:
        names = {1: "main", 5: "task 5"}
        if n not in names:
            raise DebugError(f"Unknown thread {n}.")
        return FiberInfo(n, "main" if n == 1 else "task", names[n], "running")

    def children(self, ref, start=0, count=None):
        self.calls.append(("children", ref, start, count))
        n = self.vector_length
        kids = [Variable(f"[{i}]", value("Item", f"Item {{ qty: {i} }}", APPLE + 32 * i, 2))
                for i in range(n)]
        return kids[start:] if count is None else kids[start:start + count]

    def called(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]


def node(path: tuple[str, ...], v: ValueInfo | None = None) -> VarNode:
    return VarNode(path[-1], v or value("Item", "Item { ... }", APPLE, 2), path)


# -- what the tab reads ---------------------------------------------------------------------

def test_the_tab_reads_generations_types_and_the_selected_fibers_regions():
    s = FakeSession()
    view = collect_heap(s, HeapRequest(top=2), generation=4)
    assert view.generation == 4 and view.error == ""
    assert s.called("heap_info") == [("heap_info", 2)]
    assert [t.type_name for t in view.info.types] == ["Item", "String"]
    assert [g.name for g in view.info.generations] == ["young", "old"]
    # Only fiber 1's region: the Heap tab follows the selected fiber.
    assert [r.region_id for r in view.regions] == [3]
    assert (view.fiber, view.fiber_name) == (1, "main")
    assert regions_title(view) == "scoped regions of main: 1"
    # No object is open: none is read.
    assert view.object is None and not s.called("object_at") and not s.called("path_to")
    s.selected_thread = 5
    view = collect_heap(s, HeapRequest())
    assert [r.region_id for r in view.regions] == [4]
    assert regions_title(view) == "scoped regions of task 5: 1"


def test_a_fiber_without_regions_says_so():
    s = FakeSession()
    s.selected_thread = 2           # not in the fake's regions, nor a known fiber
    view = collect_heap(s, HeapRequest())
    assert view.regions == () and regions_title(view) == "no scoped region active in fiber 2"


def test_an_open_object_shows_its_fields_and_why_it_is_alive():
    s = FakeSession()
    view = collect_heap(s, HeapRequest().opened(SHELF),
                        expanded={(OBJECT_ROOT, "items"): 100})
    obj = view.object
    assert obj.addr == SHELF and obj.error == ""
    assert object_title(obj.view) == "Shelf at 0x7f0000001000"
    assert object_facts(obj.view) == "live · old generation · 32 B"
    assert flags_text(obj.view) == "flags: none"
    assert [f.label for f in obj.fields] == ['label: String = "fruit"',
                                            "items: Vec<Item> = [Item { ... }]"]
    # The expanded field has its elements, read as the Variables pane reads them.
    items = obj.fields[1]
    assert items.path == (OBJECT_ROOT, "items")
    assert [c.name for c in items.children] == ["[0]", "[1]"]
    assert obj.fields_total == 2 and obj.fields_node is None     # no value: no paging
    assert [step_text(p) for p in obj.path] == [
        "thread 1 (main), frame #0 main, variable shelf: Shelf"]
    assert path_title(obj.path) == "why alive: it is a root"


def test_a_long_vectors_elements_are_read_a_page_at_a_time():
    s = FakeSession()
    s.vector_length = 250
    obj = collect_object(s, ITEMS)
    assert len(obj.fields) == 100 and obj.fields_total == 250
    assert obj.fields[99].label == "[99]: Item = Item { qty: 99 }"
    assert obj.fields[0].path == (OBJECT_ROOT, "[0]")
    assert obj.fields_node.path == (OBJECT_ROOT,) and obj.fields_node.value.count == 250
    assert s.called("children")[-1] == ("children", ("ref", ITEMS), 0, 100)
    # After "more…" twice, the next stop reads the 250 again.
    obj = collect_object(s, ITEMS, {(OBJECT_ROOT,): 250})
    assert len(obj.fields) == 250 and obj.fields[-1].name == "[249]"


def test_a_path_from_a_root_names_each_step():
    s = FakeSession()
    obj = collect_object(s, APPLE)
    assert [step_text(p) for p in obj.path] == [
        "thread 1 (main), frame #0 main, variable shelf: Shelf", ".items: Vec<Item>",
        "[0]: Item"]
    assert path_title(obj.path) == "why alive: 2 references from a root"
    assert object_facts(obj.view) == "live · young generation · 32 B"
    assert flags_text(obj.view) == "flags: YOUNG"
    string = collect_object(s, NAME).view
    assert object_facts(string) == "live · old generation · 32 B · length 5"


def test_an_object_nothing_reaches_and_a_dead_one():
    s = FakeSession()
    obj = collect_object(s, LOST)
    assert obj.path is None and obj.fields == ()
    assert path_title(obj.path) == \
        "why alive: nothing reaches it (the next collection frees it)"
    assert object_facts(obj.view) == "freed at shelf.vyn:7 · region 3 · 32 B"
    assert flags_text(obj.view) == "flags: FREED REGION"


def test_an_address_that_is_no_longer_an_object_is_an_error_in_the_view():
    s = FakeSession()
    view = collect_heap(s, HeapRequest().opened(0x7F0000009990))
    assert view.object.view is None
    assert view.object.error == "Cannot access memory at address 0x7f0000009990"
    assert not s.called("path_to")


def test_an_engine_that_refuses_is_an_error_of_the_tab():
    class Refusing(FakeSession):
        def heap_info(self, top=20):
            raise DebugError("The program is not being run.")
    view = collect_heap(Refusing(), HeapRequest())
    assert view.error == "The program is not being run." and view.info is None


# -- opening a value ------------------------------------------------------------------------

def test_a_value_opens_at_the_address_its_value_info_carries():
    s = FakeSession()
    assert node_address(node(("shelf", "items", "[0]"))) == APPLE
    field = collect_object(s, SHELF).fields[0]
    assert field.path == (OBJECT_ROOT, "label") and node_address(field) == NAME
    with pytest.raises(DebugError, match=r"^`n` \(Int\) is not an object on the heap\.$"):
        node_address(node(("n",), value("Int", "3")))
    with pytest.raises(DebugError, match="has no value: No symbol"):
        node_address(VarNode("nope", ValueInfo("", ""), ("$watch", "nope"), "watch",
                             error="No symbol"))


# -- collecting -----------------------------------------------------------------------------

def test_collect_frees_the_garbage_and_the_numbers_follow():
    s = FakeSession()
    before = collect_heap(s, HeapRequest())
    assert summary_text(before.info) == "320 B live · 96 B dead · 1 GC"
    freed = collect_text(s.collect())
    assert freed == "freed 3 objects (96 B)"
    after = collect_heap(s, HeapRequest(), collected=freed)
    assert after.collected == freed
    assert summary_text(after.info) == "224 B live · 0 B dead · 1 GC"
    assert after.info.types[0] == TypeUsage("Item", 2, 64)


# -- text -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n, text, short", [
    (0, "0 B", "0B"), (96, "96 B", "96B"), (1000, "1000 B", "1.0K"), (1536, "1.5 KiB", "1.5K"),
    (256 << 10, "256.0 KiB", "256K"), (12 << 20, "12.0 MiB", "12M"),
    (1 << 30, "1.0 GiB", "1.0G"), (1023 << 20, "1023.0 MiB", "1.0G"),
])
def test_sizes(n, text, short):
    assert size_text(n) == text
    assert short_size(n) == short and len(short) <= 5


def test_bars_give_every_kind_of_byte_at_least_a_cell():
    assert bar_parts(0, 0, 100, 10) == (0, 0, 10)
    assert bar_parts(50, 20, 100, 10) == (5, 2, 3)
    assert bar_parts(1, 1, 1 << 30, 10) == (1, 1, 8)      # tiny, but there
    assert bar_parts(100, 0, 100, 10) == (10, 0, 0)
    assert bar_parts(99, 1, 100, 10) == (9, 1, 0)
    assert bar_parts(300, 0, 100, 10) == (10, 0, 0)       # over capacity: full
    assert bar_parts(5, 5, 10, 1) == (1, 0, 0)
    assert bar_parts(5, 5, 10, 0) == (0, 0, 0)


def test_generation_and_region_text():
    young, old = FakeSession().heap_info().generations
    assert generation_numbers(young) == "192B/256K"
    assert generation_numbers(old) == "128B/1.0G"
    assert generation_facts(young) == "3 objects · 96 B dead · 0 minor collections"
    assert generation_facts(old) == "4 objects · 0 B dead · 1 full collection"
    mine, other = FakeSession().regions()
    assert region_text(mine) == "region 3 · 2 objects (1 live) · 64 B · main at shelf.vyn:12"
    assert region_text(other) == "region 4 · 1 object (1 live) · 32 B"
    inner = RegionView(5, 2, 1, 0, 0, 0, 0, 0, "main")
    assert region_text(inner) == "  region 5 · 0 objects (0 live) · 0 B"
