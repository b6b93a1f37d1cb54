"""`vyn trace show FILE`: a Textual app for looking at a recording after the run.

The data comes from tui.trace_model (one streaming pass over the file, done before the
app starts); the app only draws it. Five tabs:

- Timeline: a lane per fiber (and a `collector` lane): a row of instants (panics, user
  events, sends, receives) and a row per call depth, down to the deepest call in view (a
  profile: its scheduler slices); rows scroll, calls narrower than a column are merged
  (`▒`). `+`/`-` zoom, `h`/`l` pan, arrows select, Enter zooms to a call or follows a
  message to its other end, `p` the next panic, `0` shows all;
- Flame graph: the call tree as rows of boxes, callers above callees, a box's width its
  share; arrows move, Enter zooms into a box, Backspace zooms out, `v` switches between
  CPU time and allocated bytes (a profile);
- Top functions: self and total time (a profile: CPU) and allocations; `s` sorts;
- Collections: collections and scoped regions, with their durations; Enter shows one in
  the timeline;
- Messages: each send with its receive and flow id; Enter on one shows its receive in the
  timeline.
"""

from __future__ import annotations

import os

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message as TMessage
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from tui.trace_model import (
    COLLECTOR,
    GC_FULL,
    GC_MINOR,
    INSTANTS,
    PANIC,
    RECEIVE,
    RUN,
    SEND,
    SORT_KEYS,
    USER,
    TraceModel,
    fmt_bytes,
    fmt_ns,
)

LABEL = 13                  # columns of the timeline's lane names
TOP_ROWS = 500              # rows of the top-functions table
PALETTE = ("#5f87af", "#87af5f", "#d7875f", "#af87d7", "#5fafaf", "#d7af5f", "#af5f87",
           "#87afd7")
TABS = (("tab-timeline", "Timeline"), ("tab-flame", "Flame graph"),
        ("tab-top", "Top functions"), ("tab-collections", "Collections"),
        ("tab-messages", "Messages"))


# Instants: their mark, its style, which one a column shows when it has several.
MARKS = {PANIC: "!", USER: "●", SEND: "→", RECEIVE: "←"}
MARK_STYLES = {PANIC: "bold #ffffff on #d70000", USER: "bold #ffd75f", SEND: "#87afd7",
               RECEIVE: "#87afd7"}
PRIORITY = {PANIC: 0, USER: 1, SEND: 2, RECEIVE: 3}
SORT_NAMES = {"self": "self", "total": "total", "calls": "calls", "self_alloc": "self alloc",
              "total_alloc": "total alloc", "name": "name"}


def _colour(fid: int) -> str:
    if fid == RUN:
        return "#808080"
    if fid in (GC_MINOR, GC_FULL):
        return "#d7af87" if fid == GC_MINOR else "#d78787"
    return PALETTE[(fid * 7 + 3) % len(PALETTE)]


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]


class Timeline(Widget, can_focus=True):
    """Fibers' lanes over time: per fiber a row of instants (when it has any), then a row
    per call depth, down to the deepest call within the view; the rows scroll."""

    BINDINGS = [
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in"),
        Binding("minus", "zoom(2)", "Zoom out"),
        Binding("h,shift+left", "pan(-0.25)", "Pan", key_display="h/l"),
        Binding("l,shift+right", "pan(0.25)", "Pan", show=False),
        Binding("left", "step(-1)", "Prev", show=False),
        Binding("right", "step(1)", "Next", show=False),
        Binding("up", "row(-1)", "Up", show=False),
        Binding("down", "row(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("left_square_bracket", "lane(-1)", "Previous lane", show=False),
        Binding("right_square_bracket", "lane(1)", "Next lane", show=False),
        Binding("enter", "enter", "Zoom/follow"),
        Binding("0,home", "fit", "All", show=False),
        Binding("slash", "find", "Find"),
        Binding("n", "find_next", "Next found", show=False),
    ]

    class Selected(TMessage):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class FindAsked(TMessage):
        """`/`: the app asks for a function name to find."""

    def __init__(self, model: TraceModel, **kw) -> None:
        super().__init__(**kw)
        self.model = model
        self.pattern = ""           # what `/` found last; `n` finds its next call
        self.t0, self.t1 = model.first, max(model.first + 1, model.duration)
        self.rows: list[tuple[int, int]] = []
        self._pos: dict[tuple[int, int], int] = {}
        self.sel: tuple[int, int, int] | None = None     # (fiber, depth, index)
        self.top = 0
        self._follow = True         # scroll the selection's row into view when drawing
        self.marker: tuple[int, int] | None = None      # (fiber, ts)
        self.note = ""
        self._layout()
        for fiber, depth in self.rows:
            if depth >= 0 and len(model.row(fiber, depth)):
                self.sel = (fiber, depth, 0)
                break

    # -- state ---------------------------------------------------------------------------

    @property
    def span(self) -> int:
        return self.t1 - self.t0

    @property
    def row(self) -> int:
        """The position of the selected row in `rows` (0 when nothing is selected)."""
        if self.sel is None:
            return 0
        return self._near(self.sel[0], self.sel[1])

    @property
    def index(self) -> int | None:
        return None if self.sel is None else self.sel[2]

    def _layout(self) -> None:
        """The rows of the view: they follow the deepest call within it."""
        self.rows = self.model.lane_rows(self.t0, self.t1)
        self._pos = {r: k for k, r in enumerate(self.rows)}

    def _near(self, fiber: int, depth: int) -> int:
        """The row (fiber, depth), or the nearest row of that fiber on screen."""
        k = self._pos.get((fiber, depth))
        if k is not None:
            return k
        same = [k for k, (f, d) in enumerate(self.rows) if f == fiber]
        if not same:
            return 0
        return min(same, key=lambda k: abs(self.rows[k][1] - depth))

    def _set_view(self, t0: float, t1: float) -> None:
        first, total = self.model.first, max(self.model.first + 1, self.model.duration)
        span = max(10.0, min(float(t1 - t0), float(total - first)))
        t0 = max(float(first), min(float(t0), total - span))
        self.t0, self.t1 = int(t0), int(t0 + span)
        self._layout()
        self._follow = True
        self.refresh()

    def current(self):
        """(fiber, depth, index) of the selected slice or instant (depth INSTANTS), or
        None."""
        if self.sel is None:
            return None
        fiber, depth, i = self.sel
        if depth == INSTANTS:
            n = len(self.model.instants.get(fiber) or ())
        else:
            n = len(self.model.row(fiber, depth))
        return self.sel if 0 <= i < n else None

    def interval(self) -> tuple[int, int] | None:
        """When the selection starts and ends (an instant: its moment twice)."""
        cur = self.current()
        if cur is None:
            return None
        fiber, depth, i = cur
        if depth == INSTANTS:
            ts = self.model.instants[fiber].ts[i]
            return ts, ts
        r = self.model.row(fiber, depth)
        return r.starts[i], r.ends[i]

    def _show_selected(self) -> None:
        """Pan so that the selection is in view; keep its row on screen."""
        iv = self.interval()
        if iv is not None:
            s, e = iv
            if e < self.t0 or s >= self.t1:
                mid = (s + e) / 2
                self._set_view(mid - self.span / 2, mid + self.span / 2)
        self._follow = True
        self.refresh()
        self.post_message(self.Selected(self.describe()))

    def _view(self) -> str:
        return f"view {fmt_ns(self.t0)} – {fmt_ns(self.t1)} of {fmt_ns(self.model.duration)}"

    def describe(self) -> str:
        """The selection: a slice's function, source line, fiber, duration and when; an
        instant's kind, details, fiber, time and where it happened."""
        cur = self.current()
        m = self.model
        if cur is None:
            return f"no slice selected · {self._view()}" + (f"\n{self.note}" if self.note
                                                             else "")
        fiber, depth, i = cur
        if depth == INSTANTS:
            ts, kind, _, _ = m.instant(fiber, i)
            head = f"{m.instant_title(fiber, i)} · {m.fiber_name(fiber)} · at {fmt_ns(ts)}"
            where = m.instant_where(fiber, i)
            if kind == SEND and m.receive_of(m.instant(fiber, i)[2]):
                where += " · ⏎ shows its receive"
            elif kind == RECEIVE and m.send_of(m.instant(fiber, i)[2]):
                where += " · ⏎ shows its send"
            return head + "\n" + (self.note or where or self._view())
        r = m.row(fiber, depth)
        fid = r.functions[i]
        if fiber == COLLECTOR:
            head = (f"{m.function_name(fid)} · {fmt_ns(r.ends[i] - r.starts[i])} · "
                    f"{m.gc_details[i]}")
            return head + "\n" + (self.note or f"{fmt_ns(r.starts[i])} → {fmt_ns(r.ends[i])}"
                                  f" · {self._view()}")
        where = m.where(fid)
        dur = r.ends[i] - r.starts[i]
        unfinished = " (unfinished)" if (fiber, depth, r.starts[i]) in m.unfinished else ""
        head = (f"{m.function_name(fid)}" + (f" ({where})" if where else "") +
                f" · {m.fiber_name(fiber)} depth {depth} · {fmt_ns(dur)}{unfinished}")
        when = f"{fmt_ns(r.starts[i])} → {fmt_ns(r.ends[i])} · {self._view()}"
        return head + "\n" + (self.note or when)

    # -- actions -------------------------------------------------------------------------

    def action_zoom(self, factor: float) -> None:
        iv = self.interval()
        mid = (self.t0 + self.t1) / 2
        if iv is not None and factor < 1 and self.t0 <= (iv[0] + iv[1]) / 2 <= self.t1:
            mid = (iv[0] + iv[1]) / 2
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
        fiber, depth, i = cur
        n = len(self.model.instants[fiber]) if depth == INSTANTS \
            else len(self.model.row(fiber, depth))
        self.sel = (fiber, depth, max(0, min(n - 1, i + delta)))
        self._show_selected()

    def _select_row(self, k: int) -> None:
        """Select in row `k` what is at (or nearest to) the selection's moment."""
        if not self.rows:
            return
        iv = self.interval()
        ts = (iv[0] + iv[1]) // 2 if iv else (self.t0 + self.t1) // 2
        k = max(0, min(len(self.rows) - 1, k))
        fiber, depth = self.rows[k]
        if depth == INSTANTS:
            i = self.model.instants[fiber].nearest(ts)
        else:
            r = self.model.row(fiber, depth)
            i = r.at(ts)
            if i is None and len(r):
                i = len(r) - 1
        self.sel = (fiber, depth, -1 if i is None else i)
        if i is None:
            self.refresh()
            self.post_message(self.Selected(self.describe()))
            return
        self._show_selected()

    def action_row(self, delta: int) -> None:
        self.note = ""
        self._select_row((self.row if self.sel else -delta) + delta)

    def action_page(self, delta: int) -> None:
        self.note = ""
        page = max(1, self.size.height - 2)
        self.top = max(0, self.top + delta * page)
        self._select_row(self.row + delta * page)

    def action_lane(self, delta: int) -> None:
        """The first row of the previous or next fiber's lane."""
        self.note = ""
        if not self.rows:
            return
        k, fiber = self.row, self.rows[self.row][0]
        if delta > 0:
            while k < len(self.rows) and self.rows[k][0] == fiber:
                k += 1
        else:
            while k > 0 and self.rows[k][0] == fiber:
                k -= 1
            while k > 0 and self.rows[k - 1][0] == self.rows[k][0]:
                k -= 1
        if 0 <= k < len(self.rows):
            self._select_row(k)

    def action_enter(self) -> None:
        """A slice: zoom to it. A send: show its receive; a receive: its send. Another
        instant: zoom around it."""
        cur = self.current()
        if cur is None:
            return
        fiber, depth, i = cur
        m = self.model
        if depth == INSTANTS:
            ts, kind, ref, _ = m.instant(fiber, i)
            if kind == SEND and (got := m.receive_of(ref)):
                self.show_at(got[1], got[0], f"◆ message {ref} received by "
                             f"{m.fiber_name(got[1])} at {fmt_ns(got[0])} (sent by "
                             f"{m.fiber_name(fiber)} at {fmt_ns(ts)})", instant=(RECEIVE, ref))
                return
            if kind == RECEIVE and (got := m.send_of(ref)):
                self.show_at(got[1], got[0], f"◆ message {ref} sent by "
                             f"{m.fiber_name(got[1])} at {fmt_ns(got[0])} (received by "
                             f"{m.fiber_name(fiber)} at {fmt_ns(ts)})", instant=(SEND, ref))
                return
            span = min(self.span, max(1000, m.duration // 20))
            self._set_view(ts - span / 2, ts + span / 2)
            self.post_message(self.Selected(self.describe()))
            return
        r = m.row(fiber, depth)
        s, e = r.starts[i], r.ends[i]
        pad = max(5, (e - s) // 10)
        self._set_view(s - pad, e + pad)
        self.post_message(self.Selected(self.describe()))

    def action_find(self) -> None:
        self.post_message(self.FindAsked())

    def find(self, pattern: str) -> bool:
        """Select the next call (after the selection, around to the first) of a function
        whose name contains `pattern`; False when there is none."""
        self.pattern = pattern
        fids = self.model.matching(pattern) if pattern else set()
        after = None
        cur = self.current()
        if cur is not None and cur[1] != INSTANTS:
            after = (self.model.row(cur[0], cur[1]).starts[cur[2]], cur[0], cur[1])
        hit = self.model.find_call(fids, after)
        if hit is None:
            self.notify(f"no call of a function named like {pattern!r}", severity="warning")
            return False
        self.note = ""
        self.sel = hit
        r = self.model.row(hit[0], hit[1])
        s, e = r.starts[hit[2]], r.ends[hit[2]]
        if e - s > self.span:           # wider than the view: zoom out to it
            pad = max(5, (e - s) // 10)
            self._set_view(s - pad, e + pad)
        elif not (self.t0 <= s and e <= self.t1):
            self._set_view((s + e) / 2 - self.span / 2, (s + e) / 2 + self.span / 2)
        self._show_selected()
        return True

    def action_find_next(self) -> None:
        if self.pattern:
            self.find(self.pattern)
        else:
            self.action_find()

    def action_panic(self) -> None:
        """Select the next panic (the first after the selection, around to the first)."""
        panics = self.model.panics
        if not panics:
            self.notify("no panic in this trace")
            return
        iv = self.interval()
        after = [k for k, p in enumerate(panics) if iv is None or p.ts > iv[0]]
        p = panics[after[0] if after else 0]
        ins = self.model.instants[p.fiber]
        i = next(k for k in ins.visible(p.ts, p.ts + 1) if ins.kinds[k] == PANIC)
        self.note = ""
        self.sel = (p.fiber, INSTANTS, i)
        span = min(self.span, max(1000, self.model.duration // 20))
        self._set_view(p.ts - span / 2, p.ts + span / 2)
        self._show_selected()

    def show_at(self, fiber: int, ts: int, note: str,
                instant: tuple[int, int] | None = None) -> None:
        """Select the deepest slice of `fiber` at `ts` (or, when it runs no call then, the
        `instant` (kind, ref) there), mark `ts` and bring it into view."""
        self.marker = (fiber, ts)
        self.note = note
        m = self.model
        hit = m.deepest_at(fiber, ts)
        ins = m.instants.get(fiber)
        if hit is not None:
            self.sel = (fiber, hit[0], hit[1])
        elif ins is not None and len(ins):
            k = ins.nearest(ts)
            if instant is not None:
                k = next((j for j in ins.visible(ts, ts + 1)
                          if (ins.kinds[j], ins.refs[j]) == instant), k)
            self.sel = (fiber, INSTANTS, k)
        span = min(self.span, max(1000, m.duration // 20))
        self._set_view(ts - span / 2, ts + span / 2)
        self._show_selected()

    # -- drawing -------------------------------------------------------------------------

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        cols = max(1, width - LABEL)
        visible = max(1, height - 1)
        row = self.row
        if self.sel is not None and self._follow:
            if row < self.top:
                self.top = row
            elif row >= self.top + visible:
                self.top = row - visible + 1
        self._follow = False
        self.top = max(0, min(self.top, len(self.rows) - visible))
        out = Text(no_wrap=True, overflow="crop")
        below = max(0, len(self.rows) - self.top - visible)
        self._axis(out, cols, self.top, below)
        per_col = self.span / cols
        for r in range(self.top, min(len(self.rows), self.top + visible)):
            out.append("\n")
            fiber, depth = self.rows[r]
            first = r == self.top or self.rows[r - 1][0] != fiber
            if first:
                out.append(_fit(self.model.fiber_name(fiber), LABEL - 1).ljust(LABEL),
                           style="bold")
            elif depth >= 0:
                out.append(f"{depth:>{LABEL - 2}}  ", style="dim")
            else:
                out.append(" " * LABEL)
            selected = self.sel[2] if (self.sel is not None and self.rows[r] == self.sel[:2]
                                       and self.current()) else None
            if depth == INSTANTS:
                self._instants(out, fiber, cols, per_col, selected)
            else:
                self._row(out, fiber, depth, cols, per_col, selected)
        return out

    def _axis(self, out: Text, cols: int, above: int, below: int) -> None:
        chars = [" "] * cols
        step = 20 if cols >= 40 else 10
        for x in range(0, cols - 4, step):
            label = "|" + fmt_ns(self.t0 + x * self.span / cols)
            for k, ch in enumerate(label):
                if x + k < cols:
                    chars[x + k] = ch
        head = "time"
        if above or below:          # rows scrolled off: how many, up and down
            head = " ".join(x for x in (f"↑{above}" if above else "",
                                        f"↓{below}" if below else "") if x)
        out.append(_fit(head, LABEL - 1).ljust(LABEL), style="bold" if head != "time"
                   else "dim")
        out.append("".join(chars), style="dim")

    def _mark_column(self, fiber: int, cols: int, per_col: float) -> int | None:
        if self.marker is not None and self.marker[0] == fiber and per_col > 0:
            mx = int((self.marker[1] - self.t0) / per_col)
            if 0 <= mx < cols:
                return mx
        return None

    def _instants(self, out: Text, fiber: int, cols: int, per_col: float,
                  selected: int | None) -> None:
        """A column with instants shows the most important one (a panic, an event, a
        send, a receive); with several, their count (`*`: more than 9) unless one is a
        panic."""
        ins = self.model.instants[fiber]
        kinds = ins.kinds
        t0 = self.t0
        mark = self._mark_column(fiber, cols, per_col)
        for x in range(cols):
            a = int(t0 + x * per_col)
            b = max(a + 1, int(t0 + (x + 1) * per_col))
            rng = ins.visible(a, b)
            if not len(rng):
                out.append("◆" if x == mark else " ", style="bold yellow" if x == mark else "")
                continue
            best = min(rng, key=lambda k: PRIORITY[kinds[k]])
            kind = kinds[best]
            glyph = MARKS[kind]
            if len(rng) > 1 and kind != PANIC:
                glyph = str(len(rng)) if len(rng) < 10 else "*"
            style = MARK_STYLES[kind]
            if selected is not None and selected in rng:
                style = "bold black on #ffffff"
            out.append(glyph, style=style)

    def _row(self, out: Text, fiber: int, depth: int, cols: int, per_col: float,
             selected: int | None) -> None:
        row = self.model.row(fiber, depth)
        cover: list[int | None] = [None] * cols
        many = [False] * cols
        t0 = self.t0
        for x in range(cols):
            a = int(t0 + x * per_col)
            b = max(a + 1, int(t0 + (x + 1) * per_col))
            rng = row.visible(a, b)
            if len(rng):
                cover[x] = selected if selected in rng else rng.start
                many[x] = len(rng) > 1
        mark = self._mark_column(fiber, cols, per_col)
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
            if end == x:            # a column of several slices, merged
                out.append("◆" if x == mark else "▒", style="reverse" if i == selected
                           else f"{_colour(row.functions[i])}")
                x += 1
                continue
            fid = row.functions[i]
            name = self.model.function_name(fid)
            text = list(_fit(name, end - x).ljust(end - x))
            if mark is not None and x <= mark < end:
                text[mark - x] = "◆"
            style = ("bold black on #ffffff" if i == selected else f"black on {_colour(fid)}")
            if end - x > 1 and i != selected:
                text[-1] = "▏" if text[-1] == " " else text[-1]
            out.append("".join(text), style=style)
            x = end

    # -- the mouse -----------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        """Select what is under the pointer: a call (the first of a merged cell), or an
        instant; a click on the axis or a label does nothing."""
        x, y = event.x - LABEL, event.y - 1
        cols = max(1, self.size.width - LABEL)
        if x < 0 or y < 0 or self.top + y >= len(self.rows):
            return
        fiber, depth = self.rows[self.top + y]
        per_col = self.span / cols
        a = int(self.t0 + x * per_col)
        b = max(a + 1, int(self.t0 + (x + 1) * per_col))
        if depth == INSTANTS:
            rng = self.model.instants[fiber].visible(a, b)
        else:
            rng = self.model.row(fiber, depth).visible(a, b)
        if not len(rng):
            return
        self.note = ""
        self.sel = (fiber, depth, rng.start)
        self._show_selected()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._scroll(3)
        event.stop()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._scroll(-3)
        event.stop()

    def _scroll(self, rows: int) -> None:
        """Scroll the rows, leaving the selection where it is."""
        visible = max(1, self.size.height - 1)
        self.top = max(0, min(self.top + rows, len(self.rows) - visible))
        self.refresh()

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
    #find { display: none; height: 1; border: none; padding: 0 1; }
    #find.shown { display: block; }
    #collections-note, #messages-note, #top-note { height: auto; color: $text-muted;
                                                   text-wrap: nowrap;
                                                   text-overflow: ellipsis; }
    """
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "quit_key", "Quit", priority=True, show=False),
        Binding("1", "tab('tab-timeline')", "Timeline", show=False),
        Binding("2", "tab('tab-flame')", "Flame", show=False),
        Binding("3", "tab('tab-top')", "Top", show=False),
        Binding("4", "tab('tab-collections')", "GC", show=False),
        Binding("5", "tab('tab-messages')", "Msgs", show=False),
        Binding("s", "sort", "Sort", show=False),
        Binding("p", "panic", "Panic", show=False),
    ]

    def __init__(self, model: TraceModel) -> None:
        super().__init__()
        self.model = model
        self.title = f"vyn trace show {os.path.basename(model.path)}"
        self.sort_key = "self"

    def compose(self) -> ComposeResult:
        m = self.model
        yield Static(self.summary(), id="summary")
        with TabbedContent(id="tabs"):
            with TabPane(TABS[0][1], id="tab-timeline"):
                yield Timeline(m, id="timeline")
                yield Input(placeholder="find a call of: (a function's name, or part of it)",
                            id="find")
                yield Static("", id="timeline-detail", classes="detail")
            with TabPane(TABS[1][1], id="tab-flame"):
                yield FlameGraph(m, id="flame")
                yield Static("", id="flame-detail", classes="detail")
            with TabPane(TABS[2][1], id="tab-top"):
                yield DataTable(id="top", cursor_type="row", zebra_stripes=True)
                yield Static("", id="top-note")
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
        fibers = len([f for f in m.lanes if f != COLLECTOR])
        panicked = " · PANICKED (p)" if m.panics else ""
        return (f"{os.path.basename(m.path)}: a {m.mode} of {m.program}{panicked} · "
                f"{fmt_ns(m.duration)} · {m.events:,} events · {fibers} "
                f"{'fiber' if fibers == 1 else 'fibers'}")

    def on_mount(self) -> None:
        self._fill_top()
        self._fill_collections()
        self._fill_messages()
        timeline = self.query_one(Timeline)
        self.query_one("#timeline-detail", Static).update(timeline.describe())
        self.query_one("#flame-detail", Static).update(self.query_one(FlameGraph).describe())
        timeline.focus()

    def _fill_top(self) -> None:
        """Self and total time (a profile: CPU) and allocated bytes per function, sorted
        by `sort_key` (`s` cycles through them)."""
        m = self.model
        t = self.query_one("#top", DataTable)
        t.clear(columns=True)
        total = m.total_value[0] or 1
        alloc = m.total_alloc[0] or 1
        what = "CPU" if m.has_samples else "time"
        calls = [] if m.has_samples else ["Calls"]
        t.add_columns("Function", *calls, f"Self {what}", "%", f"Total {what}", "%",
                      "Self alloc", "Total alloc", "%", "Where")
        for s in m.top_sorted(self.sort_key)[:TOP_ROWS]:
            t.add_row(m.function_name(s.function),
                      *([] if m.has_samples else [f"{s.calls:,}"]),
                      fmt_ns(s.self_value), f"{s.self_value / total:.1%}",
                      fmt_ns(s.total_value), f"{s.total_value / total:.1%}",
                      fmt_bytes(s.self_alloc), fmt_bytes(s.total_alloc),
                      f"{s.total_alloc / alloc:.1%}", m.where(s.function))
        self.query_one("#top-note", Static).update(
            f"sorted by {SORT_NAMES[self.sort_key]} (s: sort by another column)"
            + ("" if m.has_samples or not m.has_alloc else
               " · a trace's allocations: the bytes between two heap counters, in the "
               "stack running at the second"))

    def action_panic(self) -> None:
        """The Timeline tab, at the next panic."""
        self.query_one(TabbedContent).active = "tab-timeline"
        timeline = self.query_one(Timeline)
        timeline.action_panic()
        timeline.focus()

    def action_sort(self) -> None:
        """The top functions sorted by the next column."""
        if self.query_one(TabbedContent).active != "tab-top":
            return
        keys = [k for k in SORT_KEYS if k != "calls" or not self.model.has_samples]
        self.sort_key = keys[(keys.index(self.sort_key) + 1) % len(keys)]
        self._fill_top()

    def _fiber(self, fiber: int) -> str:
        return self.model.fiber_name(fiber)

    def _fill_collections(self) -> None:
        t = self.query_one("#collections", DataTable)
        t.add_columns("At", "What", "Took", "Fiber", "Detail")
        for i, ev in enumerate(self.model.collections):
            t.add_row(fmt_ns(ev.ts), ev.what, "" if ev.duration is None else fmt_ns(ev.duration),
                      self._fiber(ev.fiber), ev.detail, key=str(i))

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

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """While a name is typed in the find box, its letters are not keys."""
        typing = isinstance(self.focused, Input)
        return not (typing and action in ("quit_key", "tab", "sort", "panic"))

    async def action_quit_key(self) -> None:
        await self.action_quit()

    def on_timeline_find_asked(self, event: Timeline.FindAsked) -> None:
        box = self.query_one("#find", Input)
        box.add_class("shown")
        box.value = self.query_one(Timeline).pattern
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "find":
            return
        self._close_find()
        if event.value.strip():
            self.query_one(Timeline).find(event.value.strip())

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and isinstance(self.focused, Input):
            self._close_find()
            event.stop()

    def _close_find(self) -> None:
        self.query_one("#find", Input).remove_class("shown")
        self.query_one(Timeline).focus()

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
        if event.row_key.value is None:
            return
        if event.data_table.id == "collections":
            self.show_collection(int(event.row_key.value))
            return
        if event.data_table.id != "messages":
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


    def show_collection(self, i: int) -> None:
        """The Timeline tab at collection or region `i` of the Collections tab: its slice
        on the collector lane, or the region's fiber where it began."""
        ev = self.model.collections[i]
        self.query_one(TabbedContent).active = "tab-timeline"
        timeline = self.query_one(Timeline)
        fiber = COLLECTOR if ev.fiber == 0 and ev.what.endswith("collection") else ev.fiber
        took = "" if ev.duration is None else f", took {fmt_ns(ev.duration)}"
        timeline.show_at(fiber, ev.ts, f"◆ {ev.what} at {fmt_ns(ev.ts)}{took}: {ev.detail}")
        timeline.focus()


def run_show(model: TraceModel) -> int:
    """Run the viewer on a terminal; 0 when the user quits."""
    TraceShowApp(model).run()
    return 0
