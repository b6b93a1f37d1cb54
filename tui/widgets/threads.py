"""The Threads tab: every fiber (main, tasks, actors, threads) in a list, the selected one
below it.

`ThreadsPane` holds the filter box and count, the list (`FiberTable`,
tui/widgets/fiber_table.py) and `FiberDetailTree`, which shows the selected fiber: what
it waits on, an actor's queued messages and state, what it is. The pane turns the filter
box and the sort keys into the list's query.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static, Tree

from tui.fibers import (
    FiberDetail,
    FiberQuery,
    FiberRows,
    FiberView,
    FiberWindow,
    FilterError,
    facts_text,
    message_text,
    parse_filter,
    title_text,
    where_text,
)
from tui.widgets.fiber_table import FiberTable
from tui.widgets.variables import VariableTree


class FiberDetailTree(Tree):
    """The selected fiber: its state and what it waits on, where it is, an actor's queued
    messages and state (`self`, while it handles a message), what it is."""

    DEFAULT_CSS = """
    FiberDetailTree {
        background: $surface;
        padding: 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("fiber", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.detail: FiberDetail | None = None

    def show(self, detail: FiberDetail | None, empty: str = "No fiber selected.") -> None:
        self.detail = detail
        self.clear()
        if detail is None:
            self.root.add_leaf(Text(empty, style="dim italic"))
            return
        f = detail.info
        self.root.add_leaf(Text(title_text(f), style="bold"))
        if where := where_text(f):
            self.root.add_leaf(f"in {where}")
        if detail.error:
            self.root.add_leaf(Text(detail.error, style="italic red"))
        if f.kind == "actor":
            label = Text.assemble(("mailbox", "bold"),
                                  f": {detail.queued} queued" if detail.queued else ": empty")
            node = self.root.add(label, expand=True, allow_expand=bool(detail.queued))
            for m in detail.mailbox:
                node.add_leaf(message_text(m))
            if detail.queued > len(detail.mailbox):
                node.add_leaf(Text(f"… {detail.queued - len(detail.mailbox)} more",
                                   style="italic"))
        if detail.state is not None:
            node = self.root.add(VariableTree.label_of(detail.state), expand=True)
            for child in detail.state.children or ():
                node.add_leaf(VariableTree.label_of(child))
        self.root.add_leaf(Text(facts_text(f), style="dim"))


class ThreadsPane(Vertical):
    """The filter box and count, the list of fibers, the selected fiber."""

    DEFAULT_CSS = """
    ThreadsPane {
        & > #threads-bar { height: 1; }
        & #fiber-filter { border: none; height: 1; padding: 0 1; width: 1fr; }
        & #fiber-count { width: auto; height: 1; padding: 0 1 0 0; color: $text-muted; }
        & #fiber-count.-error { color: $error; }
    }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="threads-bar"):
            yield Input(placeholder="/ to filter: blocked, actor, Counter…", id="fiber-filter")
            yield Static("", id="fiber-count")
        yield FiberTable(id="fibers")
        yield FiberDetailTree(id="fiber-detail")

    @property
    def table(self) -> FiberTable:
        return self.query_one(FiberTable)

    @property
    def detail(self) -> FiberDetailTree:
        return self.query_one(FiberDetailTree)

    @property
    def window(self) -> FiberWindow:
        return self.table.window

    def show(self, view: FiberView | None, generation: int, stopped: bool) -> None:
        empty = "No fibers match." if stopped else "The program is not running."
        self.table.show(view, generation, empty)
        self.detail.show(view.detail if view else None,
                         "No fiber selected." if stopped else "The program is not running.")
        self._count()

    def add_rows(self, rows: FiberRows) -> None:
        self.table.add_rows(rows)
        self._count()

    def _count(self, error: str = "") -> None:
        label = self.query_one("#fiber-count", Static)
        label.set_class(bool(error), "-error")
        t = self.table
        if error:
            label.update(error)
            return
        if not t.generation:
            label.update("")
        elif t.query.filter.engine_args():
            label.update(f"{t.total} of {t.fiber_count}")
        else:
            label.update(f"{t.total} fiber{'s' if t.total != 1 else ''}")

    def _set_query(self, query: FiberQuery) -> None:
        table = self.table
        if query == table.query:
            return
        table.reset(query, table.generation)
        # From the table's own queue: a message made here would name this pane as its
        # sender and stop bubbling here.
        table.call_later(table.request_visible)
        self._count()

    def on_fiber_table_sort_requested(self, event: FiberTable.SortRequested) -> None:
        event.stop()
        self._set_query(self.table.query.sorted_by(event.key))

    def on_fiber_table_filter_requested(self, event: FiberTable.FilterRequested) -> None:
        event.stop()
        self.query_one("#fiber-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            f = parse_filter(event.value)
        except FilterError as e:
            self._count(str(e))
            return
        self._set_query(self.table.query.filtered(f))
        self._count()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
