"""The native tier (docs/native.md): the backend, the JIT and native code in images.

The contract is SEMANTICS': a program prints the same whatever runs natively. Each test
runs programs with `--jit=off` (the interpreter) and with native code, and compares
everything they print and their exit codes: arithmetic to the bit, panics with their
backtraces, and the scheduler's interleaving of fibers (native code counts the same
reductions). The external checks run real tools on a built image and are skipped, with
the reason, when a tool is missing.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from tests.test_programs import CORPUS, TIMEOUT, time_limit
from vyndbg.cli import main

llvmlite = pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")


FIB_TRACED = """fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn twice(a: Int, b: Int) -> Int { fib(a) + fib(b) }
fn main() { println("{}", twice(10, 11)) }
"""


def run(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """`vyn ARGS` in-process in `cwd`: (exit code, stdout, stderr)."""
    old = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err), time_limit(TIMEOUT * 3):
            code = main(args)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def same_everywhere(tmp_path: Path, source: str, *extra: list[str]) -> tuple[int, str, str]:
    """Run `source` interpreted, eagerly compiled at both tiers and with a JIT promoting
    at once; all must agree. Returns the interpreter's result."""
    (tmp_path / "p.vyn").write_text(source, encoding="utf-8")
    base = run(["run", "--jit=off", "p.vyn"], tmp_path)
    for args in (["--jit=eager"], ["--jit=eager", "--jit-tier=1"],
                 ["--jit=auto", "--jit-threshold=1"], *extra):
        assert run(["run", *args, "p.vyn"], tmp_path) == base, args
    return base


ARITHMETIC = """
fn div(a: Int, b: Int) -> Int { a / b }
fn rem(a: Int, b: Int) -> Int { a % b }
fn fdiv(a: Float, b: Float) -> Float { a / b }
fn mix(n: Int) -> Int {
  var x = n
  var i = 0
  while i < 70 {
    x = x * 6364136223846793005 + 1442695040888963407
    x = x ^ (x >> 13)
    x = x + (x << 7)
    i += 1
  }
  x
}
fn main() {
  let min = -9223372036854775807 - 1
  println("{} {} {}", min / -1, min % -1, min - 1)
  println("{} {} {} {}", div(-7, 2), rem(-7, 2), div(7, -2), rem(7, -2))
  println("{} {}", div(min, -1), rem(min, -1))
  println("{}", mix(12345))
  println("{} {} {}", fdiv(1.0, 0.0), fdiv(-1.0, 0.0), fdiv(0.0, 0.0))
  println("{} {}", 0.1 + 0.2, 1.0e300 * 1.0e10)
  let nan = fdiv(0.0, 0.0)
  println("{} {} {}", nan == nan, nan != nan, nan < 1.0)
  println("{} {} {}", 1.0e30 as Int, -1.0e30 as Int, nan as Int)
  println("{} {} {}", 3.99 as Int, -3.99 as Int, 7 as Float)
  println("{} {}", (65 as Char), (-5 as Char) as Int)
  let small: Int8 = 100
  let big: Int8 = small + small
  println("{}", big)
  println("{} {}", 1 << 65, -16 >> 2)
}
"""


def test_arithmetic_is_the_interpreters_to_the_bit(tmp_path):
    code, out, err = same_everywhere(tmp_path, ARITHMETIC)
    assert (code, err) == (0, ""), err
    assert out.splitlines()[0] == "-9223372036854775808 0 9223372036854775807"


PANICS = {
    "div_zero": """
fn inner(a: Int, b: Int) -> Int {
  var i = 0
  var s = 0
  while i < 10 { s += a / (b - i); i += 1 }
  s
}
fn outer(n: Int) -> Int { inner(n, 3) + 1 }
fn main() { println("{}", outer(100)) }
""",
    "use_after_free": """
class Box { var v: Int }
fn read(b: Box) -> Int { b.v }
fn main() {
  let b = Box(5)
  println("{}", read(b))
  free(b)
  println("{}", read(b))
}
""",
    "overflow": """
fn down(n: Int) -> Int { down(n + 1) + 1 }
fn main() { println("{}", down(0)) }
""",
    "panic_message": """
fn check(x: Int) -> Int {
  if x > 3 { panic("too big: " + x.to_string()) }
  x
}
fn main() {
  var i = 0
  while i < 10 { println("{}", check(i)); i += 1 }
}
""",
}


@pytest.mark.parametrize("name", sorted(PANICS))
def test_panics_have_the_interpreters_message_and_backtrace(tmp_path, name):
    code, out, err = same_everywhere(tmp_path, PANICS[name])
    assert code == 101 and err.startswith("panic: "), err


SCHEDULING = """
fn work(n: Int) -> Int {
  if n < 2 { return n }
  return work(n - 1) + work(n - 2)
}

fn main() {
  var turn = 0
  spawn fn a() {
    var i = 0
    while i < 5000 {
      if turn != 1 {
        println("a from {}", i)
        turn = 1
      }
      i += 1
    }
  }
  spawn fn b() {
    var i = 0
    var s = 0
    while i < 4500 {
      if turn != 2 {
        println("b from {}", i)
        turn = 2
      }
      s += work(3)
      i += 1
    }
    println("b sum {}", s)
  }
  spawn fn c() {
    var k = 0
    while k < 4 {
      let v = work(14)
      if turn != 3 {
        println("c round {} fib {}", k, v)
        turn = 3
      }
      k += 1
    }
  }
  println("main done")
}
"""


def test_fibers_switch_at_the_same_reductions_in_native_code(tmp_path):
    """Loops end their slice at a back-edge, recursions at a call, deep inside native
    frames; the interleaving is the interpreter's."""
    code, out, err = same_everywhere(tmp_path, SCHEDULING,
                                     ["--jit=auto", "--jit-threshold=7"])
    assert code == 0, err
    assert out.splitlines()[:7] == ["main done", "a from 0", "b from 0",
                                    "c round 0 fib 377", "a from 1999", "b from 334",
                                    "c round 1 fib 377"]


GC = """
class Leaf {
  var v: Int
}
class Node {
  var v: Int
  var leaf: Leaf
}
fn build(n: Int) -> Int {
  var i = 0
  var total = 0
  while i < n {
    let a = Leaf(i)
    let b = Node(i + 1, a)
    b.leaf = Leaf(i + 2)
    total += b.v + a.v + b.leaf.v
    i += 1
  }
  total
}
fn main() {
  var k = 0
  while k < 3 { println("{}", build(20000)); k += 1 }
}
"""


def test_collections_happen_at_the_same_safepoints(tmp_path):
    """Native code allocating in a lent run takes slice ends by itself only while its
    allocations stay below what would make the heap want a collection: the collections
    (which, how much, what is freed) are the interpreter's."""
    (tmp_path / "p.vyn").write_text(GC, encoding="utf-8")
    limit = ["--heap-limit", "2m", "--gc-trace"]

    def trace(args):
        code, out, err = run(["run", *args, *limit, "p.vyn"], tmp_path)
        return code, out, re.sub(r"pause [0-9.]+ ms", "pause", err)

    base = trace(["--jit=off"])
    assert base[0] == 0 and "[gc]" in base[2], base
    assert trace(["--jit=eager"]) == base
    assert trace(["--jit=auto", "--jit-threshold=2"]) == base
    # ... and it did take slice ends by itself while allocating inline.
    from compiler.lower import compile_file
    from runtime.jit import JitOptions
    from runtime.run import run_program

    # With more room (a larger heap: slices between collections), the same holds.
    program = compile_file("p.vyn", GC.replace("build(20000)", "build(60000)")).program
    runs = {}
    for key, jit in (("off", None), ("eager", JitOptions(mode="eager"))):
        log = io.StringIO()
        seen = {}
        run_program(program, [], stdout=io.StringIO(), stderr=log, jit=jit,
                    heap_limit=64 << 20, gc_trace=True,
                    after_run=lambda vm, seen=seen: seen.update(
                        solo=getattr(vm.jit, "solo_slices", 0),
                        lent=getattr(vm.jit, "lent", 0)))
        runs[key] = (re.sub(r"pause [0-9.]+ ms", "pause", log.getvalue()), seen)
    assert "[gc]" in runs["off"][0] and runs["eager"][0] == runs["off"][0]
    assert runs["eager"][1]["solo"] > 0 and runs["eager"][1]["lent"] > 0


SOLO = """
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  fib(n - 1) + fib(n - 2)
}
fn spin(n: Int) -> Int {
  var i = 0
  var s = 0
  while i < n { s = s + i % 7; i += 1 }
  s
}
fn main() {
  let ch: Channel<Int> = Channel::bounded(4)
  spawn fn waiter() {
    match ch.recv() {
      Some(v) => println("got {}", v)
      None => println("closed")
    }
  }
  println("{}", fib(22))
  println("{}", spin(300000))
  ch.send(5)
  println("{}", spin(100000) + fib(18))
}
"""


def test_slice_ends_taken_in_native_code_are_counted_as_the_scheduler_does(tmp_path):
    """While one fiber can run and nothing watches, native code starts the next slice
    itself (no call into the runtime); the fibers' reductions and slices and the
    scheduler's clock end up as the interpreter's."""
    from compiler.lower import compile_file
    from runtime.jit import JitOptions
    from runtime.run import run_program

    program = compile_file("p.vyn", SOLO).program
    seen = {}

    def counters(key):
        def after(vm):
            s = vm.sched
            seen[key] = ([(f.name, f.reductions, f.slices) for f in s.fibers], s.step,
                         getattr(vm.jit, "solo_slices", None))
        return after

    outs = set()
    for key, jit in (("off", None), ("eager", JitOptions(mode="eager")),
                     ("auto", JitOptions(mode="auto", threshold=3))):
        out = io.StringIO()
        code = run_program(program, [], stdout=out, stderr=io.StringIO(), jit=jit,
                           after_run=counters(key))
        assert code == 0
        outs.add(out.getvalue())
    assert len(outs) == 1 and "got 5" in outs.pop()
    assert seen["eager"][:2] == seen["off"][:2]
    assert seen["auto"][:2] == seen["off"][:2]
    assert seen["eager"][2] > 0 and seen["auto"][2] > 0


PUSH = """
fn ints(n: Int) -> Int {
  var v: Vec<Int> = vec![]
  var i = 0
  while i < n { v.push(i * 3 - 7); i += 1 }
  var s = 0
  i = 0
  while i < v.len() { s += v[i] * (i % 5); i += 1 }
  s + v.len()
}
fn mixed(n: Int) {
  var b: Vec<Bool> = vec![]
  var f: Vec<Float> = vec![]
  var w: Vec<String> = vec![]
  var i = 0
  while i < n {
    b.push(i % 3 == 0)
    f.push(i as Float / 4.0)
    if i % 50 == 0 { w.push("w" + "x") }
    i += 1
  }
  println("{} {} {} {}", b[n - 1], f[n - 1], w.len(), w[w.len() - 1])
}
fn after_free(v: Vec<Int>) {
  v.push(1)
}
fn main() {
  var k = 0
  while k < 5 {
    println("{}", ints(1000 + k * 37))
    mixed(300 + k)
    k += 1
  }
  var v: Vec<Int> = vec![1, 2]
  after_free(v)
  println("{}", v.len())
  free(v)
  after_free(v)
}
"""


def test_push_is_native_while_the_data_has_room(tmp_path):
    """`v.push(x)` of numbers and Bools stores in native code while the data object has
    room, and the runtime grows it (many times here); pointer elements go to the
    runtime; a push to a freed Vec panics as in the interpreter."""
    code, out, err = same_everywhere(tmp_path, PUSH)
    assert code == 101 and "use after free" in err, err
    assert out.splitlines()[-1] == "3"


def test_jit_stats_name_tiers_and_why_a_function_stays_in_bytecode(tmp_path):
    src = """
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn main() {
  var n = 0
  for c in "ab" { n += 1 }
  let v = vec![1, 2, 3]
  for x in v { println("{}", fib(x + 14 + n)) }
}
"""
    (tmp_path / "p.vyn").write_text(src, encoding="utf-8")
    code, out, err = run(["run", "--jit=eager", "--jit-stats", "p.vyn"], tmp_path)
    assert code == 0
    assert out.split() == ["1597", "2584", "4181"]
    assert re.search(r"^fib\s+2\s+\d+", err, re.MULTILINE), err
    assert re.search(r"^main\s+stays in bytecode: iterates over a String with `for \.\.\. in`",
                     err, re.MULTILINE), err


def test_analysis_refuses_with_a_reason_and_the_rest_compiles():
    from compiler import bytecode as bc
    from compiler import native
    from compiler.lower import compile_sources
    from vyndbg.cli import SourceFile

    src = SourceFile("p.vyn",
                     "fn f(v: Vec<Int>) -> Int {\n  var i = 0\n  while i < 3 { i += 1 }\n"
                     "  v.map(fn(x: Int) -> Int { x }).len() + i\n}\n"
                     "fn g(a: Int) -> Int { a * 2 }\n"
                     "fn h(s: String) -> Int {\n  var t = 0\n  for c in s { t += 1 }\n  t\n}\n"
                     "fn main() { println(\"{}\", g(f(vec![1])) + h(\"ab\")) }\n")
    program = compile_sources([src], lambda *a: None).program
    plans, refused = native.plan_functions(program, plain_builtins=frozenset({"Vec.len"}))
    names = {program.functions[fi].name: why for fi, why in refused.items()}
    assert "iterates over a String" in names["h"]
    assert {program.functions[fi].name for fi in plans} >= {"f", "g"}
    # Vec.map (it calls Vyn code) is a side exit of f (after a loop native code runs);
    # without the runtime's list of plain builtins, every builtin call is refused.
    (f,) = [p for p in plans.values() if p.fn.name == "f"]
    assert [f.fn.code[pc][0] for pc in f.side_exits] == [bc.CALLB]
    _, refused = native.plan_functions(program)
    assert "Vec.map" in refused[f.index]


def test_the_same_ir_gives_the_same_object_after_a_traced_module(tmp_path):
    """A module's object does not depend on what was compiled before it in the process.
    LLVM's ELF lowering remembers, by address, every `@llvm.used` global of the modules a
    target machine emitted (a traced module lists its trace converter there); a function
    of a later module allocated at such an address went to a section of its own, out of
    the `.text` whose DWARF the debugger reads. With one target machine for all, a module
    emitted after one keeping three functions that way came out different about one
    time in six (this test failed every time)."""
    from elftools.elf.elffile import ELFFile

    from compiler import native
    from compiler.lower import compile_file

    path = tmp_path / "p.vyn"
    path.write_text(FIB_TRACED, encoding="utf-8")
    program = compile_file(str(path), FIB_TRACED).program
    plans, _ = native.plan_functions(program)
    assert len(plans) == len(program.functions)

    def compiled(trace: bool) -> bytes:
        return native.compile_plans(program, plans, opt=0, trace=trace,
                                    directory=str(tmp_path)).object

    # Modules that keep many functions through `@llvm.used`, as the traced one keeps one:
    # each leaves many addresses behind for the next module's functions to land on.
    kept = [f"f{i}" for i in range(16)]
    used_ir = "".join(f"define internal void @{f}() {{\n  ret void\n}}\n" for f in kept) + (
        f"@llvm.used = appending global [{len(kept)} x ptr] "
        f"[{', '.join('ptr @' + f for f in kept)}], section \"llvm.metadata\"\n")
    first = compiled(False)
    for _ in range(40):
        compiled(True)
        used = native.parse_module(used_ir, debug=False)
        native.target_machine(0).emit_object(used)
        used.close()
        assert compiled(False) == first
    texts = [s.name for s in ELFFile(io.BytesIO(first)).iter_sections()
             if s["sh_flags"] & 0x4]                                   # SHF_EXECINSTR
    assert texts == [".text"]


@pytest.mark.slow
@pytest.mark.parametrize("program", [p for p in CORPUS if p.expectation(".diag") is None],
                         ids=[p.id for p in CORPUS if p.expectation(".diag") is None])
def test_corpus_prints_the_same_with_every_function_native(program):
    """The whole corpus: --jit=off and --jit=eager print the same (and a JIT that
    promotes everything at once at tier 1, to exercise on-stack replacement)."""
    base = run(["run", "--jit=off", program.file], program.directory)
    assert run(["run", "--jit=eager", program.file], program.directory) == base
    assert run(["run", "--jit=auto", "--jit-threshold=1", "--jit-tier=1", program.file],
               program.directory) == base


# -- images ---------------------------------------------------------------------------------

FIB = """fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  var i = 0
  var total = 0
  while i < 20 {
    total += fib(i)
    i += 1
  }
  println("{}", total)
}
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("native")
    (d / "fib.vyn").write_text(FIB, encoding="utf-8")
    for name, flag in (("fib0", "-O0"), ("fib2", "-O2"), ("fibb", "--no-native")):
        code, out, err = run(["build", flag, "fib.vyn", "-o", name], d)
        assert code == 0, err
    return d


def _sections(path: Path) -> set[str]:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        return {s.name for s in ELFFile(f).iter_sections()}


def test_build_puts_native_code_and_dwarf_in_the_image(images):
    for name in ("fib0", "fib2"):
        sections = _sections(images / name)
        assert {".text", ".vyn.native", ".debug_info", ".debug_line"} <= sections, sections
    plain = _sections(images / "fibb")
    assert ".vyn.native" not in plain and ".debug_info" not in plain


def test_an_image_runs_its_native_code_as_it_is(images):
    for name in ("fib0", "fib2", "fibb"):
        code, out, err = run(["run", "--jit-stats", name], images)
        assert (code, out) == (0, "10945\n"), err
        if name != "fibb":
            assert re.search(r"^fib\s+[12]\s+\d+.*image$", err, re.MULTILINE), err
    code, out, err = run(["run", "--jit=off", "fib2"], images)
    assert (code, out, err) == (0, "10945\n", "")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        package = "binutils" if name in ("readelf", "objdump") else name
        pytest.skip(f"`{name}` is not installed (apt-get install {package})")
    return path


def test_readelf_and_objdump_read_the_image(images):
    out = subprocess.run([_tool("readelf"), "-S", "-W", str(images / "fib0")],
                         capture_output=True, text=True, check=True).stdout
    assert ".vyn.native" in out and ".debug_line" in out
    dis = subprocess.run([_tool("objdump"), "-d", "-l", str(images / "fib0")],
                         capture_output=True, text=True, check=True).stdout
    assert "<vyn.fn." in dis and re.search(r"fib\.vyn:\d+", dis), dis[:2000]


def test_llvm_dwarfdump_verifies_the_dwarf(images):
    tool = shutil.which("llvm-dwarfdump") or shutil.which("llvm-dwarfdump-14")
    if tool is None:
        pytest.skip("`llvm-dwarfdump` is not installed (apt-get install llvm)")
    for name in ("fib0", "fib2"):
        r = subprocess.run([tool, "--verify", str(images / name)], capture_output=True,
                           text=True)
        assert r.returncode == 0 and "No errors." in r.stdout, r.stdout + r.stderr


def test_gdb_finds_vyn_lines_and_variables(images):
    gdb = _tool("gdb")
    r = subprocess.run([gdb, "-batch", "-nx", "-ex", "info line fib.vyn:5",
                        "-ex", "info scope fib", "-ex", "info scope main",
                        str(images / "fib0")], capture_output=True, text=True, timeout=60)
    out = r.stdout
    assert re.search(r'Line 5 of "fib\.vyn" starts at address 0x[0-9a-f]+ <fib\+\d+>', out), out
    assert "Symbol n is a variable at frame base reg $rbp offset" in out, out
    assert "Symbol total is a variable" in out and "Symbol i is a variable" in out, out


def test_native_code_for_the_same_function_is_the_same_backend(images):
    """The JIT and `vyn build` share one backend: the symbols match."""
    from elftools.elf.elffile import ELFFile

    with open(images / "fib2", "rb") as f:
        names = {s.name for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    assert {"vyn.fn.0", "vyn.entry.0", "vyn_rt_poll", "vyn_rt_frame"} <= names, names


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_records_allocated_inline_leave_the_heap_as_the_interpreter_does(tmp_path):
    """NEW in native code bump-allocates in a run of heap the JIT lends; taken back, its
    records are the heap's as if it had allocated them: the same object count, bytes
    and young generation as under the interpreter, and collections that find them."""
    from compiler.lower import compile_file
    from runtime.jit import JitOptions
    from runtime.run import run_program

    program = compile_file("p.vyn", GC).program
    seen = {}

    def stats(key):
        def after(vm):
            h = vm.heap
            lent = getattr(vm.jit, "lent", None)
            seen[key] = (h._objects, h._young_bytes, h.in_use, len(h._young),
                         vm.collections, lent)
        return after

    for key, jit in (("off", None), ("eager", JitOptions(mode="eager"))):
        out = io.StringIO()
        code = run_program(program, [], stdout=out, stderr=io.StringIO(), jit=jit,
                           heap_limit=2 << 20, after_run=stats(key))
        assert code == 0
        seen[key + " out"] = out.getvalue()
    assert seen["eager out"] == seen["off out"]
    assert seen["eager"][:5] == seen["off"][:5]
    assert seen["off"][4] > 0                       # the program did collect
    assert seen["eager"][5] > 0                     # and native code allocated inline
