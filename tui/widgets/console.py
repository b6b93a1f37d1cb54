"""The Console pane: program output and debugger replies above a gdb command line.

`ConsoleLog` keeps the text (partial lines are continued by the next write, as a terminal
would); `CommandInput` is the `(vyn)` line with history and tab completion; `Console`
holds both and posts `Console.Command` when a line is entered.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from rich.cells import cell_len
from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Label

from tui.console_input import Completion, History

MAX_LINES = 5000
KINDS = ("stdout", "stderr", "dprintf", "debugger", "error", "echo")


class ConsoleLog(ScrollView, can_focus=True):
    """Lines of console text, each in the style of its kind (stdout, stderr, ...). A line
    longer than the pane wraps onto the next rows, as in a terminal, so a long value that
    `print` shows is read whole; the rows are worked out again when the pane is resized."""

    COMPONENT_CLASSES = {f"console--{k}" for k in KINDS}

    DEFAULT_CSS = """
    ConsoleLog {
        background: $surface;
        & > .console--stdout { color: $foreground; }
        & > .console--stderr { color: $error; }
        & > .console--dprintf { color: $accent; }
        & > .console--debugger { color: $text-muted; }
        & > .console--error { color: $error; text-style: bold; }
        & > .console--echo { color: $primary; text-style: bold; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[list[tuple[str, str]]] = []   # per line: (kind, text) pieces
        self._cells: list[int] = []     # per line: its width in cells
        self._starts: list[int] = [0]   # per line: its first row (and the rows in all)
        self._wrap = 0                  # the width the rows were worked out for
        self._open = False          # the last line has no newline yet
        self.following = True       # new text scrolls into view (until the user scrolls up)
        self._writing = False

    @property
    def text(self) -> str:
        """All the text, as written (for tests and copying)."""
        return "\n".join("".join(t for _, t in line) for line in self.lines)

    @property
    def rows(self) -> int:
        """Rows of the pane the text takes, wrapped."""
        return self._starts[-1]

    def write(self, kind: str, text: str) -> None:
        """Append `text` of `kind`, continuing an unfinished last line."""
        if not text:
            return
        changed = len(self.lines) - 1 if self._open else len(self.lines)
        for i, part in enumerate(text.replace("\r\n", "\n").split("\n")):
            if i > 0:  # a newline ended the line before this part
                if not self._open:
                    self.lines.append([])  # an empty line
                self._open = False
            if part:
                if not self._open:
                    self.lines.append([])
                    self._open = True
                self.lines[-1].append((kind, part.expandtabs(8)))
        if len(self.lines) > MAX_LINES:
            del self.lines[:len(self.lines) - MAX_LINES]
            changed = 0
        self._rewrap(changed)
        if self.following:
            self.scroll_end_now()
        self.refresh()

    def _rewrap(self, start: int = 0) -> None:
        """Work out the rows of lines[start:] for the pane's width."""
        width = self.scrollable_content_region.width
        self._wrap = width
        del self._cells[start:]
        del self._starts[start + 1:]
        for line in self.lines[start:]:
            cells = sum(cell_len(t) for _, t in line)
            self._cells.append(cells)
            rows = max(1, -(-cells // width)) if width > 0 else 1
            self._starts.append(self._starts[-1] + rows)
        self.virtual_size = Size(max(0, width), self.rows)

    def scroll_end_now(self) -> None:
        """Show the newest text (the last rows)."""
        self._writing = True
        try:
            self.scroll_to(y=max(0, self.rows - self.scrollable_content_region.height),
                           animate=False, immediate=True, force=True)
        finally:
            self._writing = False

    def on_resize(self, _: Resize) -> None:
        if self.scrollable_content_region.width != self._wrap:
            # Keep the line at the top of the pane there (or the newest in view).
            top = self._line_at(int(self.scroll_y))
            self._rewrap()
            if not self.following and top is not None:
                self._writing = True
                try:
                    self.scroll_to(y=self._starts[top], animate=False, immediate=True)
                finally:
                    self._writing = False
        if self.following:
            self.scroll_end_now()
        self.refresh()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if not self._writing:
            self.following = new >= self.max_scroll_y

    def clear(self) -> None:
        self.lines.clear()
        self._open = False
        self._rewrap()
        self.refresh()

    def _line_at(self, row: int) -> int | None:
        """The line shown on `row` (of all the rows)."""
        if not 0 <= row < self.rows:
            return None
        return bisect_right(self._starts, row) - 1

    def render_line(self, y: int) -> Strip:
        scroll_y = self.scroll_offset.y
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = scroll_y + y
        index = self._line_at(row)
        if index is None:
            return Strip.blank(width, base)
        segments = [Segment(text, base + self.get_component_rich_style(f"console--{kind}"))
                    for kind, text in self.lines[index]]
        start = (row - self._starts[index]) * width
        return Strip(segments).crop_extend(start, start + width, base)


class CommandInput(Input):
    """The command line: up/down browse the history, tab completes."""

    BINDINGS = [
        Binding("up", "history(-1)", "Older command", show=False),
        Binding("down", "history(1)", "Newer command", show=False),
        Binding("tab", "complete", "Complete the command", show=False),
    ]

    class Candidates(Message):
        """Several completions fit; the console lists them."""

        def __init__(self, candidates: tuple[str, ...]) -> None:
            super().__init__()
            self.candidates = candidates

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="gdb command (help, break, print …)", id=id,
                         select_on_focus=False)
        self.history = History()
        self.completer: Callable[[str], Completion] | None = None

    def _set(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def action_history(self, direction: int) -> None:
        line = self.history.older(self.value) if direction < 0 else self.history.newer()
        if line is not None:
            self._set(line)

    def action_complete(self) -> None:
        if self.completer is None:
            return
        done = self.completer(self.value)
        self._set(done.line)
        if done.candidates:
            self.post_message(self.Candidates(done.candidates))


class Console(Vertical):
    """Output above, `(vyn)` command line below."""

    DEFAULT_CSS = """
    Console {
        & > ConsoleLog { height: 1fr; }
        & > Horizontal { height: 1; }
        & Label#prompt { width: auto; color: $primary; text-style: bold; }
    }
    """

    class Command(Message):
        """A command line was entered."""

        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    def compose(self) -> ComposeResult:
        yield ConsoleLog(id="console-log")
        with Horizontal():
            yield Label("(vyn) ", id="prompt")
            yield CommandInput(id="command")

    @property
    def log_view(self) -> ConsoleLog:
        return self.query_one(ConsoleLog)

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    def write(self, kind: str, text: str) -> None:
        self.log_view.write(kind, text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value
        self.input.history.add(line)
        self.input.value = ""
        self.post_message(self.Command(line))

    def on_command_input_candidates(self, event: CommandInput.Candidates) -> None:
        event.stop()
        self.write("debugger", "  ".join(event.candidates) + "\n")

