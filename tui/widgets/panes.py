"""The smaller panes: call stack, breakpoints, watches and the status bar."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.model import (
    BreakpointRow,
    Snapshot,
    Status,
    location_text,
    short,
    short_path,
    stack_text,
    tier_text,
)
from tui.widgets.variables import VariableTree
from vyndbg.model import Breakpoint, FrameInfo


class CallStack(OptionList):
    """The frames, innermost first: the function and where it is, then its arguments (cut
    where the pane ends) and its tier, abbreviated when the pane is narrow; selecting one
    selects that frame."""

    BINDINGS = [
        Binding("enter", "select", "Select the frame", show=False),
    ]

    class FrameSelected(Message):
        def __init__(self, level: int) -> None:
            super().__init__()
            self.level = level

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frames: tuple[FrameInfo, ...] = ()
        self.selected = 0
        self.empty = ""
        self._shape: tuple[bool, list[str]] = (False, [])   # as shown (see _fit)

    def _fit(self) -> tuple[bool, list[str]]:
        """Whether the files go without their directories (when a frame's function and
        location would not fit otherwise), and each frame's tier: its full name when
        every frame's line fits with it, else abbreviated (`bc`)."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return False, [f.tier.value for f in self.frames]
        heads = max((len(stack_text(f, args=False)) for f in self.frames), default=0)
        basename = 2 + heads + 3 > width
        longest = max((len(stack_text(f, basename=basename)) for f in self.frames),
                      default=0)
        room = max(3, width - 2 - longest - 1)
        return basename, [tier_text(f, room) for f in self.frames]

    def show(self, frames: tuple[FrameInfo, ...], selected: int, empty: str) -> None:
        self.frames, self.selected, self.empty = frames, selected, empty
        self._shape = self._fit()
        basename, tiers = self._shape
        options = []
        for frame, tier in zip(frames, tiers, strict=True):
            row = Table.grid(expand=True, padding=(0, 1))
            row.add_column(width=1, no_wrap=True)
            row.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
            row.add_column(no_wrap=True, justify="right")
            row.add_row(Text("▶" if frame.level == selected else " ", style="bold"),
                        stack_text(frame, basename=basename), Text(tier, style="dim"))
            options.append(Option(row, id=str(frame.level)))
        if not options:
            options.append(Option(Text(empty, style="dim italic"), id="none", disabled=True))
        highlighted = self.highlighted
        self.set_options(options)
        index = next((i for i, f in enumerate(frames) if f.level == selected), None)
        self.highlighted = index if index is not None else (
            highlighted if highlighted is not None and highlighted < len(frames) else None)

    def on_resize(self, _: Resize) -> None:
        if self.frames and self._fit() != self._shape:
            self.show(self.frames, self.selected, self.empty)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and event.option.id.isdigit():
            self.post_message(self.FrameSelected(int(event.option.id)))


class BreakpointTable(DataTable):
    """Breakpoints with their hit counts: toggle, delete, edit the condition, show."""

    BINDINGS = [
        Binding("space,e", "toggle", "Enable / disable the breakpoint", show=False),
        Binding("delete,d,backspace", "delete", "Delete the breakpoint", show=False),
        Binding("c", "condition", "Edit the breakpoint's condition", show=False),
        Binding("enter", "show", "Show the breakpoint's line in Source", show=False),
    ]

    class Toggle(Message):
        def __init__(self, number: int, enabled: bool) -> None:
            super().__init__()
            self.number = number
            self.enabled = enabled

    class Delete(Message):
        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    class EditCondition(Message):
        def __init__(self, number: int, condition: str) -> None:
            super().__init__()
            self.number = number
            self.condition = condition

    class Show(Message):
        def __init__(self, breakpoint: Breakpoint) -> None:
            super().__init__()
            self.breakpoint = breakpoint

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.shown: list[Breakpoint] = []
        self._shown_widths: tuple[int, int] = (0, 0)

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        self.add_column("#", key="num")
        self.add_column("", key="mark")
        self.add_column("where", key="what")
        self.add_column("hits", key="hits")
        self.add_column("if", key="cond")

    def _widths(self, rows: list[BreakpointRow]) -> tuple[int, int]:
        """Widths for `where` and `if` such that the row fits in the pane, headers and
        all: `hits` and `if` keep their titles whole; `where` (its directories first) and
        then the condition are cut (with …) instead."""
        what = max((len(r.what) for r in rows), default=0)
        cond = max((len(r.condition) for r in rows), default=0)
        width = self.scrollable_content_region.width
        if width <= 0:
            return what, cond
        num = max((len(str(r.number)) for r in rows), default=1)
        hits = max([len("hits")] + [len(str(r.hits)) for r in rows])
        # Each column is padded by a cell on either side.
        room = width - (num + 2) - (1 + 2) - (hits + 2) - 2 - 2
        if what + max(cond, 2) <= room:
            return what, cond
        what = max(5, min(what, room - 2))      # where first: the condition has `c`
        return what, max(2, min(cond, room - what))

    def show(self, bps: tuple[Breakpoint, ...], *, force: bool = False) -> None:
        rows = [BreakpointRow.of(bp) for bp in bps]
        widths = self._widths(rows)
        if list(bps) == self.shown and widths == self._shown_widths and not force:
            return
        row = self.cursor_row
        self.shown = list(bps)
        self._shown_widths = widths
        what_w, cond_w = widths
        # The columns too: a DataTable's column keeps the width of its widest cell ever.
        self.clear(columns=True)
        self._add_columns()
        for r in rows:
            style = "" if r.enabled else "dim"
            self.add_row(Text(str(r.number), style=style),
                         Text(r.mark, style="bold red" if r.enabled else "dim"),
                         Text(short_path(r.what, what_w), style=style),
                         Text(str(r.hits), style=style),
                         Text(short(r.condition, cond_w), style=style), key=str(r.number))
        if self.shown:
            self.move_cursor(row=min(row, len(self.shown) - 1))

    def on_resize(self, _: Resize) -> None:
        self.show(tuple(self.shown))

    @property
    def current(self) -> Breakpoint | None:
        if not self.shown or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    def action_toggle(self) -> None:
        if (bp := self.current) is not None:
            self.post_message(self.Toggle(bp.number, not bp.enabled))

    def action_delete(self) -> None:
        if (bp := self.current) is not None:
            self.post_message(self.Delete(bp.number))

    def action_condition(self) -> None:
        if (bp := self.current) is not None and bp.kind == "breakpoint":
            self.post_message(self.EditCondition(bp.number, bp.condition or ""))

    def action_show(self) -> None:
        if (bp := self.current) is not None and bp.location is not None:
            self.post_message(self.Show(bp))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show()


class WatchesPane(Vertical):
    """Expressions evaluated in the selected frame at every stop."""

    BINDINGS = [
        Binding("delete,d", "remove", "Remove the watch expression", show=False),
    ]

    # A one-line input (`compact`): with a border in one row it would show only its
    # border. The padding is by id, so that it wins over `Input:focus`.
    DEFAULT_CSS = """
    WatchesPane {
        & > #watch-input { height: 1; padding: 0 1; }
    }
    """

    class Changed(Message):
        """The list of watch expressions changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.watches: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="+ watch expression (Enter adds)", id="watch-input",
                    compact=True)
        yield VariableTree("No watch expressions.", id="watch-tree")

    @property
    def results(self) -> VariableTree:
        return self.query_one(VariableTree)

    def add(self, expr: str) -> None:
        expr = expr.strip()
        if expr and expr not in self.watches:
            self.watches.append(expr)
            self.post_message(self.Changed())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.input.value = ""
        self.add(event.value)

    def action_remove(self) -> None:
        node = self.results.cursor_node
        if node is None or node.data is None or not self.results.has_focus:
            return
        path = getattr(node.data, "path", ())
        if len(path) == 2 and path[1] in self.watches:
            self.watches.remove(path[1])
            self.post_message(self.Changed())


class StatusBar(Static):
    """running / stopped (reason) / exited (code), and where."""

    status: Status = Status("idle")

    def show(self, status: Status) -> None:
        self.status = status
        # A panic and a deadlock end the program: the bar says so in red.
        fatal = status.state == "stopped" and status.reason in ("panic", "deadlock")
        for state in ("idle", "running", "stopped", "exited"):
            self.set_class(state == status.state and not fatal, f"-{state}")
        self.set_class(fatal, "-panic")
        # The location stays in view on a narrow screen; a long panic message is cut.
        badge = "CORE" if status.core else status.reason.upper() if fatal \
            else status.state.upper()
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(no_wrap=True, width=len(badge) + 2)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(Text(f" {badge} ", style="bold reverse"), status.headline, status.where)
        self.update(grid)


def where_text(snapshot: Snapshot) -> str:
    frame = snapshot.selected_frame
    return location_text(frame.location) if frame is not None else ""
