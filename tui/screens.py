"""Modal screens: the help screen (every binding) and the breakpoint condition editor."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

MOUSE_HELP = (
    ("click a line number", "toggle a breakpoint on that line"),
    ("click a source line", "put the cursor there (F9 toggles its breakpoint)"),
    ("click a frame", "select it: Source and Variables follow"),
    ("click ▶ in Variables", "expand a value (fields, payload, elements)"),
    ("click more…", "load the next 100 elements"),
    ("click a tab", "switch between Variables, Breakpoints, Watches, Threads and Heap"),
    ("click a fiber", "select it (Threads): Call stack, Source and Variables follow"),
    ("click a column's title", "sort the fibers by it (again: the other way)"),
    ("click a path step", "open its object (Heap: a step of why alive)"),
    ("wheel", "scroll the pane under the pointer"),
)


def key_text(keys: str) -> str:
    """`shift+f11,ctrl+q` -> `shift+F11 / ctrl+q`."""
    out = []
    for key in keys.split(","):
        parts = key.strip().split("+")
        parts[-1] = {"question_mark": "?", "colon": ":", "slash": "/", "escape": "Esc",
                     "pageup": "PgUp", "pagedown": "PgDn"}.get(parts[-1], parts[-1])
        if len(parts[-1]) > 1 and parts[-1][0] == "f" and parts[-1][1:].isdigit():
            parts[-1] = parts[-1].upper()
        out.append("+".join(parts))
    return " / ".join(out)


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding) and b.description:
            rows.append((key_text(b.key), b.tooltip or b.description))
    return rows


class HelpScreen(ModalScreen[None]):
    """Every key binding, pane by pane, and what the mouse does."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close the help")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for title, rows in [*self.sections, ("Mouse", list(MOUSE_HELP))]:
            table.add_row(Text(title, style="bold underline"), "")
            for keys, what in rows:
                table.add_row(keys, what)
            table.add_row("", "")
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys (Esc closes)"
            yield Static(table, id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class ConditionScreen(ModalScreen[str | None]):
    """Edit a breakpoint's condition; an empty one removes it. Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ConditionScreen { align: center middle; }
    ConditionScreen > Vertical {
        width: 60; height: auto; border: round $primary; background: $surface;
        padding: 0 1;
    }
    ConditionScreen Input { margin: 1 0 0 0; }
    """

    def __init__(self, number: int, condition: str) -> None:
        super().__init__()
        self.number = number
        self.condition = condition

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Condition of breakpoint {self.number}"
            yield Label("Stop only when this is true (empty: always). Enter saves, Esc "
                        "cancels.")
            yield Input(self.condition, placeholder="e.g. n == 3", id="condition")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
