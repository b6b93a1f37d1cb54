"""Link an x86-64 ELF relocatable object into memory, without LLVM.

The JIT's objects (and the native code of images and of the build cache) are what LLVM
writes for `reloc=pic, codemodel=small` (compiler/native.py): code and read-only data
that refer to each other PC-relatively, to the runtime's helpers (`vyn_rt_*`) by calls
or through the GOT, and, once in a while, to a C library function LLVM chose to call
(`memset`, `fmod`). Loading one is a small static link, done here:

- every section with SHF_ALLOC gets memory at its alignment: executable ones in one zone
  (made read + execute once linked, never writable and executable at once), the others
  (data, `.eh_frame`) in a zone after it, within +-2 GiB as the small code model needs;
- undefined symbols are resolved by the caller's `resolve` (helpers, then the process's
  own symbols through `dlsym`); a call (`PLT32`) or a `PC32` reference to one goes
  through a 16-byte stub (`jmp *0(%rip)` + the address), since the target can be
  anywhere in the address space; `GOTPCREL(X)` references get a GOT slot;
- relocations `64`, `PC32`, `PLT32`, `GOTPCREL`, `GOTPCRELX`, `REX_GOTPCRELX`, `32`,
  `32S`, `PC64` are applied; anything else (another relocation, SHT_REL tables,
  thread-local data, constructors to run at load) raises LinkError, and the caller
  falls back to LLVM's MCJIT.

The same `link` serves the debugger's runner (runtime/jit_unicorn.py), which places
sections in its own arena and gives helper stub addresses within it.

Loading this way costs no llvmlite import (about 45 ms at start-up): a `vyn run` served
from the build cache, or an image, starts native code without LLVM.
"""

from __future__ import annotations

import ctypes
import mmap
import struct
from collections.abc import Callable

from runtime import elf64
from runtime.heap_layout import MAP_NORESERVE

PAGE = mmap.PAGESIZE
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_SHF_ALLOC, _SHF_EXECINSTR, _SHF_TLS = 0x2, 0x4, 0x400
_SHT_REL = 9
# Sections whose code must run when the object is loaded (constructors): MCJIT runs them.
_RUN_AT_LOAD = frozenset((".init_array", ".ctors", ".preinit_array"))
_SHN_UNDEF, _SHN_ABS, _SHN_COMMON = 0, 0xFFF1, 0xFFF2
_GOT_TYPES = (9, 41, 42)       # GOTPCREL, GOTPCRELX, REX_GOTPCRELX
_PC_TYPES = (2, 4)             # PC32, PLT32
_STUB = 16                     # jmp *0(%rip); .quad target; 2 bytes of padding

_libc = None


class LinkError(ValueError):
    """The object cannot be linked here (not x86-64 ELF REL, an unknown relocation, a
    symbol nobody provides): one sentence."""


def libc():
    """The C library through ctypes, with mmap, munmap and mprotect typed."""
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mmap.restype = ctypes.c_void_p
        lib.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                             ctypes.c_int, ctypes.c_long]
        lib.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _libc = lib
    return _libc


class HostMemory:
    """Anonymous memory of this process, at `hint` if that range is free
    (MAP_FIXED_NOREPLACE), else wherever the kernel puts it; a ctypes byte array over it
    (slicing, pack_into)."""

    def __init__(self, size: int, hint: int = 0):
        self.size = -(-size // PAGE) * PAGE
        lib = libc()
        flags = 0x02 | 0x20 | MAP_NORESERVE          # MAP_PRIVATE | MAP_ANONYMOUS
        failed = ctypes.c_void_p(-1).value
        addr = None
        if hint:
            addr = lib.mmap(hint, self.size, 3, flags | 0x100000, -1, 0)
            if addr in (None, failed):
                addr = None
            elif addr != hint:                         # an old kernel: only a hint
                lib.munmap(addr, self.size)
                addr = None
        if addr is None:
            addr = lib.mmap(None, self.size, 3, flags, -1, 0)
            if addr in (None, failed):
                raise MemoryError("cannot map memory for native code")
        self.address = addr
        self.bytes = (ctypes.c_char * self.size).from_address(addr)

    def protect(self, start: int, size: int, prot: int) -> None:
        if libc().mprotect(start, size, prot) != 0:
            raise MemoryError("cannot make native code executable")

    def close(self) -> None:
        if self.address:
            libc().munmap(self.address, self.size)
            self.address = 0


class Linked:
    """Where an object's parts landed."""

    def __init__(self, names: dict[str, int], symbols: list[elf64.Symbol], values: list[int],
                 bases: dict[int, int], texts: list[int] | None = None) -> None:
        self.names = names                # defined symbol -> address
        self.symbols = symbols
        self.values = values              # symbol index -> address (0: none)
        self.bases = bases                # section index -> address
        self.texts: list[int] = [] if texts is None else texts   # executable section indices

    def address(self, name: str) -> int:
        return self.names.get(name, 0)


def link(data: bytes, alloc: Callable[[int, int, bool], int],
         write: Callable[[int, bytes], None], resolve: Callable[[str], int]) -> Linked:
    """Place `data`'s sections with `alloc(size, align, executable) -> address`, write
    their bytes and the relocated values with `write(address, bytes)`; undefined symbols
    are `resolve(name)` (0: nobody has it). Stubs and GOT slots are allocated the same
    way (stubs executable)."""
    _check_header(data)
    try:
        table = elf64.sections(data)
        symbols = elf64.symbols(data, table)
        relocs = []
        for sec in table:
            if sec.type == elf64.SHT_RELA:
                relocs.append((sec.info, elf64.relocations(data, sec)))
    except (ValueError, struct.error) as e:
        raise LinkError(f"the native code's object is damaged: {e}") from None
    bases: dict[int, int] = {}
    texts: list[int] = []
    for i, sec in enumerate(table):
        if sec.flags & _SHF_ALLOC and (sec.flags & _SHF_TLS or sec.name in _RUN_AT_LOAD):
            raise LinkError(f"native code with a `{sec.name}` section cannot be linked here")
        if sec.type == _SHT_REL and 0 <= sec.info < len(table) and \
                table[sec.info].flags & _SHF_ALLOC:
            raise LinkError("relocations without addends (SHT_REL) are not supported")
        if not sec.flags & _SHF_ALLOC or sec.size == 0:
            continue
        executable = bool(sec.flags & _SHF_EXECINSTR)
        bases[i] = alloc(sec.size, max(1, sec.addralign), executable)
        if sec.type != elf64.SHT_NOBITS:
            if sec.offset + sec.size > len(data):
                raise LinkError("a section of the native code's object lies outside it")
            write(bases[i], data[sec.offset:sec.offset + sec.size])
        if executable:
            texts.append(i)
    values: list[int] = []
    for sym in symbols:
        if sym.shndx == _SHN_UNDEF:
            if not sym.name:
                values.append(0)
                continue
            address = resolve(sym.name)
            if not address:
                raise LinkError(f"native code needs `{sym.name}`, which nothing provides")
            values.append(address)
        elif sym.shndx == _SHN_ABS:
            values.append(sym.value)
        elif sym.shndx == _SHN_COMMON:
            raise LinkError(f"common symbol `{sym.name}` is not supported")
        else:
            base = bases.get(sym.shndx)
            values.append(0 if base is None else base + sym.value)
    got: dict[int, int] = {}
    stubs: dict[int, int] = {}
    for target, entries in relocs:
        if target not in bases:
            continue                       # debug sections: not loaded
        for _off, t, s, _a in entries:
            if t in _GOT_TYPES and s not in got:
                got[s] = 0
            elif t in _PC_TYPES and symbols[s].shndx == _SHN_UNDEF and s not in stubs:
                stubs[s] = 0
    if got:
        gbase = alloc(8 * len(got), 8, False)
        for i, s in enumerate(sorted(got)):
            got[s] = gbase + 8 * i
            write(got[s], struct.pack("<Q", values[s]))
    if stubs:
        sbase = alloc(_STUB * len(stubs), 16, True)
        for i, s in enumerate(sorted(stubs)):
            stubs[s] = sbase + _STUB * i
            write(stubs[s], b"\xff\x25\x00\x00\x00\x00" + struct.pack("<Q", values[s])
                  + b"\xcc\xcc")
    for target, entries in relocs:
        if target not in bases:
            continue
        base = bases[target]
        for off, t, si, a in entries:
            p = base + off
            s = values[si]
            if t == 1:                                   # R_X86_64_64
                write(p, struct.pack("<Q", (s + a) & (1 << 64) - 1))
            elif t in _PC_TYPES:
                write(p, _fit32(stubs.get(si, s) + a - p, True))
            elif t in _GOT_TYPES:
                write(p, _fit32(got[si] + a - p, True))
            elif t == 10:                                # R_X86_64_32
                write(p, _fit32(s + a, False))
            elif t == 11:                                # R_X86_64_32S
                write(p, _fit32(s + a, True))
            elif t == 24:                                # PC64
                write(p, struct.pack("<q", s + a - p))
            else:
                raise LinkError(f"relocation type {t} is not supported")
    names = {sym.name: v for sym, v in zip(symbols, values, strict=True)
             if sym.name and sym.shndx != _SHN_UNDEF and v}
    return Linked(names, symbols, values, bases, texts)


def _check_header(data: bytes) -> None:
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise LinkError("native code must be a 64-bit little-endian ELF object")
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_type != 1 or e_machine != 62:
        raise LinkError("native code must be an x86-64 relocatable object")


def _fit32(value: int, signed: bool) -> bytes:
    lo, hi = (-(1 << 31), (1 << 31) - 1) if signed else (0, (1 << 32) - 1)
    if not lo <= value <= hi:
        raise LinkError("a relocation of the native code does not fit in 32 bits")
    return struct.pack("<i" if signed else "<I", value)


class Loaded:
    """An object linked into this process's memory: its code is executable (and no
    longer writable), its data readable. Kept alive by its owner (the JIT) as long as
    anything may call its code."""

    def __init__(self, memory: HostMemory, linked: Linked, code_size: int):
        self.memory = memory
        self.linked = linked
        self.code_size = code_size

    def address(self, name: str) -> int:
        return self.linked.address(name)

    def close(self) -> None:
        self.memory.close()


def _capacity(data: bytes) -> tuple[int, int]:
    """Upper bounds of the executable and the other bytes `link` may allocate."""
    table = elf64.sections(data)
    code = other = 0
    nsyms = 0
    for sec in table:
        if sec.type == elf64.SHT_SYMTAB and sec.entsize:
            nsyms = sec.size // sec.entsize
        if not sec.flags & _SHF_ALLOC or sec.size == 0:
            continue
        room = sec.size + max(1, sec.addralign)
        if sec.flags & _SHF_EXECINSTR:
            code += room
        else:
            other += room
    return code + _STUB * nsyms + 16, other + 8 * nsyms + 8


def load_object(data: bytes, resolve: Callable[[str], int]) -> Loaded:
    """Link `data` into fresh memory of this process (see the module docstring)."""
    _check_header(data)
    try:
        code_room, data_room = _capacity(data)
    except (ValueError, struct.error) as e:
        raise LinkError(f"the native code's object is damaged: {e}") from None
    code_room = -(-code_room // PAGE) * PAGE
    memory = HostMemory(code_room + data_room)
    tops = [0, code_room]            # executable zone, then the rest

    def alloc(size: int, align: int, executable: bool) -> int:
        zone = 0 if executable else 1
        top = -(-tops[zone] // align) * align
        end = code_room if executable else memory.size
        if top + size > end:
            raise LinkError("native code outgrew its estimate")   # a bug in _capacity
        tops[zone] = top + size
        return memory.address + top

    def write(address: int, raw: bytes) -> None:
        at = address - memory.address
        memory.bytes[at:at + len(raw)] = raw

    try:
        linked = link(data, alloc, write, lambda name: resolve(name) or _dlsym(name))
        memory.protect(memory.address, code_room, _PROT_READ | _PROT_EXEC)
    except BaseException:
        memory.close()
        raise
    return Loaded(memory, linked, tops[0])


def _dlsym(name: str) -> int:
    try:
        return ctypes.cast(getattr(libc(), name), ctypes.c_void_p).value or 0
    except AttributeError:
        return 0


__all__ = ["HostMemory", "LinkError", "Linked", "Loaded", "libc", "link", "load_object"]
