"""The Threads tab's list of fibers: a Line API widget over a list it never holds whole.

`FiberTable` knows how many rows its query has and keeps the rows it was sent, asking for
missing ones a block at a time (`LoadRows`) as it scrolls, so 10,000 fibers cost only
the rows on screen. Its first line is the column header (click a column to sort by it).
"""

from __future__ import annotations

from dataclasses import dataclass

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

from tui.fibers import (
    FiberQuery,
    FiberRows,
    FiberView,
    FiberWindow,
    mailbox_text,
    state_text,
    where_text,
)
from vyndbg.model import FiberInfo

BLOCK = 50              # rows asked for at a time


@dataclass(frozen=True)
class Column:
    """A column of the list: its key, header, minimum width, share of spare width, and
    the sort it stands for (clicking its header)."""

    key: str
    title: str
    width: int
    grow: int = 0
    right: bool = False
    sort: str | None = None


COLUMNS = (
    Column("id", "#", 2, right=True, sort="id"),
    Column("name", "name", 13, grow=2),
    Column("mailbox", "mq", 4, right=True, sort="mailbox"),
    Column("state", "state", 8, grow=3, sort="state"),
    Column("where", "where", 12, grow=1),
)
MARK = 1                # the ▶ column before the others


def cell_text(f: FiberInfo, key: str) -> str:
    if key == "id":
        return str(f.id)
    if key == "name":
        return f.name
    if key == "mailbox":
        return mailbox_text(f)
    if key == "state":
        return state_text(f)
    return where_text(f)


class FiberTable(ScrollView, can_focus=True):
    """The fibers of a query, one per line under a header; Enter or a click selects one."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Cursor up", show=False),
        Binding("down", "cursor(1)", "Cursor down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First fiber", show=False),
        Binding("end", "cursor_to(-1)", "Last fiber", show=False),
        Binding("left", "scroll_left", "Scroll left, a column at a time", show=False),
        Binding("right", "scroll_right", "Scroll right, a column at a time", show=False),
        Binding("enter", "select", "Select the fiber: Call stack and Variables follow it",
                show=False),
        Binding("m", "sort('mailbox')", "Sort by mailbox depth (again: reverse)", show=False),
        Binding("i", "sort('id')", "Sort by id (again: reverse)", show=False),
        Binding("s", "sort('state')", "Sort by state (again: reverse)", show=False),
        Binding("slash", "filter", "Type a filter (blocked, actor, Counter, ...)", show=False),
    ]

    COMPONENT_CLASSES = {"fibers--header", "fibers--cursor", "fibers--selected",
                         "fibers--blocked", "fibers--running", "fibers--finished",
                         "fibers--dim"}

    DEFAULT_CSS = """
    FiberTable {
        background: $surface;
        & > .fibers--header { text-style: bold; color: $text-muted; }
        & > .fibers--cursor { background: $foreground 12%; }
        & > .fibers--selected { text-style: bold; }
        & > .fibers--blocked { color: $warning; }
        & > .fibers--running { color: $success; }
        & > .fibers--finished { color: $text-disabled; }
        & > .fibers--dim { color: $text-muted; text-style: italic; }
    }
    """

    class LoadRows(Message):
        """Rows [start, start+count) of `query` are wanted (for `generation`)."""

        def __init__(self, query: FiberQuery, start: int, count: int, generation: int
                     ) -> None:
            super().__init__()
            self.query = query
            self.start = start
            self.count = count
            self.generation = generation

    class FiberSelected(Message):
        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    class SortRequested(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class FilterRequested(Message):
        """`/` in the list: the filter box wants the focus."""

    cursor: reactive[int] = reactive(0)
    """The row Enter selects (an index into the query's list)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.query = FiberQuery()
        self.generation = 0
        self.total = 0
        self.fiber_count = 0
        self.selected = 0           # the selected fiber's id
        self.rows: dict[int, FiberInfo] = {}
        self.known = False          # `total` is of this query and generation
        self.empty = "The program is not running."
        self._loading: set[int] = set()    # blocks asked for and not yet arrived
        self._widths: tuple[int, ...] = ()

    # -- data ----------------------------------------------------------------------------

    def reset(self, query: FiberQuery, generation: int) -> None:
        """Forget the rows: they are of another query or generation."""
        new = query != self.query
        self.query = query
        self.generation = generation
        self.rows.clear()
        self.known = False
        self._loading.clear()
        if new:
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def show(self, view: FiberView | None, generation: int, empty: str) -> None:
        """A new snapshot: its rows (if it read any), the selected fiber. The rows it did
        not read wait for `request_visible` (the app calls it while the tab is shown)."""
        self.empty = empty
        self.selected = view.detail.info.id if view and view.detail else 0
        self.fiber_count = view.count if view else 0
        self.reset(self.query, generation if view is not None else 0)
        if view is None:
            self.total = 0
        rows = view.rows if view else None
        if rows is not None and rows.query == self.query:
            self._take(rows)
        self._layout()

    def add_rows(self, rows: FiberRows) -> None:
        """Rows asked for with LoadRows arrived."""
        if rows.generation != self.generation or rows.query != self.query:
            return
        self._loading.discard(rows.start // BLOCK)
        self._take(rows)
        self._layout()
        self.request_visible()

    def _take(self, rows: FiberRows) -> None:
        self.total = rows.total
        self.known = True
        if self.cursor >= self.total:
            self.cursor = max(0, self.total - 1)
        if rows.error:
            self.empty = rows.error
        for i, f in enumerate(rows.rows):
            self.rows[rows.start + i] = f
        self.refresh()

    @property
    def current(self) -> FiberInfo | None:
        return self.rows.get(self.cursor)

    @property
    def window(self) -> FiberWindow:
        """The rows on screen (what the next snapshot should read)."""
        top = int(self.scroll_y)
        return FiberWindow(self.query, top, max(1, self.scrollable_content_region.height))

    def request_visible(self) -> None:
        """Ask for the blocks of rows on screen that are neither here nor on their way."""
        if not self.generation:
            return
        top = int(self.scroll_y)
        if not self.known:
            if not self._loading:
                self._loading.add(top // BLOCK)
                self.post_message(self.LoadRows(self.query, top // BLOCK * BLOCK, BLOCK,
                                                self.generation))
            return
        height = max(1, self.scrollable_content_region.height)
        end = min(self.total, top + height)
        for block in range(top // BLOCK, (max(top, end - 1)) // BLOCK + 1):
            start = block * BLOCK
            if block in self._loading or all(
                    i in self.rows for i in range(max(start, top), min(end, start + BLOCK))):
                continue
            self._loading.add(block)
            self.post_message(self.LoadRows(self.query, start, BLOCK, self.generation))

    # -- geometry ------------------------------------------------------------------------

    def _layout(self) -> None:
        """Column widths for the pane's width; the list scrolls sideways when the
        minimum widths do not fit."""
        width = max(1, self.scrollable_content_region.width)
        ids = max(2, len(str(self.fiber_count or self.total)))
        mins = [ids if c.key == "id" else c.width for c in COLUMNS]
        spare = width - MARK - sum(mins) - (len(COLUMNS) - 1)
        grows = sum(c.grow for c in COLUMNS)
        widths = list(mins)
        if spare > 0:
            given = 0
            for i, c in enumerate(COLUMNS):
                extra = spare * c.grow // grows
                widths[i] += extra
                given += extra
            widths[-1] += spare - given
        self._widths = tuple(widths)
        self.virtual_size = Size(MARK + sum(widths) + len(COLUMNS) - 1, self.total + 1)

    def on_resize(self, _: Resize) -> None:
        self._layout()
        self.request_visible()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.request_visible()

    def _row_on_screen(self, row: int) -> None:
        height = max(1, self.scrollable_content_region.height - 1)   # less the header
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    # -- actions -------------------------------------------------------------------------

    def validate_cursor(self, row: int) -> int:
        return min(max(0, row), max(0, self.total - 1))

    def watch_cursor(self) -> None:
        self._row_on_screen(self.cursor)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.scrollable_content_region.height - 2)

    def action_cursor_to(self, row: int) -> None:
        self.cursor = row if row >= 0 else self.total - 1

    def action_select(self) -> None:
        f = self.current
        if f is not None:
            self.post_message(self.FiberSelected(f.id))

    def action_sort(self, key: str) -> None:
        self.post_message(self.SortRequested(key))

    def action_filter(self) -> None:
        self.post_message(self.FilterRequested())

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column is not None and column.sort:
                self.post_message(self.SortRequested(column.sort))
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < self.total:
            self.cursor = row
            self.action_select()

    def _column_at(self, x: int) -> Column | None:
        at = MARK
        for c, w in zip(COLUMNS, self._widths, strict=True):
            if at <= x < at + w + 1:
                return c
            at += w + 1
        return None

    # -- rendering -----------------------------------------------------------------------

    def _cells(self, texts: list[str], styles: list[Style], base: Style) -> list[Segment]:
        """A row's cells. A column the pane shows only part of (the list is wider than
        the pane, and scrolled sideways) is left blank rather than cut: its title and
        values show whole, or not at all."""
        left = int(self.scroll_x)
        right = left + self.scrollable_content_region.width
        segments = []
        at = MARK
        for i, (c, w, text, style) in enumerate(zip(COLUMNS, self._widths, texts, styles,
                                                    strict=True)):
            if len(text) > w:
                text = text[:max(0, w - 1)] + "…"
            if at < left or at + w > right:
                text = ""
            segments.append(Segment(text.rjust(w) if c.right else text.ljust(w),
                                    base + style))
            if i < len(COLUMNS) - 1:
                segments.append(Segment(" ", base))
            at += w + 1
        return segments

    def _column_starts(self) -> list[int]:
        starts, at = [0], MARK
        for w in self._widths:
            starts.append(at)
            at += w + 1
        return starts

    def action_scroll_right(self) -> None:
        """Left and Right scroll a column at a time."""
        x = int(self.scroll_x)
        target = next((s for s in self._column_starts() if s > x), x)
        self.scroll_to(x=min(target, self.max_scroll_x), animate=False, immediate=True)
        self.refresh()

    def action_scroll_left(self) -> None:
        x = int(self.scroll_x)
        target = max((s for s in self._column_starts() if s < x), default=0)
        self.scroll_to(x=target, animate=False, immediate=True)
        self.refresh()

    def _header(self, base: Style) -> list[Segment]:
        arrow = "▼" if self.query.descending else "▲"
        titles = [f"{c.title}{arrow}" if c.sort == self.query.sort else c.title
                  for c in COLUMNS]
        style = self.get_component_rich_style("fibers--header")
        return [Segment(" ", base + style),
                *self._cells(titles, [style] * len(COLUMNS), base)]

    def _line(self, row: int, base: Style) -> list[Segment]:
        f = self.rows.get(row)
        if f is None:
            dim = self.get_component_rich_style("fibers--dim")
            return [Segment(" ", base), *self._cells(
                ["", "…", "", "", ""], [Style()] * len(COLUMNS), base + dim)]
        line = Style()
        if row == self.cursor and self.has_focus:
            line += self.get_component_rich_style("fibers--cursor")
        if f.id == self.selected:
            line += self.get_component_rich_style("fibers--selected")
        state = {"blocked": "fibers--blocked", "running": "fibers--running",
                 "finished": "fibers--finished"}.get(f.state)
        styles = [Style()] * len(COLUMNS)
        if state:
            styles[[c.key for c in COLUMNS].index("state")] = \
                self.get_component_rich_style(state)
        texts = [cell_text(f, c.key) for c in COLUMNS]
        return [Segment("▶" if f.id == self.selected else " ", base + line),
                *self._cells(texts, styles, base + line)]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self._widths:
            self._layout()
        full = self.virtual_size.width
        if y == 0:
            segments = self._header(base)
        elif not self.total:
            if y != 1:
                return Strip.blank(width, base)
            text = Text(self.empty, style=base + self.get_component_rich_style("fibers--dim"),
                        no_wrap=True, overflow="ellipsis")
            text.truncate(width, overflow="ellipsis", pad=True)
            return Strip(text.render(self.app.console), width)
        else:
            row = scroll_y + y - 1
            if row >= self.total:
                return Strip.blank(width, base)
            segments = self._line(row, base)
        return Strip(segments, full).crop_extend(scroll_x, scroll_x + width, base)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
