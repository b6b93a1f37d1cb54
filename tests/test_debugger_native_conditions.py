"""Breakpoint conditions in native code (`vyn debug --jit=eager`, runtime/jit_unicorn.py)
stop exactly where and as the bytecode debugger's do.

A condition is tested at every hit of its breakpoint; in native code a pure one
(compares, arithmetic, `&&` / `||`, field reads over the frame's variables) is tested
without a call into the VM, and a false one without building the frame at all
(vyndbg/conditions.py, Session._native_site_test). These tests compare, condition by
condition, the stops (function, line, depth, arguments, locals, tier aside), the
messages of a condition that fails, the hit counts and the program's output under
unicorn with the bytecode debugger's, and check that the quick paths are the ones taken.
"""

from __future__ import annotations

import io

import pytest

from runtime.jit import JitOptions
from tests.test_debugger_native import _SESSIONS, _program, _session
from vyndbg.linemode import LineMode
from vyndbg.model import DebugError, StopReason, Tier

# `walk` is native under --jit=eager (tier 1: every variable in a stack slot); `weight`
# is called by a condition; `probe` gets a Node that was freed.
PROGRAM = """class Box {
  var count: Int
  var ratio: Float
  var open: Bool
}

fn weight(b: Box, k: Int) -> Int {
  b.count * k
}

fn walk(n: Int, x: Float, flag: Bool, b: Box) -> Int {
  let m = n * 3 + 1
  let y = x * 2.0
  if n <= 0 {
    return m
  }
  let rest = walk(n - 1, y / 3.0, !flag, b)
  rest + m
}

class Node {
  var value: Int
}

fn probe(node: Node, k: Int) -> Int {
  let twice = k * 2
  twice + 1
}

fn main() {
  var total = 0
  var i = 0
  while i < 6 {
    let b = Box(count=i, ratio=0.25 * (i as Float), open=i % 3 == 0)
    total += walk(i, 1.5, i % 2 == 0, b)
    i += 1
  }
  var node = alloc<Node>()
  node.value = 3
  total += probe(node, 1)
  free(node)
  total += probe(node, 2)
  println(total)
}
"""
WALK_FIRST = 12       # let m = ... (only the arguments are live)
WALK_LAST = 18        # rest + m (every local is)
PROBE = 27            # twice + 1

CONDITIONS = [
    # (line, condition)
    (WALK_LAST, "n == 2"),                          # true at some hits
    (WALK_LAST, "n == -1"),                         # never true
    (WALK_FIRST, "n == -1"),
    (WALK_FIRST, "n >= 4"),
    (WALK_LAST, "m > 7 && n < 4"),                  # a local, &&
    (WALK_LAST, "rest == 1 || flag"),               # ||, a Bool
    (WALK_LAST, "n > 2 || (x < 1.0 && !flag)"),
    (WALK_LAST, "x >= 0.7"),                        # Floats
    (WALK_LAST, "y * 2.0 != y + 1.0"),
    (WALK_LAST, "-x < -1.2"),
    (WALK_FIRST, "flag == false"),                  # Bools
    (WALK_FIRST, "!flag"),
    (WALK_FIRST, "flag != (n % 2 == 0)"),
    (WALK_LAST, "n % 3 == 0"),                      # Int arithmetic
    (WALK_LAST, "n / 2 == 1"),
    (WALK_LAST, "(n & 1) == 1"),
    (WALK_LAST, "-n < -2"),
    (WALK_LAST, "n * 4611686018427387904 == 0"),    # wraps
    (WALK_LAST, "n - 9223372036854775807 - 2 > 0"),
    (WALK_LAST, "m - n * 3"),                       # an Int: true unless zero
    (WALK_LAST, "b.count == 3"),                    # fields of an object
    (WALK_LAST, "b.ratio > 0.4 && b.open"),
    (WALK_LAST, "weight(b, n) > 4"),                # calls a function
    (WALK_LAST, "n / (n - 2) == 1"),                # divides by zero at n == 2
    (WALK_LAST, "nosuch == 1"),                     # no such variable
    (PROBE, "node.value == 3"),                     # reads a freed object the second time
    (PROBE, "k == 2"),
]


def _stops(program, mode: str, line: int, condition: str, limit: int = 80) -> dict:
    """Run to the end, continuing from every stop of `break LINE if CONDITION`."""
    s = _session(program, mode)
    seen: list[tuple] = []
    s.on_output = lambda out: seen.append(("output", out.stream, out.text))
    tiers = set()
    try:
        s.break_at(f"cond.vyn:{line}", condition=condition)
    except Exception as e:              # noqa: BLE001 - the same refusal in both modes
        return {"refused": f"{type(e).__name__}: {e}"}
    ev = s.run()
    while ev.reason is StopReason.BREAKPOINT and len(seen) < limit:
        f = ev.frame
        tiers.add(f.tier)
        values = tuple((v.name, v.value.text) for v in s.args() + s.locals())
        seen.append(("stop", f.function, f.location.line, s.depth(), values))
        ev = s.cont()
    seen.append(("end", ev.reason.value, ev.exit_code, ev.message))
    hits = s.breakpoints()[0].hits
    s.kill()
    return {"events": seen, "hits": hits, "tiers": tiers}


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    p = _program(tmp_path_factory.mktemp("cond"), "cond.vyn", PROGRAM)
    assert p is not None
    return p


@pytest.mark.parametrize(("line", "condition"), CONDITIONS,
                         ids=[f"{line}:{c}" for line, c in CONDITIONS])
def test_native_condition_stops_as_in_bytecode(program, line, condition):
    base = _stops(program, "off", line, condition)
    native = _stops(program, "eager", line, condition)
    if "refused" in base:
        assert native == base and "nosuch" in condition
        return
    assert native["events"] == base["events"]
    assert native["hits"] == base["hits"]
    if line != PROBE and any(e[0] == "stop" for e in native["events"]):
        assert native["tiers"] == {Tier.NATIVE}       # they did stop in native code


def test_the_conditions_do_what_they_say(program):
    """A sample of the comparisons above, spelled out: they are not all trivially the
    same because nothing stops."""
    def stops(line, condition):
        return [e for e in _stops(program, "eager", line, condition)["events"]
                if e[0] == "stop"]

    assert {dict(e[4])["n"] for e in stops(WALK_LAST, "n == 2")} == {"2"}
    assert len(stops(WALK_LAST, "n == 2")) == 4          # walk(2..5) each reach n == 2
    assert stops(WALK_LAST, "n == -1") == []
    assert {dict(e[4])["n"] for e in stops(WALK_LAST, "b.count == 3")} == {"1", "2", "3"}
    assert len(stops(WALK_LAST, "weight(b, n) > 4")) > 0
    events = _stops(program, "eager", WALK_LAST, "n / (n - 2) == 1")["events"]
    errors = [e for e in events if e[0] == "output" and "Error in testing condition" in e[2]]
    assert errors and "division by zero" in errors[0][2]
    events = _stops(program, "eager", PROBE, "node.value == 3")["events"]
    assert [e[0] for e in events if e[0] in ("stop", "output")][:3] == \
        ["stop", "output", "stop"]                    # true, then an error: stops twice
    assert "use after free" in [e for e in events if e[0] == "output"][0][2]


def test_a_false_pure_condition_builds_no_frame(program, monkeypatch):
    """After the first hit (the ordinary way), a false pure condition is tested from the
    stack slots alone: no frame is rebuilt, no VM call is made."""
    from runtime import jit_unicorn

    s = _session(program, "eager")
    s.break_at(f"cond.vyn:{WALK_LAST}", condition="n == -1")
    frames, calls = [], []
    lazy = jit_unicorn.UnicornJit._lazy_frame
    monkeypatch.setattr(jit_unicorn.UnicornJit, "_lazy_frame",
                        lambda self, *a: frames.append(1) or lazy(self, *a))
    call = type(s).call_in_program
    monkeypatch.setattr(type(s), "call_in_program",
                        lambda self, *a: calls.append(1) or call(self, *a))
    ev = s.run()
    assert ev.reason is StopReason.EXITED
    assert len(frames) == 1 and len(calls) == 1       # the first hit only
    assert s.breakpoints()[0].hits == 0


def test_a_pure_condition_is_tested_without_a_vm_call(program, monkeypatch):
    """A frame is needed (the stop), but the condition's test is not a VM call."""
    s = _session(program, "eager")
    s.break_at(f"cond.vyn:{WALK_LAST}", condition="b.count >= 3 && n == 2")
    calls = []
    call = type(s).call_in_program
    monkeypatch.setattr(type(s), "call_in_program",
                        lambda self, *a: calls.append(1) or call(self, *a))
    ev = s.run()
    hits = 0
    while ev.reason is StopReason.BREAKPOINT:
        assert ev.frame.tier is Tier.NATIVE
        hits += 1
        ev = s.cont()
    assert hits == 3 and len(calls) == 1


def test_changing_the_condition_and_stepping_between_hits(program):
    """`condition N` and a `next` between hits: the quick test follows what the
    breakpoint is now, and does not hide a stop the step wants."""
    def session(mode):
        s = _session(program, mode)
        s.break_at(f"cond.vyn:{WALK_LAST}", condition="n == 4")
        out = []
        ev = s.run()
        out.append((ev.reason.value, ev.frame.location.line, s.evaluate("n").text))
        s.condition(1, "n == 1")
        ev = s.cont()
        out.append((ev.reason.value, ev.frame.location.line, s.evaluate("n").text))
        ev = s.next()
        out.append((ev.reason.value, ev.frame.location.line, s.depth()))
        ev = s.next()
        out.append((ev.reason.value, ev.frame.location.line, s.depth()))
        s.condition(1, None)
        ev = s.cont()
        out.append((ev.reason.value, ev.frame.location.line, s.evaluate("n").text))
        s.disable([1])
        ev = s.cont()
        out.append((ev.reason.value, ev.exit_code))
        s.kill()
        return out

    assert session("eager") == session("off")


def test_info_jit_shows_side_exits(tmp_path):
    """`info jit` has the side exits `vyn run --jit-stats` prints as `exits`."""
    text = """fn sq(x: Int) -> Int { x * x }

fn sums(n: Int) -> Int {
  var v: Vec<Int> = vec![]
  var i = 0
  while i < n { v.push(i); i += 1 }
  let w = v.map(fn(x: Int) -> Int { sq(x) + 1 })
  w.len()
}

fn main() {
  var k = 0
  var t = 0
  while k < 3 {
    t += sums(k + 2)
    k += 1
  }
  println(t)
}
"""
    program = _program(tmp_path, "exits.vyn", text)
    s = _session(program, "eager")
    s.break_at("exits.vyn:18")
    ev = s.run()
    assert ev.reason is StopReason.BREAKPOINT
    rows = {r.function: r for r in s.jit_functions()}
    assert rows["sums"].tier and rows["sums"].side_exits == 3
    assert rows["sq"].side_exits == 0
    s.kill()

    out = io.StringIO()
    mode = LineMode(program, out=out, batch=True, jit=JitOptions(mode="eager", opt=0))
    _SESSIONS.append(mode.session)
    for command in ("break exits.vyn:18", "run", "info jit", "kill"):
        mode.execute(command)
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.startswith("Function "))
    assert "Exits" in header.split()
    sums = next(line for line in lines if line.startswith("sums "))
    column = header.index("Exits")
    assert sums[column - 1:column + len("Exits")].strip() == "3"


# -- the evaluator against the VM ----------------------------------------------------------

_PURE_CONDITIONS = [
    "n == -1", "n * 3 + 1 > n", "n / 3 == -1", "n % 3 == 2", "-n < n", "n - 1 > n",
    "n + 1 < n", "(n & 6) == 2 || (n | 1) == 3", "(n ^ 5) > 2", "n * n >= 0",
    "n - 9223372036854775807 - 2 > 0", "x * 2.0 != x + 1.0", "-x < -1.2", "x == x",
    "x - x >= 0.0", "flag != (n > 0)", "!flag && n >= 2", "flag == true || x <= 0.0",
    "n > 2 && n < 9 || flag", "n / (n - 2) >= 0", "n % (n + 1) == 0", "flag",
    "(flag & (n > 1)) | !flag", "n >= 0 && (x > 1.0 || !(n != 3))",
]
_INTS = [-(1 << 63), -(1 << 62) - 7, -3, -1, 0, 1, 2, 3, 7, 1 << 62, (1 << 63) - 1]
_FLOATS = [-0.0, 0.0, 1.5, -2.5, float("nan"), float("inf"), -float("inf")]


def test_pure_conditions_compute_what_the_vm_computes(program):
    """Every pure condition, on edge values (overflow, zero divisors, NaN, -0.0): the
    evaluator's value is the VM's own (same type), and where it gives up (FALLBACK) the
    VM raises: the ordinary path then reports what it always did."""
    import io as _io

    from runtime.vm import VM
    from vyndbg.conditions import FALLBACK, pure_evaluator
    from vyndbg.exprs import ExprCompiler, ExprParam

    vm = VM(program, stdout=_io.StringIO(), stderr=_io.StringIO())
    ec = ExprCompiler(program)
    params = [ExprParam("n", "Int"), ExprParam("x", "Float"), ExprParam("flag", "Bool")]
    checked = 0
    for text in _PURE_CONDITIONS:
        loaded = ec.load(vm, text, params)
        fn = vm.functions[loaded.function]
        run = pure_evaluator(vm.codes[loaded.function], fn.nparams, fn.nregs, vm.heap)
        assert run is not None, text
        for n in _INTS:
            for x in _FLOATS:
                for flag in (False, True):
                    got = run([n, x, flag])
                    try:
                        want = vm.call_function(loaded.function, [n, x, flag])
                    except Exception as e:           # noqa: BLE001
                        assert got is FALLBACK, (text, n, x, flag, e)
                        continue
                    assert got is not FALLBACK, (text, n, x, flag)
                    assert (type(got), repr(got)) == (type(want), repr(want)), \
                        (text, n, x, flag)
                    checked += 1
    assert checked > 3000


def test_impure_conditions_have_no_evaluator(program):
    import io as _io

    from runtime.vm import VM
    from vyndbg.conditions import pure_evaluator
    from vyndbg.exprs import ExprCompiler, ExprParam

    vm = VM(program, stdout=_io.StringIO(), stderr=_io.StringIO())
    ec = ExprCompiler(program)
    params = [ExprParam("n", "Int"), ExprParam("x", "Float"), ExprParam("b", "Box")]
    for text in ("weight(b, n) > 4", "x / 2.0 > 1.0", "(n as Float) > x", "b == b",
                 "n.to_string() == \"3\""):
        loaded = ec.load(vm, text, params)
        fn = vm.functions[loaded.function]
        assert pure_evaluator(vm.codes[loaded.function], fn.nparams, fn.nregs,
                              vm.heap) is None, text


# -- breakpoints that share a site, counts, limits ------------------------------------------

def _script(program, mode: str, setup, limit: int = 60, **session_options) -> list:
    """Run with the breakpoints `setup(session)` sets, continuing from every stop: each
    stop's breakpoint number, line, depth and values, and what was printed."""
    from vyndbg.engine import Session

    jit = JitOptions(mode="eager", opt=0) if mode == "eager" else None
    s = Session(program, jit=jit, **session_options)
    _SESSIONS.append(s)
    seen: list[tuple] = []
    s.on_output = lambda out: seen.append(("output", out.stream, out.text))
    setup(s)
    ev = s.run()
    while ev.reason is StopReason.BREAKPOINT and len(seen) < limit:
        values = tuple((v.name, v.value.text) for v in s.args() + s.locals())
        seen.append(("stop", ev.breakpoint.number if ev.breakpoint else None,
                     ev.frame.location.line, s.depth(), values))
        ev = s.cont()
    seen.append(("end", ev.reason.value, ev.exit_code, ev.message))
    seen.append(("hits", tuple((b.number, b.hits, b.ignore) for b in s.breakpoints())))
    s.kill()
    return seen


@pytest.mark.parametrize("case", ["shared", "ignore", "tbreak", "disabled", "mixed"])
def test_breakpoints_sharing_a_site_stop_as_in_bytecode(program, case):
    def setup(s):
        at = f"cond.vyn:{WALK_LAST}"
        if case == "shared":
            s.break_at(at, condition="n == 3")
            s.break_at(at, condition="n == 1 && flag")
            s.break_at(at, condition="b.count == -5")
        elif case == "ignore":
            s.break_at(at, condition="n >= 2")
            s.ignore(1, 3)
        elif case == "tbreak":
            s.break_at(at, condition="n == 2", temporary=True)
            s.break_at(at, condition="x < 0.6")
        elif case == "disabled":
            s.break_at(at, condition="n == 2")
            s.break_at(at, condition="n == 3")
            s.disable([1])
        else:                                   # a pure and an impure condition
            s.break_at(at, condition="n == 4")
            s.break_at(at, condition="weight(b, n) == 12")

    assert _script(program, "eager", setup) == _script(program, "off", setup)


@pytest.mark.parametrize("max_depth", [3, 4, 5, 8])
def test_a_condition_at_the_depth_limit(program, max_depth):
    """A condition is a call from the debugger: at the deepest frame the limit allows it
    overflows, as the bytecode debugger's does (the native frame's depth is bounded
    without unwinding, and the ordinary path decides when the bound is not enough)."""
    def setup(s):
        s.break_at(f"cond.vyn:{WALK_FIRST}", condition="n == -1")

    assert _script(program, "eager", setup, max_depth=max_depth) == \
        _script(program, "off", setup, max_depth=max_depth)


def test_finish_and_step_with_a_conditional_breakpoint_in_native_code(program):
    def trace(mode):
        s = _session(program, mode)
        s.break_at(f"cond.vyn:{WALK_LAST}", condition="n == 3")
        s.break_at(f"cond.vyn:{WALK_FIRST}", condition="n == -7")
        out = []
        ev = s.run()
        for command in ("finish", "step", "step", "next", "finish", "cont", "step",
                        "finish", "cont", "cont"):
            out.append((ev.reason.value, ev.frame.function if ev.frame else "",
                        ev.frame.location.line if ev.frame else 0, s.depth(),
                        ev.returned.text if ev.returned else ""))
            try:
                ev = getattr(s, command)()
            except DebugError as e:
                out.append(("refused", command, str(e)))
                continue
            if ev.reason is StopReason.EXITED:
                break
        out.append((ev.reason.value, ev.exit_code))
        assert len(out) > 8
        s.kill()
        return out

    assert trace("eager") == trace("off")
