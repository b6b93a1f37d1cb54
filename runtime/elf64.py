"""Just enough of ELF64 (little-endian) to read a section table and a symbol table,
without importing pyelftools (about 18 ms at start-up) on the paths every `vyn run`
takes: an image's `.vyn.*` sections (runtime/image.py), the sizes of the functions in an
object the JIT loads (runtime/jit.py), and the symbols and relocations of an object that
runtime/native_loader.py links into memory. DWARF still goes through pyelftools.

Callers check the ELF header first (runtime/image.py) or read objects LLVM just wrote;
malformed input raises ValueError or struct.error, never anything else.
"""

from __future__ import annotations

import struct
from collections import namedtuple

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
SHT_SYMTAB = 2
SHT_RELA = 4
SHT_NOBITS = 8
SHN_XINDEX = 0xFFFF
STT_FUNC = 2
_TYPE_NAMES = {0: "SHT_NULL", 1: "SHT_PROGBITS", 2: "SHT_SYMTAB", 3: "SHT_STRTAB",
               4: "SHT_RELA", 8: "SHT_NOBITS", 9: "SHT_REL"}


class Section(namedtuple("Section", "name type flags offset size link entsize info addralign",
                         defaults=(0, 1))):
    """A section header: its name, then sh_type, sh_flags, sh_offset, sh_size, sh_link,
    sh_entsize, sh_info and sh_addralign."""

    __slots__ = ()

    @property
    def type_name(self) -> str | int:
        """pyelftools' name for the type ("SHT_PROGBITS"), or the number."""
        return _TYPE_NAMES.get(self.type, self.type)


def _bytes_at(data: bytes, offset: int, size: int) -> bytes:
    if offset < 0 or size < 0 or offset + size > len(data):
        raise ValueError("a section lies outside the file")
    return data[offset:offset + size]


def _string(table: bytes, offset: int) -> str:
    if not 0 <= offset <= len(table):
        raise ValueError("a name lies outside its string table")
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else len(table)].decode("utf-8", "replace")


def sections(data: bytes) -> list[Section]:
    """The section table, with names."""
    e = _EHDR.unpack_from(data, 0)
    shoff, shentsize, shnum, shstrndx = e[6], e[11], e[12], e[13]
    if shoff == 0:
        return []
    if shentsize != _SHDR.size:
        raise ValueError("unexpected section header size")
    first = _SHDR.unpack_from(data, shoff)
    if shnum == 0:                      # extended numbering (gABI)
        shnum = first[5]
    if shstrndx == SHN_XINDEX:
        shstrndx = first[6]
    if shoff + shnum * _SHDR.size > len(data):
        raise ValueError("the section table lies outside the file")
    raw = [_SHDR.unpack_from(data, shoff + i * _SHDR.size) for i in range(shnum)]
    if not 0 <= shstrndx < shnum:
        raise ValueError("no section name table")
    names_h = raw[shstrndx]
    names = _bytes_at(data, names_h[4], names_h[5])
    out = []
    for h in raw:
        name, stype, flags, _addr, offset, size, link, info, align, entsize = h
        out.append(Section(_string(names, name), stype, flags, offset, size, link, entsize,
                           info, align))
    return out


class Symbol(namedtuple("Symbol", "name info shndx value size")):
    """A symbol table entry: `info` is binding << 4 | type; `shndx` its section index, or
    SHN_UNDEF (0), SHN_ABS (0xFFF1), SHN_COMMON."""

    __slots__ = ()


def symbols(data: bytes, table: list[Section] | None = None) -> list[Symbol]:
    """The symbol table (`.symtab`) in order, index 0 (the null symbol) included."""
    table = sections(data) if table is None else table
    for s in table:
        if s.type != SHT_SYMTAB or s.entsize != _SYM.size:
            continue
        if not 0 <= s.link < len(table):
            raise ValueError("a symbol table without its string table")
        strings = table[s.link]
        names = _bytes_at(data, strings.offset, strings.size)
        raw = _bytes_at(data, s.offset, s.size)
        out = []
        for i in range(0, len(raw) - _SYM.size + 1, _SYM.size):
            name, info, _other, shndx, value, size = _SYM.unpack_from(raw, i)
            out.append(Symbol(_string(names, name), info, shndx, value, size))
        return out
    return []


def relocations(data: bytes, section: Section) -> list[tuple[int, int, int, int]]:
    """A SHT_RELA section's entries: (offset, type, symbol index, addend)."""
    if section.type != SHT_RELA or section.entsize != _RELA.size:
        raise ValueError(f"{section.name} is not a table of relocations with addends")
    raw = _bytes_at(data, section.offset, section.size)
    out = []
    for i in range(0, len(raw) - _RELA.size + 1, _RELA.size):
        offset, info, addend = _RELA.unpack_from(raw, i)
        out.append((offset, info & 0xFFFFFFFF, info >> 32, addend))
    return out


def function_sizes(data: bytes) -> dict[str, int]:
    """Function symbol -> size, from the symbol table."""
    return {s.name: s.size for s in symbols(data) if s.info & 0xF == STT_FUNC}


__all__ = ["Section", "Symbol", "sections", "symbols", "relocations", "function_sizes"]
