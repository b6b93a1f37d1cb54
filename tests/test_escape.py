"""The escape rule of `scoped` blocks (B3000, docs/errors.md), checked on types, and the
`ref(obj)` / `ref<T>(obj)` expression: diagnostics, their positions and labels, and what
the checker records for lowering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler import ast
from compiler.checker_escape import holds_ref
from compiler.driver import check_sources
from compiler.span import SourceFile
from compiler.symbols import Builtin
from compiler.types import BOOL, BYTES, FLOAT, INT, RANGE, STRING, UNIT, Generic, StructT, TupleT

ERRORS_MD = Path(__file__).resolve().parent.parent / "docs" / "errors.md"

# Every snippet starts with these declarations (7 lines).
PRELUDE = """\
class C {
  var v: Int
}
class Box {
  var c: C
  var s: String
}
"""
PRELUDE_LINES = PRELUDE.count("\n")


def check(text: str, prelude: bool = True):
    return check_sources([SourceFile("main.vyn", (PRELUDE if prelude else "") + text)])


def codes(text: str, prelude: bool = True) -> list[tuple[str, int, int]]:
    """(code, line, column) of each diagnostic, lines counted from the snippet's first."""
    shift = PRELUDE_LINES if prelude else 0
    return [(d.code, d.primary.span.line - shift, d.primary.span.col)
            for d in check(text, prelude).diagnostics]


def where(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of `needle` in `text`."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    line = text.count("\n", 0, i) + 1
    return line, i - (text.rfind("\n", 0, i) + 1) + 1


def b3000(text: str, needle: str, nth: int = 0) -> list[tuple[str, int, int]]:
    return [("B3000", *where(text, needle, nth))]


# ------------------------------------------------------------------ the diagnostic itself

def test_the_diagnostic_points_at_the_value_and_labels_the_scoped_block():
    text = ("fn main() {\n"
            "  var keep: Option<C> = None\n"
            "  scoped {\n"
            "    let c = C(1)\n"
            "    keep = Some(c)\n"
            "  }\n"
            "}\n")
    [d] = check(text).diagnostics
    assert d.code == "B3000"
    assert d.message == ("this value refers to an object allocated in a `scoped` block and "
                         "escapes it: it is assigned to `keep`, declared outside the `scoped` "
                         "block")
    p = d.primary
    assert (p.span.line - PRELUDE_LINES, p.span.col, p.span.end_col) == (5, 12, 19)
    assert p.message == "escapes the `scoped` block"
    [s] = d.secondary
    assert (s.span.line - PRELUDE_LINES, s.span.col, s.span.end_col) == (3, 3, 9)
    assert s.message == "the object is allocated in this `scoped` block"
    assert d.notes == ("objects allocated inside `scoped { }` are released when the block "
                       "exits",)
    assert d.suggestion.startswith("allocate it before the `scoped` block")


def test_a_local_is_named_and_a_part_of_a_region_object_may_refer_to_one():
    text = ("fn main() {\n"
            "  var keep = C(0)\n"
            "  scoped {\n"
            "    let c = C(1)\n"
            "    keep = c\n"
            "    let b = Box(C(2), \"s\")\n"
            "    keep = b.c\n"
            "  }\n"
            "}\n")
    first, second = check(text).diagnostics
    assert first.message.startswith("`c` refers to an object allocated in a `scoped` block")
    assert second.message.startswith("this value may refer to an object allocated")


def test_the_innermost_block_whose_region_the_value_holds_is_labelled():
    text = ("fn main() {\n"
            "  var keep = C(0)\n"
            "  scoped {\n"
            "    let a = C(1)\n"
            "    scoped {\n"
            "      let b = C(2)\n"
            "      keep = a\n"
            "      keep = b\n"
            "    }\n"
            "  }\n"
            "}\n")
    first, second = check(text).diagnostics
    assert first.secondary[0].span.line - PRELUDE_LINES == 3
    assert second.secondary[0].span.line - PRELUDE_LINES == 5


# ------------------------------------------------------------------ what escapes

ESCAPES = {
    "assigned to an outer variable": (
        "fn main() {\n  var keep = C(0)\n  scoped {\n    let t = C(1)\n    keep = t\n  }\n}\n",
        "t\n  }"),
    "wrapped in Some": (
        "fn main() {\n  var keep: Option<C> = None\n  scoped {\n    let c = C(1)\n"
        "    keep = Some(c)\n  }\n}\n", "Some(c)"),
    "even None of a reference type is made in the region": (
        "fn main() {\n  var keep: Option<C> = None\n  scoped {\n    keep = None\n  }\n}\n",
        "None\n  }"),
    "in a tuple": (
        "fn main() {\n  var keep = (0, C(0))\n  scoped {\n    keep = (1, C(1))\n  }\n}\n",
        "(1, C(1))"),
    "in a Vec": (
        "fn main() {\n  var keep = vec![C(0)]\n  scoped {\n    keep = vec![C(1)]\n  }\n}\n",
        "vec![C(1)]"),
    "the result of any call": (
        "fn make() -> C { C(1) }\nfn main() {\n  var keep = C(0)\n  scoped {\n"
        "    keep = make()\n  }\n}\n", "make()\n  }"),
    "a string built in the block": (
        "fn main() {\n  var s = \"a\"\n  scoped {\n    s = s + \"b\"\n  }\n}\n", "s + \"b\""),
    "a string appended to in the block": (
        "fn main() {\n  var s = \"a\"\n  scoped {\n    s += \"b\"\n  }\n}\n", "\"b\"\n  }"),
    "a closure capturing a region object": (
        "fn main() {\n  var f = fn() -> Int { 0 }\n  scoped {\n    let c = C(1)\n"
        "    f = fn() -> Int { c.v }\n  }\n  println(f())\n}\n", "fn() -> Int { c.v }"),
    "assigned inside a lambda": (
        "fn main() {\n  var keep = C(0)\n  scoped {\n    let c = C(1)\n"
        "    let f = fn() { keep = c }\n    f()\n  }\n}\n", "c }"),
    "assigned inside a nested function": (
        "fn main() {\n  var keep = C(0)\n  scoped {\n    let c = C(1)\n"
        "    fn put() { keep = c }\n    put()\n  }\n}\n", "c }"),
    "a global": (
        "var g = C(0)\nfn main() {\n  scoped {\n    g = C(1)\n  }\n}\n", "C(1)"),
    "a field of an outer object": (
        "fn main() {\n  let b = Box(C(0), \"s\")\n  scoped {\n    b.c = C(1)\n  }\n}\n",
        "C(1)"),
    "a field of self": (
        "class H {\n  var c: C\n  fn reset(&mut self) {\n    scoped {\n"
        "      self.c = C(1)\n    }\n  }\n}\nfn main() {}\n", "C(1)"),
    "an element of an outer Vec": (
        "fn main() {\n  var v = vec![C(0)]\n  scoped {\n    v[0] = C(1)\n  }\n}\n", "C(1)"),
    "pushed into an outer Vec": (
        "fn main() {\n  var v = Vec<C>()\n  scoped {\n    let c = C(1)\n    v.push(c)\n"
        "  }\n}\n", "c)"),
    "inserted into an outer Vec": (
        "fn main() {\n  var v = Vec<C>()\n  scoped {\n    v.insert(0, C(1))\n  }\n}\n",
        "C(1)"),
    "pushed into an outer Vec held by an inner variable": (
        "fn main() {\n  let outer = Vec<C>()\n  scoped {\n    var v = outer\n"
        "    v.push(C(1))\n  }\n}\n", "C(1)"),
    "pushed from a lambda body": (
        "fn main() {\n  var keep = Vec<C>()\n  scoped {\n    let v = vec![C(1)]\n"
        "    v.for_each(fn(c: C) { keep.push(c) })\n  }\n}\n", "c) })"),
    "sent on an outer channel": (
        "fn main() {\n  let ch = Channel<C>::unbounded()\n  scoped {\n    ch.send(C(1))\n"
        "  }\n}\n", "C(1)"),
    "sent to an actor": (
        "class W {\n  fn handle(&mut self, c: C) {\n    println(c.v)\n  }\n}\n"
        "fn main() {\n  let w = actor W()\n  scoped {\n    w.send(C(1))\n  }\n}\n", "C(1)"),
    "returned": (
        "fn make() -> C {\n  scoped {\n    let n = alloc<C>()\n    return n\n  }\n}\n"
        "fn main() {\n  make()\n}\n", "n\n  }"),
    "returned in a tuple": (
        "fn make() -> (C, Int) {\n  scoped {\n    return (C(1), 1)\n  }\n}\n"
        "fn main() {\n  make()\n}\n", "(C(1), 1)"),
    "the value of the block": (
        "fn main() {\n  let a = \"x\"\n  let s = scoped { a + \"y\" }\n  println(s)\n}\n",
        "a + \"y\""),
    "the value of the block as an argument": (
        "fn main() {\n  let a = \"x\"\n  println(\"{}\", scoped { a + \"y\" })\n}\n",
        "a + \"y\""),
    "the value of the block that ends a function": (
        "fn make() -> C {\n  scoped {\n    let n = C(1)\n    n\n  }\n}\n"
        "fn main() {\n  make()\n}\n", "n\n  }"),
    "the value of a block nested in an if": (
        "fn make(f: Bool) -> C {\n  scoped {\n    if f { C(1) } else { C(2) }\n  }\n}\n"
        "fn main() {\n  make(true)\n}\n", "if f"),
    "from an inner block to a variable of the outer block": (
        "fn main() {\n  scoped {\n    var k = C(0)\n    scoped {\n      k = C(1)\n    }\n"
        "    println(k.v)\n  }\n}\n", "C(1)"),
    "a match binding of a region object": (
        "fn main() {\n  var keep = C(0)\n  scoped {\n    let o = Some(C(1))\n    match o {\n"
        "      Some(x) => { keep = x }\n      None => {}\n    }\n  }\n}\n", "x }"),
    "a loop variable over a region Vec": (
        "fn main() {\n  var keep = C(0)\n  scoped {\n    for x in vec![C(1)] {\n"
        "      keep = x\n    }\n  }\n}\n", "x\n    }"),
    "a ref made in the block": (
        "fn main() {\n  var r = ref(C(0))\n  scoped {\n    r = ref(C(1))\n  }\n}\n",
        "ref(C(1))"),
    "in a generic function's instance": (
        "fn wrap<T>(x: T) -> Vec<T> {\n  scoped {\n    return vec![x]\n  }\n}\n"
        "fn main() {\n  wrap(1)\n}\n", "vec![x]"),
}


@pytest.mark.parametrize("name", ESCAPES)
def test_a_region_value_that_leaves_its_block_is_b3000(name):
    text, needle = ESCAPES[name]
    assert codes(text) == b3000(text, needle)


def test_taint_is_flow_insensitive_so_a_loop_cannot_hide_an_escape():
    # The first iteration stores an outer object; the second, the one made at its end.
    text = ("fn main() {\n  var keep = C(0)\n  scoped {\n    var x = keep\n    var i = 0\n"
            "    while i < 2 {\n      keep = x\n      x = C(i)\n      i += 1\n    }\n"
            "  }\n}\n")
    assert codes(text) == b3000(text, "x\n      x")


def test_every_escape_is_reported_once():
    text = ("fn main() {\n  var keep = C(0)\n  var s = \"\"\n  scoped {\n    let c = C(1)\n"
            "    keep = c\n    keep = c\n    s = scoped { s + \"y\" }\n  }\n}\n")
    assert codes(text) == [*b3000(text, "c\n    keep"), *b3000(text, "c\n    s"),
                           *b3000(text, "s + \"y\"")]


# ------------------------------------------------------------------ what stays allowed

ALLOWED = {
    "plain values": (
        "fn main() {\n  var n = 0\n  var f = 0.0\n  var b = false\n  var ch = 'a'\n"
        "  scoped {\n    let c = C(5)\n    n = c.v\n    f = 1.5\n    b = c.v > 1\n"
        "    ch = 'z'\n  }\n  println(\"{} {} {} {}\", n, f, b, ch)\n}\n"),
    "tuples and enums of plain values": (
        "enum Color { Red, Green }\nfn pair() -> (Int, Float) { (1, 2.0) }\n"
        "fn main() {\n  var p = (0, 0.0)\n  var o: Option<Int> = None\n  var c = Green\n"
        "  scoped {\n    p = pair()\n    o = Some(3)\n    c = Red\n  }\n"
        "  println(\"{} {} {}\", p, o, c)\n}\n"),
    "a string literal": (
        "fn main() {\n  var s = \"a\"\n  scoped {\n    s = \"literal\"\n  }\n  println(s)\n}\n"),
    "an outer object read inside": (
        "fn main() {\n  let o = C(1)\n  var keep = C(2)\n  var v = Vec<C>()\n"
        "  let b = Box(C(3), \"s\")\n  scoped {\n    let x = o\n    keep = x\n    v.push(o)\n"
        "    b.c = x\n    keep = b.c\n  }\n  println(keep.v)\n}\n"),
    "a part of an outer value": (
        "fn main() {\n  let opt: Option<C> = Some(C(1))\n  let v = vec![C(2)]\n"
        "  var keep = C(0)\n  scoped {\n    keep = opt.unwrap()\n    keep = v[0]\n"
        "    keep = opt.unwrap_or(keep)\n  }\n  println(keep.v)\n}\n"),
    "stores into region objects": (
        "fn main() {\n  scoped {\n    var v = Vec<C>()\n    v.push(C(1))\n"
        "    let b = Box(C(1), \"s\")\n    b.c = C(2)\n    b.s = b.s + \"t\"\n"
        "    let ch = Channel<C>::unbounded()\n    ch.send(C(3))\n    println(v.len())\n"
        "  }\n}\n"),
    "an outer block's object into an inner block's variable": (
        "fn main() {\n  scoped {\n    let c = C(0)\n    var k = C(5)\n    scoped {\n"
        "      k = c\n    }\n    println(k.v)\n  }\n}\n"),
    "a block value thrown away or of a function returning ()": (
        "fn main() {\n  scoped {\n    let b = C(1)\n    b\n  }\n  scoped {\n    C(2)\n"
        "  }\n  scoped { C(3) }\n}\n"),
    "an outer value returned from inside a block": (
        "fn pick(o: C) -> C {\n  scoped {\n    let n = C(1)\n    println(n.v)\n"
        "    return o\n  }\n}\nfn main() {\n  pick(C(2))\n}\n"),
    "a lambda returning its own allocation": (
        "fn main() {\n  scoped {\n    let f = fn() -> C { return C(1) }\n"
        "    println(f().v)\n  }\n}\n"),
    "a region object passed to a function (not followed)": (
        "fn show(c: C) {\n  println(c.v)\n}\nfn main() {\n  scoped {\n    show(C(1))\n"
        "  }\n}\n"),
}


@pytest.mark.parametrize("name", ALLOWED)
def test_values_that_are_not_region_objects_flow_out(name):
    assert codes(ALLOWED[name]) == []


def test_a_type_error_in_the_function_is_not_echoed_as_an_escape():
    text = ("fn main() {\n  var keep = C(0)\n  scoped {\n    keep = nosuch()\n"
            "    keep = C(1)\n  }\n}\n")
    assert codes(text) == [("T2000", 4, 12)]


def test_only_functions_with_scoped_blocks_are_analysed(monkeypatch):
    from compiler import checker_escape

    ran = []
    monkeypatch.setattr(checker_escape.EscapeAnalysis, "run_fn",
                        lambda self, inst: ran.append(inst.name))
    check("fn a() {\n  scoped { println(1) }\n}\nfn b() {\n  println(2)\n}\n"
          "fn main() {\n  let f = fn() { scoped { println(3) } }\n  f()\n}\n")
    assert sorted(ran) == ["a", "main"]


@pytest.mark.parametrize("t,holds", [
    (INT, False), (FLOAT, False), (BOOL, False), (UNIT, False), (RANGE, False),
    (STRING, True), (BYTES, True), (TupleT((INT, FLOAT)), False),
    (TupleT((INT, STRING)), True), (Generic("Vec", (INT,)), True),
])
def test_which_types_can_hold_a_reference(t, holds):
    assert holds_ref(t) is holds


# ------------------------------------------------------------------ docs/errors.md examples

def b3000_section() -> str:
    text = ERRORS_MD.read_text(encoding="utf-8")
    return next(p for p in re.split(r"^### ", text, flags=re.MULTILINE)
                if p.startswith("B3000"))


def marked_examples() -> list[str]:
    """The B3000 section's example programs after the first (which test_docs checks)."""
    return re.findall(r"^```vyn\n(.*?)^```$", b3000_section(),
                      flags=re.MULTILINE | re.DOTALL)[1:]


def test_the_section_has_a_rejected_and_an_allowed_example():
    examples = marked_examples()
    assert len(examples) == 2
    assert "// B3000" in examples[0] and "// B3000" not in examples[1]


@pytest.mark.parametrize("i", range(len(marked_examples())))
def test_each_marked_line_of_the_documented_examples_is_b3000_and_no_other(i):
    program = marked_examples()[i]
    marked = [n for n, line in enumerate(program.splitlines(), 1) if "// B3000" in line]
    found = [(c, line) for c, line, _ in codes(program, prelude=False)]
    assert found == [("B3000", n) for n in marked]


# ------------------------------------------------------------------ ref(obj)

def call_of(result, name: str) -> ast.Call:
    """The first `let NAME = ...` initializer of `main`."""
    main = result.program.main
    for s in main.decl.body.stmts:
        if isinstance(s, ast.Let) and s.pattern.name == name:
            return s.value
    raise AssertionError(name)


def test_ref_wraps_an_object_and_records_the_builtin():
    text = ("fn main() {\n  let r = ref(C(1))\n  let q = ref<C>(C(2))\n"
            "  let a: ref<C> = ref(C(3))\n  let n: Int = r.v + q.v + a.v\n  println(n)\n}\n")
    result = check(text)
    assert result.diagnostics == []
    for name in ("r", "q", "a"):
        call = call_of(result, name)
        assert call.sym == Builtin("ref")
        assert call.callee.sym == Builtin("ref")
        assert isinstance(call.ty, Generic) and call.ty.name == "ref"
        inner = call.ty.args[0]
        assert isinstance(inner, StructT) and inner.name == "C"
        assert call.args[0].value.ty is inner


def test_the_annotation_form_still_compiles():
    assert codes("fn main() {\n  let c = C(1)\n  let r: ref<C> = c\n  println(r.v)\n}\n") == []


@pytest.mark.parametrize("value,shown", [("5", "Int"), ("\"s\"", "String"),
                                         ("vec![1]", "Vec<Int>"), ("(C(1), 2)", "(C, Int)")])
def test_ref_of_a_value_that_is_not_a_class_object_is_t2001(value, shown):
    text = f"fn main() {{\n  let r = ref({value})\n}}\n"
    [d] = check(text).diagnostics
    assert (d.code, d.primary.span.line - PRELUDE_LINES, d.primary.span.col) == ("T2001", 2, 15)
    assert d.message == (f"`ref` needs an object of a class or template, found a value of "
                         f"type `{shown}`")
    assert d.primary.message == "not a class or template object"


def test_ref_of_a_value_whose_type_is_inferred_later_is_checked_then():
    text = "fn main() {\n  let f = fn(x) { ref(x) }\n  f(3)\n}\n"
    assert codes(text) == [("T2001", 2, 23)]


def test_ref_of_an_unknown_name_reports_only_the_unknown_name():
    # Not "cannot infer the type of `r`" first: the initializer's error is the cause.
    assert codes("fn main() {\n  let r = ref(value)\n}\n") == [("T2000", 2, 15)]


def test_an_unknown_function_in_an_initializer_is_the_only_error():
    assert codes("fn main() {\n  let r = nosuch(1)\n}\n") == [("T2000", 2, 11)]


def test_a_binding_nothing_determines_is_still_t2009():
    assert codes("fn main() {\n  let r\n}\n") == [("T2009", 2, 7)]


@pytest.mark.parametrize("text,expected", [
    ("fn main() {\n  let r = ref(C(1), C(2))\n}\n", [("T2003", 2, 11)]),
    ("fn main() {\n  let r = ref<C, C>(C(1))\n}\n", [("T2008", 2, 11)]),
    ("fn main() {\n  let r = ref<Box>(C(1))\n}\n", [("T2001", 2, 20)]),
    ("fn main() {\n  let r = ref\n}\n", [("T2006", 2, 11)]),
])
def test_ref_misuse_is_coded(text, expected):
    assert codes(text) == expected


def test_ref_of_a_trait_object():
    text = ("template Shape {\n  fn area(&self) -> Int\n}\nclass Sq: Shape {\n  var s: Int\n"
            "  fn area(&self) -> Int {\n    self.s * self.s\n  }\n}\n"
            "fn main() {\n  let r = ref<Shape>(Sq(2))\n  println(r.area())\n}\n")
    assert codes(text, prelude=False) == []
