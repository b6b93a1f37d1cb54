"""The smaller panes: call stack, breakpoints, watches and the status bar."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.model import BreakpointRow, Snapshot, Status, frame_text, location_text
from tui.widgets.variables import VariableTree
from vyndbg.model import Breakpoint, FrameInfo


class CallStack(OptionList):
    """The frames, innermost first, each with its tier; selecting one selects that frame."""

    BINDINGS = [
        Binding("enter", "select", "Select the frame", show=False),
    ]

    class FrameSelected(Message):
        def __init__(self, level: int) -> None:
            super().__init__()
            self.level = level

    def show(self, frames: tuple[FrameInfo, ...], selected: int, empty: str) -> None:
        options = []
        for frame in frames:
            # The tier keeps its column at the right; a long frame line is cut instead.
            row = Table.grid(expand=True, padding=(0, 1))
            row.add_column(width=1, no_wrap=True)
            row.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
            row.add_column(no_wrap=True, justify="right")
            row.add_row(Text("▶" if frame.level == selected else " ", style="bold"),
                        frame_text(frame), Text(frame.tier.value, style="dim"))
            options.append(Option(row, id=str(frame.level)))
        if not options:
            options.append(Option(Text(empty, style="dim italic"), id="none", disabled=True))
        highlighted = self.highlighted
        self.set_options(options)
        index = next((i for i, f in enumerate(frames) if f.level == selected), None)
        self.highlighted = index if index is not None else (
            highlighted if highlighted is not None and highlighted < len(frames) else None)

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

    def on_mount(self) -> None:
        self.add_column("#", key="num")
        self.add_column("", key="mark")
        self.add_column("where", key="what")
        self.add_column("hits", key="hits")
        self.add_column("if", key="cond")

    def show(self, bps: tuple[Breakpoint, ...]) -> None:
        if list(bps) == self.shown:
            return
        row = self.cursor_row
        self.shown = list(bps)
        self.clear()
        for bp in bps:
            r = BreakpointRow.of(bp)
            style = "" if r.enabled else "dim"
            self.add_row(Text(str(r.number), style=style),
                         Text(r.mark, style="bold red" if r.enabled else "dim"),
                         Text(r.what, style=style), Text(str(r.hits), style=style),
                         Text(r.condition, style=style), key=str(r.number))
        if self.shown:
            self.move_cursor(row=min(row, len(self.shown) - 1))

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

    DEFAULT_CSS = """
    WatchesPane {
        & > Input { border: none; height: 1; padding: 0 1; }
    }
    """

    class Changed(Message):
        """The list of watch expressions changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.watches: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="+ watch expression (enter adds)", id="watch-input")
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
        badge = status.reason.upper() if fatal else status.state.upper()
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(no_wrap=True, width=len(badge) + 2)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(Text(f" {badge} ", style="bold reverse"), status.headline, status.where)
        self.update(grid)


def where_text(snapshot: Snapshot) -> str:
    frame = snapshot.selected_frame
    return location_text(frame.location) if frame is not None else ""
