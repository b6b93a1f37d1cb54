"""`vyn trace show FILE`: a Textual app for looking at a recording after the run.

The data comes from tui.trace_model (one streaming pass over the file, done before the
app starts); the app only draws it. Five tabs:

- Timeline: a lane per fiber, a row per call depth (a profile: its scheduler slices);
  `+`/`-` zoom, `h`/`l` pan, arrows select a slice, Enter zooms to it, `0` shows all;
- Flame graph: the call tree as rows of boxes, callers above callees, a box's width its
  share; arrows move, Enter zooms into a box, Backspace zooms out, `v` switches between
  CPU time and allocated bytes (a profile);
- Top functions: self and total time (a profile: CPU and allocations);
- Collections: collections and scoped regions, with their durations;
- Messages: each send with its receive and flow id; Enter on one shows its receive in the
  timeline.
"""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message as TMessage
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from tui.trace_model import RUN, TraceModel, fmt_bytes, fmt_ns

LABEL = 13                  # columns of the timeline's lane names
TOP_ROWS = 500              # rows of the top-functions table
PALETTE = ("#5f87af", "#87af5f", "#d7875f", "#af87d7", "#5fafaf", "#d7af5f", "#af5f87",
           "#87afd7")
TABS = (("tab-timeline", "Timeline"), ("tab-flame", "Flame graph"),
        ("tab-top", "Top functions"), ("tab-collections", "Collections"),
        ("tab-messages", "Messages"))


def _colour(fid: int) -> str:
    return "#808080" if fid == RUN else PALETTE[(fid * 7 + 3) % len(PALETTE)]


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]


class Timeline(Widget, can_focus=True):
    """Fibers' lanes over time; one row per (fiber, call depth)."""

    BINDINGS = [
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in"),
        Binding("minus", "zoom(2)", "Zoom out"),
        Binding("h,shift+left", "pan(-0.25)", "Pan", key_display="h/l"),
        Binding("l,shift+right", "pan(0.25)", "Pan", show=False),
        Binding("left", "step(-1)", "Prev", show=False),
        Binding("right", "step(1)", "Next", show=False),
        Binding("up", "row(-1)", "Up", show=False),
        Binding("down", "row(1)", "Down", show=False),
        Binding("enter", "zoom_slice", "Zoom to slice"),
        Binding("0,home", "fit", "All", show=False),
    ]

    class Selected(TMessage):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, model: TraceModel, **kw) -> None:
        super().__init__(**kw)
        self.model = model
        self.rows = model.lane_rows()
        self.t0, self.t1 = model.first, max(model.first + 1, model.duration)
        self.row = 0
        self.index: int | None = None
        self.top = 0
        self.marker: tuple[int, int] | None = None      # (fiber, ts)
        self.note = ""
        for r, (fiber, depth) in enumerate(self.rows):
            if len(model.row(fiber, depth)):
                self.row, self.index = r, 0
                break

    # -- state ---------------------------------------------------------------------------

    @property
    def span(self) -> int:
        return self.t1 - self.t0

    def _set_view(self, t0: float, t1: float) -> None:
        first, total = self.model.first, max(self.model.first + 1, self.model.duration)
        span = max(10.0, min(float(t1 - t0), float(total - first)))
        t0 = max(float(first), min(float(t0), total - span))
        self.t0, self.t1 = int(t0), int(t0 + span)
        self.refresh()

    def current(self):
        """(fiber, depth, Row, index) of the selected slice, or None."""
        if not self.rows or self.index is None:
            return None
        fiber, depth = self.rows[self.row]
        r = self.model.row(fiber, depth)
        if not 0 <= self.index < len(r):
            return None
        return fiber, depth, r, self.index

    def _show_selected(self) -> None:
        """Pan so that the selected slice is in view; keep its row on screen."""
        cur = self.current()
        if cur is not None:
            _, _, r, i = cur
            s, e = r.starts[i], r.ends[i]
            if e < self.t0 or s > self.t1:
                mid = (s + e) / 2
                self._set_view(mid - self.span / 2, mid + self.span / 2)
        self.refresh()
        self.post_message(self.Selected(self.describe()))

    def describe(self) -> str:
        """The selected slice: function, source line, fiber, duration, when."""
        view = f"view {fmt_ns(self.t0)} – {fmt_ns(self.t1)} of {fmt_ns(self.model.duration)}"
        cur = self.current()
        if cur is None:
            return f"no slice selected · {view}" + (f"\n{self.note}" if self.note else "")
        fiber, depth, r, i = cur
        fid = r.functions[i]
        m = self.model
        lane = m.lanes.get(fiber)
        where = m.where(fid)
        dur = r.ends[i] - r.starts[i]
        unfinished = " (unfinished)" if (fiber, depth, i) in m.unfinished else ""
        head = (f"{m.function_name(fid)}" + (f" ({where})" if where else "") +
                f" · {lane.name if lane else fiber} depth {depth} · {fmt_ns(dur)}{unfinished}")
        when = f"{fmt_ns(r.starts[i])} → {fmt_ns(r.ends[i])} · {view}"
        return head + "\n" + (self.note or when)

    # -- actions -------------------------------------------------------------------------

    def action_zoom(self, factor: float) -> None:
        cur = self.current()
        if cur is not None and factor < 1:
            _, _, r, i = cur
            mid = (r.starts[i] + r.ends[i]) / 2
            if not self.t0 <= mid <= self.t1:
                mid = (self.t0 + self.t1) / 2
        else:
            mid = (self.t0 + self.t1) / 2
        span = self.span * factor
        self._set_view(mid - span / 2, mid + span / 2)
        self.post_message(self.Selected(self.describe()))

    def action_pan(self, fraction: float) -> None:
        d = self.span * fraction
        self._set_view(self.t0 + d, self.t1 + d)
        self.post_message(self.Selected(self.describe()))

    def action_fit(self) -> None:
        self._set_view(self.model.first, self.model.duration)
        self.post_message(self.Selected(self.describe()))

    def action_step(self, delta: int) -> None:
        self.note = ""
        cur = self.current()
        if cur is None:
            return
        _, _, r, i = cur
        self.index = max(0, min(len(r) - 1, i + delta))
        self._show_selected()

    def action_row(self, delta: int) -> None:
        self.note = ""
        if not self.rows:
            return
        cur = self.current()
        ts = (cur[2].starts[cur[3]] + cur[2].ends[cur[3]]) // 2 if cur else self.t0
        self.row = max(0, min(len(self.rows) - 1, self.row + delta))
        fiber, depth = self.rows[self.row]
        self.index = self.model.row(fiber, depth).at(ts)
        self._show_selected()

    def action_zoom_slice(self) -> None:
        cur = self.current()
        if cur is None:
            return
        _, _, r, i = cur
        s, e = r.starts[i], r.ends[i]
        pad = max(5, (e - s) // 10)
        self._set_view(s - pad, e + pad)
        self.post_message(self.Selected(self.describe()))

    def show_at(self, fiber: int, ts: int, note: str) -> None:
        """Select the deepest slice of `fiber` at `ts`, mark `ts` and bring it into view."""
        self.marker = (fiber, ts)
        self.note = note
        best = None
        for r, (f, depth) in enumerate(self.rows):
            if f != fiber:
                continue
            row = self.model.row(f, depth)
            i = row.at(ts)
            if i is not None and row.starts[i] <= ts <= row.ends[i]:
                best = (r, i)
            elif best is None:
                best = (r, i)
        if best is not None:
            self.row, self.index = best
        span = min(self.span, max(1000, self.model.duration // 20))
        self._set_view(ts - span / 2, ts + span / 2)
        self._show_selected()

    # -- drawing -------------------------------------------------------------------------

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        cols = max(1, width - LABEL)
        out = Text(no_wrap=True, overflow="crop")
        out.append(self._axis(cols), style="dim")
        per_col = self.span / cols
        visible = max(1, height - 1)
        if self.row < self.top:
            self.top = self.row
        elif self.row >= self.top + visible:
            self.top = self.row - visible + 1
        for r in range(self.top, min(len(self.rows), self.top + max(0, height - 1))):
            out.append("\n")
            fiber, depth = self.rows[r]
            lane = self.model.lanes.get(fiber)
            label = (lane.name if lane else f"fiber {fiber}") if depth == 0 \
                or r == self.top else ""
            out.append(_fit(label, LABEL - 1).ljust(LABEL), style="bold" if label else "")
            self._row(out, r, fiber, depth, cols, per_col)
        return out

    def _axis(self, cols: int) -> str:
        chars = [" "] * cols
        step = 20 if cols >= 40 else 10
        for x in range(0, cols - 4, step):
            label = "|" + fmt_ns(self.t0 + x * self.span / cols)
            for k, ch in enumerate(label):
                if x + k < cols:
                    chars[x + k] = ch
        return "time".ljust(LABEL) + "".join(chars)

    def _row(self, out: Text, r: int, fiber: int, depth: int, cols: int,
             per_col: float) -> None:
        row = self.model.row(fiber, depth)
        cover: list[int | None] = [None] * cols
        many = [False] * cols
        t0 = self.t0
        for x in range(cols):
            a = int(t0 + x * per_col)
            b = max(a + 1, int(t0 + (x + 1) * per_col))
            rng = row.visible(a, b)
            if len(rng):
                cover[x] = self.index if r == self.row and self.index in rng \
                    else rng.start
                many[x] = len(rng) > 1
        mark = None
        if self.marker is not None and self.marker[0] == fiber and per_col > 0:
            mx = int((self.marker[1] - t0) / per_col)
            if 0 <= mx < cols:
                mark = mx
        x = 0
        while x < cols:
            i = cover[x]
            if i is None:
                out.append("◆" if x == mark else " ", style="bold yellow" if x == mark else "")
                x += 1
                continue
            end = x
            while end < cols and cover[end] == i and not many[end]:
                end += 1
            if end == x:            # a column of several slices
                selected = r == self.row and i == self.index
                out.append("◆" if x == mark else "▒", style="reverse" if selected
                           else f"{_colour(row.functions[i])}")
                x += 1
                continue
            fid = row.functions[i]
            name = self.model.function_name(fid)
            text = list(_fit(name, end - x).ljust(end - x))
            if mark is not None and x <= mark < end:
                text[mark - x] = "◆"
            selected = r == self.row and i == self.index
            style = ("bold black on #ffffff" if selected else f"black on {_colour(fid)}")
            if end - x > 1 and not selected:
                text[-1] = "▏" if text[-1] == " " else text[-1]
            out.append("".join(text), style=style)
            x = end

    def on_resize(self) -> None:
        self.refresh()


class FlameGraph(Widget, can_focus=True):
    """The call tree as rows of boxes: callers above callees, width = share of the value."""

    BINDINGS = [
        Binding("left", "move('left')", "Prev", show=False),
        Binding("right", "move('right')", "Next", show=False),
        Binding("up", "move('up')", "Caller", show=False),
        Binding("down", "move('down')", "Callee", show=False),
        Binding("enter", "zoom", "Zoom in"),
        Binding("backspace,escape", "unzoom", "Zoom out"),
        Binding("v", "value", "CPU/alloc"),
    ]

    def __init__(self, model: TraceModel, **kw) -> None:
        super().__init__(**kw)
        self.model = model
        self.root = 0
        self.selected = 0
        self.alloc = False
        self.top = 0
        self._layout: list[list[tuple[int, int, int]]] = []

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """`v` (CPU or allocated bytes) only for a profile: a trace records no bytes."""
        return action != "value" or self.model.has_samples

    def values(self) -> list[int]:
        return self.model.total_alloc if self.alloc else self.model.total_value

    def unit(self, v: int) -> str:
        return fmt_bytes(v) if self.alloc else fmt_ns(v)

    def layout(self, width: int) -> list[list[tuple[int, int, int]]]:
        """Rows of (node, x0, x1) from the zoom root down; boxes under a column left out."""
        values = self.values()
        children = self.model.children
        rows = [[(self.root, 0, width)]]
        while True:
            nxt = []
            for node, x0, x1 in rows[-1]:
                total = values[node]
                if total <= 0:
                    continue
                pos = float(x0)
                scale = (x1 - x0) / total
                for c in sorted(children[node], key=lambda c: -values[c]):
                    w = values[c] * scale
                    a, b = int(round(pos)), int(round(pos + w))
                    pos += w
                    if b - a >= 1:
                        nxt.append((c, a, b))
            if not nxt:
                return rows
            nxt.sort(key=lambda t: t[1])
            rows.append(nxt)

    def label(self, node: int) -> str:
        if node == 0:
            return "all"
        return self.model.function_name(self.model.function[node])

    def describe(self) -> str:
        node = self.selected
        values = self.values()
        total = values[0] or 1
        v = values[node]
        fid = self.model.function[node]
        where = self.model.where(fid) if node and fid >= 0 else ""
        parent = values[self.model.parent[node]] if node else v
        self_v = (self.model.self_alloc if self.alloc else self.model.self_value)[node]
        what = "allocated" if self.alloc else ("CPU" if self.model.has_samples else "time")
        head = (self.label(node) + (f" ({where})" if where else "") +
                f" · {what} {self.unit(v)}, {v / total:.1%} of all, "
                f"{v / (parent or 1):.1%} of its caller; self {self.unit(self_v)}")
        path = " › ".join(self.label(n) for n in self.model.node_path(node))
        return head + "\n" + _fit(path or "all", 200)

    class Selected(TMessage):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def _changed(self) -> None:
        self._layout = self.layout(max(1, self.size.width))
        depth = self._depth_of(self.selected)
        visible = max(1, self.size.height)
        if depth is not None:
            if depth < self.top:
                self.top = depth
            elif depth >= self.top + visible:
                self.top = depth - visible + 1
        self.refresh()
        self.post_message(self.Selected(self.describe()))

    def _depth_of(self, node: int) -> int | None:
        for d, row in enumerate(self._layout):
            if any(n == node for n, _, _ in row):
                return d
        return None

    def action_move(self, where: str) -> None:
        layout = self._layout or self.layout(max(1, self.size.width))
        d = self._depth_of(self.selected)
        if d is None:
            self.selected, d = self.root, 0
        row = layout[d]
        k = next(k for k, (n, _, _) in enumerate(row) if n == self.selected)
        if where == "left" and k > 0:
            self.selected = row[k - 1][0]
        elif where == "right" and k + 1 < len(row):
            self.selected = row[k + 1][0]
        elif where == "up" and d > 0:
            self.selected = self.model.parent[self.selected]
        elif where == "down" and d + 1 < len(layout):
            x0, x1 = row[k][1], row[k][2]
            under = [n for n, a, b in layout[d + 1] if a < x1 and b > x0
                     and self.model.parent[n] == self.selected]
            if under:
                self.selected = under[0]
        self._changed()

    def action_zoom(self) -> None:
        self.root = self.selected
        self.top = 0
        self._changed()

    def action_unzoom(self) -> None:
        if self.root:
            self.root = self.model.parent[self.root]
            self.top = 0
            self._changed()

    def action_value(self) -> None:
        if self.model.has_samples:
            self.alloc = not self.alloc
            self._changed()

    def on_resize(self) -> None:
        self._layout = self.layout(max(1, self.size.width))

    def on_mount(self) -> None:
        self._layout = self.layout(max(1, self.size.width))

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        if not self._layout or self._layout[0][0][2] != width:
            self._layout = self.layout(max(1, width))
        out = Text(no_wrap=True, overflow="crop")
        if self.values()[0] == 0:
            out.append("Nothing to draw: no time or allocation was recorded.")
            return out
        for d in range(self.top, min(len(self._layout), self.top + height)):
            if d > self.top:
                out.append("\n")
            x = 0
            for node, a, b in self._layout[d]:
                if a > x:
                    out.append(" " * (a - x))
                text = _fit(self.label(node), b - a).ljust(b - a)
                if b - a > 1:
                    text = text[:-1] + "▏"
                fid = self.model.function[node]
                style = ("bold black on #ffffff" if node == self.selected else
                         f"black on {'#c0c0c0' if fid < 0 or node == 0 else _colour(fid)}")
                out.append(text, style=style)
                x = b
        return out


class TraceShowApp(App[int]):
    """The viewer of one trace or profile."""

    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #summary { height: 1; background: $boost; padding: 0 1; text-wrap: nowrap;
               text-overflow: ellipsis; }
    TabbedContent { height: 1fr; }
    TabPane { padding: 0; }
    Timeline, FlameGraph { height: 1fr; }
    .detail { height: 2; background: $boost; padding: 0 1; text-wrap: nowrap;
              text-overflow: ellipsis; }
    DataTable { height: 1fr; }
    #collections-note, #messages-note { height: auto; color: $text-muted; }
    """
    BINDINGS = [
        Binding("q,ctrl+q", "quit", "Quit", priority=True),
        Binding("1", "tab('tab-timeline')", "Timeline", show=False),
        Binding("2", "tab('tab-flame')", "Flame", show=False),
        Binding("3", "tab('tab-top')", "Top", show=False),
        Binding("4", "tab('tab-collections')", "GC", show=False),
        Binding("5", "tab('tab-messages')", "Msgs", show=False),
    ]

    def __init__(self, model: TraceModel) -> None:
        super().__init__()
        self.model = model
        self.title = f"vyn trace show {os.path.basename(model.path)}"

    def compose(self) -> ComposeResult:
        m = self.model
        yield Static(self.summary(), id="summary")
        with TabbedContent(id="tabs"):
            with TabPane(TABS[0][1], id="tab-timeline"):
                yield Timeline(m, id="timeline")
                yield Static("", id="timeline-detail", classes="detail")
            with TabPane(TABS[1][1], id="tab-flame"):
                yield FlameGraph(m, id="flame")
                yield Static("", id="flame-detail", classes="detail")
            with TabPane(TABS[2][1], id="tab-top"):
                yield DataTable(id="top", cursor_type="row", zebra_stripes=True)
            with TabPane(TABS[3][1], id="tab-collections"):
                yield DataTable(id="collections", cursor_type="row")
                yield Static(self._dropped(m.dropped_collections, "collections and regions"),
                             id="collections-note")
            with TabPane(TABS[4][1], id="tab-messages"):
                yield DataTable(id="messages", cursor_type="row")
                yield Static(self._dropped(m.dropped_messages, "messages"),
                             id="messages-note")
        yield Footer(compact=True)

    @staticmethod
    def _dropped(n: int, what: str) -> str:
        return f"(and {n:,} more {what}, not shown)" if n else ""

    def summary(self) -> str:
        m = self.model
        text = (f"{os.path.basename(m.path)}: a {m.mode} of {m.program} · {fmt_ns(m.duration)} · "
                f"{m.events:,} events · {len(m.lanes)} fibers")
        if m.dropped_slices:
            text += f" · {m.dropped_slices:,} slices not in the timeline"
        return text

    def on_mount(self) -> None:
        self._fill_top()
        self._fill_collections()
        self._fill_messages()
        timeline = self.query_one(Timeline)
        self.query_one("#timeline-detail", Static).update(timeline.describe())
        self.query_one("#flame-detail", Static).update(self.query_one(FlameGraph).describe())
        timeline.focus()

    def _fill_top(self) -> None:
        m = self.model
        t = self.query_one("#top", DataTable)
        total = m.total_value[0] or 1
        if m.has_samples:
            alloc = m.total_alloc[0] or 1
            t.add_columns("Function", "Self CPU", "%", "Total CPU", "%", "Self alloc",
                          "Total alloc", "%", "Where")
            for s in m.top[:TOP_ROWS]:
                t.add_row(m.function_name(s.function), fmt_ns(s.self_value),
                          f"{s.self_value / total:.1%}", fmt_ns(s.total_value),
                          f"{s.total_value / total:.1%}", fmt_bytes(s.self_alloc),
                          fmt_bytes(s.total_alloc), f"{s.total_alloc / alloc:.1%}",
                          m.where(s.function))
        else:
            t.add_columns("Function", "Calls", "Self", "%", "Total", "%", "Where")
            for s in m.top[:TOP_ROWS]:
                t.add_row(m.function_name(s.function), f"{s.calls:,}", fmt_ns(s.self_value),
                          f"{s.self_value / total:.1%}", fmt_ns(s.total_value),
                          f"{s.total_value / total:.1%}", m.where(s.function))

    def _fiber(self, fiber: int) -> str:
        lane = self.model.lanes.get(fiber)
        return lane.name if lane else (f"fiber {fiber}" if fiber else "")

    def _fill_collections(self) -> None:
        t = self.query_one("#collections", DataTable)
        t.add_columns("At", "What", "Took", "Fiber", "Detail")
        for ev in self.model.collections:
            t.add_row(fmt_ns(ev.ts), ev.what, "" if ev.duration is None else fmt_ns(ev.duration),
                      self._fiber(ev.fiber), ev.detail)

    def _fill_messages(self) -> None:
        t = self.query_one("#messages", DataTable)
        t.add_columns("Flow", "Sent", "From", "To", "Received", "By", "Waited")
        for i, msg in enumerate(self.model.messages):
            to = self._fiber(msg.receiver) if msg.target == "actor" \
                else f"channel {msg.receiver}"
            got = msg.received is not None
            t.add_row(str(msg.flow), fmt_ns(msg.sent), self._fiber(msg.sender), to,
                      fmt_ns(msg.received) if got else "never",
                      self._fiber(msg.by) if got else "",
                      fmt_ns(msg.received - msg.sent) if got else "", key=str(i))

    # -- events --------------------------------------------------------------------------

    def on_timeline_selected(self, event: Timeline.Selected) -> None:
        self.query_one("#timeline-detail", Static).update(event.text)

    def on_flame_graph_selected(self, event: FlameGraph.Selected) -> None:
        self.query_one("#flame-detail", Static).update(event.text)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id
        target = {"tab-timeline": "#timeline", "tab-flame": "#flame", "tab-top": "#top",
                  "tab-collections": "#collections", "tab-messages": "#messages"}.get(pane)
        if target:
            self.query_one(target).focus()

    def action_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "messages" or event.row_key.value is None:
            return
        msg = self.model.messages[int(event.row_key.value)]
        if msg.received is None or msg.by is None:
            self.notify(f"message {msg.flow} was never received", severity="warning")
            return
        self.show_receive(msg.flow)

    def show_receive(self, flow: int) -> None:
        """The Timeline tab, at the receive of message `flow` (marked ◆)."""
        msg = next((x for x in self.model.messages if x.flow == flow), None)
        if msg is None or msg.received is None or msg.by is None:
            return
        self.query_one(TabbedContent).active = "tab-timeline"
        timeline = self.query_one(Timeline)
        timeline.show_at(msg.by, msg.received,
                         f"◆ message {msg.flow} received by {self._fiber(msg.by)} at "
                         f"{fmt_ns(msg.received)} (sent by {self._fiber(msg.sender)} at "
                         f"{fmt_ns(msg.sent)})")
        timeline.focus()


def run_show(model: TraceModel) -> int:
    """Run the viewer on a terminal; 0 when the user quits."""
    TraceShowApp(model).run()
    return 0
