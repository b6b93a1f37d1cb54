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
    ("click a tab", "switch between Variables, Breakpoints, Watches, Threads, Heap and "
                    "Disassembly (with --jit)"),
    ("click a fiber", "select it (Threads): Call stack, Source and Variables follow"),
    ("click a column's title", "sort the fibers by it (again: the other way)"),
    ("click a path step", "open its object (Heap: a step of why alive)"),
    ("wheel", "scroll the pane under the pointer"),
)


# How a key is named everywhere (help, footer, status bar, docs/tui.md): modifiers and
# named keys capitalised (`Shift+F11`, `Ctrl+C`, `Enter`, `PgUp`), a printable key as it is
# typed (`m`, `?`, `/`).
KEY_NAMES = {"question_mark": "?", "colon": ":", "slash": "/", "escape": "Esc",
             "pageup": "PgUp", "pagedown": "PgDn", "backspace": "Backspace",
             "delete": "Delete", "enter": "Enter", "space": "Space", "tab": "Tab",
             "up": "Up", "down": "Down", "left": "Left", "right": "Right", "home": "Home",
             "end": "End", "ctrl": "Ctrl", "shift": "Shift", "alt": "Alt"}


def key_name(key: str) -> str:
    """`shift+f11` -> `Shift+F11`, `ctrl+c` -> `Ctrl+C`, `pageup` -> `PgUp`, `m` -> `m`."""
    parts = key.strip().split("+")
    out = []
    for i, part in enumerate(parts):
        name = KEY_NAMES.get(part)
        if name is None and len(part) > 1 and part[0] == "f" and part[1:].isdigit():
            name = part.upper()
        if name is None:
            # A letter after a modifier is the key's name (Ctrl+C); alone, what is typed.
            name = part.upper() if i > 0 and len(part) == 1 else part
        out.append(name)
    return "+".join(out)


def key_text(keys: str) -> str:
    """`shift+f11,ctrl+q` -> `Shift+F11 / Ctrl+Q`."""
    return " / ".join(key_name(k) for k in keys.split(","))


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
