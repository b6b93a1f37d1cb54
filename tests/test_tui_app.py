"""`vyn debug` on a terminal, driven by Textual's pilot: keys, clicks and console commands,
and what the panes show afterwards."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable

from rich.console import Console
from textual import events
from textual.widgets import Input, TabbedContent

from runtime.jit import JitOptions
from tests.tui_programs import FIB, LOOP, PANIC, SHAPES, SHAPES_DONE, compiled
from tui.app import NO_JIT_MESSAGE, VynDebugApp, run_tui
from tui.disasm import NO_REGISTERS
from tui.screens import HelpScreen
from tui.widgets.console import CommandInput, ConsoleLog
from tui.widgets.disasm import AsmListing, DisasmPane, RegisterList
from tui.widgets.fiber_table import BLOCK, FiberTable
from tui.widgets.heap import GenerationBars, HeapPane, HeapSummary, RegionList, TypeTable
from tui.widgets.panes import BreakpointTable, CallStack, StatusBar, WatchesPane
from tui.widgets.source import SourceView
from tui.widgets.threads import FiberDetailTree, ThreadsPane
from tui.widgets.variables import More, VariableTree

# Three actors and a task. Stopped on SENT, main has just queued 40, 2, 5 for a (fiber 2),
# 7 for b (3) and "one", "two" for log (4); the task (5) waits on a channel at line 21.
ACTORS = """\
template Counter {
  var count: Int = 0
  fn handle(&mut self, n: Int) {
    self.count += n
  }
}
template Logger {
  var lines: Int = 0
  fn handle(&mut self, line: String) {
    self.lines += 1
  }
}
fn main() {
  let a = actor Counter()
  let b = actor Counter()
  let log = actor Logger()
  let ready: Channel<Int> = Channel::unbounded()
  let go: Channel<Int> = Channel::unbounded()
  spawn fn waiter() {
    ready.send(1)
    let n = go.recv().unwrap_or(0)
    log.send("waited")
  }
  a.send(1)
  ready.recv()
  a.send(40)
  a.send(2)
  a.send(5)
  log.send("one")
  log.send("two")
  b.send(7)
  println("sent")
  go.send(3)
}
"""
SENT = 32
HANDLE = 4


def run(scenario) -> None:
    asyncio.run(scenario())


async def until(pilot, predicate: Callable[[], bool], what: str = "", timeout: float = 5.0
                ) -> None:
    """Let the app work until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.005)


def screen_text(app) -> str:
    """The screen as plain text, one line per row (what the user sees)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


def rows_of(app, widget) -> list[str]:
    """The text on screen where `widget`'s content is (inside its border), row by row."""
    region = widget.content_region
    rows = screen_text(app).splitlines()[region.y:region.bottom]
    return [row[region.x:region.right] for row in rows]


def shown_in(app, widget) -> str:
    """The text on screen on `widget`'s first row."""
    return rows_of(app, widget)[0]


def status(app: VynDebugApp) -> str:
    return app.query_one(StatusBar).status.text


def console_text(app: VynDebugApp) -> str:
    return app.query_one(ConsoleLog).text


def labels(tree: VariableTree, node=None) -> list[str]:
    node = node or tree.root
    return [child.label.plain for child in node.children]


async def ready(pilot) -> None:
    await until(pilot, lambda: pilot.app.snapshot is not None, "the first snapshot")


async def command(pilot, line: str, expect: Callable[[], bool] | None = None) -> None:
    """Enter `line` at the console (typed for us: the pilot takes ~60 ms a key)."""
    app = pilot.app
    entry = app.query_one(CommandInput)
    entry.focus()
    entry.value = line
    await pilot.press("enter")
    await until(pilot, expect or (lambda: not app.engine.busy), f"`{line}`")


async def key(pilot, name: str, expect: Callable[[], bool]) -> None:
    await pilot.press(name)
    await until(pilot, expect, f"{name}")


async def tap(pilot, name: str, expect: Callable[[], bool] | None = None) -> None:
    """Press a key while the program spins: the event the pilot sends, without the pilot's
    wait for the process to go idle (it does not while the program thread runs)."""
    char = {"question_mark": "?"}.get(name)
    pilot.app.post_message(events.Key(name, char))
    await until(pilot, expect or (lambda: True), f"{name}")


def new_app(source: str, path: str) -> VynDebugApp:
    app = VynDebugApp(compiled(source, path), path=path)
    app.animation_level = "none"   # tab underlines and scrolling jump: faster tests
    return app


def fib_app() -> VynDebugApp:
    return new_app(FIB, "fib.vyn")


# -- console --------------------------------------------------------------------------------

def test_console_has_focus_and_runs_line_mode_commands():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            await ready(pilot)
            assert isinstance(app.focused, CommandInput)
            await pilot.press(*"break fib", "enter")
            await until(pilot, lambda: "Breakpoint 1 at" in console_text(app))
            assert "Breakpoint 1 at pc 0: file fib.vyn, line 4." in console_text(app)
            await command(pilot, "run", lambda: "breakpoint 1" in status(app))
            assert status(app) == "stopped (breakpoint 1) in fib at fib.vyn:4"
            await command(pilot, "print n + 41")
            await command(pilot, "info breakpoints")
            text = console_text(app)
            assert "(vyn) print n + 41\n$1 = 41" in text
            assert "breakpoint already hit 1 time" in text
            await command(pilot, "frobnicate")
            assert 'Undefined command: "frobnicate".  Try "help".' in console_text(app)
    run(scenario)


def test_console_history_and_tab_completion():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            await ready(pilot)
            entry = app.query_one(CommandInput)
            await command(pilot, "break fib")
            await command(pilot, "info breakpoints")
            await pilot.press("up")
            assert entry.value == "info breakpoints"
            await pilot.press("up")
            assert entry.value == "break fib"
            await pilot.press("down", "down")
            assert entry.value == ""
            await pilot.press(*"contin", "tab")
            assert entry.value == "continue "
            for typed, completed in [("break fi", "break fib"), ("info b", "info breakpoints "),
                                     ("p", "p")]:
                entry.value = typed
                entry.cursor_position = len(typed)
                await pilot.press("tab")
                assert entry.value == completed
            await until(pilot, lambda: "fib  fib.vyn" in console_text(app))
    run(scenario)


def test_program_output_goes_to_the_console_and_the_status_shows_the_exit():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            await ready(pilot)
            await key(pilot, "f5", lambda: status(app) == "exited (code 0)")
            await until(pilot, lambda: "fib(9) = 34" in console_text(app))
            assert "fib(0) = 0\nfib(1) = 1\n" in console_text(app)
    run(scenario)


def test_startup_commands_run_before_the_user_types():
    async def scenario():
        app = VynDebugApp(compiled(FIB, "fib.vyn"), path="fib.vyn",
                          commands=["break fib if n == 2", "run"])
        async with app.run_test() as pilot:
            await until(pilot, lambda: "breakpoint 1" in status(app))
            assert app.snapshot.args[0].label == "n: Int = 2"
            assert "(vyn) run\nStarting program: fib.vyn" in console_text(app)
    run(scenario)


def test_a_program_flooding_its_output_leaves_the_screen_responsive():
    flood = 'fn main() {\n  var i = 0\n  while true {\n    println("line {}", i)\n' \
            '    i += 1\n  }\n}\n'
    async def scenario():
        app = new_app(flood, "flood.vyn")
        async with app.run_test() as pilot:
            await ready(pilot)
            await tap(pilot, "f5", lambda: status(app).startswith("running"))
            log = app.query_one(ConsoleLog)
            await until(pilot, lambda: len(log.lines) > 1000, "a thousand lines")
            started = time.monotonic()
            await tap(pilot, "ctrl+c", lambda: "stopped (interrupt)" in status(app))
            assert time.monotonic() - started < 1.0
            assert len(log.lines) <= 5000
            # Stopped inside the loop: its head (where a back-edge ends a slice) or body.
            assert log.lines[-1][0][1].split()[0] in ("3", "4", "5")
    run(scenario)


# -- stepping keys --------------------------------------------------------------------------

def test_f5_f10_f11_and_shift_f11_step_through_the_program():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            source = app.query_one(SourceView)
            await ready(pilot)
            await command(pilot, "break 12")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            assert source.current_line == 12 and source.top_frame
            await key(pilot, "f11", lambda: "in fib" in status(app))
            assert status(app) == "stopped (step) in fib at fib.vyn:4"
            assert source.current_line == 4
            await key(pilot, "f10", lambda: source.current_line == 5)
            # The status bar names the action, not the engine's kind of stop.
            assert status(app) == "stopped (next) in fib at fib.vyn:5"
            # Toggling a breakpoint reads the panes again: the stop keeps its name.
            await key(pilot, "f9", lambda: source.marker_at(5) == "●")
            assert status(app) == "stopped (next) in fib at fib.vyn:5"
            await key(pilot, "f9", lambda: source.marker_at(5) == "")
            await key(pilot, "shift+f11", lambda: "in main" in status(app))
            assert status(app).startswith("stopped (finish) in main at fib.vyn:12")
            assert "Run till exit from #0  fib (n=0)" in console_text(app)
            await key(pilot, "f5", lambda: "fib(0) = 0" in console_text(app)
                      and "breakpoint 1" in status(app))
            await key(pilot, "f11", lambda: status(app) == "stopped (step) in fib at "
                      "fib.vyn:4")
            # Console commands too, abbreviated or not.
            await command(pilot, "n", lambda: status(app).startswith("stopped (next)"))
            await command(pilot, "stepi", lambda: status(app).startswith("stopped (stepi)"))
            await command(pilot, "until", lambda: status(app).startswith("stopped (until)"))
            await command(pilot, "c", lambda: "breakpoint 1" in status(app))
    run(scenario)


def test_keys_other_than_interrupt_wait_while_the_program_runs():
    async def scenario():
        app = new_app(LOOP, "loop.vyn")
        async with app.run_test() as pilot:
            await ready(pilot)
            await tap(pilot, "f5", lambda: status(app).startswith("running"))
            await tap(pilot, "f10", lambda: "The program is running; press Ctrl+C" in
                      console_text(app))
            await tap(pilot, "ctrl+c", lambda: "stopped (interrupt)" in status(app))
    run(scenario)


def test_ctrl_c_interrupts_an_infinite_loop_and_shows_where_it_stopped():
    async def scenario():
        app = new_app(LOOP, "loop.vyn")
        async with app.run_test() as pilot:
            source = app.query_one(SourceView)
            await ready(pilot)
            await tap(pilot, "f5", lambda: status(app).startswith("running"))
            await until(pilot, lambda: "spinning" in console_text(app))
            # The UI keeps answering while the program spins.
            await tap(pilot, "f1", lambda: isinstance(app.screen, HelpScreen))
            await tap(pilot, "escape", lambda: not isinstance(app.screen, HelpScreen))
            await tap(pilot, "ctrl+c", lambda: "stopped (interrupt)" in status(app))
            assert status(app).startswith("stopped (interrupt) in spin at loop.vyn:")
            assert source.current_line in (3, 4)
            assert "Program received signal SIGINT, Interrupt." in console_text(app)
            tree = app.query_one("#variables", VariableTree)
            await until(pilot, lambda: any(label.startswith("total: Int = ")
                                           for label in labels(tree)))
    run(scenario)


def test_a_panic_stops_at_the_panic_site_with_the_message_in_the_status_bar():
    async def scenario():
        app = new_app(PANIC, "panic.vyn")
        async with app.run_test() as pilot:
            await ready(pilot)
            await key(pilot, "f5", lambda: "panicked" in status(app))
            assert status(app) == ("panicked: index out of bounds: the len is 3 but the "
                                   "index is 7 in pick at panic.vyn:2")
            assert app.query_one(StatusBar).has_class("-panic")
            assert app.query_one(SourceView).current_line == 2
            stack = app.query_one(CallStack)
            assert stack.option_count == 2
    run(scenario)


# -- breakpoints from the Source pane -------------------------------------------------------

def test_f9_toggles_a_breakpoint_on_the_source_cursor_line():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            source = app.query_one(SourceView)
            await ready(pilot)
            await pilot.press("f6")
            assert app.focused is source
            await pilot.press(*["down"] * 6)
            assert source.cursor_line == 7
            await key(pilot, "f9", lambda: source.marker_at(7) == "●")
            table = app.query_one(BreakpointTable)
            assert [(b.number, b.location.line) for b in table.shown] == [(1, 7)]
            await key(pilot, "f9", lambda: source.marker_at(7) == "")
            assert table.shown == []
    run(scenario)


def test_clicking_the_gutter_toggles_a_breakpoint():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            source = app.query_one(SourceView)
            await ready(pilot)
            # The pane's border is row 0; line N is on row N while the file is not scrolled.
            await pilot.click(SourceView, offset=(2, 4))
            await until(pilot, lambda: source.marker_at(4) == "●", "a mark on line 4")
            await pilot.click(SourceView, offset=(2, 4))
            await until(pilot, lambda: source.marker_at(4) == "", "no mark on line 4")
            # Clicking the text moves the cursor but sets nothing.
            await pilot.click(SourceView, offset=(20, 7))
            await pilot.pause()
            assert source.cursor_line == 7 and source.marker_at(7) == ""
    run(scenario)


def test_escape_and_colon_put_the_focus_back_on_the_console():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            await ready(pilot)
            await pilot.press("f6")
            assert isinstance(app.focused, SourceView)
            await pilot.press("escape")
            assert isinstance(app.focused, CommandInput)
            await pilot.press("f7")
            assert isinstance(app.focused, CallStack)
            await pilot.press("colon")
            assert isinstance(app.focused, CommandInput)
            assert app.query_one(CommandInput).value == ""
    run(scenario)


# -- call stack and variables ---------------------------------------------------------------

def test_selecting_a_frame_moves_source_and_variables_to_it():
    async def scenario():
        app = fib_app()
        async with app.run_test() as pilot:
            source = app.query_one(SourceView)
            tree = app.query_one("#variables", VariableTree)
            stack = app.query_one(CallStack)
            await ready(pilot)
            await command(pilot, "break fib if n == 0")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            await key(pilot, "f11", lambda: "fib.vyn:5" in status(app))
            assert labels(tree) == ["n: Int = 0"]
            await pilot.press("f7", "down", "enter")
            await until(pilot, lambda: source.current_line == 12, "frame #1's line")
            assert not source.top_frame
            assert labels(tree) == ["i: Int = 0"]
            assert app.snapshot.selected == 1
            # Clicking frame #0 goes back.
            await pilot.click(CallStack, offset=(5, 1))
            await until(pilot, lambda: source.current_line == 5 and source.top_frame)
            assert labels(tree) == ["n: Int = 0"]
            assert stack.highlighted == 0
    run(scenario)


def test_variables_expand_fields_payloads_and_pages_of_elements():
    async def scenario():
        app = new_app(SHAPES, "shapes.vyn")
        async with app.run_test(size=(100, 40)) as pilot:
            tree = app.query_one("#variables", VariableTree)
            await ready(pilot)
            await command(pilot, f"break {SHAPES_DONE}")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            assert [label.split(" = ")[0] for label in labels(tree)] == \
                ["p: Point", "s: Shape", "v: Vec<Int>"]
            p, s, v = tree.root.children
            await pilot.press("f8")
            assert app.focused is tree
            await pilot.press("enter")                       # the cursor is on p
            await until(pilot, lambda: len(p.children) == 2, "p's fields")
            assert labels(tree, p) == ["x: Int = 1", "y: Int = 2"]
            s.expand()
            await until(pilot, lambda: len(s.children) == 2, "s's payload")
            assert labels(tree, s) == ["0: Int = 3", "1: Int = 4"]
            v.expand()
            await until(pilot, lambda: len(v.children) == 101, "a page of v")
            assert labels(tree, v)[1] == "[1]: Int = 2"
            assert labels(tree, v)[-1] == "more… (150 not shown)"
            more = v.children[-1]
            assert isinstance(more.data, More)
            tree.select_node(more)
            await until(pilot, lambda: len(v.children) == 201, "another page")
            tree.select_node(v.children[-1])
            await until(pilot, lambda: len(v.children) == 250, "the last page")
            assert labels(tree, v)[-1] == "[249]: Int = 498"
            # The tree keeps its shape at the next stop.
            await key(pilot, "f10", lambda: "shapes.vyn:23" in status(app))
            await until(pilot, lambda: len(tree.root.children[2].children) == 250)
            assert labels(tree, tree.root.children[0]) == ["x: Int = 1", "y: Int = 2"]
    run(scenario)


def test_watch_expressions_are_evaluated_at_each_stop():
    async def scenario():
        app = fib_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await command(pilot, "break fib")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            await pilot.click("#--content-tab-tab-watches")
            pane = app.query_one(WatchesPane)
            await pilot.click("#watch-input")
            await pilot.press(*"n * 10", "enter")
            await until(pilot, lambda: labels(pane.results) == ["n * 10: Int = 0"])
            await key(pilot, "f5", lambda: labels(pane.results) == ["n * 10: Int = 10"])
            pane.results.focus()
            await pilot.press("d")
            await until(pilot, lambda: labels(pane.results) == ["No watch expressions."])
    run(scenario)


def test_the_watch_input_shows_what_is_typed_at_80x24():
    async def scenario():
        app = fib_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await command(pilot, "break fib")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            await pilot.click("#--content-tab-tab-watches")
            entry = app.query_one("#watch-input", Input)
            await pilot.click("#watch-input")
            assert app.focused is entry
            # One row, and that row is the text (not the top and bottom of a border).
            assert entry.region.height == 1
            assert "+ watch expression (Enter adds)" in shown_in(app, entry)
            await pilot.press(*"n * 10")
            await pilot.pause()
            assert shown_in(app, entry).strip() == "n * 10"
            await pilot.press("enter")
            pane = app.query_one(WatchesPane)
            await until(pilot, lambda: labels(pane.results) == ["n * 10: Int = 0"])
            assert entry.value == ""
            assert "+ watch expression" in shown_in(app, entry)
    run(scenario)


# -- resizing ---------------------------------------------------------------------------------

def newest_output_shown(app: VynDebugApp) -> bool:
    log = app.query_one(ConsoleLog)
    return log.scroll_y + log.scrollable_content_region.height >= log.rows


def line_shown(source: SourceView, line: int) -> bool:
    top = int(source.scroll_y)
    return top <= line - 1 < top + source.scrollable_content_region.height


def test_after_a_resize_the_current_line_and_the_newest_output_stay_in_view():
    async def scenario():
        app = fib_app()
        async with app.run_test(size=(120, 40)) as pilot:
            source = app.query_one(SourceView)
            log = app.query_one(ConsoleLog)
            await ready(pilot)
            await command(pilot, "break 12 if i == 9")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            for _ in range(3):
                await command(pilot, "info frame")
            # A line wider than the console: it wraps, and its end is the newest row.
            await command(pilot, 'print "' + "x" * 150 + '"')
            assert line_shown(source, 12) and newest_output_shown(app)
            for size in [(80, 24), (60, 16), (100, 20), (61, 17), (160, 48)]:
                await pilot.resize_terminal(*size)
                await until(pilot, lambda size=size: app.size == size, f"{size}")
                await pilot.pause()
                assert source.scrollable_content_region.height >= 3, size
                assert line_shown(source, 12), size
                assert newest_output_shown(app), size
                newest = [row for row in rows_of(app, log) if row.strip()][-1]
                assert newest.rstrip().endswith('x"'), size
                # Wrapped, not cut: no row is wider than the pane, and where the console
                # has the rows for it, every x is on screen.
                assert log.virtual_size.width <= log.scrollable_content_region.width
                if log.scrollable_content_region.height >= 4:
                    rows = screen_text(app).splitlines()
                    assert sum(row.count("x") for row in rows) >= 150, size
            # Scrolled up by the user, the console stays where it was told.
            log.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            assert not log.following
            await pilot.resize_terminal(100, 30)
            await until(pilot, lambda: app.size == (100, 30))
            await pilot.pause()
            assert log.scroll_y == 0 and not newest_output_shown(app)
    run(scenario)


def test_below_the_smallest_useful_size_the_screen_says_so():
    async def scenario():
        app = fib_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await command(pilot, "break fib")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            note = app.query_one("#too-small")
            assert not note.display
            for size in [(59, 24), (80, 15), (40, 10)]:
                await pilot.resize_terminal(*size)
                await until(pilot, lambda size=size: app.size == size, f"{size}")
                await pilot.pause()
                text = " ".join(screen_text(app).split())
                assert "Make the terminal at least 60x16 to debug" in text, size
                assert f"(it is {size[0]}x{size[1]})" in text, size
                assert not app.query_one("#main").display
                assert not app.query_one("#console").display
                # The status bar stays.
                assert "STOPPED" in text
            # Keys still work: F10 steps.
            await key(pilot, "f10", lambda: status(app) == "stopped (next) in fib at "
                      "fib.vyn:5")
            await pilot.resize_terminal(60, 16)
            await until(pilot, lambda: app.size == (60, 16))
            await pilot.pause()
            assert "Make the terminal" not in screen_text(app)
            source = app.query_one(SourceView)
            assert source.scrollable_content_region.height >= 3
            assert line_shown(source, 5)
            await until(pilot, lambda: isinstance(app.focused, CommandInput))
    run(scenario)


def test_at_80x24_the_stack_reads_function_and_location_first_and_no_title_is_cut():
    async def scenario():
        app = new_app(FIB, "examples/a/much/longer/path/fib.vyn")
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await command(pilot, "break 7")
            await command(pilot, "break 4 if n == 100 || n == 200 || n == 300")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            stack = app.query_one(CallStack)
            rows = rows_of(app, stack)
            # The files lose their directories rather than the line; the tier is last.
            assert rows[0].startswith("▶ #0  fib at fib.vyn:7 (n=2)")
            assert rows[1].startswith("  #1  main at fib.vyn:12")
            assert rows[0].rstrip().endswith("bytecode")
            await pilot.click("#--content-tab-tab-breakpoints")
            table = app.query_one(BreakpointTable)
            await until(pilot, lambda: table.region.width > 0)
            await pilot.pause()
            rows = rows_of(app, table)
            assert rows[0].split() == ["#", "where", "hits", "if"]
            assert rows[1].split()[2] == "…/fib.vyn:7" and rows[1].split()[-1] == "1"
            assert rows[2].split()[2].startswith("…/fib.vyn:4")
            assert rows[2].rstrip().endswith("…")      # the condition, cut
    run(scenario)


def test_at_80x24_a_long_value_scrolls_sideways_in_variables_and_wraps_in_the_console():
    async def scenario():
        app = new_app(SHAPES, "shapes.vyn")
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await command(pilot, f"break {SHAPES_DONE}")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            tree = app.query_one("#variables", VariableTree)
            await pilot.press("f8")
            assert app.focused is tree
            await pilot.pause()
            before = " ".join(rows_of(app, tree))
            assert "v: Vec<Int> = [0, 2, 4" in before and "26, 28, 30" not in before
            for _ in range(40):
                await pilot.press("right")
            await pilot.pause()
            assert tree.scroll_x == 40
            assert "26, 28, 30" in " ".join(rows_of(app, tree))
            # The console wraps it: `print v` ends on screen, not past the pane's edge.
            await command(pilot, "print v")
            log = app.query_one(ConsoleLog)
            await pilot.pause()
            assert log.virtual_size.width <= log.scrollable_content_region.width
            assert "396, 398" in "".join(rows_of(app, log))
    run(scenario)


def test_the_threads_list_shows_whole_columns_and_scrolls_a_column_at_a_time():
    titles = {"#", "name", "mq", "state", "where"}

    def header(app, table) -> list[str]:
        return [w.rstrip("▲▼") for w in rows_of(app, table)[0].split()]

    async def scenario():
        app = new_app(ACTORS, "actors.vyn")
        async with app.run_test(size=(80, 24)) as pilot:
            table = await threads_at(pilot)
            await pilot.pause()
            seen = header(app, table)
            assert seen == ["#", "name", "mq", "state"]     # `where` does not fit
            for _ in range(6):
                await pilot.press("right")
                await pilot.pause()
                assert set(header(app, table)) <= titles
                seen += header(app, table)
            assert "where" in seen and table.scroll_x == table.max_scroll_x
            for _ in range(6):
                await pilot.press("left")
            await pilot.pause()
            assert table.scroll_x == 0 and header(app, table)[0] == "#"
    run(scenario)


# -- the Breakpoints pane -------------------------------------------------------------------

def test_breakpoints_pane_edits_the_condition_toggles_and_deletes():
    async def scenario():
        app = fib_app()
        async with app.run_test(size=(100, 30)) as pilot:
            source = app.query_one(SourceView)
            table = app.query_one(BreakpointTable)
            await ready(pilot)
            await command(pilot, "break fib")
            await command(pilot, "break 12")
            await key(pilot, "f5", lambda: "breakpoint 2" in status(app))
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            await pilot.click("#--content-tab-tab-breakpoints")
            await until(pilot, lambda: app.query_one(TabbedContent).active ==
                        "tab-breakpoints")
            table.focus()
            assert [(b.number, b.hits) for b in table.shown] == [(1, 1), (2, 1)]
            await pilot.press("c")
            await until(pilot, lambda: app.screen.__class__.__name__ == "ConditionScreen")
            app.screen.query_one(Input).value = "n == 3"
            await pilot.press("enter")
            await until(pilot, lambda: table.shown[0].condition == "n == 3")
            assert source.marker_at(4) == "◆"
            await pilot.press("space")
            await until(pilot, lambda: not table.shown[0].enabled)
            assert source.marker_at(4) == "○"
            await pilot.press("space")
            await until(pilot, lambda: table.shown[0].enabled)
            await pilot.press("down", "d")
            await until(pilot, lambda: [b.number for b in table.shown] == [1])
            assert source.marker_at(12) == ""
            # The condition holds: the next stop is fib(3).
            await key(pilot, "f5", lambda: app.snapshot.args and
                      app.snapshot.args[0].value.text == "3")
            # Escape cancels an edit.
            table.focus()
            await pilot.press("c")
            await until(pilot, lambda: app.screen.__class__.__name__ == "ConditionScreen")
            await pilot.press("escape")
            await pilot.pause()
            assert table.shown[0].condition == "n == 3"
    run(scenario)


# -- the Threads tab ------------------------------------------------------------------------

def shown_ids(table: FiberTable) -> list[int]:
    """The ids of the rows the list holds, in its order."""
    return [table.rows[i].id for i in range(table.total) if i in table.rows]


def stack_text(app: VynDebugApp) -> list[str]:
    return [str(f.function) for f in app.snapshot.frames]


async def threads_at(pilot, line: int = SENT) -> FiberTable:
    """Stopped at `line` of ACTORS with the Threads tab shown (F4)."""
    app = pilot.app
    await ready(pilot)
    await command(pilot, f"break {line}")
    await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
    table = app.query_one(FiberTable)
    await key(pilot, "f4", lambda: len(shown_ids(table)) == 5)
    assert app.focused is table
    return table


def test_the_threads_tab_lists_every_fiber_and_selecting_one_moves_the_stack():
    async def scenario():
        app = new_app(ACTORS, "actors.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            table = await threads_at(pilot)
            source = app.query_one(SourceView)
            stack = app.query_one(CallStack)
            assert app.query_one(TabbedContent).active == "tab-threads"
            assert shown_ids(table) == [1, 2, 3, 4, 5]
            rows = [table.rows[i] for i in range(5)]
            assert [f.name for f in rows] == ["main", "actor Counter#2", "actor Counter#3",
                                              "actor Logger#4", "task 5"]
            assert [f.mailbox for f in rows] == [None, 3, 1, 2, None]
            assert rows[4].waiting == "receiving from channel #2"
            assert table.selected == 1 and stack_text(app) == ["main"]
            assert stack.border_title == "Call stack of main"
            # The task: Call stack, Source and the detail follow it.
            await pilot.press("end", "enter")
            await until(pilot, lambda: stack_text(app) == ["main::waiter"], "the task's stack")
            assert stack.border_title == "Call stack of task 5"
            assert source.current_line == 21 and table.selected == 5
            detail = app.query_one(FiberDetailTree)
            assert detail.detail.info.state == "blocked"
            assert str(detail.root.children[0].label) == \
                "#5 task 5: blocked: receiving from channel #2"
            # The status bar still says where the program stopped.
            assert status(app) == f"stopped (breakpoint 1) in main at actors.vyn:{SENT}"
            # A click on main's row (the header is row 0) selects it again.
            await pilot.click(FiberTable, offset=(4, 1))
            await until(pilot, lambda: stack_text(app) == ["main"], "main's stack")
            assert source.current_line == SENT
            # `thread N` at the console selects too; the list's ▶ follows.
            await command(pilot, "thread 5")
            await until(pilot, lambda: table.selected == 5 and stack_text(app) ==
                        ["main::waiter"], "thread 5")
    run(scenario)


def test_selecting_an_actor_shows_its_queued_messages():
    async def scenario():
        app = new_app(ACTORS, "actors.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            table = await threads_at(pilot)
            await pilot.press("down", "enter")
            detail = app.query_one(FiberDetailTree)
            await until(pilot, lambda: detail.detail is not None and
                        detail.detail.info.id == 2, "actor 2's detail")
            # An actor between messages has no stack.
            assert app.snapshot.frames == ()
            stack = app.query_one(CallStack)
            assert stack.option_count == 1
            assert str(stack.get_option_at_index(0).prompt) == \
                "actor Counter#2 is not in a call."
            mailbox = next(n for n in detail.root.children
                           if str(n.label).startswith("mailbox"))
            assert str(mailbox.label) == "mailbox: 3 queued"
            assert labels(detail, mailbox) == ["40  (from main)", "2  (from main)",
                                               "5  (from main)"]
            assert table.selected == 2
    run(scenario)


def test_an_actor_stopped_in_its_handler_shows_its_state():
    async def scenario():
        app = new_app(ACTORS, "actors.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await command(pilot, f"break {HANDLE}")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            assert status(app) == \
                f"stopped (breakpoint 1) in Counter::handle at actors.vyn:{HANDLE} " \
                "[actor Counter#2]"
            assert app.query_one(CallStack).border_title == "Call stack of actor Counter#2"
            await pilot.press("f4")
            detail = app.query_one(FiberDetailTree)
            await until(pilot, lambda: detail.detail is not None)
            state = next(n for n in detail.root.children if str(n.label).startswith("self"))
            assert str(state.label) == "self: Counter = Counter { count: 0 }"
            assert labels(detail, state) == ["count: Int = 0"]
    run(scenario)


def test_the_filter_narrows_the_rows():
    async def scenario():
        app = new_app(ACTORS, "actors.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            table = await threads_at(pilot)
            count = app.query_one("#fiber-count")
            entry = app.query_one("#fiber-filter", Input)
            await pilot.press("slash")
            assert app.focused is entry
            await pilot.press(*"Counter")
            await until(pilot, lambda: shown_ids(table) == [2, 3], "the Counters")
            assert str(count.render()) == "2 of 5"
            entry.value = "blocked"
            await until(pilot, lambda: shown_ids(table) == [5], "the blocked task")
            entry.value = "-actor"
            await until(pilot, lambda: shown_ids(table) == [1, 5], "all but the actors")
            entry.value = "state:asleep"
            await until(pilot, lambda: count.has_class("-error"))
            assert "not a state" in str(count.render())
            assert shown_ids(table) == [1, 5]       # the last filter that could be read
            entry.value = ""
            await until(pilot, lambda: shown_ids(table) == [1, 2, 3, 4, 5])
            await pilot.press("enter")
            assert app.focused is table
            await pilot.press("escape", "f8")
            assert app.focused is table
    run(scenario)


def test_sorting_by_mailbox_depth_state_and_id():
    async def scenario():
        app = new_app(ACTORS, "actors.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            table = await threads_at(pilot)
            await key(pilot, "m", lambda: table.query.sort == "mailbox" and
                      len(shown_ids(table)) == 5)
            assert shown_ids(table) == [2, 4, 3, 1, 5]     # 3, 2, 1 queued, then no mailbox
            await key(pilot, "m", lambda: shown_ids(table)[:1] == [3])
            assert shown_ids(table) == [3, 4, 2, 1, 5] and not table.query.descending
            await key(pilot, "s", lambda: table.query.sort == "state" and
                      len(shown_ids(table)) == 5)
            assert [table.rows[i].state for i in range(5)] == \
                ["running", "runnable", "runnable", "runnable", "blocked"]
            # Clicking a column's header sorts by it; again, the other way.
            await pilot.click(FiberTable, offset=(2, 0))
            await until(pilot, lambda: table.query.sort == "id" and
                        shown_ids(table) == [1, 2, 3, 4, 5])
            await pilot.click(FiberTable, offset=(2, 0))
            await until(pilot, lambda: shown_ids(table) == [5, 4, 3, 2, 1])
    run(scenario)


DEADLOCK = """\
fn main() {
  let never: Channel<Int> = Channel::unbounded()
  let t = spawn fn() -> Int { never.recv().unwrap_or(0) }
  println("{}", t.join())
}
"""


def test_a_deadlock_stops_the_program_and_the_threads_tab_shows_who_waits_on_what():
    async def scenario():
        app = new_app(DEADLOCK, "deadlock.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await key(pilot, "f5", lambda: "deadlock" in status(app))
            bar = app.query_one(StatusBar)
            assert bar.has_class("-panic")
            assert status(app) == "deadlock: all fibers are blocked (F4 lists them) in main " \
                "at deadlock.vyn:4"
            table = app.query_one(FiberTable)
            await key(pilot, "f4", lambda: len(shown_ids(table)) == 2)
            assert [(table.rows[i].state, table.rows[i].waiting) for i in range(2)] == [
                ("blocked", "waiting for task 2"), ("blocked", "receiving from channel #1")]
    run(scenario)


MANY = """\
template Counter {
  var count: Int = 0
  fn handle(&mut self, n: Int) {
    self.count += n
  }
}
fn main() {
  var actors: Vec<Actor<Counter>> = vec![]
  for i in 0..<10000 {
    actors.push(actor Counter())
  }
  println("made {}", actors.len())
}
"""


def test_ten_thousand_fibers_are_read_a_screenful_at_a_time():
    async def scenario():
        app = new_app(MANY, "many.vyn")
        asked: list[int] = []
        fiber_rows = app.controller.fiber_rows

        def spy(generation, query, start, count):
            asked.append(count)
            return fiber_rows(generation, query, start, count)
        app.controller.fiber_rows = spy
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await command(pilot, "break 12")
            await pilot.press("f5")
            await until(pilot, lambda: "breakpoint 1" in status(app), timeout=30)
            table = app.query_one(FiberTable)
            await key(pilot, "f4", lambda: table.current is not None)
            assert table.total == 10_001
            started = time.monotonic()
            await key(pilot, "end", lambda: table.current is not None)
            assert table.current.name == "actor Counter#10001"
            await key(pilot, "pageup", lambda: table.current is not None)
            assert time.monotonic() - started < 2.0
            assert len(table.rows) < 4 * BLOCK
            assert asked and max(asked) <= BLOCK
            assert app.query_one(ThreadsPane).window.count < 30
    run(scenario)


# -- the Heap tab ---------------------------------------------------------------------------

# Stopped on IN_SCOPE: three Items in a Vec of a Shelf, the 200 Items `churn` made and
# dropped (garbage, until a collection), and `tmp`, an Item in the active scoped region.
HEAP = """\
class Item {
  var name: String
  var qty: Int
}
class Shelf {
  var label: String
  var items: Vec<Item>
}
fn churn() -> Int {
  var total = 0
  for i in 0..<200 {
    let junk = Item(name="junk", qty=i)
    total += junk.qty
  }
  return total
}
fn main() {
  var items: Vec<Item> = vec![]
  for i in 0..<3 {
    items.push(Item(name="apple", qty=i))
  }
  let shelf = Shelf(label="fruit", items=items)
  let total = churn()
  scoped {
    let tmp = Item(name="temp", qty=1)
    println("{}", tmp.qty)
  }
  println("{} {}", shelf.label, total)
}
"""
IN_SCOPE = 26


def type_rows(table: TypeTable) -> list[tuple[str, ...]]:
    """The live-types table as text: (type, objects, bytes) per row."""
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


def heap_shown(app: VynDebugApp) -> bool:
    pane = app.query_one(HeapPane)
    return pane.view is not None and pane.generation == app.snapshot.generation


async def heap_at(pilot, line: int = IN_SCOPE) -> HeapPane:
    """Stopped at `line` of HEAP with the Heap tab shown (F3)."""
    app = pilot.app
    await ready(pilot)
    await command(pilot, f"break {line}")
    await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
    pane = app.query_one(HeapPane)
    await key(pilot, "f3", lambda: heap_shown(app) and app.focused is pane.types)
    assert app.query_one(TabbedContent).active == "tab-heap"
    return pane


def summary(app: VynDebugApp) -> str:
    return app.query_one(HeapSummary).text


def test_the_heap_tab_shows_the_generations_the_live_types_and_the_regions():
    async def scenario():
        app = new_app(HEAP, "heap.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            pane = await heap_at(pilot)
            info = pane.view.info
            assert [g.name for g in info.generations] == ["young", "old"]
            young = info.generations[0]
            assert young.objects == 211 and young.live_bytes == 6768
            assert summary(app) == "6.6 KiB live · 0 B dead · 0 GCs"
            bars = app.query_one(GenerationBars).render().plain.splitlines()
            assert bars[0].startswith("young █") and bars[0].endswith("6.6K/4.0M")
            assert bars[1].startswith("old   ░") and bars[1].endswith("0B/1.0G")
            rows = type_rows(pane.types)
            assert rows[0] == ("Item", "204", "6,528")
            assert ("Shelf", "1", "32") in rows
            assert rows[-1] == ("total", "211", "6,768")
            # The selected fiber's region: the scoped block of main, holding `tmp`.
            regions = str(app.query_one(RegionList).render()).splitlines()
            assert regions == ["scoped regions of main: 1", "region 1 · 1 object "
                               "(1 live) · 32 B · main at heap.vyn:24"]
            # A click on the tab's title shows it too.
            await pilot.click("#--content-tab-tab-variables")
            await until(pilot, lambda: app.query_one(TabbedContent).active ==
                        "tab-variables")
            await pilot.click("#--content-tab-tab-heap")
            await until(pilot, lambda: app.query_one(TabbedContent).active == "tab-heap")
    run(scenario)


def test_the_object_view_opens_from_a_variable_and_says_why_it_is_alive():
    async def scenario():
        app = new_app(HEAP, "heap.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await command(pilot, f"break {IN_SCOPE}")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            tree = app.query_one("#variables", VariableTree)
            # The innermost block's locals first (`tmp`, in the scoped block), as gdb does.
            assert [label.split(" = ")[0] for label in labels(tree)] == \
                ["tmp: Item", "items: Vec<Item>", "shelf: Shelf", "total: Int"]
            pane = app.query_one(HeapPane)
            obj = pane.object_tree
            # `o` on an Int: not on the heap; the console says so and nothing moves.
            await pilot.press("f8", "down", "down", "down")
            assert app.focused is tree
            await key(pilot, "o", lambda: "`total` (Int) is not an object on the heap." in
                      console_text(app))
            assert app.query_one(TabbedContent).active == "tab-variables"
            # `o` on shelf: the Heap tab opens on it.
            await pilot.press("up")
            await key(pilot, "o", lambda: heap_shown(app) and pane.view.object is not None
                      and app.focused is obj)
            assert app.query_one(TabbedContent).active == "tab-heap"
            shelf = app.snapshot.locals[2].value.address
            assert labels(obj)[:3] == [f"Shelf at 0x{shelf:x}",
                                       "live · young generation · 32 B", "flags: YOUNG"]
            why = obj.root.children[3]
            assert why.label.plain == "why alive: it is a root"
            assert labels(obj, why) == \
                ["thread 1 (main), frame #0 main, variable shelf: Shelf"]
            assert labels(obj)[4:] == ['label: String = "fruit"',
                                       'items: Vec<Item> = [Item { name: "apple", qty: 0 }, '
                                       'Item { name: "apple", qty: 1 }, Item { name: "apple",'
                                       ' qty: 2 }]']
            # Its fields expand as in Variables; `o` on an element opens it.
            items = obj.root.children[5]
            obj.move_cursor(items)
            await key(pilot, "space", lambda: len(items.children) == 3)
            assert labels(obj, items)[1] == '[1]: Item = Item { name: "apple", qty: 1 }'
            await pilot.pause()         # the tree lays out its new lines
            obj.move_cursor(items.children[1])
            await key(pilot, "o", lambda: pane.view.object.view is not None and
                      pane.view.object.view.type_name == "Item")
            why = obj.root.children[3]
            assert why.label.plain == "why alive: 1 reference from a root"
            assert labels(obj, why) == [
                "thread 1 (main), frame #0 main, variable items: Vec<Item>", "[1]: Item"]
            # Enter on a step opens that object; Backspace goes back, then to the types.
            await pilot.pause()
            obj.move_cursor(why.children[0])
            await key(pilot, "enter", lambda: pane.view.object.view.type_name == "Vec<Item>")
            assert labels(obj)[1] == "live · young generation · 32 B · length 3"
            await key(pilot, "backspace", lambda: pane.view.object.view.type_name == "Item")
            await key(pilot, "backspace", lambda: pane.view.object.view.type_name == "Shelf")
            await key(pilot, "backspace", lambda: pane.view.object is None)
            assert not pane.has_class("-object")
            await until(pilot, lambda: app.focused is pane.types)
    run(scenario)


def test_an_open_vectors_elements_load_a_page_at_a_time():
    async def scenario():
        app = new_app(SHAPES, "shapes.vyn")
        async with app.run_test(size=(100, 40)) as pilot:
            await ready(pilot)
            await command(pilot, f"break {SHAPES_DONE}")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            pane = app.query_one(HeapPane)
            obj = pane.object_tree
            await pilot.press("f8", "down", "down")         # v: Vec<Int>, 250 elements
            await key(pilot, "o", lambda: heap_shown(app) and pane.view.object is not None
                      and app.focused is obj)
            assert labels(obj)[0].startswith("Vec<Int> at 0x")
            assert labels(obj)[1] == "live · young generation · 32 B · length 250"
            assert labels(obj)[4:6] == ["[0]: Int = 0", "[1]: Int = 2"]
            assert labels(obj)[-1] == "more… (150 not shown)"
            await pilot.pause()
            obj.move_cursor(obj.root.children[-1])
            await key(pilot, "enter", lambda: labels(obj)[-1] == "more… (50 not shown)")
            assert labels(obj)[-2] == "[199]: Int = 398"
            # The next stop keeps the 200 shown.
            await key(pilot, "f10", lambda: "shapes.vyn:23" in status(app))
            await until(pilot, lambda: labels(obj)[-1] == "more… (50 not shown)")
    run(scenario)


def test_collect_now_frees_the_garbage_and_the_numbers_follow():
    async def scenario():
        app = new_app(HEAP, "heap.vyn")
        async with app.run_test(size=(100, 30)) as pilot:
            pane = await heap_at(pilot)
            assert type_rows(pane.types)[0] == ("Item", "204", "6,528")
            await key(pilot, "g", lambda: pane.view.info.collections == 1)
            assert type_rows(pane.types)[0] == ("Item", "4", "128")
            assert summary(app) == "368 B live · 0 B dead · 1 GC"
            assert pane.view.collected == "freed 200 objects (6.2 KiB)"
            assert app.query_one(HeapSummary).hint == "freed 200 objects (6.2 KiB)"
            await until(pilot, lambda: "Collection #1 (full): 6.6 KiB -> 368 B in use, 200 "
                        "objects freed (6.2 KiB)" in console_text(app))
            old = pane.view.info.generations[1]
            assert (old.objects, old.collections) == (11, 1)
            # The Variables pane's values are still good after the collection.
            tree = app.query_one("#variables", VariableTree)
            assert labels(tree)[0] == 'tmp: Item = Item { name: "temp", qty: 1 }'
    run(scenario)


def test_the_heap_is_read_only_while_the_tab_is_shown():
    async def scenario():
        app = new_app(HEAP, "heap.vyn")
        reads: list[int] = []
        heap_info = app.session.heap_info

        def spy(top=20):
            reads.append(top)
            return heap_info(top)
        app.session.heap_info = spy
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            await command(pilot, "break 20")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            await key(pilot, "f10", lambda: "heap.vyn:19" in status(app))
            assert reads == []
            pane = app.query_one(HeapPane)
            await key(pilot, "f3", lambda: heap_shown(app))
            assert reads == [20]
            before = pane.view.info.live_objects
            # Each stop reads it again while it is shown: one Item more per turn.
            await key(pilot, "f10", lambda: "heap.vyn:20" in status(app) and heap_shown(app))
            await key(pilot, "f10", lambda: "heap.vyn:19" in status(app) and heap_shown(app))
            assert len(reads) == 3 and pane.view.info.live_objects == before + 1
            await pilot.click("#--content-tab-tab-variables")
            await key(pilot, "f10", lambda: "heap.vyn:20" in status(app))
            await key(pilot, "f10", lambda: "heap.vyn:19" in status(app))
            assert len(reads) == 3
            # Once the program has ended there is no heap to show.
            await command(pilot, "delete")
            await key(pilot, "f3", lambda: app.query_one(TabbedContent).active == "tab-heap")
            await key(pilot, "f5", lambda: status(app) == "exited (code 0)")
            await until(pilot, lambda: summary(app) == "The program is not running.")
            assert pane.view is None and type_rows(pane.types) == []
    run(scenario)


# -- help and quitting ----------------------------------------------------------------------

def test_f1_and_question_mark_open_a_help_screen_listing_every_binding():
    async def scenario():
        app = fib_app()
        async with app.run_test(size=(100, 50)) as pilot:
            await ready(pilot)
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            shown = " ".join(keys for _, rows in app.screen.sections for keys, _ in rows)
            keys = shown.replace(" / ", " ").split()
            for k in ("F5", "F10", "F11", "Shift+F11", "F9", "Ctrl+C", "Ctrl+Q", "Esc", ":",
                      "?", "F1", "Up", "Down", "Tab", "Space", "F4", "m", "F3", "o"):
                assert k in keys, k
            # One spelling: modifiers and named keys capitalised, letters as typed.
            for k in ("shift+F11", "ctrl+c", "ctrl+q", "up", "down", "tab", "space",
                      "enter", "backspace", "escape", "⇧F11", "^q"):
                assert k not in keys, k
            threads = dict(app.screen.sections)["Threads"]
            assert ("/", "Type a filter (blocked, actor, Counter, ...)") in threads
            heap = dict(app.screen.sections)["Heap"]
            assert [k for k, _ in heap] == ["g", "Backspace", "o",
                                            "Enter (why alive)"]
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
            await pilot.press("f6", "question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
    run(scenario)


def test_quit_from_the_console_or_ctrl_q_even_while_running():
    async def scenario():
        app = new_app(LOOP, "loop.vyn")
        async with app.run_test() as pilot:
            await ready(pilot)
            await tap(pilot, "f5", lambda: status(app).startswith("running"))
            await tap(pilot, "ctrl+q")
        assert app.return_code == 0
        app = fib_app()
        async with app.run_test() as pilot:
            await ready(pilot)
            await command(pilot, "qui")
        assert app.return_code == 0
    run(scenario)


def test_run_tui_returns_the_apps_exit_code(monkeypatch):
    ran = {}

    def fake_run(self):
        ran["path"] = self.path
        ran["args"] = self.controller.line_mode.args
        return None
    monkeypatch.setattr(VynDebugApp, "run", fake_run)
    assert run_tui(compiled(FIB, "fib.vyn"), argv=["a", "b"], path="fib.vyn") == 0
    assert ran == {"path": "fib.vyn", "args": ["a", "b"]}


# -- under a JIT (vyn debug --jit=eager): the stack's tiers, the Disassembly tab ---------

def jit_app() -> VynDebugApp:
    app = VynDebugApp(compiled(FIB, "fib.vyn"), path="fib.vyn",
                      jit=JitOptions(mode="eager", opt=0))
    app.animation_level = "none"
    return app


def listing_rows(app) -> list[str]:
    return rows_of(app, app.query_one(AsmListing))


def current_row(app) -> str:
    """The row on screen with the arrow (empty when it is not on screen)."""
    return next((r for r in listing_rows(app) if r[1:2] in ("▶", "▷")), "")


async def native_fib_stop(pilot) -> None:
    app = pilot.app
    await ready(pilot)
    await command(pilot, "break 7")
    await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
    await key(pilot, "f11", lambda: "fib.vyn:4" in status(app))


def disasm_shown(app, generation: int | None = None) -> bool:
    pane = app.query_one(DisasmPane)
    return pane.view is not None and pane.generation == (
        generation if generation is not None else app.snapshot.generation)


def test_the_stack_shows_each_frames_tier_under_a_jit():
    async def scenario():
        app = jit_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await native_fib_stop(pilot)
            rows = [r.split() for r in rows_of(app, app.query_one(CallStack))]
            assert [r[-1] for r in rows] == ["native", "native", "bytecode"]
            tabs = app.query_one(TabbedContent)
            assert [tabs.get_tab(p).label_text for p in
                    ("tab-threads", "tab-disasm")] == ["Thr", "Asm"]
            head = rows_of(app, tabs)[0]
            assert head.split() == ["Vars", "Brk", "Watch", "Thr", "Heap", "Asm"]
    run(scenario)


def test_f2_shows_the_disassembly_and_it_follows_the_current_instruction():
    async def scenario():
        app = jit_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await native_fib_stop(pilot)
            await command(pilot, "break 4")
            await key(pilot, "f2", lambda: disasm_shown(app) and isinstance(
                app.focused, AsmListing))
            await pilot.pause()
            assert current_row(app).startswith("●▶   <+84>  cmpq")
            assert rows_of(app, app.query_one("#asm-title"))[0].startswith(
                "fib · native tier 1")
            # `s` steps one instruction: the arrow moves, the status bar says stepi, and
            # the registers that changed are marked (rip among them, in view).
            await key(pilot, "s", lambda: "stepi" in status(app) and disasm_shown(app))
            await pilot.pause()
            assert current_row(app).startswith(" ▶   <+89>  jge    <+122>")
            regs = app.query_one(RegisterList)
            assert "rip" in {r.name for r in regs.rows if r.changed}
            assert any("rip" in row for row in rows_of(app, regs))
            # Lines away, the arrow stays on screen: F10 steps by line.
            for _ in range(4):
                generation = app.snapshot.generation
                await key(pilot, "f10", lambda g=generation: app.snapshot.generation > g
                          and disasm_shown(app))
                await pilot.pause()
                if app.snapshot.frames[0].tier.value != "native":
                    break
                assert current_row(app), listing_rows(app)
    run(scenario)


def test_a_bytecode_frame_shows_its_bytecode_and_no_registers():
    async def scenario():
        app = jit_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await native_fib_stop(pilot)
            await key(pilot, "f2", lambda: disasm_shown(app))
            await command(pilot, "frame 2", lambda: disasm_shown(app) and app.query_one(
                DisasmPane).view.function == "main")
            await pilot.pause()
            assert current_row(app).split()[1:3] == ["6", "CALL"]
            assert current_row(app)[1] == "▷"
            assert rows_of(app, app.query_one(RegisterList))[0].strip() == NO_REGISTERS
            # Back in fib: machine code again.
            await command(pilot, "frame 0", lambda: disasm_shown(app) and app.query_one(
                DisasmPane).view.native)
    run(scenario)


def test_the_registers_stand_beside_the_listing_when_there_is_room():
    async def scenario():
        app = jit_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await native_fib_stop(pilot)
            await key(pilot, "f2", lambda: disasm_shown(app))
            pane = app.query_one(DisasmPane)
            assert pane.has_class("-stacked")
            await pilot.resize_terminal(160, 40)
            regs = app.query_one(RegisterList)
            await until(pilot, lambda: not pane.has_class("-stacked")
                        and len(rows_of(app, regs)) > 3)
            await pilot.pause()
            listing = app.query_one(AsmListing)
            assert regs.region.x > listing.region.x and regs.region.y == listing.region.y
            names = [r.split()[0] for r in rows_of(app, regs) if r.strip()]
            assert names[:3] == ["rax", "rbx", "rcx"]
            assert current_row(app).startswith(" ▶   <+84>")
            # The smallest screen: the panes make way; back, the tab still shows.
            await pilot.resize_terminal(50, 12)
            await pilot.pause()
            await pilot.resize_terminal(80, 24)
            await until(pilot, lambda: pane.has_class("-stacked"))
            await pilot.pause()
            assert current_row(app).startswith(" ▶   <+84>")
    run(scenario)


def test_the_tab_is_read_when_shown_and_keeps_the_users_scroll_after_a_toggle():
    async def scenario():
        app = jit_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await native_fib_stop(pilot)
            assert app.query_one(DisasmPane).view is None      # not read while hidden
            await key(pilot, "f2", lambda: disasm_shown(app))
            listing = app.query_one(AsmListing)
            await pilot.press("end")
            await until(pilot, lambda: not current_row(app))
            top = listing.scroll_y
            # A breakpoint toggled (no new stop): the listing stays where the user put it.
            generation = app.snapshot.generation
            await key(pilot, "f9", lambda: app.snapshot.generation > generation
                      and disasm_shown(app))
            await pilot.pause()
            assert listing.scroll_y == top
            # `c` brings the current instruction back.
            await pilot.press("c")
            await until(pilot, lambda: current_row(app) != "")
            # Scrolled away again, the next stop brings it back too.
            await pilot.press("end")
            await until(pilot, lambda: not current_row(app))
            await key(pilot, "n", lambda: "nexti" in status(app) and disasm_shown(app))
            await until(pilot, lambda: current_row(app)[1:].startswith("▶   <+89>"))
    run(scenario)


def test_without_a_jit_f2_says_how_to_get_machine_code():
    async def scenario():
        app = VynDebugApp(compiled(FIB, "fib.vyn"), path="fib.vyn")
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            assert not app.query(DisasmPane)
            tabs = app.query_one(TabbedContent)
            assert rows_of(app, tabs)[0].split() == ["Vars", "Brk", "Watch", "Threads", "Heap"]
            await pilot.press("f2")
            await until(pilot, lambda: NO_JIT_MESSAGE.strip() in console_text(app))
    run(scenario)


def test_the_help_screen_lists_the_disassembly_keys_under_a_jit():
    async def scenario():
        app = jit_app()
        async with app.run_test(size=(100, 50)) as pilot:
            await ready(pilot)
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            sections = dict(app.screen.sections)
            assert ("F2", "Show the Disassembly tab (with --jit): the frame's machine code "
                          "and registers") in sections["Everywhere"]
            assert [k for k, _ in sections["Disassembly"]] == [
                "s", "n", "c", "Up / Down / PgUp / PgDn / Home / End"]
    run(scenario)
