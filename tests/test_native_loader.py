"""runtime/native_loader.py: objects LLVM writes, linked into this process without LLVM."""

from __future__ import annotations

import ctypes
import struct

import pytest

from runtime import elf64
from runtime.native_loader import LinkError, link, load_object

llvm = pytest.importorskip("llvmlite.binding")

# Calls a helper (PLT32 through a stub), a C library function (fmod), reads a constant
# table (.rodata, PC32), a mutable global through the GOT (an external-linkage global in
# PIC code) and a switch (a jump table of PC-relative entries).
IR = r"""
declare i64 @vyn_test_helper(i64)
declare double @fmod(double, double)

@table = private unnamed_addr constant [4 x i64] [i64 10, i64 20, i64 30, i64 40]
@counter = global i64 0

define i64 @via_helper(i64 %x) {
  %r = call i64 @vyn_test_helper(i64 %x)
  %s = add i64 %r, 1
  ret i64 %s
}

define double @via_libm(double %a, double %b) {
  %r = call double @fmod(double %a, double %b)
  ret double %r
}

define i64 @from_table(i64 %i) {
  %p = getelementptr [4 x i64], ptr @table, i64 0, i64 %i
  %v = load volatile i64, ptr %p
  ret i64 %v
}

define i64 @bump() {
  %v = load i64, ptr @counter
  %n = add i64 %v, 1
  store i64 %n, ptr @counter
  ret i64 %n
}

define i64 @pick(i64 %x) {
entry:
  switch i64 %x, label %other [ i64 0, label %a
                                i64 1, label %b
                                i64 2, label %c
                                i64 3, label %d
                                i64 4, label %e ]
a: ret i64 100
b: ret i64 101
c: ret i64 102
d: ret i64 103
e: ret i64 104
other: ret i64 -1
}
"""


@pytest.fixture(scope="module")
def obj() -> bytes:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    tm = llvm.Target.from_default_triple().create_target_machine(
        reloc="pic", codemodel="small", opt=2)
    module = llvm.parse_assembly(IR)
    return tm.emit_object(module)


_HELPER = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(lambda x: x * 3)


def _resolve(name: str) -> int:
    if name == "vyn_test_helper":
        return ctypes.cast(_HELPER, ctypes.c_void_p).value
    return 0


def test_linked_code_runs(obj):
    loaded = load_object(obj, _resolve)
    try:
        fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)
        assert fn(loaded.address("via_helper"))(7) == 22
        fmod = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_double)
        assert fmod(loaded.address("via_libm"))(7.5, 2.0) == 1.5
        assert [fn(loaded.address("from_table"))(i) for i in range(4)] == [10, 20, 30, 40]
        bump = ctypes.CFUNCTYPE(ctypes.c_int64)(loaded.address("bump"))
        assert [bump(), bump(), bump()] == [1, 2, 3]
        counter = ctypes.c_int64.from_address(loaded.address("counter"))
        assert counter.value == 3
        pick = fn(loaded.address("pick"))
        assert [pick(i) for i in range(-1, 6)] == [-1, 100, 101, 102, 103, 104, -1]
        assert loaded.address("no_such_symbol") == 0
    finally:
        loaded.close()


def test_code_is_not_writable_once_linked(obj):
    loaded = load_object(obj, _resolve)
    try:
        code = loaded.address("via_helper")
        with open("/proc/self/maps") as f:
            for line in f:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if lo <= code < hi:
                    assert line.split()[1].startswith("r-x"), line
                    break
            else:
                pytest.fail("the code is in no mapping")
    finally:
        loaded.close()


def test_link_places_sections_where_asked(obj):
    # The debugger's runner links into its own arena: alloc and write are its own.
    arena = bytearray(1 << 16)
    base = 0x40000000
    top = [0]
    placed = []

    def alloc(size, align, executable):
        top[0] = -(-top[0] // align) * align
        at = base + top[0]
        top[0] += size
        placed.append((at, size, executable))
        return at

    def write(address, raw):
        arena[address - base:address - base + len(raw)] = raw

    linked = link(obj, alloc, write, lambda name: 0x40001000 if name else 0)
    text = next(i for i, s in enumerate(elf64.sections(obj)) if s.name == ".text")
    assert linked.bases[text] in {at for at, _s, x in placed if x}
    assert text in linked.texts
    # A call to an undefined symbol goes through a stub holding its address.
    stub_addr = [at for at, size, x in placed if x and size % 16 == 0][-1]
    raw = arena[stub_addr - base:stub_addr - base + 16]
    assert raw[:6] == b"\xff\x25\x00\x00\x00\x00"
    assert struct.unpack_from("<Q", raw, 6)[0] in (0x40001000,)


def test_missing_symbols_and_damaged_objects_are_one_sentence(obj):
    with pytest.raises(LinkError, match="needs `vyn_test_helper`"):
        load_object(obj, lambda name: 0)
    with pytest.raises(LinkError, match="ELF object"):
        load_object(b"not an object at all, long enough to be read as a header" * 2,
                    _resolve)
    damaged = bytearray(obj)
    struct.pack_into("<Q", damaged, 0x28, len(obj) + 4096)     # e_shoff past the end
    with pytest.raises(LinkError, match="damaged"):
        load_object(bytes(damaged), _resolve)


def test_what_it_cannot_link_is_refused_and_the_jit_falls_back_to_mcjit(tmp_path,
                                                                        monkeypatch):
    """Constructors to run at load (`.init_array`, `.ctors`) are MCJIT's business: the linker
    refuses such an object in one sentence, and the JIT then loads through MCJIT."""
    tm = llvm.Target.from_default_triple().create_target_machine(
        reloc="pic", codemodel="small", opt=0)
    with_ctor = tm.emit_object(llvm.parse_assembly(r"""
@x = global i64 0
define internal void @init() {
  store i64 1, ptr @x
  ret void
}
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }]
  [{ i32, ptr, ptr } { i32 65535, ptr @init, ptr null }]
"""))
    with pytest.raises(LinkError, match=r"`\.(init_array|ctors)` section"):
        load_object(with_ctor, _resolve)

    import io

    from compiler.lower import compile_file
    from runtime import native_loader
    from runtime.jit import JitOptions
    from runtime.run import run_program

    def refuse(data, resolve):
        raise LinkError("refused for the test")

    monkeypatch.setattr(native_loader, "load_object", refuse)
    src = "fn sq(x: Int) -> Int { x * x }\nfn main() { println(\"{}\", sq(12)) }\n"
    program = compile_file("p.vyn", src).program
    seen = {}
    out = io.StringIO()
    code = run_program(program, [], stdout=out, stderr=io.StringIO(),
                       jit=JitOptions(mode="eager"),
                       after_run=lambda vm: seen.update(
                           linked=len(vm.jit._linked), calls=vm.jit.natives[0].calls,
                           engine=vm.jit._engine is not None))
    assert (code, out.getvalue()) == (0, "144\n")
    assert seen["linked"] == 0 and seen["engine"]
