"""The line mode against the real gdb: each Vyn program here has a C twin whose statements
sit on the same lines. The same commands run under `gdb -batch` (on the twin built with
`gcc -g -O0`) and under the line mode in batch mode, and what a script reads must agree:
where each command stops (frames and source lines), the values it prints, the lines
`info line` names and the messages. Prose that necessarily differs (addresses, `pc N`,
`Hardware`, type syntax) is left out of the comparison (`events`).

Skipped, with the reason shown, where gdb or gcc is missing or gdb cannot run programs.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from compiler.lower import compile_file
from vyndbg.linemode import LineMode

GDB = shutil.which("gdb")
GCC = shutil.which("gcc")

pytestmark = pytest.mark.skipif(
    GDB is None or GCC is None,
    reason="comparing with gdb needs gdb and gcc on PATH "
           f"(gdb: {GDB or 'missing'}, gcc: {GCC or 'missing'})")

# The C twin's standard output is unbuffered (as Vyn's), so program output and gdb's lines
# come in the order they happen. Built without debug information: never stepped into.
_UNBUFFERED = """\
#include <stdio.h>
__attribute__((constructor)) static void twin_unbuffered(void) {
  setvbuf(stdout, 0, _IONBF, 0);
}
"""

# -- what a script reads ---------------------------------------------------------------------

_HIT = r"(?:(?:Temporary breakpoint|Breakpoint) (?P<hit>\d+), )?"
_FRAME = re.compile(r"^(?:#(?P<level>\d+)\s+)?" + _HIT +
                    r"(?:0x[0-9a-f]+ in |pc \d+ in )?(?P<fn>[A-Za-z_][\w:]*) \(.*\) at "
                    r"\S+:(?P<line>\d+)$")
_SOURCE = re.compile(r"^(?:0x[0-9a-f]+\t|pc \d+\t)?(\d+)\t")
_VALUE = re.compile(r"^(?:\$\d+|Value|Old value|New value|Value returned is \$\d+) = (.*)$")
_VAR = re.compile(r"^(\w+) = (-?\d+)$")
_SET = re.compile(r"^(?:Temporary breakpoint|Breakpoint) (\d+) at .*line (\d+)\.$")
_WATCH = re.compile(r"^(?:Hardware )?(?:(read) |(access) \(read/write\) )?watchpoint (\d+): (.*)$",
                    re.IGNORECASE)
_LINE_INFO = re.compile(r'^Line (\d+) of "\S+" (?:starts at|is at)')
_EXIT = re.compile(r"^\[Inferior 1 \(process \d+\) (.*)\]$")
_NOISE = ("[Thread debugging using", "Using host libthread_db", "Continuing at",
          "Run till exit", "Starting program", "Continuing.", "\tUsing the running image",
          "Program stopped at")


def events(lines: list[str]) -> list[tuple]:
    """The part of a command's output that must be the same under gdb and vyn."""
    out: list[tuple] = []
    for line in lines:
        if not line or line.startswith(_NOISE) or " starts no statement; " in line:
            continue                  # the last: vyn says why a breakpoint moved
        if m := _FRAME.match(line):
            if m.group("hit"):
                out.append(("hit", int(m.group("hit"))))
            out.append(("frame", m.group("level"), m.group("fn"), int(m.group("line"))))
        elif m := _SOURCE.match(line):
            out.append(("line", int(m.group(1))))
        elif m := _VALUE.match(line):
            out.append(("value", m.group(1)))
        elif m := _SET.match(line):
            out.append(("set", int(m.group(1)), int(m.group(2))))
        elif m := _WATCH.match(line):
            kind = "read" if m.group(1) else "access" if m.group(2) else "write"
            out.append(("watch", kind, int(m.group(3)), m.group(4)))
        elif m := _LINE_INFO.match(line):
            # gdb's C functions have a prologue on their opening line; bytecode has none,
            # so that line "contains no code": only the line named is compared.
            out.append(("info line", int(m.group(1))))
        elif m := _EXIT.match(line):
            out.append(("exit", m.group(1)))
        elif m := _VAR.match(line):
            out.append(("var", m.group(1), m.group(2)))
        else:
            line = re.sub(r"[\w./-]*\b(twin\.c|\w+\.vyn)\b", "FILE", line)
            out.append(("text", re.sub(r"\bvyn\b", "gdb", line)))
    return out


def _split(text: str, count: int) -> list[list[str]]:
    """The output of each command, from the `@@N` markers echoed before each."""
    parts: list[list[str]] = [[] for _ in range(count)]
    current = None
    for line in text.splitlines():
        m = re.fullmatch(r"@@(\d+)", line)
        if m:
            current = int(m.group(1))
        elif current is not None:
            parts[current].append(line)
    return parts


def _marked(commands: tuple[str, ...]) -> list[str]:
    out = []
    for i, command in enumerate(commands):
        out += [f"echo @@{i}\\n", command]
    return out


# -- running both ----------------------------------------------------------------------------

@functools.cache
def _twin_binary(c_source: str, tmp: str) -> str:
    """`c_source` built as gdb's twin (`gcc -g -O0`) in directory `tmp`."""
    where = Path(tmp)
    where.mkdir(parents=True, exist_ok=True)
    (where / "unbuffered.c").write_text(_UNBUFFERED)
    (where / "twin.c").write_text(c_source)
    subprocess.run([GCC, "-c", "-g0", "-O0", "unbuffered.c", "-o", "unbuffered.o"],
                   check=True, capture_output=True, cwd=where)
    subprocess.run([GCC, "-g", "-O0", "-fno-pie", "-no-pie", "twin.c", "unbuffered.o", "-o",
                    "twin"], check=True, capture_output=True, cwd=where)
    return str(where / "twin")


@pytest.fixture(scope="module")
def gdb_dir(tmp_path_factory):
    """A directory for the twins; skips when gdb cannot run a program here."""
    path = tmp_path_factory.mktemp("gdb-twins")
    exe = _twin_binary("int main(void) { return 0; }\n", str(path / "probe"))
    probe = subprocess.run([GDB, "-nx", "-batch", "-ex", "run", exe], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
    if "exited normally" not in probe.stdout:
        said = (probe.stderr or probe.stdout).strip().splitlines()
        pytest.skip("gdb cannot run programs here (is ptrace permitted?): "
                    + (said[-1] if said else f"exit status {probe.returncode}"))
    return path


def under_gdb(gdb_dir, name: str, c_source: str, *commands: str) -> list[list[str]]:
    exe = _twin_binary(c_source, str(gdb_dir / name))
    argv = [GDB, "-nx", "-batch"]
    for command in _marked(commands):
        argv += ["-ex", command]
    run = subprocess.run([*argv, exe], stdout=subprocess.PIPE, text=True, timeout=120,
                         stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(gdb_dir)})
    return _split(run.stdout, len(commands))


def under_vyn(name: str, source: str, *commands: str) -> list[list[str]]:
    program = compile_file(f"{name}.vyn", source).program
    assert program is not None
    out = io.StringIO()
    lm = LineMode(program, path=f"{name}.vyn", out=out, batch=True)
    try:
        for command in _marked(commands):
            lm.execute(command, from_tty=False)
    finally:
        lm.close()
    return _split(out.getvalue(), len(commands))


def compare(gdb_dir, twin: tuple[str, str, str], *commands: str) -> list[list[tuple]]:
    """Run `commands` under both; assert each command's events agree; return them."""
    name, vyn_source, c_source = twin
    theirs = [events(lines) for lines in under_gdb(gdb_dir, name, c_source, *commands)]
    ours = [events(lines) for lines in under_vyn(name, vyn_source, *commands)]
    for command, want, got in zip(commands, theirs, ours, strict=True):
        assert got == want, f"`{command}`: vyn {got} != gdb {want}"
    return ours


# -- the twins -------------------------------------------------------------------------------

FIB = ("fib", """\
// fib
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
""", """\
#include <stdio.h>
int fib(int n) {
  if (n < 2) {
    return n;
  }
  return fib(n - 1) + fib(n - 2);
}

int main(void) {
  int total = 0;
  for (int i = 0; i < 5; i++) {
    total += fib(i);
  }
  printf("total = %d\\n", total);
}
""")

READS = ("reads", """\
fn main() {
  let limit = 3
  var total = 0
  var count = 0
  for i in 0..<3 {
    let twice = limit * 2 + i
    total = twice + count
    count += 1
  }
  println("{} {}", total, count)
}
""", """\
int main(void) {
  int limit = 3;
  int total = 0;
  int count = 0;
  for (int i = 0; i < 3; i++) {
    int twice = limit * 2 + i;
    total = twice + count;
    count += 1;
  }
  __builtin_printf("%d %d\\n", total, count);
}
""")

GLOBAL = ("global", """\
var counter = 10

fn bump() {
  counter = counter + 1
}

fn main() {
  bump()
  let seen = counter * 2 + 1
  println("{}", seen)
}
""", """\
int counter = 10;

void bump(void) {
  counter = counter + 1;
}

int main(void) {
  bump();
  int seen = counter * 2 + 1;
  __builtin_printf("%d\\n", seen);
}
""")

BOX = ("box", """\
class Box {
  var value: Int
  var count: Int
}

fn main() {
  var b = Box(value=1, count=0)
  for i in 0..<3 {
    let seen = b.value * 2 + i
    b.count = seen + i
    b.value = b.value + 1
  }
  println("{} {}", b.value, b.count)
}
""", """\
struct Box {
  int value;
  int count;
};

int main(void) {
  struct Box b = {1, 0};
  for (int i = 0; i < 3; i++) {
    int seen = b.value * 2 + i;
    b.count = seen + i;
    b.value = b.value + 1;
  }
  __builtin_printf("%d %d\\n", b.value, b.count);
}
""")

BLOCKS = ("blocks", """\
fn add(a: Int, b: Int) -> Int {
  let s = a + b
  return s
}

fn greet() {
  println("hello")
}

fn main() {
  let x = 1
  let y = 5
  {
    let x = 2
    let z = x + y
    println("{}", z)
  }
  greet()
  let r = add(x, 2)
  println("{} {}", r, y)
}
""", """\
int add(int a, int b) {
  int s = a + b;
  return s;
}

void greet(void) {
  __builtin_printf("hello\\n");
}

int main(void) {
  int x = 1;
  int y = 5;
  {
    int x = 2;
    int z = x + y;
    __builtin_printf("%d\\n", z);
  }
  greet();
  int r = add(x, 2);
  __builtin_printf("%d %d\\n", r, y);
}
""")


# -- stepping and locations ------------------------------------------------------------------

def test_next_out_of_a_function_stops_at_its_closing_line_then_in_the_caller(gdb_dir):
    ours = compare(gdb_dir, FIB, "break fib if n == 1", "run", "next", "next", "next", "next")
    assert ours[3] == [("line", 7)]                       # `}`, before returning
    assert ours[4] == [("frame", None, "main", 11), ("line", 11)]   # the caller's next line


def test_step_out_then_into_the_next_call_on_the_same_line(gdb_dir):
    ours = compare(gdb_dir, FIB, "break fib if n == 1", "run", "continue", "step", "step",
                   "step", "bt")
    assert ours[5] == [("frame", None, "fib", 3), ("line", 3)]     # fib(n - 2), entered


def test_finish_and_the_value_returned(gdb_dir):
    ours = compare(gdb_dir, FIB, "break fib if n == 2", "run", "finish", "p $", "up",
                   "finish")
    assert ("value", "1") in ours[2]


def test_until_and_advance(gdb_dir):
    ours = compare(gdb_dir, FIB, "break 12", "run", "delete", "until", "until", "until")
    assert ours[3] == [("line", 11)]                      # the end of the body: the head
    assert ours[4] == [("line", 14)]                      # the head: past the loop
    compare(gdb_dir, FIB, "break fib if n == 2", "run", "advance 14", "delete", "advance 14")


def test_info_line_names_the_lines_gdb_names(gdb_dir):
    ours = compare(gdb_dir, FIB, "info line fib", "info line 8", "info line 12",
                   "info line 99", "break 8")
    assert ours[0] == [("info line", 2)]                  # the function's opening line


def test_frames_by_level_and_function(gdb_dir):
    compare(gdb_dir, FIB, "break fib if n == 0", "run", "frame function main",
            "frame level 1", "info frame 9", "frame 9", "frame function nosuch", "bt",
            "frame function fib")


def test_info_locals_innermost_block_first_with_shadowed_variables(gdb_dir):
    name, vyn, c = BLOCKS
    commands = ("break 16", "run", "info locals", "next", "next", "next", "info locals")
    theirs = [events(lines) for lines in under_gdb(gdb_dir, name, c, *commands)]
    ours = [events(lines) for lines in under_vyn(name, vyn, *commands)]
    # C's variables are in scope in their whole block, a Vyn variable from its
    # declaration on: gdb also lists `r`, declared further down (not set yet).
    assert ours[2] == [("var", "x", "2"), ("var", "z", "7"), ("var", "x", "1"),
                       ("var", "y", "5")]
    assert theirs[2][:4] == ours[2] and [e[1] for e in theirs[2][4:]] == ["r"]
    assert ours[3:] == theirs[3:]


def test_a_breakpoint_on_a_line_without_code_moves_to_the_next_line(gdb_dir):
    name, vyn, c = FIB
    theirs = events(under_gdb(gdb_dir, name, c, "break 8", "break 5")[0] +
                    under_gdb(gdb_dir, name, c, "break 8", "break 5")[1])
    ours = events(sum(under_vyn(name, vyn, "break 8", "break 5"), []))
    assert [e for e in ours if e[0] == "set"] == [e for e in theirs if e[0] == "set"]


# -- the commands scripts use ----------------------------------------------------------------

def test_return_pops_the_frame_with_a_value(gdb_dir):
    ours = compare(gdb_dir, FIB, "break fib if n == 1", "run", "return 42", "bt", "next",
                   "print total", "info program")
    assert ours[5] == [("value", "42")]


def test_return_from_an_inner_frame_pops_the_frames_it_called(gdb_dir):
    ours = compare(gdb_dir, FIB, "break fib if n == 0", "run", "continue", "bt", "up",
                   "return 7", "bt", "next", "print total")
    assert [e[1:3] for e in ours[6] if e[0] == "frame"] == [("0", "main")]


def test_jump_skips_and_a_breakpoint_at_the_target_stops(gdb_dir):
    compare(gdb_dir, FIB, "break 12", "run", "jump 14")
    compare(gdb_dir, FIB, "break 12", "run", "break 14", "jump 14", "print total")


def test_call_printf_echo_and_output(gdb_dir):
    compare(gdb_dir, FIB, "break 12", "run", "call total + 1", "call i * 3",
            r'printf "P:%d|%5d|%-3d|%x|%o|%c|%%\n", total, i, i, 255, 8, 65',
            r"echo O:\n", "output i", r"echo \n", "output/x 255", r"echo \n",
            r'printf "P:%d\n"', r'printf "P:%d\n", 1, 2', "printf nope")


def test_read_and_access_watchpoints_on_locals(gdb_dir):
    compare(gdb_dir, READS, "break 5", "run", "rwatch limit", "awatch total", "continue",
            "continue", "continue", "continue", "info watchpoints")


def test_read_and_access_watchpoints_on_a_global(gdb_dir):
    compare(gdb_dir, GLOBAL, "break main", "run", "rwatch counter", "awatch counter",
            "continue", "continue", "continue")


def test_read_and_access_watchpoints_on_fields(gdb_dir):
    compare(gdb_dir, BOX, "break 9", "run", "rwatch b.value", "awatch b.count", "continue",
            "continue", "continue", "continue", "continue")


def test_settings_show_what_they_are_set_to(gdb_dir):
    compare(gdb_dir, FIB, "show confirm", "set confirm off", "show confirm",
            "set listsize 5", "show listsize", "list 6", "set listsize unlimited",
            "show listsize", "set print pretty on", "show print pretty",
            "set pagination off", "show pagination", "show print elements",
            "set print elements 4", "show print elements", "show scheduler-locking")


def test_batch_mode_prints_what_gdb_batch_prints(gdb_dir):
    """Whole outputs, addresses and file names aside: no prompts, no `Starting
    program:` or `Continuing.`, questions printed with their automatic answers."""
    name, vyn, c = FIB
    commands = ("break fib if n == 2", "run", "continue 2", "ignore 1 1", "condition 1",
                "finish", "delete", "display total", "undisplay", "kill", "info program")
    theirs = under_gdb(gdb_dir, name, c, *commands)
    ours = under_vyn(name, vyn, *commands)

    def plain(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if line.startswith(("[Thread debugging", "Using host libthread_db")):
                continue
            line = re.sub(r"0x[0-9a-f]+ in |pc \d+ in ", "", line)
            line = re.sub(r"\b(?:0x[0-9a-f]+|pc \d+)( <\w+(\+\d+)?>)?", "ADDR", line)
            line = re.sub(r"\b(twin\.c|fib\.vyn)\b", "FILE", line)
            line = re.sub(r"process \d+|child Thread .*\)\.|child process \d+\.", "PID", line)
            line = re.sub(r"^(\d+\t).*", r"\1", line)            # C and Vyn source differ
            out.append(line)
        return out
    for command, want, got in zip(commands, theirs, ours, strict=True):
        assert plain(got) == plain(want), f"`{command}`"
