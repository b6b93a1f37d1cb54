"""The on-disk encoding of a compiled Program: section names, versions and struct formats.

Shared by the encoder (`compiler/serialize.py`) and the decoder (`runtime/loader.py`);
docs/bytecode.md ("On disk") specifies the same layouts in tables. Every integer is
little-endian and unaligned (struct formats start with `<`). Every section starts with its
own u32 format version, so one payload can change without touching the others.

Primitive encodings used throughout:
    count   u32 (COUNT_FORMAT): the number of items that follow.
    string  u32 byte length, then that many bytes of UTF-8 (no terminator).
    bool    u8, exactly 0 or 1.
"""

from __future__ import annotations

from compiler import bytecode

# -- sections ----------------------------------------------------------------------------------

BYTECODE_SECTION = ".vyn.bytecode"
LINES_SECTION = ".vyn.lines"
VARS_SECTION = ".vyn.vars"
TYPES_SECTION = ".vyn.types"
SOURCES_SECTION = ".vyn.sources"
META_SECTION = ".vyn.meta"

#: Section name -> the format version this toolchain writes and reads. Bump a section's
#: version whenever an old reader would misread the new bytes.
SECTION_VERSIONS: dict[str, int] = {
    BYTECODE_SECTION: 2,        # 2: CALLV and CALLM name their result's type
    LINES_SECTION: 1,
    VARS_SECTION: 1,
    TYPES_SECTION: 1,
    SOURCES_SECTION: 1,
    META_SECTION: 1,
}

#: The order `program_to_sections` emits them in (and the image header lists them in).
SECTION_ORDER: tuple[str, ...] = tuple(SECTION_VERSIONS)

# -- primitives --------------------------------------------------------------------------------

VERSION_FORMAT = "<I"        # u32 section format version, first in every section
COUNT_FORMAT = "<I"          # u32 item count
STRING_LENGTH_FORMAT = "<I"  # u32 byte length of the UTF-8 that follows
BOOL_FORMAT = "<B"           # u8, 0 or 1

U32_MAX = 0xFFFF_FFFF
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

# -- .vyn.bytecode -----------------------------------------------------------------------------
# version, function count, then per function:
#   string name, string file, FUNCTION_FORMAT,
#   count + REG_TYPE_FORMAT per register type,
#   count + constants (CONST_TAG_FORMAT then the tag's payload),
#   count + instructions (INSTRUCTION_FORMAT then operand-count * OPERAND_FORMAT).

#: line, col, end_line, nparams, nregs, ncaptures, flags, ret_type (all u32).
FUNCTION_FORMAT = "<IIIIIIII"
REG_TYPE_FORMAT = "<I"       # a type id
INSTRUCTION_FORMAT = "<HB"   # u16 opcode (index into OPNAMES), u8 operand count
OPERAND_FORMAT = "<q"        # i64: register, immediate, pc target, constant index, ...

CONST_TAG_FORMAT = "<B"
CONST_INT = 0        # i64 (CONST_INT_FORMAT)
CONST_FLOAT = 1      # f64 (CONST_FLOAT_FORMAT), bit for bit
CONST_STR = 2        # string
CONST_BOOL = 3       # bool
CONST_NONE = 4       # nothing follows
CONST_TUPLE = 5      # count, then count tagged constants (type id lists, DBG's (where, text))
CONST_INT_FORMAT = "<q"
CONST_FLOAT_FORMAT = "<d"
CONST_TAG_NAMES = {
    CONST_INT: "int",
    CONST_FLOAT: "float",
    CONST_STR: "str",
    CONST_BOOL: "bool",
    CONST_NONE: "none",
    CONST_TUPLE: "tuple",
}
#: How deep tuples may nest inside one constant (a plain tuple is depth 1).
MAX_CONST_DEPTH = 8

# -- .vyn.lines --------------------------------------------------------------------------------
# version, function count (equal to .vyn.bytecode's), then per function: count + rows.

LINE_ROW_FORMAT = "<IIIB"    # pc, line, col (u32), is_stmt (bool)

# -- .vyn.vars ---------------------------------------------------------------------------------
# version, function count (equal to .vyn.bytecode's), then per function: count + rows, each
# VAR_ROW_FORMAT followed by the string name.

VAR_ROW_FORMAT = "<IIIIBB"   # reg, type_id, start, end (u32), kind (VAR_KINDS index), cell
VAR_KINDS: tuple[str, ...] = ("param", "local", "capture")

# -- .vyn.types --------------------------------------------------------------------------------
# version, type count, then per type (its id is its position):
#   string name, string kind, TYPE_FORMAT,
#   count + fields (string name, TYPE_ID_FORMAT),
#   count + variants (TYPE_ID_FORMAT each),
#   count + methods (string name, FUNCTION_ID_FORMAT),
#   bool "has heap layout", and if 1: HEAP_KIND_FORMAT, count + SLOT_KIND_FORMAT per slot.

TYPE_FORMAT = "<IIIIB"       # elem, size, tag, parent (u32), signed (bool)
TYPE_ID_FORMAT = "<I"
FUNCTION_ID_FORMAT = "<I"
HEAP_KIND_FORMAT = "<I"      # a TypeKind (runtime/heap_layout.py): record, array, bytes
SLOT_KIND_FORMAT = "<B"      # a SlotKind (runtime/heap_layout.py): int, float, ptr, bytes

# -- .vyn.sources ------------------------------------------------------------------------------
# version, file count, then per file: string name, string text.

# -- .vyn.meta ---------------------------------------------------------------------------------
# version, META_FORMAT, count + globals (string name, TYPE_ID_FORMAT), count + builtin names.

META_FORMAT = "<iiI"         # entry, init (function index or -1), program version (u32)

# -- derived -----------------------------------------------------------------------------------

#: Every FN_* bit compiler/bytecode.py defines; a reader rejects any other bit.
KNOWN_FUNCTION_FLAGS = 0
for _name, _value in vars(bytecode).items():
    if _name.startswith("FN_") and isinstance(_value, int):
        KNOWN_FUNCTION_FLAGS |= _value
del _name, _value
