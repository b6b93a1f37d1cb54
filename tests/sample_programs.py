"""Hand-made compiled Programs for the serializer, loader, disassembler and CLI tests.

Built instruction by instruction, as the compiler would lower them, so these tests need
neither the lowering nor the VM.
"""

from __future__ import annotations

from compiler import bytecode as bc
from compiler.bytecode import (
    FN_LAMBDA,
    FN_METHOD,
    K_FLOAT,
    Function,
    LineEntry,
    Program,
    TypeDesc,
    VarEntry,
)
from runtime.heap_layout import SlotKind, TypeKind

FIB_SOURCE = """\
fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  let n = 27
  println("{}", fib(n))
  let scale = fn(x: Float) -> Float { x * 2.5 }
  println("{}", scale(1.0))
}
"""

# Type ids.
T_NONE, T_INT, T_FLOAT, T_BOOL, T_STRING, T_UNIT, T_VEC_INT, T_POINT, T_OPTION, T_SOME, \
    T_NONE_VARIANT, T_CLOSURE = range(12)


def sample_types() -> list[TypeDesc]:
    return [
        TypeDesc(0, "", "never"),
        TypeDesc(T_INT, "Int", "int", size=64),
        TypeDesc(T_FLOAT, "Float", "float"),
        TypeDesc(T_BOOL, "Bool", "bool"),
        TypeDesc(T_STRING, "String", "string", heap=(TypeKind.BYTES, ())),
        TypeDesc(T_UNIT, "()", "unit"),
        TypeDesc(T_VEC_INT, "Vec<Int>", "vec", elem=T_INT,
                 heap=(TypeKind.RECORD, (SlotKind.INT, SlotKind.PTR))),
        TypeDesc(T_POINT, "Point", "struct", fields=[("x", T_FLOAT), ("y", T_FLOAT)],
                 methods={"norm": 3}, heap=(TypeKind.RECORD, (SlotKind.FLOAT, SlotKind.FLOAT))),
        TypeDesc(T_OPTION, "Option<Int>", "enum", variants=[T_SOME, T_NONE_VARIANT]),
        TypeDesc(T_SOME, "Some", "variant", fields=[("0", T_INT)], tag=0, parent=T_OPTION,
                 heap=(TypeKind.RECORD, (SlotKind.INT,))),
        TypeDesc(T_NONE_VARIANT, "None", "variant", tag=1, parent=T_OPTION,
                 heap=(TypeKind.RECORD, ())),
        TypeDesc(T_CLOSURE, "fn(Float) -> Float", "closure", signed=False),
    ]


def sample_program() -> Program:
    """fib, main, a lambda and a method: every section and constant kind has rows."""
    op = bc.OPNAMES.index
    main = Function(
        index=0, name="main", file="fib.vyn", line=8, col=1, end_line=13, nparams=0, nregs=6,
        code=[
            (op("LOADK"), 0, 0),                 # 0  let n = 27
            (op("CALL"), 1, 1, 0, 1),            # 1  fib(n)
            (op("PRINT"), 1, 1, 1, 2, 1),        # 2  println("{}", ...)
            (op("CLOSURE"), 2, 2, 0, 0, T_CLOSURE),  # 3  let scale = fn ...
            (op("LOADK"), 3, 3),                 # 4  1.0
            (op("CALLV"), 4, 2, 3, 1, T_FLOAT),  # 5  scale(1.0)
            (op("PRINT"), 1, 4, 1, 4, 1),        # 6  println("{}", ...)
            (op("LOADK"), 5, 5),                 # 7  ()
            (op("RET"), 5),                      # 8
        ],
        consts=[27, "{}\n", (T_INT,), 1.0, (T_FLOAT,), None],
        lines=[LineEntry(0, 9, 3, True), LineEntry(1, 10, 17, True), LineEntry(2, 10, 3, False),
               LineEntry(3, 11, 3, True), LineEntry(4, 12, 17, True),
               LineEntry(6, 12, 3, False), LineEntry(7, 13, 1, True)],
        vars=[VarEntry(0, "n", T_INT, 1, 9), VarEntry(2, "scale", T_CLOSURE, 4, 9)],
        reg_types=[T_INT, T_INT, T_CLOSURE, T_FLOAT, T_FLOAT, T_UNIT],
        ret_type=T_UNIT,
    )
    fib = Function(
        index=1, name="fib", file="fib.vyn", line=1, col=1, end_line=6, nparams=1, nregs=4,
        code=[
            (op("JGEK"), 0, 2, 2),               # 0  if n < 2
            (op("RET"), 0),                      # 1  return n
            (op("SUBK"), 1, 0, 1),               # 2  n - 1
            (op("CALL"), 1, 1, 1, 1),            # 3  fib(n - 1)
            (op("SUBK"), 2, 0, 2),               # 4  n - 2
            (op("CALL"), 2, 1, 2, 1),            # 5  fib(n - 2)
            (op("ADD"), 3, 1, 2),                # 6  +
            (op("RET"), 3),                      # 7  return
        ],
        lines=[LineEntry(0, 2, 3, True), LineEntry(1, 3, 5, True), LineEntry(2, 5, 10, True),
               LineEntry(4, 5, 23, False), LineEntry(6, 5, 10, False),
               LineEntry(7, 5, 3, False)],
        vars=[VarEntry(0, "n", T_INT, 0, 8, kind="param")],
        reg_types=[T_INT, T_INT, T_INT, T_INT],
        ret_type=T_INT,
    )
    scale = Function(
        index=2, name="<lambda>", file="fib.vyn", line=11, col=15, end_line=11, nparams=1,
        nregs=2,
        code=[
            (op("LOADK"), 1, 0),                 # 0  2.5
            (op("FMUL"), 1, 0, 1),               # 1  x * 2.5
            (op("RET"), 1),                      # 2
        ],
        consts=[2.5],
        lines=[LineEntry(0, 11, 37, True)],
        vars=[VarEntry(0, "x", T_FLOAT, 0, 3, kind="param")],
        reg_types=[T_FLOAT, T_FLOAT],
        ret_type=T_FLOAT,
        flags=FN_LAMBDA,
    )
    norm = Function(
        index=3, name="Point.norm", file="fib.vyn", line=0, col=0, end_line=0, nparams=1,
        nregs=3,
        code=[
            (op("GETF"), 1, 0, 0, K_FLOAT),      # 0  self.x
            (op("LOADCAP"), 2, 0),               # 1  a capture
            (op("JMP"), 3),                      # 2
            (op("UNSUPPORTED"), 0),              # 3
        ],
        consts=["sqrt", -(2**63), 2**63 - 1, True, False, "quote \" and é \U0001f4a1", (),
                float("-inf"), -0.0],
        vars=[VarEntry(0, "self", T_POINT, 0, 4, kind="param"),
              VarEntry(0, "k", T_INT, 0, 4, kind="capture", cell=True)],
        reg_types=[T_POINT, T_FLOAT, T_INT],
        ret_type=T_FLOAT,
        ncaptures=1,
        flags=FN_METHOD,
    )
    return Program(functions=[main, fib, scale, norm], types=sample_types(),
                   sources={"fib.vyn": FIB_SOURCE, "empty.vyn": ""}, entry=0, init=-1,
                   globals=[("LIMIT", T_INT), ("names", T_VEC_INT)],
                   builtins=["println", "len"], version=1)
