"""The Disassembly tab (`vyn debug --jit=auto|eager`): the selected frame's function as
machine code, or bytecode, with its Vyn source lines interleaved, the current instruction
marked and kept in view; the registers beside it (below it on a narrow screen).

`DisasmPane` shows a `DisasmView` (tui/disasm.py, where every row is laid out); the
listing is a Line API widget, so a long function costs only the rows on screen. Keys
become requests the app runs on the engine thread: `s` / `n` step one instruction
(`stepi`, `nexti`); `c` scrolls back to the current instruction.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from tui.disasm import DisasmView, RegisterRow, register_grid, with_marks

BESIDE = 50             # from this pane width the registers stand beside the listing
REGISTERS_WIDTH = 22    # their column then (a border and `rdi    0x7f055de47000`)


class AsmListing(ScrollView, can_focus=True):
    """The rows of a DisasmView: source lines, then their instructions."""

    BINDINGS = [
        Binding("s", "step('stepi')", "Step one instruction (stepi)", show=False),
        Binding("n", "step('nexti')", "Next instruction, over calls (nexti)", show=False),
        Binding("c", "show_current", "Back to the current instruction",
                show=False),
    ]

    COMPONENT_CLASSES = {"asm--source", "asm--current", "asm--frame", "asm--mark",
                         "asm--arrow", "asm--stmt", "asm--source-current"}

    DEFAULT_CSS = """
    AsmListing {
        background: $surface;
        height: 1fr;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
        & > .asm--source { color: $text-muted; text-style: italic; }
        & > .asm--source-current { color: $text; text-style: bold italic; }
        & > .asm--mark { color: $error; text-style: bold; }
        & > .asm--arrow { color: $warning; text-style: bold; }
        & > .asm--current { background: $warning 25%; }
        & > .asm--frame { background: $primary 25%; }
        & > .asm--stmt { text-style: bold; }
    }
    """

    class Step(Message):
        """`s` or `n`: one machine (or bytecode) instruction."""

        def __init__(self, how: str) -> None:
            super().__init__()
            self.how = how

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: DisasmView | None = None

    def show(self, view: DisasmView, follow: bool) -> None:
        """Show `view`; `follow`: bring its current instruction into view (centred when it
        was off screen), as after a stop or another frame."""
        same = self.view is not None and self.view.key == view.key
        self.view = view
        width = max((len(with_marks(line, view.arrow)) for line in view.lines), default=0)
        self.virtual_size = Size(width, len(view.lines))
        if not same:
            self.scroll_to(0, 0, animate=False, immediate=True)
        if follow or not same:
            self.call_after_refresh(self.action_show_current)
        self.refresh()

    def action_show_current(self) -> None:
        """Scroll the current instruction into view, centred when it was off screen."""
        view = self.view
        if view is None or view.current is None:
            return
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if top <= view.current < top + height:
            return
        self.scroll_to(y=max(0, view.current - height // 3), animate=False, immediate=True)

    def action_step(self, how: str) -> None:
        self.post_message(self.Step(how))

    def on_resize(self, _: Resize) -> None:
        self.action_show_current()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        view = self.view
        index = scroll_y + y
        if view is None or index >= len(view.lines):
            return Strip.blank(width, base)
        line = view.lines[index]
        if line.kind == "source":
            style = "asm--source-current" if line.current else "asm--source"
            text = Text(line.text, style=self.get_component_rich_style(style), end="")
            strip = Strip(text.render(self.app.console), text.cell_len)
            return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
        row = Style()
        if line.current:
            row = self.get_component_rich_style("asm--current" if view.top else "asm--frame")
        body = Style(bold=True) if line.stmt else Style()
        text = Text(end="")
        text.append("●" if line.breakpoint else " ", self.get_component_rich_style("asm--mark"))
        text.append(view.arrow if line.current else " ",
                    self.get_component_rich_style("asm--arrow"))
        text.append(" " + line.text, body)
        segments = list(text.render(self.app.console))
        strip = Strip(segments, text.cell_len).crop_extend(scroll_x, scroll_x + width, None)
        return Strip(Segment.apply_style(strip, base, row), width)


class RegisterList(ScrollView):
    """The selected native frame's registers in hex, the ones changed since the last stop
    highlighted; as many columns as the width holds (a short list scrolls to the first
    changed one)."""

    DEFAULT_CSS = """
    RegisterList {
        background: $surface;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
        border-title-color: $text-muted;
        border-title-align: left;
        & > .registers--changed { color: $warning; text-style: bold; }
        & > .registers--note { color: $text-muted; text-style: italic; }
    }
    """

    COMPONENT_CLASSES = {"registers--changed", "registers--note"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: tuple[RegisterRow, ...] = ()
        self.note = ""
        self._grid: list[list[tuple[str, bool]]] = []
        self._width = -1

    def show(self, rows: tuple[RegisterRow, ...], note: str) -> None:
        self.rows, self.note = rows, note
        self._width = -1
        self._layout()
        self.call_after_refresh(self._show_changed)

    def _layout(self) -> None:
        width = max(1, self.scrollable_content_region.width)
        if width == self._width:
            return
        self._width = width
        _, self._grid, prefixed = register_grid(self.rows, width)
        self.border_title = "registers" if prefixed else "registers (hex)"
        self.virtual_size = Size(width, max(1, len(self._grid)))
        self.refresh(layout=True)

    def grid(self) -> list[list[tuple[str, bool]]]:
        self._layout()
        return self._grid

    def _show_changed(self) -> None:
        row = next((i for i, cells in enumerate(self.grid())
                    if any(hot for _, hot in cells)), None)
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if row is not None and not top <= row < top + height:
            self.scroll_to(y=row, animate=False, immediate=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        if not self.rows:
            return 1
        return len(register_grid(self.rows, max(1, width))[1])

    def on_resize(self, _: Resize) -> None:
        self._layout()
        self._show_changed()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = int(self.scroll_y) + y
        if not self.rows:
            if index:
                return Strip.blank(width, base)
            text = Text(self.note, style=self.get_component_rich_style("registers--note"),
                        end="")
        else:
            grid = self.grid()
            if index >= len(grid):
                return Strip.blank(width, base)
            changed = self.get_component_rich_style("registers--changed")
            text = Text(end="")
            for j, (cell, hot) in enumerate(grid[index]):
                if j:
                    text.append(" ")
                text.append(cell, changed if hot else None)
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(0, width, base).apply_style(base)


class DisasmPane(Widget):
    """A title line (the function, its tier and size), then the listing and the
    registers: beside it from BESIDE columns, below it in a narrower pane."""

    DEFAULT_CSS = f"""
    DisasmPane {{
        height: 1fr;
        & > #asm-title {{ height: 1; text-style: bold; }}
        & > #asm-title.-error {{ color: $text-muted; text-style: italic; }}
        & > #asm-body {{ height: 1fr; }}
        & #registers {{
            width: {REGISTERS_WIDTH};
            height: 1fr;
            border-left: vkey $panel-lighten-2;
        }}
        &.-stacked > #asm-body {{ layout: vertical; }}
        &.-stacked #registers {{
            width: 1fr;
            height: auto;
            max-height: 40%;
            border-left: none;
            border-top: hkey $panel-lighten-2;
        }}
    }}
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: DisasmView | None = None
        self.generation = -1

    def compose(self) -> ComposeResult:
        yield Static("The program is not running.", id="asm-title", classes="-error")
        with Horizontal(id="asm-body"):
            yield AsmListing(id="asm")
            yield RegisterList(id="registers")

    @property
    def listing(self) -> AsmListing:
        return self.query_one(AsmListing)

    @property
    def registers(self) -> RegisterList:
        return self.query_one(RegisterList)

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < BESIDE, "-stacked")

    def show(self, view: DisasmView | None, generation: int, stopped: bool,
             follow: bool = True) -> None:
        """Show `view` (None: the tab is hidden, or the program is not stopped)."""
        title = self.query_one("#asm-title", Static)
        if view is None:
            if not stopped:
                title.update("The program is not running.")
                title.add_class("-error")
                self.view = None
                self.listing.show(DisasmView(generation), False)
                self.registers.show((), "")
            return
        self.view, self.generation = view, view.generation
        title.set_class(bool(view.error), "-error")
        title.update(Text(view.error or view.title, no_wrap=True, overflow="ellipsis"))
        self.listing.show(view, follow)
        self.registers.show(view.registers, view.registers_note if not view.error else "")
