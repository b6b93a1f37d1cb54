"""The TUI's view model, console input and engine plumbing, without a terminal.

Each test is a user's story: a Vyn program, what the debugger did, what a pane shows.
"""

from __future__ import annotations

import threading

from runtime.jit import JitOptions
from tests.tui_programs import FIB, SHAPES, SHAPES_DONE, compiled
from tui.console_input import History, complete, trailing_word
from tui.controller import Controller, EngineThread, OutputChannel, ViewState
from tui.disasm import (
    NO_REGISTERS,
    AsmLine,
    RegisterRow,
    branch_operands,
    bytecode_lines,
    collect_disasm,
    interleave,
    native_lines,
    register_grid,
    register_rows,
    with_marks,
)
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
from vyndbg.engine import Session
from vyndbg.model import (
    Breakpoint,
    FrameInfo,
    Instruction,
    Location,
    NativeInstruction,
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


# -- the Disassembly tab (vyn debug --jit=eager): rows, operands, registers -----------

EAGER = JitOptions(mode="eager", opt=0)
FIB_LINES = FIB.split("\n")


def text_of(n: int) -> str:
    return FIB_LINES[n - 1] if 1 <= n <= len(FIB_LINES) else ""


def ins(offset: int, mnemonic: str, operands: str, line: int, **flags) -> NativeInstruction:
    return NativeInstruction(0x1000 + offset, offset, b"\x90", mnemonic, operands,
                             Location("fib.vyn", line) if line else None,
                             flags.get("stmt", False), flags.get("current", False),
                             flags.get("breakpoint", False))


# -- the model: rows, operands, registers ---------------------------------------------------

def test_branch_targets_read_as_offsets_or_symbols_never_as_addresses():
    assert branch_operands("jge", "0x1063", 0x1000, 0x1400) == "<+99>"
    assert branch_operands("jmp", "*0x1010", 0x1000, 0x1400) == "*<+16>"
    assert branch_operands("callq", "0x2004", 0x1000, 0x1400,
                           lambda a: "main+4" if a == 0x2004 else "") == "<main+4>"
    # Outside native code: the address stays; other instructions' operands are untouched.
    assert branch_operands("callq", "0x9000", 0x1000, 0x1400, lambda a: "") == "0x9000"
    assert branch_operands("movabsq", "$0x1063, %rax", 0x1000, 0x1400) == "$0x1063, %rax"
    assert branch_operands("cmpq", "0x1063", 0x1000, 0x1400) == "0x1063"


def test_source_lines_come_before_their_instructions_as_gdb_disassemble_s():
    rows = native_lines(0x1000, 0x1100, [
        ins(0, "pushq", "%rbp", 3),
        ins(71, "cmpq", "$2, -8(%rbp)", 4, stmt=True, current=True, breakpoint=True),
        ins(76, "jge", "0x1063", 4),
        ins(86, "movq", "-8(%rbp), %rax", 8, stmt=True),   # forward: 5..8, at most 3
        ins(99, "movq", "-0x78(%rbp), %rax", 8),
        ins(107, "movq", "-8(%rbp), %rdx", 7, stmt=True),  # back: line 7 alone
    ], text_of)
    assert [(r.kind, r.text) for r in rows] == [
        ("source", "3    fn fib(n: Int) -> Int {"),
        ("code", "  <+0>  pushq  %rbp"),
        ("source", "4      if n < 2 {"),
        ("code", " <+71>  cmpq   $2, -8(%rbp)"),
        ("code", " <+76>  jge    <+99>"),
        ("source", "6      }"),
        ("source", "7      return fib(n - 1) + fib(n - 2)"),
        ("source", "8    }"),
        ("code", " <+86>  movq   -8(%rbp), %rax"),
        ("code", " <+99>  movq   -0x78(%rbp), %rax"),
        ("source", "7      return fib(n - 1) + fib(n - 2)"),
        ("code", "<+107>  movq   -8(%rbp), %rdx"),
    ]
    cmp = rows[3]
    assert (cmp.current, cmp.breakpoint, cmp.stmt, cmp.offset, cmp.line) == (True, True, True,
                                                                            71, 4)
    # The gutter: the breakpoint's mark, then the arrow (▷ in a calling frame).
    assert with_marks(cmp, "▶").startswith("●▶ ")
    assert with_marks(rows[4], "▶").startswith("   ")
    assert with_marks(rows[2], "▶") == rows[2].text


def test_offsets_are_right_aligned_to_the_widest():
    rows = native_lines(0x1000, 0x1400, [ins(0, "pushq", "%rbp", 3),
                                         ins(1000, "retq", "", 3)], text_of)
    assert [r.text for r in rows if r.kind == "code"] == ["   <+0>  pushq  %rbp",
                                                         "<+1000>  retq"]


def test_interleave_skips_blank_lines_moving_forward():
    rows = interleave([(1, AsmLine("code", "a")), (3, AsmLine("code", "b"))], text_of)
    # Line 2 of FIB is blank: left out.
    assert [r.text for r in rows] == [
        "1    // The first ten Fibonacci numbers, computed the slow, recursive way.", "a",
        "3    fn fib(n: Int) -> Int {", "b"]


def test_a_bytecode_listing_has_pcs_and_opcodes():
    listing = [Instruction(0, "LOADK", "1, 0", Location("fib.vyn", 11), True),
               Instruction(10, "CALL", "6, 0, 7, 1", Location("fib.vyn", 12), True,
                           current=True)]
    rows = bytecode_lines(listing, text_of)
    assert [r.text for r in rows] == ["11     for i in 0..<10 {", " 0  LOADK    1, 0",
                                      "12       println(\"fib({}) = {}\", i, fib(i))",
                                      "10  CALL     6, 0, 7, 1"]
    assert rows[3].current and rows[3].offset == 10


def test_registers_in_hex_changed_ones_marked():
    rows = register_rows([("rax", 0), ("rip", 0x7f0000001047), ("eflags", 0x97)],
                         {"rax": 0, "rip": 0x7f0000001040, "eflags": 0x97})
    assert rows == (RegisterRow("rax", "0x0"), RegisterRow("rip", "0x7f0000001047", True),
                    RegisterRow("eflags", "0x97"))
    # Nothing to compare with (the first stop): nothing changed.
    assert not any(r.changed for r in register_rows([("rax", 1)], None))


def test_the_register_grid_fits_the_width():
    rows = register_rows([("rax", 0), ("rbx", 1), ("rdi", 0x7f055de47000),
                          ("eflags", 0x97)], None)
    # Beside the listing (21 cells): one column, values with 0x, flush right.
    cell, grid, prefixed = register_grid(rows, 21)
    assert prefixed and cell == 21 and [c[0][0] for c in grid] == [
        "rax               0x0", "rbx               0x1", "rdi    0x7f055de47000",
        "eflags           0x97"]
    # Below it at 80 columns (34 cells): two columns fit without the 0x.
    cell, grid, prefixed = register_grid(rows, 34)
    assert not prefixed and cell == 16
    assert [[text for text, _ in row] for row in grid] == [
        ["rax            0", "rbx            1"], ["rdi 7f055de47000", "eflags        97"]]
    # Wide: with the 0x again, as many columns as fit.
    _, grid, prefixed = register_grid(rows, 80)
    assert prefixed and len(grid) == 1 and len(grid[0]) == 4
    assert register_grid((), 30) == (0, [], True)


# -- the model over a real session ----------------------------------------------------------

def stopped_in_native_fib() -> Session:
    """fib(1) called from fib(2) (both native), from main (bytecode)."""
    session = Session(compiled(FIB, "fib.vyn"), jit=EAGER)
    session.break_at("fib.vyn:7")
    session.run()
    session.delete([1])
    session.break_at("fib.vyn:4")
    session.cont()
    return session


def test_collect_disasm_of_a_native_frame():
    session = stopped_in_native_fib()
    try:
        view = collect_disasm(session, 1)
        assert view.native and view.function == "fib" and view.top and not view.error
        assert view.title.startswith("fib · native tier 1 · ")
        current = view.lines[view.current]
        assert current.kind == "code" and current.current and current.line == 4
        assert current.breakpoint and current.stmt
        assert current.text.split() == ["<+84>", "cmpq", "$2,", "-8(%rbp)"]
        # Its source line is marked too; every instruction is named by its offset.
        source = max(i for i in range(view.current) if view.lines[i].kind == "source")
        assert view.lines[source].current and view.lines[source].line == 4
        assert all(r.text.lstrip().startswith("<+") for r in view.lines if r.kind == "code")
        assert [r.name for r in view.registers][:2] == ["rax", "rbx"]
        assert view.registers[-2].name == "rip" and not view.registers_note
        assert int(view.registers[-2].text, 16) == session.frames()[0].address
        # A calling native frame: its return address, ▷, unwound registers only.
        session.select_frame(1)
        caller = collect_disasm(session, 2)
        assert not caller.top and caller.arrow == "▷"
        assert caller.lines[caller.current].line == 7
        assert [r.name for r in caller.registers] == ["rip", "rbp", "rsp"]
        # main runs bytecode: its bytecode listing, and no registers.
        session.select_frame(2)
        main = collect_disasm(session, 3)
        assert not main.native and main.title.startswith("main · bytecode · ")
        assert main.lines[main.current].text.split()[1] == "CALL"
        assert main.registers == () and main.registers_note == NO_REGISTERS
    finally:
        session.kill()


def test_collect_disasm_before_the_program_runs():
    session = Session(compiled(FIB, "fib.vyn"), jit=EAGER)
    assert collect_disasm(session, 1).error == "The program is not running."


def test_the_controller_reads_the_tab_only_while_it_is_shown_and_marks_changed_registers():
    channel = OutputChannel()
    c = Controller(compiled(FIB, "fib.vyn"), channel, path="fib.vyn", jit=EAGER)
    try:
        assert c.jit
        c.execute("break 7")
        snap = c.execute("run")
        assert snap.disasm is None                      # the tab is hidden
        shown = ViewState(disasm=True)
        snap = c.execute("step", shown)
        assert [f.tier.value for f in snap.frames] == ["native", "native", "bytecode"]
        first = snap.disasm
        assert first.lines[first.current].text.split()[0] == "<+84>"
        snap = c.execute("stepi", shown)
        view = snap.disasm
        assert view.lines[view.current].text.split()[:2] == ["<+89>", "jge"]
        changed = {r.name for r in view.registers if r.changed}
        assert "rip" in changed and "rax" not in changed
        # Selecting another frame in the same stop compares with that frame's registers
        # at the last stop (none: nothing is marked).
        snap = c.execute("frame 1", shown)
        assert not any(r.changed for r in snap.disasm.registers)
        assert c.disasm().function == "fib"
        # The line mode's setting applies to the tab too.
        snap = c.execute("frame 0", shown)
        assert "cmpq   $2, -8(%rbp)" in snap.disasm.lines[snap.disasm.current - 1].text
        snap = c.execute("set disassembly-flavor intel", shown)
        assert snap.disasm.lines[snap.disasm.current - 1].text.split()[1:] == [
            "cmp", "qword", "ptr", "[rbp", "-", "8],", "2"]
    finally:
        c.shutdown()


def test_without_a_jit_there_is_no_disassembly_tab_data():
    c = Controller(compiled(FIB, "fib.vyn"), OutputChannel(), path="fib.vyn")
    try:
        assert not c.jit
        c.execute("break 7")
        snap = c.execute("run", ViewState(disasm=True))
        assert snap.disasm is None
        assert {f.tier.value for f in snap.frames} == {"bytecode"}
    finally:
        c.shutdown()
