"""A compiled program survives the trip to disk and back, and no damaged payload gets past the
loader as anything but one ImageError.

The story: the compiler hands `program_to_sections` a Program; `vyn build` stores the sections
in an image; `vyn run` gets them back with `load_program`, equal to what was compiled. Bytes
that were cut or flipped are reported in one sentence, never as a traceback.
"""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import bytecode as bc
from compiler.bytecode import Function, LineEntry, Program, TypeDesc, VarEntry
from compiler.bytecode_format import (
    BYTECODE_SECTION,
    LINES_SECTION,
    META_SECTION,
    SECTION_ORDER,
    SECTION_VERSIONS,
    TYPES_SECTION,
    VARS_SECTION,
)
from compiler.serialize import program_to_sections
from runtime.image import ImageError, ImageErrorKind
from runtime.loader import load_program, sections_to_program, verify_program
from tests.sample_programs import sample_program

ROOT = Path(__file__).resolve().parent.parent

OP = bc.OPNAMES.index


def tiny_program(code: list[tuple], *, nregs: int = 2, consts: list | None = None,
                 lines: list[LineEntry] | None = None) -> Program:
    """One function `main` in `t.vyn` with `code`; types: 0 placeholder, 1 Int."""
    fn = Function(index=0, name="main", file="t.vyn", line=1, col=1, end_line=1, nparams=0,
                  nregs=nregs, code=code, consts=consts or [], lines=lines or [])
    return Program(functions=[fn], types=[TypeDesc(0, "", "never"), TypeDesc(1, "Int", "int")],
                   sources={"t.vyn": "fn main() {}\n"}, entry=0)


def decode(sections: dict[str, bytes]) -> Program:
    return sections_to_program(sections, "app")


# -- round trips ---------------------------------------------------------------------------

def test_a_program_comes_back_equal():
    program = sample_program()
    sections = program_to_sections(program)
    assert list(sections) == list(SECTION_ORDER)
    assert decode(sections) == program


def test_the_encoding_is_canonical():
    sections = program_to_sections(sample_program())
    assert program_to_sections(decode(sections)) == sections


def test_an_empty_program_comes_back_equal():
    program = Program(functions=[], types=[], sources={}, entry=-1)
    assert decode(program_to_sections(program)) == program


def test_decoded_instructions_are_tuples_of_ints():
    program = decode(program_to_sections(sample_program()))
    fib = program.function("fib")
    assert fib.code[0] == (OP("JGEK"), 0, 2, 2)
    assert all(type(x) is int for instr in fib.code for x in instr)


scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.booleans(),
    st.none(),
)
# Tuples: lists of type ids (PRINT), DBG's (where, text), and anything nested up to the limit.
constants = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4).map(tuple),
                         max_leaves=12)


def same_constant(before: object, after: object) -> bool:
    """Equal and of the same type, all the way down; NaN is the same as NaN."""
    if type(before) is not type(after):
        return False
    if isinstance(before, tuple):
        return len(before) == len(after) and all(map(same_constant, before, after))
    if isinstance(before, float) and math.isnan(before):
        return math.isnan(after)
    return before == after


@settings(max_examples=150, deadline=None)
@given(st.lists(constants, max_size=8))
def test_any_constant_pool_comes_back_bit_for_bit(consts):
    sections = program_to_sections(tiny_program([(OP("RET"), 0)], consts=consts))
    back = decode(sections).functions[0].consts
    assert program_to_sections(tiny_program([(OP("RET"), 0)], consts=back)) == sections
    assert len(back) == len(consts)
    assert all(map(same_constant, consts, back))


def test_tuples_nest_at_most_eight_deep():
    deep = ()
    for _ in range(7):  # () inside 7 more: 8 levels
        deep = (deep,)
    program = tiny_program([(OP("RET"), 0)], consts=[deep])
    assert decode(program_to_sections(program)) == program
    with pytest.raises(ValueError, match="nested at most 8 deep"):
        program_to_sections(tiny_program([(OP("RET"), 0)], consts=[(deep,)]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=1))
def test_negative_and_huge_immediates_survive(imms):
    code = [(OP("ADDK"), 0, 1, imms[0]), (OP("RET"), 0)]
    assert decode(program_to_sections(tiny_program(code))).functions[0].code == code


# -- the bytes, field by field (docs/bytecode.md, "On disk") --------------------------------

def test_meta_and_lines_are_encoded_as_documented():
    program = tiny_program([(OP("RET"), 0)], lines=[LineEntry(0, 3, 5, True)])
    program.globals = [("g", 1)]
    program.builtins = ["len"]
    sections = program_to_sections(program)
    assert sections[META_SECTION] == (
        b"\x01\x00\x00\x00"          # section format version 1
        b"\x00\x00\x00\x00"          # entry: function 0
        b"\xff\xff\xff\xff"          # init: -1, none
        b"\x01\x00\x00\x00"          # program version 1
        b"\x01\x00\x00\x00"          # 1 global
        b"\x01\x00\x00\x00" b"g"     #   name "g"
        b"\x01\x00\x00\x00"          #   type 1
        b"\x01\x00\x00\x00"          # 1 builtin
        b"\x03\x00\x00\x00" b"len"   #   "len"
    )
    assert sections[LINES_SECTION] == (
        b"\x01\x00\x00\x00"          # section format version 1
        b"\x01\x00\x00\x00"          # tables for 1 function
        b"\x01\x00\x00\x00"          # function 0: 1 row
        b"\x00\x00\x00\x00"          #   pc 0
        b"\x03\x00\x00\x00"          #   line 3
        b"\x05\x00\x00\x00"          #   col 5
        b"\x01"                      #   is_stmt
    )


def test_an_instruction_is_opcode_count_and_i64_operands():
    sections = program_to_sections(tiny_program([(OP("SUBK"), 0, 1, -1)]))
    encoded = struct.pack("<HB", OP("SUBK"), 3) + struct.pack("<qqq", 0, 1, -1)
    assert sections[BYTECODE_SECTION].endswith(b"\x01\x00\x00\x00" + encoded)


# -- damage ----------------------------------------------------------------------------------

SAMPLE_SECTIONS = program_to_sections(sample_program())


@pytest.mark.parametrize("section", SECTION_ORDER)
def test_every_truncation_is_an_image_error(section):
    data = SAMPLE_SECTIONS[section]
    for length in range(len(data)):
        with pytest.raises(ImageError) as info:
            decode({**SAMPLE_SECTIONS, section: data[:length]})
        assert info.value.message.startswith("'app' ")


@pytest.mark.parametrize("section", SECTION_ORDER)
def test_trailing_bytes_are_an_image_error(section):
    with pytest.raises(ImageError, match="unexpected byte"):
        decode({**SAMPLE_SECTIONS, section: SAMPLE_SECTIONS[section] + b"\x00"})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SECTION_ORDER), st.data())
def test_a_flipped_byte_decodes_canonically_or_is_an_image_error(section, data):
    payload = bytearray(SAMPLE_SECTIONS[section])
    at = data.draw(st.integers(min_value=0, max_value=len(payload) - 1), label="offset")
    payload[at] = data.draw(st.integers(min_value=0, max_value=255), label="byte")
    damaged = {**SAMPLE_SECTIONS, section: bytes(payload)}
    try:
        program = decode(damaged)
    except ImageError as e:
        assert e.message.startswith("'app' ") and e.message.endswith(".")
        assert "\n" not in e.message
    else:
        # Whatever was decoded is a valid program: it verifies and encodes to the same bytes.
        verify_program(program, "app")
        assert program_to_sections(program) == damaged


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SECTION_ORDER), st.binary(max_size=64))
def test_garbage_sections_are_image_errors(section, garbage):
    try:
        decode({**SAMPLE_SECTIONS, section: garbage})
    except ImageError:
        pass


def test_a_missing_section_is_named():
    sections = dict(SAMPLE_SECTIONS)
    del sections[VARS_SECTION]
    with pytest.raises(ImageError) as info:
        decode(sections)
    assert info.value.message == "'app' is corrupted: it has no .vyn.vars section."


def test_a_newer_section_version_asks_for_a_rebuild():
    sections = dict(SAMPLE_SECTIONS)
    sections[TYPES_SECTION] = struct.pack("<I", 99) + sections[TYPES_SECTION][4:]
    with pytest.raises(ImageError) as info:
        decode(sections)
    assert info.value.kind is ImageErrorKind.UNSUPPORTED
    assert info.value.message == (
        f"'app' has .vyn.types format version 99, but this runtime reads only version "
        f"{SECTION_VERSIONS[TYPES_SECTION]} (rebuild it).")


# -- references ------------------------------------------------------------------------------

@pytest.mark.parametrize("instr, why", [
    ((OP("MOV"), 0, 2), "MOV: register r2 of 2"),
    ((OP("MOV"), -1, 0), "MOV: register r-1 of 2"),
    ((OP("JMP"), 2), "JMP: jump target 2 of 2 instructions"),
    ((OP("LOADK"), 0, 0), "LOADK: constant 0 of 0"),
    ((OP("CALL"), 0, 1, 0, 0), "CALL: function 1 of 1"),
    ((OP("CALL"), 0, 0, 1, 2), "CALL: registers r1..r2 of 2"),
    ((OP("NEW"), 0, 5, 0, 0), "NEW: type 5 of 2"),
    ((OP("GGET"), 0, 0), "GGET: global 0 of 0"),
    ((OP("VECNEW"), 0, 1, 0, -1), "VECNEW: count -1"),
])
def test_a_dangling_reference_is_a_bad_instruction(instr, why):
    sections = program_to_sections(tiny_program([instr, (OP("RET"), 0)]))
    with pytest.raises(ImageError) as info:
        decode(sections)
    assert info.value.message == (
        f"'app' is corrupted: bad instruction at pc 0 in function 0 ({why}).")


def test_an_empty_register_range_may_start_at_the_frame_end():
    code = [(OP("CALL"), 0, 0, 2, 0), (OP("RET"), 0)]
    assert decode(program_to_sections(tiny_program(code))).functions[0].code == code


def test_an_unknown_opcode_is_a_bad_instruction():
    sections = dict(program_to_sections(tiny_program([(OP("NOP"),)])))
    opcode_at = sections[BYTECODE_SECTION].rindex(struct.pack("<HB", OP("NOP"), 0))
    raw = bytearray(sections[BYTECODE_SECTION])
    raw[opcode_at:opcode_at + 2] = struct.pack("<H", len(bc.OPNAMES))
    sections[BYTECODE_SECTION] = bytes(raw)
    with pytest.raises(ImageError, match=r"bad instruction at pc 0 in function 0 "
                                         r"\(unknown opcode \d+\)\.$"):
        decode(sections)


def test_line_rows_out_of_order_are_refused():
    program = tiny_program([(OP("NOP"),), (OP("RET"), 0)],
                           lines=[LineEntry(1, 2, 1, True), LineEntry(0, 1, 1, True)])
    with pytest.raises(ImageError, match="line table of function 0 is out of order"):
        decode(program_to_sections(program))


def test_a_variable_outside_the_frame_is_refused():
    program = tiny_program([(OP("RET"), 0)])
    program.functions[0].vars = [VarEntry(7, "x", 1, 0, 1)]
    with pytest.raises(ImageError, match="variable 'x' of function 0"):
        decode(program_to_sections(program))


def test_an_entry_point_that_does_not_exist_is_refused():
    program = tiny_program([(OP("RET"), 0)])
    program.entry = 3
    with pytest.raises(ImageError, match="entry or init function 3 does not exist"):
        decode(program_to_sections(program))


# -- what the serializer refuses (compiler bugs) ---------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda p: p.functions[0].consts.append([1]), "cannot be stored"),
    (lambda p: p.functions[0].consts.append((1, b"x")), "cannot be stored"),
    (lambda p: p.functions[0].consts.append(2**63), "does not fit"),
    (lambda p: p.functions[0].code.append((OP("MOV"), 0)), "MOV takes 2 operands"),
    (lambda p: p.functions[0].code.append((OP("BREAKPOINT"), 0)), "BREAKPOINT"),
    (lambda p: p.functions[0].code.append((999,)), "unknown opcode"),
    (lambda p: setattr(p.functions[0], "index", 4), "has index 4"),
    (lambda p: setattr(p.functions[0], "line", -1), "does not fit"),
    (lambda p: p.functions[0].vars.append(VarEntry(0, "v", 1, 0, 1, kind="global")),
     "kind 'global'"),
])
def test_the_serializer_refuses_what_it_cannot_store(change, message):
    program = tiny_program([(OP("RET"), 0)])
    change(program)
    with pytest.raises(ValueError, match=message):
        program_to_sections(program)


# -- through a real image --------------------------------------------------------------------

def test_an_image_written_and_loaded_holds_the_same_program(tmp_path):
    from compiler.image_writer import write_image

    program = sample_program()
    path = tmp_path / "fib"
    write_image(path, program_to_sections(program))
    assert load_program(path) == program


def test_loading_a_missing_image_is_one_sentence(tmp_path):
    with pytest.raises(ImageError) as info:
        load_program(tmp_path / "nope")
    assert info.value.message == f"cannot read '{tmp_path / 'nope'}': No such file or directory."


def test_the_loader_imports_no_heavy_modules():
    code = ("import sys, runtime.loader\n"
            "heavy = [m for m in ('llvmlite', 'textual', 'unicorn') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
