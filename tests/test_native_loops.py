"""Tier 2 loops (compiler/native_loops.py).

An innermost loop that cannot change a Vec's header, length or data object checks each
Vec it indexes once per entry (a dispatch before its header computes the data pointer
and `min(len, data slots)`, 0 for a dead object): an element costs one compare of the
index with that limit. Its calls' depth and stack tests are done there too. The
reduction budget lives in a register at tier 2. Each test compares a program's output,
panics included, with `--jit=off`; the last ones read the IR.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_native import run

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")

TIER2 = (["--jit=eager"], ["--jit=auto", "--jit-threshold=1"], ["--jit=auto"],
         ["--jit=auto", "--jit-threshold=5"])


def same_as_interpreter(tmp_path: Path, source: str, *modes: list[str]) -> tuple[int, str, str]:
    """`source` run by the interpreter and with tier 2 native code (and `modes`): the
    same exit code, stdout and stderr. Returns the interpreter's."""
    (tmp_path / "p.vyn").write_text(source, encoding="utf-8")
    base = run(["run", "--jit=off", "p.vyn"], tmp_path)
    for args in (*TIER2, ["--jit=eager", "--jit-tier=1"], *modes):
        assert run(["run", *args, "p.vyn"], tmp_path) == base, args
    return base


SPECTRAL = """
fn a(i: Int, j: Int) -> Float {
  1.0 / (((i + j) * (i + j + 1) / 2 + i + 1) as Float)
}
fn mul_av(v: Vec<Float>, out: Vec<Float>, n: Int) {
  var i = 0
  while i < n {
    var s = 0.0
    var j = 0
    while j < n {
      s += a(i, j) * v[j]
      j += 1
    }
    out[i] = s
    i += 1
  }
}
fn mul_atv(v: Vec<Float>, out: Vec<Float>, n: Int) {
  var i = 0
  while i < n {
    var s = 0.0
    var j = 0
    while j < n {
      s += a(j, i) * v[j]
      j += 1
    }
    out[i] = s
    i += 1
  }
}
fn main() {
  let n = 60
  var u: Vec<Float> = vec![]
  var v: Vec<Float> = vec![]
  var tmp: Vec<Float> = vec![]
  var i = 0
  while i < n {
    u.push(1.0)
    v.push(0.0)
    tmp.push(0.0)
    i += 1
  }
  var k = 0
  while k < 6 {
    mul_av(u, tmp, n)
    mul_atv(tmp, v, n)
    mul_av(v, tmp, n)
    mul_atv(tmp, u, n)
    k += 1
  }
  var vbv = 0.0
  var vv = 0.0
  i = 0
  while i < n {
    vbv += u[i] * v[i]
    vv += v[i] * v[i]
    i += 1
  }
  println("{}", (vbv / vv).sqrt())
}
"""


def test_spectral_norm_prints_the_interpreters_digits(tmp_path):
    code, out, err = same_as_interpreter(tmp_path, SPECTRAL)
    assert (code, err) == (0, "") and out.startswith("1.27"), (out, err)


BOUNDS = """
fn fill(v: Vec<Int>, out: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j < n {
    s += v[j] * 3
    out[j] = s
    j += 1
  }
  s
}
fn ahead(v: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j < n {
    s += v[j + 2]
    j += 1
  }
  s
}
fn down(v: Vec<Int>, n: Int) -> Int {
  var j = n - 1
  var s = 0
  while j < n {
    s += v[j]
    j -= 3
  }
  s
}
fn upto(v: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j <= n {
    s += v[j]
    j += 1
  }
  s
}
fn main() {
  var v: Vec<Int> = vec![]
  var out: Vec<Int> = vec![]
  var i = 0
  while i < 100 { v.push(i); out.push(0); i += 1 }
  var k = 0
  while k < 20 {
    println("{} {} {}", fill(v, out, 100), out[k], upto(v, 99))
    k += 1
  }
  println("{}", ahead(v, 98))
  println("{}", @CALL@)
}
"""


@pytest.mark.parametrize("call, index", [("ahead(v, 99)", 100), ("down(v, 100)", -3),
                                         ("upto(v, 100)", 100), ("fill(v, out, 101)", 100)])
def test_an_index_out_of_bounds_panics_at_the_interpreters_iteration(tmp_path, call, index):
    """Past the end, below 0, one past a `<=` bound, a range longer than the Vec: the
    same panic at the same iteration, after everything printed before it."""
    code, out, err = same_as_interpreter(tmp_path, BOUNDS.replace("@CALL@", call))
    assert code == 101 and f"the index is {index}" in err, err
    assert out.splitlines()[-1] == "4949", out


PUSH = """
fn grow(v: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j < n {
    s += v[j]
    v.push(j * 2)
    j += 1
  }
  s
}
fn add(v: Vec<Int>, x: Int) -> Int {
  v.push(x)
  x
}
fn grow_in_callee(v: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j < n {
    s += v[j] + add(v, j)
    j += 1
  }
  s
}
fn shrink(v: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j < n {
    s += v[j]
    v.pop()
    j += 1
  }
  s
}
fn main() {
  var k = 0
  while k < 15 {
    var v: Vec<Int> = vec![]
    v.push(1)
    v.push(2)
    v.push(3)
    println("{} {}", grow(v, 40), v.len())
    println("{} {}", grow_in_callee(v, 60), v.len())
    k += 1
  }
  var w: Vec<Int> = vec![]
  var i = 0
  while i < 30 { w.push(i); i += 1 }
  println("{}", shrink(w, 30))
}
"""


def test_a_vec_that_changes_in_the_loop_is_checked_at_every_element(tmp_path):
    """Pushing (in the loop or in a function it calls) and popping until the index runs
    out: the loop is not versioned, and the output and the panic are the interpreter's.
    (A panic right after a call returned is not used here: the interpreter's backtrace
    then names the callee's frame too, a bug of its own.)"""
    code, out, err = same_as_interpreter(tmp_path, PUSH)
    assert code == 101 and "index out of bounds" in err, err
    assert len(out.splitlines()) == 30


DEEP = """
fn total(v: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j < n {
    if j > 5 {
      s += v[j]
    }
    j += 1
  }
  s
}
fn deep(v: Vec<Int>, d: Int) -> Int {
  var j = 0
  var s = 0
  while j < 2 {
    s += v[j] + deep(v, d + 1)
    j += 1
  }
  s
}
fn main() {
  var v: Vec<Int> = vec![]
  var i = 0
  while i < 10 { v.push(i); i += 1 }
  println("{}", total(v, 10))
  println("{}", total(v, 10))
  @TAIL@
}
"""


@pytest.mark.parametrize("tail, panic", [
    ('free(v)\n  println("{}", total(v, 10))', "panic: use after free"),
    ('println("{}", deep(v, 0))', "panic: stack overflow")])
def test_a_dead_vec_and_the_depth_limit_panic_as_in_the_interpreter(tmp_path, tail, panic):
    """A freed Vec (its limit is 0: the first access made leaves native code) and a loop
    whose call would pass `--max-depth` (the interpreter runs that loop): the same
    panic, message and backtrace."""
    code, out, err = same_as_interpreter(tmp_path, DEEP.replace("@TAIL@", tail))
    assert code == 101 and err.startswith(panic), err
    assert out == "30\n30\n"


CONTROL = """
fn find(v: Vec<Int>, x: Int, n: Int) -> Int {
  var j = 0
  while j < n {
    if v[j] == x {
      return j
    }
    j += 1
  }
  -1
}
fn odd_sum(v: Vec<Int>, n: Int) -> Int {
  var j = 0
  var s = 0
  while j < n {
    j += 1
    if v[j - 1] % 2 == 0 {
      continue
    }
    if v[j - 1] > 90 {
      break
    }
    s += v[j - 1]
  }
  s
}
fn scale(a: Vec<Float>, k: Float, n: Int) {
  var j = 0
  while j < n {
    a[j] = a[j] * k
    j += 1
  }
}
fn main() {
  var v: Vec<Int> = vec![]
  var f: Vec<Float> = vec![]
  var i = 0
  while i < 100 { v.push(i * 7 % 101); f.push(i as Float); i += 1 }
  var k = 0
  var t = 0
  while k < 50 {
    t += find(v, k, 100) + odd_sum(v, 100)
    scale(f, 1.5, 100)
    k += 1
  }
  println("{} {}", t, f[99])
  println("{}", find(v, 1000, 200))
}
"""


def test_return_continue_break_and_element_writes_in_hoisted_loops(tmp_path):
    code, out, err = same_as_interpreter(tmp_path, CONTROL)
    assert code == 101 and "the index is 100" in err, err
    assert out == "14896 63124528521.19093\n", out


def test_the_loops_of_control_are_hoisted():
    from compiler.native_loops import find_loops, stable_functions

    program = _program(CONTROL)
    plans = _plans(program)
    stable = stable_functions(program, plans)
    for fi in plans:
        name = program.functions[fi].name
        if name != "main":
            (loop,) = find_loops(program, plans[fi], plans, stable).values()
            assert list(loop.objects) == [0], name


FIBERS = """
fn dot(v: Vec<Float>, w: Vec<Float>, n: Int) -> Float {
  var j = 0
  var s = 0.0
  while j < n {
    s += v[j] * w[j] + (j as Float)
    j += 1
  }
  s
}
fn main() {
  var turn = 0
  var v: Vec<Float> = vec![]
  var i = 0
  while i < 500 { v.push((i as Float) * 0.5); i += 1 }
  spawn fn a() {
    var k = 0
    var s = 0.0
    while k < 40 {
      s += dot(v, v, 500)
      if turn != 1 {
        println("a at {}", k)
        turn = 1
      }
      k += 1
    }
    println("a sum {}", s)
    println("{}", v[k * 20])
  }
  spawn fn b() {
    var i = 0
    while i < 30000 {
      if turn != 2 {
        println("b at {}", i)
        turn = 2
      }
      i += 1
    }
  }
  println("main done")
}
"""


def test_fibers_switch_inside_a_hoisted_loop_at_the_interpreters_reductions(tmp_path):
    """A fiber spends its slices in a loop with hoisted checks; the other prints where
    it gets the processor: the interleaving, and a panic in the first fiber, are the
    interpreter's."""
    code, out, err = same_as_interpreter(tmp_path, FIBERS,
                                         ["--jit=auto", "--jit-threshold=7"])
    assert code == 101 and "the index is 800" in err, err
    lines = out.splitlines()
    assert lines[:3] == ["main done", "a at 0", "b at 0"], lines
    assert any(line.startswith("a at ") and line != "a at 0" for line in lines), lines


# ---------------------------------------------------------------------------- the IR


def _program(source: str):
    from compiler.lower import compile_file

    return compile_file("p.vyn", source).program


def _plans(program):
    from compiler import native
    from runtime.jit import plain_builtins

    plans, _ = native.plan_functions(program, plain_builtins=plain_builtins())
    return plans


def _function_blocks(ir: str, name: str) -> dict[str, list[str]]:
    """Block label -> instructions of function `name` in textual IR."""
    m = re.search(r'^define [^\n]*@"?' + re.escape(name) + r'"?\(.*?^}', ir, re.M | re.S)
    assert m, name
    blocks: dict[str, list[str]] = {}
    current = "entry"
    for line in m.group(0).splitlines()[1:]:
        head = re.match(r"^([\w.\-]+):", line)
        if head:
            current = head.group(1)
            blocks[current] = []
        elif line.startswith("  ") and current is not None:
            blocks.setdefault(current, []).append(line.strip())
    return blocks


def _successors(insts: list[str]) -> list[str]:
    term = insts[-1] if insts else ""
    return re.findall(r"label %([\w.\-]+)", term)


def _hot_trip(blocks: dict[str, list[str]], marker: str) -> list[str]:
    """The shortest way round from the block holding `marker` back to it through blocks
    that neither touch the context nor call anything: one iteration's path when the
    budget is not used up (the innermost loop's, as an outer loop's way round is longer).
    Empty if there is none."""
    ctx = _TAGS["ctx"]
    quiet = {b for b, insts in blocks.items()
             if not any(f"!tbaa {ctx}" in x or " call " in x for x in insts)}
    for start in quiet:
        if not any(marker in x for x in blocks[start]):
            continue
        prev: dict[str, str] = {}
        todo = [start]
        while todo:
            nxt = []
            for b in todo:
                for s in _successors(blocks[b]):
                    if s == start:
                        path = [b]
                        while path[-1] != start:
                            path.append(prev[path[-1]])
                        return path[::-1]
                    if s in quiet and s not in prev:
                        prev[s] = b
                        nxt.append(s)
            todo = nxt
    return []


_TAGS: dict[str, str] = {}


def _optimized(source: str, name: str) -> tuple[str, dict[str, list[str]]]:
    """Tier 2 IR of every function of `source` (compiled together, as the JIT does),
    and the blocks of function `name`."""
    from compiler import native

    program = _program(source)
    plans = _plans(program)
    fi = next(f.index for f in program.functions if f.name == name)
    ir = native.module_ir(program, plans, opt=2)
    for key in ("ctx", "heap"):
        node = re.search(r'^(!\d+) = !\{!"vyn.' + key + '"', ir, re.M).group(1)
        _TAGS[key] = re.search(r"^(!\d+) = !\{" + node + ", " + node + r", i64 0\}", ir,
                               re.M).group(1)
    return ir, _function_blocks(ir, native.symbol(fi))


def _trip_code(blocks: dict[str, list[str]], trip: list[str]) -> list[str]:
    """The instructions of a trip."""
    return [x for b in trip for x in blocks[b]]


DOT = """
fn dot(v: Vec<Float>, w: Vec<Float>, n: Int) -> Float {
  var j = 0
  var s = 0.0
  while j < n {
    s += v[j] * w[j]
    j += 1
  }
  s
}
fn main() {
  var v: Vec<Float> = vec![]
  v.push(1.5)
  println("{}", dot(v, v, 1))
}
"""


def test_an_element_costs_one_load_and_one_compare_in_the_loop():
    """Tier 2 IR: one iteration of dot's loop loads the two elements and nothing else
    from the heap (no header, length or data pointer), compares each index with a limit
    computed before the loop, and keeps the budget in a register (no context word
    touched on the way round)."""
    _, blocks = _optimized(DOT, "dot")
    trip = _hot_trip(blocks, "fmul double")
    assert trip, sorted(blocks)
    code = _trip_code(blocks, trip)
    heap = _TAGS["heap"]
    loads = [x for x in code if " = load " in x]
    assert len(loads) == 2 and all(f"!tbaa {heap}" in x for x in loads), code
    # Two index compares, the budget's test and the loop's.
    assert len([x for x in code if " = icmp " in x]) <= 4, code


def test_spectral_norms_inner_loop_has_no_per_element_checks_but_the_index():
    _, blocks = _optimized(SPECTRAL, "mul_av")
    trip = _hot_trip(blocks, "fdiv double")
    assert trip, sorted(blocks)
    code = _trip_code(blocks, trip)
    loads = [x for x in code if " = load " in x]
    assert len(loads) == 1 and f"!tbaa {_TAGS['heap']}" in loads[0], code
    # The index compare, two budget tests (the call's and the back-edge's), the loop's.
    assert len([x for x in code if " = icmp " in x]) <= 4, code


def test_tier1_code_keeps_every_check_and_the_budget_in_the_context():
    from compiler import native

    program = _program(SPECTRAL)
    ir = native.module_ir(program, _plans(program), opt=0)
    assert not re.search(r"^lb\d+:", ir, re.M)
    assert "%bud" not in ir


def test_which_loops_have_their_checks_hoisted():
    from compiler.native_loops import find_loops, stable_functions

    program = _program(PUSH.replace("fn main() {", "fn unused() {")
                       + BOUNDS.replace("@CALL@", "0").split("fn main() {")[0]
                       + DEEP.split("fn main() {")[0] + "fn main() { }\n")
    plans = _plans(program)
    stable = stable_functions(program, plans)
    by_name = {program.functions[fi].name: fi for fi in plans}
    assert by_name["add"] not in stable and by_name["grow"] not in stable
    assert by_name["fill"] in stable and by_name["deep"] in stable

    def loops(name):
        fi = by_name[name]
        return find_loops(program, plans[fi], plans, stable)

    assert loops("grow") == {} and loops("grow_in_callee") == {} and loops("shrink") == {}
    (fill,) = loops("fill").values()
    assert fill.objects == {0: "vec", 1: "vec"} and not fill.calls
    (ahead,) = loops("ahead").values()
    assert ahead.objects == {0: "vec"}
    (deep,) = loops("deep").values()
    assert deep.objects == {0: "vec"} and deep.calls


def test_an_o2_image_with_hoisted_loops_runs_and_its_dwarf_verifies(tmp_path):
    """`vyn build -O2` uses the same backend: the image prints the interpreter's output
    and llvm-dwarfdump accepts its DWARF (the dispatch carries the header's line)."""
    import shutil
    import subprocess

    (tmp_path / "sn.vyn").write_text(SPECTRAL, encoding="utf-8")
    code, _, err = run(["build", "-O2", "sn.vyn", "-o", "sn"], tmp_path)
    assert code == 0, err
    base = run(["run", "--jit=off", "sn.vyn"], tmp_path)
    assert run(["run", "sn"], tmp_path) == base
    tool = shutil.which("llvm-dwarfdump") or shutil.which("llvm-dwarfdump-14")
    if tool is None:
        pytest.skip("`llvm-dwarfdump` is not installed (apt-get install llvm)")
    r = subprocess.run([tool, "--verify", str(tmp_path / "sn")], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "No errors." in r.stdout, r.stdout + r.stderr
