"""The bytecode: register-based, typed instructions plus the tables a debugger needs.

A function's code is a list of instructions; an instruction is a tuple `(opcode, *operands)`
whose operands are register numbers, immediates, pc targets or constant-pool indices as
each opcode's row in OPCODES says. `docs/bytecode.md` documents every opcode. In memory the
loader "links" a function (constant indices become the constants themselves); on disk
(`serialize.py`) operands are indices.

Value kinds (how a register or heap slot holds a value): K_INT (Int, narrow ints, Char,
Rune), K_FLOAT, K_BOOL, K_PTR (address of a heap object: String, Vec, class, enum, tuple,
array, closure, cell; 0 is null), K_UNIT.
"""

from __future__ import annotations

from collections import namedtuple

K_INT, K_FLOAT, K_PTR, K_BOOL, K_UNIT = 0, 1, 2, 3, 4
KIND_NAMES = {K_INT: "int", K_FLOAT: "float", K_PTR: "ptr", K_BOOL: "bool", K_UNIT: "unit"}

# Operand kinds: r = register, i = immediate int, k = constant index, t = pc target,
# y = type id, f = function index, n = count, g = global index.
OPCODES: list[tuple[str, str, str]] = [
    # name, operands, summary
    ("NOP", "", "do nothing"),
    ("MOV", "rr", "r[a] = r[b]"),
    ("LOADK", "rk", "r[a] = const[k]"),
    ("ADD", "rrr", "r[a] = r[b] + r[c] (Int, wrapping)"),
    ("SUB", "rrr", "r[a] = r[b] - r[c] (Int, wrapping)"),
    ("MUL", "rrr", "r[a] = r[b] * r[c] (Int, wrapping)"),
    ("DIV", "rrr", "r[a] = r[b] / r[c] (Int, truncating; panics on zero)"),
    ("MOD", "rrr", "r[a] = r[b] % r[c] (Int, sign of dividend; panics on zero)"),
    ("ADDK", "rri", "r[a] = r[b] + imm (Int, wrapping)"),
    ("SUBK", "rri", "r[a] = r[b] - imm (Int, wrapping)"),
    ("NEG", "rr", "r[a] = -r[b] (Int, wrapping)"),
    ("FADD", "rrr", "r[a] = r[b] + r[c] (Float)"),
    ("FSUB", "rrr", "r[a] = r[b] - r[c] (Float)"),
    ("FMUL", "rrr", "r[a] = r[b] * r[c] (Float)"),
    ("FDIV", "rrr", "r[a] = r[b] / r[c] (Float, IEEE)"),
    ("FMOD", "rrr", "r[a] = r[b] % r[c] (Float, sign of dividend)"),
    ("FNEG", "rr", "r[a] = -r[b] (Float)"),
    ("BAND", "rrr", "r[a] = r[b] & r[c]"),
    ("BOR", "rrr", "r[a] = r[b] | r[c]"),
    ("BXOR", "rrr", "r[a] = r[b] ^ r[c]"),
    ("SHL", "rrr", "r[a] = r[b] << r[c] (wrapping)"),
    ("SHR", "rrr", "r[a] = r[b] >> r[c] (arithmetic)"),
    ("BNOT", "rr", "r[a] = ~r[b]"),
    ("NOT", "rr", "r[a] = not r[b] (Bool)"),
    ("WRAP", "rri", "r[a] = r[b] wrapped to a narrow int type (imm: bits, negative = signed)"),
    ("EQ", "rrr", "r[a] = r[b] == r[c] (unboxed values)"),
    ("NE", "rrr", "r[a] = r[b] != r[c]"),
    ("LT", "rrr", "r[a] = r[b] < r[c]"),
    ("LE", "rrr", "r[a] = r[b] <= r[c]"),
    ("GT", "rrr", "r[a] = r[b] > r[c]"),
    ("GE", "rrr", "r[a] = r[b] >= r[c]"),
    ("VEQ", "rrry", "r[a] = r[b] == r[c] structurally for heap values of type y"),
    ("VCMP", "rrriy", "r[a] = compare(r[b], r[c]) op imm (0 <, 1 <=, 2 >, 3 >=) for type y"),
    ("SCAT", "rrr", "r[a] = String r[b] + r[c] (new string)"),
    ("JMP", "t", "pc = t"),
    ("JT", "rt", "if r[a]: pc = t"),
    ("JF", "rt", "if not r[a]: pc = t"),
    ("JLT", "rrt", "if r[a] < r[b]: pc = t"),
    ("JLE", "rrt", "if r[a] <= r[b]: pc = t"),
    ("JGT", "rrt", "if r[a] > r[b]: pc = t"),
    ("JGE", "rrt", "if r[a] >= r[b]: pc = t"),
    ("JEQ", "rrt", "if r[a] == r[b]: pc = t"),
    ("JNE", "rrt", "if r[a] != r[b]: pc = t"),
    ("JLTK", "rit", "if r[a] < imm: pc = t"),
    ("JGEK", "rit", "if r[a] >= imm: pc = t"),
    ("CALL", "rfrn", "r[a] = functions[f](r[b], ..., r[b+n-1])"),
    ("CALLV", "rrrny", "r[a] = closure r[b] called with r[c .. c+n-1] (its result: type y)"),
    ("CALLM", "rkrny", "r[a] = method const[k] of the class of r[c], called with r[c .. c+n-1] "
                       "(its result: type y)"),
    ("CALLB", "rkrny", "r[a] = builtin const[k] (r[c .. c+n-1]); y: the receiver's type"),
    ("RET", "r", "return r[a]"),
    ("CLOSURE", "rfrny", "r[a] = new closure (type y) of function f capturing r[b .. b+n-1]"),
    ("LOADCAP", "ri", "r[a] = capture imm of the running closure"),
    ("LOADENV", "r", "r[a] = the running closure itself"),
    ("CELLNEW", "rry", "r[a] = new cell (type y) holding r[b]"),
    ("CELLGET", "rr", "r[a] = contents of cell r[b]"),
    ("CELLSET", "rr", "cell r[a] = r[b]"),
    ("NEW", "ryrn", "r[a] = new record of type y with slots r[b .. b+n-1]"),
    ("GETF", "rrii", "r[a] = slot imm1 of object r[b] read as kind imm2"),
    ("SETF", "riri", "slot imm of object r[a] = r[c] stored as kind imm2"),
    ("TAG", "rr", "r[a] = variant tag of enum object r[b]"),
    ("VECNEW", "ryrn", "r[a] = new Vec (type y) of r[b .. b+n-1]"),
    ("INDEX", "rrry", "r[a] = r[b][r[c]] (Vec, array, String or Bytes of type y; bounds-checked)"),
    ("SETINDEX", "rrry", "r[a][r[b]] = r[c] (Vec or array of type y; bounds-checked)"),
    ("ARRNEW", "ryrn", "r[a] = new fixed array (type y) of r[b .. b+n-1]"),
    ("ITER", "rry", "r[a] = iteration state over r[b] (range, Vec, array, String of type y)"),
    ("NEXT", "rrt", "r[a] = next item of iterator r[b], or pc = t when done"),
    ("RANGE", "rrri", "r[a] = range r[b]..r[c] (imm 1: inclusive)"),
    ("CAST", "rrii", "r[a] = r[b] converted from kind-code imm1 to kind-code imm2"),
    ("GGET", "rg", "r[a] = global g"),
    ("GSET", "gr", "global g = r[b]"),
    ("PRINT", "krnki", "print(format const[k], r[b .. b+n-1] of types const[k2]); imm: flags"),
    ("DBG", "rky", "write `[file:line:col] text = value` of r[a] (type y) to stderr"),
    ("TOSTR", "rry", "r[a] = the text of r[b] (type y) as println prints it"),
    ("PANIC", "r", "panic with message r[a] (a String)"),
    ("PANICK", "k", "panic with message const[k]"),
    ("FREE", "r", "release the heap object r[a] at once"),
    ("REGION", "r", "r[a] = enter a new scoped region"),
    ("ENDREGION", "r", "exit scoped region r[a], releasing its objects"),
    ("SAFEPOINT", "", "the collector may run here"),
    ("UNSUPPORTED", "k", "stop: the feature const[k] is not supported yet"),
    ("BREAKPOINT", "i", "debugger trap; imm is the breakpoint's slot (never in an image)"),
    ("REFNEW", "rr", "r[a] = r[b] made reference-counted (ref<T>) if it was not"),
    ("RCHOLD", "ri", "the ref<T> in slot imm of r[a] (just constructed) is counted: count + 1"),
    ("RCSETF", "rir", "r[a].slot[imm] = r[c], a ref<T> field: new count + 1, old count - 1"),
    ("RCGSET", "gr", "global g = r[b], a ref<T> global: new count + 1, old count - 1"),
]

OPNAMES = [row[0] for row in OPCODES]
OPERANDS = {row[0]: row[1] for row in OPCODES}
for _i, _name in enumerate(OPNAMES):
    globals()[_name] = _i
del _i, _name


class LineEntry(namedtuple("LineEntry", "pc line col is_stmt")):
    """pc -> source position; `is_stmt` marks the first instruction of a statement (as
    DWARF's is_stmt): where a line breakpoint or a `next` stops."""

    __slots__ = ()


class VarEntry(namedtuple("VarEntry", "reg name type_id start end kind cell",
                          defaults=("local", False))):
    """A named register `reg` over the pc range [start, end): its `name`, `type_id`,
    `kind` ("param" | "local" | "capture": then `reg` is the capture index) and `cell`
    (the register holds a cell; the value is inside it)."""

    __slots__ = ()


# Function, TypeDesc and Program are plain classes, not dataclasses: `vyn run` loads them
# at every start, and importing dataclasses (with inspect) costs about 8 ms there. They
# compare and print as dataclasses would: field by field.

def _fields_equal(a, b) -> bool:
    if a.__class__ is not b.__class__:
        return NotImplemented
    return all(getattr(a, n) == getattr(b, n) for n in a._FIELDS)


def _fields_repr(obj) -> str:
    inner = ", ".join(f"{n}={getattr(obj, n)!r}" for n in obj._FIELDS)
    return f"{obj.__class__.__name__}({inner})"


class Function:
    """One compiled function instance: `code` (instruction tuples), `consts`, the line
    and variable tables (`lines`, `vars`), a type id per register (`reg_types`, 0:
    unknown), `ret_type`, `ncaptures` and `flags` (FN_* bits)."""

    _FIELDS = ("index", "name", "file", "line", "col", "end_line", "nparams", "nregs",
               "code", "consts", "lines", "vars", "reg_types", "ret_type", "ncaptures",
               "flags")

    def __init__(self, index: int, name: str, file: str, line: int, col: int,
                 end_line: int, nparams: int, nregs: int, code: list[tuple] | None = None,
                 consts: list[object] | None = None, lines: list[LineEntry] | None = None,
                 vars: list[VarEntry] | None = None, reg_types: list[int] | None = None,
                 ret_type: int = 0, ncaptures: int = 0, flags: int = 0) -> None:
        self.index = index
        self.name = name
        self.file = file
        self.line = line
        self.col = col
        self.end_line = end_line
        self.nparams = nparams
        self.nregs = nregs
        self.code: list[tuple] = [] if code is None else code
        self.consts: list[object] = [] if consts is None else consts
        self.lines: list[LineEntry] = [] if lines is None else lines
        self.vars: list[VarEntry] = [] if vars is None else vars
        self.reg_types: list[int] = [] if reg_types is None else reg_types
        self.ret_type = ret_type
        self.ncaptures = ncaptures
        self.flags = flags

    __eq__ = _fields_equal
    __repr__ = _fields_repr

    def line_at(self, pc: int) -> LineEntry | None:
        """The line-table row covering `pc` (the last row with row.pc <= pc)."""
        best = None
        for row in self.lines:
            if row.pc > pc:
                break
            best = row
        return best


FN_ASYNC = 1
FN_LAMBDA = 2
FN_METHOD = 4
FN_EXTERN = 8
FN_TEST = 16


class TypeDesc:
    """A runtime type: how to print, compare and walk values of it.

    kind: int, float, bool, char, rune, string, bytes, unit, never, range, vec, vecdata,
    array, tuple, struct, enum, variant, closure, cell, fn, opaque.
    elem: vec, vecdata, array, cell, ref; size: array length, int bits; fields: (name,
    type id) of a struct, tuple or variant; variants: an enum's variants' type ids; tag,
    parent: a variant's tag and enum; methods: a struct's vtable (name -> function);
    heap: (heap TypeKind, slot kinds) if allocated.
    """

    _FIELDS = ("id", "name", "kind", "elem", "size", "fields", "variants", "tag", "parent",
               "methods", "heap", "signed")

    def __init__(self, id: int, name: str, kind: str, elem: int = 0, size: int = 0,
                 fields: list[tuple[str, int]] | None = None, variants: list[int] | None = None,
                 tag: int = 0, parent: int = 0, methods: dict[str, int] | None = None,
                 heap: tuple[int, tuple[int, ...]] | None = None, signed: bool = True) -> None:
        self.id = id
        self.name = name
        self.kind = kind
        self.elem = elem
        self.size = size
        self.fields: list[tuple[str, int]] = [] if fields is None else fields
        self.variants: list[int] = [] if variants is None else variants
        self.tag = tag
        self.parent = parent
        self.methods: dict[str, int] = {} if methods is None else methods
        self.heap = heap
        self.signed = signed

    __eq__ = _fields_equal
    __repr__ = _fields_repr


class Program:
    """A whole compiled program: what an image holds and the VM runs. `types`: index =
    type id, 0 a placeholder; `sources`: file name -> text; `entry`, `init`: the indexes
    of main and of the globals initializer (-1: none); `globals`: (name, type id)."""

    _FIELDS = ("functions", "types", "sources", "entry", "init", "globals", "builtins",
               "version")

    def __init__(self, functions: list[Function], types: list[TypeDesc],
                 sources: dict[str, str], entry: int, init: int = -1,
                 globals: list[tuple[str, int]] | None = None,
                 builtins: list[str] | None = None, version: int = 1) -> None:
        self.functions = functions
        self.types = types
        self.sources = sources
        self.entry = entry
        self.init = init
        self.globals: list[tuple[str, int]] = [] if globals is None else globals
        self.builtins: list[str] = [] if builtins is None else builtins
        self.version = version

    __eq__ = _fields_equal
    __repr__ = _fields_repr

    def function(self, name: str) -> Function | None:
        for f in self.functions:
            if f.name == name:
                return f
        return None
