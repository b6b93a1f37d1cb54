"""`disassemble`: what `vyn disasm` shows a reader of the bytecode.

The story: a compiled fib, listed function by function, each source line above the
instructions it became, statements starred, registers named after the variables in them.
"""

from __future__ import annotations

import pytest

from compiler import bytecode as bc
from compiler.bytecode import Function, LineEntry, Program, TypeDesc, VarEntry
from compiler.disasm import NoSuchFunction, disassemble, render_constant
from tests.sample_programs import sample_program

FIB_LISTING = """\
function fib (fib.vyn:1) params=1 regs=4
   2 |   if n < 2 {
*    0  JGEK        r0(n), 2, -> 2
   3 |     return n
*    1  RET         r0(n)
   5 |   return fib(n - 1) + fib(n - 2)
*    2  SUBK        r1, r0(n), 1
     3  CALL        r1, fn fib, (r1)
     4  SUBK        r2, r0(n), 2
     5  CALL        r2, fn fib, (r2)
     6  ADD         r3, r1, r2
     7  RET         r3
"""


def test_fib_is_listed_with_its_source():
    assert disassemble(sample_program(), "fib") == FIB_LISTING


def test_every_function_is_listed_in_order_separated_by_a_blank_line():
    listing = disassemble(sample_program())
    headers = [line for line in listing.splitlines() if line.startswith("function ")]
    assert headers == [
        "function main (fib.vyn:8) params=0 regs=6",
        "function fib (fib.vyn:1) params=1 regs=4",
        "function <lambda> (fib.vyn:11) params=1 regs=2 [lambda]",
        "function Point.norm (fib.vyn:0) params=1 regs=3 captures=1 [method]",
    ]
    assert "\n\nfunction fib " in listing
    assert FIB_LISTING in listing


def test_constants_calls_and_types_are_shown_by_value_and_name():
    listing = disassemble(sample_program(), "main")
    assert '*    0  LOADK       r0, 27\n' in listing
    assert '     2  PRINT       "{}\\n", (r1), (1,), 1\n' in listing
    assert "*    3  CLOSURE     r2, fn <lambda>, (), type 'fn(Float) -> Float'\n" in listing
    assert "     5  CALLV       r4, r2(scale), (r3), type Float\n" in listing
    assert "*    7  LOADK       r5, none\n" in listing


def test_a_register_is_named_only_where_its_variable_lives():
    listing = disassemble(sample_program(), "main").splitlines()
    # `n` lives in r0 from pc 1: at pc 0 the register is being assigned, not yet `n`.
    assert "*    0  LOADK       r0, 27" in listing
    assert "*    1  CALL        r1, fn fib, (r0(n))" in listing


def test_captures_are_named():
    listing = disassemble(sample_program(), "Point.norm")
    assert "     1  LOADCAP     r2, cap0(k)\n" in listing
    assert "     3  UNSUPPORTED \"sqrt\"\n" in listing


def test_a_source_line_is_shown_once_before_its_first_instruction():
    listing = disassemble(sample_program(), "main")
    assert listing.count("  10 |   println(\"{}\", fib(n))\n") == 1
    lines = listing.splitlines()
    assert lines.index('  10 |   println("{}", fib(n))') + 1 == lines.index(
        "*    1  CALL        r1, fn fib, (r0(n))")


def test_an_unknown_function_is_an_error():
    with pytest.raises(NoSuchFunction) as info:
        disassemble(sample_program(), "fibonacci")
    assert info.value.name == "fibonacci"


def test_a_broken_program_still_lists():
    op = bc.OPNAMES.index
    fn = Function(index=0, name="bad", file="gone.vyn", line=1, col=1, end_line=1, nparams=0,
                  nregs=1, code=[(op("LOADK"), 0, 5), (op("CALL"), 0, 9, 0, 0), (op("MOV"), 0),
                                 (999, 1)],
                  lines=[LineEntry(0, 40, 1, True)],
                  vars=[VarEntry(0, "x", 7, 0, 9)])
    listing = disassemble(Program([fn], [TypeDesc(0, "", "never")], {}, entry=0))
    assert listing == (
        "function bad (gone.vyn:1) params=0 regs=1\n"
        "  40 |\n"
        "*    0  LOADK       r0(x), k5?\n"
        "     1  CALL        r0(x), fn #9?, ()\n"
        "     2  MOV         ?[0]\n"
        "     3  ?999        [1]\n"
    )


@pytest.mark.parametrize("value, text", [
    ("a \"quoted\"\\ line\n\ttab", '"a \\"quoted\\"\\\\ line\\n\\ttab"'),
    ("\x00é", '"\\u{0}é"'),
    (True, "true"),
    (None, "none"),
    (-3, "-3"),
    (2.5, "2.5"),
    ((1, 2), "(1, 2)"),
    (("f.vyn:1:1", "x"), '("f.vyn:1:1", "x")'),
])
def test_constants_render_readably(value, text):
    assert render_constant(value) == text
