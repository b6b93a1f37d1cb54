"""`vyn run --perf-map`: name the JIT's native code for Linux `perf`.

perf reads `/tmp/perf-PID.map` when it reports (`perf report`, `perf script`): one line
per piece of JIT code, `START SIZE name`, START and SIZE in hexadecimal without `0x`.
The JIT (runtime/jit.py) adds a line for every function of every object MCJIT loads, as
it loads it: each compiled function's fast entry (`fib`), its interpreter entry
(`fib [entry]`), its OSR copy and entry (`fib [osr]`, `fib [osr entry]`), and private
copies of functions compiled before (`fib [copy]`), so a sample in any of them is named.

The addresses come from the object's symbol table: MCJIT loads each section of the
object in one piece, so a symbol's address is its section's load address plus its
offset, and a section's load address is known from any global symbol in it
(`get_function_address`).
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections.abc import Callable

_SYMBOL = re.compile(r"vyn\.(fn|entry|osr)\.(\d+)(\.entry)?$")


_STB_GLOBAL = 1


def map_path(pid: int | None = None) -> str:
    return f"/tmp/perf-{os.getpid() if pid is None else pid}.map"


def code_symbols(obj: bytes, address_of: Callable[[str], int]
                 ) -> list[tuple[int, int, str, bool, int]]:
    """(address, size, ELF symbol name, global, offset in its section) of every sized
    function in `obj` as loaded, from the addresses `address_of` gives for its global
    symbols (0: unknown)."""
    from runtime import elf64

    # (runtime/elf64.py, not pyelftools: a profile of a cached run imports neither.)
    funcs = [s for s in elf64.symbols(obj)
             if s.info & 0xF == elf64.STT_FUNC and s.size > 0 and 0 < s.shndx < 0xFF00]
    bases: dict[int, int] = {}
    for s in funcs:
        if s.shndx in bases or s.info >> 4 != _STB_GLOBAL:
            continue
        addr = address_of(s.name)
        if addr:
            bases[s.shndx] = addr - s.value
    out = []
    for s in funcs:
        base = bases.get(s.shndx)
        if base is not None:
            out.append((base + s.value, s.size, s.name, s.info >> 4 == _STB_GLOBAL, s.value))
    out.sort()
    return out


def vyn_name(symbol: str, global_: bool, names: list[str]) -> str:
    """The name perf shows for the ELF symbol `symbol` (`vyn.fn.3` -> `fib`)."""
    m = _SYMBOL.match(symbol)
    if m is None:
        return symbol
    fi = int(m.group(2))
    name = names[fi] if 0 <= fi < len(names) else f"function #{fi}"
    if m.group(1) == "entry":
        return f"{name} [entry]"
    if m.group(1) == "osr":
        return f"{name} [osr entry]" if m.group(3) else f"{name} [osr]"
    return name if global_ else f"{name} [copy]"


def named_code(obj: bytes, address_of: Callable[[str], int], names: list[str]
               ) -> list[tuple[int, int, str, int, int]]:
    """(address, size, perf name, section offset, function index or -1) of every function
    of the object MCJIT just loaded."""
    out = []
    for start, size, sym, global_, offset in code_symbols(obj, address_of):
        m = _SYMBOL.match(sym)
        out.append((start, size, vyn_name(sym, global_, names), offset,
                    int(m.group(2)) if m else -1))
    return out


class PerfMap:
    """`/tmp/perf-PID.map`, appended to as code is loaded (created empty at start)."""

    def __init__(self, path: str | None = None):
        self.path = path or map_path()
        self.file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close)
        self.lines = 0

    def add(self, start: int, size: int, name: str) -> None:
        name = " ".join(name.split())          # one line, whatever the name holds
        self.file.write(f"{start:x} {size:x} {name}\n")
        self.lines += 1

    def add_rows(self, rows: list[tuple]) -> None:
        """A line per (start, size, name, ...) row (`named_code`), written at once."""
        for start, size, name, *_ in rows:
            self.add(start, size, name)
        self.file.flush()

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()


def parse_map(text: str) -> list[tuple[int, int, str]]:
    """The lines of a perf map: (start, size, name). Raises ValueError for a bad line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split(" ", 2)
        if len(parts) != 3 or not parts[2] or any(p.startswith("0x") for p in parts[:2]):
            raise ValueError(f"line {n} is not `START SIZE name`: {line!r}")
        out.append((int(parts[0], 16), int(parts[1], 16), parts[2]))
    return out


# -- jitdump: `perf inject --jit` ------------------------------------------------------------

JITDUMP_MAGIC = 0x4A695444          # "JiTD" as a native u32
JIT_CODE_LOAD = 0
JIT_CODE_DEBUG_INFO = 2
JIT_CODE_CLOSE = 3
EM_X86_64 = 62


def jitdump_path(pid: int | None = None, directory: str = "/tmp") -> str:
    return os.path.join(directory, f"jit-{os.getpid() if pid is None else pid}.dump")


def line_rows(obj: bytes) -> list[tuple[int, int]]:
    """(offset in its section, line) of every row of the object's DWARF line tables, in
    address order (line 0 rows dropped)."""
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(obj))
    if not elf.has_dwarf_info():
        return []
    dwarf = elf.get_dwarf_info()
    rows = []
    for cu in dwarf.iter_CUs():
        program = dwarf.line_program_for_CU(cu)
        if program is None:
            continue
        for entry in program.get_entries():
            st = entry.state
            if st is not None and not st.end_sequence and st.line:
                rows.append((st.address, st.line))
    rows.sort()
    return rows


class JitDump:
    """`jit-PID.dump` in the Linux perf jitdump format (tools/perf/Documentation/
    jitdump-specification.txt): a code load record per function, after a debug info
    record giving its Vyn lines. The file is mapped executable once, which is how
    `perf record` notes it for `perf inject --jit`; timestamps are CLOCK_MONOTONIC, so
    record with `perf record -k mono`."""

    def __init__(self, path: str | None = None):
        import mmap
        import struct

        self.struct = struct
        self.path = path or jitdump_path()
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self.pid = os.getpid()
        self.index = 0
        self._write(struct.pack("<IIIIIIQQ", JITDUMP_MAGIC, 1, 40, EM_X86_64, 0, self.pid,
                                time.monotonic_ns(), 0))
        self.marker = mmap.mmap(self.fd, 40, flags=mmap.MAP_PRIVATE,
                                prot=mmap.PROT_READ | mmap.PROT_EXEC)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def _record(self, kind: int, body: bytes) -> None:
        self._write(self.struct.pack("<IIQ", kind, 16 + len(body), time.monotonic_ns()) +
                    body)

    def add_object(self, obj: bytes, rows: list[tuple[int, int, str, int, int]],
                   files: list[str]) -> None:
        """Records for the object MCJIT just loaded: `rows` from `named_code`, `files`
        the source file of each function index."""
        import ctypes

        pack = self.struct.pack
        lines = line_rows(obj)
        tid = threading.get_native_id()
        for start, size, name, offset, fi in rows:
            file = files[fi] if 0 <= fi < len(files) else ""
            entries = [(start + a - offset, ln) for a, ln in lines
                       if offset <= a < offset + size] if file else []
            if entries:
                fname = file.encode("utf-8", "replace") + b"\0"
                self._record(JIT_CODE_DEBUG_INFO, pack("<QQ", start, len(entries)) + b"".join(
                    pack("<QII", addr, ln, 0) + fname for addr, ln in entries))
            code = ctypes.string_at(start, size)
            self._record(JIT_CODE_LOAD, pack("<IIQQQQ", self.pid, tid, start, start, size,
                                             self.index) +
                         name.encode("utf-8", "replace") + b"\0" + code)
            self.index += 1

    def close(self) -> None:
        if self.fd < 0:
            return
        self._record(JIT_CODE_CLOSE, b"")
        self.marker.close()
        os.close(self.fd)
        self.fd = -1
