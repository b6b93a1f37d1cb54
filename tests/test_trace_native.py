"""Call events from native code (docs/native.md, "Call events"; docs/tracing.md).

A trace of a program run with the JIT (`--jit=eager`, and `--jit=auto --jit-threshold=1
--jit-tier=1`) has the same calls and returns, in the same order, in each fiber, as the
trace of the same program interpreted (`--jit=off`): fibers switching inside native
loops, slices ending (deoptimization) deep inside native recursion, panics raised from
native code. Only the order is compared, never the times.
"""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from tests.test_native import PANICS, SCHEDULING
from tests.test_programs import TIMEOUT, time_limit
from traces import model as m
from traces.reader import TraceReader
from vyndbg.cli import main

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")

MODES = {
    "eager": ["--jit=eager"],
    "auto1": ["--jit=auto", "--jit-threshold=1", "--jit-tier=1"],
}

FIB = """
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn twice(n: Int) -> Int { fib(n) + fib(n - 1) }
fn main() {
  println("{}", twice(18))
}
"""

# Two fibers recursing 1500 and 900 deep, several times: slices end (every 2000
# reductions) at calls deep inside native recursion, whose frames go on in bytecode.
DEEP = """
fn deep(n: Int) -> Int {
  if n == 0 { return 0 }
  return deep(n - 1) + 1
}
fn main() {
  spawn fn a() {
    var k = 0
    var s = 0
    while k < 12 { s += deep(1500); k += 1 }
    println("a {}", s)
  }
  spawn fn b() {
    var k = 0
    var s = 0
    while k < 15 { s += deep(900); k += 1 }
    println("b {}", s)
  }
  println("main")
}
"""

# Native code calls a function that stays in bytecode (a closure call), which calls
# native code again; a region and a user event in between keep their place.
MIXED = """
fn leaf(n: Int) -> Int {
  if n < 2 { return n }
  return leaf(n - 1) + leaf(n - 2)
}
fn stays(n: Int) -> Int {
  let f = fn(x: Int) -> Int { leaf(x) }
  f(n)
}
fn middle(n: Int) -> Int {
  trace_event("app", "middle")
  scoped {
    let s = "x" + n.to_string()
    s.len() + stays(n)
  }
}
fn main() {
  var i = 0
  var t = 0
  while i < 40 { t += middle(i % 12); i += 1 }
  println("{}", t)
}
"""

PROGRAMS = {"fib": FIB, "scheduling": SCHEDULING, "deep": DEEP, "mixed": MIXED,
            **{f"panic_{k}": v for k, v in PANICS.items()}}


def record(tmp_path: Path, source: str, args: list[str]) -> tuple[int, str, list]:
    """`vyn run ARGS --trace` of `source`: (exit code, stdout, events)."""
    (tmp_path / "p.vyn").write_text(source, encoding="utf-8")
    trace = tmp_path / f"t{len(list(tmp_path.iterdir()))}.vtrace"
    old = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.chdir(tmp_path)
    try:
        with redirect_stdout(out), redirect_stderr(err), time_limit(TIMEOUT * 3):
            code = main(["run", *args, "--trace", str(trace), "p.vyn"])
    finally:
        os.chdir(old)
    with TraceReader(str(trace)) as reader:
        events = list(reader.events())
    return code, out.getvalue(), events


def calls_by_fiber(events: list) -> dict[int, list[int]]:
    """Each fiber's calls (the function) and returns (-1), in order."""
    out: dict[int, list[int]] = {}
    for e in events:
        if type(e) is m.Call:
            out.setdefault(e.fiber, []).append(e.function)
        elif type(e) is m.Return:
            out.setdefault(e.fiber, []).append(-1)
    return out


ORDERED = (m.Call, m.Return, m.FiberRun, m.FiberBlock, m.FiberDone, m.Send, m.Receive,
           m.RegionEnter, m.RegionExit, m.UserEvent, m.Panic)


def in_order(events: list) -> list[tuple]:
    """Every event but the JIT's, without its time: calls and returns, and where the
    slices begin (with the scheduler's step), fibers block and end, messages, regions,
    user events and panics fall among them."""
    return [(type(e).__name__, *e[1:]) if type(e) is not m.Panic else ("Panic", e.fiber)
            for e in events if type(e) in ORDERED]


def native_words(events: list) -> int:
    return sum(e.words for e in events if type(e) is m.NativeCalls)


def native_events(events: list) -> int:
    """How many calls and returns native code reported (the words of *native calls*
    runs: two per call, one per return)."""
    left = n = 0
    for e in events:
        t = type(e)
        if t is m.NativeCalls:
            left = e.words
        elif t in (m.Call, m.Return) and left > 0:
            left -= 2 if t is m.Call else 1
            n += 1
    return n


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_native_code_traces_the_interpreters_calls(tmp_path, name, mode):
    source = PROGRAMS[name]
    base_code, base_out, base = record(tmp_path, source, ["--jit=off"])
    code, out, events = record(tmp_path, source, MODES[mode])
    assert (code, out) == (base_code, base_out)
    assert calls_by_fiber(events) == calls_by_fiber(base)
    # Even the slices (and everything else the scheduler records) fall at the same calls.
    assert in_order(events) == in_order(base)
    assert not any(type(e) is m.NativeCalls for e in base)
    # Native code did run, and reported calls itself.
    runs = [e for e in events if type(e) is m.NativeCalls]
    assert runs and all(e.tier == ("tier1" if mode == "auto1" else "tier2") for e in runs)
    if name in ("fib", "deep", "scheduling", "mixed", "panic_overflow"):
        assert native_words(events) > 0
    if not name.startswith("panic"):
        for seq in calls_by_fiber(events).values():
            depth = 0
            for w in seq:
                depth += 1 if w >= 0 else -1
                assert depth >= 0
            assert depth == 0


def test_deep_recursion_deoptimizes_inside_native_frames(tmp_path):
    """The slices of DEEP end inside native recursion: frames rebuilt in bytecode finish
    there (their returns are the interpreter's), and no call is traced twice."""
    code, _, events = record(tmp_path, DEEP, ["--jit=eager"])
    assert code == 0
    seq = calls_by_fiber(events)
    runs = [e for e in events if type(e) is m.FiberRun]
    assert len(runs) > 10
    # Calls from native code and from the interpreter (rebuilt frames call again).
    assert 0 < native_events(events) < sum(len(s) for s in seq.values())
    assert sum(1 for s in seq.values() for w in s if w >= 0) == 1 + 2 + 12 * 1501 + 15 * 901


def test_untraced_code_has_no_instrumentation():
    from compiler import native
    from compiler.lower import compile_file

    program = compile_file("t.vyn", FIB).program
    plans, _ = native.plan_functions(program)
    plain = native.ModuleBuilder(program, plans, optimized=True).ir()
    traced = native.ModuleBuilder(program, plans, optimized=True, trace=True).ir()
    assert "readcyclecounter" not in plain and "vyn_rt_trace" not in plain
    assert "@llvm.readcyclecounter()" in traced and "@vyn_rt_trace(" in traced


def test_a_sink_without_native_calls_keeps_traced_runs_interpreted():
    from compiler.lower import compile_file
    from runtime.events import EventSink
    from runtime.jit import JitOptions
    from runtime.run import run_program

    class Calls(EventSink):
        def __init__(self):
            self.n = 0

        def call(self, vm, frame):
            self.n += 1

    program = compile_file("t.vyn", FIB).program
    sink = Calls()
    out = io.StringIO()
    assert run_program(program, ["t.vyn"], stdout=out, stderr=io.StringIO(),
                       events=lambda vm: sink, jit=JitOptions(mode="eager")) == 0
    assert out.getvalue() == "4181\n" and sink.n == 1 + 1 + (2 * 4181 - 1) + (2 * 2584 - 1)


def test_trace_info_says_how_many_calls_ran_natively(tmp_path, capsys):
    code, _, events = record(tmp_path, FIB, ["--jit=eager"])
    assert code == 0
    trace = sorted(tmp_path.glob("*.vtrace"))[-1]
    capsys.readouterr()
    assert main(["trace", "info", str(trace)]) == 0
    out = capsys.readouterr().out
    calls = sum(1 for e in events if type(e) is m.Call)
    # main runs in the interpreter; twice and every fib natively.
    assert f"native:    {calls - 1:,} of the {calls:,} calls ran in native code" in out


def test_cycle_counts_become_monotonic_nanoseconds_in_native_code_and_in_python():
    import ctypes

    from compiler import native
    from runtime.jit import _convert_in_python

    words = [~3, 1000, ~4, 1500, 1600, 1400, 2000, ~5, 2600]
    expect = [~3, 10_000, ~4, 10_500, 10_600, 10_600, 11_000, ~5, 11_200]
    for convert in (native.trace_converter(), _convert_in_python):
        buf = (ctypes.c_int64 * len(words))(*words)
        # Counter 1000 was ns 10_000, counter 2200 is ns 11_200: 1 ns per count; never
        # below the time before, never past the end.
        convert(ctypes.addressof(buf), len(words), 1000, 10_000, 11_200, 1.0)
        assert list(buf) == expect, convert
