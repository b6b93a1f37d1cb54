"""Debugger expressions through the real compiler: compiled in a frame's scope
(compiler/debug_expr.py), grafted onto a running VM and called (vyndbg/exprs.py). No
engine, no line mode."""

from __future__ import annotations

import io

import pytest

from compiler.debug_expr import EXPR_FILE, ExprError, ExprParam, compile_expression
from compiler.lower import compile_file
from compiler.span import SourceFile
from runtime.vm import VM
from vyndbg.exprs import ExprCompiler

PROGRAM = """\
fn pick<T>(a: T, b: T) -> T { a }
template Pair<A, B> {
  var first: A
  var second: B
  fn swap(&self) -> Pair<B, A> { Pair<B, A>(self.second, self.first) }
}
enum Light { Red, Yellow(Int), Green }
var hits = 0
fn main() {
  let add5 = fn(x: Int) -> Int { x + 5 }
  println(pick(1, 2))
  let p = Pair<Int, Int>(1, 2)
  println(p.swap().first)
  println(add5(1))
}
"""
N = [ExprParam("n", "Int")]


def evaluate(text: str, params: list[ExprParam], args: list) -> tuple[str, str]:
    program = compile_file("p.vyn", PROGRAM).program
    vm = VM(program, stdout=io.StringIO(), stderr=io.StringIO())
    vm.call_function(program.init, [])          # the globals, as a started program has
    loaded = ExprCompiler(program).load(vm, text, params)
    value = vm.call_function(loaded.function, args)
    return vm.reader.format(value, loaded.type_id), loaded.type_text


@pytest.mark.parametrize("text, params, args, value, type_text", [
    ("n + 1", N, [41], "42", "Int"),
    ("pick(n, 4) * 2", N, [3], "6", "Int"),
    ("pick(\"a\", \"b\")", [], [], "a", "String"),            # a new template instance
    ("Pair<Int, Int>(n, 2).swap()", N, [7], "Pair { first: 2, second: 7 }", "Pair<Int, Int>"),
    ("(n, n * 2)", N, [3], "(3, 6)", "(Int, Int)"),           # a type the program lacks
    ("Yellow(n) == Yellow(9)", N, [9], "true", "Bool"),
    ("vec![n, n].map(fn(x: Int) -> Int { x * 3 })", N, [4], "[12, 12]", "Vec<Int>"),
    ("hits + 1", [], [], "1", "Int"),
])
def test_an_expression_compiles_in_the_frames_scope_and_runs(text, params, args, value,
                                                            type_text):
    assert evaluate(text, params, args) == (value, type_text)


def test_a_local_closure_can_be_called():
    # `p add5(100)` on a local closure: the variable is a parameter of function type.
    program = compile_file("p.vyn", PROGRAM).program
    vm = VM(program, stdout=io.StringIO(), stderr=io.StringIO())
    ec = ExprCompiler(program)
    make = ec.load(vm, "fn(x: Int) -> Int { x + 5 }", [])
    closure = vm.call_function(make.function, [])
    call = ec.load(vm, "add5(100)", [ExprParam("add5", "fn(Int) -> Int")])
    assert vm.call_function(call.function, [closure]) == 105


def test_mistakes_are_the_checkers_coded_diagnostics_located_in_the_expression():
    src = [SourceFile("p.vyn", PROGRAM)]
    with pytest.raises(ExprError) as info:
        compile_expression(src, None, "n + \"a\"", N)
    d = info.value.diagnostics[0]
    assert d.code == "T2010"
    assert (d.primary.span.file, d.primary.span.line, d.primary.span.col,
            d.primary.span.end_col) == (EXPR_FILE, 1, 1, 8)
    with pytest.raises(ExprError) as info:
        compile_expression(src, None, "nope(1)", N)
    assert info.value.diagnostics[0].code == "T2000"


def test_several_expressions_in_one_vm_stay_apart():
    program = compile_file("p.vyn", PROGRAM).program
    vm = VM(program, stdout=io.StringIO(), stderr=io.StringIO())
    ec = ExprCompiler(program)
    first = ec.load(vm, "n + 1", N)
    second = ec.load(vm, "n * 10", N)
    assert first.function != second.function
    assert vm.call_function(first.function, [2]) == 3
    assert vm.call_function(second.function, [2]) == 20
    assert ec.load(vm, "n + 1", N) is first          # cached
