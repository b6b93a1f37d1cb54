"""Debugger overhead: what a breakpoint costs when it is not hit, and how fast a false
condition is tested.

    python bench/debugger_bench.py [--quick]

1. fib(27) run by `vyn run` (runtime.run.run_program, no debugger) and under the
   debugger engine with a breakpoint set on a line the program never reaches; best of
   3 each, and their ratio (target: <= 1.05, breakpoints are patched opcodes).
2. A loop of 100k iterations with `break LINE if i == -1`: the condition is tested at
   every iteration and never true; condition tests per second.
3. fib(25) under the debugger with `--jit=eager`: native code inside unicorn with a
   breakpoint set in fib and never hit (`break 3 if n == -1`: a code hook that fires at
   every call and tests the condition), and with one on a line never reached (no hook
   fires), against the bytecode debugger with the same breakpoints, in the same run.
"""

from __future__ import annotations

import io
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from compiler.lower import compile_file  # noqa: E402
from runtime.run import run_program  # noqa: E402
from vyndbg.engine import Session  # noqa: E402
from vyndbg.model import StopReason  # noqa: E402

FIB = """\
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn never() {
  println("never called")
}
fn main() {
  println(fib(N))
}
"""
NEVER_LINE = 6

LOOP = """\
fn main() {
  var total = 0
  for i in 0..<N {
    total += i
  }
  println(total)
}
"""
LOOP_LINE = 4


def best_of(n: int, fn) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_plain(program) -> None:
    code = run_program(program, ["fib.vyn"], stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0, code


def run_debugged(program, spec: str, condition: str | None = None, jit=None) -> Session:
    session = Session(program, on_output=lambda out: None, jit=jit)
    session.break_at(spec, condition=condition)
    ev = session.run()
    assert ev.reason is StopReason.EXITED, ev
    return session


def main() -> None:
    quick = "--quick" in sys.argv
    fib_n = 20 if quick else 27
    loop_n = 10_000 if quick else 100_000
    fib = compile_file("fib.vyn", FIB.replace("N", str(fib_n))).program
    loop = compile_file("loop.vyn", LOOP.replace("N", str(loop_n))).program

    plain = best_of(3, lambda: run_plain(fib))
    debugged = best_of(3, lambda: run_debugged(fib, str(NEVER_LINE)))
    hits = {}

    def conditional() -> None:
        s = run_debugged(loop, str(LOOP_LINE), "i == -1")
        hits["n"] = s.breakpoints()[0].hits
    cond_time = best_of(3, conditional)
    bare_loop = best_of(3, lambda: run_plain(loop))
    tests = loop_n  # the condition is tested once per iteration

    from runtime.jit import JitOptions

    fib25 = compile_file("fib.vyn", FIB.replace("N", "20" if quick else "25")).program
    eager = JitOptions(mode="eager", opt=0)
    uni_never = best_of(3, lambda: run_debugged(fib25, str(NEVER_LINE), jit=eager))
    byte_never = best_of(3, lambda: run_debugged(fib25, str(NEVER_LINE)))
    uni_cond = best_of(3, lambda: run_debugged(fib25, "3", "n == -1", jit=eager))
    byte_cond = best_of(3, lambda: run_debugged(fib25, "3", "n == -1"))
    n25 = 20 if quick else 25

    rows = [
        (f"fib({n25}), bytecode debugger, breakpoint never reached", f"{byte_never:.3f} s",
         ""),
        (f"fib({n25}), --jit=eager (unicorn), breakpoint never reached",
         f"{uni_never:.3f} s", f"ratio {uni_never / byte_never:.2f} of the bytecode "
                               "debugger"),
        (f"fib({n25}), bytecode debugger, `break 3 if n == -1`", f"{byte_cond:.3f} s", ""),
        (f"fib({n25}), --jit=eager (unicorn), `break 3 if n == -1`", f"{uni_cond:.3f} s",
         f"ratio {uni_cond / byte_cond:.2f} of the bytecode debugger"),
        (f"fib({fib_n}), vyn run (no debugger)", f"{plain:.3f} s", ""),
        (f"fib({fib_n}), engine + unhit breakpoint", f"{debugged:.3f} s",
         f"ratio {debugged / plain:.3f} (target <= 1.05)"),
        (f"loop {loop_n}, vyn run (no debugger)", f"{bare_loop:.3f} s", ""),
        (f"loop {loop_n}, `break {LOOP_LINE} if i == -1`", f"{cond_time:.3f} s",
         f"{tests / cond_time:,.0f} condition tests/s, {hits['n']} hits"),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'benchmark':<{w0}}  {'best of 3':>{w1}}  notes")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * 40}")
    for name, t, note in rows:
        print(f"{name:<{w0}}  {t:>{w1}}  {note}")


if __name__ == "__main__":
    main()
