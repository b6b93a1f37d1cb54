"""Closure calls (CALLV) and trait method calls (CALLM) in native code (docs/native.md,
"Closure and method calls").

Native code calls a closure through the context's function table, with the closure as
the callee's environment; a callee still in bytecode runs in the interpreter
(`vyn_rt_call`). Frames a native closure call made carry their closure when native
code leaves, so captured variables read right in the interpreter afterwards and in the
debugger. Every program prints the same interpreted and native, at both tiers and with
a JIT that promotes at once.
"""

from __future__ import annotations

import re

import pytest

from tests.test_native import run, same_everywhere

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")

CLOSURES = """
class Op { var f: fn(Int) -> Int }
fn apply(f: fn(Int) -> Int, n: Int) -> Int {
  var t = 0
  var i = 0
  while i < n { t = t * 3 + f(i); i += 1 }
  t
}
fn fapply(g: fn(Float) -> Float, x: Float) -> Float { g(g(x)) }
fn pick(p: fn(Int) -> Bool, v: Vec<Int>) -> Int {
  var n = 0
  for x in v { if p(x) { n += 1 } }
  n
}
fn make_adder(k: Int) -> fn(Int) -> Int {
  fn(x: Int) -> Int { x + k }
}
fn main() {
  let k = 7
  let sq = fn(x: Int) -> Int { x * x + k }
  println("{}", apply(sq, 30))
  println("{}", apply(make_adder(100), 30))
  println("{}", fapply(fn(x: Float) -> Float { x * 0.5 + 1.0 }, 3.0))
  println("{}", pick(fn(x: Int) -> Bool { x % 3 == 0 }, vec![1, 3, 6, 7, 9]))
  let op = Op(fn(x: Int) -> Int { x - k })
  var s = 0
  var i = 0
  while i < 100 { s += op.f(i); i += 1 }
  println("{}", s)
  let name = fn(n: Int) -> String { "n" + n.to_string() }
  println("{}", name(42))
}
"""

# Fibers switch while native code is inside closures called natively: their frames
# become bytecode frames with their closures, and read their captures from there on.
FIBERS = """
fn work(f: fn(Int) -> Int, n: Int) -> Int {
  var t = 0
  var i = 0
  while i < n { t += f(i); i += 1 }
  t
}
fn main() {
  var turn = 0
  spawn fn a() {
    let base = 1000
    let f = fn(x: Int) -> Int {
      var s = 0
      var j = 0
      while j < 40 { s += x + base + j; j += 1 }
      s
    }
    println("a {}", work(f, 300))
  }
  spawn fn b() {
    let scale = 3
    let g = fn(x: Int) -> Int {
      if turn != 2 { println("b switched at {}", x); turn = 2 }
      x * scale
    }
    println("b {}", work(g, 5000))
  }
  println("main")
}
"""

PANICS = """
fn run(f: fn(Int) -> Int) -> Int { f(3) + 1 }
fn main() {
  let d = 0
  println("{}", run(fn(x: Int) -> Int { x * 2 }))
  println("{}", run(fn(x: Int) -> Int { x / d }))
}
"""


# Trait methods called through `&Trait` (CALLM): native code finds the receiver's class
# among those with the method; a freed receiver panics as in the interpreter.
METHODS = """
template Shape {
  fn area(&self) -> Float
  fn sides(&self) -> Int
}
class Square: Shape {
  var side: Float
  fn area(&self) -> Float { self.side * self.side }
  fn sides(&self) -> Int { 4 }
}
class Tri: Shape {
  var b: Float
  var h: Float
  fn area(&self) -> Float { self.b * self.h * 0.5 }
  fn sides(&self) -> Int { 3 }
}
fn total(v: Vec<&Shape>) -> Float {
  var t = 0.0
  var i = 0
  while i < 200 {
    for s in v { t += s.area() * (s.sides() as Float) }
    i += 1
  }
  t
}
fn first_sides(v: Vec<Square>) -> Int {
  var n = 0
  for s in v { n += s.sides() }
  n
}
fn main() {
  let a = Square(1.5)
  let b = Tri(b=2.0, h=3.0)
  let shapes: Vec<&Shape> = vec![&a, &b, &a]
  println("{}", total(shapes))
  let sq = vec![Square(1.0), Square(2.0)]
  println("{}", first_sides(sq))
  let c = Tri(b=1.0, h=1.0)
  let more: Vec<&Shape> = vec![&a, &c]
  free(c)
  println("{}", total(more))
}
"""


def test_closures_are_called_natively_as_the_interpreter_calls_them(tmp_path):
    code, out, _ = same_everywhere(tmp_path, CLOSURES)
    assert code == 0
    assert out.splitlines()[-1] == "n42"


def test_fibers_switch_inside_native_closure_calls(tmp_path):
    code, out, _ = same_everywhere(tmp_path, FIBERS, ["--jit=auto", "--jit-threshold=50"])
    assert code == 0
    assert "b switched" in out and out.index("a ") > out.index("main")


def test_a_panic_in_a_closure_has_the_interpreters_backtrace(tmp_path):
    code, _, err = same_everywhere(tmp_path, PANICS)
    assert code == 101 and "division by zero" in err and "at run" in err


def test_functions_calling_closures_compile(tmp_path):
    (tmp_path / "p.vyn").write_text(CLOSURES, encoding="utf-8")
    code, _, err = run(["run", "--jit=eager", "--jit-stats", "p.vyn"], tmp_path)
    assert code == 0
    native = set(re.findall(r"^(\S+)\s+[12]\s+\d+", err, re.MULTILINE))
    assert {"apply", "fapply", "pick", "main"} <= native, err
    assert "calls a closure" not in err


def test_stepping_into_a_closure_native_code_calls(tmp_path):
    """The debugger steps from native code into a closure it calls, shows its captured
    variables, and `bt` shows both frames native."""
    from tests.test_debugger_native import steps_in_both

    src = ("fn twice(f: fn(Int) -> Int, x: Int) -> Int {\n"
           "  let a = f(x)\n"
           "  f(a)\n"
           "}\n"
           "fn main() {\n"
           "  let k = 5\n"
           "  let add = fn(x: Int) -> Int {\n"
           "    x + k\n"
           "  }\n"
           "  println(twice(add, 1))\n"
           "}\n")
    native = steps_in_both(tmp_path, "clo.vyn", src)
    inside = [x for x in native if x[0].startswith("main::{lambda") and len(x) == 5]
    assert inside and all(x[4] == "native" for x in inside)
    assert ("k", "5") in inside[0][3]


def test_trait_methods_are_dispatched_natively_as_the_interpreter_does(tmp_path):
    code, out, err = same_everywhere(tmp_path, METHODS)
    assert code == 101 and "use after free" in err
    assert out.splitlines() == ["5400.0", "8"]
    (tmp_path / "p.vyn").write_text(METHODS, encoding="utf-8")
    _, _, stats = run(["run", "--jit=eager", "--jit-stats", "p.vyn"], tmp_path)
    assert re.search(r"^total\s+2\s+", stats, re.MULTILINE), stats
    assert "calls a method" not in stats
