"""The line mode's looking commands: frames, values, displays, source listings, `info`.

Each test: a Vyn program, the commands typed, and what the user reads.
"""

from __future__ import annotations

from tests.test_debugger_linemode import FIB, output_of, transcript

STATS = """\
class Stats {
  var total: Int
  var count: Int
}

fn average(s: Stats) -> Int {
  return s.total / s.count
}

fn main() {
  let scores = [90, 75, 85]
  var s = Stats(total=0, count=0)
  for x in scores {
    s.total += x
    s.count += 1
  }
  let name = "scores"
  let letter = 'v'
  println("average: {}", average(s))
}
"""


def stats(*commands: str) -> list[str]:
    return transcript(STATS, *commands, name="stats.vyn")


# -- frames ----------------------------------------------------------------------------------

def test_backtrace_variants():
    lines = transcript(FIB, "break fib if n == 0", "run", "bt", "bt 1", "bt -1", "bt full",
                       "where", "info stack", "bt x")
    assert output_of(lines, "bt") == ["#0  fib (n=0) at fib.vyn:2", "#1  main () at fib.vyn:11"]
    assert output_of(lines, "bt 1") == ["#0  fib (n=0) at fib.vyn:2",
                                        "(More stack frames follow...)"]
    assert output_of(lines, "bt -1") == ["#1  main () at fib.vyn:11"]
    assert output_of(lines, "bt full") == [
        "#0  fib (n=0) at fib.vyn:2", "        No locals.",
        "#1  main () at fib.vyn:11", "        i = 0", "        total = 0"]
    assert output_of(lines, "where") == output_of(lines, "bt")
    assert output_of(lines, "info stack") == output_of(lines, "bt")
    assert output_of(lines, "bt x") == ['No symbol "x" in current context.']


def test_frame_up_down_select_frames_and_print_their_line():
    lines = transcript(FIB, "break fib if n == 0", "run", "up", "up", "info locals", "down",
                       "down", "frame 1", "f", "frame 5", "up 9", "down 9")
    assert output_of(lines, "up") == ["#1  main () at fib.vyn:11", "11\t    total += fib(i)"]
    assert output_of(lines, "up", 1) == ["Initial frame selected; you cannot go up."]
    # gdb's order: the innermost block (the loop's) first.
    assert output_of(lines, "info locals") == ["i = 0", "total = 0"]
    assert output_of(lines, "down") == ["#0  fib (n=0) at fib.vyn:2", "2\t  if n < 2 {"]
    assert output_of(lines, "down", 1) == [
        "Bottom (innermost) frame selected; you cannot go down."]
    assert output_of(lines, "frame 1") == ["#1  main () at fib.vyn:11",
                                           "11\t    total += fib(i)"]
    assert output_of(lines, "f") == output_of(lines, "frame 1")
    assert output_of(lines, "frame 5") == ["No frame at level 5."]
    assert output_of(lines, "up 9") == ["Initial frame selected; you cannot go up."]
    assert output_of(lines, "down 9") == ["#0  fib (n=0) at fib.vyn:2", "2\t  if n < 2 {"]


def test_info_frame_args_locals():
    lines = transcript(FIB, "break fib if n == 2", "run", "info frame", "info args",
                       "info locals", "up", "info frame", "info args")
    assert output_of(lines, "info frame") == [
        "Stack level 0, frame in fib:",
        " pc = 0 in fib (fib.vyn:2); saved pc = 6",
        " called by frame at level 1",
        " source language vyn.",
        " Arglist: n=2",
        " Locals: 0, registers: 7",
    ]
    assert output_of(lines, "info args") == ["n = 2"]
    assert output_of(lines, "info locals") == ["No locals."]
    assert output_of(lines, "info frame", 1)[:3] == [
        "Stack level 1, frame in main:",
        " pc = 6 in main (fib.vyn:11); outermost",
        " caller of frame at level 0",
    ]
    assert output_of(lines, "info args", 1) == ["No arguments."]


# -- values ----------------------------------------------------------------------------------

def test_print_values_history_and_formats():
    lines = stats("print s.total", "break 19", "run", "print s", "p s.total / s.count", "p $",
                  "p $ * 2", "p $$", "p $$3", "p $1", "p $99", "p", "p/x s.total",
                  "p/o 8", "p/t 5", "p/d -3", "p/c 65", "p/x -1", "p/z 1", "p/x s",
                  "p name", "p letter", "p scores", "p scores[1] + scores.len()",
                  "p average(s)", "p nosuch", "p 1 +", "p $1.total", "p $pc",
                  "p $_exitcode")
    # Before `run` only what needs no frame can be evaluated (gdb with a static binary).
    assert output_of(lines, "print s.total") == ['No symbol "s" in current context.']
    assert output_of(lines, "print s") == ["$1 = Stats { total: 250, count: 3 }"]
    assert output_of(lines, "p s.total / s.count") == ["$2 = 83"]
    assert output_of(lines, "p $") == ["$3 = 83"]
    assert output_of(lines, "p $ * 2") == ["$4 = 166"]
    assert output_of(lines, "p $$") == ["$5 = 83"]
    assert output_of(lines, "p $$3") == ["$6 = 83"]
    assert output_of(lines, "p $1") == ["$7 = Stats { total: 250, count: 3 }"]
    assert output_of(lines, "p $99") == ["History has not yet reached $99."]
    assert output_of(lines, "p") == ["$8 = Stats { total: 250, count: 3 }"]
    assert output_of(lines, "p/x s.total") == ["$9 = 0xfa"]
    assert output_of(lines, "p/o 8") == ["$10 = 010"]
    assert output_of(lines, "p/t 5") == ["$11 = 101"]
    assert output_of(lines, "p/d -3") == ["$12 = -3"]
    assert output_of(lines, "p/c 65") == ["$13 = 65 'A'"]
    assert output_of(lines, "p/x -1") == ["$14 = 0xffffffffffffffff"]
    assert output_of(lines, "p/z 1") == ['Undefined output format "z".']
    assert output_of(lines, "p/x s") == [
        "Format /x applies to integers; this value is a Stats."]
    assert output_of(lines, "p name") == ['$16 = "scores"']
    assert output_of(lines, "p letter") == ["$17 = 'v'"]
    assert output_of(lines, "p scores") == ["$18 = [90, 75, 85]"]
    assert output_of(lines, "p scores[1] + scores.len()") == ["$19 = 78"]
    assert output_of(lines, "p average(s)") == ["$20 = 83"]
    assert output_of(lines, "p nosuch") == ['No symbol "nosuch" in current context.']
    assert output_of(lines, "p 1 +")[0].startswith("A syntax error in expression")
    assert output_of(lines, "p $1.total") == [
        "History value $1 of type Stats cannot be used in an expression."]
    assert output_of(lines, "p $pc")[0].startswith("$21 = ")
    assert output_of(lines, "p $_exitcode") == ["Convenience variable $_exitcode is void."]


def test_empty_history():
    lines = stats("p", "p $$", "p $$2")
    assert output_of(lines, "p") == ["The history is empty."]     # gdb 13's words
    assert output_of(lines, "p $$") == ["History does not go back to $$1."]
    assert output_of(lines, "p $$2") == ["History does not go back to $$2."]


def test_ptype_and_whatis():
    lines = stats("break 19", "run", "ptype s", "whatis s", "whatis scores", "ptype s.total",
                  "whatis name", "ptype", "whatis nosuch")
    assert output_of(lines, "ptype s") == [
        "type = class Stats {", "    var total: Int", "    var count: Int", "}"]
    assert output_of(lines, "whatis s") == ["type = Stats"]
    assert output_of(lines, "whatis scores") == ["type = [Int; 3]"]
    assert output_of(lines, "ptype s.total") == ["type = Int"]
    assert output_of(lines, "whatis name") == ["type = String"]
    assert output_of(lines, "ptype") == ["Argument required (expression to compute)."]
    assert output_of(lines, "whatis nosuch") == ['No symbol "nosuch" in current context.']


def test_set_var_changes_what_the_program_computes():
    lines = stats("break 19", "run", "set var s.count = 5", "set variable scores[0] = 100",
                  "set var name = \"x\"", "p s", "p scores", "p name", "set var s = 1",
                  "set var nosuch = 1", "set var s.count", "set s.total = 10", "set nonsense",
                  "set confirm off", "set pagination off", "set listsize 5", "next")
    assert output_of(lines, "p s") == ["$1 = Stats { total: 250, count: 5 }"]
    assert output_of(lines, "p scores") == ["$2 = [100, 75, 85]"]
    assert output_of(lines, "p name") == ['$3 = "x"']
    assert output_of(lines, "set var s = 1") == [
        "Cannot assign a value of type Int to a variable of type Stats."]
    assert output_of(lines, "set var nosuch = 1") == ['No symbol "nosuch" in current context.']
    assert output_of(lines, "set var s.count")[0].startswith("A syntax error")
    assert output_of(lines, "set s.total = 10") == []
    assert output_of(lines, "set nonsense") == [
        'Undefined set command: "nonsense".  Try "help set".']
    assert output_of(lines, "set confirm off") == []
    assert output_of(lines, "next") == ["average: 2", "20\t}"]   # the closing line


def test_display_shows_at_each_stop_in_scope():
    lines = stats("display s.count", "break 14", "run", "display x", "display nosuch",
                  "continue", "info display", "undisplay 2", "undisplay 9", "continue",
                  "display", "undisplay", "info display")
    assert output_of(lines, "display s.count") == []
    assert output_of(lines, "run")[-3:] == ["Breakpoint 1, main () at stats.vyn:14",
                                            "14\t    s.total += x", "1: s.count = 0"]
    assert output_of(lines, "display x") == ["2: x = 90"]
    assert output_of(lines, "display nosuch") == ['No symbol "nosuch" in current context.']
    assert output_of(lines, "continue")[-2:] == ["1: s.count = 1", "2: x = 75"]
    assert output_of(lines, "info display") == [
        "Auto-display expressions now in effect:", "Num Enb Expression",
        "1:   y  s.count", "2:   y  x"]
    assert output_of(lines, "undisplay 9") == ["No display number 9."]
    assert output_of(lines, "continue", 1)[-1] == "1: s.count = 2"
    assert output_of(lines, "display") == ["1: s.count = 2"]
    assert output_of(lines, "info display", 1) == [
        "There are no auto-display expressions now."]


def test_display_is_skipped_out_of_scope():
    lines = transcript(FIB, "break 11", "run", "display i", "break fib", "continue")
    assert output_of(lines, "continue")[-1] == "2\t  if n < 2 {"


# -- source ----------------------------------------------------------------------------------

def test_list_centres_continues_and_goes_back():
    lines = transcript(FIB, "list", "list", "list", "list -", "list fib", "list 10,11",
                       "list fib.vyn:5", "list ,3", "list 99", "list nosuch", "list x.vyn:1")
    assert output_of(lines, "list") == [f"{n}\t{t}" for n, t in enumerate(
        FIB.splitlines()[:10], 1)]
    assert output_of(lines, "list", 1) == ["11\t    total += fib(i)", "12\t  }",
                                           '13\t  println("total = {}", total)', "14\t}"]
    assert output_of(lines, "list", 2) == [
        'Line number 15 out of range; "fib.vyn" has 14 lines.']
    assert output_of(lines, "list -") == output_of(lines, "list")
    assert output_of(lines, "list fib")[0] == "1\tfn fib(n: Int) -> Int {"
    assert output_of(lines, "list 10,11") == ["10\t  for i in 0..<5 {",
                                              "11\t    total += fib(i)"]
    assert output_of(lines, "list fib.vyn:5")[0] == "1\tfn fib(n: Int) -> Int {"
    assert output_of(lines, "list ,3") == [f"{n}\t{t}" for n, t in enumerate(
        FIB.splitlines()[:3], 1)]
    assert output_of(lines, "list 99") == [
        'Line number 94 out of range; "fib.vyn" has 14 lines.']
    assert output_of(lines, "list nosuch") == ['Function "nosuch" not defined.']
    assert output_of(lines, "list x.vyn:1") == ["No source file named x.vyn."]


def test_list_after_a_stop_centres_on_the_stop():
    lines = transcript(FIB, "break 11", "run", "list", "list -", "list -")
    assert output_of(lines, "list")[0] == "6\t}"
    assert output_of(lines, "list")[-1] == "14\t}"
    assert output_of(lines, "list -") == [f"{n}\t{t}" for n, t in enumerate(
        FIB.splitlines()[:5], 1)]
    assert output_of(lines, "list -", 1) == ["Already at the start of fib.vyn."]


def test_disassemble_with_source_and_current_pc():
    lines = transcript(FIB, "disassemble", "disassemble fib", "break 11", "run", "disas",
                       "disassemble nosuch")
    assert output_of(lines, "disassemble") == ["No frame selected."]
    listing = output_of(lines, "disassemble fib")
    assert listing[:4] == ["Dump of assembler code for function fib:", "fib.vyn:",
                           "2\t  if n < 2 {", "   <+0>:\tJGEK        0, 2, 3"]
    assert listing[-1] == "End of assembler dump."
    assert "=>" not in "".join(listing)
    current = [line for line in output_of(lines, "disas") if line.startswith("=> ")]
    assert current == ["=> <+5>:\tMOV         6, 4"]
    assert output_of(lines, "disassemble nosuch") == ['No symbol "nosuch" in current context.']


def test_info_source_functions_line():
    lines = stats("info source", "list 1,1", "info source", "info functions",
                  "info functions ^m", "info functions (", "info line 7", "info line average",
                  "info line 999")
    assert output_of(lines, "info source") == ["No current source file."]
    assert output_of(lines, "info source", 1) == [
        "Current source file is stats.vyn", "Contains 20 lines.", "Source language is vyn."]
    assert output_of(lines, "info functions") == [
        "All defined functions:", "", "File stats.vyn:", "6:\tfn average(s: Stats) -> Int;",
        "10:\tfn main();"]
    assert output_of(lines, "info functions ^m") == [
        'All functions matching regular expression "^m":', "", "File stats.vyn:",
        "10:\tfn main();"]
    assert output_of(lines, "info functions (")[0].startswith("Invalid regexp")
    assert output_of(lines, "info line 7") == [
        'Line 7 of "stats.vyn" starts at pc 0 <average> and ends at pc 3 <average+3>.']
    # gdb names a function's opening line (its prologue's); here it has no code.
    assert output_of(lines, "info line average") == [
        'Line 6 of "stats.vyn" is at pc 0 <average> but contains no code.']
    assert output_of(lines, "info line 999") == [
        'Line number 999 is out of range for "stats.vyn".']
