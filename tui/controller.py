"""The TUI's side of the engine: blocking calls on one engine thread, output from any thread.

`Controller` turns a user's action (a key, a console line, a click on a breakpoint) into
Session calls and returns the Snapshot the panes show next. Its methods block until the
program stops, so they run on an `EngineThread`, never on the UI thread; the thread hands
each result to a callback (the app posts it as a message). Console text (program output,
debugger replies, errors) goes through an `OutputChannel` from whichever thread writes it.
None of this imports Textual.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from tui.disasm import DisasmView, collect_disasm
from tui.fibers import (
    FiberQuery,
    FiberRows,
    FiberWindow,
    collect_fibers,
    fetch_rows,
)
from tui.heap import HeapRequest, HeapView, collect_heap, collect_text
from tui.model import (
    PAGE,
    Snapshot,
    VarNode,
    breakpoints_at,
    collect_snapshot,
    var_nodes,
)
from vyndbg import commands as cmds
from vyndbg.commands import CommandError
from vyndbg.core import CoreSession, core_line_mode, load_dump
from vyndbg.linemode import LineMode
from vyndbg.model import DebugError, Output

OUTPUT_LIMIT = 256 * 1024   # characters kept while the UI has not drained the channel
# The commands an empty console line repeats, as at the line mode's prompt.
REPEATABLE = frozenset({"next", "step", "stepi", "nexti", "continue", "until", "finish",
                        "up", "down", "list", "backtrace"})
# The commands whose stop the status bar names after them: the engine calls the stop of
# each of `next`, `until`, `advance`... a `step` (and a `finish` from the outermost frame
# one too), but F10 should read `stopped (next)`.
ACTIONS = frozenset({"next", "step", "stepi", "nexti", "until", "advance", "finish"})


@dataclass(frozen=True)
class Chunk:
    """Console text of one kind: stdout | stderr | dprintf | debugger | error | echo."""

    kind: str
    text: str


class OutputChannel:
    """A thread-safe buffer of console text. `notify` runs (on the writing thread) when the
    buffer goes from empty to not empty, so a reader is woken once per batch; a program
    that floods output loses the oldest undrained text, not the UI's responsiveness."""

    def __init__(self, notify: Callable[[], None] | None = None):
        self.notify = notify
        self._lock = threading.Lock()
        self._chunks: list[Chunk] = []
        self._size = 0
        self._dropped = 0

    def write(self, kind: str, text: str) -> None:
        if not text:
            return
        with self._lock:
            was_empty = not self._chunks
            if self._chunks and self._chunks[-1].kind == kind:
                self._chunks[-1] = Chunk(kind, self._chunks[-1].text + text)
            else:
                self._chunks.append(Chunk(kind, text))
            self._size += len(text)
            while self._size > OUTPUT_LIMIT and len(self._chunks) > 1:
                old = self._chunks.pop(0)
                self._size -= len(old.text)
                self._dropped += len(old.text)
        if was_empty and self.notify is not None:
            self.notify()

    def on_output(self, out: Output) -> None:
        """The Session's `on_output` callback (called on the program thread)."""
        self.write(out.stream, out.text)

    def drain(self) -> list[Chunk]:
        """Everything written since the last drain, in order."""
        with self._lock:
            chunks, self._chunks, self._size = self._chunks, [], 0
            dropped, self._dropped = self._dropped, 0
        if dropped:
            chunks.insert(0, Chunk("error", f"[{dropped} characters of output dropped]\n"))
        return chunks


class _Stream:
    """A text file the line mode writes its replies to."""

    def __init__(self, channel: OutputChannel, kind: str):
        self.channel = channel
        self.kind = kind

    def write(self, text: str) -> int:
        self.channel.write(self.kind, text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@dataclass(frozen=True)
class ViewState:
    """What the UI shows beyond the engine's state: watch expressions, expanded tree
    paths (path -> number of children shown), the Threads tab's rows on screen and what
    the Heap tab shows (each None while its tab is hidden), and whether the Disassembly
    tab is shown. Passed by value to each job."""

    watches: tuple[str, ...] = ()
    expanded: Mapping[tuple[str, ...], int] | None = None
    fibers: FiberWindow | None = None
    heap: HeapRequest | None = None
    disasm: bool = False


@dataclass(frozen=True)
class Children:
    """A page of a value's children, loaded for the tree node at `path`."""

    generation: int
    path: tuple[str, ...]
    start: int
    nodes: tuple[VarNode, ...]
    total: int


class Controller:
    """User actions -> line-mode commands and Session calls -> the next Snapshot.

    Owns the LineMode (and through it the Session) of one program. Call its methods from
    one thread only, except `interrupt`, which any thread may call.
    """

    def __init__(self, program, channel: OutputChannel, *, path: str = "",
                 argv: list[str] | None = None, heap_limit: int | None = None,
                 max_depth: int | None = None, line_mode: LineMode | None = None,
                 core: str | None = None, **session_options):
        """`line_mode`: one built already (its replies then go to the console); `core`: a
        post-mortem dump to open read-only (vyndbg/core.py's CoreLineMode), instead of
        `program`.
        Raises vyndbg.core.DumpError when the dump cannot be read."""
        self.channel = channel
        if core is not None:
            line_mode = core_line_mode(CoreSession(load_dump(core), core))
        if line_mode is not None:
            line_mode.out, line_mode.err = (_Stream(channel, "debugger"),
                                            _Stream(channel, "error"))
            line_mode.interactive = False
        else:
            line_mode = LineMode(program, path=path, args=argv,
                                 out=_Stream(channel, "debugger"),
                                 err=_Stream(channel, "error"), interactive=False,
                                 heap_limit=heap_limit, max_depth=max_depth,
                                 **session_options)
        self.line_mode = line_mode
        self.session = self.line_mode.session
        # A dump: the status bar says CORE; the panes only look (the line mode refuses
        # the rest, F5 and F10 too).
        self.core = isinstance(self.session, CoreSession)
        # Program output keeps its stream (stdout, stderr, dprintf) for the console's
        # colours, rather than being merged into the line mode's replies.
        self.session.on_output = channel.on_output
        self.generation = 0
        self._last = ""          # the command an empty line repeats
        self._action: tuple[object, str] | None = None   # (a stop, the command that made it)
        # Registers by (fiber, frame level), read at this stop and at the one before (the
        # Disassembly tab highlights the ones that changed since the last stop), and the
        # selected frame's key.
        self._registers_stop: object = None
        self._registers_now: dict[tuple, dict[str, int]] = {}
        self._registers_before: dict[tuple, dict[str, int]] = {}
        self._registers_key: tuple = ()

    @property
    def jit(self) -> bool:
        """The program runs with a JIT (`vyn debug --jit=auto|eager`): frames have tiers
        and the Disassembly tab shows machine code."""
        return getattr(self.session, "jit_mode", "off") not in ("off", None, "")

    def banner(self) -> None:
        """A dump's first lines in the console, as the line mode prints them (`Core was
        generated by ...`); nothing for a program."""
        if self.core:
            self._guard(self.line_mode.banner)

    @staticmethod
    def is_quit(line: str) -> bool:
        """The line is `quit` (or an abbreviation of it): the app closes."""
        word = line.strip().split(None, 1)[0] if line.strip() else ""
        if not word:
            return False
        try:
            return cmds.lookup(cmds.COMMANDS, word).name == "quit"
        except CommandError:
            return False

    def completions(self, line: str, word: str) -> list[str]:
        """The words that can replace `word` at the end of `line` (LineMode.complete)."""
        try:
            return self.line_mode.complete(line, word)
        except DebugError:
            return []

    def snapshot(self, view: ViewState = ViewState(), collected: str = "") -> Snapshot:
        self.generation += 1
        try:
            snap = collect_snapshot(self.session, self.generation, watches=view.watches,
                                    expanded=view.expanded)
        except DebugError as e:
            self.channel.write("error", f"{e}\n")
            snap = collect_snapshot(self.session, self.generation)
        if self.core:
            snap = replace(snap, status=replace(snap.status, core=True))
        if snap.status.state != "stopped":
            return snap
        if self._action is not None and self._action[0] is snap.stop \
                and snap.status.reason in ("step", "finish"):
            snap = replace(snap, status=replace(snap.status, reason=self._action[1]))
        try:
            threads = collect_fibers(self.session, view.fibers, self.generation,
                                     snap.frames)
        except DebugError as e:
            self.channel.write("error", f"{e}\n")
            return snap
        snap = replace(snap, threads=threads)
        if view.heap is not None:
            snap = replace(snap, heap=self._heap(view.heap, view.expanded, collected))
        if self.jit:
            self._note_registers(snap)
            if view.disasm:
                snap = replace(snap, disasm=self._disasm())
        return snap

    def _note_registers(self, snap: Snapshot) -> None:
        """At a new stop, what was read at the last one becomes the comparison; the
        selected native frame's registers are read at every stop (a cheap call), so the
        tab highlights the right ones even when it was hidden at the last stop."""
        if snap.stop is not self._registers_stop:
            self._registers_before, self._registers_now = self._registers_now, {}
            self._registers_stop = snap.stop
        frame = snap.selected_frame
        detail = snap.threads.detail if snap.threads is not None else None
        self._registers_key = (detail.info.id if detail is not None else None,
                               frame.level if frame is not None else None)
        if frame is None or self._registers_key in self._registers_now \
                or frame.tier.value != "native":
            return
        try:
            self._registers_now[self._registers_key] = dict(self.session.registers())
        except DebugError:
            pass

    def _disasm(self) -> DisasmView:
        """The Disassembly tab (tui.disasm.collect_disasm); an error is shown in the tab."""
        try:
            return collect_disasm(self.session, self.generation,
                                  self._registers_before.get(self._registers_key))
        except DebugError as e:
            return DisasmView(self.generation, error=str(e))
        except Exception as e:  # noqa: BLE001 - the tab says so; the other panes still show
            return DisasmView(self.generation,
                              error=f"internal error: {type(e).__name__}: {e}")

    def disasm(self) -> DisasmView | None:
        """The Disassembly tab, read now (the tab was just shown); None when the program
        is not stopped."""
        if self.session.state.state != "stopped":
            return None
        return self._disasm()

    def _heap(self, request: HeapRequest, expanded, collected: str = "") -> HeapView:
        """The Heap tab (tui.heap.collect_heap); an error is shown in the tab."""
        try:
            return collect_heap(self.session, request, self.generation, expanded, collected)
        except DebugError as e:
            return HeapView(request, self.generation, error=str(e))
        except Exception as e:  # noqa: BLE001 - the tab says so; the other panes still show
            return HeapView(request, self.generation,
                            error=f"internal error: {type(e).__name__}: {e}")

    def _guard(self, action: Callable[[], object]) -> None:
        """Run `action`; its errors go to the console, never up into the UI."""
        try:
            action()
        except DebugError as e:
            self.channel.write("error", f"{e}\n")
        except Exception as e:  # noqa: BLE001 - the UI shows errors instead of crashing
            self.channel.write("error", f"internal error: {type(e).__name__}: {e}\n")

    # -- actions -------------------------------------------------------------------------

    def execute(self, line: str, view: ViewState = ViewState(), *, echo: bool = False
                ) -> Snapshot:
        """A console line, as the line mode runs it (after echoing it, with `echo`)."""
        if echo:
            self.channel.write("echo", f"(vyn) {line}\n")
        line = self._repeat_or_remember(line)
        if line:
            before = self.session.state.last_stop
            self._guard(lambda: self.line_mode.execute(line))
            self._remember_action(line, before)
        return self.snapshot(view)

    def _remember_action(self, line: str, before: object) -> None:
        """After `line`: if it was a stepping command that stopped the program anew, the
        status bar names that stop after it (`stopped (next)`, `stopped (until)`)."""
        stop = self.session.state.last_stop
        if stop is None or stop is before:
            return
        try:
            name = self.line_mode.lookup(line.strip())[0].name
        except CommandError:
            return
        self._action = (stop, name) if name in ACTIONS else None

    def _repeat_or_remember(self, line: str) -> str:
        """gdb's habit (as vyndbg/prompt.py): an empty line repeats the last stepping or
        listing command."""
        if not line.strip():
            return "list" if self._last.split()[:1] in (["list"], ["l"]) else self._last
        self._last = ""
        try:
            if self.line_mode.lookup(line.strip())[0].name in REPEATABLE:
                self._last = line.strip()
        except CommandError:
            pass
        return line

    def resume(self, how: str, view: ViewState = ViewState()) -> Snapshot:
        """A stepping key: `continue` (which runs the program when it has not started or
        has ended), `next`, `step` or `finish`."""
        if how == "continue" and self.session.state.state != "stopped":
            how = "run"
        return self.execute(how, view)

    def toggle_breakpoint(self, file: str, line: int, view: ViewState = ViewState()
                          ) -> Snapshot:
        """Delete the breakpoints on file:line, or set one there if there are none."""
        def toggle() -> None:
            numbers = breakpoints_at(self.session.breakpoints(), file, line)
            if numbers:
                self.session.delete(numbers)
            else:
                bp = self.session.break_at(f"{file}:{line}")
                self.line_mode.write(self.line_mode.render.breakpoint_set(bp))
        self._guard(toggle)
        return self.snapshot(view)

    def set_enabled(self, number: int, enabled: bool, view: ViewState = ViewState()
                    ) -> Snapshot:
        self._guard(lambda: self.session.enable([number], enabled))
        return self.snapshot(view)

    def delete(self, number: int, view: ViewState = ViewState()) -> Snapshot:
        self._guard(lambda: self.session.delete([number]))
        return self.snapshot(view)

    def set_condition(self, number: int, expr: str | None, view: ViewState = ViewState()
                      ) -> Snapshot:
        self._guard(lambda: self.session.condition(number, expr or None))
        return self.snapshot(view)

    def select_frame(self, level: int, view: ViewState = ViewState()) -> Snapshot:
        self._guard(lambda: self.session.select_frame(level))
        return self.snapshot(view)

    def select_thread(self, number: int, view: ViewState = ViewState()) -> Snapshot:
        """Make fiber `number` the selected one (`thread N`): the stack, variables and
        watches follow it."""
        self._guard(lambda: self.session.select_thread(number))
        return self.snapshot(view)

    def fiber_rows(self, generation: int, query: FiberQuery, start: int, count: int
                   ) -> FiberRows | None:
        """Rows [start, start+count) of the Threads tab's `query` (None if the program has
        moved on since `generation`)."""
        if generation != self.generation or self.session.state.state != "stopped":
            return None
        try:
            return fetch_rows(self.session, query, start, count, generation)
        except DebugError as e:
            return FiberRows(query, start, 0, generation=generation, error=str(e))

    def heap(self, request: HeapRequest, expanded: Mapping[tuple[str, ...], int] | None = None
             ) -> HeapView | None:
        """The Heap tab for `request` (another object, or the tab just shown), read now;
        None when the program is not stopped."""
        if self.session.state.state != "stopped":
            return None
        return self._heap(request, expanded)

    def collect(self, view: ViewState = ViewState()) -> Snapshot:
        """`g` in the Heap tab: a full collection now (`Session.collect`, the line mode's
        `gc`); the console says what it freed as `gc` does, and every pane is read again
        (values the panes show stay alive: the engine keeps what it handed out)."""
        freed = ""

        def run() -> None:
            nonlocal freed
            result = self.session.collect()
            freed = collect_text(result)
            self.line_mode.write(self.line_mode.render.gc_result(result))
        self._guard(run)
        return self.snapshot(view, freed)

    def children(self, generation: int, path: tuple[str, ...], ref: object, start: int,
                 total: int) -> Children | None:
        """A page of children of the value `ref` read at `generation` (None if the program
        has moved on since: the reference is stale)."""
        if generation != self.generation or self.session.state.state != "stopped":
            return None
        nodes: list[VarNode] = []

        def load() -> None:
            nodes.extend(var_nodes(self.session.children(ref, start, PAGE), path))
        self._guard(load)
        return Children(generation, path, start, tuple(nodes), total)

    def interrupt(self) -> None:
        """Stop the running program (safe from any thread)."""
        self.session.interrupt()

    def shutdown(self) -> None:
        """Stop the program's thread, if there is one."""
        try:
            self.session.kill()
        except Exception:  # noqa: BLE001 - leaving anyway
            pass


class EngineThread:
    """One thread that runs jobs in order and hands each result to `deliver`."""

    def __init__(self, deliver: Callable[[object], None]):
        self.deliver = deliver
        self._jobs: queue.Queue = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name="vyn-tui-engine", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """A job is queued or running."""
        with self._lock:
            return self._pending > 0

    def submit(self, job: Callable[[], object]) -> None:
        with self._lock:
            self._pending += 1
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(None)

    def _main(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                result = job()
            except Exception as e:  # noqa: BLE001 - keep the thread alive
                result = e
            with self._lock:
                self._pending -= 1
            if result is not None:
                self.deliver(result)

