"""Debug information for the native backend, built in one place (docs/native.md, "DWARF").

`DIBuilder` writes LLVM debug metadata as text (llvmlite's IR builder has no DIBuilder;
textual metadata parsed by `llvm.parse_assembly` is what FIELD-NOTES recommends). Its
do-nothing twin `NullDIBuilder` has the same methods and returns empty strings, so the
code generator (`compiler/native.py`) asks for debug information unconditionally and a
build without DWARF costs nothing (as numba's `debuginfo.py` pairs `DIBuilder` with
`DummyDIBuilder`).

What it describes:
- one compile unit per module (DWARF 4, `nameTableKind: None` so that llvm-dwarfdump 14
  verifies it), one file per Vyn source file;
- one subprogram per compiled function, named with its Vyn name (the ELF symbol is
  `vyn.fn.N`);
- a location per native instruction, from the bytecode line table;
- every variable of the variable table as a DWARF variable on its register's stack slot,
  with a real type: `Int` and narrow ints as signed or unsigned 64-bit base types, `Float`,
  `Bool`, `Char`/`Rune` as UTF characters, `String` and every heap type as a pointer to a
  structure that starts with the 16-byte object header (docs/heap.md) and then has one
  member per slot (a class's fields by name).
"""

from __future__ import annotations

import os

from compiler.bytecode import Program, TypeDesc

HEADER_MEMBERS = (("type_id", 0), ("flags", 32), ("size", 64), ("aux", 96))


def _md_string(text: str) -> str:
    out = []
    for ch in text:
        if 0x20 <= ord(ch) < 0x7F and ch not in '"\\':
            out.append(ch)
        else:
            out.extend(f"\\{b:02X}" for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


class NullDIBuilder:
    """The do-nothing twin: every method returns '' (no metadata, no `!dbg`)."""

    enabled = False

    def __init__(self, *args, **kwargs) -> None:
        pass

    def subprogram(self, fn, symbol: str) -> str:
        return ""

    def location(self, line: int, col: int, scope: str, discriminator: int = 0) -> str:
        return ""

    def variable(self, fn, scope: str, var, arg: int) -> str:
        return ""

    def closure_variable(self, fn, scope: str) -> str:
        return ""

    def finish(self) -> str:
        return ""

    def module_flags(self) -> list[str]:
        return []


class DIBuilder:
    """Collects metadata nodes; `finish()` returns them as IR text.

    Node references are strings such as `!7`; `dbg(...)` helpers return the `, !dbg !N`
    suffix an instruction carries.
    """

    enabled = True

    def __init__(self, program: Program, *, optimized: bool, directory: str | None = None):
        self.program = program
        self.nodes: list[str] = []
        self.directory = directory or os.getcwd()
        self._files: dict[str, str] = {}
        self._types: dict[int, str] = {}
        self._locs: dict[tuple[int, int, str, int], str] = {}
        self._scope_files: dict[str, str] = {}     # subprogram -> its file
        self._blocks: dict[tuple[str, int], str] = {}   # (subprogram, discriminator)
        main_file = next((f.file for f in program.functions if f.file), "<vyn>")
        self.file0 = self.file(main_file)
        self.cu = self._node(
            f"distinct !DICompileUnit(language: DW_LANG_C, file: {self.file0}, "
            f'producer: "vyn", isOptimized: {"true" if optimized else "false"}, '
            f"runtimeVersion: 0, emissionKind: FullDebug, nameTableKind: None)")
        self._empty = self._node("!{}")
        self._header_members: list[str] | None = None

    # -- nodes ---------------------------------------------------------------------------

    def _node(self, text: str) -> str:
        ref = f"!{len(self.nodes)}"
        self.nodes.append(text)
        return ref

    def _reserve(self) -> int:
        self.nodes.append("")
        return len(self.nodes) - 1

    def file(self, name: str) -> str:
        ref = self._files.get(name)
        if ref is None:
            directory, base = os.path.split(name)
            directory = os.path.join(self.directory, directory) if directory else self.directory
            if os.path.isabs(name):
                directory = os.path.dirname(name)
            ref = self._node(f"!DIFile(filename: {_md_string(base or name)}, "
                             f"directory: {_md_string(directory)})")
            self._files[name] = ref
        return ref

    # -- types ---------------------------------------------------------------------------

    def _basic(self, name: str, size: int, encoding: str) -> str:
        return self._node(f"!DIBasicType(name: {_md_string(name)}, size: {size}, "
                          f"encoding: {encoding})")

    def type_ref(self, tid: int) -> str:
        """The DWARF type of a register holding a value of type id `tid`."""
        ref = self._types.get(tid)
        if ref is not None:
            return ref
        types = self.program.types
        d = types[tid] if 0 <= tid < len(types) else None
        if d is None or d.kind in ("unit", "never") or tid == 0:
            ref = self._basic(d.name if d is not None and tid else "()", 8, "DW_ATE_unsigned")
        elif d.kind == "int":
            enc = "DW_ATE_signed" if d.signed else "DW_ATE_unsigned"
            ref = self._basic(d.name, 64, enc)
        elif d.kind == "float":
            ref = self._basic(d.name, 64, "DW_ATE_float")
        elif d.kind == "bool":
            ref = self._basic(d.name, 8, "DW_ATE_boolean")
        elif d.kind in ("char", "rune"):
            ref = self._basic(d.name, 32, "DW_ATE_UTF")
        else:
            ref = self._pointer_to_object(d)
        self._types[tid] = ref
        return ref

    def _header(self) -> list[str]:
        if self._header_members is None:
            u32 = self._basic("u32", 32, "DW_ATE_unsigned")
            self._header_members = [u32]
        return self._header_members

    def _pointer_to_object(self, d: TypeDesc) -> str:
        """A pointer to a structure: the object header, then one member per slot."""
        u32 = self._header()[0]
        pointer_index = self._reserve()
        pointer = f"!{pointer_index}"
        self._types[d.id] = pointer          # recursive types refer to the pointer
        struct_index = self._reserve()
        struct = f"!{struct_index}"
        members = [self._node(f"!DIDerivedType(tag: DW_TAG_member, name: \"{name}\", "
                              f"scope: {struct}, baseType: {u32}, size: 32, offset: {off})")
                   for name, off in HEADER_MEMBERS]
        fields: list[tuple[str, int]] = []
        if d.kind in ("struct", "tuple", "variant"):
            fields = [(name or f"_{i}", ftid) for i, (name, ftid) in enumerate(d.fields)]
            if d.kind == "variant":
                fields = [("tag", 1)] + fields
        elif d.kind == "enum":
            fields = [("tag", 1)]
        elif d.kind == "vec":
            fields = [("len", 1)]
        elif d.kind in ("string", "bytes"):
            fields = [("len", 1)]
        elif d.kind == "cell":
            fields = [("value", d.elem)]
        elif d.kind == "range":
            fields = [("start", 1), ("end", 1), ("inclusive", 1)]
        for i, (name, ftid) in enumerate(fields):
            ftype = self.type_ref(ftid)
            members.append(self._node(
                f"!DIDerivedType(tag: DW_TAG_member, name: {_md_string(name)}, "
                f"scope: {struct}, baseType: {ftype}, size: 64, offset: {128 + 64 * i})"))
        if d.kind == "vec":
            data = self._node("!DIDerivedType(tag: DW_TAG_pointer_type, baseType: null, "
                              "size: 64)")
            members.append(self._node(
                f'!DIDerivedType(tag: DW_TAG_member, name: "data", scope: {struct}, '
                f"baseType: {data}, size: 64, offset: 192)"))
        size = 128 + 64 * (len(fields) + (1 if d.kind == "vec" else 0))
        elements = self._node("!{" + ", ".join(members) + "}")
        self.nodes[struct_index] = (
            f"distinct !DICompositeType(tag: DW_TAG_structure_type, name: {_md_string(d.name)}, "
            f"file: {self.file0}, size: {size}, elements: {elements})")
        self.nodes[pointer_index] = (
            f"!DIDerivedType(tag: DW_TAG_pointer_type, baseType: {struct}, size: 64)")
        return pointer

    # -- functions -----------------------------------------------------------------------

    def subprogram(self, fn, symbol: str) -> str:
        file = self.file(fn.file or "<vyn>")
        ret = self.type_ref(fn.ret_type) if fn.ret_type else "null"
        params = [self.type_ref(fn.reg_types[r] if r < len(fn.reg_types) else 0)
                  for r in range(fn.nparams)]
        types = self._node("!{" + ", ".join([ret, *params]) + "}")
        sub_type = self._node(f"!DISubroutineType(types: {types})")
        ref = self._node(
            f"distinct !DISubprogram(name: {_md_string(fn.name)}, scope: {file}, file: {file}, "
            f"line: {max(fn.line, 1)}, type: {sub_type}, scopeLine: {max(fn.line, 1)}, "
            f"flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: {self.cu}, "
            f"retainedNodes: {self._empty})")
        self._scope_files[ref] = file
        return ref

    def location(self, line: int, col: int, scope: str, discriminator: int = 0) -> str:
        """A DILocation; a `discriminator` (the debugger's bytecode pc + 1) goes in through
        a DILexicalBlockFile scope, as DWARF's line table carries it."""
        key = (line, col, scope, discriminator)
        ref = self._locs.get(key)
        if ref is None:
            if discriminator:
                bkey = (scope, discriminator)
                block = self._blocks.get(bkey)
                if block is None:
                    block = self._blocks[bkey] = self._node(
                        f"!DILexicalBlockFile(scope: {scope}, file: "
                        f"{self._scope_files[scope]}, discriminator: {discriminator})")
                scope = block
            ref = self._node(f"!DILocation(line: {max(line, 0)}, column: {max(col, 0)}, "
                             f"scope: {scope})")
            self._locs[key] = ref
        return ref

    def variable(self, fn, scope: str, var, arg: int) -> str:
        """A DILocalVariable for a variable-table entry (arg: 1-based, 0 for a local)."""
        file = self.file(fn.file or "<vyn>")
        row = fn.line_at(var.start)
        line = row.line if row is not None else fn.line
        vtype = self.type_ref(var.type_id)
        if var.cell:
            vtype = self._node(f"!DIDerivedType(tag: DW_TAG_pointer_type, name: "
                               f"{_md_string('cell')}, baseType: {vtype}, size: 64)")
        arg_text = f"arg: {arg}, " if arg else ""
        return self._node(
            f"!DILocalVariable(name: {_md_string(var.name)}, {arg_text}scope: {scope}, "
            f"file: {file}, line: {max(line, 1)}, type: {vtype})")

    def closure_variable(self, fn, scope: str) -> str:
        """An artificial variable CLOSURE_VARIABLE: where the debugger's code keeps the
        frame's closure (its environment), for frames a native closure call made."""
        file = self.file(fn.file or "<vyn>")
        ptr = self._basic("closure", 64, "DW_ATE_address")
        return self._node(
            f"!DILocalVariable(name: {_md_string(CLOSURE_VARIABLE)}, scope: {scope}, "
            f"file: {file}, line: {max(fn.line, 1)}, type: {ptr}, flags: DIFlagArtificial)")

    def module_flags(self) -> list[str]:
        return [self._node('!{i32 7, !"Dwarf Version", i32 4}'),
                self._node('!{i32 2, !"Debug Info Version", i32 3}'),
                self._node('!{i32 7, !"frame-pointer", i32 2}')]

    def finish(self) -> str:
        flags = self.module_flags()
        lines = [f"!llvm.dbg.cu = !{{{self.cu}}}",
                 "!llvm.module.flags = !{" + ", ".join(flags) + "}"]
        lines.extend(f"!{i} = {text}" for i, text in enumerate(self.nodes))
        return "\n".join(lines) + "\n"


# The artificial DWARF variable of the debugger's code that holds the frame's closure.
CLOSURE_VARIABLE = ".closure"

__all__ = ["CLOSURE_VARIABLE", "DIBuilder", "NullDIBuilder"]
