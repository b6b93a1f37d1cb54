"""`for ... in` over ranges and Vecs in native code (docs/native.md, "Iterators").

Native code keeps an iterator's position in two hidden words of its frame; when it
leaves (a slice end, a panic, a side exit) the runtime turns them into the interpreter's
iterator, and an OSR entry turns the interpreter's iterator back into them. Every
program here prints the same interpreted and native, at both tiers and with a JIT that
promotes at once (OSR into loops already iterating).
"""

from __future__ import annotations

import re

import pytest

from tests.test_native import run, same_everywhere

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")

RANGES = """
fn span(a: Int, b: Int) -> Int {
  var n = 0
  var s = 0
  for i in a..<b { n += 1; s = s * 31 + i }
  let r = a..<b
  for i in r { n += 1; s = s * 31 + i }
  println("{}..<{}: {} items, {}", a, b, n, s)
  n
}
fn incl(a: Int, b: Int) -> Int {
  var n = 0
  var last = 0
  for i in a..b { n += 1; last = i }
  let r = a..b
  for i in r { n += 1; last = last ^ i }
  println("{}..{}: {} items, last {}", a, b, n, last)
  n
}
fn main() {
  let max = 9223372036854775807
  let min = -max - 1
  span(0, 10)
  span(5, 5)
  span(7, 3)
  span(-4, 2)
  span(max - 3, max)
  span(min, min + 3)
  incl(0, 0)
  incl(3, 2)
  incl(max - 2, max)
  incl(min, min + 1)
  var t = 0
  for k in 0..<300 {
    for j in k..<(k + 7) { t += j * k }
    if k == 250 { break }
  }
  println("nested {}", t)
}
"""

VECS = """
class P { var x: Int }
fn total(v: Vec<Int>) -> Int {
  var t = 0
  for x in v { t = t * 7 + x }
  t
}
fn grow(v: Vec<Int>) -> Int {
  var seen = 0
  for x in v {
    seen += 1
    if x < 40 { v.push(x + 10) }
  }
  seen
}
fn fsum(v: Vec<Float>) -> Float {
  var t = 0.0
  for x in v { t = t * 0.5 + x }
  t
}
fn count(v: Vec<Bool>) -> Int {
  var n = 0
  for b in v { if b { n += 1 } }
  n
}
fn names(v: Vec<String>) -> String {
  var s = ""
  for x in v { s = s + x + "," }
  s
}
fn xs(v: Vec<P>) -> Int {
  var t = 0
  for p in v { t += p.x }
  t
}
fn main() {
  var v = Vec<Int>()
  for i in 0..<50 { v.push(i * i - 20) }
  println("{}", total(v))
  let g = vec![1, 2, 3]
  println("grew: {} seen, {} now", grow(g), g.len())
  println("{}", fsum(vec![1.5, -2.25, 1e300, 3.0]))
  println("{}", count(vec![true, false, true, true]))
  println("{}", names(vec!["a", "bc", ""]))
  println("{}", xs(vec![P(1), P(20), P(300)]))
  println("{}", total(Vec<Int>()))
}
"""

# Two fibers iterate at once: slices end inside their `for` loops (the iterators leave
# native code and come back through OSR at every switch).
FIBERS = """
fn main() {
  var turn = 0
  spawn fn a() {
    var s = 0
    let r = 0..<6000
    for i in r {
      if turn != 1 { println("a at {}", i); turn = 1 }
      s += i
    }
    println("a {}", s)
  }
  spawn fn b() {
    var v = Vec<Int>()
    for i in 0..<3000 { v.push(i) }
    var s = 0
    for x in v {
      if turn != 2 { println("b at {}", x); turn = 2 }
      s += x * 2
    }
    println("b {}", s)
  }
  println("main")
}
"""

PANICS = """
class Box { var v: Int }
fn walk(v: Vec<Box>) -> Int {
  var t = 0
  for b in v {
    t += b.v
    if t > 3 { free(b) }
  }
  t
}
fn main() {
  let v = vec![Box(1), Box(2), Box(3)]
  println("{}", walk(v))
  println("{}", walk(v))
}
"""


def test_ranges_iterate_as_the_interpreter_does(tmp_path):
    code, out, _ = same_everywhere(tmp_path, RANGES)
    assert code == 0
    lines = out.splitlines()
    # Each range is iterated twice: as a counted loop, and as a Range value (ITER).
    assert lines[0].startswith("0..<10: 20 items")
    assert "5..<5: 0 items" in lines[1] and "7..<3: 0 items" in lines[2]
    assert "9223372036854775804..<9223372036854775807: 6 items" in lines[4]
    # Up to the largest Int inclusive: neither loop wraps around.
    assert "9223372036854775805..9223372036854775807: 6 items, last 3" in out
    assert "3..2: 0 items" in out and out.endswith("nested 37336250\n")


def test_vecs_iterate_live_as_the_interpreter_does(tmp_path):
    """A Vec's length is read at every step: a push in the loop is iterated too."""
    code, out, _ = same_everywhere(tmp_path, VECS)
    assert code == 0
    assert "grew: 15 seen, 15 now" in out
    assert "a,bc,," in out and "321" in out


def test_fibers_switch_inside_for_loops_at_the_same_reductions(tmp_path):
    code, out, _ = same_everywhere(tmp_path, FIBERS, ["--jit=auto", "--jit-threshold=50"])
    assert code == 0
    assert out.count("a at") >= 3 and out.count("b at") >= 3


def test_a_freed_element_panics_inside_a_native_loop_as_in_the_interpreter(tmp_path):
    code, _, err = same_everywhere(tmp_path, PANICS)
    assert code == 101 and "use after free" in err


def test_for_loops_are_native_and_entered_by_osr(tmp_path):
    (tmp_path / "p.vyn").write_text(FIBERS, encoding="utf-8")
    code, _, err = run(["run", "--jit=auto", "--jit-threshold=50", "--jit-stats", "p.vyn"],
                       tmp_path)
    assert code == 0
    rows = {m.group(1): int(m.group(2)) for m in re.finditer(
        r"^(\S+)\s+\d\s+\d+\s+(\d+)\s", err, re.MULTILINE)}
    # Both fibers' functions went native mid-loop, again after each switch.
    assert len(rows) >= 2 and all(n > 1 for n in rows.values()), err


def test_stepping_through_a_native_for_loop_is_the_bytecode_debuggers(tmp_path):
    from tests.test_debugger_native import steps_in_both

    src = ("fn total(v: Vec<Int>) -> Int {\n"
           "  var t = 0\n"
           "  for x in v {\n"
           "    t += x\n"
           "  }\n"
           "  for i in 1..<3 {\n"
           "    t = t * i\n"
           "  }\n"
           "  t\n"
           "}\n"
           "fn main() {\n"
           "  println(total(vec![4, 5, 6]))\n"
           "}\n")
    native = steps_in_both(tmp_path, "loop.vyn", src)
    assert {x[1] for x in native if x[0] == "total" and x[4] == "native"} >= {3, 4, 6, 7}
