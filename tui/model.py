"""The TUI's view model: what each pane shows, computed from engine records without Textual.

Everything here is a frozen record or a plain function of engine data (vyndbg.model), so it
is tested without a terminal. `collect_snapshot` reads a stopped Session through its public
API; the app calls it on the engine thread and hands the result to the widgets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vyndbg.model import (
    Breakpoint,
    DebugError,
    FrameInfo,
    Location,
    StopEvent,
    StopReason,
    ValueInfo,
    Variable,
)
from vyndbg.render_gdb import Renderer

if TYPE_CHECKING:   # tui.fibers and tui.heap build on this module
    from tui.disasm import DisasmView
    from tui.fibers import FiberView
    from tui.heap import HeapView

_RENDER = Renderer()

PAGE = 100           # children of a collection loaded at a time
TEXT_LIMIT = 1000    # characters of a value's text on one tree line (which scrolls sideways)

MARK_ENABLED = "●"
MARK_DISABLED = "○"
MARK_CONDITIONAL = "◆"

WATCH_ROOT = "$watch"


# -- status bar ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Status:
    """The status bar: the session's state, why it stopped and where."""

    state: str                       # idle | running | stopped | exited
    reason: str = ""                 # breakpoint 1 | step | interrupt | panic | ...
    location: Location | None = None
    function: str = ""
    message: str = ""                # a panic's message
    exit_code: int | None = None
    fiber: str = ""                  # the fiber that stopped, when it is not main
    core: bool = False               # a post-mortem dump (vyn debug --core), not a program

    @property
    def headline(self) -> str:
        """The state and why: `stopped (breakpoint 1)`, `panicked: MESSAGE`, `exited (code
        0)`."""
        if self.state == "idle":
            return "not started: F5 runs the program"
        if self.state == "running":
            return "running (Ctrl+C interrupts)"
        if self.state == "exited":
            return f"exited (code {self.exit_code})" if self.exit_code is not None \
                else "exited"
        if self.reason == "panic":
            return f"panicked: {self.message}"
        if self.reason == "deadlock":
            return f"{self.message or 'deadlock'} (F4 lists them)"
        return f"stopped ({self.reason})"

    @property
    def where(self) -> str:
        """`in fib at fib.vyn:2` when stopped, else empty."""
        if self.state != "stopped":
            return ""
        parts = []
        if self.function:
            parts.append(f"in {self.function}")
        if self.location is not None:
            parts.append(f"at {location_text(self.location)}")
        if self.fiber:
            parts.append(f"[{self.fiber}]")
        return " ".join(parts)

    @property
    def text(self) -> str:
        """One line: `stopped (breakpoint 1) in fib at fib.vyn:2`, `exited (code 0)`."""
        return f"{self.headline} {self.where}".rstrip()


def reason_text(stop: StopEvent) -> str:
    """Why a program stopped, in a few words: `breakpoint 2`, `step`, `interrupt`."""
    r = stop.reason
    if r is StopReason.BREAKPOINT and stop.breakpoint is not None:
        return f"breakpoint {stop.breakpoint.number}"
    if r is StopReason.WATCHPOINT and stop.breakpoint is not None:
        return f"watchpoint {stop.breakpoint.number}"
    return r.value


def status_of(state: str, stop: StopEvent | None, exit_code: int | None = None) -> Status:
    """The status bar for a session in `state` whose last stop was `stop`."""
    if state == "stopped" and stop is not None:
        frame = stop.frame
        fiber = stop.fiber.name if stop.fiber is not None and stop.fiber.kind != "main" \
            else ""
        return Status("stopped", reason_text(stop), frame.location if frame else None,
                      frame.function if frame else "", stop.message, fiber=fiber)
    if state == "exited":
        return Status("exited", exit_code=exit_code if exit_code is not None
                      else (stop.exit_code if stop else None))
    return Status(state)


def location_text(loc: Location | None) -> str:
    return f"{loc.file}:{loc.line}" if loc is not None else "??"


# -- call stack ----------------------------------------------------------------------------

def frame_text(frame: FrameInfo) -> str:
    """A frame as the line mode prints it: `#0  fib (n=20) at fib.vyn:2`."""
    return _RENDER.backtrace_line(frame)


def stack_text(frame: FrameInfo, *, args: bool = True, basename: bool = False) -> str:
    """A frame as the Call stack shows it, what matters first: `#0  fib at fib.vyn:2
    (n=20)` (the arguments last, where a narrow pane cuts them; Variables has them).
    `basename`: the file without its directories."""
    text = f"#{frame.level:<2} {frame.function}"
    if frame.location is not None:
        loc = frame.location
        file = loc.file.rsplit("/", 1)[-1] if basename else loc.file
        text += f" at {file}:{loc.line}"
    if args and frame.args:
        text += f" ({_RENDER.args_text(frame.args)})"
    return text


def short_path(text: str, limit: int) -> str:
    """`text` in `limit` characters: a path in it loses its directories first
    (`…/shapes.vyn:22 in main`), then the end is cut (with …)."""
    if len(text) > limit:
        text = re.sub(r"\S*/(\S+)", r"…/\1", text, count=1)
    return short(text, limit)


TIER_SHORT = {"bytecode": "bc", "native": "nat"}


def tier_text(frame: FrameInfo, room: int) -> str:
    """The frame's tier in at most `room` cells: `bytecode`, else `bc` (`native`, `nat`),
    else nothing."""
    tier = frame.tier.value
    for text in (tier, TIER_SHORT.get(tier, tier[:3])):
        if len(text) <= room:
            return text
    return ""


def short(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- breakpoints ---------------------------------------------------------------------------

def marker(bp: Breakpoint) -> str:
    """The gutter mark of a breakpoint: disabled ○, conditional ◆, enabled ●."""
    if not bp.enabled:
        return MARK_DISABLED
    return MARK_CONDITIONAL if bp.condition else MARK_ENABLED


def same_file(a: str, b: str) -> bool:
    return a == b or a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


def gutter_markers(bps: Iterable[Breakpoint], file: str) -> dict[int, str]:
    """Line -> mark for the breakpoints in `file`. Where several share a line, an enabled
    one wins over a disabled one, and a conditional one over an unconditional one."""
    rank = {MARK_DISABLED: 0, MARK_ENABLED: 1, MARK_CONDITIONAL: 2}
    out: dict[int, str] = {}
    for bp in bps:
        if bp.kind != "breakpoint" or bp.location is None:
            continue
        if not same_file(bp.location.file, file):
            continue
        m = marker(bp)
        line = bp.location.line
        if line not in out or rank[m] > rank[out[line]]:
            out[line] = m
    return out


def breakpoints_at(bps: Iterable[Breakpoint], file: str, line: int) -> list[int]:
    """Numbers of the breakpoints set on `file:line`."""
    return [bp.number for bp in bps
            if bp.kind == "breakpoint" and bp.location is not None
            and bp.location.line == line and same_file(bp.location.file, file)]


@dataclass(frozen=True)
class BreakpointRow:
    """One row of the Breakpoints pane."""

    number: int
    enabled: bool
    mark: str
    what: str        # `fib.vyn:2 in fib`, `watch total`
    hits: int
    condition: str

    @classmethod
    def of(cls, bp: Breakpoint) -> BreakpointRow:
        if bp.kind == "watchpoint":
            what = f"watch {bp.expression}"
        else:
            what = location_text(bp.location)
            if bp.function:
                what += f" in {bp.function}"
            if bp.kind == "dprintf":
                what = f"dprintf {what}"
        if bp.temporary:
            what += " (once)"
        return cls(bp.number, bp.enabled, marker(bp), what, bp.hits, bp.condition or "")


# -- variables -----------------------------------------------------------------------------

@dataclass(frozen=True)
class VarNode:
    """A variable, field, element or watch expression as the Variables tree shows it.

    `children` is None until loaded; a loaded collection may hold fewer children than
    `value.count` (the rest are loaded PAGE at a time).
    """

    name: str
    value: ValueInfo
    path: tuple[str, ...]
    kind: str = "local"
    children: tuple[VarNode, ...] | None = None
    error: str = ""

    @property
    def expandable(self) -> bool:
        return self.value.ref is not None and self.value.count > 0

    @property
    def remaining(self) -> int:
        """Children not loaded yet."""
        return max(0, self.value.count - len(self.children or ()))

    @property
    def label(self) -> str:
        if self.error:
            return f"{self.name} = <{self.error}>"
        type_name = f": {self.value.type_name}" if self.value.type_name else ""
        return f"{self.name}{type_name} = {short(self.value.text)}"


def more_label(remaining: int) -> str:
    return f"more… ({remaining} not shown)"


def var_nodes(variables: Iterable[Variable], parent: tuple[str, ...] = ()) -> list[VarNode]:
    return [VarNode(v.name, v.value, (*parent, v.name), v.kind) for v in variables]


def load_children(session, node: VarNode, loaded: int = PAGE) -> VarNode:
    """`node` with its first `loaded` children (rounded up to a page) read from `session`."""
    if not node.expandable:
        return node
    count = max(PAGE, -(-loaded // PAGE) * PAGE)
    kids = session.children(node.value.ref, 0, min(count, node.value.count))
    return VarNode(node.name, node.value, node.path, node.kind,
                   tuple(var_nodes(kids, node.path)), node.error)


def expand_nodes(session, nodes: Iterable[VarNode], expanded: Mapping[tuple[str, ...], int]
                 ) -> tuple[VarNode, ...]:
    """`nodes` with the children of every expanded path (path -> children shown) loaded,
    recursively, so a tree keeps its shape from one stop to the next."""
    out = []
    for node in nodes:
        if node.path in expanded and node.expandable:
            node = load_children(session, node, expanded[node.path])
            node = VarNode(node.name, node.value, node.path, node.kind,
                           expand_nodes(session, node.children or (), expanded), node.error)
        out.append(node)
    return tuple(out)


def watch_node(session, expr: str) -> VarNode:
    """A watch expression evaluated in the selected frame (its error when it cannot be)."""
    path = (WATCH_ROOT, expr)
    try:
        return VarNode(expr, session.evaluate(expr), path, "watch")
    except DebugError as e:
        return VarNode(expr, ValueInfo("", ""), path, "watch", error=str(e).rstrip("."))


# -- the whole screen ----------------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    """Everything the panes show after one engine call.

    `generation` grows with every snapshot; a value's `ref` is only good for the
    generation that read it.
    """

    generation: int
    status: Status
    breakpoints: tuple[Breakpoint, ...] = ()
    frames: tuple[FrameInfo, ...] = ()
    selected: int = 0
    file: str = ""                   # the file the Source pane shows
    line: int = 0                    # the selected frame's line (0: none)
    top: bool = True                 # the selected frame is the innermost one
    args: tuple[VarNode, ...] = ()
    locals: tuple[VarNode, ...] = ()
    watches: tuple[VarNode, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    stop: StopEvent | None = None    # the stop these came from (a new object at each stop)
    threads: FiberView | None = None  # the Threads tab (tui.fibers), when stopped
    heap: HeapView | None = None      # the Heap tab (tui.heap), when stopped and shown
    disasm: DisasmView | None = None  # the Disassembly tab (tui.disasm), when shown

    @property
    def selected_frame(self) -> FrameInfo | None:
        for f in self.frames:
            if f.level == self.selected:
                return f
        return None


def collect_snapshot(session, generation: int, *, watches: Iterable[str] = (),
                     expanded: Mapping[tuple[str, ...], int] | None = None) -> Snapshot:
    """Read what the panes show from `session` (on the thread that drives it)."""
    expanded = expanded or {}
    st = session.state
    status = status_of(st.state, st.last_stop, st.exit_code)
    bps = tuple(session.breakpoints())
    sources = session.program.sources
    try:
        default = session.default_file()
    except (DebugError, KeyError, IndexError):
        default = next(iter(sources), "")
    if st.state != "stopped":
        watch = tuple(VarNode(w, ValueInfo("", ""), (WATCH_ROOT, w), "watch",
                              error="not running") for w in watches)
        return Snapshot(generation, status, bps, file=default, watches=watch, sources=sources)
    frames = tuple(session.frames())
    selected = session.selected
    frame = next((f for f in frames if f.level == selected), frames[0] if frames else None)
    loc = frame.location if frame is not None else None
    # A fiber without frames (an idle actor, a task not started) has no variables.
    args = expand_nodes(session, var_nodes(session.args()), expanded) if frames else ()
    local = expand_nodes(session, var_nodes(session.locals()), expanded) if frames else ()
    watch = expand_nodes(session, [watch_node(session, w) for w in watches], expanded)
    return Snapshot(generation, status, bps, frames, selected,
                    loc.file if loc is not None else default, loc.line if loc else 0,
                    selected == (frames[0].level if frames else 0), args, local, watch, sources,
                    st.last_stop)
