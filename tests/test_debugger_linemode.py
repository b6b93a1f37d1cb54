"""The line mode, as a gdb user sees it: running, stepping, breakpoints, stops.

In the style of CPython's test_bdb: a Vyn program, the commands typed at `(vyn) `, and
the transcript the user reads (exact, with the process id shown as 4242).
"""

from __future__ import annotations

import _thread
import functools
import io
import re
import threading

import pytest

from compiler.lower import compile_file
from vyndbg.linemode import LineMode
from vyndbg.linemode_breakpoints import parse_numbers, split_top_level, unescape

PROMPT = "(vyn) "

FIB = """\
fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  var total = 0
  for i in 0..<5 {
    total += fib(i)
  }
  println("total = {}", total)
}
"""

PANICS = """\
fn div(a: Int, b: Int) -> Int {
  return a / b
}

fn main() {
  println("before")
  let zero = 0
  println("{}", div(10, zero))
  println("after")
}
"""

SPIN = """\
fn main() {
  var i = 0
  while true {
    i += 1
  }
}
"""

OUTPUT = """\
fn main() {
  println("one")
  dbg(2)
  println("three")
}
"""


@functools.cache
def compiled(name: str, source: str):
    output = compile_file(name, source)
    assert output.program is not None, output.diagnostics
    return output.program


def normalize(text: str) -> str:
    return re.sub(r"\(process \d+\)", "(process 4242)", text)


def debugger(source: str = FIB, name: str = "fib.vyn", **kw) -> tuple[LineMode, io.StringIO]:
    out = io.StringIO()
    return LineMode(compiled(name, source), path=name, out=out, **kw), out


def transcript(source: str, *commands: str, name: str = "fib.vyn") -> list[str]:
    """The lines a user sees typing `commands` at the prompt, prompts included."""
    lm, out = debugger(source, name)
    try:
        for command in commands:
            out.write(PROMPT + command + "\n")
            lm.execute(command)
    finally:
        lm.close()
    return normalize(out.getvalue()).splitlines()


def output_of(lines: list[str], command: str, nth: int = 0) -> list[str]:
    """The lines printed by the nth `command` in a transcript."""
    starts = [i for i, line in enumerate(lines) if line == PROMPT + command]
    start = starts[nth] + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(PROMPT)),
               len(lines))
    return lines[start:end]


# -- running ---------------------------------------------------------------------------------

def test_run_to_a_breakpoint_then_exit():
    assert transcript(FIB, "break fib if n == 3", "run", "continue", "continue") == [
        "(vyn) break fib if n == 3",
        "Breakpoint 1 at pc 0: file fib.vyn, line 2.",
        "(vyn) run",
        "Starting program: fib.vyn",
        "",
        "Breakpoint 1, fib (n=3) at fib.vyn:2",
        "2\t  if n < 2 {",
        "(vyn) continue",
        "Continuing.",
        "",
        "Breakpoint 1, fib (n=3) at fib.vyn:2",
        "2\t  if n < 2 {",
        "(vyn) continue",
        "Continuing.",
        "total = 7",
        "[Inferior 1 (process 4242) exited normally]",
    ]


def test_run_with_arguments_and_rerun_reuses_them():
    lm, out = debugger()
    lm.execute("run a 'b c'")
    assert out.getvalue().startswith("Starting program: fib.vyn a b c\n")
    assert lm.session.argv == ["fib.vyn", "a", "b c"]
    lm.execute("r")
    assert out.getvalue().count("Starting program: fib.vyn a b c\n") == 2


def test_run_while_running_restarts():
    lines = transcript(FIB, "break main", "run", "run")
    assert output_of(lines, "run", 1) == [
        "Starting program: fib.vyn", "", "Breakpoint 1, main () at fib.vyn:9",
        "9\t  var total = 0"]


def test_start_stops_at_main_with_a_temporary_breakpoint():
    lines = transcript(FIB, "start", "info breakpoints")
    assert output_of(lines, "start") == [
        "Temporary breakpoint 1 at pc 0: file fib.vyn, line 9.",
        "Starting program: fib.vyn",
        "",
        "Temporary breakpoint 1, main () at fib.vyn:9",
        "9\t  var total = 0",
    ]
    assert output_of(lines, "info breakpoints") == ["No breakpoints or watchpoints."]


def test_exit_code_is_printed_in_decimal_after_a_panic():
    lines = transcript(PANICS, "run", "bt", "info locals", "print a * 2", "continue",
                       name="div.vyn")
    assert output_of(lines, "run") == [
        "Starting program: div.vyn",
        "before",
        "",
        "Program received panic: division by zero.",
        "div (a=10, b=0) at div.vyn:2",
        "2\t  return a / b",
    ]
    assert output_of(lines, "bt") == ["#0  div (a=10, b=0) at div.vyn:2",
                                      "#1  main () at div.vyn:8"]
    assert output_of(lines, "info locals") == ["No locals."]
    assert output_of(lines, "print a * 2") == ["$1 = 20"]
    assert output_of(lines, "continue") == [
        "Continuing.", "panic: division by zero", "  at div (div.vyn:2)",
        "  at main (div.vyn:8)", "[Inferior 1 (process 4242) exited with code 101]"]


def test_program_output_is_interleaved_where_it_was_written():
    lines = transcript(OUTPUT, "break 3", "run", "next", "continue", name="out.vyn")
    assert lines[2:] == [
        "(vyn) run",
        "Starting program: out.vyn",
        "one",
        "",
        "Breakpoint 1, main () at out.vyn:3",
        "3\t  dbg(2)",
        "(vyn) next",
        "[out.vyn:3:3] 2 = 2",
        "4\t  println(\"three\")",
        "(vyn) continue",
        "Continuing.",
        "three",
        "[Inferior 1 (process 4242) exited normally]",
    ]


def test_program_stderr_goes_to_the_error_stream():
    out, err = io.StringIO(), io.StringIO()
    lm = LineMode(compiled("out.vyn", OUTPUT), path="out.vyn", out=out, err=err)
    lm.execute("run")
    lm.execute("frobnicate")
    assert "one\nthree\n" in out.getvalue()
    assert err.getvalue() == ('[out.vyn:3:3] 2 = 2\nUndefined command: "frobnicate".  '
                              'Try "help".\n')


def test_kill_and_commands_that_need_a_program():
    lines = transcript(FIB, "kill", "start", "kill", "next", "step", "finish", "continue",
                       "stepi", "until", "advance 12", "bt", "frame", "info locals")
    assert output_of(lines, "kill") == ["The program is not being run."]
    assert output_of(lines, "kill", 1) == ["[Inferior 1 (process 4242) killed]"]
    for command in ("next", "step", "finish", "continue", "stepi", "until", "advance 12"):
        assert output_of(lines, command) == ["The program is not being run."], command
    assert output_of(lines, "bt") == ["No stack."]
    assert output_of(lines, "frame") == ["No stack."]
    assert output_of(lines, "info locals") == ["No frame selected."]


def test_quit_kills_the_program_and_sets_the_exit_code():
    lm, out = debugger()
    lm.execute("start")
    lm.execute("quit 3")
    assert lm.quit_code == 3
    assert not lm.session.running


def test_ctrl_c_interrupts_an_endless_loop():
    lm, out = debugger(SPIN, "spin.vyn")
    timer = threading.Timer(0.2, lm.session.interrupt)
    timer.start()
    lm.execute("run")
    timer.join()
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["Starting program: spin.vyn", "",
                         "Program received signal SIGINT, Interrupt."]
    assert lines[3] == "main () at spin.vyn:4" or lines[3] == "main () at spin.vyn:3"
    lm.execute("print i > 0")
    assert out.getvalue().endswith("$1 = true\n")
    lm.close()


def test_keyboard_interrupt_while_waiting_interrupts_the_program():
    lm, out = debugger(SPIN, "spin.vyn")
    lm.execute("start")
    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    lm.execute("continue")
    timer.join()
    assert "\nProgram received signal SIGINT, Interrupt.\nmain () at spin.vyn:" in \
        out.getvalue()
    lm.close()


SPIN_CALL = """\
fn spin() -> Int {
  var i = 0
  while true {
    i += 1
  }
  return i
}

fn main() {
  let x = 41
  println("{}", x + 1)
}
"""


def test_interrupting_a_call_made_by_print_abandons_it_and_keeps_the_stop():
    # The engine side, as the TUI uses it: interrupt() from another thread.
    lm, out = debugger(SPIN_CALL, "spin.vyn")
    try:
        lm.execute("break 11")
        lm.execute("run")
        timer = threading.Timer(0.3, lm.session.interrupt)
        timer.start()
        lm.execute("print spin()")
        timer.join()
        lm.execute("print x")
        lm.execute("next")
    finally:
        lm.close()
    text = out.getvalue()
    assert "Interrupted while in a function called from the debugger; the call was " \
        "abandoned." in text
    assert "$1 = 41\n" in text
    assert "42\n" in text


# -- stepping --------------------------------------------------------------------------------

def test_next_and_step_show_the_frame_line_when_the_frame_changes():
    lines = transcript(FIB, "start", "next", "next", "step", "step", "next", "next",
                       "next 2")
    assert output_of(lines, "next") == ["10\t  for i in 0..<5 {"]
    assert output_of(lines, "next", 1) == ["11\t    total += fib(i)"]
    assert output_of(lines, "step") == ["fib (n=0) at fib.vyn:2", "2\t  if n < 2 {"]
    assert output_of(lines, "step", 1) == ["3\t    return n"]
    # As gdb with C: a return goes through the closing line, then back in the middle of
    # the caller's line the step goes on to the next line (the loop's head).
    assert output_of(lines, "next", 2) == ["6\t}"]
    assert output_of(lines, "next", 3) == ["main () at fib.vyn:10", "10\t  for i in 0..<5 {"]
    assert output_of(lines, "next 2") == ["10\t  for i in 0..<5 {"]


def test_finish_prints_the_returned_value_into_the_history():
    lines = transcript(FIB, "break fib if n == 2", "run", "finish", "print $", "finish")
    assert output_of(lines, "finish") == [
        "Run till exit from #0  fib (n=2) at fib.vyn:2",
        "pc 7 in main () at fib.vyn:11",       # mid-line: gdb shows the address
        "11\t    total += fib(i)",
        "Value returned is $1 = 1",
    ]
    assert output_of(lines, "print $") == ["$2 = 1"]
    assert output_of(lines, "finish", 1) == ['"finish" not meaningful in the outermost frame.']


def test_finish_of_a_function_returning_nothing_prints_no_value():
    source = "fn hello() {\n  println(\"hi\")\n}\nfn main() {\n  hello()\n}\n"
    lines = transcript(source, "break hello", "run", "finish", name="hello.vyn")
    # The call was the line's last instruction: the caller goes on at the next line's start,
    # shown without a pc, as gdb shows it.
    assert output_of(lines, "finish") == [
        "Run till exit from #0  hello () at hello.vyn:2", "hi", "main () at hello.vyn:6",
        "6\t}"]


COUNT = """\
fn count(n: Int) -> Int {
  if n == 0 {
    return 0
  }
  let r = count(n - 1)
  return r + 1
}

fn main() {
  println("{}", count(3))
}
"""


def test_until_loc_skips_recursive_calls_and_advance_stops_in_the_first_frame_there():
    # gdb: `until LOC` reaches LOC only in the current frame; `advance LOC` in any frame.
    lines = transcript(COUNT, "break count if n == 3", "run", "delete", "until 6", "print n",
                       name="count.vyn")
    assert output_of(lines, "until 6") == ["count (n=3) at count.vyn:6", "6\t  return r + 1"]
    assert output_of(lines, "print n") == ["$1 = 3"]
    lines = transcript(COUNT, "break count if n == 3", "run", "delete", "advance 6", "print n",
                       name="count.vyn")
    assert output_of(lines, "advance 6") == ["count (n=1) at count.vyn:6", "6\t  return r + 1"]
    assert output_of(lines, "print n") == ["$1 = 1"]


def test_until_runs_past_the_loop_and_advance_stops_when_the_frame_returns():
    lines = transcript(FIB, "break 11", "run", "delete", "until", "until", "until")
    # As gdb with C (whose loop test follows the body): at the end of the body `until`
    # stops at the loop's head, and at the head it runs the loop to its end.
    assert output_of(lines, "until") == ["10\t  for i in 0..<5 {"]
    assert output_of(lines, "until", 1) == ["13\t  println(\"total = {}\", total)"]
    assert output_of(lines, "until", 2) == ["total = 7", "14\t}"]
    lines = transcript(FIB, "break fib if n == 2", "run", "advance 13", "delete",
                       "advance 13", "until 13", "advance")
    assert output_of(lines, "advance 13") == ["pc 7 in main () at fib.vyn:11",
                                              "11\t    total += fib(i)"]
    assert output_of(lines, "advance 13", 1) == ["main () at fib.vyn:13",
                                                 "13\t  println(\"total = {}\", total)"]
    assert output_of(lines, "until 13")[-1] == "[Inferior 1 (process 4242) exited normally]"
    assert output_of(lines, "advance") == ["Argument required (a location)."]


def test_stepi_and_nexti_show_the_pc_in_the_middle_of_a_line():
    lines = transcript(FIB, "break 11", "run", "stepi", "stepi", "nexti", "si 3", "ni")
    assert output_of(lines, "stepi") == ["pc 6\t11\t    total += fib(i)"]
    assert output_of(lines, "stepi", 1) == ["fib (n=0) at fib.vyn:2", "2\t  if n < 2 {"]
    assert output_of(lines, "nexti") == ["3\t    return n"]
    assert output_of(lines, "si 3") == ["pc 8 in main () at fib.vyn:11",
                                        "11\t    total += fib(i)"]
    assert output_of(lines, "ni")[0].startswith("pc ")


# -- breakpoints -----------------------------------------------------------------------------

def test_break_locations_and_errors():
    lines = transcript(FIB, "break fib", "b fib.vyn:11", "break fib.vyn:fib", "break 7",
                       "break 999", "break nosuch", "break nosuch.vyn:3", "break", "tbreak 13")
    assert output_of(lines, "break fib") == ["Breakpoint 1 at pc 0: file fib.vyn, line 2."]
    assert output_of(lines, "b fib.vyn:11") == ["Breakpoint 2 at pc 5: file fib.vyn, line 11."]
    assert output_of(lines, "break fib.vyn:fib") == [
        "Breakpoint 3 at pc 0: file fib.vyn, line 2."]
    assert output_of(lines, "break 7") == [
        "Line 7 of fib.vyn starts no statement; the breakpoint is at line 9, the next line "
        "that does.", "Breakpoint 4 at pc 0: file fib.vyn, line 9."]
    assert output_of(lines, "break 999") == ['No line 999 in file "fib.vyn".']
    assert output_of(lines, "break nosuch") == ['Function "nosuch" not defined.']
    assert output_of(lines, "break nosuch.vyn:3") == ["No source file named nosuch.vyn."]
    assert output_of(lines, "break") == ["No default breakpoint location now selected."]
    assert output_of(lines, "tbreak 13") == [
        "Temporary breakpoint 5 at pc 11: file fib.vyn, line 13."]


def test_info_breakpoints_table_with_hits_conditions_and_ignore_counts():
    lines = transcript(FIB, "break fib", "tbreak main", "break 13 if total > 100",
                       "dprintf fib,\"n=%d\\n\",n", "disable 3", "ignore 1 2", "run",
                       "continue", "info breakpoints", "info b 1")
    assert output_of(lines, "info breakpoints") == [
        "Num     Type           Disp Enb Address            What",
        "1       breakpoint     keep y   pc 0               in fib at fib.vyn:2",
        "\tbreakpoint already hit 3 times",
        "3       breakpoint     keep n   pc 11              in main at fib.vyn:13",
        "\tstop only if total > 100",
        "4       dprintf        keep y   pc 0               in fib at fib.vyn:2",
        "\tbreakpoint already hit 3 times",
        '        printf "n=%d\\n",n',
    ]
    assert output_of(lines, "info b 1") == output_of(lines, "info breakpoints")[:3]


def test_condition_and_ignore():
    lines = transcript(FIB, "break fib", "condition 1 n == 2", "ignore 1 1", "run",
                       "print n", "condition 1", "ignore 1 0", "ignore 1 5", "condition x",
                       "condition", "ignore 1", "ignore", "condition 9 n")
    assert output_of(lines, "condition 1 n == 2") == []
    assert output_of(lines, "ignore 1 1") == ["Will ignore next crossing of breakpoint 1."]
    assert output_of(lines, "print n") == ["$1 = 2"]
    assert output_of(lines, "condition 1") == ["Breakpoint 1 now unconditional."]
    assert output_of(lines, "ignore 1 0") == ["Will stop next time breakpoint 1 is reached."]
    assert output_of(lines, "ignore 1 5") == ["Will ignore next 5 crossings of breakpoint 1."]
    assert output_of(lines, "condition x") == ["Bad breakpoint argument: 'x'"]
    assert output_of(lines, "condition") == ["Argument required (breakpoint number)."]
    assert output_of(lines, "ignore 1") == [
        "Second argument (specified ignore-count) is missing."]
    assert output_of(lines, "ignore") == ["Argument required (a breakpoint number)."]
    assert output_of(lines, "condition 9 n") == ["No breakpoint number 9."]


def test_continue_n_ignores_the_breakpoint():
    lines = transcript(FIB, "break fib", "run", "c 3", "p n", "info breakpoints")
    assert output_of(lines, "c 3")[0] == \
        "Will ignore next 2 crossings of breakpoint 1.  Continuing."
    assert output_of(lines, "info breakpoints")[2] == "\tbreakpoint already hit 4 times"


def test_enable_disable_delete():
    lines = transcript(FIB, "break fib", "break 11", "break 13", "disable 1-2", "run",
                       "enable 1", "delete 3", "continue", "delete", "continue", "delete 7",
                       "disable x")
    assert "Breakpoint 3, main () at fib.vyn:13" in output_of(lines, "run")
    assert "Breakpoint 1, fib (n=1) at fib.vyn:2" not in output_of(lines, "run")
    assert output_of(lines, "continue") == ["Continuing.", "total = 7",
                                            "[Inferior 1 (process 4242) exited normally]"]
    assert output_of(lines, "delete 7") == ["No breakpoint number 7."]
    assert output_of(lines, "disable x") == ["Args must be numbers or '$' variables."]


def test_disabled_then_enabled_breakpoint_stops_again():
    lines = transcript(FIB, "break fib", "disable", "start", "enable", "continue")
    assert output_of(lines, "continue")[:3] == [
        "Continuing.", "", "Breakpoint 1, fib (n=0) at fib.vyn:2"]


def test_dprintf_prints_and_does_not_stop():
    lines = transcript(FIB, 'dprintf fib,"fib(%d) from %s\\n",n,"x"', "break 13", "run",
                       "dprintf fib", 'dprintf fib,n', 'dprintf fib,"%d",')
    assert output_of(lines, 'dprintf fib,"fib(%d) from %s\\n",n,"x"') == [
        "Dprintf 1 at pc 0: file fib.vyn, line 2."]
    run = output_of(lines, "run")
    assert run[1:4] == ["fib(0) from x", "fib(1) from x", "fib(2) from x"]
    assert run[-2:] == ["Breakpoint 2, main () at fib.vyn:13",
                        '13\t  println("total = {}", total)']
    assert output_of(lines, "dprintf fib") == ["Format string required"]
    assert output_of(lines, "dprintf fib,n") == ["Bad format string"]
    assert output_of(lines, 'dprintf fib,"%d",') == ["Bad format string"]


def test_watch_stops_on_change_with_old_and_new_value():
    lines = transcript(FIB, "watch total", "break 10", "run", "watch total", "continue",
                       "info watchpoints", "watch")
    assert output_of(lines, "watch total") == [
        "Cannot watch an expression before the program runs; use `start` first."]
    assert output_of(lines, "watch total", 1) == ["Watchpoint 2: total"]
    assert output_of(lines, "continue") == [
        "Continuing.", "", "Watchpoint 2: total", "", "Old value = 0", "New value = 1",
        "main () at fib.vyn:10", "10\t  for i in 0..<5 {"]
    assert output_of(lines, "info watchpoints") == [
        "Num     Type           Disp Enb Address            What",
        "2       watchpoint     keep y                      total",
        "\tbreakpoint already hit 1 time"]
    assert output_of(lines, "watch") == ["Argument required (expression to compute)."]


def test_watchpoint_on_a_local_ends_with_its_frame():
    lines = transcript(FIB, "break 5", "run", "watch n", "continue")
    assert output_of(lines, "continue")[:4] == [
        "Continuing.", "", "Watchpoint 2 deleted because the program has left the block in",
        "which its expression is valid."]
    lines = transcript(FIB, "info watchpoints")
    assert output_of(lines, "info watchpoints") == ["No watchpoints."]


# -- command parsing -------------------------------------------------------------------------

@pytest.mark.parametrize("typed, name", [
    ("cont", "continue"), ("c", "continue"), ("disas", "disassemble"), ("b", "break"),
    ("n", "next"), ("s", "step"), ("si", "stepi"), ("ni", "nexti"), ("bt", "backtrace"),
    ("where", "backtrace"), ("fin", "finish"), ("i", "info"), ("p", "print"),
    ("l", "list"), ("tb", "tbreak"), ("wa", "watch"), ("u", "until"), ("adv", "advance"),
    ("dp", "dprintf"), ("pt", "ptype"), ("wha", "whatis"), ("q", "quit"), ("k", "kill"),
])
def test_abbreviations(typed, name):
    lm, _ = debugger()
    assert lm.lookup(typed)[0].name == name


def test_unknown_and_ambiguous_commands():
    lines = transcript(FIB, "frobnicate", "st", "info foo", "info l", "info", "$1", "",
                       "# a comment")
    assert output_of(lines, "frobnicate") == ['Undefined command: "frobnicate".  Try "help".']
    assert output_of(lines, "st") == ['Ambiguous command "st": start, step, stepi.']
    assert output_of(lines, "info foo") == [
        'Undefined info command: "foo".  Try "help info".']
    assert output_of(lines, "info l") == ['Ambiguous info command "l": line, locals.']
    assert output_of(lines, "info")[0] == "List of info subcommands:"
    assert output_of(lines, "$1") == ['Undefined command: "$1".  Try "help".']
    assert output_of(lines, "") == []


def test_execute_reports_failure_for_batch_status():
    lm, _ = debugger()
    lm.execute("frobnicate")
    assert lm.failed
    lm.execute("info breakpoints")
    assert not lm.failed


def test_help():
    lines = transcript(FIB, "help", "help b", "help info", "help info locals", "help nosuch")
    listing = output_of(lines, "help")
    assert listing[0] == "List of commands:"
    assert "break       -- Set breakpoint at specified location. (b, br, bre, brea)" in listing
    assert output_of(lines, "help b")[:2] == ["Set breakpoint at specified location.",
                                              "Usage: break [LOCATION] [thread THREADNUM] "
                                              "[if CONDITION]"]
    assert "info locals -- All local variables of current stack frame." in \
        output_of(lines, "help info")
    assert output_of(lines, "help info locals") == [
        "All local variables of current stack frame."]
    assert output_of(lines, "help nosuch") == ['Undefined command: "nosuch".  Try "help".']


def test_confirmation_when_interactive():
    answers = iter(["n", "y"])
    lm, out = debugger(interactive=True, ask=lambda prompt: next(answers))
    lm.execute("start")
    lm.execute("run")
    assert out.getvalue().endswith("Program not restarted.\n")
    lm.execute("kill")
    assert out.getvalue().endswith("killed]\n")


def test_completion_of_commands_info_subcommands_and_symbols():
    lm, _ = debugger()
    assert lm.complete("disa", "disa") == ["disable", "disassemble"]
    assert lm.complete("info lo", "lo") == ["locals"]
    assert lm.complete("break f", "f") == ["fib", "fib.vyn"]
    assert lm.complete("help fin", "fin") == ["finish"]
    lm.execute("break 11")
    lm.execute("run")
    assert lm.complete("print to", "to") == ["total"]
    assert lm.complete("print i", "i") == ["i"]
    lm.close()


def test_argument_helpers():
    assert parse_numbers("1 3-5") == [1, 3, 4, 5]
    assert split_top_level('fib,"a, b",f(x, y)') == ["fib", '"a, b"', "f(x, y)"]
    assert unescape(r"a\n\t\"b\\") == 'a\n\t"b\\'
