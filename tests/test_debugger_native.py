"""The debugger over native code (`vyn debug --jit=auto|eager`): compiled functions run
inside unicorn (runtime/jit_unicorn.py) and the engine sees one stack with each frame's
tier (vyndbg/native_views.py). Parity with the bytecode debugger, scripted sessions,
crossing the boundary both ways, machine-level views."""

from __future__ import annotations

import re

import pytest

from compiler.lower import compile_file
from runtime.jit import JitOptions
from tests.test_programs import CORPUS
from vyndbg.cli import main
from vyndbg.engine import Session
from vyndbg.model import DebugError, LocationError, StopReason, Tier

FIB = """fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  let a = fib(n - 1)
  let b = fib(n - 2)
  return a + b
}

fn main() {
  var i = 0
  var total = 0
  while i < 12 {
    total += fib(i)
    i += 1
  }
  println("{}", total)
}
"""

# total (native) calls sum_list, which stays in bytecode (it iterates over an array).
MIXED = """fn sum_list(v: Vec<Int>) -> Int {
  let a: [Int; 3] = [v[0], v[1], v[2]]
  var t = 0
  for x in a {
    t += x
  }
  t
}

fn square(x: Int) -> Int {
  let y = x * x
  y
}

fn total(n: Int) -> Int {
  let v = vec![square(n), square(n + 1), 3]
  let s = sum_list(v)
  s + square(2)
}

fn main() {
  let r = total(4)
  println(r)
}
"""


def _program(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return compile_file(str(path), text).program


_SESSIONS: list[Session] = []


@pytest.fixture(autouse=True)
def _kill_sessions():
    """Every session ends with its test: its native code's memory is unmapped, and the
    next program gets the same fixed addresses (as docs/debugger.md shows them)."""
    yield
    while _SESSIONS:
        s = _SESSIONS.pop()
        if s.running:
            s.kill()


def _session(program, mode: str = "eager", **options) -> Session:
    options.setdefault("opt", 0)
    jit = JitOptions(mode=mode, **options) if mode != "off" else None
    s = Session(program, jit=jit)
    _SESSIONS.append(s)
    return s


def _tiers(s: Session) -> list[tuple[str, str]]:
    return [(f.function, f.tier.value) for f in s.frames()]


# -- parity: stepping gives the same lines and values in both tiers -----------------------

def step_trace(program, mode: str, limit: int = 400) -> list[tuple]:
    """`start`, then `step` to the end: each stop's function, line, depth, arguments and
    locals (as `info args` / `info locals` print them)."""
    s = _session(program, mode)
    out = []
    try:
        ev = s.start()
        while ev.reason in (StopReason.BREAKPOINT, StopReason.STEP) and len(out) < limit:
            f = ev.frame
            values = tuple((v.name, v.value.text) for v in s.args() + s.locals())
            out.append((f.function, f.location.line if f.location else 0, s.depth(), values,
                        f.tier.value))
            ev = s.step()
        out.append(("end", ev.reason.value, ev.exit_code))
    finally:
        s.kill()
    return out


def steps_in_both(tmp_path, name: str, text: str) -> list[tuple]:
    """`step_trace` of a program in bytecode and in tier-1 native code, which must agree
    (but for the tiers): the native one."""
    program = _program(tmp_path, name, text)
    base, native = step_trace(program, "off"), step_trace(program, "eager")
    assert [x[:4] for x in native] == [x[:4] for x in base]
    return native


def _same_steps(program) -> int:
    base = step_trace(program, "off")
    native = step_trace(program, "eager")
    assert [x[:4] for x in native] == [x[:4] for x in base]
    return sum(1 for x in native if len(x) == 5 and x[4] == "native")


def test_stepping_fib_is_the_same_in_native_code(tmp_path):
    program = _program(tmp_path, "fib.vyn", FIB)
    assert _same_steps(program) > 100       # nearly every stop is in native code


def test_stepping_across_the_boundary_both_ways(tmp_path):
    program = _program(tmp_path, "mixed.vyn", MIXED)
    native = step_trace(program, "eager")
    tiers = {(x[0], x[4]) for x in native if len(x) == 5}
    assert ("sum_list", "bytecode") in tiers and ("total", "native") in tiers
    assert ("square", "native") in tiers
    assert _same_steps(program) > 0


_FAST = ("class_methods", "enum_recursive", "early_return", "panic_div_zero",
         "panic_use_after_free", "while_loop", "conc_pingpong")
_PROGRAMS = [p for p in CORPUS if p.expectation(".diag") is None]


def _corpus_program(program, monkeypatch):
    from vyndbg.cli import _load_program

    monkeypatch.chdir(program.directory)
    return _load_program(program.file, "never")


@pytest.mark.parametrize("program", [p for p in _PROGRAMS if p.id.split("/")[-1] in _FAST],
                         ids=lambda p: p.id)
def test_stepping_parity_on_corpus_samples(program, monkeypatch):
    _same_steps(_corpus_program(program, monkeypatch))


@pytest.mark.slow
@pytest.mark.parametrize("program", _PROGRAMS, ids=lambda p: p.id)
def test_stepping_parity_on_the_whole_corpus(program, monkeypatch):
    """Every corpus program, stepped line by line from `start` to its end, stops at the
    same lines with the same values in bytecode and in tier-1 native code."""
    _same_steps(_corpus_program(program, monkeypatch))


# -- the engine ---------------------------------------------------------------------------

def test_breakpoint_condition_locals_and_set_var_in_a_native_frame(tmp_path):
    s = _session(_program(tmp_path, "fib.vyn", FIB))
    s.break_at("fib.vyn:6", condition="n == 5")
    ev = s.run()
    assert ev.reason is StopReason.BREAKPOINT
    assert ev.frame.tier is Tier.NATIVE and ev.frame.address
    assert [(v.name, v.value.text) for v in s.args()] == [("n", "5")]
    assert s.evaluate("a").text == "3"                 # fib(4), stored in its slot
    s.set_var("a", "100")
    s.delete()
    ev = s.finish()
    assert ev.reason is StopReason.FINISH
    assert ev.returned.text == "102"                   # 100 + fib(3): the write went back
    assert _tiers(s)[0] == ("main", "bytecode")       # fib(5) was called by main


def test_one_stack_across_tiers(tmp_path):
    s = _session(_program(tmp_path, "mixed.vyn", MIXED))
    s.break_at("sum_list")
    s.run()
    assert _tiers(s) == [("sum_list", "bytecode"), ("total", "native"), ("main", "bytecode")]
    s.select_frame(1)
    assert {v.name: v.value.text for v in s.locals()}["v"] == "[16, 25, 3]"
    s.select_frame(0)
    ev = s.finish()                                    # back into native code
    assert ev.reason is StopReason.FINISH and ev.returned.text == "44"
    assert _tiers(s)[0] == ("total", "native")
    ev = s.step()                                      # into square, native
    assert (ev.frame.function, ev.frame.tier) == ("square", Tier.NATIVE)
    assert [(v.name, v.value.text) for v in s.args()] == [("x", "2")]


def test_stepping_from_bytecode_into_native_code(tmp_path):
    s = _session(_program(tmp_path, "fib.vyn", FIB))
    s.break_at("fib.vyn:14")
    ev = s.run()
    assert ev.frame.tier is Tier.BYTECODE           # main is entered by the interpreter
    ev = s.step()
    assert (ev.frame.function, ev.frame.tier, ev.frame.location.line) == (
        "fib", Tier.NATIVE, 2)


def test_breakpoints_survive_tier_up(tmp_path):
    """--jit=auto: fib is compiled while a breakpoint is set in it; the stops go on, the
    same ones as in bytecode, the later ones in native code."""
    program = _program(tmp_path, "fib.vyn", FIB)

    def stops(mode):
        s = _session(program, mode, threshold=20) if mode != "off" else _session(program, "off")
        s.break_at("fib.vyn:7", condition="n > 3")
        seen = []
        ev = s.run()
        while ev.reason is StopReason.BREAKPOINT:
            seen.append((s.evaluate("n").text, s.evaluate("a + b").text, ev.frame.tier))
            ev = s.cont()
        assert ev.reason is StopReason.EXITED
        return seen

    base, auto = stops("off"), stops("auto")
    assert [x[:2] for x in auto] == [x[:2] for x in base]
    assert auto[0][2] is Tier.BYTECODE and auto[-1][2] is Tier.NATIVE


def test_machine_views(tmp_path):
    s = _session(_program(tmp_path, "fib.vyn", FIB))
    s.break_at("fib.vyn:5", condition="n == 3")
    s.run()
    regs = dict(s.registers())
    assert regs["rip"] == s.frames()[0].address
    assert s.symbol_at(regs["rip"]).startswith("fib+")
    listing = s.native_disassembly()
    assert listing.function == "fib" and listing.tier == 1
    current = [i for i in listing.instructions if i.current]
    assert len(current) == 1 and current[0].address == regs["rip"]
    assert current[0].is_stmt and current[0].breakpoint
    assert listing.instructions[-1].address < listing.end
    ev = s.stepi()
    assert ev.reason is StopReason.STEP
    after = dict(s.registers())["rip"]
    assert after != regs["rip"] and s.frames()[0].tier is Tier.NATIVE
    s.delete()
    # nexti over the call of fib(n - 1): the next instruction after it, same frame.
    calls = [i for i in listing.instructions if i.mnemonic.startswith("call") and
             i.address > after]
    depth = s.depth()
    for _ in range(200):
        s.nexti()
        assert s.depth() == depth
        if dict(s.registers())["rip"] > calls[0].address:
            break
    else:
        pytest.fail("nexti never passed the call")
    jit = {r.function: r for r in s.jit_functions()}
    assert jit["fib"].tier == 1 and jit["fib"].start <= after < jit["fib"].end


def test_break_at_a_machine_address(tmp_path):
    """`break *ADDRESS` stops at that very instruction (mid-line too), with conditions,
    hit counts and a temporary one; the frame there is the one a line breakpoint shows."""
    program = _program(tmp_path, "fib.vyn", FIB)
    s = _session(program)
    s.break_at("fib.vyn:5")
    s.run()
    listing = s.native_disassembly()
    here = s.frames()[0].address
    # An instruction in the middle of line 5, past the stop: not a statement start.
    mid = next(i for i in listing.instructions if i.address > here and not i.is_stmt and
               i.location is not None and i.location.line == 5)
    inside = next(i for i in listing.instructions if i.address > here and len(i.raw) > 1)
    with pytest.raises(LocationError, match=f"inside the instruction at 0x{inside.address:x} "
                                            "in fib"):
        s.break_at(f"*0x{inside.address + 1:x}")
    bp = s.break_at(f"*0x{mid.address:x}", condition="n == 3")
    assert bp.address == mid.address and bp.function == "fib"
    assert bp.location.line == 5 and bp.pcs == ()
    assert any(i.breakpoint for i in s.native_disassembly().instructions
               if i.address == mid.address)
    s.delete([1])
    ev = s.cont()
    assert ev.reason is StopReason.BREAKPOINT and ev.breakpoint.number == 2
    frame = s.frames()[0]
    assert frame.address == mid.address and frame.tier is Tier.NATIVE
    assert [a.value.text for a in frame.args] == ["3"]
    assert dict(s.registers())["rip"] == mid.address
    assert s.mid_line_pc(frame) == mid.address
    assert s.breakpoints()[0].hits == 1
    # A temporary breakpoint at the current instruction's register: $pc.
    s.delete()
    s.break_at("*$pc", temporary=True)
    ev = s.cont()
    assert ev.reason is StopReason.BREAKPOINT and ev.breakpoint.temporary
    assert s.frames()[0].address == mid.address and s.breakpoints() == []
    assert s.cont().reason is StopReason.EXITED


def test_arguments_at_a_functions_first_instruction(tmp_path):
    """At a native function's very first instruction (`break *ADDRESS` at its start)
    the arguments are still where its caller put them: the first two in registers
    after the context, depth, closure and budget (native calling convention 2), the
    rest on the stack. Each is shown with its own value."""
    text = ("fn mix(a: Int, b: Int, c: Float, d: Bool, e: Int) -> Int {\n"
            "  if d { return a * 10000 + b * 100 + e }\n"
            "  if c > 2.0 { return 1 }\n"
            "  0\n"
            "}\n"
            "fn main() {\n"
            "  println(mix(7, -3, 1.5, true, 42))\n"
            "}\n")
    s = _session(_program(tmp_path, "mix.vyn", text))
    s.start()
    (mix,) = [f for f in s.jit_functions() if f.function == "mix"]
    assert mix.tier == 1
    s.break_at(f"*{mix.start}")
    ev = s.cont()
    assert ev.reason is StopReason.BREAKPOINT
    frame = s.frames()[0]
    assert (frame.function, frame.address, frame.tier) == ("mix", mix.start, Tier.NATIVE)
    assert [(a.name, a.value.text) for a in frame.args] == \
        [("a", "7"), ("b", "-3"), ("c", "1.5"), ("d", "true"), ("e", "42")]
    assert s.cont().reason is StopReason.EXITED


def test_break_at_an_address_before_the_code_is_loaded(tmp_path):
    """Native code sits at the same addresses from run to run (as gdb runs programs
    with randomization off): an address from an earlier run can be given before `run`;
    the breakpoint learns its function and line when it is reached."""
    program = _program(tmp_path, "fib.vyn", FIB)
    s = _session(program)
    s.break_at("fib.vyn:5")
    s.run()
    address = s.frames()[0].address
    s.kill()
    again = _session(program)
    bp = again.break_at(f"*{address}")
    assert bp.location is None and bp.function == ""
    ev = again.run()
    assert ev.reason is StopReason.BREAKPOINT and ev.frame.address == address
    (bp,) = again.breakpoints()
    assert (bp.function, bp.location.line) == ("fib", 5)
    off = _session(program, "off")
    with pytest.raises(LocationError, match="bytecode only"):
        off.break_at(f"*{address}")
    with pytest.raises(LocationError, match="machine address"):
        again.break_at("*fib")


RETURNS = """fn square(x: Int) -> Int {
  let y = x * x
  y
}
fn half(x: Float) -> Float {
  x / 2.0
}
fn total(n: Int) -> Int {
  let a = square(n)
  let b = square(n + 1)
  a + b
}
fn main() {
  println(total(3))
  println(half(5.0))
}
"""


def test_return_from_a_native_frame_is_the_bytecode_debuggers(tmp_path):
    """gdb's `return` from the innermost native frame: its native caller goes on with the
    value (square, called by total), and so does the interpreter when native code was
    entered there (half, called by main); a Float comes back as a Float. Also at a
    function's very first instruction, before its frame is set up."""
    program = _program(tmp_path, "ret.vyn", RETURNS)

    def session(mode, first_instruction=False):
        s = _session(program, mode)
        if first_instruction:
            s.start()
            (sq,) = [f for f in s.jit_functions() if f.function == "square"]
            s.break_at(f"*{sq.start}", condition="x == 4")
        else:
            s.break_at("ret.vyn:2", condition="x == 4")
        s.break_at("half")
        ev = s.cont() if first_instruction else s.run()
        out = [_tiers(s)]
        s.return_from("100")
        out.append([(f.function, f.location.line) for f in s.frames()])
        out.append([(v.name, v.value.text) for v in s.locals()])
        ev = s.cont()
        assert ev.reason is StopReason.BREAKPOINT
        s.return_from("0.25")
        ev = s.cont()
        assert ev.reason is StopReason.EXITED
        out.append("".join(o.text for o in s.take_output() if o.stream == "stdout"))
        return out

    base, native = session("off"), session("eager")
    assert native[0] == [("square", "native"), ("total", "native"), ("main", "bytecode")]
    assert native[1:] == base[1:]
    assert native[1] == [("total", 11), ("main", 14)]
    assert native[2] == [("a", "9"), ("b", "100")]
    assert native[3] == "109\n0.25\n"
    assert session("eager", first_instruction=True)[1:] == base[1:]


JUMPS = """fn count(n: Int) -> Int {
  var t = 0
  var i = 0
  while i < n {
    t += i
    i += 1
  }
  t = t * 2
  t
}
fn main() {
  println(count(5))
  println(count(3))
}
"""


def test_jump_in_a_native_frame_is_the_bytecode_debuggers(tmp_path):
    """gdb's `jump` in the innermost native frame: back to run a loop again, forward to
    skip a line; a breakpoint at the target stops there at once, as in bytecode."""
    program = _program(tmp_path, "jmp.vyn", JUMPS)

    def session(mode):
        s = _session(program, mode)
        s.break_at("jmp.vyn:8")
        s.run()
        out = [_tiers(s)[0]]
        s.break_at("jmp.vyn:5", condition="i == 3")
        ev = s.jump("jmp.vyn:3")                 # the loop again, from i = 0
        out.append((ev.reason, [(f.function, f.location.line) for f in s.frames()],
                    [(v.name, v.value.text) for v in s.locals()]))
        s.delete()
        s.break_at("jmp.vyn:8")
        ev = s.cont()
        out.append([(v.name, v.value.text) for v in s.locals()])
        ev = s.jump("jmp.vyn:9")                 # past `t = t * 2`, to count(3)'s stop
        out.append((ev.reason, [(v.name, v.value.text) for v in s.args()]))
        out.append("".join(o.text for o in s.take_output() if o.stream == "stdout"))
        return out

    base, native = session("off"), session("eager")
    assert native[0] == ("count", "native")
    assert native[1:] == base[1:]
    assert native[1][0] is StopReason.BREAKPOINT
    assert native[1][2] == [("t", "13"), ("i", "3")]       # 10 + 0 + 1 + 2
    assert native[2] == [("t", "20"), ("i", "5")]
    assert native[3] == (StopReason.BREAKPOINT, [("n", "3")])
    assert native[4] == "20\n"


def test_return_from_a_native_frames_caller_is_refused(tmp_path):
    s = _session(_program(tmp_path, "ret.vyn", RETURNS))
    s.break_at("ret.vyn:2")
    s.run()
    s.select_frame(1)                    # total: native too
    with pytest.raises(DebugError, match="native code"):
        s.return_from("1")
    with pytest.raises(DebugError, match="Can not jump in native code"):
        s.jump("ret.vyn:11")
    scoped = _session(_program(tmp_path, "scoped.vyn", (
        "fn work(n: Int) -> Int {\n"
        "  scoped {\n"
        "    let s = \"x\" + n.to_string()\n"
        "    s.len() + n\n"
        "  }\n"
        "}\n"
        "fn main() {\n"
        "  println(work(3))\n"
        "}\n")))
    scoped.break_at("scoped.vyn:4")
    scoped.run()
    assert _tiers(scoped)[0] == ("work", "native")
    with pytest.raises(DebugError, match="inside a `scoped` block"):
        scoped.return_from("1")
    assert scoped.cont().reason is StopReason.EXITED


def test_refusals_are_one_sentence(tmp_path):
    s = _session(_program(tmp_path, "fib.vyn", FIB))
    s.break_at("fib.vyn:3")
    s.run()
    s.select_frame(1)                    # main: bytecode
    with pytest.raises(DebugError, match="bytecode; it has no machine registers"):
        s.registers()
    off = _session(_program(tmp_path, "fib.vyn", FIB), "off")
    with pytest.raises(DebugError, match="bytecode only"):
        off.jit_functions()


def test_a_panic_in_native_code_stops_once_with_its_backtrace(tmp_path):
    program = _program(tmp_path, "div.vyn", """fn divide(a: Int, b: Int) -> Int {
  a / b
}
fn main() {
  println(divide(10, 0))
}
""")
    s = _session(program)
    s.break_at("div.vyn:2")
    ev = s.run()
    assert ev.frame.tier is Tier.NATIVE
    ev = s.next()
    assert ev.reason is StopReason.PANIC and "division by zero" in ev.message
    assert [f.function for f in s.frames()] == ["divide", "main"]


# -- the line mode --------------------------------------------------------------------------

def _vyn(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_scripted_session_under_jit_eager(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fib.vyn").write_text(FIB, encoding="utf-8")
    code, out, err = _vyn(
        capsys, "debug", "--jit=eager", "fib.vyn", "--batch",
        "-ex", "break 6 if n == 4", "-ex", "run", "-ex", "continue", "-ex", "bt",
        "-ex", "print a * 10",
        "-ex", "info registers rip", "-ex", "x/2i $pc", "-ex", "stepi",
        "-ex", "disassemble /r", "-ex", "finish", "-ex", "delete", "-ex", "info jit",
        "-ex", "continue")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:4] == ["Breakpoint 1 at pc 5: file fib.vyn, line 6.", "",
                         "Breakpoint 1, fib (n=4) at fib.vyn:6", "6\t  let b = fib(n - 2)"]
    assert lines[4:7] == ["", "Breakpoint 1, fib (n=4) at fib.vyn:6",
                          "6\t  let b = fib(n - 2)"]
    assert lines[7] == "#0  fib (n=4) at fib.vyn:6 [native]"
    assert re.fullmatch(r"#1  0x[0-9a-f]{16} in fib \(n=5\) at fib\.vyn:5 \[native\]",
                        lines[8])
    assert lines[9] == "#2  main () at fib.vyn:14 [bytecode]"
    assert "$1 = 20" in lines
    assert any(re.fullmatch(r"rip +0x[0-9a-f]+ +0x[0-9a-f]+ <fib\+\d+>", x) for x in lines)
    assert any(re.fullmatch(r"=> 0x[0-9a-f]+ <fib\+\d+>:\t\w+.*", x) for x in lines)
    assert any(re.fullmatch(r"0x[0-9a-f]{16}\t6\t  let b = fib\(n - 2\)", x) for x in lines)
    assert "Dump of assembler code for function fib (native, tier 1):" in lines
    assert any(re.fullmatch(r"   0x[0-9a-f]{16} <\+0>:\t55\tpushq +%rbp", x) for x in lines)
    assert any(x.startswith("Value returned is $2 = ") for x in lines)
    assert any(re.match(r"fib +native 1 +\d+", x) for x in lines)
    assert lines[-2] == "232"
    assert re.fullmatch(r"\[Inferior 1 \(process \d+\) exited normally\]", lines[-1])


def test_registers_as_convenience_variables(tmp_path, monkeypatch, capsys):
    """In a native frame `print $pc` is the machine pc with its symbol, `$sp` a data
    address, other registers integers, as gdb prints them; in expressions they are
    numbers; in a bytecode frame `$pc` is the bytecode pc."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fib.vyn").write_text(FIB, encoding="utf-8")
    code, out, err = _vyn(capsys, "debug", "--jit=eager", "fib.vyn", "--batch",
                          "-ex", "break 6", "-ex", "run", "-ex", "info registers rip",
                          "-ex", "p $pc", "-ex", "p/x $pc", "-ex", "p $pc - $pc + 7",
                          "-ex", "p $sp", "-ex", "p $rbp == $fp", "-ex", "ptype $pc",
                          "-ex", "whatis $sp", "-ex", "frame 1",
                          "-ex", "p $pc", "-ex", "kill")
    assert (code, err) == (0, "")
    rip = re.search(r"^rip +(0x[0-9a-f]+) ", out, re.M).group(1)
    assert f"$1 = (void (*)()) {rip} <fib+" in out
    assert f"$2 = {rip}\n" in out
    assert "$3 = 7\n" in out
    assert re.search(r"^\$4 = \(void \*\) 0x[0-9a-f]+$", out, re.M)
    assert "$5 = true\n" in out
    assert "type = void (*)()\ntype = void *\n" in out
    assert re.search(r"^\$6 = \d+$", out, re.M)        # main: a bytecode pc


def test_break_at_an_address_in_the_line_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fib.vyn").write_text(FIB, encoding="utf-8")
    code, out, _ = _vyn(capsys, "debug", "--jit=eager", "fib.vyn", "--batch",
                        "-ex", "break 6", "-ex", "run", "-ex", "x/3i $pc")
    addresses = re.findall(r"^   (0x[0-9a-f]+) <fib\+\d+>", out, re.M)
    assert code == 0 and addresses, out
    mid = addresses[0]
    code, out, err = _vyn(capsys, "debug", "--jit=eager", "fib.vyn", "--batch",
                          "-ex", f"break *{mid}", "-ex", "info breakpoints", "-ex", "run",
                          "-ex", "info breakpoints", "-ex", "kill")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"Breakpoint 1 at {mid}"
    assert lines[2] == f"1       breakpoint     keep y   0x{int(mid, 16):016x}"
    assert re.fullmatch(rf"Breakpoint 1, 0x{int(mid, 16):016x} in fib \(n=\d+\) at "
                        r"fib\.vyn:6", lines[4]), lines
    assert lines[5] == "6\t  let b = fib(n - 2)"
    assert lines[7] == f"1       breakpoint     keep y   0x{int(mid, 16):016x} in fib at fib.vyn:6"


def test_bytecode_disassembly_on_request(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fib.vyn").write_text(FIB, encoding="utf-8")
    code, out, err = _vyn(capsys, "debug", "--jit=eager", "fib.vyn", "--batch",
                          "-ex", "break fib", "-ex", "run", "-ex", "disassemble /b",
                          "-ex", "disassemble /q")
    assert "Dump of assembler code for function fib:" in out
    assert re.search(r"^=> <\+0>:\t[A-Z]+ ", out, re.M)     # bytecode, at the breakpoint
    assert err == "Invalid disassembly modifier: q.\n"


# -- the debugger's DWARF -------------------------------------------------------------------

def test_the_debuggers_code_maps_every_instruction_to_its_bytecode_pc(tmp_path):
    """Code compiled for the debugger carries each instruction's bytecode pc + 1 as the
    line table's discriminator; llvm-dwarfdump verifies it."""
    import io
    import shutil
    import subprocess

    from elftools.elf.elffile import ELFFile

    from compiler import native
    from runtime.jit import plain_builtins

    program = _program(tmp_path, "fib.vyn", FIB)
    plans = {fi: native.analyze(program, fi, plain_builtins())
             for fi in range(len(program.functions))}
    plans = {fi: p for fi, p in plans.items() if not isinstance(p, str)}
    obj = native.compile_plans(program, plans, opt=0, pc_map=True).object
    dwarf = ELFFile(io.BytesIO(obj)).get_dwarf_info()
    rows = [e.state for cu in dwarf.iter_CUs() for e in
            dwarf.line_program_for_CU(cu).get_entries() if e.state is not None]
    fib = program.functions[0]
    pcs = {r.discriminator - 1 for r in rows if r.discriminator and r.line == 2}
    assert pcs and all(fib.line_at(pc).line == 2 for pc in pcs)
    assert {r.discriminator - 1 for r in rows if r.discriminator} >= {
        row.pc for row in fib.lines if row.is_stmt}
    tool = shutil.which("llvm-dwarfdump")
    if tool is None:
        pytest.skip("llvm-dwarfdump is not installed (.ci/run installs it)")
    path = tmp_path / "fib.o"
    path.write_bytes(obj)
    done = subprocess.run([tool, "--verify", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and "No errors." in done.stdout, done.stdout + done.stderr


SUM = """fn sum_to(n: Int) -> Int {
  var s = 0
  var i = 0
  while i < n {
    s += i
    i += 1
  }
  s
}

fn main() {
  println(sum_to(5))
}
"""


def test_watch_a_local_of_a_native_frame(tmp_path):
    s = _session(_program(tmp_path, "sum.vyn", SUM))
    s.break_at("sum.vyn:5", condition="i == 2")
    ev = s.run()
    assert ev.frame.tier is Tier.NATIVE
    s.delete()
    s.watch("s")
    ev = s.cont()
    assert ev.reason is StopReason.WATCHPOINT
    assert (ev.old_value.text, ev.new_value.text) == ("1", "3")
    assert (ev.frame.function, ev.frame.location.line, ev.frame.tier) == (
        "sum_to", 6, Tier.NATIVE)
    ev = s.cont()
    assert (ev.reason, ev.old_value.text, ev.new_value.text) == (
        StopReason.WATCHPOINT, "3", "6")
    s.delete()
    ev = s.cont()
    assert ev.reason is StopReason.EXITED
    assert [o.text for o in s.take_output()] == ["10\n"]


TWO_FIBERS = """fn spin(n: Int) -> Int {
  var s = 0
  var i = 0
  while i < n {
    s += i % 7
    i += 1
  }
  s
}

async fn worker(n: Int) -> Int {
  spin(n)
}

fn main() {
  let t = vyn::spawn(worker(20000))
  let a = spin(20000)
  let b = await t
  println("{} {}", a, b)
}
"""


def test_a_native_frame_keeps_its_identity_when_its_slice_ends(tmp_path):
    """Two fibers: the scheduler switches every 2000 reductions, so the native frame of
    spin leaves native code mid-loop and goes on as a bytecode frame. `finish` and a
    watchpoint on its local go on with it."""
    s = _session(_program(tmp_path, "two.vyn", TWO_FIBERS))
    s.break_at("two.vyn:5", condition="i == 10")
    ev = s.run()
    assert ev.frame.tier is Tier.NATIVE
    fiber = ev.fiber.id
    s.delete()
    ev = s.finish()
    assert ev.reason is StopReason.FINISH and ev.returned.text == "59997"
    assert ev.fiber.id == fiber
    s.kill()
    s.break_at("two.vyn:5", condition="i == 1990")
    ev = s.run()
    s.delete()
    s.watch("s")
    seen = []
    for _ in range(30):              # across the slice's end at the 2000th back-edge
        ev = s.cont()
        assert ev.reason is StopReason.WATCHPOINT, ev
        seen.append((ev.new_value.text, ev.frame.tier.value))
    assert {t for _, t in seen} == {"native", "bytecode"}
    assert [int(v) for v, _ in seen] == sorted(int(v) for v, _ in seen)


def test_an_images_native_code_under_the_debugger(tmp_path, monkeypatch, capsys):
    """`vyn build -O0` then `vyn debug --jit=eager IMAGE`: the image's code as it is (no
    pc map: breakpoints and callers at line granularity)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fib.vyn").write_text(FIB, encoding="utf-8")
    code, _, err = _vyn(capsys, "build", "-O0", "fib.vyn", "-o", "fib0")
    assert code == 0, err
    code, out, err = _vyn(capsys, "debug", "--jit=eager", "fib0", "--batch",
                          "-ex", "break 6 if n == 4", "-ex", "run", "-ex", "continue",
                          "-ex", "bt", "-ex", "info locals", "-ex", "info jit")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "#0  fib (n=4) at fib.vyn:6 [native]" in lines
    assert any(re.fullmatch(r"#1  0x[0-9a-f]{16} in fib \(n=5\) at fib\.vyn:5 \[native\]", x)
               for x in lines)
    assert "a = 2" in lines
    assert any(re.match(r"fib +native 1 \(image\)", x) for x in lines)


def test_an_o2_images_code_is_not_run_under_the_debugger(tmp_path, monkeypatch, capsys):
    """Its loops keep Vec data in registers from the loop's entry, which an expression at
    a stop could make stale: the debugger compiles its own code instead."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fib.vyn").write_text(FIB, encoding="utf-8")
    code, _, err = _vyn(capsys, "build", "-O2", "fib.vyn", "-o", "fib2")
    assert code == 0, err
    code, out, err = _vyn(capsys, "debug", "--jit=eager", "fib2", "--batch",
                          "-ex", "break 6 if n == 4", "-ex", "run", "-ex", "bt",
                          "-ex", "info jit", "-ex", "kill")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "#0  fib (n=4) at fib.vyn:6 [native]" in lines
    assert any(re.match(r"fib +native 1 ", x) for x in lines)
    assert not any("(image)" in x for x in lines)


def test_optimized_native_code_says_what_dwarf_can_still_say(tmp_path):
    """--jit-tier 2: variables through DWARF location lists (registers, stack, constants)
    where the code keeps them, `<optimized out>` where it does not; a variable held in a
    register cannot be set."""
    s = _session(_program(tmp_path, "fib.vyn", FIB), opt=2)
    s.break_at("fib.vyn:7", condition="n == 4")
    ev = s.run()
    assert ev.reason is StopReason.BREAKPOINT and ev.frame.tier is Tier.NATIVE
    values = {v.name: v.value.text for v in s.args() + s.locals()}
    assert values["n"] == "4"
    assert all(values[k] in (want, "<optimized out>") for k, want in (("a", "2"), ("b", "1")))
    ev = s.finish()
    assert ev.returned.text == "3"
    listing = s.jit_functions()
    assert {r.function: r.tier for r in listing}["fib"] == 2


def test_an_optimized_out_variable_is_one_sentence(tmp_path):
    from runtime.jit_unicorn import OPTIMIZED_OUT

    s = _session(_program(tmp_path, "fib.vyn", FIB))
    s.break_at("fib.vyn:6", condition="n == 4")
    s.run()
    frame = s.vm.frame
    reg = next(v.reg for v in frame.fn.vars if v.name == "a")
    frame.regs[reg] = OPTIMIZED_OUT            # as tier-2 code leaves a variable
    frame.readonly.add(reg)
    assert {v.name: v.value.text for v in s.locals()}["a"] == "<optimized out>"
    with pytest.raises(DebugError, match="value has been optimized out"):
        s.evaluate("a + 1")
    with pytest.raises(DebugError, match="optimized native code"):
        s.set_var("a", "1")
