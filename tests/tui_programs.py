"""Vyn programs the TUI tests debug, and a helper to compile them."""

from __future__ import annotations

from compiler.lower import compile_file

FIB = """\
// The first ten Fibonacci numbers, computed the slow, recursive way.

fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  for i in 0..<10 {
    println("fib({}) = {}", i, fib(i))
  }
}
"""

SHAPES = """\
class Point {
  var x: Int
  var y: Int
}
enum Shape {
  Circle(Int),
  Rect(Int, Int)
}
fn area(s: Shape) -> Int {
  match s {
    Circle(r) => 3 * r * r
    Rect(w, h) => w * h
  }
}
fn main() {
  let p = Point(x=1, y=2)
  let s = Rect(3, 4)
  var v = vec![0]
  for i in 1..<250 {
    v.push(i * 2)
  }
  println("area {}", area(s))
  println("len {}", v.len())
}
"""
SHAPES_DONE = 22       # the line after the vector is filled

LOOP = """\
fn spin() -> Int {
  var total = 0
  while true {
    total += 1
  }
  return total
}
fn main() {
  println("spinning")
  println("{}", spin())
}
"""

PANIC = """\
fn pick(v: Vec<Int>, i: Int) -> Int {
  return v[i]
}
fn main() {
  let v = vec![1, 2, 3]
  println("{}", pick(v, 7))
}
"""


def compiled(source: str, path: str = "x.vyn"):
    """The Program compiled from `source`, which must have no errors."""
    out = compile_file(path, source)
    assert out.program is not None, out.diagnostics
    return out.program
