"""Encode a Program as image payload sections (the inverse of `runtime/loader.py`).

The layouts are in `compiler/bytecode_format.py` and docs/bytecode.md ("On disk"). The
encoding is canonical: one Program has exactly one encoding, and the loader accepts only
canonical bytes, so decoding then encoding gives back the very same bytes.

`program_to_sections` trusts nothing it is given: a value that does not fit its field (a
negative line, a constant of an unsupported type, an opcode with the wrong operand count)
raises ValueError naming the function and field. Those are compiler bugs, not user errors.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from compiler.bytecode import OPCODES, OPNAMES, Function, Program, TypeDesc
from compiler.bytecode_format import (
    BOOL_FORMAT,
    BYTECODE_SECTION,
    CONST_BOOL,
    CONST_FLOAT,
    CONST_FLOAT_FORMAT,
    CONST_INT,
    CONST_INT_FORMAT,
    CONST_NONE,
    CONST_STR,
    CONST_TAG_FORMAT,
    CONST_TUPLE,
    COUNT_FORMAT,
    FUNCTION_FORMAT,
    FUNCTION_ID_FORMAT,
    HEAP_KIND_FORMAT,
    INSTRUCTION_FORMAT,
    LINE_ROW_FORMAT,
    LINES_SECTION,
    MAX_CONST_DEPTH,
    META_FORMAT,
    META_SECTION,
    OPERAND_FORMAT,
    REG_TYPE_FORMAT,
    SECTION_VERSIONS,
    SLOT_KIND_FORMAT,
    SOURCES_SECTION,
    STRING_LENGTH_FORMAT,
    TYPE_FORMAT,
    TYPE_ID_FORMAT,
    TYPES_SECTION,
    VAR_KINDS,
    VAR_ROW_FORMAT,
    VARS_SECTION,
    VERSION_FORMAT,
)

_BREAKPOINT = OPNAMES.index("BREAKPOINT")


class _Writer:
    """An append-only byte buffer; `context` names what is being written, for errors."""

    def __init__(self, section: str) -> None:
        self.buf = bytearray()
        self.context = section
        self.pack(VERSION_FORMAT, SECTION_VERSIONS[section])

    def pack(self, fmt: str, *values: object) -> None:
        try:
            self.buf += struct.pack(fmt, *values)
        except struct.error as e:
            raise ValueError(f"{self.context}: a value does not fit its field ({e}): "
                             f"{values!r}") from None

    def count(self, n: int) -> None:
        self.pack(COUNT_FORMAT, n)

    def string(self, text: str) -> None:
        if not isinstance(text, str):
            raise ValueError(f"{self.context}: expected a str, got {text!r}")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as e:  # lone surrogates
            raise ValueError(f"{self.context}: {text!r} is not encodable as UTF-8") from e
        self.pack(STRING_LENGTH_FORMAT, len(data))
        self.buf += data

    def strings(self, texts: Iterable[str]) -> None:
        texts = list(texts)
        self.count(len(texts))
        for text in texts:
            self.string(text)

    def bool(self, flag: bool) -> None:
        self.pack(BOOL_FORMAT, 1 if flag else 0)

    def bytes(self) -> bytes:
        return bytes(self.buf)


def program_to_sections(program: Program) -> dict[str, bytes]:
    """The payload sections of `program`, by name, in SECTION_ORDER.

    Raises:
        ValueError: the program holds something the format cannot represent (a caller bug;
            the message names the function or type and the field).
    """
    for i, fn in enumerate(program.functions):
        if fn.index != i:
            raise ValueError(f"function {fn.name!r} is at position {i} but has index {fn.index}")
    for i, ty in enumerate(program.types):
        if ty.id != i:
            raise ValueError(f"type {ty.name!r} is at position {i} but has id {ty.id}")
    return {
        BYTECODE_SECTION: _encode_bytecode(program.functions),
        LINES_SECTION: _encode_lines(program.functions),
        VARS_SECTION: _encode_vars(program.functions),
        TYPES_SECTION: _encode_types(program.types),
        SOURCES_SECTION: _encode_sources(program.sources),
        META_SECTION: _encode_meta(program),
    }


# -- .vyn.bytecode ---------------------------------------------------------------------------

def _encode_bytecode(functions: list[Function]) -> bytes:
    w = _Writer(BYTECODE_SECTION)
    w.count(len(functions))
    for fn in functions:
        w.context = f"function {fn.index} ({fn.name!r})"
        w.string(fn.name)
        w.string(fn.file)
        w.pack(FUNCTION_FORMAT, fn.line, fn.col, fn.end_line, fn.nparams, fn.nregs,
               fn.ncaptures, fn.flags, fn.ret_type)
        w.count(len(fn.reg_types))
        for type_id in fn.reg_types:
            w.pack(REG_TYPE_FORMAT, type_id)
        w.count(len(fn.consts))
        for k, value in enumerate(fn.consts):
            w.context = f"function {fn.index} ({fn.name!r}), constant {k}"
            _encode_const(w, value)
        w.count(len(fn.code))
        for pc, instr in enumerate(fn.code):
            w.context = f"function {fn.index} ({fn.name!r}), pc {pc}"
            _encode_instruction(w, instr)
    return w.bytes()


def _encode_const(w: _Writer, value: object, depth: int = 0) -> None:
    # bool before int: True is an int too.
    if isinstance(value, bool):
        w.pack(CONST_TAG_FORMAT, CONST_BOOL)
        w.bool(value)
    elif isinstance(value, int):
        w.pack(CONST_TAG_FORMAT, CONST_INT)
        w.pack(CONST_INT_FORMAT, value)
    elif isinstance(value, float):
        w.pack(CONST_TAG_FORMAT, CONST_FLOAT)
        w.pack(CONST_FLOAT_FORMAT, value)
    elif isinstance(value, str):
        w.pack(CONST_TAG_FORMAT, CONST_STR)
        w.string(value)
    elif value is None:
        w.pack(CONST_TAG_FORMAT, CONST_NONE)
    elif isinstance(value, tuple) and depth < MAX_CONST_DEPTH:
        w.pack(CONST_TAG_FORMAT, CONST_TUPLE)
        w.count(len(value))
        for x in value:
            _encode_const(w, x, depth + 1)
    else:
        raise ValueError(f"{w.context}: {value!r} ({type(value).__name__}) cannot be stored; "
                         f"constants are int, float, str, bool, None or tuples of those "
                         f"(nested at most {MAX_CONST_DEPTH} deep)")


def _encode_instruction(w: _Writer, instr: tuple) -> None:
    if not isinstance(instr, tuple) or not instr:
        raise ValueError(f"{w.context}: an instruction is a non-empty tuple, got {instr!r}")
    opcode, *operands = instr
    if not isinstance(opcode, int) or not 0 <= opcode < len(OPCODES):
        raise ValueError(f"{w.context}: unknown opcode {opcode!r}")
    name, spec, _ = OPCODES[opcode]
    if opcode == _BREAKPOINT:
        raise ValueError(f"{w.context}: BREAKPOINT is a debugger patch, never part of an image")
    if len(operands) != len(spec):
        raise ValueError(f"{w.context}: {name} takes {len(spec)} operands ({spec!r}), "
                         f"got {len(operands)}")
    for x in operands:
        if not isinstance(x, int) or isinstance(x, bool):
            raise ValueError(f"{w.context}: {name} operand {x!r} is not an int")
    w.pack(INSTRUCTION_FORMAT, opcode, len(operands))
    for x in operands:
        w.pack(OPERAND_FORMAT, x)


# -- .vyn.lines and .vyn.vars ----------------------------------------------------------------

def _encode_lines(functions: list[Function]) -> bytes:
    w = _Writer(LINES_SECTION)
    w.count(len(functions))
    for fn in functions:
        w.context = f"function {fn.index} ({fn.name!r}), line table"
        w.count(len(fn.lines))
        for row in fn.lines:
            w.pack(LINE_ROW_FORMAT, row.pc, row.line, row.col, 1 if row.is_stmt else 0)
    return w.bytes()


def _encode_vars(functions: list[Function]) -> bytes:
    w = _Writer(VARS_SECTION)
    w.count(len(functions))
    for fn in functions:
        w.context = f"function {fn.index} ({fn.name!r}), variable table"
        w.count(len(fn.vars))
        for var in fn.vars:
            if var.kind not in VAR_KINDS:
                raise ValueError(f"{w.context}: variable {var.name!r} has kind {var.kind!r}, "
                                 f"not one of {', '.join(VAR_KINDS)}")
            w.pack(VAR_ROW_FORMAT, var.reg, var.type_id, var.start, var.end,
                   VAR_KINDS.index(var.kind), 1 if var.cell else 0)
            w.string(var.name)
    return w.bytes()


# -- .vyn.types ------------------------------------------------------------------------------

def _encode_types(types: list[TypeDesc]) -> bytes:
    w = _Writer(TYPES_SECTION)
    w.count(len(types))
    for ty in types:
        w.context = f"type {ty.id} ({ty.name!r})"
        w.string(ty.name)
        w.string(ty.kind)
        w.pack(TYPE_FORMAT, ty.elem, ty.size, ty.tag, ty.parent, 1 if ty.signed else 0)
        w.count(len(ty.fields))
        for field_name, type_id in ty.fields:
            w.string(field_name)
            w.pack(TYPE_ID_FORMAT, type_id)
        w.count(len(ty.variants))
        for type_id in ty.variants:
            w.pack(TYPE_ID_FORMAT, type_id)
        w.count(len(ty.methods))
        for method, fn_index in ty.methods.items():
            w.string(method)
            w.pack(FUNCTION_ID_FORMAT, fn_index)
        w.bool(ty.heap is not None)
        if ty.heap is not None:
            heap_kind, slots = ty.heap
            w.pack(HEAP_KIND_FORMAT, heap_kind)
            w.count(len(slots))
            for slot_kind in slots:
                w.pack(SLOT_KIND_FORMAT, slot_kind)
    return w.bytes()


# -- .vyn.sources and .vyn.meta --------------------------------------------------------------

def _encode_sources(sources: dict[str, str]) -> bytes:
    w = _Writer(SOURCES_SECTION)
    w.count(len(sources))
    for name, text in sources.items():
        w.context = f"source file {name!r}"
        w.string(name)
        w.string(text)
    return w.bytes()


def _encode_meta(program: Program) -> bytes:
    w = _Writer(META_SECTION)
    w.pack(META_FORMAT, program.entry, program.init, program.version)
    w.count(len(program.globals))
    for name, type_id in program.globals:
        w.context = f"global {name!r}"
        w.string(name)
        w.pack(TYPE_ID_FORMAT, type_id)
    w.context = "builtins"
    w.strings(program.builtins)
    return w.bytes()
