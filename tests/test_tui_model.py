"""The TUI's view model, console input and engine plumbing, without a terminal.

Each test is a user's story: a Vyn program, what the debugger did, what a pane shows.
"""

from __future__ import annotations

import threading

from tests.tui_programs import FIB, SHAPES, SHAPES_DONE, compiled
from tui.console_input import History, complete, trailing_word
from tui.controller import Controller, EngineThread, OutputChannel, ViewState
from tui.highlight import Kind, highlight
from tui.model import (
    PAGE,
    BreakpointRow,
    Status,
    breakpoints_at,
    frame_text,
    gutter_markers,
    more_label,
    short_path,
    stack_text,
    status_of,
    tier_text,
)
from tui.screens import key_name, key_text
from vyndbg.model import (
    Breakpoint,
    FrameInfo,
    Location,
    StopEvent,
    StopReason,
    Tier,
    ValueInfo,
    Variable,
)


def kinds(line_spans, text):
    return [(text[s.start:s.end], s.kind) for s in line_spans]


# -- highlighting ---------------------------------------------------------------------------

def test_highlight_marks_keywords_names_numbers_and_comments():
    text = "// count\nfn fib(n: Int) -> Int {\n  return n + 1 // done\n}\n"
    lines = highlight(text)
    rows = text.split("\n")
    assert kinds(lines[0], rows[0]) == [("// count", Kind.COMMENT)]
    assert kinds(lines[1], rows[1]) == [("fn", Kind.KEYWORD), ("fib", Kind.FUNCTION),
                                        ("Int", Kind.TYPE), ("->", Kind.OPERATOR),
                                        ("Int", Kind.TYPE)]
    assert kinds(lines[2], rows[2]) == [("return", Kind.KEYWORD), ("+", Kind.OPERATOR),
                                        ("1", Kind.NUMBER), ("// done", Kind.COMMENT)]


def test_highlight_splits_a_block_comment_and_strings_over_lines():
    text = 'let s = "a{}b" /* one\ntwo */ true'
    lines = highlight(text)
    first, second = text.split("\n")
    assert ('"a{}b"', Kind.STRING) in kinds(lines[0], first)
    assert ("/* one", Kind.COMMENT) in kinds(lines[0], first)
    assert kinds(lines[1], second)[-1] == ("true", Kind.CONSTANT)


def test_highlight_survives_source_that_does_not_lex():
    assert len(highlight('fn main() { let s = "unterminated\n}')) == 2


# -- status bar, stack, breakpoints ---------------------------------------------------------

def test_status_says_why_and_where_the_program_stopped():
    bp = Breakpoint(1, "breakpoint", True, Location("fib.vyn", 4))
    f = FrameInfo(0, "fib", Location("fib.vyn", 4), 0)
    stop = StopEvent(StopReason.BREAKPOINT, f, breakpoint=bp)
    assert status_of("stopped", stop).text == "stopped (breakpoint 1) in fib at fib.vyn:4"
    panic = StopEvent(StopReason.PANIC, f, message="index out of bounds")
    assert status_of("stopped", panic).text == \
        "panicked: index out of bounds in fib at fib.vyn:4"
    assert status_of("exited", None, 0).text == "exited (code 0)"
    dead = StopEvent(StopReason.DEADLOCK, f, message="deadlock: all fibers are blocked")
    assert status_of("stopped", dead).text == \
        "deadlock: all fibers are blocked (F4 lists them) in fib at fib.vyn:4"
    assert Status("running").text.startswith("running")
    assert Status("idle").text.startswith("not started")


def test_a_frame_reads_as_the_line_mode_prints_it():
    f = FrameInfo(0, "fib", Location("fib.vyn", 2), 0,
                  args=(Variable("n", ValueInfo("Int", "20"), "param"),))
    assert frame_text(f) == "#0  fib (n=20) at fib.vyn:2"


def test_the_call_stack_puts_the_function_and_location_first():
    f = FrameInfo(0, "fib", Location("src/deep/fib.vyn", 2), 0,
                  args=(Variable("n", ValueInfo("Int", "20"), "param"),))
    assert stack_text(f) == "#0  fib at src/deep/fib.vyn:2 (n=20)"
    assert stack_text(f, basename=True) == "#0  fib at fib.vyn:2 (n=20)"
    assert stack_text(f, args=False) == "#0  fib at src/deep/fib.vyn:2"
    main = FrameInfo(12, "main", Location("fib.vyn", 12), 0)
    assert stack_text(main) == "#12 main at fib.vyn:12"        # no `()` to read
    # The tier, spelt out where it fits, else abbreviated, else left out.
    assert [tier_text(f, room) for room in (8, 7, 1)] == ["bytecode", "bc", ""]
    native = FrameInfo(0, "fib", Location("fib.vyn", 2), 0, tier=Tier.NATIVE)
    assert [tier_text(native, room) for room in (6, 5)] == ["native", "nat"]


def test_a_long_location_loses_its_directories_before_its_line():
    assert short_path("examples/long/shapes.vyn:22 in main", 40) == \
        "examples/long/shapes.vyn:22 in main"
    assert short_path("examples/long/shapes.vyn:22 in main", 23) == \
        "…/shapes.vyn:22 in main"
    assert short_path("examples/long/shapes.vyn:22 in main", 15) == "…/shapes.vyn:2…"
    assert short_path("dprintf a/b.vyn:3", 12) == "dprintf …/b…"


def test_keys_are_named_one_way():
    assert [key_name(k) for k in ("f10", "shift+f11", "ctrl+c", "ctrl+q", "escape",
                                  "pageup", "backspace", "enter", "space", "up", "m",
                                  "question_mark", "slash")] == \
        ["F10", "Shift+F11", "Ctrl+C", "Ctrl+Q", "Esc", "PgUp", "Backspace", "Enter",
         "Space", "Up", "m", "?", "/"]
    assert key_text("delete,d,backspace") == "Delete / d / Backspace"


def test_the_status_names_the_stepping_command_that_stopped_the_program():
    c = stopped_at(FIB, "fib.vyn", "fib")
    assert c.execute("next").status.text == "stopped (next) in fib at fib.vyn:5"
    assert c.execute("step").status.reason == "step"
    # Reading the panes again (a frame selected, a breakpoint set) keeps the name.
    c.execute("break 12")
    assert c.snapshot().status.reason == "step"
    assert c.execute("finish").status.reason == "finish"
    assert c.execute("continue").status.reason == "breakpoint 2"
    c.execute("delete")
    assert c.execute("stepi").status.reason == "stepi"
    assert c.execute("u").status.reason == "until"
    # A command that does not run the program leaves the stop as it was named.
    assert c.execute("print 1").status.reason == "until"


def test_gutter_marks_enabled_disabled_and_conditional_breakpoints():
    bps = [Breakpoint(1, "breakpoint", True, Location("fib.vyn", 4)),
           Breakpoint(2, "breakpoint", False, Location("fib.vyn", 7)),
           Breakpoint(3, "breakpoint", True, Location("fib.vyn", 12), condition="i == 3"),
           Breakpoint(4, "breakpoint", False, Location("fib.vyn", 4)),
           Breakpoint(5, "breakpoint", True, Location("other.vyn", 1)),
           Breakpoint(6, "watchpoint", True, None, expression="total")]
    assert gutter_markers(bps, "fib.vyn") == {4: "●", 7: "○", 12: "◆"}
    assert breakpoints_at(bps, "fib.vyn", 4) == [1, 4]
    rows = [BreakpointRow.of(b) for b in bps]
    assert rows[2].what == "fib.vyn:12" and rows[2].condition == "i == 3"
    assert rows[5].what == "watch total"


# -- console input --------------------------------------------------------------------------

def test_history_browses_older_and_newer_and_gives_back_the_draft():
    h = History()
    for line in ("break fib", "run", "run", "  "):
        h.add(line)
    assert h.entries == ["break fib", "run"]
    assert h.older("pri") == "run"
    assert h.older("run") == "break fib"
    assert h.older("break fib") is None
    assert h.newer() == "run"
    assert h.newer() == "pri"
    assert h.newer() is None


def test_tab_completes_a_unique_word_and_lists_several():
    def cands(line, word):
        return ["backtrace", "break", "bt", "continue"]
    assert complete("cont", cands).line == "continue "
    done = complete("b", cands)
    assert done.line == "b" and done.candidates == ("backtrace", "break", "bt")
    assert complete("br", cands).line == "break "
    assert complete("xyz", cands).line == "xyz"
    assert trailing_word("break fib.vyn:1") == "fib.vyn:1"


# -- output channel -------------------------------------------------------------------------

def test_output_channel_wakes_the_reader_once_per_batch_and_keeps_order():
    wakes = []
    ch = OutputChannel(lambda: wakes.append(1))
    ch.write("stdout", "a")
    ch.write("stdout", "b\n")
    ch.write("stderr", "oops\n")
    assert len(wakes) == 1
    chunks = ch.drain()
    assert [(c.kind, c.text) for c in chunks] == [("stdout", "ab\n"), ("stderr", "oops\n")]
    ch.write("debugger", "x")
    assert len(wakes) == 2


def test_output_channel_drops_the_oldest_text_of_a_flood():
    ch = OutputChannel()
    for i in range(4000):
        ch.write("stdout" if i % 2 else "stderr", "y" * 100)
    chunks = ch.drain()
    assert chunks[0].kind == "error" and "dropped" in chunks[0].text
    assert sum(len(c.text) for c in chunks[1:]) <= 256 * 1024


# -- snapshots from a real session ----------------------------------------------------------

def stopped_at(source: str, path: str, where: str) -> Controller:
    c = Controller(compiled(source, path), OutputChannel(), path=path)
    c.execute(f"break {where}")
    c.execute("run")
    return c


def test_snapshot_of_a_breakpoint_stop_has_frames_variables_and_marks():
    c = stopped_at(FIB, "fib.vyn", "fib")
    snap = c.snapshot()
    assert snap.status.text == "stopped (breakpoint 1) in fib at fib.vyn:4"
    assert [frame_text(f) for f in snap.frames] == [
        "#0  fib (n=0) at fib.vyn:4", "#1  main () at fib.vyn:12"]
    assert (snap.file, snap.line, snap.top) == ("fib.vyn", 4, True)
    assert [a.label for a in snap.args] == ["n: Int = 0"]
    assert snap.locals == ()
    up = c.select_frame(1)
    assert (up.line, up.top, up.selected) == (12, False, 1)
    assert [v.name for v in up.locals] == ["i"]


def test_expanded_values_are_read_again_at_the_next_stop():
    c = stopped_at(SHAPES, "shapes.vyn", f"shapes.vyn:{SHAPES_DONE}")
    view = ViewState(expanded={("p",): PAGE, ("s",): PAGE, ("v",): PAGE})
    snap = c.snapshot(view)
    by_name = {n.name: n for n in snap.locals}
    assert [k.label for k in by_name["p"].children] == ["x: Int = 1", "y: Int = 2"]
    assert [k.value.text for k in by_name["s"].children] == ["3", "4"]
    v = by_name["v"]
    assert v.value.count == 250 and len(v.children) == PAGE and v.remaining == 150
    assert more_label(v.remaining) == "more… (150 not shown)"
    assert v.children[0].path == ("v", "[0]")
    page = c.children(snap.generation, ("v",), v.value.ref, 200, v.value.count)
    assert [n.name for n in page.nodes][:2] == ["[200]", "[201]"] and len(page.nodes) == 50
    assert page.nodes[1].value.text == "402"
    # A reference from an older stop is refused, not read.
    c.snapshot(view)
    assert c.children(snap.generation, ("v",), v.value.ref, 0, 250) is None


def test_an_empty_console_line_repeats_the_last_stepping_command():
    c = stopped_at(FIB, "fib.vyn", "fib")
    c.execute("delete")
    assert c.execute("next").line == 5
    assert c.execute("").line == 8          # the closing brace: fib returns from there
    back = c.execute("")
    assert back.status.function == "main" and back.status.reason == "next"
    c.execute("print 1")
    again = c.execute("")                   # `print` is not repeated, nor the `next`
    assert again.stop is back.stop and again.line == back.line


def test_watch_expressions_show_a_value_or_why_not():
    c = stopped_at(FIB, "fib.vyn", "fib")
    snap = c.snapshot(ViewState(watches=("n * 2", "nope")))
    assert snap.watches[0].label == "n * 2: Int = 0"
    assert snap.watches[1].error.startswith('No symbol "nope"')


def test_toggling_a_line_sets_then_deletes_its_breakpoint():
    c = Controller(compiled(FIB, "fib.vyn"), OutputChannel(), path="fib.vyn")
    snap = c.toggle_breakpoint("fib.vyn", 7)
    assert [(b.number, b.location.line) for b in snap.breakpoints] == [(1, 7)]
    snap = c.set_condition(1, "n == 3")
    assert snap.breakpoints[0].condition == "n == 3"
    snap = c.set_enabled(1, False)
    assert not snap.breakpoints[0].enabled
    snap = c.toggle_breakpoint("fib.vyn", 7)
    assert snap.breakpoints == ()


def test_engine_errors_reach_the_console_not_the_caller():
    ch = OutputChannel()
    c = Controller(compiled(FIB, "fib.vyn"), ch, path="fib.vyn")
    c.set_condition(9, "x")
    c.execute("frobnicate")
    text = "".join(chunk.text for chunk in ch.drain())
    assert "No breakpoint number 9." in text
    assert 'Undefined command: "frobnicate"' in text
    assert Controller.is_quit("qui") and not Controller.is_quit("next")


def test_engine_thread_runs_jobs_in_order_and_delivers_results():
    got: list = []
    done = threading.Event()

    def deliver(result):
        got.append(result)
        if len(got) == 3:
            done.set()
    engine = EngineThread(deliver)
    for i in range(3):
        engine.submit(lambda i=i: i)
    assert done.wait(5)
    engine.stop()
    assert got == [0, 1, 2]
