"""Just enough of ELF64 (little-endian) to read a section table and a symbol table,
without importing pyelftools (about 18 ms at start-up) on the paths every `vyn run`
takes: an image's `.vyn.*` sections (runtime/image.py), the sizes of the functions in an
object the JIT loads (runtime/jit.py). Anything deeper (DWARF, relocations) still goes
through pyelftools.

Callers check the ELF header first (runtime/image.py) or read objects LLVM just wrote;
malformed input raises ValueError or struct.error, never anything else.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
SHT_SYMTAB = 2
SHT_NOBITS = 8
SHN_XINDEX = 0xFFFF
STT_FUNC = 2
_TYPE_NAMES = {0: "SHT_NULL", 1: "SHT_PROGBITS", 2: "SHT_SYMTAB", 3: "SHT_STRTAB",
               4: "SHT_RELA", 8: "SHT_NOBITS", 9: "SHT_REL"}


class Section(NamedTuple):
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    entsize: int

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
        name, stype, flags, _addr, offset, size, link, _info, _align, entsize = h
        out.append(Section(_string(names, name), stype, flags, offset, size, link, entsize))
    return out


def function_sizes(data: bytes) -> dict[str, int]:
    """Function symbol -> size, from the symbol table."""
    table = sections(data)
    out: dict[str, int] = {}
    for s in table:
        if s.type != SHT_SYMTAB or s.entsize != _SYM.size:
            continue
        if not 0 <= s.link < len(table):
            raise ValueError("a symbol table without its string table")
        strings = table[s.link]
        names = _bytes_at(data, strings.offset, strings.size)
        symbols = _bytes_at(data, s.offset, s.size)
        for i in range(0, len(symbols) - _SYM.size + 1, _SYM.size):
            name, info, _other, _shndx, _value, size = _SYM.unpack_from(symbols, i)
            if info & 0xF == STT_FUNC:
                out[_string(names, name)] = size
    return out


__all__ = ["Section", "sections", "function_sizes"]
