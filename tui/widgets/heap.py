"""The Heap tab: the generations as bars, the live types (`jmap -histo`), the selected
fiber's `scoped` regions, and an object by address with its fields and why it is alive.

`HeapPane` shows a `HeapView` (tui/heap.py) and turns keys into requests the app sends to
the engine thread: `Load` (another object, or back), `Collect` (`g`). The object view is
an `ObjectTree`, a Variables tree whose fields expand as the Variables pane's values do.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static, Tree

from tui.heap import (
    HeapRequest,
    HeapView,
    ObjectDetail,
    bar_parts,
    flags_text,
    generation_facts,
    generation_numbers,
    object_facts,
    object_title,
    path_title,
    plural,
    region_text,
    regions_title,
    step_text,
    summary_text,
)
from tui.model import PAGE, short
from tui.widgets.variables import VariableTree
from vyndbg.model import HeapInfo, PathStep, RegionView

NAME_WIDTH = 6          # "young " before a generation's bar
ROOMY = 24              # from this height the tab shows an open object beside the types


class HeapSummary(Widget):
    """One line: live and dead bytes and collections, and on the right, when it fits,
    what the last "Collect now" freed or the tab's keys."""

    COMPONENT_CLASSES = {"heap-summary--hint", "heap-summary--freed"}

    DEFAULT_CSS = """
    HeapSummary {
        height: 1;
        &.-error { color: $error; }
        & > .heap-summary--hint { color: $text-muted; }
        & > .heap-summary--freed { color: $success; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = ""
        self.hint = ""
        self.freed = False

    def show(self, text: str, hint: str = "", error: bool = False, freed: bool = False
             ) -> None:
        self.text, self.hint, self.freed = text, hint, freed
        self.set_class(error, "-error")
        self.refresh()

    def render(self) -> RenderableType:
        width = self.size.width
        line = Text(self.text, no_wrap=True, overflow="ellipsis", style="bold")
        # The hint, or as much of it as fits: `Backspace back · g collect`, `Backspace back`.
        hint = self.hint
        while hint and len(self.text) + len(hint) + 2 > width:
            hint = hint.rpartition(" · ")[0]
        if hint:
            line.append(" " * (width - len(self.text) - len(hint)))
            line.append(hint, self.get_component_rich_style(
                "heap-summary--freed" if self.freed else "heap-summary--hint"))
        return line


class GenerationBars(Widget):
    """A bar per generation: live bytes, dead bytes (tombstones), and the rest of its
    capacity, with `used/capacity`; on a tall screen, a line of facts under each."""

    COMPONENT_CLASSES = {"heap--name", "heap--live", "heap--dead", "heap--free",
                         "heap--facts"}

    DEFAULT_CSS = """
    GenerationBars {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .heap--name { text-style: bold; }
        & > .heap--live { color: $success; }
        & > .heap--dead { color: $error; }
        & > .heap--free { color: $foreground 25%; }
        & > .heap--facts { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info: HeapInfo | None = None

    def show(self, info: HeapInfo | None) -> None:
        self.info = info
        self.relayout()

    def relayout(self) -> None:
        """Render again, and find the height again (facts or none, bars or none)."""
        self.clear_cached_dimensions()
        self.refresh(layout=True)

    @property
    def detailed(self) -> bool:
        """Facts under each bar: when the tab has room (HeapPane's `-roomy`)."""
        return self.parent is not None and self.parent.has_class("-roomy")

    def render(self) -> RenderableType:
        if self.info is None:
            return Text("")
        width = self.size.width
        style = self.get_component_rich_style
        gens = self.info.generations
        nums = [generation_numbers(g) for g in gens]
        right = max((len(n) for n in nums), default=0)
        lines = []
        for g, n in zip(gens, nums, strict=True):
            live, dead, free = bar_parts(g.live_bytes, g.used_bytes - g.live_bytes,
                                         g.capacity, max(1, width - NAME_WIDTH - 1 - right))
            line = Text(no_wrap=True, overflow="crop")
            line.append(f"{g.name:<{NAME_WIDTH}}", style("heap--name"))
            line.append("█" * live, style("heap--live"))
            line.append("▒" * dead, style("heap--dead"))
            line.append("░" * free, style("heap--free"))
            line.append(" " + n.rjust(right))
            lines.append(line)
            if self.detailed:
                lines.append(Text(" " * NAME_WIDTH + generation_facts(g),
                                  style("heap--facts"), no_wrap=True, overflow="ellipsis"))
        if self.detailed:
            legend = Text(" " * NAME_WIDTH, no_wrap=True, overflow="ellipsis")
            legend.append("█", style("heap--live"))
            legend.append(" live  ")
            legend.append("▒", style("heap--dead"))
            legend.append(" dead  ")
            legend.append("░", style("heap--free"))
            legend.append(" room (young: the nursery; old: the heap limit)")
            lines.append(legend)
        return Text("\n").join(lines)


class TypeTable(DataTable):
    """The live types, the most bytes first: type, objects, bytes (`jmap -histo`)."""

    DEFAULT_CSS = """
    TypeTable { background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.shown: tuple = ()
        self.info: HeapInfo | None = None

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        self.add_column("type", key="type")
        self.add_column(Text("objects", justify="right"), key="objects")
        self.add_column(Text("bytes", justify="right"), key="bytes")

    def show(self, info: HeapInfo | None) -> None:
        """The `top` types of `info`, then the total of every live object and how many
        types are not shown. A type's name is cut (with …) where the table would be wider
        than the pane, so that `objects` and `bytes` stay in view, titles and all."""
        types = info.types if info is not None else ()
        self.info = info
        key = (types, info.live_objects, info.live_bytes, info.other_types) if info else ()
        label = "total"
        if info is not None and info.other_types:
            label += f" ({plural(info.other_types, 'type')} not shown)"
        objects = [f"{t.objects:,}" for t in types]
        sizes = [f"{t.bytes:,}" for t in types]
        if info is not None:
            objects.append(f"{info.live_objects:,}")
            sizes.append(f"{info.live_bytes:,}")
        name_w = self._name_width([t.type_name for t in types] + [label], objects, sizes)
        if (key, name_w) == self.shown:
            return
        row = self.cursor_row
        self.shown = (key, name_w)
        # The columns too: a DataTable's column keeps the width of its widest cell ever.
        self.clear(columns=True)
        self._add_columns()
        for t, n, b in zip(types, objects, sizes, strict=False):
            self.add_row(short(t.type_name, name_w), Text(n, justify="right"),
                         Text(b, justify="right"))
        if info is not None:
            self.add_row(Text(short(label, name_w), style="bold"),
                         Text(objects[-1], justify="right", style="bold"),
                         Text(sizes[-1], justify="right", style="bold"))
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))

    def _name_width(self, names: list[str], objects: list[str], sizes: list[str]) -> int:
        want = max(len(n) for n in names)
        width = self.scrollable_content_region.width
        if width <= 0:
            return want
        numbers = max([len("objects")] + [len(n) for n in objects]) + \
            max([len("bytes")] + [len(n) for n in sizes])
        # Each column is padded by a cell on either side.
        return min(want, max(len("type"), width - numbers - 6))

    def on_resize(self, _) -> None:
        self.show(self.info)


class RegionList(Static):
    """The active `scoped` regions of the selected fiber, outermost first."""

    DEFAULT_CSS = """
    RegionList {
        height: auto; max-height: 4; background: $surface;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def show(self, title: str, regions: tuple[RegionView, ...]) -> None:
        lines = [Text(title, style="bold" if regions else "dim italic")]
        lines += [Text(region_text(r)) for r in regions]
        for line in lines:
            line.no_wrap, line.overflow = True, "ellipsis"
        self.update(Text("\n", no_wrap=True).join(lines))


class ObjectTree(VariableTree):
    """An object: its type and address, its state, where it lives, size and flags, its
    fields (expandable as in Variables), and why it is alive: the path from a root, each
    step of which opens with Enter (or a click)."""

    BINDINGS = [
        Binding("o", "open_object", "Open the field's object (or the step's)", show=False),
    ]

    shown_addr: int | None = None

    class OpenStep(Message):
        """A step of the path (a root, or an object on the way) is to be opened."""

        def __init__(self, step: PathStep) -> None:
            super().__init__()
            self.step = step

    def show_object(self, detail: ObjectDetail | None, generation: int,
                    empty: str = "No object open.") -> None:
        """Replace the tree with `detail`; the cursor stays where it was while the same
        object is shown, and starts at the top for another."""
        addr = detail.addr if detail is not None else None
        same = addr == self.shown_addr
        line = self.cursor_line if same else 0
        self.shown_addr = addr
        self._building = True
        try:
            self.generation = generation
            self._loading.clear()
            self._by_path.clear()
            self.clear()
            root = self.root
            root.data = None        # the paged object's value, below
            if detail is None:
                root.add_leaf(Text(empty, style="dim italic"))
            elif detail.view is None:
                root.add_leaf(Text(f"0x{detail.addr:x}", style="bold"))
                root.add_leaf(Text(detail.error, style="italic red"))
            else:
                view = detail.view
                root.add_leaf(Text(object_title(view), style="bold"))
                root.add_leaf(Text(object_facts(view),
                                   style="dim" if view.state == "live" else "red"))
                root.add_leaf(Text(flags_text(view), style="dim"))
                why = root.add(Text(path_title(detail.path, detail.path_error),
                                    style="bold"), expand=True,
                               allow_expand=bool(detail.path))
                for step in detail.path or ():
                    why.add_leaf(step_text(step), data=step)
                if not detail.fields and view.value is not None:
                    root.add_leaf(Text.assemble("= ", view.value.text))
                elif not detail.fields:
                    root.add_leaf(Text("no fields" if view.state == "live" else
                                       f"no fields: the object is {view.state}",
                                       style="dim italic"))
                # The fields come last, so that "more…" can add a vector's next page.
                for node in detail.fields:
                    self._add(root, node)
                paged = detail.fields_node
                if paged is not None:
                    root.data = paged
                    self._by_path[paged.path] = root
                    self.expanded.setdefault(paged.path, PAGE)
                    self._add_more(root, paged.path, len(detail.fields),
                                   detail.fields_total)
        finally:
            self._building = False
        self.cursor_line = min(line, max(0, self.last_line))
        if not same:
            self.scroll_home(animate=False, immediate=True)

    def action_open_object(self) -> None:
        node = self.cursor_node
        if node is not None and isinstance(node.data, PathStep):
            self.post_message(self.OpenStep(node.data))
            return
        super().action_open_object()

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if isinstance(event.node.data, PathStep):
            event.stop()
            self.post_message(self.OpenStep(event.node.data))
            return
        super().on_tree_node_selected(event)


class HeapPane(Vertical):
    """The summary line, the generations, the types and regions, the open object."""

    BINDINGS = [
        Binding("g", "collect", "Collect now (a full collection), then read the heap again",
                show=False),
        Binding("backspace", "back", "Back to the previous object, or to the types",
                show=False),
    ]

    DEFAULT_CSS = """
    HeapPane {
        & > #heap-overview { height: 1fr; }
        & #heap-types { height: 1fr; }
        & > #heap-object { display: none; height: 1fr; border-top: hkey $panel-lighten-2; }
        &.-object > #heap-object { display: block; }
        /* An open object takes the types' place, or shares the tab when it has room. */
        &.-object > #heap-overview { display: none; }
        &.-object.-roomy > #heap-overview { display: block; height: auto; max-height: 50%; }
        &.-object.-roomy #heap-types { height: auto; max-height: 12; }
        &.-roomy #heap-regions { max-height: 8; border-top: hkey $panel-lighten-2; }
    }
    """

    class Load(Message):
        """The tab wants `request` read (another object, or back to one)."""

        def __init__(self, request: HeapRequest) -> None:
            super().__init__()
            self.request = request

    class Collect(Message):
        """`g`: run a full collection and read the heap again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.request = HeapRequest()
        self.history: list[HeapRequest] = []
        self.view: HeapView | None = None
        self.generation = 0         # of the view shown (0: none, or stale)
        self.loading = False        # a Load is on its way

    def compose(self) -> ComposeResult:
        yield HeapSummary(id="heap-summary")
        yield GenerationBars(id="heap-gens")
        with Vertical(id="heap-overview"):
            yield TypeTable(id="heap-types")
            yield RegionList(id="heap-regions")
        yield ObjectTree("No object open.", id="heap-object")

    def on_resize(self, event) -> None:
        roomy = event.size.height >= ROOMY
        if roomy != self.has_class("-roomy"):
            self.set_class(roomy, "-roomy")
            # After this layout pass: a layout asked for during it is not done again.
            self.call_after_refresh(self.query_one(GenerationBars).relayout)

    @property
    def types(self) -> TypeTable:
        return self.query_one(TypeTable)

    @property
    def object_tree(self) -> ObjectTree:
        return self.query_one(ObjectTree)

    @property
    def focus_target(self) -> Widget:
        """What F3 and F8 focus: the open object, else the types."""
        return self.object_tree if self.request.addr is not None else self.types

    # -- content -------------------------------------------------------------------------

    def show(self, view: HeapView | None, generation: int, stopped: bool) -> None:
        """A snapshot's or a load's view; None when it read none (the tab was hidden, or
        the program is not stopped)."""
        if view is None or view.request == self.request:
            self.loading = False
        if view is None:
            if stopped:
                self.generation = 0     # stale: read again when the tab is shown
                return
            # The program ended: its objects are gone (another run has another heap).
            self.view = None
            self.generation = 0
            self.request = self.request.opened(None)
            self.history.clear()
            self.set_class(False, "-object")
            self.query_one(HeapSummary).show("The program is not running.")
            self.query_one(GenerationBars).show(None)
            self.types.show(None)
            self.query_one(RegionList).show("", ())
            self.object_tree.show_object(None, generation, "The program is not running.")
            return
        self.view = view
        self.generation = view.generation
        has_object = self.request.addr is not None
        self.set_class(has_object, "-object")
        hint = ("Backspace back · g collect" if has_object else "g collect now")
        if view.note:       # a core file: nothing to collect
            hint = "Backspace back" if has_object else ""
        summary = self.query_one(HeapSummary)
        if view.error:
            summary.show(view.error, error=True)
        elif view.info is not None:
            summary.show(summary_text(view.info), view.collected or hint,
                         freed=bool(view.collected))
        info = view.info
        self.query_one(GenerationBars).show(info)
        self.types.show(info)
        self.query_one(RegionList).show(view.note or (regions_title(view) if info is not None
                                                       else ""), view.regions)
        # A view read for another object (before Backspace, say) keeps its numbers only:
        # the object asked for is on its way.
        if view.request == self.request:
            self.object_tree.show_object(view.object, view.generation)

    def go(self, request: HeapRequest) -> None:
        """Show `request` (another object): remember where we were for Backspace."""
        if request == self.request:
            return
        self.history.append(self.request)
        self._load(request)

    def _load(self, request: HeapRequest) -> None:
        if request.addr != self.request.addr:
            self.object_tree.expanded.clear()     # they were another object's fields
        self.request = request
        self.loading = True
        self.set_class(request.addr is not None, "-object")
        self.post_message(self.Load(request))

    # -- keys ----------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.history:
            self._load(self.history.pop())
        elif self.request.addr is not None:
            self._load(self.request.opened(None))
        else:
            return
        self.call_after_refresh(lambda: self.focus_target.focus())

    def action_collect(self) -> None:
        self.post_message(self.Collect())

    def on_object_tree_open_step(self, event: ObjectTree.OpenStep) -> None:
        event.stop()
        self.go(self.request.opened(event.step.addr))
        self.object_tree.focus()
