"""The engine's expressions go through the compiler (vyndbg/exprs.py): anything valid in
the program is valid in `print`, conditions, `watch`, `display`, `dprintf` and `set var`,
with the checker's diagnostics for mistakes. Engine level, no line mode."""

from __future__ import annotations

import pytest

from compiler.lower import compile_file
from vyndbg.engine import Session
from vyndbg.model import DebugError, StopReason

PROGRAM = """\
enum Light { Red, Yellow(Int), Green }
template Pair<A, B> {
  var first: A
  var second: B
  fn swap(&self) -> Pair<B, A> { Pair<B, A>(self.second, self.first) }
}
fn fact(n: Int) -> Int {
  if n < 2 { return 1 }
  n * fact(n - 1)
}
fn main() {
  let add5 = fn(x: Int) -> Int { x + 5 }
  var l = Yellow(3)
  let p = Pair<Int, String>(1, "one")
  var total = 0
  for i in 0..<5 {
    total += add5(i)
  }
  println(total)
  println(l)
}
"""


def session() -> Session:
    return Session(compile_file("p.vyn", PROGRAM).program)


def stopped_at(line: int) -> Session:
    s = session()
    s.break_at(str(line))
    assert s.run().reason is StopReason.BREAKPOINT
    return s


def text(s: Session, expr: str) -> str:
    return s.evaluate(expr).text


def test_names_that_the_old_evaluator_did_not_know():
    s = stopped_at(17)
    assert text(s, "add5(100)") == "105"                 # a local closure, called
    assert s.whatis("fact") == "fn(Int) -> Int"          # a function
    assert text(s, "l == Yellow(3)") == "true"           # enum variants
    assert text(s, "l == Red") == "false"
    assert text(s, "p.swap()") == 'Pair { first: "one", second: 1 }'
    assert text(s, "fact(5) + total") == "120"
    assert text(s, "(i, add5(i))") == "(0, 5)"           # a type the program never built


def test_type_names_work_where_gdb_accepts_them():
    s = stopped_at(17)
    assert s.whatis("Light") == "Light"
    assert s.ptype("Light").startswith("enum Light {")


def test_set_var_takes_any_expression_of_the_right_type():
    s = stopped_at(17)
    s.set_var("l", "Yellow(9)")
    assert text(s, "l") == "Yellow(9)"
    s.set_var("total", "fact(4)")
    assert text(s, "total") == "24"


def test_mistakes_are_the_checkers_diagnostics():
    s = stopped_at(17)
    with pytest.raises(DebugError) as info:
        s.evaluate("total + \"x\"")
    assert str(info.value).startswith("error[T2010]: cannot apply `+` to `Int` and `String`")
    with pytest.raises(DebugError) as info:
        s.evaluate("nosuch + 1")
    assert str(info.value) == 'No symbol "nosuch" in current context.'


def test_a_condition_uses_the_compiler_too():
    s = session()
    s.break_at("17", condition="add5(i) == 8")
    ev = s.run()
    assert ev.reason is StopReason.BREAKPOINT
    assert text(s, "i") == "3"


def test_print_without_a_running_program_runs_what_needs_no_frame():
    s = session()
    assert text(s, "1 + 2") == "3"
    assert text(s, "fact(10)") == "3628800"
    with pytest.raises(DebugError):
        s.evaluate("total")


def test_sizeof_takes_a_type_or_an_expression():
    s = stopped_at(17)
    assert text(s, "sizeof(Int)") == "8"
    assert text(s, "sizeof(p)") == "32"                  # a class value: its object
    assert text(s, "sizeof(Pair<Int, String>)") == "32"  # the object: header + 2 fields
    assert text(s, "sizeof((1, 2, 3))") == "40"
