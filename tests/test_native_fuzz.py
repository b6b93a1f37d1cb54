"""Differential tests of the native tier on generated programs.

A seeded generator writes small programs out of what native code does itself (wrapping
Int arithmetic, division with its panics, Floats, comparisons, loops, `for ... in` over
ranges and Vecs, closures and their captures, Vec push and index, calls, recursion);
each must print the same and exit the same under `--jit=off`, `--jit=eager` (both tiers)
and a JIT promoting at once (OSR into running loops). Concurrent ones run the same
functions in fibers exchanging values over a channel: slices end and fibers block inside
native code, which must still leave the interpreter's output, in its order. The debugger
steps through both kinds the same in bytecode and in tier-1 native code under unicorn.
The seeds are fixed: a failure names its seed, and the program is in the assertion
message.
"""

from __future__ import annotations

import random

import pytest

from tests.test_native import run

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")

INT_OPS = ("+", "-", "*", "/", "%", "&", "|", "^")
CMP_OPS = ("<", "<=", ">", ">=", "==", "!=")
BIG = ("9223372036854775807", "-9223372036854775807", "4611686018427387904", "3", "-7",
       "0", "1", "255")


class Gen:
    """One program: a few helper functions, then a `main` printing what they compute."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.fns: list[str] = []

    def int_expr(self, names: list[str], depth: int = 0) -> str:
        r = self.r
        if depth > 2 or r.random() < 0.3:
            return r.choice(names + list(BIG)) if names else r.choice(BIG)
        a = self.int_expr(names, depth + 1)
        b = self.int_expr(names, depth + 1)
        op = r.choice(INT_OPS)
        if op in ("/", "%") and r.random() < 0.8:
            b = f"({b} | 1)"              # mostly not zero: the panic is rarer
        return f"({a} {op} {b})"

    def float_expr(self, names: list[str]) -> str:
        r = self.r
        a = r.choice(["1.5", "-0.25", "1e300", "3.0"] + [f"({n} as Float)" for n in names])
        b = r.choice(["2.0", "0.0", "-1e-300", "7.5"] + [f"({n} as Float)" for n in names])
        return f"({a} {r.choice(['+', '-', '*', '/'])} {b})"

    def function(self, i: int) -> str:
        r = self.r
        kind = r.choice(["loop", "forrange", "forvec", "closure", "rec", "float"])
        name = f"f{i}"
        if kind == "loop":
            body = (f"  var t = a\n  var i = 0\n  while i < {r.randint(0, 40)} {{\n"
                    f"    t = {self.int_expr(['t', 'i', 'b'])}\n    i += 1\n  }}\n  t\n")
        elif kind == "forrange":
            lo, hi = sorted((r.randint(-5, 5), r.randint(-5, 30)))
            op = r.choice(["..<", ".."])
            body = (f"  var t = b\n  for k in {lo}{op}{hi} {{\n"
                    f"    if {self.int_expr(['k', 't'])} {r.choice(CMP_OPS)} 0 {{ t += k }}"
                    f" else {{ t = {self.int_expr(['t', 'a'])} }}\n  }}\n  t\n")
        elif kind == "forvec":
            body = (f"  var v = Vec<Int>()\n  for k in 0..<{r.randint(0, 20)} {{ "
                    f"v.push({self.int_expr(['k', 'a'])}) }}\n"
                    f"  var t = 0\n  for x in v {{\n    t = {self.int_expr(['t', 'x'])}\n"
                    f"    if x {r.choice(CMP_OPS)} b && v.len() < 30 {{ v.push(x) }}\n  }}\n"
                    f"  if v.len() > 0 {{ t += v[(b & 1023) % v.len()] }}\n  t\n")
        elif kind == "closure":
            body = (f"  let c = {self.int_expr(['a', 'b'])}\n"
                    f"  let f = fn(x: Int) -> Int {{ {self.int_expr(['x', 'c'])} }}\n"
                    f"  var t = 0\n  var i = 0\n  while i < {r.randint(1, 25)} {{"
                    f" t = t + f(i + a); i += 1 }}\n  t\n")
        elif kind == "rec":
            body = (f"  if a <= 0 {{ return b }}\n"
                    f"  {name}(a - 1, {self.int_expr(['a', 'b'])}) + 1\n")
            return f"fn {name}(a: Int, b: Int) -> Int {{\n{body}}}\n"
        else:
            body = (f"  let x = {self.float_expr(['a', 'b'])}\n"
                    f"  if x {r.choice(CMP_OPS)} {self.float_expr(['b'])} {{ return 1 }}\n"
                    f"  println(\"{name} {{}}\", x)\n  0\n")
        return f"fn {name}(a: Int, b: Int) -> Int {{\n{body}}}\n"

    def program(self) -> str:
        r = self.r
        n = r.randint(2, 5)
        fns = [self.function(i) for i in range(n)]
        calls = []
        for _ in range(r.randint(3, 8)):
            i = r.randrange(n)
            a = r.choice(["7", "0", "-3", "12", "9223372036854775807", "s"])
            calls.append(f"  s = s ^ f{i}({a} % 17, {self.int_expr(['s'])})\n"
                         f"  println(\"{{}}\", s)\n")
        return "".join(fns) + "fn main() {\n  var s = 1\n" + "".join(calls) + "}\n"


    def concurrent(self) -> str:
        """The same functions, called from fibers that hand their results over a bounded
        channel (side exits, blocking, slices ending inside native loops)."""
        r = self.r
        n = r.randint(2, 4)
        fns = [self.function(i) for i in range(n)]
        workers = []
        for w in range(r.randint(2, 3)):
            calls = "".join(f"      acc = acc ^ f{r.randrange(n)}(k % 13, acc + {w})\n"
                            for _ in range(r.randint(1, 3)))
            workers.append(
                f"  spawn fn w{w}() {{\n    var k = 0\n    while k < {r.randint(3, 30)} {{\n"
                f"      var acc = k * {r.randint(1, 9)}\n{calls}"
                f"      var z = 0\n"
                f"      while z < {r.randint(0, 1500)} {{ z += 1; acc += z & 3 }}\n"
                f"      ch.send(acc)\n      k += 1\n    }}\n    ch.send(-1)\n  }}\n")
        return ("".join(fns) + "fn main() {\n"
                f"  let ch: Channel<Int> = Channel::bounded({r.randint(1, 3)})\n"
                + "".join(workers)
                + f"  var done = 0\n  var sum = 0\n  var seen = 0\n"
                f"  while done < {len(workers)} {{\n    let v = ch.recv().unwrap()\n"
                f"    if v == -1 {{ done += 1 }} else {{ sum = sum ^ v; seen += 1 }}\n  }}\n"
                f"  println(\"{{}} {{}}\", seen, sum)\n}}\n")


SEEDS = range(40)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_programs_run_the_same_natively(tmp_path, seed):
    source = Gen(seed).program()
    (tmp_path / "p.vyn").write_text(source, encoding="utf-8")
    base = run(["run", "--jit=off", "p.vyn"], tmp_path)
    assert base[0] in (0, 101), (source, base)        # it compiles and runs
    for args in (["--jit=eager"], ["--jit=eager", "--jit-tier=1"],
                 ["--jit=auto", "--jit-threshold=1"]):
        got = run(["run", *args, "p.vyn"], tmp_path)
        assert got == base, (args, source)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_generated_concurrent_programs_run_the_same_natively(tmp_path, seed):
    source = Gen(1000 + seed).concurrent()
    (tmp_path / "p.vyn").write_text(source, encoding="utf-8")
    base = run(["run", "--jit=off", "p.vyn"], tmp_path)
    assert base[0] in (0, 101), (source, base)
    for args in (["--jit=eager"], ["--jit=auto", "--jit-threshold=1"],
                 ["--jit=auto", "--jit-threshold=40", "--jit-tier=1"]):
        got = run(["run", *args, "p.vyn"], tmp_path)
        assert got == base, (args, source)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(40))
def test_stepping_generated_programs_is_the_same_in_native_code(tmp_path, seed):
    """The debugger on generated programs: `start`, then `step` (up to 400 stops) gives
    the same functions, lines, depths and values in bytecode and in tier-1 native code
    under unicorn."""
    from tests.test_debugger_native import steps_in_both

    steps_in_both(tmp_path, "g.vyn", Gen(seed).program())


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_stepping_generated_concurrent_programs_is_the_same_in_native_code(tmp_path, seed):
    from tests.test_debugger_native import steps_in_both

    steps_in_both(tmp_path, "g.vyn", Gen(1000 + seed).concurrent())
