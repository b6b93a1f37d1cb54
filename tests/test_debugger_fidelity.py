"""gdb fidelity of the line mode, as sessions a user reads (the style of
tests/test_debugger_linemode.py): stepping through closing lines and loops, locations,
frames, blocks of locals, and the commands gdb scripts use (call, printf, echo, output,
info program, set/show, return, jump, rwatch, awatch, set print pretty, batch mode).
tests/test_debugger_gdb.py runs the same things against the real gdb.
"""

from __future__ import annotations

import io
import re

import pytest

from tests.test_debugger_linemode import compiled, normalize, output_of, transcript
from vyndbg import linemode_settings
from vyndbg.cli import main
from vyndbg.linemode import LineMode

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

LOOPS = """\
fn main() {
  var t = 0
  var n = 0
  while n < 4 {
    n += 1
    if n == 2 {
      continue
    }
    t += n
  }
  loop {
    n -= 1
    if n == 0 {
      break
    }
  }
  println("{}", t)
}
"""

BLOCKS = """\
fn main() {
  let x = 1
  let y = 5
  {
    let x = 2
    let z = x + y
    println("{}", z)
  }
  println("{}", x)
}
"""

TEMPLATES = """\
fn pick<T>(a: T, b: T) -> T {
  a
}

class Pair<A, B> {
  var first: A
  var second: B
  fn swap(self) -> Pair<B, A> {
    Pair(first=self.second, second=self.first)
  }
}

fn show(x: Int) {
  println("{}", x)
}

fn main() {
  let a = pick(1, 2)
  let b = pick("x", "y")
  let c = pick(3, 4)
  let p = Pair(first=1, second="s")
  let q = p.swap()
  show(a + c)
  println("{} {}", b, q.first)
}
"""

SHELF = """\
class Item {
  var name: String
  var count: Int
}

class Shelf {
  var first: Item
  var items: Vec<Item>
  var size: Option<Int>
}

var visits = 0

fn touch(s: Shelf) -> Int {
  visits = visits + 1
  s.first.count
}

fn main() {
  var nums = vec![1, 2, 3]
  let s = Shelf(first=Item(name="pen", count=3), items=vec![Item(name="a", count=1)],
                size=Some(2))
  nums[1] = nums[0] + 5
  let t = nums[1] * 2 + touch(s)
  println("{} {} {}", t, s.first.count, visits)
}
"""


def session(source: str, *commands: str, name: str = "fib.vyn", **kw) -> list[str]:
    """`transcript`, with LineMode options (batch, interactive, ask)."""
    out = io.StringIO()
    lm = LineMode(compiled(name, source), path=name, out=out, **kw)
    try:
        for command in commands:
            out.write(PROMPT + command + "\n")
            lm.execute(command)
    finally:
        lm.close()
    return pids(out.getvalue()).splitlines()


def pids(text: str) -> str:
    return re.sub(r"process \d+", "process 4242", normalize(text))


# -- stepping through closing lines and loops ------------------------------------------------

def test_next_from_the_last_statement_stops_at_the_closing_line():
    lines = transcript(BLOCKS, "break 9", "run", "next", "info locals", "next", name="b.vyn")
    assert output_of(lines, "next") == ["1", "10\t}"]
    # At `}` the function's variables are still in scope, as in C.
    assert output_of(lines, "info locals") == ["x = 1", "y = 5"]
    assert output_of(lines, "next", 1) == ["[Inferior 1 (process 4242) exited normally]"]


def test_a_return_goes_through_the_closing_line_and_the_caller_finishes_its_line():
    lines = transcript(FIB, "break fib if n == 1", "run", "next", "next", "next", "next")
    assert output_of(lines, "next") == ["3\t    return n"]
    assert output_of(lines, "next", 1) == ["6\t}"]
    assert output_of(lines, "next", 2) == ["main () at fib.vyn:10", "10\t  for i in 0..<5 {"]
    assert output_of(lines, "next", 3) == ["11\t    total += fib(i)"]


def test_step_back_in_the_middle_of_a_line_goes_on_into_its_next_call():
    lines = transcript(FIB, "break fib if n == 1", "run", "continue", "bt", "step", "step",
                       "step")
    assert output_of(lines, "bt")[:2] == ["#0  fib (n=1) at fib.vyn:2",
                                          "#1  fib (n=2) at fib.vyn:5"]
    assert output_of(lines, "step", 1) == ["6\t}"]
    assert output_of(lines, "step", 2) == ["fib (n=0) at fib.vyn:2", "2\t  if n < 2 {"]


def test_until_stops_at_the_loop_head_and_then_runs_the_loop_out():
    lines = transcript(LOOPS, "break 9", "run", "delete", "until", "until", "until", "until",
                       "until", "until", name="loops.vyn")
    assert output_of(lines, "until") == ["4\t  while n < 4 {"]      # end of body: head
    assert output_of(lines, "until", 1) == ["12\t    n -= 1"]       # head: past the loop
    assert output_of(lines, "until", 2) == ["13\t    if n == 0 {"]
    # A `loop` has no head: from its last line `until` runs it to its `break`.
    assert output_of(lines, "until", 3) == ["14\t      break"]
    assert output_of(lines, "until", 4) == ['17\t  println("{}", t)']


def test_until_at_a_continue_stops_at_the_loop_head():
    lines = transcript(LOOPS, "break 7", "run", "until", name="loops.vyn")
    assert output_of(lines, "until") == ["4\t  while n < 4 {"]


# -- locations -------------------------------------------------------------------------------

def test_info_line_names_the_opening_line_of_a_function():
    lines = transcript(FIB, "info line fib", "info line 7", "info line 2", "info line 99",
                       "info line fib.vyn:11", "break 11", "run", "info line")
    assert output_of(lines, "info line fib") == [
        'Line 1 of "fib.vyn" is at pc 0 <fib> but contains no code.']
    assert output_of(lines, "info line 7") == [
        'Line 7 of "fib.vyn" is at pc 0 <main> but contains no code.']
    assert output_of(lines, "info line 2") == [
        'Line 2 of "fib.vyn" starts at pc 0 <fib> and ends at pc 1 <fib+1>.']
    assert output_of(lines, "info line 99") == ['Line number 99 is out of range for "fib.vyn".']
    assert output_of(lines, "info line fib.vyn:11") == [
        'Line 11 of "fib.vyn" starts at pc 5 <main+5> and ends at pc 11 <main+11>.']
    assert output_of(lines, "info line") == output_of(lines, "info line fib.vyn:11")


def test_a_breakpoint_that_moves_says_where_and_why():
    lines = transcript(FIB, "break 7", "tbreak fib.vyn:4", "break 11", 'dprintf 7,"x\\n"')
    assert output_of(lines, "break 7") == [
        "Line 7 of fib.vyn starts no statement; the breakpoint is at line 9, the next line "
        "that does.", "Breakpoint 1 at pc 0: file fib.vyn, line 9."]
    assert output_of(lines, "tbreak fib.vyn:4")[0].startswith("Line 4 of fib.vyn starts no ")
    assert output_of(lines, "break 11") == ["Breakpoint 3 at pc 5: file fib.vyn, line 11."]
    assert output_of(lines, 'dprintf 7,"x\\n"')[0].startswith("Line 7 of fib.vyn starts no")


# -- frames and locals -----------------------------------------------------------------------

def test_info_frame_n_frame_level_and_frame_function():
    lines = transcript(FIB, "break fib if n == 0", "run", "continue", "info frame 5",
                       "info frame 1", "frame function main", "frame level 1",
                       "frame function nosuch", "frame function show", "frame function",
                       "info frame function fib")
    assert output_of(lines, "info frame 5") == ["No frame at level 5."]
    assert output_of(lines, "info frame 1")[:2] == [
        "Stack frame in fib:", " pc = 6 in fib (fib.vyn:5); saved pc = 6"]
    assert output_of(lines, "frame function main") == ["#2  main () at fib.vyn:11",
                                                       "11\t    total += fib(i)"]
    assert output_of(lines, "frame level 1") == [
        "#1  fib (n=2) at fib.vyn:5", "5\t  return fib(n - 1) + fib(n - 2)"]
    assert output_of(lines, "frame function nosuch") == ['Function "nosuch" not defined.']
    assert output_of(lines, "frame function show") == ['Function "show" not defined.']
    assert output_of(lines, "frame function") == ["Missing function name argument"]
    assert output_of(lines, "info frame function fib")[0] == "Stack frame in fib:"


def test_info_locals_lists_the_innermost_block_first_and_shadowed_variables():
    lines = transcript(BLOCKS, "break 7", "run", "info locals", "bt full", name="b.vyn")
    assert output_of(lines, "info locals") == ["x = 2", "z = 7", "x = 1", "y = 5"]
    assert output_of(lines, "bt full")[1:] == ["        x = 2", "        z = 7",
                                               "        x = 1", "        y = 5"]


# -- call, printf, echo, output --------------------------------------------------------------

def test_call_prints_values_but_not_nothing():
    lines = transcript(TEMPLATES, "break 23", "run", "call a + c", "call show(1)", "call",
                       "call/x 255", name="t.vyn")
    assert output_of(lines, "call a + c") == ["$1 = 4"]
    assert output_of(lines, "call show(1)") == ["1"]        # its output; no value
    assert output_of(lines, "call") == ["$2 = 4"]
    assert output_of(lines, "call/x 255") == ["$3 = 0xff"]


def test_printf_echo_and_output():
    lines = transcript(FIB, "break 11", "run", 'printf "%d|%5d|%-3d|%x|%X|%o|%c|%%\\n", '
                       "total, i, i, 255, 255, 8, 65", 'printf "%s=%.2f %e\\n", "pi", 3.14159, '
                       "2.5", 'printf "%d\\n"', 'printf "%d\\n", 1, 2', "printf nope",
                       'printf "%d\\n", "text"', "printf", "echo  two\\tparts\\n",
                       "echo no newline", "output i + 1", "output", "output/x 255")
    text = "\n".join(lines)
    assert "0|    0|0  |ff|FF|10|A|%\n" in text
    assert "pi=3.14 2.500000e+00\n" in text
    assert output_of(lines, 'printf "%d\\n"') == [
        "Wrong number of arguments for specified format-string"]
    assert output_of(lines, 'printf "%d\\n", 1, 2') == [
        "Wrong number of arguments for specified format-string"]
    assert output_of(lines, "printf nope") == ["Bad format string, missing '\"'."]
    assert output_of(lines, 'printf "%d\\n", "text"') == ["Value can't be converted to integer."]
    assert output_of(lines, "printf") == [
        "Argument required (format-control string and values to print)."]
    assert "two\tparts\n" in text
    assert "(vyn) echo no newline\nno newline(vyn) output i + 1\n1(vyn) output\n" in text
    assert "Argument required (expression to compute).\n(vyn) output/x 255\n0xff" in text


# -- info program ----------------------------------------------------------------------------

def test_info_program_says_why_the_program_stopped():
    lines = session(FIB, "info program", "break fib", "run", "info program", "next",
                    "info program", "finish", "info program", "tbreak 13", "continue",
                    "delete", "info program")
    assert output_of(lines, "info program") == ["The program being debugged is not being run."]
    assert output_of(lines, "info program", 1) == [
        "\tUsing the running image of child process 4242.",
        "Program stopped at pc 0 <fib>.", "It stopped at breakpoint 1.",
        'Type "info stack" or "info frame" for more information.']
    assert output_of(lines, "info program", 2)[1:3] == [
        "Program stopped at pc 1 <fib+1>.", "It stopped after being stepped."]
    assert output_of(lines, "info program", 3)[2] == \
        "It stopped at a breakpoint that has since been deleted."
    assert output_of(lines, "info program", 4)[2] == \
        "It stopped at a breakpoint that has since been deleted."


# -- settings --------------------------------------------------------------------------------

@pytest.mark.parametrize("setting", linemode_settings.SETTINGS, ids=lambda s: s.name)
def test_every_setting_has_a_show_that_shows_what_set_set(setting):
    current = setting.get(LineMode(compiled("fib.vyn", FIB)))
    value = {"bool": "on" if current is False else "off", "uint": "7",
             "enum": next((c for c in setting.choices if c != current), ""),
             "text": "a b"}[setting.kind]
    lines = transcript(FIB, f"show {setting.name}", f"set {setting.name} {value}",
                       f"show {setting.name}")
    before = output_of(lines, f"show {setting.name}")
    after = output_of(lines, f"show {setting.name}", 1)
    assert output_of(lines, f"set {setting.name} {value}") == []
    assert len(before) == len(after) == 1 and before != after
    shown = {"on": "on", "off": "off"}.get(value, value)
    assert shown in after[0] or setting.words[0] in after[0] or setting.words[1] in after[0]


def test_show_alone_and_show_print_list_settings():
    lines = transcript(FIB, "show", "show print", "set print pretty", "show p pretty",
                       "set listsize 0", "show listsize", "set listsize x", "set pagination no",
                       "set print nosuch on", "show nosuch", "set print")
    assert len(output_of(lines, "show")) == len(linemode_settings.SETTINGS)
    assert output_of(lines, "show print") == [
        "address:  Printing of addresses is on.",
        "elements:  Limit on string chars or array elements to print is 200.",
        "pretty:  Pretty formatting of structures is off."]
    assert output_of(lines, "show p pretty") == ["Pretty formatting of structures is on."]
    assert output_of(lines, "show listsize") == [
        "Number of source lines vyn will list by default is unlimited."]
    assert output_of(lines, "set listsize x") == ['Invalid number "x".']
    assert output_of(lines, "set print nosuch on") == [
        'Undefined set print command: "nosuch".  Try "help set print".']
    assert output_of(lines, "show nosuch") == [
        'Undefined show command: "nosuch".  Try "help show".']
    assert output_of(lines, "set print") == [
        '"set print" must be followed by the name of a print subcommand.']


def test_listsize_and_print_elements_apply():
    lines = transcript(SHELF, "set listsize 3", "list 5", "set print elements 2",
                       "break 25", "run", "print nums", name="shelf.vyn")
    assert output_of(lines, "list 5") == ["4\t}", "5\t", "6\tclass Shelf {"]
    assert output_of(lines, "print nums") == ["$1 = [1, 6...]"]


def test_set_print_pretty_lays_structures_out_as_gdb():
    lines = transcript(SHELF, "break 25", "run", "set print pretty on", "print s",
                       "print s.size", "output s.first", "echo \\n", "display s.first",
                       "info locals", name="shelf.vyn")
    assert output_of(lines, "print s") == [
        "$1 = Shelf {",
        "  first: Item {",
        '    name: "pen",',
        "    count: 3",
        "  },",
        "  items: [Item {",
        '      name: "a",',
        "      count: 1",
        "    }],",
        "  size: Some(2)",
        "}"]
    assert output_of(lines, "print s.size") == ["$2 = Some(2)"]
    assert output_of(lines, "display s.first") == [
        "1: s.first = Item {", '  name: "pen",', "  count: 3", "}"]
    assert output_of(lines, "info locals")[:2] == ["nums = [1, 6, 3]", "s = Shelf {"]


# -- return and jump -------------------------------------------------------------------------

def test_return_pops_the_frame_and_the_caller_gets_the_value():
    lines = transcript(FIB, "break fib if n == 1", "run", "return 42", "bt", "next",
                       "print total", "delete", "continue")
    assert output_of(lines, "return 42") == ["#0  pc 7 in main () at fib.vyn:11",
                                             "11\t    total += fib(i)"]
    assert output_of(lines, "bt") == ["#0  pc 7 in main () at fib.vyn:11"]
    assert output_of(lines, "print total") == ["$1 = 42"]
    assert output_of(lines, "continue")[-2:] == ["total = 48",
                                                 "[Inferior 1 (process 4242) exited normally]"]


def test_return_from_a_selected_outer_frame_pops_the_inner_ones():
    lines = transcript(FIB, "break fib if n == 0", "run", "continue", "up", "return 7",
                       "bt", "next", "print total")
    assert output_of(lines, "return 7")[0] == "#0  pc 7 in main () at fib.vyn:11"
    assert output_of(lines, "bt") == ["#0  pc 7 in main () at fib.vyn:11"]
    assert output_of(lines, "print total") == ["$1 = 8"]      # 0 + 1 + 7


def test_return_asks_first_at_a_terminal_and_honours_set_confirm_off():
    answers = iter(["n", "y"])
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return next(answers)
    lines = session(FIB, "break fib if n == 1", "run", "return", "return", "set confirm off",
                    "run", "return", interactive=True, ask=ask)
    assert asked == ["Make fib return now? (y or n) ", "Make fib return now? (y or n) "]
    assert output_of(lines, "return") == ["Not confirmed"]
    assert output_of(lines, "return", 1)[0].startswith("#0  pc 7 in main ()")
    assert output_of(lines, "return", 2)[0].startswith("#0  pc 7 in main ()")


def test_return_in_batch_mode_is_silent_and_its_errors():
    lines = session(FIB, "break fib if n == 1", "run", "return", "info frame", "return",
                    "return 1", "kill", "return", batch=True)
    assert output_of(lines, "return") == []
    assert output_of(lines, "return", 1) == ["Can not force return from the outermost frame."]
    lines = transcript(FIB, "break fib", "run", "return \"no\"")
    assert output_of(lines, 'return "no"') == [
        "Return value of type String does not match fib's return type Int."]
    assert transcript(FIB, "return")[-1] == "No selected frame."


def test_jump_resumes_at_a_line_of_the_current_function():
    lines = transcript(FIB, "break 11", "run", "jump 13", "run", "break 13", "jump 13",
                       "jump 2", "print total")
    assert output_of(lines, "jump 13") == ["Continuing at pc 11.", "total = 0",
                                           "[Inferior 1 (process 4242) exited normally]"]
    assert output_of(lines, "jump 13", 1) == [
        "Continuing at pc 11.", "", "Breakpoint 2, main () at fib.vyn:13",
        '13\t  println("total = {}", total)']
    assert output_of(lines, "jump 2") == [
        "Line 2 is not in `main'; vyn can only jump within the current function."]
    assert output_of(lines, "print total") == ["$1 = 0"]


def test_jump_back_runs_lines_again():
    lines = transcript(FIB, "break 11", "run", "next", "jump 11", "print total")
    assert output_of(lines, "jump 11")[:3] == ["Continuing at pc 5.", "",
                                               "Breakpoint 1, main () at fib.vyn:11"]
    assert output_of(lines, "print total") == ["$1 = 0"]


# -- read and access watchpoints -------------------------------------------------------------

def test_read_and_access_watchpoints_on_locals_stop_after_the_access():
    lines = transcript(FIB, "break 11", "run", "rwatch total", "awatch total",
                       "info watchpoints", "continue", "continue", "continue")
    assert output_of(lines, "rwatch total") == ["Read watchpoint 2: total"]
    assert output_of(lines, "awatch total") == ["Access (read/write) watchpoint 3: total"]
    assert output_of(lines, "info watchpoints") == [
        "Num     Type            Disp Enb Address            What",
        "2       read watchpoint keep y                      total",
        "3       acc watchpoint  keep y                      total"]
    # `total += fib(i)` reads total (ADD) then writes it (MOV): two stops, each just after.
    assert output_of(lines, "continue") == [
        "Continuing.", "", "Read watchpoint 2: total", "", "Value = 0", "",
        "Access (read/write) watchpoint 3: total", "", "Value = 0",
        "pc 8 in main () at fib.vyn:11", "11\t    total += fib(i)"]
    # The write left total as it was (fib(0) is 0): an access, shown as `Value`.
    assert output_of(lines, "continue", 1) == [
        "Continuing.", "", "Access (read/write) watchpoint 3: total", "", "Value = 0",
        "pc 9 in main () at fib.vyn:11", "11\t    total += fib(i)"]
    assert output_of(lines, "continue", 2)[2] == "Breakpoint 1, main () at fib.vyn:11"


def test_read_watchpoints_on_globals_fields_and_elements():
    lines = transcript(SHELF, "break 23", "run", "rwatch visits", "rwatch s.first.count",
                       "awatch nums[1]", "continue", "continue", "continue", "continue",
                       "continue", name="shelf.vyn")
    text = "\n".join(lines)
    assert "Access (read/write) watchpoint 4: nums[1]\n\nOld value = 2\nNew value = 6" in text
    assert "Access (read/write) watchpoint 4: nums[1]\n\nValue = 6" in text
    assert "Read watchpoint 2: visits\n\nValue = 0\npc 1 in touch (s=" in text
    assert "Read watchpoint 3: s.first.count\n\nValue = 3" in text


def test_a_read_watchpoint_on_a_local_ends_with_its_frame():
    lines = transcript(FIB, "break fib if n == 2", "run", "rwatch n", "continue", "continue",
                       "continue", "continue")
    text = "\n".join(lines)
    # `if n < 2` reads n and jumps: the stop is where the jump leads.
    assert "Read watchpoint 2: n\n\nValue = 2\nfib (n=2) at fib.vyn:5" in text
    # Reads of another frame's `n` (the recursive calls) are not this variable's.
    assert text.count("Read watchpoint 2: n\n\nValue") == 3
    assert "Watchpoint 2 deleted because the program has left the block in\nwhich its " \
           "expression is valid.\npc 7 in main () at fib.vyn:11" in text


def test_rwatch_needs_a_variable_a_field_or_an_element():
    lines = transcript(FIB, "rwatch total", "break 11", "run", "rwatch total + 1",
                       "rwatch nosuch", "awatch")
    assert output_of(lines, "rwatch total") == [
        "Cannot watch an expression before the program runs; use `start` first."]
    assert output_of(lines, "rwatch total + 1") == [
        "Expression cannot be implemented with read/access watchpoint."]
    assert output_of(lines, "rwatch nosuch") == ['No symbol "nosuch" in current context.']
    assert output_of(lines, "awatch") == ["Argument required (expression to compute)."]


# -- names -----------------------------------------------------------------------------------

def test_info_functions_lists_each_instance_once_with_its_parameters():
    lines = transcript(TEMPLATES, "info functions", "info functions pick", name="t.vyn")
    assert output_of(lines, "info functions") == [
        "All defined functions:", "", "File t.vyn:",
        "8:\tfn Pair<Int, String>::swap(self) -> Pair<String, Int>;",
        "17:\tfn main();",
        "1:\tfn pick<Int>(a: Int, b: Int) -> Int;",
        "1:\tfn pick<String>(a: String, b: String) -> String;",
        "13:\tfn show(x: Int);"]
    assert output_of(lines, "info functions pick")[3:] == [
        "1:\tfn pick<Int>(a: Int, b: Int) -> Int;",
        "1:\tfn pick<String>(a: String, b: String) -> String;"]


def test_info_functions_never_lists_the_debugger_s_expression_functions():
    import copy
    program = copy.deepcopy(compiled("t.vyn", TEMPLATES))
    extra = copy.copy(program.functions[0])
    extra.index = len(program.functions)
    extra.name = "__vyn_eval__1"
    program.functions.append(extra)
    out = io.StringIO()
    lm = LineMode(program, path="t.vyn", out=out)
    lm.execute("break 23")
    lm.execute("run")
    lm.execute("print a + c")
    lm.execute("info functions")
    lm.close()
    assert "__vyn_eval__" not in out.getvalue()
    assert len(re.findall(r"fn pick<Int>", out.getvalue())) == 1


# -- batch mode ------------------------------------------------------------------------------

@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "fib.vyn").write_text(FIB)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_batch_mode_prints_what_gdb_batch_prints(workdir, capsys):
    code = main(["debug", "fib.vyn", "--batch", "-ex", "break fib if n == 2", "-ex", "run",
                 "-ex", "continue 2", "-ex", "ignore 1 1", "-ex", "condition 1", "-ex",
                 "finish", "-ex", "delete", "-ex", "undisplay", "-ex", "kill", "-ex", "start",
                 "-ex", "quit"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert pids(out).splitlines() == [
        "Breakpoint 1 at pc 0: file fib.vyn, line 2.",
        "",
        "Breakpoint 1, fib (n=2) at fib.vyn:2",
        "2\t  if n < 2 {",
        "",
        "Breakpoint 1, fib (n=2) at fib.vyn:2",
        "2\t  if n < 2 {",
        "",
        "Breakpoint 1, fib (n=0) at fib.vyn:2",
        "2\t  if n < 2 {",
        "Delete all auto-display expressions? (y or n) [answered Y; input not from terminal]",
        "Kill the program being debugged? (y or n) [answered Y; input not from terminal]",
        "[Inferior 1 (process 4242) killed]",
        "Temporary breakpoint 2 at pc 0: file fib.vyn, line 9.",
        "",
        "Temporary breakpoint 2, main () at fib.vyn:9",
        "9\t  var total = 0",
        "A debugging session is active.",
        "",
        "\tInferior 1 [process 4242] will be killed.",
        "",
        "Quit anyway? (y or n) [answered Y; input not from terminal]",
    ]


def test_commands_from_a_file_run_as_a_script_without_batch(workdir, capsys):
    (workdir / "cmds.gdb").write_text("break 11\nrun\ncontinue\n")
    code = main(["debug", "fib.vyn", "--batch", "-x", "cmds.gdb", "-ex", "info program"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "Starting program" not in out and "Continuing." not in out
    assert "Type \"info stack\"" not in out
