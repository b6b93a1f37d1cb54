"""Load a compiled Program from an image's payload sections (the inverse of
`compiler/serialize.py`).

The layouts are in `compiler/bytecode_format.py` and docs/bytecode.md ("On disk"). Loading
is strict: only the canonical encoding is accepted, every count is checked against the
bytes left before anything is allocated, and every reference (register, pc target,
constant, type, function, global) is checked against what it refers to, so the VM can
trust a loaded Program without checking again. Whatever the bytes, the only exception is
`ImageError`, whose message is one sentence naming the image.

Imports stay light: no llvmlite, textual, unicorn or pyelftools (runtime/elf64.py reads
the section table).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from compiler.bytecode import (
    OPCODES,
    OPNAMES,
    Function,
    LineEntry,
    Program,
    TypeDesc,
    VarEntry,
)
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
    KNOWN_FUNCTION_FLAGS,
    LINE_ROW_FORMAT,
    LINES_SECTION,
    MAX_CONST_DEPTH,
    META_FORMAT,
    META_SECTION,
    OPERAND_FORMAT,
    REG_TYPE_FORMAT,
    SECTION_ORDER,
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
from runtime.heap_layout import SlotKind, TypeKind
from runtime.image import ImageError, ImageErrorKind, load_image

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import NoReturn

_BREAKPOINT = OPNAMES.index("BREAKPOINT")
_TYPE_KINDS = frozenset(TypeKind.ALL)
_SLOT_KINDS = frozenset(SlotKind.ALL)

# Precompiled structs: the decoder runs once per instruction and table row.
_S = {fmt: struct.Struct(fmt) for fmt in (
    BOOL_FORMAT, CONST_FLOAT_FORMAT, CONST_INT_FORMAT, CONST_TAG_FORMAT, COUNT_FORMAT,
    FUNCTION_FORMAT, FUNCTION_ID_FORMAT, HEAP_KIND_FORMAT, INSTRUCTION_FORMAT, LINE_ROW_FORMAT,
    META_FORMAT, REG_TYPE_FORMAT, SLOT_KIND_FORMAT, STRING_LENGTH_FORMAT, TYPE_FORMAT,
    TYPE_ID_FORMAT, VAR_ROW_FORMAT, VERSION_FORMAT,
)}
_OPERAND_SIZE = struct.calcsize(OPERAND_FORMAT)
#: Operand structs by operand count ("<qq" for two), for the counts any opcode uses.
_OPERANDS = {n: struct.Struct("<" + OPERAND_FORMAT[1:] * n)
             for n in {len(spec) for _, spec, _ in OPCODES}}


def load_program(path: str | os.PathLike[str]) -> Program:
    """The Program in the image file at `path`.

    Raises:
        ImageError: the file cannot be read, is not a valid image, or its program payload
            is malformed.
    """
    name = os.fspath(path)
    return sections_to_program(load_image(name).sections, name)


def sections_to_program(sections: Mapping[str, bytes], name: str) -> Program:
    """Decode and verify the Program held in an image's payload `sections`.

    Args:
        sections: section name to payload, as `Image.sections` (other sections are ignored).
        name: what error messages call the image, usually its path.

    Raises:
        ImageError: a section is missing, has an unknown format version, or is malformed;
            or the decoded program refers to something that does not exist.
    """
    for section in SECTION_ORDER:
        if section not in sections:
            _fail(name, f"it has no {section} section")
    functions = _decode_bytecode(_Reader(sections[BYTECODE_SECTION], BYTECODE_SECTION, name))
    _decode_lines(_Reader(sections[LINES_SECTION], LINES_SECTION, name), functions)
    _decode_vars(_Reader(sections[VARS_SECTION], VARS_SECTION, name), functions)
    types = _decode_types(_Reader(sections[TYPES_SECTION], TYPES_SECTION, name))
    sources = _decode_sources(_Reader(sections[SOURCES_SECTION], SOURCES_SECTION, name))
    program = _decode_meta(_Reader(sections[META_SECTION], META_SECTION, name),
                           functions, types, sources)
    verify_program(program, name)
    return program


def _fail(name: str, what: str, kind: str = ImageErrorKind.CORRUPTED) -> NoReturn:
    """Raise "'<name>' is corrupted: <what>."."""
    raise ImageError(f"'{name}' is corrupted: {what}.", name=name, kind=kind)


class _Reader:
    """A cursor over one section's bytes; every failure goes through `fail`."""

    def __init__(self, data: bytes, section: str, name: str) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.section = section
        self.name = name
        self.where = ""  # e.g. "function 3", for messages
        version = self.unpack(VERSION_FORMAT)[0]
        if version != SECTION_VERSIONS[section]:
            raise ImageError(
                f"'{name}' has {section} format version {version}, but this runtime reads "
                f"only version {SECTION_VERSIONS[section]} (rebuild it).",
                name=name, kind=ImageErrorKind.UNSUPPORTED)

    def fail(self, what: str) -> NoReturn:
        where = f" ({self.where})" if self.where else ""
        _fail(self.name, f"the {self.section} section{where} {what}")

    def unpack(self, fmt: str) -> tuple:
        return self._read(_S[fmt])

    def _read(self, s: struct.Struct) -> tuple:
        end = self.pos + s.size
        if end > len(self.data):
            self.fail("ends too early")
        values = s.unpack_from(self.data, self.pos)
        self.pos = end
        return values

    def u32(self, fmt: str = COUNT_FORMAT) -> int:
        return self.unpack(fmt)[0]

    def count(self, min_item_size: int) -> int:
        """An item count, checked against the bytes left (each item takes at least
        `min_item_size` bytes), so garbage never makes the decoder loop or allocate."""
        n = self.u32()
        if n * min_item_size > len(self.data) - self.pos:
            self.fail(f"claims {n} items but ends too early")
        return n

    def bool(self) -> bool:
        value = self.unpack(BOOL_FORMAT)[0]
        if value > 1:
            self.fail(f"has {value} where a flag must be 0 or 1")
        return value == 1

    def string(self) -> str:
        n = self.u32(STRING_LENGTH_FORMAT)
        end = self.pos + n
        if end > len(self.data):
            self.fail("ends too early")
        raw = self.data[self.pos:end]
        self.pos = end
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("holds a string that is not valid UTF-8")

    def operands(self, n: int) -> tuple[int, ...]:
        return self._read(_OPERANDS[n])

    def done(self) -> None:
        self.where = ""
        extra = len(self.data) - self.pos
        if extra:
            self.fail(f"has {extra} unexpected byte{'s' if extra != 1 else ''} at its end")


_STRING_MIN = struct.calcsize(STRING_LENGTH_FORMAT)


# -- .vyn.bytecode ---------------------------------------------------------------------------

def _decode_bytecode(r: _Reader) -> list[Function]:
    functions = []
    for index in range(r.count(2 * _STRING_MIN + struct.calcsize(FUNCTION_FORMAT) + 12)):
        r.where = f"function {index}"
        fn_name = r.string()
        file = r.string()
        line, col, end_line, nparams, nregs, ncaptures, flags, ret_type = r.unpack(
            FUNCTION_FORMAT)
        reg_types = [r.u32(REG_TYPE_FORMAT)
                     for _ in range(r.count(struct.calcsize(REG_TYPE_FORMAT)))]
        consts = [_decode_const(r) for _ in range(r.count(1))]
        code = []
        for pc in range(r.count(struct.calcsize(INSTRUCTION_FORMAT))):
            opcode, n = r.unpack(INSTRUCTION_FORMAT)
            if opcode >= len(OPCODES):
                _bad_instruction(r.name, index, pc, f"unknown opcode {opcode}")
            opname, spec, _ = OPCODES[opcode]
            if n != len(spec):
                _bad_instruction(r.name, index, pc,
                                 f"{opname} with {n} operands instead of {len(spec)}")
            code.append((opcode, *r.operands(n)))
        functions.append(Function(
            index=index, name=fn_name, file=file, line=line, col=col, end_line=end_line,
            nparams=nparams, nregs=nregs, code=code, consts=consts, reg_types=reg_types,
            ret_type=ret_type, ncaptures=ncaptures, flags=flags))
    r.done()
    return functions


def _decode_const(r: _Reader, depth: int = 0) -> object:
    tag = r.unpack(CONST_TAG_FORMAT)[0]
    if tag == CONST_INT:
        return r.unpack(CONST_INT_FORMAT)[0]
    if tag == CONST_FLOAT:
        return r.unpack(CONST_FLOAT_FORMAT)[0]
    if tag == CONST_STR:
        return r.string()
    if tag == CONST_BOOL:
        return r.bool()
    if tag == CONST_NONE:
        return None
    if tag == CONST_TUPLE:
        if depth >= MAX_CONST_DEPTH:
            r.fail(f"has tuple constants nested more than {MAX_CONST_DEPTH} deep")
        return tuple(_decode_const(r, depth + 1)
                     for _ in range(r.count(struct.calcsize(CONST_TAG_FORMAT))))
    r.fail(f"has a constant with unknown tag {tag}")


def _bad_instruction(name: str, index: int, pc: int, why: str) -> NoReturn:
    _fail(name, f"bad instruction at pc {pc} in function {index} ({why})")


# -- .vyn.lines and .vyn.vars ----------------------------------------------------------------

def _check_function_count(r: _Reader, functions: list[Function]) -> None:
    n = r.u32()
    if n != len(functions):
        r.fail(f"has tables for {n} functions, but {BYTECODE_SECTION} has {len(functions)}")


def _decode_lines(r: _Reader, functions: list[Function]) -> None:
    _check_function_count(r, functions)
    row_size = struct.calcsize(LINE_ROW_FORMAT)
    for fn in functions:
        r.where = f"function {fn.index}"
        rows = []
        for _ in range(r.count(row_size)):
            pc, line, col, is_stmt = r.unpack(LINE_ROW_FORMAT)
            if is_stmt > 1:
                r.fail(f"has {is_stmt} where a flag must be 0 or 1")
            rows.append(LineEntry(pc, line, col, is_stmt == 1))
        fn.lines = rows
    r.done()


def _decode_vars(r: _Reader, functions: list[Function]) -> None:
    _check_function_count(r, functions)
    row_size = struct.calcsize(VAR_ROW_FORMAT) + _STRING_MIN
    for fn in functions:
        r.where = f"function {fn.index}"
        rows = []
        for _ in range(r.count(row_size)):
            reg, type_id, start, end, kind, cell = r.unpack(VAR_ROW_FORMAT)
            if kind >= len(VAR_KINDS):
                r.fail(f"has a variable of unknown kind {kind}")
            if cell > 1:
                r.fail(f"has {cell} where a flag must be 0 or 1")
            rows.append(VarEntry(reg, r.string(), type_id, start, end, VAR_KINDS[kind],
                                 cell == 1))
        fn.vars = rows
    r.done()


# -- .vyn.types ------------------------------------------------------------------------------

def _decode_types(r: _Reader) -> list[TypeDesc]:
    types = []
    type_id_size = struct.calcsize(TYPE_ID_FORMAT)
    min_size = 2 * _STRING_MIN + struct.calcsize(TYPE_FORMAT) + 3 * 4 + 1
    for type_id in range(r.count(min_size)):
        r.where = f"type {type_id}"
        type_name = r.string()
        kind = r.string()
        elem, size, tag, parent, signed = r.unpack(TYPE_FORMAT)
        if signed > 1:
            r.fail(f"has {signed} where a flag must be 0 or 1")
        fields = []
        for _ in range(r.count(_STRING_MIN + type_id_size)):
            field_name = r.string()
            fields.append((field_name, r.u32(TYPE_ID_FORMAT)))
        variants = [r.u32(TYPE_ID_FORMAT) for _ in range(r.count(type_id_size))]
        methods: dict[str, int] = {}
        for _ in range(r.count(_STRING_MIN + struct.calcsize(FUNCTION_ID_FORMAT))):
            method = r.string()
            if method in methods:
                r.fail(f"lists method {method!r} twice")
            methods[method] = r.u32(FUNCTION_ID_FORMAT)
        heap = None
        if r.bool():
            heap_kind = r.u32(HEAP_KIND_FORMAT)
            slots = tuple(r.unpack(SLOT_KIND_FORMAT)[0]
                          for _ in range(r.count(struct.calcsize(SLOT_KIND_FORMAT))))
            heap = (heap_kind, slots)
        types.append(TypeDesc(id=type_id, name=type_name, kind=kind, elem=elem, size=size,
                              fields=fields, variants=variants, tag=tag, parent=parent,
                              methods=methods, heap=heap, signed=signed == 1))
    r.done()
    return types


# -- .vyn.sources and .vyn.meta --------------------------------------------------------------

def _decode_sources(r: _Reader) -> dict[str, str]:
    sources: dict[str, str] = {}
    for _ in range(r.count(2 * _STRING_MIN)):
        file = r.string()
        if file in sources:
            r.fail(f"holds the file {file!r} twice")
        sources[file] = r.string()
    r.done()
    return sources


def _decode_meta(r: _Reader, functions: list[Function], types: list[TypeDesc],
                 sources: dict[str, str]) -> Program:
    entry, init, version = r.unpack(META_FORMAT)
    globals_ = []
    for _ in range(r.count(_STRING_MIN + struct.calcsize(TYPE_ID_FORMAT))):
        global_name = r.string()
        globals_.append((global_name, r.u32(TYPE_ID_FORMAT)))
    builtins = [r.string() for _ in range(r.count(_STRING_MIN))]
    r.done()
    return Program(functions=functions, types=types, sources=sources, entry=entry, init=init,
                   globals=globals_, builtins=builtins, version=version)


# -- references ------------------------------------------------------------------------------

def verify_program(program: Program, name: str) -> None:
    """Check every cross reference in `program`: what makes it safe for the VM to run.

    Checks, per function: flags are known FN_* bits, nparams <= nregs, register types,
    the return type and every operand (registers < nregs, register ranges inside the frame,
    pc targets inside the code, constants, types, functions and globals in range, no
    BREAKPOINT); the line table's pcs are in order and inside the code; every variable's
    register (or capture), type and live range. Per type: element, parent, field, variant
    and method references, and the heap layout's TypeKind and SlotKinds. The entry and
    init functions and global types.

    Raises:
        ImageError: the first reference that points nowhere.
    """
    nfuncs, ntypes, nglobals = len(program.functions), len(program.types), len(program.globals)

    def fail(what: str) -> NoReturn:
        _fail(name, what)

    for fn in program.functions:
        where = f"function {fn.index}"
        if fn.flags & ~KNOWN_FUNCTION_FLAGS:
            fail(f"{where} has unknown flags {fn.flags:#x}")
        if fn.nparams > fn.nregs:
            fail(f"{where} has {fn.nparams} parameters but only {fn.nregs} registers")
        if fn.ret_type >= ntypes or any(t >= ntypes for t in fn.reg_types):
            fail(f"{where} refers to a type that does not exist")
        _verify_code(fn, len(fn.consts), ntypes, nfuncs, nglobals, name)
        ncode = len(fn.code)
        last_pc = 0
        for row in fn.lines:
            if row.pc < last_pc or row.pc > ncode:
                fail(f"the line table of {where} is out of order or outside the code")
            last_pc = row.pc
        for var in fn.vars:
            limit = fn.ncaptures if var.kind == "capture" else fn.nregs
            if (var.reg >= limit or var.type_id >= ntypes
                    or not var.start <= var.end <= ncode):
                fail(f"variable {var.name!r} of {where} refers to something that does not "
                     f"exist")
    for ty in program.types:
        refs = [ty.elem, ty.parent, *ty.variants, *(t for _, t in ty.fields)]
        if any(t >= ntypes for t in refs) or any(f >= nfuncs for f in ty.methods.values()):
            fail(f"type {ty.id} refers to a type or function that does not exist")
        if ty.heap is not None and (ty.heap[0] not in _TYPE_KINDS
                                    or any(k not in _SLOT_KINDS for k in ty.heap[1])):
            fail(f"type {ty.id} has a heap layout of unknown kind")
    for index in (program.entry, program.init):
        if not -1 <= index < nfuncs:
            fail(f"the program's entry or init function {index} does not exist")
    if any(t >= ntypes for _, t in program.globals):
        fail("a global refers to a type that does not exist")


def _verify_code(fn: Function, nconsts: int, ntypes: int, nfuncs: int, nglobals: int,
                 name: str) -> None:
    ncode, nregs = len(fn.code), fn.nregs
    for pc, (opcode, *operands) in enumerate(fn.code):
        # The decoder has checked opcodes and operand counts; a Program built in memory
        # has not.
        if not 0 <= opcode < len(OPCODES):
            _bad_instruction(name, fn.index, pc, f"unknown opcode {opcode}")
        opname, spec, _ = OPCODES[opcode]
        if len(operands) != len(spec):
            _bad_instruction(name, fn.index, pc,
                             f"{opname} with {len(operands)} operands instead of {len(spec)}")
        if opcode == _BREAKPOINT:
            _bad_instruction(name, fn.index, pc, "a debugger BREAKPOINT")
        for i, (kind, x) in enumerate(zip(spec, operands, strict=True)):
            if kind == "r":
                if spec[i + 1:i + 2] == "n":  # r[b .. b+n-1]: the range must fit the frame
                    ok = 0 <= x and x + operands[i + 1] <= nregs
                    what = f"registers r{x}..r{x + operands[i + 1] - 1} of {nregs}"
                else:
                    ok = 0 <= x < nregs
                    what = f"register r{x} of {nregs}"
            elif kind == "n":
                ok, what = x >= 0, f"count {x}"
            elif kind == "t":
                ok, what = 0 <= x < ncode, f"jump target {x} of {ncode} instructions"
            elif kind == "k":
                ok, what = 0 <= x < nconsts, f"constant {x} of {nconsts}"
            elif kind == "y":
                ok, what = 0 <= x < ntypes, f"type {x} of {ntypes}"
            elif kind == "f":
                ok, what = 0 <= x < nfuncs, f"function {x} of {nfuncs}"
            elif kind == "g":
                ok, what = 0 <= x < nglobals, f"global {x} of {nglobals}"
            else:  # "i": any i64 is a valid immediate
                continue
            if not ok:
                _bad_instruction(name, fn.index, pc, f"{opname}: {what}")
