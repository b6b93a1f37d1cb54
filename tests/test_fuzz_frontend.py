"""Fuzzing the front end: whatever the input, lexing and parsing return (with diagnostics)
instead of raising, finish quickly, give every token its true line:col, and point every
diagnostic inside the file; and every tree that parses cleanly survives the printer:
parse(print(tree)) == tree.

Inputs: random text and bytes, soups of Vyn tokens, mutations and truncations of real
programs, grammar-generated programs, and pathological nesting and lengths.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import ast
from compiler.diagnostics import DiagnosticSink
from compiler.lexer import lex
from compiler.parser import parse
from compiler.printer import print_expr, print_module
from compiler.span import SourceFile
from compiler.tokens import T

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
SLOW_GRAMMAR = settings(SLOW, max_examples=400)

# parse() raises the recursion limit on first use; do it up front so that hypothesis does
# not see it change during a test.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

PROGRAMS = Path(__file__).parent / "programs"

SAMPLE = """\
import vyn::sys

// A mid-size program touching most of the grammar.
template Pair<T, U> {
    var first: T
    var second: U
    fn swap(self: &mut Pair<T, U>) {
        let tmp = self.first
        self.first = self.second
        self.second = tmp
    }
}

class Circle: Drawable {
    var radius: Float = 1.0
    fn draw(&self) { println("r = {}", self.radius) }
}

enum Shape<T> {
    Circle(Float),
    Rect(Float, Float),
    Empty
}

#cfg(linux) extern "C" {
    fn printf(fmt: *char, ...)
}

@test
async fn main() -> Int {
    let p = Pair<Int, String>(first=1, second="one\\n\\u{1F4A1}")
    var total = 0x_FF + 0b1010 * 3 as Int / 2
    for i in 0..<10 { total += i }
    let v = vec![1, 2, 3].map(fn(x: Int) -> Int { x * x })
    let s = match shape {
        Shape::Circle(r) if r > 0.5 => r * 2.0,
        Rect(w, h) | Square(w, h) => w * h
        _ => { 0.0 }
    }
    while let Some(x) = ch.recv() { dbg(x) }
    let msg = if total > 10 { "big" } else if total < 0 { "neg" } else { "small" }
    scoped {
        let a = alloc<Circle>()
        unsafe { printf("%d", *ptr) }
    }
    let t = (1, 'c', 2.5e-3).0
    let c = actor Counter()
    c.send(-5)
    await fetch(url)
    return t
}
"""

EXTRA_PROGRAMS = [
    "fn main()\n    if x\n        y\n    else\n        z\n    for i in 0..<3\n        w(i)\n",
    "fn f(a: Int,\n      b: Int) -> Int {\n    a +\n        b; a - b\n}\n",
    "enum E\n    A,\n    B(Int)\nfn g() { match e { A => 1, B(x) => x } }\n",
]


def corpus() -> list[str]:
    texts = [SAMPLE, *EXTRA_PROGRAMS]
    if PROGRAMS.is_dir():
        texts += [p.read_text(encoding="utf-8") for p in sorted(PROGRAMS.rglob("*.vyn"))]
    return texts


CORPUS = corpus()


def check_diagnostics(source: SourceFile, sink: DiagnosticSink) -> None:
    nlines = len(source.line_starts)
    for d in sink.items:
        s = d.primary.span
        assert d.code[0] in "LP", d
        assert 1 <= s.line <= nlines + 1 and 1 <= s.end_line <= nlines + 1, (d, nlines)
        assert s.col >= 1 and s.end_col >= 1, d
        assert 0 <= s.start <= len(source.text), d
        for label in d.secondary:
            assert 1 <= label.span.line <= nlines + 1, d


def frontend(text: str, *, roundtrip: bool = True) -> ast.Module:
    """Lex and parse `text`; check that nothing raised, that diagnostics point inside the
    file, and (when it parsed cleanly) that the printer round-trips the tree."""
    source = SourceFile("fuzz.vyn", text)
    lex_sink = DiagnosticSink()
    toks = lex(source, lex_sink)
    assert toks and toks[-1].kind is T.EOF
    for t in toks:   # every real token's line:col is where its offsets are
        if not t.synthetic:
            s = t.span
            assert (s.line, s.col, s.end_line, s.end_col) == (
                *source.location(s.start), *source.location(s.end)), t
    check_diagnostics(source, lex_sink)
    sink = DiagnosticSink()
    module = parse(source, sink)
    assert isinstance(module, ast.Module)
    check_diagnostics(source, sink)
    if roundtrip and not sink.items:
        printed = print_module(module)
        again_sink = DiagnosticSink()
        again = parse(SourceFile("fuzz.vyn", printed), again_sink)
        assert [d.message for d in again_sink.items] == [], printed
        assert again == module, printed
    return module


# ================================================================ random inputs

@FAST
@given(st.text(max_size=400))
def test_random_text_never_crashes(text):
    frontend(text)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes_decoded_with_replacement_never_crash(data):
    frontend(data.decode("utf-8", errors="replace"))


TOKENS = [
    "fn", "let", "var", "if", "else", "while", "for", "in", "match", "return", "break",
    "continue", "enum", "template", "class", "import", "module", "scoped", "actor", "spawn",
    "await", "async", "unsafe", "extern", "macro", "as", "true", "false", "nil", "self", "pub",
    "loop", "mut", "main", "x", "Int", "Vec", "Some", "_", "0", "42", "0xFF", "0b2", "1.5",
    "1e9", "1..5", "'c'", "'", '"s"', '"', '"\\n"', '"\\q"', "@test", "#cfg", "..<", "...",
    "<<=", ">>=", "..", "=>", "->", "::", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "<<",
    ">>", "+", "-", "*", "/", "%", "=", "<", ">", "!", "&", "|", "^", "~", ".", ",", ":", ";",
    "(", ")", "[", "]", "{", "}", "?", "/*", "*/", "//", "$", "\\", "\t",
    " ", " ", " ", "\n", "\n", "\n    ", "\n        ", "\n  ",
]


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=120))
def test_token_soup_never_crashes(parts):
    frontend(" ".join(parts))
    frontend("".join(parts))


@pytest.mark.slow
@SLOW
@given(st.lists(st.sampled_from(TOKENS), max_size=300))
def test_token_soup_never_crashes_many(parts):
    frontend(" ".join(parts))


# ================================================================ mutations of real programs

@st.composite
def mutated_programs(draw) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 5))):
        n = len(text)
        a = draw(st.integers(0, n))
        b = draw(st.integers(a, min(n, a + 40)))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        if op == "delete":
            text = text[:a] + text[b:]
        elif op == "duplicate":
            text = text[:b] + text[a:b] + text[b:]
        elif op == "swap":
            c = draw(st.integers(0, n))
            d = draw(st.integers(c, min(n, c + 40)))
            if b <= c:
                text = text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
        elif op == "insert":
            text = text[:a] + draw(st.sampled_from(TOKENS)) + text[a:]
        else:
            text = text[:a] + draw(st.sampled_from(TOKENS)) + text[b:]
    return text


@FAST
@given(mutated_programs())
def test_mutated_programs_never_crash(text):
    frontend(text)


@pytest.mark.slow
@SLOW
@given(mutated_programs())
def test_mutated_programs_never_crash_many(text):
    frontend(text)


def test_every_prefix_of_a_program_parses_without_crashing():
    start = time.perf_counter()
    for i in range(len(SAMPLE) + 1):
        frontend(SAMPLE[:i], roundtrip=False)
    assert time.perf_counter() - start < 30


def test_every_suffix_of_a_program_parses_without_crashing():
    for i in range(0, len(SAMPLE) + 1, 3):
        frontend(SAMPLE[i:], roundtrip=False)


def test_the_corpus_parses_cleanly_or_reports_frontend_errors():
    for text in CORPUS:
        frontend(text)


# ================================================================ grammar-generated programs

NAMES = st.sampled_from(["a", "b", "x", "mut", "T", "_", "Foo", "v1", "self"])
LITERALS = st.sampled_from([
    "0", "1", "42", "0xFF", "0xFFFFFFFFFFFFFFFF", "0x8000000000000000", "0b101", "0o17",
    "1_000", "1.5", "1e100", "2.5e-3", "1e400", "0.1", '"s"', '"a\\n\\t\\\\\\"\\u{1F4A1}"',
    "'c'", "'\\''", "'\\n'", "'💡'", "true", "false", "nil", "...",
])
BINOPS = st.sampled_from(["..", "..<", "||", "&&", "==", "!=", "<", ">", "<=", ">=", "|", "^",
                          "&", "<<", ">>", "+", "-", "*", "/", "%"])

types = st.deferred(lambda: st.one_of(
    st.sampled_from(["Int", "T", "Self", "a::B", "Float"]),
    types.map(lambda t: f"Vec<{t}>"),
    st.tuples(types, types).map(lambda p: f"Pair<{p[0]}, {p[1]}>"),
    st.lists(types, max_size=3).map(lambda ts: "(" + ", ".join(ts) + ")"),
    types.map(lambda t: "&" + t),
    types.map(lambda t: "&mut " + t),
    types.map(lambda t: "*" + t),
    types.map(lambda t: f"[{t}; 3]"),
    st.tuples(types, types).map(lambda p: f"fn({p[0]}) -> {p[1]}"),
    types.map(lambda t: f"fn({t})"),
))

patterns = st.deferred(lambda: st.one_of(
    st.sampled_from(["x", "_", "mut y", "None", "1", "-2", "'c'", '"s"', "true", "1..5",
                     "-3..<0", "0xFF", "1.5", "A::B", "self"]),
    st.lists(patterns, max_size=3).map(lambda ps: "(" + ", ".join(ps) + ")"),
    patterns.map(lambda p: f"Some({p})"),
    st.tuples(patterns, patterns).map(lambda p: f"{p[0]} | {p[1]}"),
))


def _block(inner: str) -> str:
    return "{\n" + inner + "\n}"


exprs = st.deferred(lambda: st.one_of(
    NAMES, LITERALS,
    st.tuples(exprs, BINOPS, exprs).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(exprs, BINOPS, exprs, BINOPS, exprs).map(lambda t: " ".join(t)),
    st.tuples(exprs, types).map(lambda t: f"{t[0]} as {t[1]}"),
    st.tuples(st.sampled_from(["-", "!", "~", "*", "&", "&mut ", "await ", "&&"]), exprs)
    .map("".join),
    exprs.map(lambda e: f"({e})"),
    st.lists(exprs, max_size=3).map(lambda es: "(" + ", ".join(es) + ",)"),
    st.lists(exprs, max_size=3).map(lambda es: "[" + ", ".join(es) + "]"),
    st.lists(exprs, max_size=3).map(lambda es: "vec![" + ", ".join(es) + "]"),
    st.tuples(exprs, exprs, exprs).map(lambda t: f"{t[0]}({t[1]}, k={t[2]})"),
    st.tuples(exprs, st.sampled_from(["f", "0", "1", "await", "len"])).map(".".join),
    st.tuples(exprs, exprs).map(lambda t: f"{t[0]}.m({t[1]})"),
    st.tuples(exprs, exprs).map(lambda t: f"{t[0]}[{t[1]}]"),
    st.tuples(types, types, exprs).map(lambda t: f"Pair<{t[0]}, {t[1]}>({t[2]})"),
    st.tuples(types, exprs).map(lambda t: f"a::b<{t[0]}>::c({t[1]})"),
    st.tuples(exprs, exprs, exprs).map(lambda t: f"f({t[0]} < {t[1]}, c > ({t[2]}))"),
    st.tuples(NAMES, exprs, exprs).map(lambda t: f"{t[0]} < {t[1]} > ({t[2]})"),
    st.tuples(exprs, exprs, exprs).map(
        lambda t: f"if {t[0]} {{ {t[1]} }} else if b {{ 1 }} else {{ {t[2]} }}"),
    st.tuples(exprs, patterns, exprs, patterns, exprs, exprs).map(
        lambda t: f"match {t[0]} " + _block(f"{t[1]} => {t[2]}\n{t[3]} if {t[4]} => {t[5]}")),
    st.tuples(types, types, exprs).map(lambda t: f"fn(x: {t[0]}, y) -> {t[1]} {{ {t[2]} }}"),
    exprs.map(lambda e: f"{{ {e} }}"),
    exprs.map(lambda e: f"spawn({e})"),
    st.tuples(types, exprs).map(lambda t: f"actor {t[0]}({t[1]})"),
    exprs.map(lambda e: f"scoped {{ {e} }}"),
    exprs.map(lambda e: f"unsafe {{ {e} }}"),
    st.tuples(patterns, exprs, exprs).map(lambda t: f"for {t[0]} in {t[1]} {{ {t[2]} }}"),
    st.sampled_from(["a::b", "a::spawn", "Vec<Int>::new()", "x.m::<Int>()"]),
))

stmts = st.one_of(
    exprs,
    st.tuples(patterns, types, exprs).map(lambda t: f"let {t[0]}: {t[1]} = {t[2]}"),
    st.tuples(patterns, exprs).map(lambda t: f"var {t[0]} = {t[1]}"),
    st.tuples(NAMES, st.sampled_from(["=", "+=", "<<=", "^="]), exprs).map(" ".join),
    st.tuples(exprs, exprs).map(lambda t: f"{t[0]}.f = {t[1]}"),
    exprs.map(lambda e: f"return {e}"),
    st.just("return"),
    st.tuples(exprs, exprs).map(lambda t: f"while {t[0]} {{ {t[1]} }}"),
    st.tuples(patterns, exprs).map(lambda t: f"while let {t[0]} = {t[1]} {{ break }}"),
    st.just("loop { continue }"),
    st.tuples(types, types, exprs).map(
        lambda t: f"fn inner<T: A + B>(&mut self, x: {t[0]}, mut z: Int) -> {t[1]} "
                  f"{{ {t[2]} }}"),
    exprs.map(lambda e: f"spawn fn task() {{ {e} }}"),
    st.tuples(types, exprs).map(
        lambda t: f"class K: Tr {{ var f: {t[0]} = {t[1]}; fn m(&self) {{}} }}"),
    st.just("enum E { A, B(Int, T) }"),
)

items = st.one_of(
    st.lists(stmts, min_size=1, max_size=5).map(
        lambda ss: "fn main() " + _block("\n".join(ss))),
    st.tuples(types, exprs).map(
        lambda t: f"template P<T: Tr> {{\n var a: {t[0]} = {t[1]}\n fn sig(&self)\n}}"),
    st.tuples(NAMES, st.sampled_from(["linux", '"two words"', "1"])).map(
        lambda t: f"@a\n#cfg({t[1]})\nextern \"C\" {{ fn {t[0]}_f(x: *char, ...) }}"),
    st.sampled_from(["import a::*", "import a::b as c", "module m { fn f() {} }",
                     "macro mm(a, b) { a + b }", "async unsafe fn h() {}"]),
)


def _grammar_check(parts: list[str]) -> None:
    frontend("\n".join(parts) + "\n")


@FAST
@given(st.lists(items, min_size=1, max_size=3))
def test_grammar_generated_programs_round_trip(parts):
    _grammar_check(parts)


@pytest.mark.slow
@SLOW_GRAMMAR
@given(st.lists(items, min_size=1, max_size=4))
def test_grammar_generated_programs_round_trip_many(parts):
    _grammar_check(parts)


# ================================================================ literals

def _reparse_expr(text: str) -> ast.Expr:
    sink = DiagnosticSink()
    module = parse(SourceFile("lit.vyn", f"fn main() {{\n    let _ = {text}\n}}\n"), sink)
    assert [d.message for d in sink.items] == [], text
    return module.items[0].body.stmts[0].value


@FAST
@given(st.text(max_size=60))
def test_any_string_literal_prints_and_reads_back(value):
    lit = ast.StringLit(value)
    assert _reparse_expr(print_expr(lit)) == lit


@FAST
@given(st.characters())
def test_any_character_literal_prints_and_reads_back(value):
    lit = ast.CharLit(value)
    assert _reparse_expr(print_expr(lit)) == lit


@FAST
@given(st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
def test_any_float_literal_prints_and_reads_back(value):
    text = print_expr(ast.FloatLit(value))
    assert "." in text or "e" in text
    back = _reparse_expr(text)
    assert isinstance(back, ast.FloatLit) and back.value == value


@FAST
@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_any_64_bit_integer_literal_prints_and_reads_back(value):
    lit = ast.IntLit(value)
    assert _reparse_expr(print_expr(lit)) == lit


# ================================================================ pathological sizes

NESTING = {
    "parens_10k": "fn main() { let x = " + "(" * 10_000 + "1" + ")" * 10_000 + " }",
    "minus_10k": "fn main() { let x = " + "-" * 10_000 + "1 }",
    "not_10k": "fn main() { let x = " + "!" * 10_000 + "1 }",
    "amp_10k": "fn main() { let x = " + "&" * 10_000 + "x }",
    "await_10k": "fn main() { let x = " + "await " * 10_000 + "x }",
    "brackets_5k": "fn main() { let x = " + "[" * 5_000 + "]" * 5_000 + " }",
    "braces_5k": "fn main() " + "{" * 5_000 + "}" * 5_000,
    "unclosed_braces_5k": "fn main() " + "{" * 5_000,
    "ref_types_10k": "fn main() { let x: " + "&" * 10_000 + "Int = 1 }",
    "generic_types_5k": "fn main() { let x: " + "Vec<" * 5_000 + "Int" + ">" * 5_000 + " }",
    "else_if_5k": "fn main() { let x = if a { 1 }" + " else if a { 1 }" * 5_000 + " }",
    "indent_2k": "fn main()\n" + "".join(" " * (i + 1) + "if a\n" for i in range(2_000)),
    "patterns_deep": "fn main() { match x { " + "Some(" * 150 + "a" + ")" * 150 + " => 1 } }",
    "huge_int": "fn main() { let x = " + "9" * 100_000 + " }",
    "huge_hex": "fn main() { let x = 0x" + "F" * 100_000 + " }",
    "huge_float": "fn main() { let x = 1." + "9" * 100_000 + "e99999 }",
    "huge_string": 'fn main() { let x = "' + "a" * 1_000_000 + '" }',
    "comment_nest_10k": "/*" * 10_000 + "*/" * 10_000 + "fn main() {}",
    "unclosed_comment_nest": "/*" * 10_000,
    "long_line_of_errors": "fn main() { " + "$ " * 20_000 + "}",
    # Deep nesting in one statement after another must not wear the limit down.
    "repeated_deep_lines": "fn main() {\n" + ("let x = " + "-" * 600 + "1\n") * 40 + "}",
}

LONG = {
    "plus_chain_50k": "fn main() { let x = " + " + ".join(["1"] * 50_000) + " }",
    "range_chain_20k": "fn main() { let x = " + "..".join(["1"] * 20_000) + " }",
    "field_chain_50k": "fn main() { let x = a" + ".b" * 50_000 + " }",
    "call_chain_50k": "fn main() { let x = f" + "()" * 50_000 + " }",
    "cast_chain_20k": "fn main() { let x = a" + " as T" * 20_000 + " }",
    "or_patterns_20k": "fn main() { match x { " + " | ".join(["a"] * 20_000) + " => 1 } }",
    "statements_20k": "fn main() {\n" + "let x = 1\n" * 20_000 + "}",
    "else_if_25k": "fn main() { let x = if a { 1 }" + " else if a { 1 }" * 25_000 + " }",
    "await_25k": "fn main() { let x = " + "await " * 25_000 + "x }",
}


def _timed(text: str, limit: float) -> ast.Module:
    start = time.perf_counter()
    module = frontend(text, roundtrip=False)
    assert time.perf_counter() - start < limit
    return module


@pytest.mark.parametrize("name", sorted(NESTING))
def test_pathological_nesting_is_reported_not_crashed_on(name):
    _timed(NESTING[name], 10)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LONG))
def test_very_long_inputs_terminate_quickly(name):
    _timed(LONG[name], 20)


def test_deep_but_legal_nesting_round_trips():
    text = "fn main() { let x = " + "(" * 60 + "1" + ")" * 60 + " }"
    frontend(text)
    text = "fn main() {\n" + "".join("    " * i + "if a {\n" for i in range(1, 40)) + \
        "".join("    " * i + "}\n" for i in range(39, 0, -1)) + "}\n"
    frontend(text)
    text = "fn main() { let x = 1 " + "+ 1 " * 1500 + "}"
    frontend(text)
