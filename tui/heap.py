"""The Heap tab's view model: generations, live types, the selected fiber's `scoped`
regions, and one object by address with why it is alive. No Textual.

A `HeapRequest` is what the tab asks for (how many types, which object); `collect_heap`
reads it from a stopped Session through `heap_info`, `regions`, `object_at` and `path_to`
and returns a `HeapView`. `node_address` is the address of a value shown in a tree
(Variables, Watches, an object's fields), from which an object view opens. The rest are
plain functions from engine records to the text the widgets show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tui.model import PAGE, VarNode, expand_nodes, location_text, var_nodes
from vyndbg.model import (
    DebugError,
    GcResult,
    GenerationInfo,
    HeapInfo,
    ObjectView,
    PathStep,
    RegionView,
)
from vyndbg.render_gdb import Renderer

TOP_TYPES = 20           # rows of the live-types table
OBJECT_ROOT = "$object"  # the first element of the paths of an open object's fields


# -- what the tab asks for and gets ---------------------------------------------------------

@dataclass(frozen=True)
class HeapRequest:
    """What the Heap tab shows: the `top` types by live bytes, and the object at `addr`
    (None: no object is open)."""

    top: int = TOP_TYPES
    addr: int | None = None

    def opened(self, addr: int | None) -> HeapRequest:
        return HeapRequest(self.top, addr)


@dataclass(frozen=True)
class ObjectDetail:
    """An open object: what `object_at` says of it, its fields as tree nodes (expanded
    ones with their children loaded; `fields_total` of them in all: a long vector's
    elements are read a page at a time), and the path that keeps it alive (None: nothing
    reaches it; it goes at the next collection). `error` says why there is nothing else
    (the address is no longer an object's)."""

    addr: int
    view: ObjectView | None = None
    fields: tuple[VarNode, ...] = ()
    path: tuple[PathStep, ...] | None = None
    error: str = ""
    path_error: str = ""
    fields_total: int = 0

    @property
    def fields_node(self) -> VarNode | None:
        """The object's value as the node whose children the fields are (for loading
        more of them), when it pages."""
        value = self.view.value if self.view is not None else None
        if value is None or value.ref is None or not value.count:
            return None
        return VarNode("fields", value, (OBJECT_ROOT,), "object", self.fields)


@dataclass(frozen=True)
class HeapView:
    """The Heap tab after a stop (or a collection): read at `generation` for `request`.
    `regions` are the active regions of fiber `fiber` (the selected one). `collected`
    says what the last "Collect now" freed, when this view follows one. `note`: what
    the session cannot show (a core file: the object view), in place of the regions."""

    request: HeapRequest = HeapRequest()
    generation: int = 0
    info: HeapInfo | None = None
    fiber: int = 0
    fiber_name: str = ""
    regions: tuple[RegionView, ...] = ()
    object: ObjectDetail | None = None
    collected: str = ""
    error: str = ""
    note: str = ""


def collect_heap(session, request: HeapRequest, generation: int = 0,
                 expanded: Mapping[tuple[str, ...], int] | None = None,
                 collected: str = "") -> HeapView:
    """The Heap tab of a stopped `session`: `heap_info(top=)`, the selected fiber's
    regions and, when `request` names one, the object (`expanded`: its fields' tree
    paths that are expanded, path -> children shown)."""
    try:
        info = session.heap_info(top=request.top)
        regions = session.regions()
    except DebugError as e:
        return HeapView(request, generation, error=str(e), collected=collected)
    fiber = session.selected_thread
    try:
        name = session.fiber(fiber).name if fiber else ""
    except DebugError:
        name = ""
    mine = tuple(r for r in regions if r.fiber == fiber)
    obj = None
    if request.addr is not None:
        obj = collect_object(session, request.addr, expanded or {})
    return HeapView(request, generation, info, fiber, name, mine, obj, collected,
                    note=getattr(session, "heap_note", ""))


def collect_object(session, addr: int,
                   expanded: Mapping[tuple[str, ...], int] | None = None) -> ObjectDetail:
    """The object at `addr`: `object_at`, its fields, and `path_to` (why it is alive).

    An object whose value expands (a class instance, a tuple, an enum, a vector) shows
    its value's children, read as the Variables pane reads them: PAGE at a time
    (`expanded[(OBJECT_ROOT,)]` of them after "more…"); others (a closure, a vector's
    element array) the fields `object_at` lists."""
    expanded = expanded or {}
    try:
        view = session.object_at(addr)
    except DebugError as e:
        return ObjectDetail(addr, error=str(e))
    value = view.value
    if value is not None and value.ref is not None and value.count:
        shown = max(PAGE, -(-expanded.get((OBJECT_ROOT,), PAGE) // PAGE) * PAGE)
        kids = session.children(value.ref, 0, min(shown, value.count))
        nodes, total = var_nodes(kids, (OBJECT_ROOT,)), value.count
    else:
        nodes = var_nodes(view.fields, (OBJECT_ROOT,))
        total = len(nodes)
    fields = expand_nodes(session, nodes, expanded)
    try:
        path = session.path_to(addr)
        path_error = ""
    except DebugError as e:
        path, path_error = None, str(e)
    return ObjectDetail(addr, view, fields, tuple(path) if path is not None else None,
                        path_error=path_error, fields_total=total)


def node_address(node: VarNode) -> int:
    """The address of the heap object a tree node's value is (Variables, Watches, an open
    object's fields: `ValueInfo.address`). DebugError, worded for the console, when the
    value is not on the heap."""
    if node.error:
        raise DebugError(f"`{node.name}` has no value: {node.error}.")
    if not node.value.address:
        what = f" ({node.value.type_name})" if node.value.type_name else ""
        raise DebugError(f"`{node.name}`{what} is not an object on the heap.")
    return node.value.address


# -- text -----------------------------------------------------------------------------------

size_text = Renderer.size     # `96 B`, `1.5 KiB`, `12.0 MiB`: as `--gc-trace` and `info heap`


def short_size(n: int) -> str:
    """A size in at most five characters: `96B`, `1.5K`, `256K`, `12M`, `1.0G`."""
    if n < 1000:
        return f"{n}B"
    for unit in "KMGT":
        n /= 1024
        if n < 9.95:
            return f"{n:.1f}{unit}"
        if n < 999.5 or unit == "T":
            return f"{n:.0f}{unit}"
    raise AssertionError("unreachable")


def bar_parts(live: int, dead: int, capacity: int, width: int) -> tuple[int, int, int]:
    """Cells of a `width`-cell bar for live bytes, dead bytes and the rest of
    `capacity`. A kind with any bytes gets at least one cell."""
    if width <= 0:
        return 0, 0, 0
    capacity = max(capacity, live + dead, 1)
    cells_live = round(live * width / capacity)
    cells_dead = round((live + dead) * width / capacity) - cells_live
    if live and not cells_live:
        cells_live = 1
    if dead and not cells_dead:
        cells_dead = 1
    while cells_live + cells_dead > width:
        if cells_dead > (1 if dead else 0) or cells_live <= 1:
            cells_dead -= 1
        else:
            cells_live -= 1
    return cells_live, cells_dead, width - cells_live - cells_dead


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def generation_numbers(g: GenerationInfo) -> str:
    """`1.2K/256K`: bytes in use (dead ones included) of the generation's capacity."""
    return f"{short_size(g.used_bytes)}/{short_size(g.capacity)}"


def generation_facts(g: GenerationInfo) -> str:
    """`12 objects · 96 B dead · 3 minor collections`."""
    kind = "minor" if g.name == "young" else "full"
    return (f"{plural(g.objects, 'object')} · {size_text(g.used_bytes - g.live_bytes)} "
            f"dead · {plural(g.collections, kind + ' collection')}")


def summary_text(info: HeapInfo) -> str:
    """`2.1 KiB live · 96 B dead · 3 GCs`."""
    return (f"{size_text(info.live_bytes)} live · {size_text(info.dead_bytes)} dead · "
            f"{plural(info.collections, 'GC')}")


def region_text(r: RegionView) -> str:
    """`region 3 · 2 objects (1 live) · 64 B · make at a.vyn:12`, indented by its depth
    (an inner region under the one it is nested in)."""
    text = (f"{'  ' * max(0, r.depth - 1)}region {r.region_id} · "
            f"{plural(r.objects, 'object')} ({r.live_objects} live) · {size_text(r.bytes)}")
    if r.function:
        text += f" · {r.function}"
        if r.location is not None:
            text += f" at {location_text(r.location)}"
    return text


def regions_title(view: HeapView) -> str:
    """`scoped regions of task 5: 2`, `no scoped region active in main`."""
    who = view.fiber_name or (f"fiber {view.fiber}" if view.fiber else "no fiber")
    if not view.regions:
        return f"no scoped region active in {who}"
    return f"scoped regions of {who}: {len(view.regions)}"


def object_title(v: ObjectView) -> str:
    """`Item at 0x7f3a12c0`."""
    return f"{v.type_name} at 0x{v.addr:x}"


def object_state(v: ObjectView) -> str:
    """`live`, `freed at a.vyn:7`, `released (its scoped region has exited)`."""
    if v.state == "freed" and v.freed_at is not None:
        return f"freed at {location_text(v.freed_at)}"
    if v.state == "released":
        return "released (its scoped region has exited)"
    return v.state


def object_facts(v: ObjectView) -> str:
    """`live · old generation · 32 B`, then `· length 3`, `· refcount 2` when known."""
    facts = [object_state(v), v.where, size_text(v.size)]
    if v.length is not None:
        facts.append(f"length {v.length}")
    if v.refcount is not None:
        facts.append(f"refcount {v.refcount}")
    return " · ".join(facts)


def flags_text(v: ObjectView) -> str:
    """`flags: YOUNG REGION`, `flags: none`."""
    return f"flags: {' '.join(v.flags) if v.flags else 'none'}"


def step_text(step: PathStep) -> str:
    """A step of why an object is alive: its label and the type of what it reaches
    (`thread 1 (main), frame #0 main, variable shelf: Shelf`, `.items: Vec<Item>`)."""
    return f"{step.label}: {step.type_name}"


def path_title(path: tuple[PathStep, ...] | None, error: str = "") -> str:
    if error:
        return f"why alive: {error}"
    if path is None:
        return "why alive: nothing reaches it (the next collection frees it)"
    if len(path) == 1:
        return "why alive: it is a root"
    return f"why alive: {plural(len(path) - 1, 'reference')} from a root"


def collect_text(r: GcResult) -> str:
    """What `Session.collect()` freed: `freed 200 objects (6.2 KiB)`."""
    return f"freed {plural(r.objects_freed, 'object')} ({size_text(r.bytes_freed)})"
