"""The Source pane: a file with line numbers, Vyn highlighting, breakpoint marks, the line
where the program stopped and a cursor line for F9.

A Line API widget (it renders only the rows on screen), so long files cost nothing extra.
The gutter is `MARK ARROW NUMBER`: the mark is ● ○ ◆ (tui.model), the arrow ▶ on the
innermost frame's line or ▷ on a calling frame's line.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.highlight import Kind, highlight

TAB = 4


class SourceView(ScrollView, can_focus=True):
    """The source of one file. Set `document(file, text)`, `markers`, `current_line`."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Cursor up", show=False),
        Binding("down", "cursor(1)", "Cursor down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(1)", "First line", show=False),
        Binding("end", "cursor_to(-1)", "Last line", show=False),
        Binding("left", "scroll_left", "Scroll left (a line wider than the pane)",
                show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("enter,space", "toggle", "Toggle breakpoint on the cursor line", show=False),
    ]

    COMPONENT_CLASSES = {
        "source--gutter", "source--current", "source--frame", "source--cursor",
        "source--mark", "source--arrow", *(f"source--{k.value}" for k in Kind),
    }

    DEFAULT_CSS = """
    SourceView {
        background: $surface;
        & > .source--gutter { color: $text-muted; }
        & > .source--mark { color: $error; text-style: bold; }
        & > .source--arrow { color: $warning; text-style: bold; }
        & > .source--current { background: $warning 25%; }
        & > .source--frame { background: $primary 25%; }
        & > .source--cursor { background: $foreground 8%; }
        & > .source--keyword { color: #c678dd; text-style: bold; }
        & > .source--constant { color: #d19a66; }
        & > .source--number { color: #d19a66; }
        & > .source--string { color: #98c379; }
        & > .source--comment { color: #7f848e; text-style: italic; }
        & > .source--type { color: #e5c07b; }
        & > .source--function { color: #61afef; }
        & > .source--attribute { color: #56b6c2; }
        & > .source--operator { color: #56b6c2; }
    }
    """

    class GutterClicked(Message):
        """The gutter of `line` was clicked (the app toggles a breakpoint there)."""

        def __init__(self, line: int) -> None:
            super().__init__()
            self.line = line

    class ToggleRequested(Message):
        """Enter or space on the cursor `line`."""

        def __init__(self, line: int) -> None:
            super().__init__()
            self.line = line

    current_line: reactive[int] = reactive(0)
    """The selected frame's line (0: none)."""
    top_frame: reactive[bool] = reactive(True)
    """The selected frame is the innermost one (▶ rather than ▷)."""
    cursor_line: reactive[int] = reactive(1)
    """The line F9 toggles a breakpoint on."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.file = ""
        self._lines: list[str] = []
        self._spans: list[list] = []
        self._markers: dict[int, str] = {}
        self._cache: dict[int, Strip] = {}
        self._height = 0            # rows on screen at the last resize

    # -- data ----------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def document(self, file: str, text: str) -> None:
        """Show `text` as the contents of `file` (a no-op if it already shows it)."""
        if file == self.file and self._lines:
            return
        self.file = file
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        self._lines = lines
        self._spans = highlight(text)
        self._cache.clear()
        self.border_title = file
        self._update_size()
        self.cursor_line = min(max(1, self.cursor_line), max(1, len(lines)))
        self.refresh()

    def set_markers(self, markers: dict[int, str]) -> None:
        if markers != self._markers:
            self._markers = dict(markers)
            self.refresh()

    def marker_at(self, line: int) -> str:
        return self._markers.get(line, "")

    def show_line(self, line: int, *, move_cursor: bool = True) -> None:
        """Bring `line` into view (centred when it was off screen)."""
        self._scroll_into_view(line, center=True)
        if move_cursor and line > 0:
            self.cursor_line = line

    @property
    def gutter_width(self) -> int:
        return 2 + len(str(max(1, len(self._lines)))) + 1

    def _update_size(self) -> None:
        width = max((len(line.expandtabs(TAB)) for line in self._lines), default=0)
        self.virtual_size = Size(self.gutter_width + width, len(self._lines))

    def _scroll_into_view(self, line: int, *, center: bool) -> None:
        if line <= 0:
            return
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        row = line - 1
        if top <= row < top + height:
            return
        target = row - height // 2 if center else (row if row < top else row - height + 1)
        self.scroll_to(y=max(0, target), animate=False, immediate=True)

    def _visible(self, line: int, height: int) -> bool:
        top = int(self.scroll_y)
        return line > 0 and top <= line - 1 < top + height

    def on_resize(self, _: Resize) -> None:
        """Keep the line where the program stopped in view (or the cursor line, when it
        was on screen and that one was not): a smaller pane would otherwise hide it."""
        old, self._height = self._height, self.scrollable_content_region.height
        line = self.current_line
        if self.cursor_line != line and self._visible(self.cursor_line, old) and not (
                line and self._visible(line, old)):
            line = self.cursor_line
        if line > 0:
            self._scroll_into_view(line, center=True)

    # -- reactives -----------------------------------------------------------------------

    def validate_cursor_line(self, line: int) -> int:
        return min(max(1, line), max(1, len(self._lines)))

    def watch_cursor_line(self, old: int, new: int) -> None:
        self._scroll_into_view(new, center=False)
        self.refresh()

    def watch_current_line(self) -> None:
        self.refresh()

    def watch_top_frame(self) -> None:
        self.refresh()

    # -- actions -------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self.cursor_line += delta

    def action_page(self, direction: int) -> None:
        self.cursor_line += direction * max(1, self.scrollable_content_region.height - 1)

    def action_cursor_to(self, line: int) -> None:
        self.cursor_line = line if line > 0 else len(self._lines)

    def action_toggle(self) -> None:
        self.post_message(self.ToggleRequested(self.cursor_line))

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        line = int(self.scroll_y) + offset.y + 1
        if not 1 <= line <= len(self._lines):
            return
        self.cursor_line = line
        if offset.x < self.gutter_width:
            self.post_message(self.GutterClicked(line))

    # -- rendering -----------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def _body(self, line: int) -> Strip:
        strip = self._cache.get(line)
        if strip is None:
            text = Text(self._lines[line - 1], no_wrap=True, end="")
            for span in self._spans[line - 1] if line - 1 < len(self._spans) else ():
                text.stylize(self.get_component_rich_style(f"source--{span.kind.value}"),
                             span.start, span.end)
            text.expand_tabs(TAB)
            strip = Strip(text.render(self.app.console), text.cell_len)
            self._cache[line] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        line = scroll_y + y + 1
        if line > len(self._lines):
            return Strip.blank(width, base)
        digits = self.gutter_width - 3
        row_style = Style()
        arrow = " "
        if line == self.current_line:
            row_style = self.get_component_rich_style(
                "source--current" if self.top_frame else "source--frame")
            arrow = "▶" if self.top_frame else "▷"
        elif line == self.cursor_line and self.has_focus:
            row_style = self.get_component_rich_style("source--cursor")
        gutter = self.get_component_rich_style("source--gutter")
        mark = self._markers.get(line, " ")
        segments = [
            Segment(mark, base + self.get_component_rich_style("source--mark") + row_style),
            Segment(arrow, base + self.get_component_rich_style("source--arrow") + row_style),
            Segment(f"{line:>{digits}} ", base + gutter + row_style),
        ]
        body_width = max(0, width - self.gutter_width)
        body = self._body(line).crop_extend(scroll_x, scroll_x + body_width, None)
        body = Strip(Segment.apply_style(body, base, row_style))
        return Strip(segments + list(body), width)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
