"""runtime/elf64.py against pyelftools, on the objects and images the toolchain writes,
and on damaged bytes (ValueError or struct.error, nothing else)."""

from __future__ import annotations

import io
import struct

import pytest

from compiler.lower import compile_file
from runtime import elf64

FIB = """fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  println(fib(20))
}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    pytest.importorskip("llvmlite", reason="LLVM writes the objects")
    from compiler import native
    from runtime.jit import plain_builtins
    from vyndbg.cli import main

    d = tmp_path_factory.mktemp("elf")
    (d / "fib.vyn").write_text(FIB, encoding="utf-8")
    program = compile_file(str(d / "fib.vyn"), FIB).program
    plans = {fi: p for fi in range(len(program.functions))
             if not isinstance(p := native.analyze(program, fi, plain_builtins()), str)}
    obj = native.compile_plans(program, plans, opt=2).object
    import os
    here = os.getcwd()
    os.chdir(d)
    try:
        assert main(["build", "fib.vyn", "-o", "fib"]) == 0
        assert main(["build", "--no-native", "fib.vyn", "-o", "fibb"]) == 0
    finally:
        os.chdir(here)
    return {"object": obj, "image": (d / "fib").read_bytes(),
            "bytecode image": (d / "fibb").read_bytes()}


def test_sections_and_function_sizes_are_pyelftools(files):
    from elftools.elf.elffile import ELFFile

    for name, data in files.items():
        elf = ELFFile(io.BytesIO(data))
        want = [(s.name, s["sh_type"], s["sh_offset"], s["sh_size"])
                for s in elf.iter_sections()]
        got = elf64.sections(data)
        assert [(s.name, s.offset, s.size) for s in got] == [(w[0], w[2], w[3]) for w in want]
        # Types by name where elf64 names them (it names what image.py checks).
        assert all(g.type_name == w[1] for g, w in zip(got, want, strict=True)
                   if isinstance(g.type_name, str)), name
        assert any(g.type_name == "SHT_PROGBITS" for g in got)
        symtab = elf.get_section_by_name(".symtab")
        sizes = {sym.name: sym["st_size"] for sym in symtab.iter_symbols()
                 if sym["st_info"]["type"] == "STT_FUNC"} if symtab is not None else {}
        assert elf64.function_sizes(data) == sizes, name
    assert elf64.function_sizes(files["object"])["vyn.fn.0"] > 0


def test_damaged_bytes_raise_value_or_struct_errors(files):
    data = files["image"]
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    cases = [data[:40], data[:shoff + 10],
             data[:0x3E] + b"\xff\x00" + data[0x40:],                 # section names index
             data[:shoff + 24] + b"\xff" * 8 + data[shoff + 32:]]      # a section's offset
    for bad in cases:
        try:
            elf64.sections(bad)
            elf64.function_sizes(bad)
        except (ValueError, struct.error):
            pass
